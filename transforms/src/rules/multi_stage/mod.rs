use std::collections::BTreeSet;
use std::fmt::Write as _;

use dockopt_fix::{ConfigKey, DeclaredEffect, Diagnostic, Edit, Fix, Isolation};
use dockopt_shell::{Command, RedirectOp, Word};
use dockopt_syntax::{Dockerfile, Instruction, InstructionKind, ItemKind, Stage, TextRange};

use crate::image::{self, Family, ImageFacts};
use crate::package::recognize;
use crate::paths::{absolute, indent_of, under};
use crate::rules::{and_list, json_string, keyword_like};
use crate::stage_state::{StageState, stage_states};
use crate::{CheckContext, FixAvailability, Knowledge, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds a single-stage Dockerfile built FROM a language toolchain image (`golang`,
    /// `rust`, `node`, `python`, Maven, Gradle and Temurin JDKs, the .NET SDK) and splits it
    /// into a `build` stage and a runtime stage FROM the toolchain's slim or distroless twin
    /// (knowledge/images.toml), which gets only what the application needs to run.
    ///
    /// The original instructions stay in the build stage (`FROM <image> AS build`, or the
    /// stage's own name), comments included. The runtime stage gets every ENV of the stage,
    /// the WORKDIR in effect at the end, the artifacts (`COPY --from=build`), and the
    /// instructions that only matter at run time, moved with the comments above them:
    /// EXPOSE, LABEL, HEALTHCHECK, VOLUME, USER, STOPSIGNAL, ENTRYPOINT, CMD.
    ///
    /// - Go: the binary of `go build -o OUT` (with `CGO_ENABLED=0`), on
    ///   `distroless/static`; CMD or ENTRYPOINT must run it.
    /// - Rust: `target/release/NAME` of `cargo build --release` (NAME from `--bin` or
    ///   Cargo.toml), or where a later `cp`/`install` puts it, or the binary of
    ///   `cargo install --path .`, on `distroless/cc`.
    /// - Node (npm): the whole WORKDIR (source, build output, `node_modules`) on
    ///   `node:X-slim`, after `RUN npm prune --omit=dev` at the end of the build stage.
    /// - Python (pip): `RUN python -m venv /opt/venv` and `ENV PATH="/opt/venv/bin:$PATH"`
    ///   before the first pip install (above the COPY that feeds it), and on
    ///   `python:X-slim` the runtime libraries of the apt packages the build installed
    ///   (`libpq-dev` -> `libpq5`), `/opt/venv` and the WORKDIR.
    /// - Java: the jar of CMD/ENTRYPOINT `java -jar PATH` built by Maven or Gradle, on the
    ///   Temurin JRE. .NET: the `dotnet publish -o OUT` folder holding the DLL that
    ///   `dotnet X.dll` runs, on `aspnet`.
    ///
    /// A shell-form CMD or ENTRYPOINT is written in exec form when the twin has no shell
    /// (distroless) and the command is plain words. Whenever what the runtime needs cannot
    /// be known, the rule reports without a fix and says why: a RUN that may write outside
    /// the WORKDIR (anything but package installs, the ecosystem's build commands and
    /// `mkdir`/`cp`/`mv`/`ln`/`touch`/`chmod` inside the WORKDIR), a COPY outside it, an
    /// apt package the twin lacks, a `-dev` package without known runtime library, a Rust
    /// crate that links a system library, cgo, a CMD that does not run the artifact, yarn,
    /// pnpm, poetry, uv or `pip --user`, a build argument used at run time, and more.
    /// Already multi-stage files and images dockopt does not know are left alone.
    ///
    /// ## Why is this bad?
    /// The toolchain image carries compilers, headers, package caches and the source: 650 MB
    /// for a 7 MB Go binary, a gigabyte for a Rust CLI. Every byte is pulled on each deploy
    /// and scanned for vulnerabilities it cannot have in production. A runtime stage ships
    /// the artifacts on an image made to run them.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM golang:1.22
    /// WORKDIR /src
    /// COPY . .
    /// RUN CGO_ENABLED=0 go build -o /usr/local/bin/api .
    /// EXPOSE 8080
    /// CMD api
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// FROM golang:1.22 AS build
    /// WORKDIR /src
    /// COPY . .
    /// RUN CGO_ENABLED=0 go build -o /usr/local/bin/api .
    ///
    /// FROM gcr.io/distroless/static-debian12:nonroot
    /// WORKDIR /src
    /// COPY --from=build /usr/local/bin/api /usr/local/bin/api
    /// EXPOSE 8080
    /// CMD ["api"]
    /// ```
    ///
    /// ## Fix safety
    /// Unsafe, and applied alone in its round: it restructures the file. The base image of
    /// the image that runs changes (declared as `base_image`), so everything the toolchain
    /// image had and the twin lacks is gone: compilers, shells and tools (distroless has no
    /// `/bin/sh`, python and node slim no curl or git), and every file the build wrote that
    /// is not an artifact (the source for Go, Rust, Java and .NET; package caches; files
    /// outside the WORKDIR). The distroless `:nonroot` twins run as uid 65532. Variables a
    /// RUN set only for itself are not in the runtime, and neither are the base image's own
    /// ENV values (GOPATH, CARGO_HOME). A program that reads files it did not embed (Go
    /// templates next to the source) or loads a library dockopt cannot see fails at run
    /// time. `dockopt verify` builds both images, runs the example's smoke test on the new
    /// one and shows every file and config difference, all covered by the declared base
    /// image change: it proves the new image builds and passes the smoke test, not that
    /// every code path finds what it needs.
    ///
    /// ## References
    /// Docker docs, "Multi-stage builds"; "Building best practices" (use multi-stage
    /// builds). No hadolint equivalent. tally hands this rewrite to an AI; dockopt does it
    /// deterministically, or says why it does not.
    pub struct MultiStage {
        name: "multi-stage",
        default_enabled: true,
        fix: FixAvailability::Sometimes,
    }
}

/// Where the Python fix puts the virtual environment.
const VENV: &str = "/opt/venv";

/// The PATH of the distroless images (and of the slim ones, before the runtime's own).
const TWIN_PATH: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// What node-gyp needs to build native addons: build-only in a Node build.
const NODE_GYP: [&str; 3] = ["python3", "make", "g++"];

/// Tools the full toolchain images have and their slim twins do not.
const FULL_IMAGE_ONLY: [&str; 10] = [
    "curl", "wget", "git", "gcc", "g++", "cc", "make", "ssh", "svn", "hg",
];

/// Commands that write no file (a redirection is checked on its own).
const HARMLESS: [&str; 24] = [
    "true", "false", ":", "set", "export", "echo", "printf", "ls", "cat", "pwd", "test", "[",
    "which", "printenv", "uname", "id", "whoami", "sleep", "du", "df", "wc", "grep", "nproc",
    "command",
];

/// WORKDIRs the runtime stage cannot copy whole: they are the image's own folders.
const SYSTEM_DIRS: [&str; 18] = [
    "/",
    "/usr",
    "/usr/local",
    "/usr/src",
    "/usr/local/bin",
    "/etc",
    "/var",
    "/opt",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/root",
    "/home",
    "/tmp",
    "/run",
    "/srv",
    "/dev",
];

/// Paths a run-time command may name that every image has.
const ALWAYS_THERE: [&str; 4] = ["/dev", "/proc", "/sys", "/tmp"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ecosystem {
    Go,
    Rust,
    Node,
    Python,
    Java,
    Dotnet,
}

impl Ecosystem {
    fn of(repository: &str) -> Option<Self> {
        Some(match repository {
            "golang" => Self::Go,
            "rust" => Self::Rust,
            "node" => Self::Node,
            "python" => Self::Python,
            "maven" | "gradle" | "eclipse-temurin" => Self::Java,
            "mcr.microsoft.com/dotnet/sdk" => Self::Dotnet,
            _ => return None,
        })
    }

    /// Node and Python ship the whole WORKDIR; the others one artifact.
    fn copies_workdir(self) -> bool {
        matches!(self, Self::Node | Self::Python)
    }

    /// The package managers that belong to the ecosystem's build.
    fn owns(self, manager: &str) -> bool {
        matches!(
            (self, manager),
            (Self::Go, "go")
                | (Self::Rust, "cargo")
                | (Self::Node, "npm" | "yarn" | "pnpm" | "bun")
                | (Self::Python, "pip" | "uv" | "poetry" | "pipenv" | "conda")
                | (Self::Java, "maven" | "gradle")
                | (Self::Dotnet, "dotnet")
        )
    }

    /// Programs of the ecosystem that build in the working folder.
    fn tools(self) -> &'static [&'static str] {
        match self {
            Self::Node => &["node", "npx"],
            Self::Rust => &["rustup", "rustc"],
            Self::Java => &["java", "javac", "jar"],
            _ => &[],
        }
    }
}

/// The WORKDIR in effect.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Wd {
    /// No WORKDIR yet: `/`.
    Unset,
    Known(String),
    /// Set from a variable.
    Unknown,
}

impl Wd {
    fn cwd(&self) -> Option<String> {
        match self {
            Self::Unset => Some("/".into()),
            Self::Known(p) => Some(p.clone()),
            Self::Unknown => None,
        }
    }
}

/// How a write outside the WORKDIR can be explained: it is the artifact, or a folder on
/// the way to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriteKind {
    File,
    Folder,
}

/// A file or folder written outside the WORKDIR, to be explained by the artifact.
#[derive(Clone, Debug)]
struct Outside {
    what: String,
    path: String,
    kind: WriteKind,
}

/// `cp`/`mv`/`install SRC DEST` with both literal and absolute.
#[derive(Clone, Debug)]
struct CopyCmd {
    source: String,
    dest: String,
}

#[derive(Clone, Debug)]
struct GoBuild {
    line: usize,
    out: String,
    cgo_off: bool,
}

#[derive(Clone, Debug)]
struct CargoBuild {
    dir: String,
    bin: Option<String>,
    triple: Option<String>,
    target_dir: Option<String>,
}

#[derive(Clone, Debug)]
struct CargoInstall {
    dir: String,
    root: String,
    bin: Option<String>,
}

/// A COPY or ADD from the build context.
#[derive(Clone, Debug)]
struct ContextCopy {
    sources: Vec<String>,
    dest: String,
    dest_is_dir: bool,
}

/// What the stage's RUN, COPY and ADD instructions do.
#[derive(Default)]
struct Scan {
    apt: Vec<String>,
    apk: Vec<String>,
    npm_installs: usize,
    npm_prod_installs: usize,
    /// The USER each npm install and each pip command runs as (`None`: root), with its line.
    npm_users: Vec<(usize, Option<String>)>,
    pip_users: Vec<(usize, Option<String>)>,
    /// Position (in the stage) of the first RUN that runs pip.
    pip_anchor: Option<usize>,
    go_builds: Vec<GoBuild>,
    cargo_builds: Vec<CargoBuild>,
    cargo_installs: Vec<CargoInstall>,
    java_build: bool,
    dotnet_outs: Vec<String>,
    copies: Vec<CopyCmd>,
    outside: Vec<Outside>,
    context_copies: Vec<ContextCopy>,
    /// Folders known to exist (WORKDIRs, `mkdir`).
    folders: BTreeSet<String>,
}

fn base_name(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

fn line_of(file: &Dockerfile, offset: usize) -> usize {
    file.line_col(offset).line
}

/// A word's literal value, unless it may expand to something else (variables, globs, `~`).
fn literal(word: &Word) -> Option<&str> {
    word.value()
        .filter(|_| !word.has_pattern() && !word.has_tilde())
}

/// A command's operands and options: options in `valued` take the next word as their
/// value. After `--` everything is an operand; a word that is not literal is an operand.
fn parse_args<'c>(
    args: &'c [Word],
    valued: &[&str],
) -> (Vec<&'c Word>, Vec<(&'c str, Option<&'c Word>)>) {
    let mut operands = Vec::new();
    let mut options = Vec::new();
    let mut dashes = false;
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        i += 1;
        if dashes {
            operands.push(word);
            continue;
        }
        match word.value() {
            Some("--") => dashes = true,
            Some(v) if v.len() > 1 && v.starts_with('-') => {
                if valued.contains(&v) {
                    options.push((v, args.get(i)));
                    i += 1;
                } else {
                    options.push((v, None));
                }
            }
            _ => operands.push(word),
        }
    }
    (operands, options)
}

