use std::fmt::Write as _;

use dockopt_fix::{DeclaredEffect, Diagnostic, Edit, Fix};
use dockopt_shell::{Command, Node, OpKind, Script};
use dockopt_syntax::{Dockerfile, Instruction, InstructionKind, TextRange};

use super::package_runs::is_cleanup_command;
use crate::manifest::{Reads, reads, recognize_install, written_present};
use crate::package::recognize;
use crate::paths::{absolute, indent_of};
use crate::rules::{and_list, script_of};
use crate::stage_state::stage_states;
use crate::{
    BuildContext, CheckContext, EntryKind, FixAvailability, Knowledge, OptionKind, OptionMeta,
    Rule, RuleMeta, declare_rule,
};

declare_rule! {
    /// ## What it does
    /// Finds a COPY of the whole build context (`COPY . .`, `COPY . /app`) placed before a
    /// dependency install (`npm ci`, `pip install -r requirements.txt`, `go mod download`,
    /// `bundle install`, ...) and copies only the files the install reads first, the rest of
    /// the source after the install. It also moves large folders that rarely change (by the
    /// project's git history) into their own earlier layers, and moves a source COPY after
    /// the RUNs right behind it that only install system packages by name (`apt-get install
    /// build-essential`, `apk add`; nothing of the source is read there), so a source edit
    /// no longer reinstalls the toolchain.
    ///
    /// ## Why is this bad?
    /// A layer is rebuilt when anything it copies changes, and so is every layer after it.
    /// With the whole source copied first, a one-line code change reinstalls every
    /// dependency: minutes instead of seconds, on every build. With the manifests copied
    /// first, the install stays cached until the dependencies change. Likewise a large
    /// assets or model folder copied together with the code is pushed again on every code
    /// change; in its own earlier layer it is pushed once.
    ///
    /// ## Example
    /// ```dockerfile
    /// WORKDIR /app
    /// COPY . .
    /// RUN npm ci && npm run build
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// WORKDIR /app
    /// COPY package.json package-lock.json ./
    /// RUN npm ci
    /// COPY . .
    /// RUN npm run build
    /// ```
    ///
    /// Only the manifests that exist in the context (after .dockerignore) are copied, with the
    /// COPY's own flags (`--chown`, `--chmod`, `--link`) and destination. Commands after the
    /// install in the same RUN move after the source COPY.
    ///
    /// An install that also installs the project itself (`uv sync` without
    /// `--no-install-project`, `poetry install` without `--no-root`) is split the way uv's and
    /// poetry's Docker guides do it: it runs first with the flag that leaves the project out
    /// (`deps_only_flag` in knowledge/manifests.toml), before the source COPY, and again as
    /// written, with the RUN's flags (cache mounts), after it:
    /// ```dockerfile
    /// COPY pyproject.toml uv.lock ./
    /// RUN uv sync --frozen --no-dev --no-install-project
    /// COPY . .
    /// RUN uv sync --frozen --no-dev
    /// ```
    /// pyproject.toml is read as TOML for what the first run would need from the source; what
    /// only the project's own install reads (a version from a file, `[tool.hatch.version]
    /// path`, or from git, setuptools_scm; the readme; the packages to include) does not
    /// matter, as that install now runs after the source COPY.
    ///
    /// The rule reports without fixing, and says why, when the install needs the source:
    /// `pip install .` or `-e .`, a requirements file that installs a local path, a uv
    /// workspace (`[tool.uv.workspace]`), dependencies from local folders (`path =` in
    /// `[tool.uv.sources]` or poetry's dependency tables, `develop = true`, `name @ file:`),
    /// packages read from a folder of the source that the manifests COPY leaves out (`uv
    /// sync --find-links wheels`, a local `--index-url`, the same in the stage's `UV_*`
    /// variables, uv.toml, pyproject.toml or the lock file; `location_*` in
    /// knowledge/manifests.toml), `[project] dynamic` dependencies without `uv sync --frozen`
    /// (uv builds the project to check its lock), the lock file (uv.lock, poetry.lock)
    /// missing from the context when the project is installed too, a RUN that would run
    /// something else twice after the project's install, package.json lifecycle scripts
    /// (`postinstall`, `prepare`, ...), local path dependencies (`file:`, go `replace ../x`),
    /// a Cargo manifest (it needs its targets), a RUN between the COPY and the install that
    /// may read the source, a manifest missing from the context, or a context that holds
    /// what the install writes (`node_modules`, `.venv`), which the later COPY would copy
    /// over it.
    ///
    /// ## Fix safety
    /// Unsafe. The image gets the same files when the install writes nothing the source
    /// also has; where it does (an `npm install` that rewrites package-lock.json), the copy
    /// from the source now wins. A split uv or poetry install installs the dependencies the
    /// lock file names in the first run and the project in the second, which finds them in
    /// place: the same environment as one run, as long as the first run reads nothing but
    /// the copied manifests (the reports above). Layering a rarely changed folder uses `COPY --exclude`,
    /// which needs the Dockerfile frontend 1.19 or newer: the fix adds
    /// `# syntax=docker/dockerfile:1` when the file has no syntax line (and says so in its
    /// title), and only reports when the file pins an older frontend.
    ///
    /// ## Options
    /// - `layer-min-kib` (default 5120): the size from which a rarely changed top-level
    ///   folder or file gets its own layer.
    /// - `layer-max-change-percent` (default 10): "rarely changed" means touched by at most
    ///   this share of the commits that touched the context.
    /// - `layer-min-commits` (default 10): the history needed before change counts mean
    ///   anything; with fewer commits (or no git) nothing is layered.
    ///
    /// ## References
    /// Docker docs, "Optimize cache usage in builds" (order your layers); no hadolint
    /// equivalent.
    pub struct SplitCopy {
        name: "split-copy",
        default_enabled: true,
        fix: FixAvailability::Sometimes,
        options: &[
            OptionMeta {
                name: "layer-min-kib",
                kind: OptionKind::Count,
                doc: "size (KiB) from which a rarely changed path gets its own layer",
            },
            OptionMeta {
                name: "layer-max-change-percent",
                kind: OptionKind::Count,
                doc: "a path is rarely changed when at most this percent of commits touch it",
            },
            OptionMeta {
                name: "layer-min-commits",
                kind: OptionKind::Count,
                doc: "commits of history needed before layering by change frequency",
            },
        ],
    }
}

