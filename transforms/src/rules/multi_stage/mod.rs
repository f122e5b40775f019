//! multi-stage: splits a single-stage build on a toolchain image into a build stage and a
//! runtime stage FROM the toolchain's twin. [`plan`] decides; [`scan`] reads what the
//! stage's instructions do; each ecosystem ([`ecosystem::Ecosystem`]: [`go`], [`rust`],
//! [`node`], [`python`], [`java`], [`dotnet`]) knows its build commands and artifacts;
//! [`command`] and [`runtime`] check what the runtime stage runs; [`emit`] writes the fix.

mod args;
mod command;
mod dotnet;
mod ecosystem;
mod emit;
mod facts;
mod files;
mod go;
mod java;
mod node;
mod node_run;
mod python;
mod runtime;
mod rust;
mod scan;
mod sources;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

use dockopt_fix::{Diagnostic, Fix};
use dockopt_syntax::{Dockerfile, Instruction, InstructionKind, Stage};

use crate::image::{self, ImageFacts};
use crate::paths::{absolute, under};
use crate::rules::and_list;
use crate::stage_state::{StageState, stage_states};
use crate::{CheckContext, FixAvailability, Knowledge, Rule, RuleMeta, declare_rule};
use ecosystem::Ecosystem;
use emit::{RuntimeEnv, build_fix};
use facts::EcosystemFacts;
pub(crate) use facts::MultiStageFacts;
use files::runtime_files;
use runtime::{check_packages, check_runtime_instructions};
use scan::{Scan, WriteKind, scan_copy, scan_run};