/// An option's value in a command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opt<'c> {
    Absent,
    /// Given, with a value that is not literal (or missing).
    Unreadable,
    Value(&'c str),
}

/// The value of option `names` (`-o X`, `-o=X`, `--output X`, `--output=X`) in `args`.
fn option_value<'c>(args: &'c [Word], names: &[&str]) -> Opt<'c> {
    let found = |v: Option<&'c str>| v.map_or(Opt::Unreadable, Opt::Value);
    for (i, word) in args.iter().enumerate() {
        let Some(v) = word.value() else {
            continue;
        };
        if v == "--" {
            break;
        }
        for name in names {
            if v == *name {
                return found(args.get(i + 1).and_then(literal));
            }
            if let Some(value) = v
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix('=').or_else(|| r.strip_prefix(':')))
            {
                return found((!value.contains('$')).then_some(value));
            }
        }
    }
    Opt::Absent
}

/// The start of each instruction's lines with the comment lines directly above it, by
/// instruction index.
fn attached_starts(file: &Dockerfile) -> Vec<usize> {
    let mut starts: Vec<usize> = file.instructions().map(|i| i.line_range().start).collect();
    let mut block: Option<usize> = None;
    for item in file.items() {
        match item.kind {
            ItemKind::Comment => {
                block.get_or_insert(item.range.start);
            }
            ItemKind::Instruction(i) => {
                if let (Some(start), Some(slot)) = (block, starts.get_mut(i)) {
                    *slot = start;
                }
                block = None;
            }
            ItemKind::Blank | ItemKind::Directive(_) => block = None,
        }
    }
    starts
}

/// The line of `offset` is blank.
fn blank_line_at(text: &str, offset: usize) -> bool {
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    offset < text.len() && text[offset..end].trim().is_empty()
}

/// The line before the one starting at `offset` is blank (or there is none).
fn blank_line_before(text: &str, offset: usize) -> bool {
    if offset == 0 {
        return false;
    }
    let before = &text[..offset - 1];
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    text[start..offset].trim().is_empty()
}

/// A command line of a CMD, ENTRYPOINT or HEALTHCHECK as plain words, when it is one
/// simple command without shell syntax; the reason otherwise.
fn plain_words(instruction: Instruction<'_>) -> Result<Vec<String>, &'static str> {
    if let Some(elements) = instruction.json_array() {
        return Ok(elements.iter().map(|e| e.value.to_string()).collect());
    }
    let command = instruction
        .shell_command()
        .ok_or("it has no command")?
        .value;
    if command.chars().any(|c| {
        matches!(
            c,
            '$' | '\''
                | '"'
                | '`'
                | '\\'
                | '&'
                | '|'
                | ';'
                | '<'
                | '>'
                | '*'
                | '?'
                | '['
                | ']'
                | '('
                | ')'
                | '{'
                | '}'
                | '~'
                | '#'
                | '\n'
                | '\r'
        )
    }) {
        return Err("it uses shell syntax");
    }
    let words: Vec<String> = command.split_whitespace().map(String::from).collect();
    let Some(first) = words.first() else {
        return Err("it has no command");
    };
    if first.contains('=')
        || matches!(
            first.as_str(),
            "exec"
                | "cd"
                | "export"
                | "set"
                | "source"
                | "."
                | "eval"
                | "if"
                | "for"
                | "while"
                | "case"
                | "until"
                | "ulimit"
                | "umask"
                | "trap"
                | "wait"
                | "read"
                | "alias"
        )
    {
        return Err("it starts with a shell builtin or assignment");
    }
    Ok(words)
}

/// The programs a run-time command line runs (through `sh -c` too); `None` for a program
/// whose name is not literal.
fn runtime_programs(instruction: Instruction<'_>) -> Vec<Option<String>> {
    let from_script = |script: &dockopt_shell::Script| -> Vec<Option<String>> {
        script
            .commands()
            .into_iter()
            .filter(|c| c.name.is_some())
            .map(|c| c.name_value().map(String::from))
            .collect()
    };
    if let Some(elements) = instruction.json_array() {
        let words: Vec<&str> = elements.iter().map(|e| e.value).collect();
        let shell = words
            .first()
            .is_some_and(|w| matches!(base_name(w), "sh" | "bash" | "dash" | "ash"));
        if shell
            && let Some(c) = words.iter().position(|w| *w == "-c")
            && let Some(script) = words.get(c + 1)
        {
            return from_script(&dockopt_shell::parse_text(script));
        }
        return words
            .first()
            .map(|w| vec![Some((*w).to_string())])
            .unwrap_or_default();
    }
    match dockopt_shell::parse_instruction(instruction) {
        Some(script) if !script.is_opaque() => from_script(&script),
        _ => vec![None],
    }
}

/// What the rule decided: the plan of the fix, or why there is none.
type Plan<T> = Result<T, String>;

/// Everything the analysis needs to carry around.
struct Analysis<'a> {
    ctx: &'a CheckContext<'a>,
    file: &'a Dockerfile,
    stage: &'a Stage<'a>,
    eco: Ecosystem,
    twin: String,
    twin_facts: ImageFacts,
    states: Vec<StageState>,
    final_wd: Option<String>,
    scan: Scan,
}

impl Analysis<'_> {
    fn knowledge(&self) -> &Knowledge {
        self.ctx.knowledge
    }

    fn line(&self, instruction: Instruction<'_>) -> usize {
        line_of(self.file, instruction.range().start)
    }

    fn zone(&self, wd: &Wd) -> Option<String> {
        if self.eco.copies_workdir() {
            return self.final_wd.clone();
        }
        match wd {
            Wd::Known(p) if p != "/" => Some(p.clone()),
            _ => None,
        }
    }
}

/// The RUN at `line` runs something dockopt does not know.
fn unknown_run(line: usize, program: &str) -> String {
    format!(
        "the RUN at line {line} runs `{program}`, which may create files outside WORKDIR that \
         the runtime stage would not get"
    )
}

impl Rule for MultiStage {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let stages = ctx.file.stages();
        let [stage] = stages.as_slice() else {
            return Vec::new();
        };
        if ctx
            .file
            .instructions()
            .any(|i| i.kind() == InstructionKind::Onbuild)
        {
            return Vec::new();
        }
        let Some(base) = stage.base() else {
            return Vec::new();
        };
        let Some(facts) = image::lookup(ctx.knowledge, base) else {
            return Vec::new();
        };
        let (true, Some(twin)) = (facts.build_image, facts.runtime_twin.clone()) else {
            return Vec::new();
        };
        let head = format!(
            "single-stage build ships the whole toolchain ({base}); a runtime stage FROM {twin} \
             would carry only the artifacts"
        );
        let diagnostic = match plan(ctx, stage, &facts, &twin) {
            Ok(fix) => Diagnostic::new(Self::META.name, stage.from.range(), head).with_fix(fix),
            Err(why) => Diagnostic::new(
                Self::META.name,
                stage.from.range(),
                format!("{head}, but dockopt does not split it: {why}"),
            ),
        };
        vec![diagnostic]
    }
}