/// The first Dockerfile frontend version with `COPY --exclude` outside the labs channel.
const EXCLUDE_MIN_MINOR: u32 = 19;

/// A COPY of the whole context.
struct BroadCopy<'a> {
    instruction: Instruction<'a>,
    /// The destination as written (`.`, `/app`).
    dest: &'a str,
    /// Where the context lands, absolute and normalised (`/app`, `/`).
    dest_abs: String,
    /// The flags as written in the file, each `--name=value`.
    flags: Vec<&'a str>,
    /// Patterns of its `--exclude` flags.
    excludes: Vec<&'a str>,
}

impl BroadCopy<'_> {
    /// The COPY's first line, for messages.
    fn first_line(&self) -> &str {
        self.instruction
            .text()
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
    }

    /// The destination for something at context path `path` (`./pkg/`, `/app/pkg/`).
    fn dest_for(&self, folder: &str) -> String {
        let base = if matches!(self.dest, "." | "./") {
            "./".to_string()
        } else {
            format!("{}/", self.dest.trim_end_matches('/'))
        };
        if folder.is_empty() {
            base
        } else {
            format!("{base}{folder}/")
        }
    }

    /// `COPY [flags] SOURCES DEST` in the file's keyword case, with the broad COPY's flags
    /// except `--exclude` (its patterns are about the whole context, not these sources).
    fn copy_line(&self, sources: &[String], dest: &str) -> String {
        let mut line = self.instruction.keyword().to_string();
        for flag in self.flags.iter().filter(|f| !f.starts_with("--exclude")) {
            let _ = write!(line, " {flag}");
        }
        for source in sources {
            let _ = write!(line, " {source}");
        }
        let _ = write!(line, " {dest}");
        line
    }
}

fn broad_copy<'a>(instruction: Instruction<'a>, workdir: Option<&str>) -> Option<BroadCopy<'a>> {
    if instruction.kind() != InstructionKind::Copy
        || instruction.is_exec_form()
        || instruction.heredocs().len() > 0
    {
        return None;
    }
    let words = instruction.words();
    let [source, dest] = words.as_slice() else {
        return None;
    };
    if !matches!(source.value, "." | "./") {
        return None;
    }
    let file_text = instruction.file().text();
    let mut flags = Vec::new();
    let mut excludes = Vec::new();
    for flag in instruction.flags() {
        match flag.name() {
            "chown" | "chmod" | "link" => flags.push(&file_text[flag.range.range()]),
            "exclude" => {
                excludes.push(flag.value()?);
                flags.push(&file_text[flag.range.range()]);
            }
            _ => return None,
        }
    }
    Some(BroadCopy {
        instruction,
        dest: dest.value,
        dest_abs: absolute(workdir, dest.value)?,
        flags,
        excludes,
    })
}