declare_rule! {
    /// ## What it does
    /// Finds a single-stage Dockerfile built FROM a language toolchain image (`golang`,
    /// `rust`, `node`, `python`, Maven, Gradle and Temurin JDKs, the .NET SDK) and splits it
    /// into a `build` stage and a runtime stage FROM the toolchain's slim or distroless twin
    /// (knowledge/images.toml), which gets only what the application needs to run.
    ///
    /// The original instructions stay in the build stage (`FROM <image> AS build`, or the
    /// stage's own name), comments included. The runtime stage gets the ENV of the stage
    /// but the variables that only drive the build (`CGO_ENABLED`, `GOFLAGS`, `CARGO_*`,
    /// `PIP_*`, `MAVEN_OPTS`: knowledge/multi-stage.toml; `NODE_ENV`, `RUST_LOG` and the
    /// like stay), the WORKDIR in effect at the end, the artifacts (`COPY --from=build`),
    /// and the instructions that only matter at run time, moved with the comments above
    /// them: EXPOSE, LABEL, HEALTHCHECK, VOLUME, USER, STOPSIGNAL, ENTRYPOINT, CMD. The
    /// WORKDIR stays even where it ends up empty: it is the program's working folder, which
    /// relative paths resolve against, and it is part of the image's config.
    ///
    /// - Go: the binary of `go build -o OUT`, on `distroless/static`; CMD or ENTRYPOINT
    ///   must run it. A `go build` that leaves CGO_ENABLED unset gets `CGO_ENABLED=0` on
    ///   its command line when no Go file of the build context (vendor/ included, tests
    ///   not) imports "C" and go.mod requires no module known to need cgo; otherwise, and
    ///   with `CGO_ENABLED=1`, the binary links the C library and runs on
    ///   `distroless/base` (knowledge/multi-stage.toml says for which build images).
    /// - Rust: `target/release/NAME` of `cargo build --release` (NAME from `--bin` or
    ///   Cargo.toml), or where a later `cp`/`install` puts it, or the binary of
    ///   `cargo install --path .`, on `distroless/cc`.
    /// - Node (npm, Yarn classic and berry, pnpm, bun): the whole WORKDIR (source, build
    ///   output, `node_modules`) on `node:X-slim`, after `RUN npm prune --omit=dev` at the
    ///   end of the build stage when npm installed devDependencies. Yarn classic: after an
    ///   install with devDependencies (`--frozen-lockfile`, yarn.lock COPYed before it) the
    ///   build stage ends with `yarn install --production --frozen-lockfile --ignore-scripts
    ///   --prefer-offline` (from Yarn's cache, with the install's mounts); nothing when it
    ///   installed production dependencies alone (`--production`, `NODE_ENV=production`).
    ///   Yarn berry (`.yarnrc.yml`, `packageManager: yarn@2+`, a berry lock file) with
    ///   `nodeLinker: node-modules`, run by corepack's packageManager or a `yarnPath`
    ///   release: after `yarn install --immutable` (lock COPYed before it) the build stage
    ///   ends with `yarn workspaces focus --production` (Yarn 4, or the workspace-tools
    ///   plugin); Plug'n'Play, the image's Yarn classic running a berry project, install
    ///   hooks in package.json and workspaces are reported. A build that writes into
    ///   node_modules (prisma, patch-package) is reported: the prune relinks it. pnpm: `pnpm install`/`add` of the one project in the WORKDIR,
    ///   then `RUN pnpm prune --prod` at the end of the build stage unless it left out
    ///   devDependencies (`--prod`, `-P`, `NODE_ENV=production`); node_modules' links into
    ///   node_modules/.pnpm are relative and `COPY --from` copies the content of the files
    ///   pnpm hard-linked from its store, so the runtime stage needs neither the store nor
    ///   pnpm, which stays in the build stage (`npm install -g pnpm`, `corepack enable`).
    ///   Reported: a CMD, ENTRYPOINT or HEALTHCHECK that runs pnpm (or Yarn after
    ///   `corepack enable`), pnpm-workspace.yaml, `-r`/`--filter`, `-g`, `-C`, settings
    ///   that keep packages outside the WORKDIR (`node-linker=pnp`, a `virtual-store-dir`
    ///   or `modules-dir` outside it, the global virtual store; from .npmrc, ENV or
    ///   flags), install scripts of the project itself, and no build context to read.
    ///   Bun (on `oven/bun:X`, whose twin `oven/bun:X-slim` has bun): `bun install`/`i`/`ci`
    ///   of the one project in the WORKDIR with a bun.lock or bun.lockb in the build
    ///   context, then `RUN bun prune --production` when devDependencies went in
    ///   (`--production`/`-p` leave them out; NODE_ENV=production does not) and the tag's
    ///   bun surely has it (1.4.0 and later), else `rm -rf node_modules && bun install
    ///   --frozen-lockfile --production` with the install's mounts, from bun's cache.
    ///   Reported: workspaces, globals (`-g`, BUN_INSTALL* outside the WORKDIR), `bun
    ///   add`/`remove`/`update`, `--backend=symlink`, install scripts, no lock file, and
    ///   before 1.4.0 a build that may write into node_modules (prisma), which the
    ///   reinstall would drop. At run time `bun run X`, `bun X`, `bunx X`, `bun x X`,
    ///   `--preload`/`-r` and bunfig.toml's `preload` must need no devDependency.
    ///   Whatever package manager: a CMD, ENTRYPOINT or HEALTHCHECK that needs a
    ///   devDependency (a `node_modules/.bin/X` or `node_modules/X/...` path, `node -r X`,
    ///   `--import X`, `npx X`, or a package.json script `npm start`/`npm run X`/`yarn X`
    ///   runs, followed into the scripts it runs) is reported: the runtime stage has none.
    /// - Python (pip): `RUN python -m venv /opt/venv` and `ENV PATH="/opt/venv/bin:$PATH"`
    ///   before the first pip install (above the COPY that feeds it), and on
    ///   `python:X-slim` the runtime libraries of the apt packages the build installed
    ///   (`libpq-dev` -> `libpq5`), `/opt/venv` and the WORKDIR. uv and poetry: the
    ///   project's own venv (`.venv` in the WORKDIR, or where UV_PROJECT_ENVIRONMENT puts
    ///   it) with the WORKDIR, when `uv sync` or `poetry install` installs no dependency
    ///   group the project defines (`--no-dev`, `--only main`, `--without dev`, or none
    ///   defined in pyproject.toml), poetry's venv is in the project
    ///   (POETRY_VIRTUALENVS_IN_PROJECT, `poetry config`, poetry.toml), and uv cannot
    ///   download a Python of its own (the image's fits requires-python and
    ///   .python-version, or UV_PYTHON_DOWNLOADS=never); `pip install uv`/`poetry` stays a
    ///   build tool of the build stage, so a CMD that runs `uv run` or `poetry run` is
    ///   reported. pipenv: `pipenv install`/`sync --system` installs into the first
    ///   `python3` on PATH, which the fix makes /opt/venv's as for pip (the venv goes before
    ///   `pip install pipenv`, so pipenv and its dependencies, which the original's
    ///   interpreter can import, are in it too); without `--system` into the project's
    ///   `.venv` when PIPENV_VENV_IN_PROJECT is true and the Pipfile is in the folder it
    ///   runs in, copied with the WORKDIR. Dev packages (`--dev`) stay, as in the original,
    ///   and the message says so. `pip install --user`: the user base (PYTHONUSERBASE, else
    ///   HOME/.local) is copied too; one in a home other users cannot read (`/root/.local`)
    ///   goes to /opt/python-userbase with PYTHONUSERBASE set to it (and its bin on PATH
    ///   when the stage had the original's there), since the user site-packages folder is
    ///   named after the Python version the image tag must then name (3.X).
    /// - Java: the jar of CMD/ENTRYPOINT `java -jar PATH` built by Maven or Gradle, on the
    ///   Temurin JRE. .NET: the `dotnet publish -o OUT` folder holding the DLL that
    ///   `dotnet X.dll` runs, on `aspnet`.
    ///
    /// Go, Rust and Java programs that open files at run time by a relative path get them
    /// too: string literals of their sources (tests and vendored code aside) that name a
    /// file or folder of the build context the build stage has under the WORKDIR, not
    /// embedded (`//go:embed`, `include_str!`) and no source or manifest, are copied to the
    /// same path (`template.ParseGlob("templates/*.html")` copies `templates`).
    ///
    /// A shell-form CMD or ENTRYPOINT is written in exec form when the twin has no shell
    /// (distroless) and the command is plain words. Whenever what the runtime needs cannot
    /// be known, the rule reports without a fix and says why: a RUN that may write outside
    /// the WORKDIR (anything but package installs, the ecosystem's build commands and
    /// `mkdir`/`cp`/`mv`/`ln`/`touch`/`chmod` inside the WORKDIR), a COPY outside it, an
    /// apt package the twin lacks, a `-dev` package without known runtime library, a Rust
    /// crate that links a system library, cgo where no runtime has the build image's C
    /// library (Alpine), a Go build with cgo unset and no build context to read, a call
    /// that opens a path built at run time which could mean a context file the runtime
    /// stage lacks, a CMD that does not run the artifact, Yarn's Plug'n'Play, a pnpm workspace,
    /// `uv pip --system`, poetry's and pipenv's venvs outside the project, uv's and poetry's
    /// dev dependency groups, `pipenv run` at run time, `pip --user` mixed with other
    /// installs or as a user whose home is unknown, a build argument used at run time, and
    /// more.
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
    /// outside the WORKDIR). Python packages move: pip's into /opt/venv (whose bin goes
    /// first on PATH), root's `pip --user` base to /opt/python-userbase (with
    /// PYTHONUSERBASE set to it; declared as an Env change), so tracebacks show other
    /// paths and a program that names the old path fails (a CMD that does is reported).
    /// The distroless `:nonroot` twins run as uid 65532. Variables a
    /// RUN set only for itself are not in the runtime, and neither are the base image's own
    /// ENV values (GOPATH, CARGO_HOME) nor the build-only ENV the rule leaves out (each
    /// declared by name). A Go build that gets `CGO_ENABLED=0` makes another binary
    /// (declared as rebuilt): linked statically, it resolves host names and users in Go
    /// rather than through the C library's NSS modules. A program that opens files no
    /// string literal of its sources names (paths from flags, variables or files outside
    /// the build context) or loads a library dockopt cannot see fails at run time.
    /// `dockopt verify` builds both images and runs its app-equivalence check: the same
    /// command, config and application files (but for what the fix declares by name: the
    /// variables left out, the rebuilt program), dependencies and shared libraries that
    /// resolve, and the smoke test as the new user. It proves that much, not that every
    /// code path finds what it needs.
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

/// Whether `path` is one of the image's own folders (`system_dirs` of
/// knowledge/multi-stage.toml), where no [`Analysis`] is at hand.
fn is_system_directory(path: &str) -> bool {
    Knowledge::get().multi_stage.common.is_system_dir(path)
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

/// What the rule decided: the plan of the fix, or why there is none.
type Plan<T> = Result<T, String>;

/// Everything the analysis needs to carry around.
struct Analysis<'a> {
    ctx: &'a CheckContext<'a>,
    file: &'a Dockerfile,
    stage: &'a Stage<'a>,
    /// The ecosystem, with its records of the stage's build commands.
    eco: Box<dyn Ecosystem>,
    /// The build image's facts.
    base: ImageFacts,
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

    /// The ecosystem's facts (knowledge/multi-stage.toml).
    fn eco_facts(&self) -> &EcosystemFacts {
        self.knowledge().multi_stage.ecosystem(self.eco.name())
    }

    fn line(&self, instruction: Instruction<'_>) -> usize {
        line_of(self.file, instruction.range().start)
    }

    /// Where the stage may write without an artifact to explain it: the WORKDIR the
    /// runtime stage copies whole, or else the working folder the build leaves behind.
    fn zone(&self, wd: &Wd) -> Option<String> {
        if self.eco_facts().copies_workdir {
            return self.final_wd.clone();
        }
        match wd {
            Wd::Known(p) if p != "/" => Some(p.clone()),
            _ => None,
        }
    }
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
            Ok(Planned { fix, twin, notes }) => {
                let mut message = format!(
                    "single-stage build ships the whole toolchain ({base}); a runtime stage FROM \
                     {twin} would carry only the artifacts"
                );
                for note in notes {
                    let _ = write!(message, "; {note}");
                }
                Diagnostic::new(Self::META.name, stage.from.range(), message).with_fix(fix)
            }
            Err(why) => Diagnostic::new(
                Self::META.name,
                stage.from.range(),
                format!("{head}, but dockopt does not split it: {why}"),
            ),
        };
        vec![diagnostic]
    }
}