/// The fix for the single stage, or why there is none.
#[allow(clippy::too_many_lines)]
fn plan(ctx: &CheckContext<'_>, stage: &Stage<'_>, facts: &ImageFacts, twin: &str) -> Plan<Fix> {
    let eco = Ecosystem::of(&facts.repository).ok_or_else(|| {
        format!(
            "dockopt does not know what a {} build produces",
            facts.repository
        )
    })?;
    let twin_facts = image::lookup(ctx.knowledge, twin)
        .ok_or_else(|| format!("dockopt knows nothing about {twin}"))?;
    let file = ctx.file;
    let mut a = Analysis {
        ctx,
        file,
        stage,
        eco,
        twin: twin.to_string(),
        twin_facts,
        states: stage_states(file),
        final_wd: None,
        scan: Scan::default(),
    };

    // The WORKDIR in effect before each instruction of the stage, and at the end.
    let mut wd = Wd::Unset;
    let mut wds = Vec::with_capacity(stage.instructions.len());
    let mut last_workdir: Option<Instruction<'_>> = None;
    for &instruction in &stage.instructions {
        wds.push(wd.clone());
        if instruction.kind() == InstructionKind::Workdir {
            let path = instruction.words().first().map_or("", |w| w.value);
            wd = match (&wd, path.contains('$')) {
                (_, true) | (Wd::Unknown, _) => Wd::Unknown,
                (current, false) => {
                    absolute(current.cwd().as_deref(), path).map_or(Wd::Unknown, |p| {
                        a.scan.folders.insert(p.clone());
                        Wd::Known(p)
                    })
                }
            };
            last_workdir = Some(instruction);
        }
    }
    match &wd {
        Wd::Unknown => {
            return Err(
                "the WORKDIR is set from a variable; the runtime stage needs its path".into(),
            );
        }
        Wd::Known(p) => a.final_wd = Some(p.clone()),
        Wd::Unset => {}
    }
    if eco.copies_workdir() {
        match a.final_wd.as_deref() {
            None => {
                return Err(
                    "the stage has no WORKDIR; the runtime stage copies the application \
                     folder, so the application needs one of its own"
                        .into(),
                );
            }
            Some(dir) if SYSTEM_DIRS.contains(&dir) => {
                return Err(format!(
                    "the WORKDIR is {dir}, a system folder the runtime stage cannot copy whole"
                ));
            }
            Some(_) => {}
        }
    }

    // Classify the instructions.
    let mut envs: Vec<Instruction<'_>> = Vec::new();
    let mut build_args: Vec<String> = Vec::new();
    let mut runtime: Vec<(Instruction<'_>, bool)> = Vec::new();
    let n = stage.instructions.len();
    for (k, &instruction) in stage.instructions.iter().enumerate() {
        let line = a.line(instruction);
        match instruction.kind() {
            InstructionKind::Workdir | InstructionKind::From => {}
            InstructionKind::Env => envs.push(instruction),
            InstructionKind::Arg => {
                for word in instruction.words() {
                    let name = word.value.split('=').next().unwrap_or(word.value);
                    build_args.push(name.to_string());
                }
            }
            InstructionKind::Run => scan_run(&mut a, instruction, k, &wds[k])?,
            InstructionKind::Copy | InstructionKind::Add => {
                scan_copy(&mut a, instruction, &wds[k])?;
            }
            InstructionKind::Label
            | InstructionKind::Expose
            | InstructionKind::Healthcheck
            | InstructionKind::Volume
            | InstructionKind::Stopsignal
            | InstructionKind::Entrypoint
            | InstructionKind::Cmd
            | InstructionKind::Maintainer => runtime.push((instruction, true)),
            InstructionKind::User => {
                // A USER that a RUN or WORKDIR still needs stays in the build stage; the
                // last one is repeated in the runtime stage.
                let needed = stage.instructions[k + 1..]
                    .iter()
                    .any(|i| matches!(i.kind(), InstructionKind::Run | InstructionKind::Workdir));
                let last = !stage.instructions[k + 1..n]
                    .iter()
                    .any(|i| i.kind() == InstructionKind::User);
                if !needed {
                    runtime.push((instruction, true));
                } else if last {
                    runtime.push((instruction, false));
                }
            }
            InstructionKind::Shell => {
                return Err(format!(
                    "the SHELL at line {line} would be needed in the runtime stage too"
                ));
            }
            InstructionKind::Onbuild | InstructionKind::Unknown => {
                return Err(format!(
                    "dockopt does not know what the {} at line {line} needs",
                    instruction.keyword().to_uppercase()
                ));
            }
        }
    }

    // Build arguments do not reach the runtime stage.
    for &instruction in envs.iter().chain(runtime.iter().map(|(i, _)| i)) {
        if let Some(var) = instruction
            .var_refs()
            .into_iter()
            .find(|v| build_args.contains(&v.name))
        {
            return Err(format!(
                "the {} at line {} uses the build argument `{}`, which the runtime stage would \
                 not declare",
                instruction.keyword().to_uppercase(),
                a.line(instruction),
                var.name
            ));
        }
    }

    check_users_and_path(&a, &envs, &runtime)?;
    let runtime_packages = check_packages(&a)?;
    let artifacts = artifacts(&a, &runtime)?;
    // Every write outside the WORKDIR must be (on the way to) an artifact.
    if let Some(o) = a.scan.outside.iter().find(|o| {
        !artifacts.iter().any(|art| match o.kind {
            WriteKind::File => o.path == *art,
            WriteKind::Folder => under(&o.path, art),
        })
    }) {
        return Err(format!(
            "{} {}, outside WORKDIR; the runtime stage would not get it",
            o.what, o.path
        ));
    }
    check_runtime_instructions(&a, &runtime, &artifacts, &runtime_packages)?;

    Ok(build_fix(
        &a,
        &envs,
        last_workdir,
        &runtime,
        &artifacts,
        &runtime_packages,
    ))
}

/// The name part of a USER value; `None` for root.
fn user_name(value: &str) -> Option<String> {
    let name = value.split(':').next().unwrap_or(value).trim();
    (!matches!(name, "" | "root" | "0")).then(|| name.to_string())
}

/// What the build stage's additions need: pip (into /opt/venv, made by root) runs as
/// root, `npm prune` runs as the user that installed, and no ENV drops the venv from PATH.
fn check_users_and_path(
    a: &Analysis<'_>,
    envs: &[Instruction<'_>],
    runtime: &[(Instruction<'_>, bool)],
) -> Plan<()> {
    if a.eco == Ecosystem::Python {
        if let Some((line, Some(user))) = a.scan.pip_users.iter().find(|(_, u)| u.is_some()) {
            return Err(format!(
                "pip runs as USER {user} (line {line}), who could not write the virtual \
                 environment {VENV} that root would create"
            ));
        }
        let escape = a.file.escape_char();
        for env in envs {
            for pair in env.key_values() {
                if pair.key.value == "PATH"
                    && !pair.unquoted_value(escape).contains("$PATH")
                    && !pair.unquoted_value(escape).contains("${PATH}")
                {
                    return Err(format!(
                        "the ENV at line {} sets PATH without $PATH, which would drop the \
                         virtual environment from it",
                        a.line(*env)
                    ));
                }
            }
        }
    }
    if a.eco == Ecosystem::Node && a.scan.npm_installs > a.scan.npm_prod_installs {
        // The user in effect at the end of the build stage, once moved USERs are gone.
        let moved = |i: &Instruction<'_>| {
            runtime
                .iter()
                .any(|(m, delete)| *delete && m.index() == i.index())
        };
        let end_user = a
            .stage
            .instructions
            .iter()
            .rfind(|i| i.kind() == InstructionKind::User && !moved(i))
            .and_then(|i| user_name(i.args_text()));
        if let Some((line, user)) = a.scan.npm_users.iter().find(|(_, u)| *u != end_user) {
            let who = |u: &Option<String>| u.clone().unwrap_or_else(|| "root".into());
            return Err(format!(
                "`npm prune --omit=dev` would run as {} at the end of the build stage, but the \
                 install at line {line} ran as {}",
                who(&end_user),
                who(user)
            ));
        }
    }
    Ok(())
}

/// Records a COPY or ADD: where its files go must be inside the WORKDIR (or be the
/// artifact).
fn scan_copy(a: &mut Analysis<'_>, instruction: Instruction<'_>, wd: &Wd) -> Plan<()> {
    let line = a.line(instruction);
    let keyword = instruction.keyword().to_uppercase();
    let words: Vec<String> = match instruction.json_array() {
        Some(elements) => elements.iter().map(|e| e.value.to_string()).collect(),
        None => instruction
            .words()
            .iter()
            .map(|w| w.value.to_string())
            .collect(),
    };
    let Some((dest, sources)) = words.split_last() else {
        return Ok(());
    };
    let Some(dest_abs) = absolute(wd.cwd().as_deref(), dest) else {
        return Err(format!(
            "the {keyword} at line {line} copies to `{dest}`, a path dockopt cannot resolve"
        ));
    };
    let dest_is_dir = dest.ends_with('/')
        || sources.len() > 1
        || matches!(dest.as_str(), "." | "..")
        || a.scan.folders.contains(&dest_abs);
    if instruction.flag("from").is_none() {
        a.scan.context_copies.push(ContextCopy {
            sources: sources.to_vec(),
            dest: dest_abs.clone(),
            dest_is_dir,
        });
    }
    if a.zone(wd).is_some_and(|z| under(&z, &dest_abs)) {
        return Ok(());
    }
    // A single file to an exact path may be the artifact (a binary copied in).
    let (path, kind) = match sources {
        [one] if !dest_is_dir && !one.contains(['*', '?', '[']) && one != "." => {
            (dest_abs, WriteKind::File)
        }
        [one] if dest_is_dir && !one.contains(['*', '?', '[']) && one != "." => (
            format!("{}/{}", dest_abs.trim_end_matches('/'), base_name(one)),
            WriteKind::File,
        ),
        _ => {
            return Err(format!(
                "the {keyword} at line {line} puts files in {dest_abs}, outside WORKDIR; the \
                 runtime stage would not get them"
            ));
        }
    };
    a.scan.outside.push(Outside {
        what: format!("the {keyword} at line {line} writes"),
        path,
        kind,
    });
    Ok(())
}

/// Records what a RUN does; `Err` when it may do something the runtime stage would miss.
#[allow(clippy::too_many_lines)]
fn scan_run(a: &mut Analysis<'_>, run: Instruction<'_>, pos: usize, wd: &Wd) -> Plan<()> {
    let line = a.line(run);
    if run.is_exec_form() {
        return Err(format!(
            "the RUN at line {line} is in exec form, which dockopt does not read"
        ));
    }
    let script = dockopt_shell::parse_instruction(run)
        .filter(|s| !s.is_opaque())
        .ok_or_else(|| format!("the RUN at line {line} is not shell dockopt can read"))?;
    let state = a.states[run.index()].clone();
    let zone = a.zone(wd);
    let mut cwd = wd.cwd();
    let mut cgo_exported = false;
    let knowledge = a.ctx.knowledge;
    for command in script.commands() {
        // Redirections that write files.
        for redirect in &command.redirects {
            let writes = matches!(
                redirect.op,
                RedirectOp::Write
                    | RedirectOp::Append
                    | RedirectOp::Clobber
                    | RedirectOp::WriteAll
                    | RedirectOp::AppendAll
            ) || (redirect.op == RedirectOp::DupWrite
                && redirect
                    .target
                    .as_ref()
                    .and_then(Word::value)
                    .is_some_and(|t| !t.chars().all(|c| c.is_ascii_digit() || c == '-')));
            if !writes {
                continue;
            }
            let target = redirect.target.as_ref().and_then(literal);
            let Some(target) = target else {
                return Err(format!(
                    "the RUN at line {line} writes to a file whose name dockopt cannot read"
                ));
            };
            if target.starts_with("/dev/") {
                continue;
            }
            write_path(
                a,
                zone.as_deref(),
                cwd.as_deref(),
                target,
                WriteKind::File,
                line,
                ">",
            )?;
        }
        if command.name.is_none() {
            continue;
        }
        let Some(name) = command.name_value() else {
            return Err(format!(
                "the RUN at line {line} runs a command whose name dockopt cannot read"
            ));
        };
        let program = command.program().unwrap_or(name);
        let (operands, options) = parse_args(&command.args, &[]);
        match program {
            "cd" => {
                cwd = match operands.first() {
                    None => Some("/root".into()),
                    Some(w) => literal(w).and_then(|p| absolute(cwd.as_deref(), p)),
                };
                continue;
            }
            "rm" | "rmdir" => continue,
            "export" => {
                cgo_exported |= command.args.iter().any(|w| w.is("CGO_ENABLED=0"));
                continue;
            }
            p if HARMLESS.contains(&p) => continue,
            "mkdir" | "touch" => {
                let valued: &[&str] = if program == "mkdir" {
                    &["-m", "--mode"]
                } else {
                    &["-d", "-r", "-t"]
                };
                let (operands, _) = parse_args(&command.args, valued);
                let kind = if program == "mkdir" {
                    WriteKind::Folder
                } else {
                    WriteKind::File
                };
                for word in operands {
                    let path = literal(word).ok_or_else(|| unknown_run(line, program))?;
                    let abs = write_path(
                        a,
                        zone.as_deref(),
                        cwd.as_deref(),
                        path,
                        kind,
                        line,
                        program,
                    )?;
                    if kind == WriteKind::Folder {
                        a.scan.folders.insert(abs);
                    }
                }
                continue;
            }
            "chmod" | "chown" | "chgrp" => {
                let reference = options.iter().any(|(o, _)| o.starts_with("--reference"));
                for word in operands.iter().skip(usize::from(!reference)) {
                    let path = literal(word).ok_or_else(|| unknown_run(line, program))?;
                    write_path(
                        a,
                        zone.as_deref(),
                        cwd.as_deref(),
                        path,
                        WriteKind::Folder,
                        line,
                        program,
                    )?;
                }
                continue;
            }
            "cp" | "mv" | "install" | "ln" => {
                scan_copy_command(a, command, program, zone.as_deref(), cwd.as_deref(), line)?;
                continue;
            }
            _ => {}
        }
        if let Some(package) = recognize(knowledge, command) {
            let manager = package.manager.name.as_str();
            if !a.eco.owns(manager) {
                match manager {
                    "apt" | "apk" => {
                        scan_system_install(a, command, manager, line)?;
                        continue;
                    }
                    "dnf" | "zypper" => {
                        return Err(format!(
                            "the RUN at line {line} installs packages with {program}; dockopt \
                             knows the build-only and runtime packages of apt and apk only"
                        ));
                    }
                    "uv" | "poetry" | "pipenv" | "conda" if a.eco == Ecosystem::Python => {}
                    "yarn" | "pnpm" | "bun" if a.eco == Ecosystem::Node => {}
                    _ => return Err(unknown_run(line, program)),
                }
            }
            scan_ecosystem_command(
                a,
                command,
                manager,
                program,
                pos,
                zone.as_deref(),
                cwd.as_deref(),
                &state,
                cgo_exported,
                line,
            )?;
            continue;
        }
        if a.eco.tools().contains(&program) {
            continue;
        }
        return Err(unknown_run(line, program));
    }
    Ok(())
}

/// Checks a path a RUN writes: inside the zone it is fine; outside it is recorded, to be
/// explained by the artifact. Returns the absolute path.
fn write_path(
    a: &mut Analysis<'_>,
    zone: Option<&str>,
    cwd: Option<&str>,
    path: &str,
    kind: WriteKind,
    line: usize,
    program: &str,
) -> Plan<String> {
    let Some(abs) = absolute(cwd, path) else {
        return Err(format!(
            "the RUN at line {line} writes `{path}`, a path dockopt cannot resolve"
        ));
    };
    if zone.is_none_or(|z| !under(z, &abs)) {
        a.scan.outside.push(Outside {
            what: format!("the RUN at line {line} (`{program}`) writes"),
            path: abs.clone(),
            kind,
        });
    }
    Ok(abs)
}

/// `cp`, `mv`, `install`, `ln`: where they write, and which file goes where.
fn scan_copy_command(
    a: &mut Analysis<'_>,
    command: &Command,
    program: &str,
    zone: Option<&str>,
    cwd: Option<&str>,
    line: usize,
) -> Plan<()> {
    let valued: &[&str] = match program {
        "install" => &[
            "-m", "--mode", "-o", "--owner", "-g", "--group", "-t", "-S", "--suffix",
        ],
        _ => &["-t", "-S", "--suffix"],
    };
    let (operands, options) = parse_args(&command.args, valued);
    let mut paths = Vec::with_capacity(operands.len());
    for word in &operands {
        paths.push(
            literal(word)
                .ok_or_else(|| unknown_run(line, program))?
                .to_string(),
        );
    }
    // `-d` also inside a cluster of short options (`-Dm`).
    let has = |names: &[&str]| {
        options.iter().any(|(o, _)| {
            names.iter().any(|n| {
                o == n || (n.len() == 2 && !o.starts_with("--") && o[1..].contains(&n[1..]))
            })
        })
    };
    if program == "install" && has(&["-d", "--directory"]) {
        for path in &paths {
            let abs = write_path(a, zone, cwd, path, WriteKind::Folder, line, program)?;
            a.scan.folders.insert(abs);
        }
        return Ok(());
    }
    let target_dir = options
        .iter()
        .find(|(o, _)| *o == "-t")
        .map(|(_, v)| v.and_then(literal).map(String::from))
        .or_else(|| {
            options.iter().find_map(|(o, _)| {
                o.strip_prefix("--target-directory=")
                    .map(|v| Some(v.to_string()))
            })
        });
    let (sources, dest, dest_is_dir): (Vec<String>, String, bool) = match target_dir {
        Some(Some(dir)) => (paths, dir, true),
        Some(None) => return Err(unknown_run(line, program)),
        None => match paths.split_last() {
            Some((dest, sources)) if !sources.is_empty() => {
                let abs = absolute(cwd, dest);
                let is_dir = dest.ends_with('/')
                    || sources.len() > 1
                    || (program != "install" || !has(&["-D"]))
                        && abs.as_ref().is_some_and(|d| {
                            a.scan.folders.contains(d) || TWIN_PATH.contains(&d.as_str())
                        });
                (sources.to_vec(), dest.clone(), is_dir)
            }
            Some((only, _)) if program == "ln" => (vec![only.clone()], ".".to_string(), true),
            _ => return Ok(()),
        },
    };
    let Some(dest_abs) = absolute(cwd, &dest) else {
        return Err(format!(
            "the RUN at line {line} writes `{dest}`, a path dockopt cannot resolve"
        ));
    };
    for source in &sources {
        let target = if dest_is_dir {
            format!("{}/{}", dest_abs.trim_end_matches('/'), base_name(source))
        } else {
            dest_abs.clone()
        };
        write_path(a, zone, cwd, &target, WriteKind::File, line, program)?;
        if let Some(source_abs) = absolute(cwd, source) {
            a.scan.copies.push(CopyCmd {
                source: source_abs,
                dest: target,
            });
        }
    }
    Ok(())
}

/// `apt-get install` / `apk add`: the packages the build installs.
fn scan_system_install(
    a: &mut Analysis<'_>,
    command: &Command,
    manager: &str,
    line: usize,
) -> Plan<()> {
    let valued: &[&str] = if manager == "apt" {
        &["-o", "-t", "--target-release", "-c", "--option"]
    } else {
        &[
            "-X",
            "--repository",
            "-t",
            "--virtual",
            "--repositories-file",
            "-p",
            "--root",
        ]
    };
    let (operands, _) = parse_args(&command.args, valued);
    let Some((action, packages)) = operands.split_first() else {
        return Ok(());
    };
    let installs = match manager {
        "apt" => action.is("install"),
        _ => action.is("add"),
    };
    if !installs {
        return Ok(());
    }
    for word in packages {
        let Some(package) = literal(word) else {
            return Err(format!(
                "the RUN at line {line} installs a package whose name dockopt cannot read"
            ));
        };
        let list = if manager == "apt" {
            &mut a.scan.apt
        } else {
            &mut a.scan.apk
        };
        list.push(package.to_string());
    }
    Ok(())
}

/// The ecosystem's own commands: installs and builds.
#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
fn scan_ecosystem_command(
    a: &mut Analysis<'_>,
    command: &Command,
    manager: &str,
    program: &str,
    pos: usize,
    zone: Option<&str>,
    cwd: Option<&str>,
    state: &StageState,
    cgo_exported: bool,
    line: usize,
) -> Plan<()> {
    let (operands, _) = parse_args(&command.args, &[]);
    let sub = operands.first().and_then(|w| w.value()).unwrap_or("");
    let has = |flag: &str| command.has_flag(flag);
    match manager {
        "uv" | "poetry" | "pipenv" | "conda" => Err(format!(
            "the stage installs with {program}; only pip is supported"
        )),
        "yarn" | "pnpm" | "bun" => Err(format!(
            "the stage installs with {program}; only npm is supported"
        )),
        "pip" => {
            let name = command.name_value().unwrap_or(program);
            if name.contains('/') {
                return Err(format!(
                    "the RUN at line {line} runs pip as {name}, which would bypass the virtual \
                     environment"
                ));
            }
            for flag in ["--user", "--target", "-t", "--prefix", "--root"] {
                if command
                    .args
                    .iter()
                    .take_while(|w| !w.is("--"))
                    .any(|w| w.is(flag) || w.is_long_flag(flag))
                {
                    return Err(format!(
                        "`pip {flag}` (line {line}) installs outside the virtual environment \
                         the runtime stage would copy"
                    ));
                }
            }
            // `python -m pip install`: the action follows the module.
            let action = command
                .positionals()
                .filter_map(|w| w.value())
                .find(|w| *w != "pip")
                .unwrap_or("");
            match action {
                "wheel" | "download" => {
                    let dir = option_value(&command.args, &["-w", "--wheel-dir", "-d", "--dest"]);
                    match dir {
                        Opt::Value(dir) => {
                            write_path(a, zone, cwd, dir, WriteKind::Folder, line, "pip")?;
                        }
                        _ => {
                            return Err(format!(
                                "`pip {action}` at line {line} writes where dockopt cannot tell"
                            ));
                        }
                    }
                }
                _ => {}
            }
            a.scan.pip_anchor.get_or_insert(pos);
            a.scan.pip_users.push((line, state.user.clone()));
            Ok(())
        }
        "npm" => {
            if has("-g")
                || has("--global")
                || command.args.iter().any(|w| w.is("--location=global"))
                || sub == "link"
            {
                return Err(format!(
                    "`npm {sub} -g` at line {line} installs outside WORKDIR (globals live in \
                     npm's prefix); the runtime stage would not get them"
                ));
            }
            if matches!(
                sub,
                "ci" | "install" | "i" | "in" | "add" | "clean-install" | "ic" | "install-clean"
            ) {
                a.scan.npm_installs += 1;
                a.scan.npm_users.push((line, state.user.clone()));
                let omit_dev = command.args.iter().any(|w| {
                    w.is("--omit=dev")
                        || w.is("--production")
                        || w.is("--only=prod")
                        || w.is("--only=production")
                }) || command
                    .args
                    .windows(2)
                    .any(|p| p[0].is("--omit") && p[1].is("dev"));
                if omit_dev {
                    a.scan.npm_prod_installs += 1;
                }
            }
            Ok(())
        }
        "go" => match sub {
            "build" => {
                if option_value(&command.args, &["-C", "--C"]) != Opt::Absent {
                    return Err(format!(
                        "`go build -C` at line {line}: dockopt does not follow -C"
                    ));
                }
                let out = match option_value(&command.args, &["-o", "--o"]) {
                    Opt::Absent => {
                        return Err(format!(
                            "the `go build` at line {line} has no `-o`; dockopt needs to know \
                             where the binary goes"
                        ));
                    }
                    Opt::Unreadable => {
                        return Err(format!(
                            "the `go build -o` at line {line} names its output with a variable"
                        ));
                    }
                    Opt::Value(out) => out,
                };
                if out.ends_with('/') {
                    return Err(format!(
                        "the `go build -o {out}` at line {line} writes into a folder; dockopt \
                         needs the binary's path"
                    ));
                }
                let Some(out_abs) = absolute(cwd, out) else {
                    return Err(format!(
                        "the `go build -o {out}` at line {line} runs in a folder dockopt cannot \
                         tell"
                    ));
                };
                let cgo_off = cgo_exported
                    || command.assignments.iter().any(|x| {
                        x.name == "CGO_ENABLED" && x.value.as_ref().is_some_and(|v| v.is("0"))
                    })
                    || state.var("CGO_ENABLED") == Some("0");
                a.scan.go_builds.push(GoBuild {
                    line,
                    out: out_abs,
                    cgo_off,
                });
                Ok(())
            }
            "install" => Err(format!(
                "`go install` at line {line} puts the binary in $GOPATH/bin; dockopt follows \
                 `go build -o PATH`"
            )),
            "mod" | "test" | "vet" | "generate" | "version" | "env" | "list" | "fmt" | "get"
            | "work" | "clean" | "doc" | "tool" => Ok(()),
            _ => Err(unknown_run(line, &format!("go {sub}"))),
        },
        "cargo" => scan_cargo(a, command, sub, cwd, state, line),
        "maven" | "gradle" => {
            let goals: &[&str] = if manager == "maven" {
                &["package", "install", "verify", "deploy"]
            } else {
                &[
                    "build",
                    "bootJar",
                    "assemble",
                    "installDist",
                    "jar",
                    "shadowJar",
                    "bootWar",
                    "war",
                ]
            };
            if operands
                .iter()
                .filter_map(|w| w.value())
                .any(|g| goals.contains(&g.rsplit(':').next().unwrap_or(g)))
            {
                a.scan.java_build = true;
            }
            Ok(())
        }
        "dotnet" => match sub {
            "publish" => {
                let out = match option_value(&command.args, &["-o", "--output"]) {
                    Opt::Absent => {
                        return Err(format!(
                            "the `dotnet publish` at line {line} has no `-o`; dockopt needs to \
                             know where the application goes"
                        ));
                    }
                    Opt::Unreadable => None,
                    Opt::Value(out) => absolute(cwd, out),
                }
                .ok_or_else(|| {
                    format!(
                        "the `dotnet publish -o` at line {line} has an output dockopt cannot \
                         resolve"
                    )
                })?;
                a.scan.dotnet_outs.push(out);
                Ok(())
            }
            "tool" if has("-g") || has("--global") || has("--tool-path") => Err(format!(
                "`dotnet tool` at line {line} installs outside WORKDIR"
            )),
            "restore" | "build" | "test" | "clean" | "pack" | "nuget" | "tool" | "--info"
            | "--version" => Ok(()),
            _ => Err(unknown_run(line, &format!("dotnet {sub}"))),
        },
        _ => Err(unknown_run(line, program)),
    }
}

/// `cargo build --release`, `cargo install --path .` and harmless cargo commands.
fn scan_cargo(
    a: &mut Analysis<'_>,
    command: &Command,
    sub: &str,
    cwd: Option<&str>,
    state: &StageState,
    line: usize,
) -> Plan<()> {
    let value = |names: &[&str]| -> Plan<Option<String>> {
        match option_value(&command.args, names) {
            Opt::Absent => Ok(None),
            Opt::Value(v) => Ok(Some(v.to_string())),
            Opt::Unreadable => Err(format!(
                "the `cargo {sub}` at line {line} gives {} with a variable",
                names[0]
            )),
        }
    };
    let Some(dir) = cwd.map(String::from) else {
        return Err(format!(
            "the `cargo {sub}` at line {line} runs in a folder dockopt cannot tell"
        ));
    };
    for flag in [
        "--manifest-path",
        "-p",
        "--package",
        "--workspace",
        "--all",
        "--bins",
        "--example",
        "--examples",
        "--all-targets",
        "-Z",
    ] {
        if matches!(sub, "build" | "b" | "install")
            && command
                .args
                .iter()
                .any(|w| w.is(flag) || w.is_long_flag(flag))
        {
            return Err(format!(
                "`cargo {sub} {flag}` at line {line}: dockopt cannot tell which binary it builds"
            ));
        }
    }
    match sub {
        "build" | "b" => {
            let profile = value(&["--profile"])?;
            let release = command.has_flag("--release")
                || command.args.iter().any(|w| w.is("-r"))
                || profile.as_deref() == Some("release");
            if !release {
                return Err(format!(
                    "the `cargo build` at line {line} is not a release build; dockopt follows \
                     `cargo build --release`"
                ));
            }
            let target_dir = match value(&["--target-dir"])? {
                Some(d) => Some(absolute(Some(&dir), &d).ok_or_else(|| {
                    format!("the `cargo build --target-dir` at line {line} cannot be resolved")
                })?),
                None => target_dir_from_env(state, &dir, line)?,
            };
            a.scan.cargo_builds.push(CargoBuild {
                dir,
                bin: value(&["--bin"])?,
                triple: value(&["--target"])?,
                target_dir,
            });
            Ok(())
        }
        "install" => {
            let Some(path) = value(&["--path"])? else {
                // A tool from crates.io: it stays in the build stage.
                return Ok(());
            };
            if absolute(Some(&dir), &path).as_deref() != Some(dir.as_str()) {
                return Err(format!(
                    "`cargo install --path {path}` at line {line}: dockopt follows `--path .` only"
                ));
            }
            let root = match value(&["--root"])? {
                Some(r) => absolute(Some(&dir), &r),
                None => ["CARGO_INSTALL_ROOT", "CARGO_HOME"]
                    .iter()
                    .find(|v| state.is_set(v))
                    .map_or(Some("/usr/local/cargo".to_string()), |v| {
                        state.var(v).map(String::from)
                    }),
            }
            .ok_or_else(|| {
                format!("the install root of `cargo install` at line {line} cannot be resolved")
            })?;
            a.scan.cargo_installs.push(CargoInstall {
                dir,
                root,
                bin: value(&["--bin"])?,
            });
            Ok(())
        }
        "fetch" | "test" | "t" | "check" | "c" | "clippy" | "fmt" | "doc" | "generate-lockfile"
        | "update" | "vendor" | "chef" | "metadata" | "tree" | "--version" | "-V" => Ok(()),
        _ => Err(unknown_run(line, &format!("cargo {sub}"))),
    }
}

fn target_dir_from_env(state: &StageState, dir: &str, line: usize) -> Plan<Option<String>> {
    for var in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"] {
        if state.is_set(var) {
            return state
                .var(var)
                .and_then(|v| absolute(Some(dir), v))
                .map(Some)
                .ok_or_else(|| {
                    format!("{var} is not a literal path where `cargo build` runs (line {line})")
                });
        }
    }
    Ok(None)
}

/// The packages the runtime stage installs (Python), after checking that every package
/// the build installed is accounted for.
fn check_packages(a: &Analysis<'_>) -> Plan<Vec<String>> {
    let images = &a.knowledge().images;
    let mut runtime = Vec::new();
    for (manager, packages) in [("apt", &a.scan.apt), ("apk", &a.scan.apk)] {
        let facts = images.packages.get(manager);
        let listed = |list: Option<&Vec<String>>, name: &str| {
            list.is_some_and(|l| l.iter().any(|p| p == name))
        };
        for package in packages {
            let name = package
                .split(['=', ':'])
                .next()
                .unwrap_or(package)
                .to_string();
            let build_only = listed(facts.map(|f| &f.build_only), &name)
                || (a.eco == Ecosystem::Node && NODE_GYP.contains(&name.as_str()));
            if build_only || listed(facts.map(|f| &f.runtime_base), &name) {
                continue;
            }
            if a.eco != Ecosystem::Python {
                return Err(format!(
                    "the build installs `{package}` ({manager}), which {} does not have; \
                     dockopt cannot tell whether the application needs it at run time",
                    a.twin
                ));
            }
            let twin_apt = matches!(a.twin_facts.family, Family::Debian | Family::Ubuntu);
            if manager != "apt" || !twin_apt {
                return Err(format!(
                    "the build installs `{package}` with {manager}, which dockopt cannot \
                     install in {}",
                    a.twin
                ));
            }
            let mapped = match facts.and_then(|f| f.dev_runtime.get(&name)) {
                Some(library) => library.clone(),
                None if name.ends_with("-dev") => {
                    return Err(format!(
                        "dockopt does not know which runtime library {name} needs"
                    ));
                }
                None => package.clone(),
            };
            if !runtime.contains(&mapped) {
                runtime.push(mapped);
            }
        }
    }
    Ok(runtime)
}

/// The last ENTRYPOINT and CMD of the runtime-only instructions.
fn entry_and_cmd<'a>(
    runtime: &[(Instruction<'a>, bool)],
) -> (Option<Instruction<'a>>, Option<Instruction<'a>>) {
    let last = |kind| {
        runtime
            .iter()
            .rev()
            .map(|(i, _)| *i)
            .find(|i| i.kind() == kind)
    };
    (
        last(InstructionKind::Entrypoint),
        last(InstructionKind::Cmd),
    )
}

/// The command line the image runs: ENTRYPOINT and CMD as plain words.
fn command_line(a: &Analysis<'_>, runtime: &[(Instruction<'_>, bool)]) -> Plan<Vec<String>> {
    let (entrypoint, cmd) = entry_and_cmd(runtime);
    let words_of = |i: Instruction<'_>| {
        plain_words(i).map_err(|why| {
            format!(
                "the {} at line {} is not a plain command ({why})",
                i.keyword().to_uppercase(),
                a.line(i)
            )
        })
    };
    match (entrypoint, cmd) {
        (None, None) => Err(
            "the stage has no CMD or ENTRYPOINT naming the program the runtime stage runs".into(),
        ),
        (Some(e), Some(c)) if !e.is_exec_form() || !c.is_exec_form() => Err(format!(
            "the stage has an ENTRYPOINT and a CMD, not both in exec form (lines {} and {})",
            a.line(e),
            a.line(c)
        )),
        (Some(e), Some(c)) => {
            let mut words = words_of(e)?;
            words.extend(words_of(c)?);
            Ok(words)
        }
        (Some(i), None) | (None, Some(i)) => words_of(i),
    }
}