/// Whether the command reads nothing from the working folder (system packages, `mkdir -p
/// /opt/x`): it may stay before the source COPY.
fn source_free(knowledge: &Knowledge, command: &Command) -> bool {
    let free = &knowledge.manifests.source_free;
    if !command.redirects.is_empty() || command.args.iter().any(|a| a.value().is_none()) {
        return false;
    }
    if let Some(package) = recognize(knowledge, command) {
        return free.managers.contains(&package.manager.name);
    }
    let Some(program) = command.program() else {
        return false;
    };
    if !free.programs.iter().any(|p| p == program) {
        return false;
    }
    // Programs that take paths: every path must be absolute (chmod and chown first take a
    // mode or an owner).
    let skip = usize::from(matches!(program, "chmod" | "chown"));
    let takes_paths = matches!(program, "rm" | "ln" | "mkdir" | "chmod" | "chown");
    !takes_paths
        || command
            .positionals()
            .skip(skip)
            .all(|a| a.value().is_some_and(|v| v.starts_with('/')) && !a.has_pattern())
}

/// The top-level commands of a plain script, or `None` when an item is not a simple command.
fn top_commands(script: &Script) -> Option<Vec<(&Command, Option<OpKind>)>> {
    script
        .root()
        .items
        .iter()
        .map(|item| match &item.node {
            Node::Command(c) => Some((c, item.terminator.as_ref().map(|t| t.kind))),
            _ => None,
        })
        .collect()
}

/// A context path safe to write unquoted in a COPY.
fn plain(path: &str) -> bool {
    !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+@/".contains(c))
}

/// The instructions strictly between `a` and `b` (same file, `a` first).
fn rest_between<'a>(a: Instruction<'a>, b: Instruction<'a>) -> Option<Vec<Instruction<'a>>> {
    let file = a.file();
    (a.index() + 1..b.index())
        .map(|i| file.instruction(i))
        .collect::<Option<Vec<_>>>()
}

fn line_of(file: &Dockerfile, offset: usize) -> usize {
    file.line_col(offset).line
}

impl Rule for SplitCopy {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let Some(context) = ctx.build_context else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let names: Vec<String> = ctx
            .file
            .stages()
            .iter()
            .filter_map(|s| {
                s.from
                    .from()
                    .and_then(|f| f.stage_name.map(|n| n.value.to_lowercase()))
            })
            .collect();
        for stage in ctx.file.stages() {
            let from_stage = stage
                .from
                .from()
                .is_some_and(|f| names.contains(&f.image.value.to_lowercase()));
            let mut workdir = (!from_stage).then(|| "/".to_string());
            for (k, &instruction) in stage.instructions.iter().enumerate() {
                if instruction.kind() == InstructionKind::Workdir {
                    workdir = instruction
                        .words()
                        .first()
                        .and_then(|w| absolute(workdir.as_deref(), w.value));
                    continue;
                }
                let Some(copy) = broad_copy(instruction, workdir.as_deref()) else {
                    continue;
                };
                let rest = &stage.instructions[k + 1..];
                let before = &stage.instructions[..k];
                match split(ctx, context, &copy, before, rest, workdir.as_deref()) {
                    Some(diagnostic) => out.push(diagnostic),
                    None => out.extend(
                        system_packages_first(ctx, &copy, rest)
                            .or_else(|| Self::layer(ctx, context, &copy, rest)),
                    ),
                }
            }
        }
        out
    }
}

