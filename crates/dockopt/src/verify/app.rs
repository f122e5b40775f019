//! The app-equivalence check, used in place of "a base-image change covers everything"
//! whenever the image the application runs on changes (a fix declares `base_image`, or
//! `--against FILE`).
//!
//! - **Config**: Cmd, Entrypoint, WorkingDir, ExposedPorts, Volumes, Healthcheck,
//!   StopSignal and OnBuild must be equal, and so must every Env variable and label the
//!   original Dockerfile itself sets; a field an applied fix (other than the base-image
//!   change) declares may change. A shell-form command that is plain words may become the
//!   same words in exec form. PATH may gain entries in front when the command's program
//!   still resolves to the same program. Variables and labels only the base image set may
//!   differ and are listed; new ones are listed. The user may change from root to non-root
//!   only.
//! - **The application's files**: the original's WORKDIR tree (when its Dockerfile sets
//!   one) and every file the command names (its script, jar, or the program itself when it
//!   is no interpreter) must be there with the same content; mode and owner may change
//!   where a fix declares it or the user went from root to non-root. Files added under the
//!   WORKDIR are build artefacts, listed. When the command runs a compiled program (an ELF
//!   file, a `java -jar` jar, a .NET DLL) and the WORKDIR holds the build manifest of a
//!   compiled language, the WORKDIR is its build folder: files missing there are expected
//!   when they are build inputs (sources, manifests, build output folders, Dockerfiles)
//!   or, for an ELF program, when the program's bytes do not name them.
//! - Dependency folders the probes compared as packages are skipped file by file.
//! - Everything outside the application's files comes with the base image.

use std::collections::{BTreeMap, BTreeSet};

use dockopt_fix::ConfigKey;
use dockopt_syntax::{InstructionKind, parse};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde_json::Value;

use super::classify::{Cover, Effects};
use super::fsdiff::{ChangeKind, EntryKind, FsDifference, Listing, normalize};
use super::inspect::{ImageFacts, string_array};
use super::report::{DiffItem, value};

/// What covers app-level allowances in the report (`covered_by`).
pub const APP_COVER: &str = "app check";
/// What covers paths the probes compared as packages.
pub const PROBE_COVER: &str = "dependency probe";
/// Docker's PATH when the image sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Symlinks followed at most while resolving one path (the kernel's limit).
const MAX_LINKS: usize = 40;
/// A compiled program is read for the names it mentions up to this size.
pub const MAX_PROGRAM_BYTES: u64 = 256 << 20;

/// What the original Dockerfile itself sets in the stage the image is built from (and the
/// stages that one is built FROM).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DockerfileFacts {
    pub env_keys: BTreeSet<String>,
    pub label_keys: BTreeSet<String>,
    pub sets_workdir: bool,
}

fn unquote_key(key: &str) -> String {
    key.trim_matches(|c| c == '"' || c == '\'').to_string()
}

/// Reads [`DockerfileFacts`] from the original Dockerfile's text (its last stage, following
/// `FROM <earlier stage>`).
pub fn dockerfile_facts(text: &str) -> DockerfileFacts {
    let file = parse(text);
    let stages = file.stages();
    let mut out = DockerfileFacts::default();
    let Some(mut index) = stages.len().checked_sub(1) else {
        return out;
    };
    let mut seen = BTreeSet::new();
    while seen.insert(index) {
        let stage = &stages[index];
        for i in &stage.instructions {
            match i.kind() {
                InstructionKind::Env => out
                    .env_keys
                    .extend(i.key_values().iter().map(|kv| unquote_key(kv.key.value))),
                InstructionKind::Label => out
                    .label_keys
                    .extend(i.key_values().iter().map(|kv| unquote_key(kv.key.value))),
                InstructionKind::Workdir => out.sets_workdir = true,
                _ => {}
            }
        }
        let Some(base) = stage.base() else { break };
        match stages[..index]
            .iter()
            .rposition(|s| s.name().is_some_and(|n| n.eq_ignore_ascii_case(base)))
        {
            Some(j) => index = j,
            None => break,
        }
    }
    out
}

/// The real path of `path` in `listing`: every symlink on the way followed (relative
/// targets from the link's folder), as the kernel does. None when a component is missing
/// or the links loop.
pub fn real_path(listing: &Listing, path: &str) -> Option<String> {
    let mut todo: Vec<String> = normalize(path)
        .split('/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(str::to_string)
        .collect();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(part) = todo.pop() {
        if part == "." {
            continue;
        }
        if part == ".." {
            done.pop();
            continue;
        }
        done.push(part);
        let here = format!("/{}", done.join("/"));
        let entry = listing.get(&here)?;
        if entry.kind == EntryKind::Symlink {
            links += 1;
            if links > MAX_LINKS {
                return None;
            }
            let target = entry.link.clone().unwrap_or_default();
            done.pop();
            if target.starts_with('/') {
                done.clear();
            }
            todo.extend(
                target
                    .split('/')
                    .filter(|c| !c.is_empty())
                    .rev()
                    .map(str::to_string),
            );
        }
    }
    Some(format!("/{}", done.join("/")))
}

/// `path` made absolute against `dir`, normalized (`..` kept out).
pub fn absolute(dir: &str, path: &str) -> String {
    if path.starts_with('/') {
        return normalize(path);
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// One image as the command sees it.
#[derive(Clone, Copy, Debug)]
pub struct ImageView<'a> {
    pub listing: &'a Listing,
    pub facts: &'a ImageFacts,
}

impl ImageView<'_> {
    pub fn workdir(&self) -> String {
        self.facts
            .config
            .get("WorkingDir")
            .and_then(Value::as_str)
            .filter(|w| !w.is_empty())
            .map_or_else(|| "/".to_string(), normalize)
    }

    pub fn env(&self) -> BTreeMap<String, String> {
        env_map(self.facts.config.get("Env"))
    }

    fn path_dirs(&self) -> Vec<String> {
        let env = self.env();
        let workdir = self.workdir();
        env.get("PATH")
            .map_or(DEFAULT_PATH, String::as_str)
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| absolute(&workdir, d))
            .collect()
    }

    /// The program `name` runs: (the path as found, its real path). A name with a slash is
    /// a path from the WorkingDir; else the first executable regular file in PATH.
    pub fn which(&self, name: &str) -> Option<(String, String)> {
        let candidates = if name.contains('/') {
            vec![absolute(&self.workdir(), name)]
        } else {
            self.path_dirs().iter().map(|d| absolute(d, name)).collect()
        };
        candidates.into_iter().find_map(|c| {
            let real = real_path(self.listing, &c)?;
            let e = self.listing.get(&real)?;
            let file = matches!(e.kind, EntryKind::File | EntryKind::Hardlink);
            (file && e.mode & 0o111 != 0).then_some((c, real))
        })
    }

    /// A file (after symlinks) the command may name: a path from the WorkingDir.
    fn file(&self, name: &str) -> Option<String> {
        let real = real_path(self.listing, &absolute(&self.workdir(), name))?;
        let e = self.listing.get(&real)?;
        matches!(e.kind, EntryKind::File | EntryKind::Hardlink).then_some(real)
    }
}

/// `KEY=value` list (Env) as a map; a later duplicate wins, as in the engine.
pub fn env_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// True for a shell script of plain words: no quotes, expansions, operators, globs or
/// escapes, so `sh -c` runs exactly its whitespace-separated words.
fn plain_words(script: &str) -> Option<Vec<String>> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c);
    let words: Vec<String> = script.split_whitespace().map(str::to_string).collect();
    let ok = !words.is_empty()
        && script.chars().all(|c| plain(c) || c == ' ' || c == '\t')
        && !words[0].contains('=');
    ok.then_some(words)
}

/// A shell-form command (`["/bin/sh", "-c", "python app.py"]`) as the words it runs, when
/// the script is plain words; any other argv as it is.
pub fn normalized_argv(argv: &[String]) -> Vec<String> {
    if let [sh, c, script] = argv
        && matches!(sh.as_str(), "/bin/sh" | "sh" | "/bin/bash" | "bash")
        && c == "-c"
        && let Some(words) = plain_words(script)
    {
        return words;
    }
    argv.to_vec()
}

fn has_extension(path: &str, ext: &str) -> bool {
    std::path::Path::new(path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(k, _)| {
        !k.is_empty()
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !k.starts_with(|c: char| c.is_ascii_digit())
    })
}