/// Resolves a program as the runtime stage's PATH would: the candidate it names.
fn resolve_program(
    a: &Analysis<'_>,
    program: &str,
    candidates: &[String],
) -> Result<String, String> {
    if program.contains('/') {
        let abs = absolute(a.final_wd.as_deref().or(Some("/")), program)
            .ok_or_else(|| format!("`{program}` cannot be resolved"))?;
        return candidates
            .iter()
            .find(|c| **c == abs)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "it runs {abs}, not what the build produces ({})",
                    and_list(candidates)
                )
            });
    }
    if let Some(found) = candidates
        .iter()
        .find(|c| base_name(c) == program && TWIN_PATH.contains(&parent(c)))
    {
        return Ok(found.clone());
    }
    match candidates.iter().find(|c| base_name(c) == program) {
        Some(c) => Err(format!(
            "it runs `{program}` through PATH, and {} is not on the PATH of {}; run it by its \
             full path",
            parent(c),
            a.twin
        )),
        None => Err(format!(
            "it runs `{program}`, not what the build produces ({})",
            and_list(candidates)
        )),
    }
}

/// Everything the build wrote that the runtime command could be: the binaries and where
/// later commands copied them.
fn with_copies(a: &Analysis<'_>, mut candidates: Vec<String>) -> Vec<String> {
    for copy in &a.scan.copies {
        if candidates.contains(&copy.source) && !candidates.contains(&copy.dest) {
            candidates.push(copy.dest.clone());
        }
    }
    candidates
}