/// The split diagnostic for `copy`, or `None` when no install follows it.
fn split(
    ctx: &CheckContext<'_>,
    context: &BuildContext,
    copy: &BroadCopy<'_>,
    before: &[Instruction<'_>],
    rest: &[Instruction<'_>],
    workdir: Option<&str>,
) -> Option<Diagnostic> {
    let knowledge = ctx.knowledge;
    let mut blocker: Option<Instruction<'_>> = None;
    for &instruction in rest {
        match instruction.kind() {
            InstructionKind::Env
            | InstructionKind::Arg
            | InstructionKind::Label
            | InstructionKind::Expose
            | InstructionKind::User
            | InstructionKind::Stopsignal
            | InstructionKind::Healthcheck
            | InstructionKind::Cmd
            | InstructionKind::Entrypoint
            | InstructionKind::Maintainer => {}
            InstructionKind::Run => {
                let script = script_of(instruction);
                let installs: Vec<&Command> = script.as_ref().map_or_else(Vec::new, |s| {
                    s.main_shell_commands()
                        .into_iter()
                        .filter(|c| recognize_install(knowledge, c).is_some())
                        .collect()
                });
                if installs.is_empty() {
                    let free = script.as_ref().is_some_and(|s| {
                        top_commands(s)
                            .is_some_and(|cs| cs.iter().all(|(c, _)| source_free(knowledge, c)))
                    });
                    if !free {
                        blocker.get_or_insert(instruction);
                    }
                    continue;
                }
                if installs
                    .iter()
                    .all(|c| project_after_dependencies(knowledge, c, before))
                {
                    // The second half of a split already made: the dependencies were
                    // installed alone before the source COPY.
                    return None;
                }
                let script = script?;
                return diagnose(ctx, context, copy, instruction, &script, workdir, blocker);
            }
            _ => {
                blocker.get_or_insert(instruction);
            }
        }
    }
    None
}

/// Whether `command` installs the project too (its ecosystem has a `deps_only_flag` and
/// the command none of the `needs_flags`) after a RUN in `before` installed the same
/// ecosystem's dependencies alone (with one of the `needs_flags`).
fn project_after_dependencies(
    knowledge: &Knowledge,
    command: &Command,
    before: &[Instruction<'_>],
) -> bool {
    let Some(install) = recognize_install(knowledge, command) else {
        return false;
    };
    let eco = install.ecosystem;
    let deps_only = |c: &Command| eco.needs_flags.iter().any(|f| c.has_flag(f));
    if eco.deps_only_flag.is_none() || deps_only(command) {
        return false;
    }
    before
        .iter()
        .filter(|i| i.kind() == InstructionKind::Run)
        .filter_map(|i| script_of(*i))
        .any(|script| {
            script.main_shell_commands().into_iter().any(|c| {
                recognize_install(knowledge, c)
                    .is_some_and(|i| std::ptr::eq(i.ecosystem, eco) && deps_only(c))
            })
        })
}

/// Whether a RUN only installs system packages by name (apt, apk, dnf, ...: the source-free
/// managers) or runs other source-free commands: it reads nothing of the source, and the
/// source COPY may go after it.
fn installs_system_packages_only(knowledge: &Knowledge, instruction: Instruction<'_>) -> bool {
    let Some(script) = script_of(instruction) else {
        return false;
    };
    let Some(commands) = top_commands(&script) else {
        return false;
    };
    let mut installs = false;
    for (command, _) in &commands {
        if !source_free(knowledge, command) {
            return false;
        }
        if recognize(knowledge, command).is_some() {
            // Package names only: `apt-get install ./tool.deb` reads the context.
            if command.positionals().any(|w| {
                w.value()
                    .is_none_or(|v| v.contains('/') || v.starts_with('.'))
            }) {
                return false;
            }
            installs = true;
        }
    }
    installs
}

/// A source COPY followed by RUNs that only install system packages (the toolchain a C
/// project builds with): any source edit reruns them. The COPY moves after them.
fn system_packages_first(
    ctx: &CheckContext<'_>,
    copy: &BroadCopy<'_>,
    rest: &[Instruction<'_>],
) -> Option<Diagnostic> {
    let mut last_system_run: Option<Instruction<'_>> = None;
    for &instruction in rest {
        match instruction.kind() {
            InstructionKind::Workdir
            | InstructionKind::Env
            | InstructionKind::Arg
            | InstructionKind::Label
            | InstructionKind::Expose
            | InstructionKind::Maintainer => {}
            InstructionKind::Run if installs_system_packages_only(ctx.knowledge, instruction) => {
                last_system_run = Some(instruction);
            }
            _ => break,
        }
    }
    let after = last_system_run?;
    // Another COPY of the source later in the stage would make the order matter twice.
    if rest
        .iter()
        .skip_while(|i| i.index() != after.index())
        .any(|i| broad_copy(*i, Some("/")).is_some())
    {
        return None;
    }
    let file = ctx.file;
    let text = file.text();
    let nl = file.line_ending();
    let indent = indent_of(text, after.range().start);
    let edits = vec![
        Edit::delete(copy.instruction.line_range()),
        Edit::insert(
            after.line_range().end,
            format!("{indent}{}{nl}", &text[copy.instruction.range().range()]),
        ),
    ];
    let line = line_of(file, after.range().start);
    let effect = DeclaredEffect {
        summary: "the same files; the system packages are installed before the source is \
                  copied, so a source edit no longer reinstalls them"
            .into(),
        ..DeclaredEffect::default()
    };
    Some(
        Diagnostic::new(
            SplitCopy::META.name,
            copy.instruction.range(),
            format!(
                "`{}` copies the whole source before system packages are installed (up to \
                 line {line}), so any source change reinstalls them; copy the source after",
                copy.first_line()
            ),
        )
        .with_fix(Fix::unsafe_edit(
            format!("Copy the source after the system packages (line {line})"),
            edits,
            effect,
        )),
    )
}

fn report(copy: &BroadCopy<'_>, install: Instruction<'_>, what: &str, why: &str) -> Diagnostic {
    let file = install.file();
    Diagnostic::new(
        SplitCopy::META.name,
        copy.instruction.range(),
        format!(
            "`{}` copies the whole source before {what} (line {}), so any source change reruns it; \
             dockopt does not split it because {why}",
            copy.first_line(),
            line_of(file, install.range().start),
        ),
    )
}

#[allow(clippy::too_many_lines)]
fn diagnose(
    ctx: &CheckContext<'_>,
    context: &BuildContext,
    copy: &BroadCopy<'_>,
    run: Instruction<'_>,
    script: &Script,
    workdir: Option<&str>,
    blocker: Option<Instruction<'_>>,
) -> Option<Diagnostic> {
    let knowledge = ctx.knowledge;
    let installs: Vec<&Command> = script
        .main_shell_commands()
        .into_iter()
        .filter(|c| recognize_install(knowledge, c).is_some())
        .collect();
    let what = format!(
        "`{}`",
        script
            .slice(&installs[0].span)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    );
    // What each install reads, once (it reads manifests from the context).
    let env = &stage_states(ctx.file)[run.index()].env;
    let install_reads: Vec<(&Command, Reads)> = installs
        .iter()
        .filter_map(|c| {
            let install = recognize_install(knowledge, c)?;
            Some((*c, reads(context, &install, &copy.dest_abs, env)))
        })
        .collect();
    // Installs of packages by name read no manifest: nothing to split.
    if install_reads.iter().all(|(_, r)| *r == Reads::NoManifest) {
        return None;
    }
    let what = what.as_str();
    let file = ctx.file;
    let text = file.text();
    let commands = top_commands(script);
    if let Some(blocker) = blocker {
        return Some(report(
            copy,
            run,
            what,
            &format!(
                "the {} at line {} between them may need the source",
                blocker.keyword().to_uppercase(),
                line_of(file, blocker.range().start)
            ),
        ));
    }
    if workdir != Some(copy.dest_abs.as_str()) {
        return Some(report(
            copy,
            run,
            what,
            &format!(
                "the install does not run in {}, where the source is copied",
                copy.dest_abs
            ),
        ));
    }
    if !copy.excludes.is_empty() {
        return Some(report(copy, run, what, "the COPY has --exclude flags"));
    }
    let Some(commands) = commands else {
        return Some(report(
            copy,
            run,
            what,
            "its RUN is not a plain list of commands dockopt can split",
        ));
    };
    // The last top-level command that installs; everything after it moves.
    let Some(last) = commands
        .iter()
        .rposition(|(c, _)| recognize_install(knowledge, c).is_some())
    else {
        return Some(report(
            copy,
            run,
            what,
            "the install runs inside a compound command",
        ));
    };
    for (command, _) in &commands[..last] {
        if recognize_install(knowledge, command).is_none() && !source_free(knowledge, command) {
            return Some(report(
                copy,
                run,
                what,
                &format!(
                    "the RUN first runs `{}`, which may need the source",
                    command.name_value().unwrap_or("a command")
                ),
            ));
        }
    }
    // A cache cleanup of an install's own manager right after it (`npm ci && npm cache
    // clean --force`) belongs to the install and moves with it: left behind it would clean
    // a cache that is no longer there, and keep `cache-mounts` from removing it.
    let managers: Vec<_> = commands[..=last]
        .iter()
        .filter(|(c, _)| recognize_install(knowledge, c).is_some())
        .filter_map(|(c, _)| recognize(knowledge, c).map(|p| p.manager))
        .collect();
    let mut last = last;
    while commands[last].1 == Some(OpKind::And)
        && commands
            .get(last + 1)
            .is_some_and(|(next, _)| managers.iter().any(|m| is_cleanup_command(m, next)))
    {
        last += 1;
    }
    let tail = &commands[last + 1..];
    if !tail.is_empty() && commands[last].1 != Some(OpKind::And) {
        return Some(report(
            copy,
            run,
            what,
            "the commands after the install are not joined with &&",
        ));
    }
    let Some(files) = context.files() else {
        return Some(report(copy, run, what, "the build context cannot be read"));
    };
    let mut paths: Vec<String> = Vec::new();
    let mut any_manifest = false;
    // Installs that also install the project, each with the flag that leaves it out.
    let mut project: Vec<(&Command, &str)> = Vec::new();
    for (command, _) in &commands[..=last] {
        let Some(install) = recognize_install(knowledge, command) else {
            continue;
        };
        if let Some(written) = written_present(files, install.ecosystem) {
            return Some(report(
                copy,
                run,
                what,
                &format!(
                    "the build context holds {written}, which the source COPY would copy over \
                     what the install wrote; add it to .dockerignore"
                ),
            ));
        }
        let read = install_reads
            .iter()
            .find(|(c, _)| std::ptr::eq(*c, *command))
            .map_or_else(
                || reads(context, &install, &copy.dest_abs, env),
                |(_, r)| r.clone(),
            );
        if let (Reads::ThenProject(_), Some(flag)) = (&read, &install.ecosystem.deps_only_flag) {
            project.push((*command, flag.as_str()));
        }
        match read {
            Reads::Paths(p) | Reads::ThenProject(p) => {
                any_manifest = true;
                for path in p {
                    if !paths.contains(&path) {
                        paths.push(path);
                    }
                }
            }
            Reads::NoManifest => {}
            Reads::Source(why) | Reads::Missing(why) => return Some(report(copy, run, what, &why)),
        }
    }
    // The installs of the project run again after the source COPY: from the first of them
    // on, the RUN may hold only those and their managers' cache cleanups (anything else would
    // run twice), and nothing before them may change the shell's state for the second run.
    let is_project = |c: &Command| project.iter().any(|(p, _)| std::ptr::eq(*p, c));
    let first_project = commands[..=last].iter().position(|(c, _)| is_project(c));
    if let Some(first) = first_project {
        if let Some((other, _)) = commands[first..=last]
            .iter()
            .find(|(c, _)| !is_project(c) && !managers.iter().any(|m| is_cleanup_command(m, c)))
        {
            return Some(report(
                copy,
                run,
                what,
                &format!(
                    "the install of the project would run again after the source COPY, and \
                     the RUN runs `{}` after it, which would then run twice",
                    other.name_value().unwrap_or("a command")
                ),
            ));
        }
        if let Some((export, _)) = commands[..first]
            .iter()
            .find(|(c, _)| c.program().is_some_and(|p| p == "export"))
        {
            return Some(report(
                copy,
                run,
                what,
                &format!(
                    "the install of the project would run again after the source COPY, \
                     without the `{}` before it",
                    script.slice(&export.span)
                ),
            ));
        }
    }
    if !any_manifest || paths.is_empty() {
        return Some(report(
            copy,
            run,
            what,
            "the install reads no manifest dockopt knows of",
        ));
    }
    if let Some(odd) = paths.iter().find(|p| !plain(p)) {
        return Some(report(
            copy,
            run,
            what,
            &format!("{odd} would need quoting in COPY"),
        ));
    }

    // COPY lines: the files of one folder together (the root's first), and one per folder
    // that is itself a manifest (`.yarn/releases`).
    let mut groups: Vec<(Option<String>, String, Vec<String>)> = Vec::new();
    for path in &paths {
        let (folder_entry, dest_folder) = if files.get(path).is_none() {
            (Some(path.clone()), path.clone())
        } else {
            (
                None,
                path.rsplit_once('/').map_or("", |(f, _)| f).to_string(),
            )
        };
        match groups.iter_mut().find(|(entry, folder, _)| {
            entry.is_none() && folder_entry.is_none() && *folder == dest_folder
        }) {
            Some((_, _, sources)) => sources.push(path.clone()),
            None => groups.push((folder_entry, dest_folder, vec![path.clone()])),
        }
    }
    groups.sort_by(|a, b| (!a.1.is_empty(), &a.1).cmp(&(!b.1.is_empty(), &b.1)));
    let nl = file.line_ending();
    let copy_indent = indent_of(text, copy.instruction.range().start);
    let manifest_copies: Vec<String> = groups
        .iter()
        .map(|(_, folder, sources)| copy.copy_line(sources, &copy.dest_for(folder)))
        .collect();
    let run_indent = indent_of(text, run.range().start);
    let head_end = commands[last].0.span_with_heredocs().file.end;
    // Where the text after the source COPY starts: the project's installs, else the tail.
    let again = first_project
        .map(|i| &commands[i].0.span)
        .or_else(|| tail.first().map(|(c, _)| &c.span))
        .map(|span| span.file.start);
    let cut = match (first_project, again) {
        (Some(_), Some(start)) => start,
        (None, Some(_)) => head_end,
        _ => run.range().end,
    };
    let mut moved = String::new();
    if first_project.is_some() {
        // The installs up to the cut run here for the dependencies alone.
        let mut at = cut;
        for (command, flag) in &project {
            let end = command
                .args
                .last()
                .or(command.name.as_ref())
                .map_or(command.span.file.end, |w| w.span.file.end);
            moved.push_str(&text[at..end]);
            let _ = write!(moved, " {flag}");
            at = end;
        }
        moved.push_str(&text[at..head_end]);
    }
    let _ = write!(moved, "{nl}{run_indent}{}", copy.instruction.text());
    if let Some(start) = again {
        let mut line = run.keyword().to_string();
        for flag in run.flags() {
            let _ = write!(line, " {}", &text[flag.range.range()]);
        }
        let _ = write!(line, " {}", &text[start..run.range().end]);
        let _ = write!(moved, "{nl}{run_indent}{line}");
    }
    moved.push_str(&text[run.range().end..run.line_range().end]);
    let mut edits = vec![Edit::replace(
        TextRange::new(cut, run.line_range().end),
        moved,
    )];
    let adjacent = rest_between(copy.instruction, run).is_none_or(|between| between.is_empty());
    if adjacent {
        // The manifests take the source COPY's place (and keep its comment).
        edits.push(Edit::replace(
            copy.instruction.range(),
            manifest_copies.join(&format!("{nl}{copy_indent}")),
        ));
    } else {
        // Instructions in between (a system package install) stay cached when only the
        // manifests change: the manifests go right before the install.
        edits.push(Edit::delete(copy.instruction.line_range()));
        let mut inserted = String::new();
        for line in &manifest_copies {
            let _ = write!(inserted, "{line}{nl}{run_indent}");
        }
        edits.push(Edit::insert(run.range().start, inserted));
    }
    let shown: Vec<String> = paths.clone();
    let mut flags: Vec<String> = project.iter().map(|(_, f)| format!("`{f}`")).collect();
    flags.dedup();
    let effect = DeclaredEffect {
        paths: vec![format!("{}/**", copy.dest_abs.trim_end_matches('/'))],
        summary: if flags.is_empty() {
            "the source is copied after the install; where the install wrote a file the \
             source also has, the source's copy now wins"
                .into()
        } else {
            format!(
                "the dependencies are installed before the source is copied ({}), the project \
                 after it by the install as written; where the install wrote a file the \
                 source also has, the source's copy now wins",
                and_list(&flags)
            )
        },
        ..DeclaredEffect::default()
    };
    let (title, advice) = if flags.is_empty() {
        (
            format!(
                "Copy {} before {what}, the rest of the source after it",
                and_list(&shown)
            ),
            format!("copy {} first", and_list(&shown)),
        )
    } else {
        (
            format!(
                "Copy {} and install the dependencies alone ({}) before the source, \
                 {what} after it",
                and_list(&shown),
                and_list(&flags)
            ),
            format!(
                "copy {} first and install the dependencies alone with {}, then the project \
                 after the source",
                and_list(&shown),
                and_list(&flags)
            ),
        )
    };
    Some(Diagnostic::new(
        SplitCopy::META.name,
        copy.instruction.range(),
        format!(
            "`{}` copies the whole source before {what} (line {}): any source change reruns the \
             install; {advice}",
            copy.first_line(),
            line_of(file, run.range().start),
        ),
    )
    .with_fix(Fix::unsafe_edit(title, edits, effect)))
}

/// Whether the frontend a file asks for has `COPY --exclude`: `Ok(true)` when it does,
/// `Ok(false)` when the file has no syntax line (the fix adds one), `Err(version)` when it
/// pins an older one.
fn exclude_support(file: &Dockerfile) -> Result<bool, String> {
    let Some(syntax) = file.syntax_directive() else {
        return Ok(false);
    };
    let tag = syntax.rsplit_once(':').map_or("latest", |(_, t)| t);
    let tag = tag.split('@').next().unwrap_or(tag);
    if tag == "latest" || tag.contains("labs") {
        return Ok(true);
    }
    let mut parts = tag.split(['.', '-']);
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    match parts.next().and_then(|p| p.parse::<u32>().ok()) {
        None if major >= 1 => Ok(true),
        Some(minor) if major > 1 || minor >= EXCLUDE_MIN_MINOR => Ok(true),
        _ => Err(syntax.to_string()),
    }
}

fn human_size(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib >= 1.0 {
        format!("{mib:.1} MiB")
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

impl SplitCopy {
    /// Large top-level paths that rarely change get their own earlier layers.
    fn layer(
        ctx: &CheckContext<'_>,
        context: &BuildContext,
        copy: &BroadCopy<'_>,
        rest: &[Instruction<'_>],
    ) -> Option<Diagnostic> {
        let name = Self::META.name;
        let min_bytes = ctx.options.count(name, "layer-min-kib", 5120) * 1024;
        let max_percent = ctx.options.count(name, "layer-max-change-percent", 10);
        let min_commits = ctx.options.count(name, "layer-min-commits", 10);
        // Only the last COPY of the source: an earlier one is the split's business.
        if rest.iter().any(|i| broad_copy(*i, Some("/")).is_some()) {
            return None;
        }
        let files = context.files()?;
        let counts = context.change_counts()?;
        let total = counts.commits();
        if (total as u64) < min_commits.max(1) || files.is_truncated() {
            return None;
        }
        let entries = files.top_level();
        let mut rare: Vec<(String, EntryKind, u64, usize)> = entries
            .iter()
            .filter(|(entry, _, size)| {
                *size >= min_bytes
                    && plain(entry)
                    && !copy
                        .excludes
                        .iter()
                        .any(|x| x.trim_matches('/') == entry.as_str())
            })
            .map(|(entry, kind, size)| (entry.clone(), *kind, *size, counts.touching(entry)))
            .filter(|(_, _, _, touched)| (*touched as u64) * 100 <= max_percent * total as u64)
            .collect();
        // Something else must remain for the last layer, or nothing is gained.
        if rare.is_empty() || rare.len() + copy.excludes.len() >= entries.len() {
            return None;
        }
        rare.sort_by(|a, b| (a.3, &a.0).cmp(&(b.3, &b.0)));
        let support = exclude_support(ctx.file);
        let figures: Vec<String> = rare
            .iter()
            .map(|(entry, kind, size, touched)| {
                format!(
                    "{entry}{} ({}, changed in {touched} of {total} commits)",
                    if *kind == EntryKind::Folder { "/" } else { "" },
                    human_size(*size)
                )
            })
            .collect();
        let message = format!(
            "`{}` also copies {}, which rarely change{}: copied in earlier layers, a code change \
             rebuilds and pushes only the rest",
            copy.first_line(),
            and_list(&figures),
            if rare.len() == 1 { "s" } else { "" },
        );
        let diagnostic = Diagnostic::new(name, copy.instruction.range(), message);
        let adds_syntax = match support {
            Ok(supported) => !supported,
            Err(pinned) => {
                return Some(Diagnostic {
                    message: format!(
                        "{} (not fixed: `COPY --exclude` needs docker/dockerfile:1.{EXCLUDE_MIN_MINOR} or newer, the file asks for {pinned})",
                        diagnostic.message
                    ),
                    ..diagnostic
                });
            }
        };
        let text = ctx.file.text();
        let nl = ctx.file.line_ending();
        let indent = indent_of(text, copy.instruction.range().start);
        let mut layers = String::new();
        for (entry, kind, _, _) in &rare {
            let dest = if *kind == EntryKind::Folder {
                copy.dest_for(entry)
            } else {
                copy.dest_for("")
            };
            let _ = write!(
                layers,
                "{}{nl}{indent}",
                copy.copy_line(std::slice::from_ref(entry), &dest)
            );
        }
        let mut excludes = String::new();
        for (entry, _, _, _) in &rare {
            let _ = write!(excludes, " --exclude={entry}");
        }
        let mut edits = vec![
            Edit::insert(copy.instruction.range().start, layers),
            Edit::insert(copy.instruction.keyword_range().end, excludes),
        ];
        let mut title = format!(
            "Copy {} in earlier layers, least often changed first",
            and_list(&rare.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
        );
        if adds_syntax {
            let at = usize::from(ctx.file.has_bom()) * '\u{feff}'.len_utf8();
            edits.push(Edit::insert(
                at,
                format!("# syntax=docker/dockerfile:1{nl}"),
            ));
            title.push_str(" (adds `# syntax=docker/dockerfile:1` for COPY --exclude)");
        }
        let effect = DeclaredEffect {
            summary: "the same files, in more layers".into(),
            ..DeclaredEffect::default()
        };
        Some(diagnostic.with_fix(Fix::unsafe_edit(title, edits, effect)))
    }
}