/// The interpreters whose first argument is the application's script.
fn interpreter(name: &str) -> Option<&'static str> {
    let b = base_name(name);
    let versioned = |prefix: &str| {
        b.strip_prefix(prefix)
            .is_some_and(|r| r.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    Some(match b {
        _ if versioned("python") || versioned("pypy") => "python",
        "node" | "nodejs" | "deno" | "bun" => "node",
        "java" => "java",
        "dotnet" => "dotnet",
        "sh" | "bash" | "dash" | "ash" | "zsh" => "shell",
        _ if versioned("ruby") || versioned("perl") || versioned("php") => "script",
        "Rscript" | "lua" | "tclsh" => "script",
        _ => return None,
    })
}

/// Options of an interpreter that take a value (the value is no script).
fn takes_value(kind: &str, option: &str) -> bool {
    match kind {
        "python" => matches!(option, "-W" | "-X" | "-Q"),
        "node" => matches!(
            option,
            "-r" | "--require" | "--import" | "--loader" | "--experimental-loader" | "--title"
        ),
        "java" => matches!(option, "-cp" | "-classpath" | "--class-path" | "-p"),
        _ => false,
    }
}

/// What the command runs, read from an image's Entrypoint + Cmd.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppCommand {
    /// The program as named (after wrappers and `sh -c`).
    pub program: Option<String>,
    /// An interpreter kind (`python`, `node`, `java`, ...) when the program is one.
    pub interpreter: Option<&'static str>,
    /// Files the command names, as named (relative to the WorkingDir or absolute): the
    /// script, jar or DLL an interpreter runs, and other arguments that are files.
    pub files: Vec<String>,
    /// Why the command could not be followed.
    pub opaque: Option<String>,
}

/// Follows Entrypoint + Cmd through wrappers (`exec`, `env`, `tini`, `dumb-init`, the node
/// image's `docker-entrypoint.sh`) and `sh -c "plain words"` to the program and the files
/// it is given.
pub fn app_command(image: &ImageView<'_>) -> AppCommand {
    let mut argv = image.facts.config_strings("Entrypoint");
    argv.extend(image.facts.config_strings("Cmd"));
    let mut out = AppCommand::default();
    let mut depth = 0;
    loop {
        depth += 1;
        if depth > 8 {
            out.opaque = Some("the command nests too deep to follow".into());
            return out;
        }
        let skip = argv.iter().take_while(|w| is_assignment(w)).count();
        argv.drain(..skip);
        let Some(first) = argv.first().cloned() else {
            out.opaque = Some("the image has no command".into());
            return out;
        };
        let b = base_name(&first).to_string();
        match b.as_str() {
            "exec" | "nohup" => {
                argv.remove(0);
                continue;
            }
            "env" | "tini" | "dumb-init" | "catatonit" => {
                argv.remove(0);
                let n = argv
                    .iter()
                    .take_while(|w| w.starts_with('-') || (b == "env" && is_assignment(w)))
                    .count();
                argv.drain(..n);
                continue;
            }
            "docker-entrypoint.sh" => {
                argv.remove(0);
                // The node image's: arguments that are not a command go to node.
                let to_node = argv
                    .first()
                    .is_some_and(|a| a.starts_with('-') || image.which(a).is_none());
                if to_node {
                    argv.insert(0, "node".into());
                }
                continue;
            }
            _ => {}
        }
        if interpreter(&b) == Some("shell") && argv.get(1).map(String::as_str) == Some("-c") {
            let script = argv.get(2).cloned().unwrap_or_default();
            let Some(words) = plain_words(&script) else {
                out.opaque = Some(format!(
                    "the command is a shell script ({script:?}): its program is not followed"
                ));
                return out;
            };
            argv = words;
            continue;
        }
        break;
    }
    let program = argv[0].clone();
    let kind = interpreter(&program);
    out.program = Some(program);
    out.interpreter = kind;
    let rest = &argv[1..];
    match kind {
        Some("java") => {
            if let Some(i) = rest.iter().position(|w| w == "-jar")
                && let Some(jar) = rest.get(i + 1)
            {
                out.files.push(jar.clone());
            }
        }
        Some("dotnet") => out
            .files
            .extend(rest.iter().find(|w| has_extension(w, "dll")).cloned()),
        Some(k) => {
            let mut i = 0;
            while i < rest.len() {
                let w = &rest[i];
                if k == "python" && (w == "-c" || w == "-m") {
                    if w == "-m"
                        && let Some(module) = rest.get(i + 1)
                    {
                        let m = module.replace('.', "/");
                        for f in [format!("{m}.py"), format!("{m}/__main__.py")] {
                            if image.file(&f).is_some() {
                                out.files.push(f);
                            }
                        }
                    }
                    break;
                }
                if matches!(w.as_str(), "-e" | "--eval" | "-p" | "--print") {
                    break;
                }
                if w.starts_with('-') {
                    i += if takes_value(k, w) { 2 } else { 1 };
                    continue;
                }
                out.files.push(w.clone());
                break;
            }
        }
        None => {
            // A program's arguments that are files of the image (a config it reads).
            out.files.extend(
                rest.iter()
                    .filter(|w| !w.starts_with('-') && image.file(w).is_some())
                    .cloned(),
            );
        }
    }
    out
}

/// Build inputs of compiled languages, relative to the WORKDIR, by the manifest that says
/// the language is built there.
const BUILD_INPUTS: [(&[&str], &[&str]); 6] = [
    (
        &[],
        &[
            "Dockerfile",
            "Dockerfile.*",
            "*.Dockerfile",
            "*.dockerfile",
            "Containerfile",
            ".dockerignore",
            "*.dockerignore",
            ".git",
            ".git/**",
            ".gitignore",
            ".gitattributes",
            ".github/**",
            "README*",
            "LICENSE*",
            "COPYING*",
            "CHANGELOG*",
            "*.md",
            ".editorconfig",
        ],
    ),
    (
        &["go.mod"],
        &[
            "**/*.go",
            "go.mod",
            "go.sum",
            "go.work",
            "go.work.sum",
            "vendor",
            "vendor/**",
        ],
    ),
    (
        &["Cargo.toml"],
        &[
            "**/*.rs",
            "Cargo.toml",
            "**/Cargo.toml",
            "Cargo.lock",
            "target",
            "target/**",
            ".cargo/**",
            "rust-toolchain*",
        ],
    ),
    (
        &[
            "Makefile",
            "makefile",
            "GNUmakefile",
            "CMakeLists.txt",
            "meson.build",
            "configure",
        ],
        &[
            "**/*.c",
            "**/*.h",
            "**/*.cc",
            "**/*.cpp",
            "**/*.cxx",
            "**/*.hpp",
            "**/*.o",
            "**/*.a",
            "**/Makefile*",
            "makefile",
            "GNUmakefile",
            "**/CMakeLists.txt",
            "**/*.cmake",
            "meson.build",
            "configure",
            "configure.ac",
            "build",
            "build/**",
        ],
    ),
    (
        &["pom.xml", "build.gradle", "build.gradle.kts"],
        &[
            "src",
            "src/**",
            "pom.xml",
            "build.gradle",
            "build.gradle.kts",
            "settings.gradle*",
            "gradle/**",
            "gradlew",
            "gradlew.bat",
            "mvnw",
            "mvnw.cmd",
            ".mvn/**",
            "target",
            "target/**",
            "build",
            "build/**",
            ".gradle/**",
        ],
    ),
    (
        &["*.csproj", "*.fsproj", "*.sln"],
        &[
            "**/*.cs",
            "**/*.fs",
            "**/*.csproj",
            "**/*.fsproj",
            "*.sln",
            "obj",
            "obj/**",
            "bin",
            "bin/**",
        ],
    ),
];

/// The build-input globs for a WORKDIR holding these top-level names, with the languages
/// found; None when no compiled language's manifest is there.
fn build_inputs(top_level: &BTreeSet<String>) -> Option<(GlobSet, Vec<&'static str>)> {
    let mut builder = GlobSetBuilder::new();
    let mut manifests = Vec::new();
    for (i, (marks, globs)) in BUILD_INPUTS.iter().enumerate() {
        let found = marks.iter().find(|m| {
            let glob = Glob::new(m).map(|g| g.compile_matcher());
            top_level
                .iter()
                .any(|name| glob.as_ref().is_ok_and(|g| g.is_match(name)))
        });
        if i > 0 && found.is_none() {
            continue;
        }
        manifests.extend(found.copied());
        for g in *globs {
            if let Ok(glob) = globset::GlobBuilder::new(g).literal_separator(true).build() {
                builder.add(glob);
            }
        }
    }
    if manifests.is_empty() {
        return None;
    }
    builder.build().ok().map(|set| (set, manifests))
}