/// The paths the runtime stage copies from the build stage.
fn artifacts(a: &Analysis<'_>, runtime: &[(Instruction<'_>, bool)]) -> Plan<Vec<String>> {
    match a.eco {
        Ecosystem::Node => {
            let wd = a.final_wd.clone().unwrap_or_default();
            Ok(vec![wd])
        }
        Ecosystem::Python => {
            let wd = a.final_wd.clone().unwrap_or_default();
            Ok(if a.scan.pip_anchor.is_some() {
                vec![VENV.to_string(), wd]
            } else {
                vec![wd]
            })
        }
        Ecosystem::Go => {
            if a.scan.go_builds.is_empty() {
                return Err("no `go build -o PATH` in the stage builds the program".into());
            }
            if let Some(b) = a.scan.go_builds.iter().find(|b| !b.cgo_off) {
                return Err(format!(
                    "the `go build` at line {} does not set CGO_ENABLED=0: the binary may link \
                     libc dynamically, and {} has none; set CGO_ENABLED=0",
                    b.line, a.twin
                ));
            }
            let candidates =
                with_copies(a, a.scan.go_builds.iter().map(|b| b.out.clone()).collect());
            program_artifact(a, runtime, &candidates)
        }
        Ecosystem::Rust => {
            let candidates = with_copies(a, rust_binaries(a)?);
            program_artifact(a, runtime, &candidates)
        }
        Ecosystem::Java => {
            if !a.scan.java_build {
                return Err(
                    "no Maven or Gradle build (package, install, build, bootJar, \
                            assemble, installDist) in the stage"
                        .into(),
                );
            }
            let words = command_line(a, runtime)?;
            let java = words.first().is_some_and(|w| base_name(w) == "java");
            let jar = words
                .iter()
                .position(|w| w == "-jar")
                .and_then(|i| words.get(i + 1));
            let (true, Some(jar)) = (java, jar) else {
                return Err("the CMD/ENTRYPOINT does not run `java -jar PATH`".into());
            };
            if jar.contains(['*', '?', '[', '$']) {
                return Err(format!(
                    "the jar `{jar}` is a glob or variable; dockopt needs its literal path"
                ));
            }
            let path = absolute(a.final_wd.as_deref().or(Some("/")), jar)
                .ok_or_else(|| format!("the jar `{jar}` cannot be resolved"))?;
            Ok(vec![path])
        }
        Ecosystem::Dotnet => {
            if a.scan.dotnet_outs.is_empty() {
                return Err("no `dotnet publish -o OUT` in the stage".into());
            }
            let words = command_line(a, runtime)?;
            let dll = match words.as_slice() {
                [dotnet, dll, ..]
                    if base_name(dotnet) == "dotnet"
                        && dll.to_ascii_lowercase().ends_with(".dll") =>
                {
                    dll
                }
                _ => return Err("the CMD/ENTRYPOINT does not run `dotnet X.dll`".into()),
            };
            let path = absolute(a.final_wd.as_deref().or(Some("/")), dll)
                .ok_or_else(|| format!("`{dll}` cannot be resolved"))?;
            a.scan
                .dotnet_outs
                .iter()
                .find(|out| under(out, &path) && **out != "/")
                .map(|out| vec![out.clone()])
                .ok_or_else(|| {
                    format!(
                        "it runs {path}, which is not in the `dotnet publish` output ({})",
                        and_list(&a.scan.dotnet_outs)
                    )
                })
        }
    }
}