/// The fix, the image its runtime stage is FROM, and what the message adds about it.
struct Planned {
    fix: Fix,
    twin: String,
    notes: Vec<String>,
}

/// The fix for the single stage, or why there is none.
#[allow(clippy::too_many_lines)]
fn plan(
    ctx: &CheckContext<'_>,
    stage: &Stage<'_>,
    facts: &ImageFacts,
    twin: &str,
) -> Plan<Planned> {
    let eco = ecosystem::of(ctx.knowledge, &facts.repository).ok_or_else(|| {
        format!(
            "dockopt does not know what a {} build produces (where its packages go, which \
             system libraries they need at run time); write the runtime stage by hand and \
             check it with `dockopt verify --against`",
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
        base: facts.clone(),
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
    if a.eco_facts().copies_workdir {
        match a.final_wd.as_deref() {
            None => {
                return Err(
                    "the stage has no WORKDIR; the runtime stage copies the application \
                     folder, so the application needs one of its own"
                        .into(),
                );
            }
            Some(dir) if a.knowledge().multi_stage.common.is_system_dir(dir) => {
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

    let choice = a.eco.runtime(&a)?;
    if let Some(image) = &choice.image {
        a.twin_facts = image::lookup(ctx.knowledge, image)
            .ok_or_else(|| format!("dockopt knows nothing about {image}"))?;
        a.twin.clone_from(image);
    }
    let mut notes = choice.notes;
    let (runtime_envs, dropped_env) = runtime_env(&a, &envs, &runtime, &mut notes);
    a.eco.check_build_stage(&a, &envs, &runtime)?;
    let runtime_packages = check_packages(&a)?;
    let mut artifacts = a.eco.artifacts(&a, &runtime)?;
    // A build command the fix changes (CGO_ENABLED=0) makes other bytes of the programs.
    let rebuilt = if choice.changes_build.is_some() {
        artifacts.clone()
    } else {
        Vec::new()
    };
    let files = runtime_files(&a, &artifacts, &mut notes)?;
    artifacts.extend(files);
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

    let fix = build_fix(
        &a,
        &runtime_envs,
        last_workdir,
        &runtime,
        &artifacts,
        &runtime_packages,
        &choice.inserts,
        choice.changes_build.as_deref(),
        &dropped_env,
        &rebuilt,
    );
    Ok(Planned {
        fix,
        twin: a.twin,
        notes,
    })
}

/// The ENVs of the runtime stage: each ENV of the stage without the variables that only
/// drive the build (knowledge/multi-stage.toml), unless something the runtime stage keeps
/// refers to them; and the names left out (`notes` then names them).
fn runtime_env<'a>(
    a: &Analysis<'_>,
    envs: &[Instruction<'a>],
    runtime: &[(Instruction<'a>, bool)],
    notes: &mut Vec<String>,
) -> (Vec<RuntimeEnv<'a>>, Vec<String>) {
    let facts = a.knowledge().multi_stage.ecosystem(a.eco.name());
    let mut dropped: Vec<String> = envs
        .iter()
        .flat_map(|env| env.key_values())
        .map(|kv| kv.key.value.trim_matches(['"', '\'']).to_string())
        .filter(|name| facts.is_build_env(name))
        .collect();
    // Each name once, in the file's order.
    let mut seen = Vec::new();
    dropped.retain(|d| {
        let first = !seen.contains(d);
        seen.push(d.clone());
        first
    });
    // A kept value or run-time instruction that reads a dropped variable keeps it.
    loop {
        let kept_refs: Vec<String> = envs
            .iter()
            .filter(|env| {
                env.key_values().iter().any(|kv| {
                    !dropped
                        .iter()
                        .any(|d| d == kv.key.value.trim_matches(['"', '\'']))
                })
            })
            .chain(runtime.iter().map(|(i, _)| i))
            .flat_map(|i| i.var_refs())
            .map(|v| v.name)
            .collect();
        let before = dropped.len();
        dropped.retain(|d| !kept_refs.contains(d));
        if dropped.len() == before {
            break;
        }
    }
    if !dropped.is_empty() {
        let names: Vec<String> = dropped.iter().map(|d| format!("`{d}`")).collect();
        notes.push(format!(
            "the runtime stage leaves out ENV {}, which only {} the build",
            and_list(&names),
            if dropped.len() == 1 {
                "drives"
            } else {
                "drive"
            }
        ));
    }
    let kept = envs
        .iter()
        .filter_map(|&env| {
            let keep: Vec<bool> = env
                .key_values()
                .iter()
                .map(|kv| {
                    !dropped
                        .iter()
                        .any(|d| d == kv.key.value.trim_matches(['"', '\'']))
                })
                .collect();
            if keep.iter().all(|k| *k) {
                Some(RuntimeEnv { env, keep: None })
            } else if keep.iter().any(|k| *k) {
                Some(RuntimeEnv {
                    env,
                    keep: Some(keep),
                })
            } else {
                None
            }
        })
        .collect();
    (kept, dropped)
}