/// The printable runs of a program's bytes (4 characters or more), where the names it
/// opens sit.
pub fn printable_runs(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut run = Vec::new();
    for &b in bytes {
        if (0x20..0x7f).contains(&b) {
            run.push(b);
        } else {
            if run.len() >= 4 {
                out.push(String::from_utf8_lossy(&run).into_owned());
            }
            run.clear();
        }
    }
    if run.len() >= 4 {
        out.push(String::from_utf8_lossy(&run).into_owned());
    }
    out
}

/// Whether a program whose printable runs are `runs` names `relative` (its path from the
/// WORKDIR, or its file name): a name shorter than 3 characters always counts as named.
pub fn names(runs: &[String], relative: &str) -> bool {
    let name = base_name(relative);
    if name.len() < 3 {
        return true;
    }
    runs.iter()
        .any(|r| r.contains(relative) || r.contains(name))
}

/// A compiled program the WORKDIR is the build folder of.
#[derive(Clone, Debug, Default)]
pub struct Compiled {
    /// Its real path in the original.
    pub program: String,
    /// The SHA-256 of its content in the original (a regular file).
    pub sha256: Option<String>,
    /// The manifests that say a compiled language is built in the WORKDIR.
    pub manifests: Vec<&'static str>,
    inputs: GlobSet,
    /// The printable runs of the program, when it is an ELF file that was read.
    pub runs: Option<Vec<String>>,
}

/// The application's files in the original, and how its command resolves in both images.
#[derive(Clone, Debug, Default)]
pub struct AppSpec {
    pub workdir: Option<String>,
    pub command: AppCommand,
    /// The program's (as found, real path) in the original and the fixed image.
    pub program_original: Option<(String, String)>,
    pub program_fixed: Option<(String, String)>,
    /// Named files: real path in the original -> the name the command gives.
    pub named: BTreeMap<String, String>,
    pub compiled: Option<Compiled>,
    /// Folders the probes compared as packages.
    pub covered: Vec<String>,
    pub notes: Vec<String>,
}

/// What a path is to the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope<'a> {
    /// Under the WORKDIR (the folder).
    Tree(&'a str),
    /// A file the command names.
    Named,
}

fn is_under(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

impl AppSpec {
    /// Reads the spec from the original image (its config and files) and the original
    /// Dockerfile's facts; `fixed` is the new image, for the program's resolution there.
    pub fn new(
        original: &ImageView<'_>,
        fixed: &ImageView<'_>,
        dockerfile: &DockerfileFacts,
    ) -> Self {
        let mut spec = Self::default();
        let wd = original.workdir();
        if dockerfile.sets_workdir && wd != "/" {
            spec.workdir = Some(wd.clone());
        } else if wd != "/" {
            spec.notes.push(format!(
                "the WORKDIR {wd} comes from the base image, not the Dockerfile: only the files the command names are the application's"
            ));
        }
        spec.command = app_command(original);
        if let Some(why) = &spec.command.opaque {
            spec.notes.push(format!("original: {why}"));
        }
        if let Some(program) = &spec.command.program {
            spec.program_original = original.which(program);
            spec.program_fixed = fixed.which(program);
            if spec.program_original.is_none() {
                spec.notes.push(format!(
                    "the command's program `{program}` is not found in the original image either"
                ));
            }
            if spec.command.interpreter.is_none()
                && let Some((_, real)) = &spec.program_original
            {
                spec.named.insert(real.clone(), program.clone());
            }
        }
        for f in &spec.command.files {
            if let Some(real) = original.file(f) {
                spec.named.insert(real, f.clone());
            }
        }
        spec
    }

    /// Decides whether the WORKDIR is the build folder of a compiled program: the command
    /// runs one (an ELF program, `java -jar`, a .NET DLL) and the WORKDIR holds a compiled
    /// language's manifest. `elf` says whether a named file is an ELF file (its first
    /// bytes); it is asked only when it matters.
    pub fn find_compiled(&mut self, original: &Listing, is_elf: &mut dyn FnMut(&str) -> bool) {
        let Some(wd) = &self.workdir else { return };
        let artefact = match self.command.interpreter {
            None => self.program_original.as_ref().map(|(_, real)| real.clone()),
            Some("java" | "dotnet") => self
                .named
                .keys()
                .find(|p| has_extension(p, "jar") || has_extension(p, "dll"))
                .cloned(),
            Some(_) => None,
        };
        let Some(artefact) = artefact else { return };
        let prefix = format!("{}/", wd.trim_end_matches('/'));
        let top: BTreeSet<String> = original
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(p, _)| p[prefix.len()..].to_string())
            .filter(|r| !r.contains('/'))
            .collect();
        let Some((inputs, manifests)) = build_inputs(&top) else {
            return;
        };
        if self.command.interpreter.is_none() && !is_elf(&artefact) {
            return;
        }
        self.compiled = Some(Compiled {
            sha256: original.get(&artefact).and_then(|e| e.sha256.clone()),
            program: artefact,
            manifests,
            inputs,
            runs: None,
        });
    }

    fn scope(&self, path: &str) -> Option<Scope<'_>> {
        if self.named.contains_key(path) {
            return Some(Scope::Named);
        }
        let wd = self.workdir.as_deref()?;
        is_under(path, wd).then_some(Scope::Tree(wd))
    }

    fn probe_covered(&self, path: &str) -> Option<&String> {
        self.covered.iter().find(|c| is_under(path, c))
    }

    /// Files missing from the WORKDIR that a compiled program might read: neither build
    /// inputs nor (yet) checked against the program's bytes. Empty when not compiled.
    pub fn needs_program_bytes(&self, fs: &[FsDifference]) -> bool {
        let (Some(c), Some(wd)) = (&self.compiled, &self.workdir) else {
            return false;
        };
        c.runs.is_none()
            && !has_extension(&c.program, "jar")
            && fs.iter().any(|d| {
                d.change == ChangeKind::Removed
                    && self.scope(&d.path) == Some(Scope::Tree(wd))
                    && self.probe_covered(&d.path).is_none()
                    && !c.inputs.is_match(relative(&d.path, wd))
            })
    }

    pub fn set_program_bytes(&mut self, bytes: &[u8]) {
        if let Some(c) = &mut self.compiled {
            c.runs = Some(printable_runs(bytes));
        }
    }
}

fn relative<'a>(path: &'a str, dir: &str) -> &'a str {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .trim_start_matches('/')
}

/// How the base image changed, for the covers: the rule that changed it, or `rewrite`.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    pub base_by: &'a str,
    /// The user went from root to non-root (allowed, so owners and modes may follow).
    pub root_to_non_root: bool,
}

/// Classifies every file-system difference under the app-equivalence rules.
pub fn classify_paths(
    spec: &AppSpec,
    effects: &Effects,
    ctx: &Context<'_>,
    fs: &[FsDifference],
) -> Vec<DiffItem> {
    let mut items: Vec<DiffItem> = fs
        .iter()
        .map(|d| {
            let item = DiffItem::path(&d.path, d.change.name(), &d.what);
            match path_cover(spec, effects, ctx, d) {
                Some(c) => item.covered(c.by, c.reason),
                None => item,
            }
        })
        .collect();
    // A folder missing from a compiled program's build folder goes with what was in it.
    if let (Some(wd), Some(_)) = (&spec.workdir, &spec.compiled) {
        let unexpected: Vec<String> = items
            .iter()
            .filter(|i| i.covered_by.is_none())
            .filter_map(|i| i.path.clone())
            .collect();
        for (item, d) in items.iter_mut().zip(fs) {
            if item.covered_by.is_some()
                || d.change != ChangeKind::Removed
                || !d.is_dir_only()
                || d.path == *wd
                || !is_under(&d.path, wd)
            {
                continue;
            }
            let below = |p: &String| p != &d.path && is_under(p, &d.path);
            let had_files = fs.iter().any(|x| below(&x.path));
            if had_files && !unexpected.iter().any(below) {
                *item = item.clone().covered(
                    APP_COVER,
                    "a folder of the build folder whose files are all accounted for",
                );
            }
        }
    }
    items
}