/// The candidate the CMD/ENTRYPOINT runs (Go, Rust).
fn program_artifact(
    a: &Analysis<'_>,
    runtime: &[(Instruction<'_>, bool)],
    candidates: &[String],
) -> Plan<Vec<String>> {
    let words = command_line(a, runtime)?;
    let program = words.first().cloned().unwrap_or_default();
    let found = resolve_program(a, &program, candidates)
        .map_err(|why| format!("the CMD/ENTRYPOINT does not run the binary: {why}"))?;
    Ok(vec![found])
}

/// The binaries of `cargo build --release` and `cargo install --path .`.
fn rust_binaries(a: &Analysis<'_>) -> Plan<Vec<String>> {
    let scan = &a.scan;
    if scan.cargo_builds.is_empty() && scan.cargo_installs.is_empty() {
        return Err(
            "no `cargo build --release` or `cargo install --path .` in the stage builds the \
             program"
                .into(),
        );
    }
    let dirs: Vec<&String> = scan
        .cargo_builds
        .iter()
        .map(|b| &b.dir)
        .chain(scan.cargo_installs.iter().map(|i| &i.dir))
        .collect();
    let dir = dirs[0].clone();
    if dirs.iter().any(|d| **d != dir) {
        return Err("cargo runs in more than one folder".into());
    }
    let manifest = cargo_manifest(a, &dir)?;
    let name_for = |bin: &Option<String>| -> Plan<String> {
        match bin {
            Some(b) => Ok(b.clone()),
            None => manifest.clone(),
        }
    };
    let mut out = Vec::new();
    for build in &scan.cargo_builds {
        let name = name_for(&build.bin)?;
        let target = build
            .target_dir
            .clone()
            .unwrap_or_else(|| format!("{}/target", dir.trim_end_matches('/')));
        let path = match &build.triple {
            Some(triple) => format!("{target}/{triple}/release/{name}"),
            None => format!("{target}/release/{name}"),
        };
        if !out.contains(&path) {
            out.push(path);
        }
    }
    for install in &scan.cargo_installs {
        let name = name_for(&install.bin)?;
        let path = format!("{}/bin/{name}", install.root.trim_end_matches('/'));
        if !out.contains(&path) {
            out.push(path);
        }
    }
    check_crates(a)?;
    Ok(out)
}

/// The binary name from Cargo.toml (the context's, copied to `dir`): `Err` when it cannot
/// be read or there is more than one binary. The outer `Ok` is the name, or why a `--bin`
/// is needed.
fn cargo_manifest(a: &Analysis<'_>, dir: &str) -> Plan<Plan<String>> {
    let context = a
        .ctx
        .build_context
        .ok_or("dockopt needs the build context to read Cargo.toml")?;
    let copied = a.scan.context_copies.iter().any(|c| {
        c.sources.iter().any(|s| {
            let s = s.trim_start_matches("./");
            (s.is_empty() || s == ".") && c.dest == dir
                || s == "Cargo.toml"
                    && ((c.dest_is_dir && c.dest == dir) || c.dest == format!("{dir}/Cargo.toml"))
        })
    });
    if !copied {
        return Err(format!(
            "dockopt cannot tell which Cargo.toml the build in {dir} reads (no COPY of the \
             context's Cargo.toml there)"
        ));
    }
    for config in [".cargo/config.toml", ".cargo/config"] {
        if context
            .read_text(config)
            .is_some_and(|t| t.contains("target"))
        {
            return Err(format!(
                "{config} sets build targets or folders dockopt does not follow"
            ));
        }
    }
    let text = context
        .read_text("Cargo.toml")
        .ok_or("the build context has no readable Cargo.toml")?;
    let manifest: toml::Value =
        toml::from_str(&text).map_err(|e| format!("Cargo.toml does not parse ({e})"))?;
    let package = manifest.get("package");
    if package.and_then(|p| p.get("workspace")).is_some() {
        return Err("Cargo.toml belongs to a workspace elsewhere".into());
    }
    let Some(name) = package
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
    else {
        return Ok(Err(
            "Cargo.toml has no [package] name; add `--bin NAME` to `cargo build`".into(),
        ));
    };
    let bins: Vec<&str> = manifest
        .get("bin")
        .and_then(toml::Value::as_array)
        .map(|a| {
            a.iter()
                .map(|b| b.get("name").and_then(toml::Value::as_str).unwrap_or(""))
                .collect()
        })
        .unwrap_or_default();
    let more_bins = context
        .files()
        .is_some_and(|f| f.under("src/bin").next().is_some());
    if bins.len() > 1 || bins.iter().any(|b| *b != name) || more_bins {
        return Ok(Err(
            "Cargo.toml has several binaries (or one with another name); add `--bin NAME` to \
             `cargo build`"
                .into(),
        ));
    }
    Ok(Ok(name.to_string()))
}

/// Cargo.lock must show no crate that links a system library the twin lacks.
fn check_crates(a: &Analysis<'_>) -> Plan<()> {
    let Some(context) = a.ctx.build_context else {
        return Err("dockopt needs the build context to read Cargo.lock".into());
    };
    let lock = context.read_text("Cargo.lock").ok_or(
        "the build context has no Cargo.lock, so dockopt cannot tell which system libraries the \
         binary links",
    )?;
    let lock: toml::Value =
        toml::from_str(&lock).map_err(|e| format!("Cargo.lock does not parse ({e})"))?;
    let names: Vec<&str> = lock
        .get("package")
        .and_then(toml::Value::as_array)
        .map(|p| {
            p.iter()
                .filter_map(|c| c.get("name").and_then(toml::Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let manifest = context.read_text("Cargo.toml").unwrap_or_default();
    let crates = &a.knowledge().images.crates;
    for name in &names {
        if let Some(vendor) = crates.vendored_by.get(*name) {
            if names.contains(&vendor.as_str()) {
                continue;
            }
            return Err(format!(
                "Cargo.lock has {name}, which links a system library dynamically unless it is \
                 vendored ({vendor} is not in Cargo.lock); {} does not have that library",
                a.twin
            ));
        }
        if let Some(feature) = crates.bundled_feature.get(*name) {
            if manifest.contains(&format!("\"{feature}\"")) {
                continue;
            }
            return Err(format!(
                "Cargo.lock has {name}, which links a system library dynamically unless its \
                 `{feature}` feature is on (Cargo.toml does not show it); {} does not have that \
                 library",
                a.twin
            ));
        }
        let known = crates
            .no_system_library
            .iter()
            .chain(&crates.static_build)
            .any(|c| c == name);
        if name.ends_with("-sys") && !known {
            return Err(format!(
                "Cargo.lock has {name}, which may link a system library that {} does not have",
                a.twin
            ));
        }
    }
    Ok(())
}

/// What the runtime stage's moved instructions need from the twin.
fn check_runtime_instructions(
    a: &Analysis<'_>,
    runtime: &[(Instruction<'_>, bool)],
    artifacts: &[String],
    packages: &[String],
) -> Plan<()> {
    let twin = &a.twin;
    let no_shell = !a.twin_facts.shell;
    let (entrypoint, cmd) = entry_and_cmd(runtime);
    for &(instruction, _) in runtime {
        let line = a.line(instruction);
        let keyword = instruction.keyword().to_uppercase();
        match instruction.kind() {
            InstructionKind::Cmd | InstructionKind::Entrypoint | InstructionKind::Healthcheck => {
                let none = instruction
                    .healthcheck_kind()
                    .is_some_and(|k| k.value.eq_ignore_ascii_case("none"));
                if none {
                    continue;
                }
                let overridden = Some(instruction.index()) != entrypoint.map(Instruction::index)
                    && Some(instruction.index()) != cmd.map(Instruction::index)
                    && instruction.kind() != InstructionKind::Healthcheck;
                if overridden {
                    continue;
                }
                if no_shell {
                    check_no_shell(a, instruction, artifacts)?;
                } else {
                    check_shell_twin(a, instruction, packages)?;
                }
                if a.eco == Ecosystem::Node && instruction.kind() != InstructionKind::Healthcheck {
                    check_npm_scripts(a, instruction)?;
                }
                if !a.eco.copies_workdir() {
                    check_path_arguments(a, instruction, artifacts)?;
                }
            }
            InstructionKind::User => {
                let value = instruction.args_text();
                let user = value.split(':').next().unwrap_or(value).trim();
                let known = user.chars().all(|c| c.is_ascii_digit())
                    || matches!(user, "root" | "nobody")
                    || a.twin_facts.nonroot_user.as_deref() == Some(user);
                if !known {
                    return Err(format!(
                        "the USER at line {line} names `{user}`, which {twin} may not have"
                    ));
                }
            }
            InstructionKind::Expose if a.twin_facts.default_user_nonroot => {
                let root_user = runtime.iter().rev().find_map(|(i, _)| {
                    (i.kind() == InstructionKind::User).then(|| {
                        let v = i.args_text();
                        let u = v.split(':').next().unwrap_or(v).trim();
                        u == "root" || u == "0"
                    })
                });
                if root_user == Some(true) {
                    continue;
                }
                let low = instruction.words().iter().find_map(|w| {
                    let digits: String = w.value.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse::<u32>().ok().filter(|p| *p > 0 && *p < 1024)
                });
                if let Some(port) = low {
                    return Err(format!(
                        "the {keyword} at line {line} exposes port {port}, and {twin} runs as a \
                         non-root user, which cannot bind it on every runtime"
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// On a twin without a shell: exec form (or plain words), running an artifact.
fn check_no_shell(
    a: &Analysis<'_>,
    instruction: Instruction<'_>,
    artifacts: &[String],
) -> Plan<()> {
    let line = a.line(instruction);
    let keyword = instruction.keyword().to_uppercase();
    let twin = &a.twin;
    let words = if instruction.kind() == InstructionKind::Healthcheck {
        if !instruction.is_exec_form() {
            return Err(format!(
                "the HEALTHCHECK at line {line} needs a shell, which {twin} does not have"
            ));
        }
        plain_words(instruction).unwrap_or_default()
    } else {
        plain_words(instruction).map_err(|why| {
            format!(
                "the {keyword} at line {line} needs a shell ({why}), which {twin} does not have"
            )
        })?
    };
    if instruction.kind() == InstructionKind::Cmd
        && !instruction.is_exec_form()
        && entry_and_cmd_has_entrypoint(a, instruction)
    {
        return Err(format!(
            "the shell-form CMD at line {line} would become arguments of the ENTRYPOINT"
        ));
    }
    let is_program = instruction.kind() == InstructionKind::Healthcheck
        || instruction.kind() == InstructionKind::Entrypoint
        || !entry_and_cmd_has_entrypoint(a, instruction);
    if is_program {
        let program = words.first().cloned().unwrap_or_default();
        resolve_program(a, &program, artifacts)
            .map_err(|why| format!("the {keyword} at line {line} cannot run in {twin}: {why}"))?;
    }
    Ok(())
}

fn entry_and_cmd_has_entrypoint(a: &Analysis<'_>, instruction: Instruction<'_>) -> bool {
    a.stage
        .instructions
        .iter()
        .any(|i| i.kind() == InstructionKind::Entrypoint && i.index() != instruction.index())
}

/// On a slim twin: no tool only the full image has; Python runs from the venv.
fn check_shell_twin(
    a: &Analysis<'_>,
    instruction: Instruction<'_>,
    packages: &[String],
) -> Plan<()> {
    let line = a.line(instruction);
    let keyword = instruction.keyword().to_uppercase();
    for program in runtime_programs(instruction).into_iter().flatten() {
        let base = base_name(&program);
        if FULL_IMAGE_ONLY.contains(&base) && !packages.iter().any(|p| p == base) {
            return Err(format!(
                "the {keyword} at line {line} runs `{base}`, which {} does not have",
                a.twin
            ));
        }
        if a.eco == Ecosystem::Python && program.starts_with('/') {
            let fine = ["/bin/sh", "/bin/bash", "/usr/bin/env"].contains(&program.as_str())
                || under(VENV, &program)
                || a.final_wd.as_deref().is_some_and(|w| under(w, &program));
            if !fine {
                return Err(format!(
                    "the {keyword} at line {line} runs {program}; in the runtime stage the \
                     packages are in {VENV}, so it would not find them"
                ));
            }
        }
    }
    Ok(())
}

/// Node: what `npm start` / `npm run X` / `npx X` runs must be a production dependency
/// (or node itself): the runtime stage has no devDependencies.
fn check_npm_scripts(a: &Analysis<'_>, instruction: Instruction<'_>) -> Plan<()> {
    let line = a.line(instruction);
    let keyword = instruction.keyword().to_uppercase();
    let words: Vec<String> = match plain_words(instruction) {
        Ok(words) => words,
        Err(_) => return Ok(()),
    };
    let program = words.first().map_or("", |w| base_name(w));
    let args: Vec<&str> = words.iter().skip(1).map(String::as_str).collect();
    let (scripts, npx): (Vec<&str>, Option<&str>) = match (program, args.as_slice()) {
        ("npm", ["start", ..]) => (vec!["prestart", "start", "poststart"], None),
        ("npm", ["run" | "run-script", name, ..]) => (vec![name], None),
        ("npm", ["test" | "t", ..]) => (vec!["test"], None),
        ("npx", [name, ..]) => (Vec::new(), Some(name)),
        _ => return Ok(()),
    };
    let Some(package) = a
        .ctx
        .build_context
        .and_then(|c| c.read_text("package.json"))
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    else {
        return Err(format!(
            "the {keyword} at line {line} runs `{program}`, and dockopt needs package.json from \
             the build context to tell whether it needs devDependencies"
        ));
    };
    let dependencies: Vec<&str> = package
        .get("dependencies")
        .and_then(|d| d.as_object())
        .map(|d| d.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let fine = |p: &str| {
        matches!(p, "node" | "npm" | "npx" | "sh" | "exec" | "cd" | "env")
            || HARMLESS.contains(&p)
            || dependencies.contains(&p)
    };
    if let Some(name) = npx
        && !fine(name)
    {
        return Err(format!(
            "the {keyword} at line {line} runs `npx {name}`, which is not a production \
             dependency; the runtime stage has no devDependencies"
        ));
    }
    let script_texts = package.get("scripts").and_then(|s| s.as_object());
    for name in scripts {
        let Some(text) = script_texts
            .and_then(|s| s.get(name))
            .and_then(|t| t.as_str())
        else {
            continue;
        };
        let script = dockopt_shell::parse_text(text);
        for command in script.commands() {
            let Some(p) = command.program() else {
                continue;
            };
            if !fine(p) {
                return Err(format!(
                    "the {keyword} at line {line} runs the npm script `{name}`, which runs \
                     `{p}`, not a production dependency; the runtime stage has no \
                     devDependencies"
                ));
            }
        }
    }
    Ok(())
}

/// Artifact-only runtimes: the command line names no file the runtime stage lacks.
fn check_path_arguments(
    a: &Analysis<'_>,
    instruction: Instruction<'_>,
    artifacts: &[String],
) -> Plan<()> {
    let Ok(words) = plain_words(instruction) else {
        return Ok(());
    };
    for word in words.iter().skip(1) {
        if word.contains("://") {
            continue;
        }
        let value = word.rsplit('=').next().unwrap_or(word);
        let value = value.strip_prefix("file:").unwrap_or(value);
        if !(value.starts_with('/') || value.starts_with("./") || value.starts_with("../")) {
            continue;
        }
        let Some(path) = absolute(a.final_wd.as_deref().or(Some("/")), value) else {
            continue;
        };
        let fine = artifacts.iter().any(|art| under(art, &path))
            || ALWAYS_THERE.iter().any(|p| under(p, &path));
        if !fine {
            return Err(format!(
                "the {} at line {} refers to {path}, which the runtime stage would not have",
                instruction.keyword().to_uppercase(),
                a.line(instruction)
            ));
        }
    }
    Ok(())
}

/// The edits.
#[allow(clippy::too_many_lines)]
fn build_fix(
    a: &Analysis<'_>,
    envs: &[Instruction<'_>],
    last_workdir: Option<Instruction<'_>>,
    runtime: &[(Instruction<'_>, bool)],
    artifacts: &[String],
    packages: &[String],
) -> Fix {
    let file = a.file;
    let text = file.text();
    let nl = file.line_ending();
    let from = a.stage.from;
    let from_view = from.from().expect("a FROM instruction");
    let kw = |upper: &str| keyword_like(from.keyword(), upper);
    let starts = attached_starts(file);
    let mut edits = Vec::new();

    // FROM <base> AS build.
    let name = if let Some(name) = from_view.stage_name {
        name.value.to_string()
    } else {
        edits.push(Edit::insert(
            from_view.image.range.end,
            format!(" {} build", kw("AS")),
        ));
        "build".to_string()
    };

    // Python: the virtual environment before the first pip install, above the COPYs right
    // before it, so that a later split of such a COPY is not blocked.
    if let Some(anchor) = a.scan.pip_anchor {
        let mut at = anchor;
        while at > 0
            && matches!(
                a.stage.instructions[at - 1].kind(),
                InstructionKind::Copy | InstructionKind::Add
            )
        {
            at -= 1;
        }
        let target = a.stage.instructions[at];
        let indent = indent_of(text, target.range().start);
        edits.push(Edit::insert(
            starts[target.index()],
            format!(
                "{indent}{} python -m venv {VENV}{nl}{indent}{} PATH=\"{VENV}/bin:$PATH\"{nl}",
                kw("RUN"),
                kw("ENV")
            ),
        ));
    }

    // The end of what stays in the build stage.
    let moved: Vec<Instruction<'_>> = runtime
        .iter()
        .filter(|(_, delete)| *delete)
        .map(|(i, _)| *i)
        .collect();
    let kept_end = std::iter::once(from)
        .chain(
            a.stage
                .instructions
                .iter()
                .copied()
                .filter(|i| !moved.iter().any(|m| m.index() == i.index())),
        )
        .map(|i| i.line_range().end)
        .max()
        .unwrap_or(text.len());
    for instruction in &moved {
        let start = starts[instruction.index()];
        if start >= kept_end {
            continue;
        }
        let mut end = instruction.line_range().end;
        if blank_line_before(text, start) && blank_line_at(text, end) {
            end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        }
        edits.push(Edit::delete(TextRange::new(start, end)));
    }

    // Comments after the last kept instruction that no moved instruction owns stay.
    let mut tail = String::new();
    if !text[..kept_end].ends_with('\n') && kept_end > 0 {
        tail.push_str(nl);
    }
    if a.eco == Ecosystem::Node && a.scan.npm_installs > a.scan.npm_prod_installs {
        let _ = write!(tail, "{} npm prune --omit=dev{nl}", kw("RUN"));
    }
    for item in file.items() {
        if item.kind != ItemKind::Comment || item.range.start < kept_end {
            continue;
        }
        let owned = moved.iter().any(|m| {
            starts[m.index()] <= item.range.start && item.range.start < m.line_range().end
        });
        if !owned {
            tail.push_str(&text[item.range.range()]);
            if !tail.ends_with('\n') {
                tail.push_str(nl);
            }
        }
    }

    // The runtime stage.
    let mut stage = String::new();
    stage.push_str(nl);
    let platform = from_view
        .platform
        .map(|p| format!(" {}", &text[p.range.range()]))
        .unwrap_or_default();
    let _ = write!(stage, "{}{platform} {}{nl}", kw("FROM"), a.twin);
    for env in envs {
        let _ = write!(stage, "{}{nl}", env.text());
    }
    if let (Some(workdir), Some(dir)) = (last_workdir, &a.final_wd) {
        let _ = write!(stage, "{} {dir}{nl}", workdir.keyword());
    }
    if !packages.is_empty() {
        let _ = write!(
            stage,
            "{} apt-get update && apt-get install -y --no-install-recommends {} && rm -rf \
             /var/lib/apt/lists/*{nl}",
            kw("RUN"),
            packages.join(" ")
        );
    }
    let copy = kw("COPY");
    let mut shown = Vec::new();
    for artifact in artifacts {
        let _ = write!(stage, "{copy} --from={name} {artifact} {artifact}{nl}");
        if artifact == VENV {
            let _ = write!(stage, "{} PATH=\"{VENV}/bin:$PATH\"{nl}", kw("ENV"));
        }
        shown.push(artifact.clone());
    }
    let no_shell = !a.twin_facts.shell;
    for &(instruction, delete) in runtime {
        let line_range = instruction.line_range();
        let start = if delete {
            starts[instruction.index()]
        } else {
            instruction.range().start
        };
        let lead = if delete {
            &text[start..instruction.range().start]
        } else {
            ""
        };
        let convert = no_shell
            && matches!(
                instruction.kind(),
                InstructionKind::Cmd | InstructionKind::Entrypoint
            )
            && !instruction.is_exec_form();
        let body = if convert {
            let words = plain_words(instruction).unwrap_or_default();
            let json: Vec<String> = words.iter().map(|w| json_string(w)).collect();
            format!("{} [{}]", instruction.keyword(), json.join(", "))
        } else {
            instruction.text().to_string()
        };
        let after = &text[instruction.range().end..line_range.end];
        let _ = write!(stage, "{lead}{body}{after}");
        if !stage.ends_with('\n') {
            stage.push_str(nl);
        }
    }
    if !text.ends_with('\n') {
        while stage.ends_with('\n') {
            stage.pop();
            if stage.ends_with('\r') {
                stage.pop();
            }
        }
    }
    tail.push_str(&stage);
    edits.push(Edit::replace(TextRange::new(kept_end, text.len()), tail));

    let mut config = Vec::new();
    if artifacts.iter().any(|x| x == VENV) {
        config.push(ConfigKey::Env);
    }
    // A `:nonroot` twin runs as its own user where the original, with no USER, ran as root.
    let sets_user = runtime
        .iter()
        .any(|(i, _)| i.kind() == InstructionKind::User);
    if a.twin_facts.default_user_nonroot && !sets_user {
        config.push(ConfigKey::User);
    }
    let mut fix = Fix::unsafe_edit(
        format!(
            "Build in a `{name}` stage and run FROM {} with only {}",
            a.twin,
            and_list(&shown)
        ),
        edits,
        DeclaredEffect {
            config,
            paths: vec!["/**".into()],
            base_image: true,
            summary: format!(
                "runtime stage FROM {} with {} from the build stage",
                a.twin,
                and_list(&shown)
            ),
            ..DeclaredEffect::default()
        },
    );
    fix.isolation = Isolation::Alone;
    fix
}

#[cfg(test)]
mod tests {
    use dockopt_fix::{Applicability, ConfigKey, Isolation};

    use super::MultiStage;
    use crate::rules::test_support::{check, fixed};

    fn fix(text: &str) -> String {
        fixed(&MultiStage, text)
            .unwrap_or_else(|| panic!("no fix for {text}: {:?}", check(&MultiStage, text)))
    }

    fn reported(text: &str, why: &str) {
        let d = check(&MultiStage, text);
        assert_eq!(d.len(), 1, "{text}");
        assert!(d[0].fix.is_none(), "{text}: has a fix");
        assert!(
            d[0].message.contains(why),
            "{text}: {} lacks {why}",
            d[0].message
        );
    }

    fn quiet(text: &str) {
        assert!(check(&MultiStage, text).is_empty(), "{text}");
    }

    const GO: &str = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN CGO_ENABLED=0 go build -o /usr/local/bin/api .\n\nEXPOSE 8080\nCMD api\n";

    #[test]
    fn go_builds_on_distroless_static() {
        let d = check(&MultiStage, GO);
        assert_eq!(
            d[0].message,
            "single-stage build ships the whole toolchain (golang:1.22); a runtime stage FROM \
             gcr.io/distroless/static-debian12:nonroot would carry only the artifacts"
        );
        let f = d[0].fix.as_ref().unwrap();
        assert_eq!(f.applicability, Applicability::Unsafe);
        assert_eq!(f.isolation, Isolation::Alone);
        assert!(f.effect.base_image);
        assert_eq!(f.effect.paths, ["/**"]);
        // The original ran as root, the `:nonroot` runtime does not.
        assert_eq!(f.effect.config, [ConfigKey::User]);
        assert_eq!(
            f.title,
            "Build in a `build` stage and run FROM gcr.io/distroless/static-debian12:nonroot \
             with only /usr/local/bin/api"
        );
        assert_eq!(
            fix(GO),
            "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN CGO_ENABLED=0 go build -o /usr/local/bin/api .\n\nFROM gcr.io/distroless/static-debian12:nonroot\nWORKDIR /src\nCOPY --from=build /usr/local/bin/api /usr/local/bin/api\nEXPOSE 8080\nCMD [\"api\"]\n"
        );
    }

    #[test]
    fn go_relative_output_env_cgo_and_comments() {
        let text = "# syntax=docker/dockerfile:1\nARG GO=1.22\nFROM golang:1.22-alpine AS builder\nENV CGO_ENABLED=0\nWORKDIR /app\nCOPY . .\n# the server\nRUN go build -o server ./cmd/server\n# it listens here\nEXPOSE 8080\n\n# run it\nENTRYPOINT [\"/app/server\"]\n";
        assert_eq!(
            fix(text),
            "# syntax=docker/dockerfile:1\nARG GO=1.22\nFROM golang:1.22-alpine AS builder\nENV CGO_ENABLED=0\nWORKDIR /app\nCOPY . .\n# the server\nRUN go build -o server ./cmd/server\n\nFROM gcr.io/distroless/static-debian12:nonroot\nENV CGO_ENABLED=0\nWORKDIR /app\nCOPY --from=builder /app/server /app/server\n# it listens here\nEXPOSE 8080\n# run it\nENTRYPOINT [\"/app/server\"]\n"
        );
    }

    #[test]
    fn python_gets_a_venv_and_runtime_libraries() {
        let text = "FROM python:3.12\n\nRUN apt-get update && apt-get install -y build-essential libpq-dev\n\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n\nEXPOSE 8000\nCMD python app.py\n";
        let d = check(&MultiStage, text);
        let f = d[0].fix.as_ref().unwrap();
        assert_eq!(
            f.title,
            "Build in a `build` stage and run FROM python:3.12-slim with only /opt/venv and /app"
        );
        assert_eq!(f.effect.config, vec![ConfigKey::Env]);
        assert_eq!(
            f.effect.summary,
            "runtime stage FROM python:3.12-slim with /opt/venv and /app from the build stage"
        );
        assert_eq!(
            fix(text),
            "FROM python:3.12 AS build\n\nRUN apt-get update && apt-get install -y build-essential libpq-dev\n\nWORKDIR /app\nRUN python -m venv /opt/venv\nENV PATH=\"/opt/venv/bin:$PATH\"\nCOPY . .\nRUN pip install -r requirements.txt\n\nFROM python:3.12-slim\nWORKDIR /app\nRUN apt-get update && apt-get install -y --no-install-recommends libpq5 && rm -rf /var/lib/apt/lists/*\nCOPY --from=build /opt/venv /opt/venv\nENV PATH=\"/opt/venv/bin:$PATH\"\nCOPY --from=build /app /app\nEXPOSE 8000\nCMD python app.py\n"
        );
    }

    #[test]
    fn node_prunes_dev_dependencies() {
        let text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\nENV NODE_ENV=production\nEXPOSE 3000\nCMD node dist/server.js\n";
        assert_eq!(
            fix(text),
            "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\nENV NODE_ENV=production\nRUN npm prune --omit=dev\n\nFROM node:22-slim\nENV NODE_ENV=production\nWORKDIR /app\nCOPY --from=build /app /app\nEXPOSE 3000\nCMD node dist/server.js\n"
        );
        let prod = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD [\"node\", \"server.js\"]\n";
        assert!(!fix(prod).contains("prune"));
    }

    #[test]
    fn java_and_dotnet() {
        let java = "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /app\nCOPY . .\nRUN mvn -B package\nCMD [\"java\", \"-jar\", \"target/app.jar\"]\n";
        assert_eq!(
            fix(java),
            "FROM maven:3.9-eclipse-temurin-21 AS build\nWORKDIR /app\nCOPY . .\nRUN mvn -B package\n\nFROM eclipse-temurin:21-jre\nWORKDIR /app\nCOPY --from=build /app/target/app.jar /app/target/app.jar\nCMD [\"java\", \"-jar\", \"target/app.jar\"]\n"
        );
        let dotnet = "FROM mcr.microsoft.com/dotnet/sdk:8.0\nWORKDIR /src\nCOPY . .\nRUN dotnet publish -c Release -o /app\nWORKDIR /app\nENTRYPOINT [\"dotnet\", \"Api.dll\"]\n";
        assert_eq!(
            fix(dotnet),
            "FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build\nWORKDIR /src\nCOPY . .\nRUN dotnet publish -c Release -o /app\nWORKDIR /app\n\nFROM mcr.microsoft.com/dotnet/aspnet:8.0\nWORKDIR /app\nCOPY --from=build /app /app\nENTRYPOINT [\"dotnet\", \"Api.dll\"]\n"
        );
    }

    #[test]
    fn crlf_keyword_case_and_no_final_newline() {
        assert_eq!(
            fix(
                "from golang:1.22\r\nworkdir /src\r\ncopy . .\r\nrun CGO_ENABLED=0 go build -o /out/app .\r\ncmd [\"/out/app\"]"
            ),
            "from golang:1.22 as build\r\nworkdir /src\r\ncopy . .\r\nrun CGO_ENABLED=0 go build -o /out/app .\r\n\r\nfrom gcr.io/distroless/static-debian12:nonroot\r\nworkdir /src\r\ncopy --from=build /out/app /out/app\r\ncmd [\"/out/app\"]"
        );
    }

    #[test]
    fn user_labels_and_middle_instructions_move() {
        let text = "FROM node:22\nLABEL org.opencontainers.image.title=web\n\nWORKDIR /app\nUSER node\nCOPY . .\nRUN npm ci --omit=dev\nUSER node\nCMD [\"node\", \"x.js\"]\n";
        assert_eq!(
            fix(text),
            "FROM node:22 AS build\n\nWORKDIR /app\nUSER node\nCOPY . .\nRUN npm ci --omit=dev\n\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nLABEL org.opencontainers.image.title=web\nUSER node\nCMD [\"node\", \"x.js\"]\n"
        );
        // A USER a RUN still needs stays, and is repeated in the runtime stage.
        let text = "FROM node:22\nWORKDIR /app\nCOPY . .\nUSER node\nRUN npm ci --omit=dev\nCMD [\"node\", \"x.js\"]\n";
        assert_eq!(
            fix(text),
            "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nUSER node\nRUN npm ci --omit=dev\n\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nUSER node\nCMD [\"node\", \"x.js\"]\n"
        );
    }

    #[test]
    fn already_multi_stage_unknown_and_runtime_images_are_quiet() {
        quiet(
            "FROM golang:1.22 AS build\nRUN CGO_ENABLED=0 go build -o /x .\nFROM scratch\nCOPY --from=build /x /x\n",
        );
        quiet("FROM example.com/toolchain:1\nRUN make\n");
        quiet("FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD python app.py\n");
        quiet("FROM debian:bookworm\nRUN make\n");
        quiet("FROM python:${PY}\nRUN pip install x\n");
        quiet("FROM node:22\nONBUILD COPY . /app\n");
        quiet(&fix(GO));
    }

    #[test]
    fn reports_say_why() {
        for (text, why) in [
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\nCMD [\"/app\"]\n",
                "does not set CGO_ENABLED=0: the binary may link libc dynamically",
            ),
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build .\nCMD [\"/src/x\"]\n",
                "the `go build` at line 4 has no `-o`",
            ),
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nCMD [\"/bin/other\"]\n",
                "the CMD/ENTRYPOINT does not run the binary",
            ),
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /go/bin/app .\nCMD [\"app\"]\n",
                "/go/bin is not on the PATH of gcr.io/distroless/static-debian12:nonroot",
            ),
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nCMD /app && echo done\n",
                "is not a plain command",
            ),
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nCOPY config.yaml /etc/app/\nCMD [\"/app\"]\n",
                "the COPY at line 5 writes /etc/app/config.yaml, outside WORKDIR",
            ),
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN wget -O /tmp/x https://example.com/x\nRUN CGO_ENABLED=0 go build -o /app .\nCMD [\"/app\"]\n",
                "the RUN at line 4 runs `wget`, which may create files outside WORKDIR",
            ),
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app . && echo ok > /etc/built\nCMD [\"/app\"]\n",
                "writes /etc/built, outside WORKDIR",
            ),
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nHEALTHCHECK CMD curl -f localhost\nCMD [\"/app\"]\n",
                "the HEALTHCHECK at line 5 needs a shell",
            ),
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nEXPOSE 80\nCMD [\"/app\"]\n",
                "exposes port 80, and gcr.io/distroless/static-debian12:nonroot runs as a non-root user",
            ),
            (
                "FROM golang:1.22\nARG VERSION=1\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nLABEL version=$VERSION\nCMD [\"/app\"]\n",
                "the LABEL at line 6 uses the build argument `VERSION`",
            ),
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nCMD [\"/app\", \"-config\", \"/src/config.yaml\"]\n",
                "refers to /src/config.yaml, which the runtime stage would not have",
            ),
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nUSER app\nCMD [\"/app\"]\n",
                "the USER at line 5 names `app`",
            ),
            (
                "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go install ./cmd/app\nCMD [\"app\"]\n",
                "`go install` at line 4 puts the binary in $GOPATH/bin",
            ),
            (
                "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install --user -r requirements.txt\nCMD python app.py\n",
                "`pip --user` (line 4) installs outside the virtual environment",
            ),
            (
                "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN /usr/local/bin/pip install -r requirements.txt\nCMD python app.py\n",
                "runs pip as /usr/local/bin/pip",
            ),
            (
                "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN poetry install\nCMD python app.py\n",
                "only pip is supported",
            ),
            (
                "FROM python:3.12\nCOPY . /app\nRUN pip install -r /app/requirements.txt\nCMD python /app/app.py\n",
                "the stage has no WORKDIR",
            ),
            (
                "FROM python:3.12\nRUN apt-get update && apt-get install -y libfoo-dev\nWORKDIR /app\nCOPY . .\nRUN pip install .\nCMD python app.py\n",
                "dockopt does not know which runtime library libfoo-dev needs",
            ),
            (
                "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nHEALTHCHECK CMD curl -f http://localhost:8000/\nCMD python app.py\n",
                "the HEALTHCHECK at line 5 runs `curl`, which python:3.12-slim does not have",
            ),
            (
                "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"/usr/local/bin/gunicorn\", \"app:app\"]\n",
                "runs /usr/local/bin/gunicorn; in the runtime stage the packages are in /opt/venv",
            ),
            (
                "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN python manage.py collectstatic\nCMD python app.py\n",
                "the RUN at line 4 runs `python`",
            ),
            (
                "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN yarn install\nCMD [\"node\", \"x.js\"]\n",
                "only npm is supported",
            ),
            (
                "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm install -g pm2 && npm ci\nCMD [\"pm2-runtime\", \"x.js\"]\n",
                "installs outside WORKDIR (globals live in npm's prefix)",
            ),
            (
                "FROM node:22\nWORKDIR /app\nRUN apt-get update && apt-get install -y ffmpeg\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"x.js\"]\n",
                "the build installs `ffmpeg` (apt), which node:22-slim does not have",
            ),
            (
                "FROM node:22\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"x.js\"]\n",
                "the stage has no WORKDIR",
            ),
            (
                "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /app\nCOPY . .\nRUN mvn package\nCMD java -jar target/*.jar\n",
                "is not a plain command",
            ),
            (
                "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /app\nCOPY . .\nRUN mvn package\nCMD [\"java\", \"-cp\", \"target/classes\", \"Main\"]\n",
                "does not run `java -jar PATH`",
            ),
            (
                "FROM mcr.microsoft.com/dotnet/sdk:8.0\nWORKDIR /src\nCOPY . .\nRUN dotnet publish -c Release\nENTRYPOINT [\"dotnet\", \"Api.dll\"]\n",
                "has no `-o`",
            ),
            (
                "FROM ruby:3.3\nWORKDIR /app\nCOPY . .\nRUN bundle install\nCMD [\"ruby\", \"app.rb\"]\n",
                "dockopt does not know what a ruby build produces",
            ),
            (
                "FROM python:3.12\nWORKDIR /app\nCOPY . .\nUSER nobody\nRUN pip install -r requirements.txt\nCMD python app.py\n",
                "pip runs as USER nobody (line 5), who could not write the virtual environment",
            ),
            (
                "FROM python:3.12\nENV PATH=/usr/local/bin:/usr/bin:/bin\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD python app.py\n",
                "the ENV at line 2 sets PATH without $PATH",
            ),
            (
                "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nUSER node\nRUN npm run build\nCMD [\"node\", \"x.js\"]\n",
                "`npm prune --omit=dev` would run as node at the end of the build stage, but the install at line 4 ran as root",
            ),
            (
                "FROM golang:1.22\nSHELL [\"/bin/bash\", \"-c\"]\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nCMD [\"/app\"]\n",
                "the SHELL at line 2",
            ),
        ] {
            reported(text, why);
        }
    }

    #[test]
    fn rust_without_context_reports() {
        reported(
            "FROM rust:1\nWORKDIR /app\nCOPY . .\nRUN cargo build --release --bin cli\nCMD [\"/app/target/release/cli\"]\n",
            "needs the build context to read Cargo.toml",
        );
        reported(
            "FROM rust:1\nWORKDIR /app\nCOPY . .\nRUN cargo build\nCMD [\"/app/target/debug/cli\"]\n",
            "is not a release build",
        );
    }
}