fn path_cover(
    spec: &AppSpec,
    effects: &Effects,
    ctx: &Context<'_>,
    d: &FsDifference,
) -> Option<Cover> {
    if let Some(dir) = spec.probe_covered(&d.path) {
        return Some(Cover {
            by: PROBE_COVER.into(),
            reason: format!("{dir}: compared as packages by the dependency probes"),
        });
    }
    let Some(scope) = spec.scope(&d.path) else {
        return Some(Cover {
            by: ctx.base_by.to_string(),
            reason: "base image changed; not one of the application's files".into(),
        });
    };
    let tree = match scope {
        Scope::Tree(wd) => Some(wd),
        Scope::Named => None,
    };
    if let Some(c) = effects.cover_app_path(d, tree) {
        return Some(c);
    }
    if d.is_owner_or_mode_only() && ctx.root_to_non_root {
        return Some(Cover {
            by: APP_COVER.into(),
            reason: "owner or mode of an application file: the user went from root to non-root"
                .into(),
        });
    }
    let wd = tree?;
    match d.change {
        ChangeKind::Added => Some(Cover {
            by: APP_COVER.into(),
            reason: "added under the WORKDIR (a build artefact)".into(),
        }),
        ChangeKind::Removed => {
            let c = spec.compiled.as_ref()?;
            if d.path == wd {
                return None;
            }
            let rel = relative(&d.path, wd);
            if c.inputs.is_match(rel) {
                return Some(Cover {
                    by: APP_COVER.into(),
                    reason: format!(
                        "a build input ({}) of the compiled program {}",
                        c.manifests.join(", "),
                        c.program
                    ),
                });
            }
            if d.is_dir_only() {
                // Decided with its contents (classify_paths).
                return None;
            }
            // `make install` leaves the program it copied in the build folder too; the
            // program itself is a named file, checked on its own.
            let content = d.before.as_ref().and_then(|e| e.sha256.as_ref());
            if content.is_some() && content == c.sha256.as_ref() {
                return Some(Cover {
                    by: APP_COVER.into(),
                    reason: format!(
                        "a copy of the compiled program {} left in its build folder",
                        c.program
                    ),
                });
            }
            let runs = c.runs.as_ref()?;
            (!names(runs, rel)).then(|| Cover {
                by: APP_COVER.into(),
                reason: format!(
                    "in the build folder of the compiled program {}, which does not name it",
                    c.program
                ),
            })
        }
        ChangeKind::Changed => None,
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "(unset)".to_string(),
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or_default();
    name.is_empty() || name == "root" || name == "0"
}

/// The fields compared whole (Env, Labels and User have rules of their own).
const WHOLE_FIELDS: [(&str, ConfigKey); 8] = [
    ("Cmd", ConfigKey::Cmd),
    ("Entrypoint", ConfigKey::Entrypoint),
    ("WorkingDir", ConfigKey::WorkingDir),
    ("ExposedPorts", ConfigKey::ExposedPorts),
    ("Volumes", ConfigKey::Volumes),
    ("Healthcheck", ConfigKey::Healthcheck),
    ("StopSignal", ConfigKey::StopSignal),
    ("Shell", ConfigKey::Shell),
];

/// Whether the program still resolves to the same program (for PATH changes), with a
/// sentence saying where it resolves.
fn program_same(spec: &AppSpec, original: &Listing, fixed: &Listing) -> (bool, String) {
    let Some(program) = &spec.command.program else {
        return (
            false,
            "the command's program could not be followed".to_string(),
        );
    };
    match (&spec.program_original, &spec.program_fixed) {
        (Some((_, a)), Some((_, b))) if a == b => (true, format!("`{program}` still runs {a}")),
        (Some((_, a)), Some((_, b))) => {
            let same = original
                .get(a)
                .zip(fixed.get(b))
                .is_some_and(|(x, y)| x.sha256.is_some() && x.sha256 == y.sha256);
            (
                same,
                format!(
                    "`{program}` runs {a} in the original and {b}{} in the new image",
                    if same { " (the same content)" } else { "" }
                ),
            )
        }
        (Some((_, a)), None) => (
            false,
            format!("`{program}` runs {a} in the original and is not found in the new image"),
        ),
        _ => (false, format!("`{program}` is not found in the original")),
    }
}

/// The program check: the command's program must resolve in the new image, to the same
/// program (same real path or same content).
pub fn program_items(spec: &AppSpec, original: &Listing, fixed: &Listing) -> Vec<DiffItem> {
    let Some(program) = &spec.command.program else {
        return Vec::new();
    };
    let Some((_, a)) = &spec.program_original else {
        return Vec::new();
    };
    let (same, sentence) = program_same(spec, original, fixed);
    if same {
        return Vec::new();
    }
    let mut item = DiffItem::path(
        a,
        if spec.program_fixed.is_some() {
            "changed"
        } else {
            "removed"
        },
        &format!("the command's program: {sentence}"),
    );
    item.original = Some(value(Some(a)));
    item.fixed = Some(value(spec.program_fixed.as_ref().map(|(_, b)| b.as_str())));
    // An interpreter the base image brings (python, node) may be another file of the same
    // name (`python3.11` in both): the probes compare its version.
    if spec.command.interpreter.is_some()
        && let Some((_, b)) = &spec.program_fixed
        && base_name(a) == base_name(b)
    {
        return vec![item.covered(
            APP_COVER,
            format!("the interpreter `{program}` resolves to a file of the same name"),
        )];
    }
    vec![item]
}

/// Classifies the config differences under the app-equivalence rules. `notes` gets a line
/// for every allowed difference worth knowing (base-image variables, the user, PATH).
pub fn classify_config(
    spec: &AppSpec,
    effects: &Effects,
    ctx: &Context<'_>,
    dockerfile: &DockerfileFacts,
    original: &ImageView<'_>,
    fixed: &ImageView<'_>,
    notes: &mut Vec<String>,
) -> Vec<DiffItem> {
    let mut out = Vec::new();
    let get = |facts: &ImageFacts, f: &str| facts.config.get(f).cloned().unwrap_or(Value::Null);
    let declared = |key: ConfigKey| effects.declared_config(key);

    // User.
    let (ua, ub) = (get(original.facts, "User"), get(fixed.facts, "User"));
    if ua != ub {
        let a = ua.as_str().unwrap_or_default();
        let b = ub.as_str().unwrap_or_default();
        let show_user = |u: &str| {
            if u.is_empty() {
                "root (unset)".to_string()
            } else {
                u.to_string()
            }
        };
        let mut item = DiffItem::config(
            "User",
            "changed",
            &format!("{} -> {}", show_user(a), show_user(b)),
        );
        item.original = Some(value((!a.is_empty()).then_some(a)));
        item.fixed = Some(value((!b.is_empty()).then_some(b)));
        if let Some(c) = declared(ConfigKey::User) {
            item = item.covered(c.by, c.reason);
        } else if is_root(a) && !is_root(b) {
            notes.push(format!(
                "the user changes from {} to {} (root to non-root: allowed)",
                show_user(a),
                show_user(b)
            ));
            item = item.covered(APP_COVER, "root to non-root user");
        } else {
            item.what = format!(
                "{}: only a change from root to a non-root user is allowed",
                item.what
            );
        }
        out.push(item);
    }

    // Fields compared whole.
    for (field, key) in WHOLE_FIELDS {
        let (a, b) = (get(original.facts, field), get(fixed.facts, field));
        if a == b {
            continue;
        }
        let mut item = DiffItem::config(field, "changed", &format!("{} -> {}", show(&a), show(&b)));
        item.original = Some(a.clone());
        item.fixed = Some(b.clone());
        if field == "ExposedPorts" || field == "Volumes" {
            let keys = |v: &Value| -> Vec<String> {
                v.as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default()
            };
            let (ka, kb) = (keys(&a), keys(&b));
            let gone: Vec<&String> = ka.iter().filter(|k| !kb.contains(k)).collect();
            let new: Vec<&String> = kb.iter().filter(|k| !ka.contains(k)).collect();
            let mut parts = Vec::new();
            if !gone.is_empty() {
                parts.push(format!(
                    "{} missing",
                    gone.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !new.is_empty() {
                parts.push(format!(
                    "{} added",
                    new.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            item.what = format!("{} ({})", item.what, parts.join("; "));
        }
        let argv = |v: &Value| normalized_argv(&string_array(v));
        if let Some(c) = declared(key) {
            item = item.covered(c.by, c.reason);
        } else if field == "Shell" {
            item = item.covered(ctx.base_by, "SHELL only matters while building");
        } else if matches!(field, "Cmd" | "Entrypoint") && argv(&a) == argv(&b) {
            item = item.covered(APP_COVER, "the same words, without /bin/sh -c");
        }
        out.push(item);
    }
    let (oa, ob) = (get(original.facts, "OnBuild"), get(fixed.facts, "OnBuild"));
    if oa != ob {
        let mut item = DiffItem::config(
            "OnBuild",
            "changed",
            &format!("{} -> {}", show(&oa), show(&ob)),
        );
        item.original = Some(oa);
        item.fixed = Some(ob);
        out.push(item);
    }

    // Labels, per key.
    let labels = |facts: &ImageFacts| facts.config_map("Labels");
    let (la, lb) = (labels(original.facts), labels(fixed.facts));
    for (key, a, b) in map_diff(&la, &lb) {
        let mut item = keyed("Labels", &key, a, b);
        if let Some(c) = declared(ConfigKey::Labels) {
            item = item.covered(c.by, c.reason);
        } else if a.is_none() {
            notes.push(format!("label {key} added"));
            item = item.covered(APP_COVER, "a label the new image adds");
        } else if !dockerfile.label_keys.contains(&key) {
            notes.push(format!(
                "label {key} was set by the original's base image only: {}",
                change_words(a, b)
            ));
            item = item.covered(APP_COVER, "a label only the original's base image set");
        }
        out.push(item);
    }

    // Env, per variable.
    let (ea, eb) = (original.env(), fixed.env());
    let (program_ok, sentence) = program_same(spec, original.listing, fixed.listing);
    for (key, a, b) in map_diff(&ea, &eb) {
        let mut item = keyed("Env", &key, a, b);
        let by_dockerfile = dockerfile.env_keys.contains(&key);
        if key == "PATH"
            && let (Some(a), Some(b)) = (a, b)
            && let Some(added) = prepended(a, b)
            && program_ok
        {
            notes.push(format!("PATH gains {added} in front; {sentence}"));
            item = item.covered(
                APP_COVER,
                format!("PATH gains {added} in front; {sentence}"),
            );
        } else if let Some(c) = effects
            .declared_env(&key)
            .or_else(|| declared(ConfigKey::Env))
        {
            item = item.covered(c.by, c.reason);
        } else if a.is_none() {
            notes.push(format!("Env {key} added ({})", b.unwrap_or_default()));
            item = item.covered(APP_COVER, "a variable the new image adds");
        } else if !by_dockerfile {
            let extra = if key == "PATH" {
                format!("; {sentence}")
            } else {
                String::new()
            };
            if key != "PATH" || program_ok {
                notes.push(format!(
                    "Env {key} was set by the original's base image only: {}{extra}",
                    change_words(a, b)
                ));
                item = item.covered(
                    APP_COVER,
                    format!("a variable only the original's base image set{extra}"),
                );
            } else {
                item.what = format!("{}{extra}", item.what);
            }
        }
        out.push(item);
    }
    out
}

fn change_words(a: Option<&str>, b: Option<&str>) -> String {
    match (a, b) {
        (Some(a), None) => format!("{a:?} is not in the new image"),
        (Some(a), Some(b)) => format!("{a:?} -> {b:?}"),
        (None, Some(b)) => format!("added {b:?}"),
        (None, None) => String::new(),
    }
}

/// A per-key config difference (Env variable, label).
fn keyed(field: &str, key: &str, a: Option<&str>, b: Option<&str>) -> DiffItem {
    let shown = |v: Option<&str>| v.map_or_else(|| "(unset)".to_string(), |v| format!("{v:?}"));
    let change = match (a, b) {
        (Some(_), None) => "removed",
        (None, Some(_)) => "added",
        _ => "changed",
    };
    let what = format!("{} -> {}", shown(a), shown(b));
    let mut item = DiffItem::config(field, change, &what);
    item.key = Some(key.to_string());
    item.original = Some(value(a));
    item.fixed = Some(value(b));
    item
}

/// The keys whose values differ: (key, original, fixed).
fn map_diff<'a>(
    a: &'a BTreeMap<String, String>,
    b: &'a BTreeMap<String, String>,
) -> Vec<(String, Option<&'a str>, Option<&'a str>)> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k).map(String::as_str), b.get(k).map(String::as_str));
            (x != y).then(|| (k.clone(), x, y))
        })
        .collect()
}

/// The entries `after` puts in front of `before` when it keeps all of `before`'s in order
/// at its end (`/opt/venv/bin`), None otherwise.
pub fn prepended(before: &str, after: &str) -> Option<String> {
    let a: Vec<&str> = before.split(':').collect();
    let b: Vec<&str> = after.split(':').collect();
    if b.len() <= a.len() || b[b.len() - a.len()..] != a[..] {
        return None;
    }
    Some(b[..b.len() - a.len()].join(":"))
}

#[cfg(test)]
mod tests {
    use dockopt_fix::{Applicability, AppliedFix, DeclaredEffect};

    use super::super::fsdiff::{Entry, compare};
    use super::super::inspect::image_facts;
    use super::*;

    fn file(mode: u32, content: &str) -> Entry {
        Entry {
            kind: EntryKind::File,
            mode,
            uid: 0,
            gid: 0,
            size: content.len() as u64,
            sha256: Some(format!("sha-{content}")),
            link: None,
        }
    }

    fn dir() -> Entry {
        Entry {
            kind: EntryKind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            size: 0,
            sha256: None,
            link: None,
        }
    }

    fn link(target: &str) -> Entry {
        Entry {
            kind: EntryKind::Symlink,
            link: Some(target.into()),
            ..dir()
        }
    }

    /// A listing: `path` -> entry, with every parent folder.
    fn listing(entries: &[(&str, Entry)]) -> Listing {
        let mut l = Listing::new();
        l.insert("/".into(), dir());
        for (path, e) in entries {
            let mut p = String::new();
            for part in path.trim_start_matches('/').split('/') {
                let parent = p.clone();
                p = format!("{p}/{part}");
                if p != *path {
                    l.entry(p.clone()).or_insert_with(dir);
                }
                let _ = parent;
            }
            l.insert((*path).to_string(), e.clone());
        }
        l
    }

    fn facts(config: &str) -> ImageFacts {
        image_facts(&format!(
            r#"[{{"Id":"x","Size":1,"RootFS":{{"Layers":[]}},"Config":{config}}}]"#
        ))
        .unwrap()
    }

    fn debian(extra: &[(&str, Entry)]) -> Listing {
        let mut entries = vec![
            ("/bin", link("usr/bin")),
            ("/usr/bin/python3.11", file(0o755, "python")),
            ("/usr/bin/python3", link("python3.11")),
            ("/usr/bin/python", link("python3")),
            ("/usr/bin/sh", file(0o755, "dash")),
        ];
        entries.extend(extra.iter().cloned());
        listing(&entries)
    }

    fn fix(rule: &'static str, effect: DeclaredEffect) -> AppliedFix {
        AppliedFix {
            rule,
            title: rule.into(),
            applicability: Applicability::Unsafe,
            effect,
            round: 1,
        }
    }

    fn multi_stage() -> AppliedFix {
        fix(
            "multi-stage",
            DeclaredEffect {
                config: vec![ConfigKey::Env],
                paths: vec!["/**".into()],
                base_image: true,
                ..DeclaredEffect::default()
            },
        )
    }

    const PY_CONFIG: &str = r#"{"Cmd":["/bin/sh","-c","python app.py"],"WorkingDir":"/app","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","LANG=C.UTF-8","APP_MODE=prod"],"ExposedPorts":{"8000/tcp":{}}}"#;
    const PY_DOCKERFILE: &str = "FROM python:3.12\nWORKDIR /app\nENV APP_MODE=prod\nCOPY . .\nEXPOSE 8000\nCMD python app.py\n";

    #[test]
    fn dockerfile_facts_follow_the_last_stage_and_the_stages_it_is_from() {
        let f = dockerfile_facts(
            "FROM a AS base\nENV A=1 \"B\"=2\nLABEL x=1\nWORKDIR /w\nFROM b AS other\nENV C=3\nFROM base\nENV D 4\n",
        );
        assert_eq!(
            f.env_keys.iter().map(String::as_str).collect::<Vec<_>>(),
            ["A", "B", "D"]
        );
        assert!(f.label_keys.contains("x"));
        assert!(f.sets_workdir);
        let f = dockerfile_facts("FROM golang:1.22\nRUN go build\n");
        assert!(!f.sets_workdir && f.env_keys.is_empty());
    }

    #[test]
    fn real_paths_follow_symlinks_on_the_way() {
        let l = debian(&[
            ("/opt/venv/bin/python", link("/usr/bin/python")),
            ("/loop/a", link("b")),
            ("/loop/b", link("a")),
        ]);
        assert_eq!(
            real_path(&l, "/bin/python").as_deref(),
            Some("/usr/bin/python3.11")
        );
        assert_eq!(
            real_path(&l, "/opt/venv/bin/python").as_deref(),
            Some("/usr/bin/python3.11")
        );
        assert_eq!(real_path(&l, "/bin/nothing"), None);
        assert_eq!(real_path(&l, "/loop/a"), None);
        assert_eq!(absolute("/app", "../etc/x"), "/etc/x");
        assert_eq!(absolute("/app", "./dist/server.js"), "/app/dist/server.js");
    }

    #[test]
    fn the_command_is_followed_through_shells_wrappers_and_interpreters() {
        let l = debian(&[
            ("/app/app.py", file(0o644, "app")),
            ("/app/pkg/__main__.py", file(0o644, "main")),
            ("/app/app.jar", file(0o644, "jar")),
            ("/usr/local/bin/docker-entrypoint.sh", file(0o755, "ep")),
            ("/usr/bin/node", file(0o755, "node")),
            ("/usr/local/bin/api", file(0o755, "elf")),
            ("/etc/api.toml", file(0o644, "cfg")),
        ]);
        let run = |config: &str| {
            let f = facts(config);
            app_command(&ImageView {
                listing: &l,
                facts: &f,
            })
        };
        let c = run(r#"{"Cmd":["/bin/sh","-c","python app.py --port 8000"],"WorkingDir":"/app"}"#);
        assert_eq!(c.program.as_deref(), Some("python"));
        assert_eq!(c.interpreter, Some("python"));
        assert_eq!(c.files, ["app.py"]);
        let c = run(r#"{"Cmd":["python","-u","-m","pkg"],"WorkingDir":"/app"}"#);
        assert_eq!(c.files, ["pkg/__main__.py"]);
        let c = run(
            r#"{"Entrypoint":["docker-entrypoint.sh"],"Cmd":["/bin/sh","-c","node --require x dist/server.js"]}"#,
        );
        assert_eq!(c.program.as_deref(), Some("node"));
        assert_eq!(c.files, ["dist/server.js"]);
        let c = run(r#"{"Entrypoint":["docker-entrypoint.sh"],"Cmd":["server.js"]}"#);
        assert_eq!(
            (c.program.as_deref(), c.files.as_slice()),
            (Some("node"), ["server.js".to_string()].as_slice())
        );
        let c =
            run(r#"{"Cmd":["env","A=1","java","-Xmx1g","-jar","app.jar"],"WorkingDir":"/app"}"#);
        assert_eq!(
            (c.interpreter, c.files.as_slice()),
            (Some("java"), ["app.jar".to_string()].as_slice())
        );
        let c = run(r#"{"Entrypoint":["tini","--"],"Cmd":["api","/etc/api.toml","8080"]}"#);
        assert_eq!((c.program.as_deref(), c.interpreter), (Some("api"), None));
        assert_eq!(c.files, ["/etc/api.toml"]);
        let c = run(r#"{"Cmd":["/bin/sh","-c","python app.py && echo $HOME"]}"#);
        assert!(c.program.is_none());
        assert!(c.opaque.unwrap().contains("shell script"));
    }

    #[test]
    fn shell_form_of_plain_words_equals_exec_form() {
        let v =
            |a: &[&str]| normalized_argv(&a.iter().map(|s| (*s).to_string()).collect::<Vec<_>>());
        assert_eq!(v(&["/bin/sh", "-c", "python app.py"]), ["python", "app.py"]);
        assert_eq!(v(&["/bin/sh", "-c", "python app.py; true"]).len(), 3);
        assert_eq!(
            v(&["/bin/sh", "-c", "A=1 python"]).len(),
            3,
            "an assignment first"
        );
        assert_eq!(v(&["/bin/sh", "-c", "run --port=80"]), ["run", "--port=80"]);
        assert_eq!(v(&["/bin/sh", "-c", "echo \"$X\""]).len(), 3);
    }

    #[test]
    fn path_may_only_gain_entries_in_front() {
        assert_eq!(
            prepended("/usr/bin:/bin", "/opt/venv/bin:/usr/bin:/bin").as_deref(),
            Some("/opt/venv/bin")
        );
        assert_eq!(prepended("/usr/bin:/bin", "/usr/bin:/bin:/opt"), None);
        assert_eq!(prepended("/usr/bin:/bin", "/bin:/usr/bin"), None);
        assert_eq!(prepended("/usr/bin:/bin", "/usr/bin:/bin"), None);
    }

    struct Case {
        original: Listing,
        fixed: Listing,
        a: ImageFacts,
        b: ImageFacts,
        dockerfile: DockerfileFacts,
        effects: Effects,
    }

    impl Case {
        fn new(
            original: Listing,
            fixed: Listing,
            a: &str,
            b: &str,
            dockerfile: &str,
            applied: &[AppliedFix],
        ) -> Self {
            Case {
                original,
                fixed,
                a: facts(a),
                b: facts(b),
                dockerfile: dockerfile_facts(dockerfile),
                effects: Effects::new(applied, "FROM x\n").unwrap(),
            }
        }

        fn views(&self) -> (ImageView<'_>, ImageView<'_>) {
            (
                ImageView {
                    listing: &self.original,
                    facts: &self.a,
                },
                ImageView {
                    listing: &self.fixed,
                    facts: &self.b,
                },
            )
        }

        fn spec(&self) -> AppSpec {
            let (a, b) = self.views();
            AppSpec::new(&a, &b, &self.dockerfile)
        }

        fn config(&self) -> (Vec<DiffItem>, Vec<String>) {
            let (a, b) = self.views();
            let spec = self.spec();
            let mut notes = Vec::new();
            let ctx = Context {
                base_by: "rewrite",
                root_to_non_root: false,
            };
            let items = classify_config(
                &spec,
                &self.effects,
                &ctx,
                &self.dockerfile,
                &a,
                &b,
                &mut notes,
            );
            (items, notes)
        }

        fn paths(&self, spec: &AppSpec, root_to_non_root: bool) -> Vec<DiffItem> {
            let ctx = Context {
                base_by: "rewrite",
                root_to_non_root,
            };
            classify_paths(
                spec,
                &self.effects,
                &ctx,
                &compare(&self.original, &self.fixed),
            )
        }
    }

    fn unexpected(items: &[DiffItem]) -> Vec<String> {
        items
            .iter()
            .filter(|i| i.covered_by.is_none())
            .map(|i| format!("{}: {}", i.subject(), i.what))
            .collect()
    }

    fn py_app() -> Listing {
        debian(&[
            ("/app/app.py", file(0o644, "app")),
            ("/app/templates/index.html", file(0o644, "html")),
        ])
    }

    #[test]
    fn config_must_be_equal_and_culprits_carry_both_values() {
        let b = r#"{"Cmd":["python","app.py","--debug"],"WorkingDir":"/app","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","APP_MODE=dev"]}"#;
        let case = Case::new(py_app(), py_app(), PY_CONFIG, b, PY_DOCKERFILE, &[]);
        let (items, notes) = case.config();
        let bad = unexpected(&items);
        assert_eq!(
            bad,
            [
                r#"config Cmd: ["/bin/sh","-c","python app.py"] -> ["python","app.py","--debug"]"#,
                r#"config ExposedPorts: {"8000/tcp":{}} -> (unset) (8000/tcp missing)"#,
                r#"config Env APP_MODE: "prod" -> "dev""#,
            ],
            "{items:#?}"
        );
        let env = items
            .iter()
            .find(|i| i.key.as_deref() == Some("APP_MODE"))
            .unwrap();
        assert_eq!(env.kind, "config");
        assert_eq!(env.original, Some(Value::from("prod")));
        assert_eq!(env.fixed, Some(Value::from("dev")));
        // LANG came from the base image only: allowed, and listed.
        let lang = items
            .iter()
            .find(|i| i.key.as_deref() == Some("LANG"))
            .unwrap();
        assert_eq!(lang.covered_by.as_deref(), Some(APP_COVER));
        assert!(
            notes
                .iter()
                .any(|n| n.contains("LANG") && n.contains("base image only")),
            "{notes:?}"
        );
    }

    #[test]
    fn exec_form_of_the_same_words_and_added_variables_are_allowed() {
        let b = r#"{"Cmd":["python","app.py"],"WorkingDir":"/app","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","LANG=C.UTF-8","APP_MODE=prod","SSL_CERT_FILE=/etc/ssl/x"],"ExposedPorts":{"8000/tcp":{}}}"#;
        let case = Case::new(py_app(), py_app(), PY_CONFIG, b, PY_DOCKERFILE, &[]);
        let (items, notes) = case.config();
        assert_eq!(unexpected(&items), Vec::<String>::new(), "{items:#?}");
        assert!(
            notes.iter().any(|n| n.contains("SSL_CERT_FILE added")),
            "{notes:?}"
        );
        let cmd = items
            .iter()
            .find(|i| i.config.as_deref() == Some("Cmd"))
            .unwrap();
        assert_eq!(
            cmd.reason.as_deref(),
            Some("the same words, without /bin/sh -c")
        );
    }

    #[test]
    fn path_may_gain_a_venv_in_front_when_python_is_still_the_same_program() {
        let venv = |python: Entry| {
            debian(&[
                ("/app/app.py", file(0o644, "app")),
                ("/opt/venv/bin/python", python),
            ])
        };
        let b = r#"{"Cmd":["python","app.py"],"WorkingDir":"/app","Env":["PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","LANG=C.UTF-8","APP_MODE=prod"],"ExposedPorts":{"8000/tcp":{}}}"#;
        let case = Case::new(
            py_app(),
            venv(link("/usr/bin/python")),
            PY_CONFIG,
            b,
            PY_DOCKERFILE,
            &[],
        );
        let (items, notes) = case.config();
        assert_eq!(unexpected(&items), Vec::<String>::new(), "{items:#?}");
        assert!(
            notes
                .iter()
                .any(|n| n.contains("PATH gains /opt/venv/bin in front")
                    && n.contains("`python` still runs /usr/bin/python3.11")),
            "{notes:?}"
        );
        // Another python first in PATH: the PATH change is no longer allowed.
        let case = Case::new(
            py_app(),
            venv(file(0o755, "other python")),
            PY_CONFIG,
            b,
            PY_DOCKERFILE,
            &[],
        );
        let (items, _) = case.config();
        let bad = unexpected(&items);
        assert!(
            bad.iter().any(|b| b.starts_with("config Env PATH")),
            "{bad:?}"
        );
        let spec = case.spec();
        let program = program_items(&spec, &case.original, &case.fixed);
        assert_eq!(program.len(), 1);
        assert!(
            program[0].what.contains("/opt/venv/bin/python"),
            "{program:?}"
        );
    }

    #[test]
    fn the_user_may_go_from_root_to_non_root_only() {
        let with_user =
            |u: &str| format!(r#"{{"User":"{u}","Cmd":["python","app.py"],"WorkingDir":"/app"}}"#);
        let run = |a: &str, b: &str, applied: &[AppliedFix]| {
            let case = Case::new(
                py_app(),
                py_app(),
                &with_user(a),
                &with_user(b),
                PY_DOCKERFILE,
                applied,
            );
            let (items, _) = case.config();
            items.into_iter().find(|i| i.kind == "user").unwrap()
        };
        let ok = run("", "10001", &[]);
        assert_eq!(ok.covered_by.as_deref(), Some(APP_COVER));
        assert_eq!(ok.original, Some(Value::Null));
        assert_eq!(ok.fixed, Some(Value::from("10001")));
        assert!(run("root", "app", &[]).covered_by.is_some());
        let bad = run("app", "root", &[]);
        assert!(bad.covered_by.is_none());
        assert!(
            bad.what
                .contains("only a change from root to a non-root user"),
            "{}",
            bad.what
        );
        assert!(run("app", "other", &[]).covered_by.is_none());
        assert!(run("1000", "0:0", &[]).covered_by.is_none());
        // A fix that declares the user covers any change.
        let declared = fix(
            "non-root-user",
            DeclaredEffect {
                config: vec![ConfigKey::User],
                ..DeclaredEffect::default()
            },
        );
        assert_eq!(
            run("app", "other", &[declared, multi_stage()])
                .covered_by
                .as_deref(),
            Some("non-root-user")
        );
    }

    #[test]
    fn a_base_image_change_no_longer_covers_config() {
        let b = r#"{"Cmd":["python","app.py"],"WorkingDir":"/srv","Env":["APP_MODE=prod"]}"#;
        let case = Case::new(
            py_app(),
            py_app(),
            PY_CONFIG,
            b,
            PY_DOCKERFILE,
            &[multi_stage()],
        );
        let (items, _) = case.config();
        let bad = unexpected(&items);
        assert!(
            bad.iter().any(|b| b.starts_with("config WorkingDir")),
            "{bad:?}"
        );
        assert!(
            bad.iter().any(|b| b.starts_with("config ExposedPorts")),
            "{bad:?}"
        );
    }

    #[test]
    fn application_files_must_stay_and_artefacts_may_be_added() {
        let fixed = debian(&[
            ("/app/app.py", file(0o644, "app v2")),
            ("/app/static/bundle.js", file(0o644, "js")),
            ("/usr/lib/libnew.so", file(0o644, "lib")),
        ]);
        let case = Case::new(
            py_app(),
            fixed,
            PY_CONFIG,
            PY_CONFIG,
            PY_DOCKERFILE,
            &[multi_stage()],
        );
        let spec = case.spec();
        assert_eq!(spec.workdir.as_deref(), Some("/app"));
        assert!(spec.named.contains_key("/app/app.py"));
        let items = case.paths(&spec, false);
        assert_eq!(
            unexpected(&items),
            [
                "/app/app.py: content (3 -> 6 bytes)",
                "/app/templates: removed dir (mode 0755)",
                "/app/templates/index.html: removed file (4 bytes, mode 0644)",
            ]
        );
        let added = items
            .iter()
            .find(|i| i.path.as_deref() == Some("/app/static/bundle.js"))
            .unwrap();
        assert_eq!(
            added.reason.as_deref(),
            Some("added under the WORKDIR (a build artefact)")
        );
        let system = items
            .iter()
            .find(|i| i.path.as_deref() == Some("/usr/lib/libnew.so"))
            .unwrap();
        assert_eq!(system.covered_by.as_deref(), Some("rewrite"));
    }

    #[test]
    fn declarations_reach_into_the_application_only_where_they_name_it() {
        let original = debian(&[
            ("/app/app.py", file(0o644, "app")),
            ("/app/.git/HEAD", file(0o644, "ref")),
            ("/app/data.txt", file(0o644, "data")),
        ]);
        let mut owned = file(0o644, "app");
        owned.uid = 10001;
        let fixed = debian(&[("/app/app.py", owned)]);
        let applied = [
            multi_stage(),
            fix(
                "split-copy",
                DeclaredEffect {
                    paths: vec!["/app/**".into()],
                    ..DeclaredEffect::default()
                },
            ),
            fix(
                "dockerignore",
                DeclaredEffect {
                    paths: vec!["**/.git".into(), "**/.git/**".into()],
                    ..DeclaredEffect::default()
                },
            ),
            fix(
                "apt-no-install-recommends",
                DeclaredEffect {
                    paths: vec!["/usr/**".into(), "/app2/**".into()],
                    ..DeclaredEffect::default()
                },
            ),
        ];
        let case = Case::new(
            original,
            fixed,
            PY_CONFIG,
            PY_CONFIG,
            PY_DOCKERFILE,
            &applied,
        );
        let spec = case.spec();
        let items = case.paths(&spec, false);
        // The whole-folder glob lets files change but not vanish; the named one vanishes.
        assert_eq!(
            unexpected(&items),
            ["/app/data.txt: removed file (4 bytes, mode 0644)"]
        );
        let by = |p: &str| {
            items
                .iter()
                .find(|i| i.path.as_deref() == Some(p))
                .and_then(|i| i.covered_by.clone())
        };
        assert_eq!(by("/app/.git/HEAD").as_deref(), Some("dockerignore"));
        assert_eq!(by("/app/app.py").as_deref(), Some("split-copy"));
    }

    #[test]
    fn owners_may_change_with_a_declaring_fix_or_root_to_non_root() {
        let mut owned = file(0o644, "app");
        owned.uid = 10001;
        let fixed = debian(&[
            ("/app/app.py", owned.clone()),
            ("/app/templates/index.html", file(0o644, "html")),
        ]);
        let case = Case::new(
            py_app(),
            fixed,
            PY_CONFIG,
            PY_CONFIG,
            PY_DOCKERFILE,
            &[multi_stage()],
        );
        let spec = case.spec();
        assert_eq!(
            unexpected(&case.paths(&spec, false)),
            ["/app/app.py: owner 0:0 -> 10001:0"]
        );
        assert_eq!(unexpected(&case.paths(&spec, true)), Vec::<String>::new());
        // A fix that changes the user covers only owners and modes with its paths.
        let user_fix = fix(
            "non-root-user",
            DeclaredEffect {
                config: vec![ConfigKey::User],
                paths: vec!["/app/**".into()],
                ..DeclaredEffect::default()
            },
        );
        let mut gone = Listing::clone(&case.fixed);
        gone.remove("/app/templates/index.html");
        let case = Case::new(
            py_app(),
            gone,
            PY_CONFIG,
            PY_CONFIG,
            PY_DOCKERFILE,
            &[multi_stage(), user_fix],
        );
        let items = case.paths(&spec, false);
        assert_eq!(
            unexpected(&items),
            ["/app/templates/index.html: removed file (4 bytes, mode 0644)"]
        );
        assert_eq!(
            items
                .iter()
                .find(|i| i.path.as_deref() == Some("/app/app.py"))
                .and_then(|i| i.covered_by.as_deref()),
            Some("non-root-user")
        );
    }

    #[test]
    fn a_compiled_programs_build_folder_keeps_only_what_the_program_names() {
        let go = r#"{"Cmd":["go-api"],"WorkingDir":"/src"}"#;
        let dockerfile = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /usr/local/bin/go-api .\nCMD go-api\n";
        let original = debian(&[
            ("/usr/local/bin/go-api", file(0o755, "elf")),
            ("/src/go.mod", file(0o644, "mod")),
            ("/src/main.go", file(0o644, "main")),
            ("/src/internal/x.go", file(0o644, "x")),
            ("/src/Dockerfile", file(0o644, "df")),
            ("/src/example.toml", file(0o644, "ex")),
            ("/src/templates/index.html", file(0o644, "html")),
        ]);
        let fixed = listing(&[
            ("/usr/local/bin/go-api", file(0o755, "elf")),
            ("/src", dir()),
        ]);
        let case = Case::new(original, fixed, go, go, dockerfile, &[multi_stage()]);
        let mut spec = case.spec();
        assert_eq!(
            spec.named.keys().collect::<Vec<_>>(),
            ["/usr/local/bin/go-api"]
        );
        let mut asked = Vec::new();
        spec.find_compiled(&case.original, &mut |p| {
            asked.push(p.to_string());
            true
        });
        assert_eq!(asked, ["/usr/local/bin/go-api"]);
        assert_eq!(spec.compiled.as_ref().unwrap().manifests, ["go.mod"]);
        let fs = compare(&case.original, &case.fixed);
        assert!(spec.needs_program_bytes(&fs));
        // Without the program's bytes, files that are no build input stay unexpected.
        let bad = unexpected(&case.paths(&spec, true));
        assert_eq!(
            bad,
            [
                "/src/example.toml: removed file (2 bytes, mode 0644)",
                "/src/templates: removed dir (mode 0755)",
                "/src/templates/index.html: removed file (4 bytes, mode 0644)",
            ]
        );
        // The program names templates/index.html, not example.toml.
        spec.set_program_bytes(
            b"\x7fELF\x02\x01runtime.main\x00templates/index.html\x00/src/main.go\x00",
        );
        let items = case.paths(&spec, true);
        assert_eq!(
            unexpected(&items),
            [
                "/src/templates: removed dir (mode 0755)",
                "/src/templates/index.html: removed file (4 bytes, mode 0644)",
            ]
        );
        let reason = |p: &str| {
            items
                .iter()
                .find(|i| i.path.as_deref() == Some(p))
                .and_then(|i| i.reason.clone())
                .unwrap_or_default()
        };
        assert!(reason("/src/main.go").contains("a build input (go.mod)"));
        assert!(
            reason("/src/internal").contains("accounted for"),
            "{}",
            reason("/src/internal")
        );
        assert!(reason("/src/example.toml").contains("does not name it"));

        // Not an ELF program (a script): the WORKDIR is the application's.
        let mut spec = case.spec();
        spec.find_compiled(&case.original, &mut |_| false);
        assert!(spec.compiled.is_none());
    }

    #[test]
    fn make_installs_copy_left_in_the_build_folder_is_the_program() {
        let c = r#"{"Cmd":["gzcrc"],"WorkingDir":"/src"}"#;
        let dockerfile = "FROM debian:bookworm\nCOPY . /src\nWORKDIR /src\nRUN make && make install\nCMD gzcrc\n";
        let original = debian(&[
            ("/usr/local/bin/gzcrc", file(0o755, "elf gzcrc")),
            ("/src/Makefile", file(0o644, "all:")),
            ("/src/gzcrc.c", file(0o644, "int main")),
            ("/src/gzcrc", file(0o755, "elf gzcrc")),
            ("/src/gzcrc.old", file(0o755, "elf gzcrc 0.9")),
        ]);
        let fixed = listing(&[
            ("/usr/local/bin/gzcrc", file(0o755, "elf gzcrc")),
            ("/src", dir()),
        ]);
        let case = Case::new(original, fixed, c, c, dockerfile, &[multi_stage()]);
        let mut spec = case.spec();
        spec.find_compiled(&case.original, &mut |_| true);
        // The program's bytes name both files (its own name is in its usage text).
        spec.set_program_bytes(b"\x7fELF\x02\x01usage: gzcrc FILE\x00gzcrc.old\x00");
        let items = case.paths(&spec, true);
        // Another build output with other content stays unexpected.
        assert_eq!(
            unexpected(&items),
            ["/src/gzcrc.old: removed file (13 bytes, mode 0755)"]
        );
        let copy = items
            .iter()
            .find(|i| i.path.as_deref() == Some("/src/gzcrc"))
            .unwrap();
        assert_eq!(copy.covered_by.as_deref(), Some(APP_COVER));
        assert!(
            copy.reason
                .as_deref()
                .unwrap()
                .contains("a copy of the compiled program /usr/local/bin/gzcrc"),
            "{copy:?}"
        );
    }

    #[test]
    fn paths_the_probes_compared_are_skipped() {
        let original = debian(&[
            ("/app/server.js", file(0o644, "js")),
            (
                "/app/node_modules/typescript/package.json",
                file(0o644, "ts"),
            ),
        ]);
        let fixed = debian(&[("/app/server.js", file(0o644, "js"))]);
        let node = r#"{"Cmd":["node","server.js"],"WorkingDir":"/app"}"#;
        let case = Case::new(
            original,
            fixed,
            node,
            node,
            "FROM node\nWORKDIR /app\n",
            &[multi_stage()],
        );
        let mut spec = case.spec();
        assert_eq!(
            unexpected(&case.paths(&spec, false)).len(),
            3,
            "two folders and a file"
        );
        spec.covered = vec!["/app/node_modules".into()];
        let items = case.paths(&spec, false);
        assert_eq!(unexpected(&items), Vec::<String>::new());
        assert!(
            items
                .iter()
                .any(|i| i.covered_by.as_deref() == Some(PROBE_COVER))
        );
    }

    #[test]
    fn a_program_named_by_the_runs_is_told_apart() {
        let runs = printable_runs(b"\x00\x01abc\x00config.toml and more\x7fxy\x00");
        assert_eq!(runs, ["config.toml and more"]);
        assert!(names(&runs, "conf/config.toml"));
        assert!(!names(&runs, "example.toml"));
        assert!(names(&runs, "a"), "short names always count as named");
    }
}
