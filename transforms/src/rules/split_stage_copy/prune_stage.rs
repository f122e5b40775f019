//! The second shape: a build stage that installs every dependency from the manifests, builds
//! after the source COPY and prunes the development-only packages at its end (what
//! multi-stage and split-copy leave for an npm project with a build step). Any source edit
//! reruns the prune and copies the whole folder again. The stage becomes four:
//!
//! ```dockerfile
//! FROM node:22 AS base            # what came before the manifests COPY
//! FROM base AS dev-deps           # the manifests and the install
//! FROM dev-deps AS prod-deps      # the prune, cached until the manifests change
//! FROM base AS build              # the source and the build, the installed folder mounted
//! ```
//!
//! and the runtime copies `node_modules` from prod-deps before the build's folder. The
//! build sees the full install through a read-write bind mount whose writes are dropped,
//! so its own folder holds the context and what the build wrote, without the packages.

use std::fmt::Write as _;

use dockopt_fix::{DeclaredEffect, Edit, Fix};
use dockopt_syntax::{Instruction, InstructionKind, Stage};

use super::{copies_whole_context, lock_file_install, plain_context_copy};
use crate::CheckContext;
use crate::knowledge::Ecosystem;
use crate::manifest::{glob_component, installed_writer, written_present};
use crate::paths::indent_of;
use crate::rules::script_of;

/// The names of the stages the fix adds.
const BASE: &str = "base";
const DEV_DEPS: &str = "dev-deps";
const PROD_DEPS: &str = "prod-deps";

/// The build stage, read.
struct Shape<'a, 'k> {
    ecosystem: &'k Ecosystem,
    /// The folder the install creates, relative to the WORKDIR.
    installed: String,
    /// The first COPY (of the manifests): the install's stage starts there.
    first_copy: Instruction<'a>,
    install: Instruction<'a>,
    builds: Vec<Instruction<'a>>,
    prune: Instruction<'a>,
}

/// What the fix needs from the caller: the runtime COPY of the build stage's folder.
pub(super) struct RuntimeCopy<'a> {
    pub(super) copy: Instruction<'a>,
    /// The absolute working folder both stages share.
    pub(super) workdir: String,
    /// The COPY's `--chown`/`--chmod`/`--link` flags, each after a space.
    pub(super) flag_text: String,
}

/// The fix and the diagnostic's message, or why the stage does not have this shape.
pub(super) fn fix(
    ctx: &CheckContext<'_>,
    stages: &[Stage<'_>],
    source: &Stage<'_>,
    runtime: &RuntimeCopy<'_>,
) -> Result<(String, Fix), String> {
    let name = source.name().ok_or("the build stage has no name")?;
    let stage_name = source
        .from
        .from()
        .and_then(|f| f.stage_name)
        .ok_or("the build stage has no name")?;
    let shape = read_stage(ctx, source)?;
    only_reference(stages, name, runtime.copy)?;
    for new in [BASE, DEV_DEPS, PROD_DEPS] {
        if stages
            .iter()
            .any(|s| s.name().is_some_and(|n| n.eq_ignore_ascii_case(new)))
        {
            return Err(format!("a stage is already named `{new}`"));
        }
    }
    let files = ctx
        .build_context
        .and_then(|c| c.files())
        .ok_or("the build context cannot be read")?;
    if let Some(found) = written_present(files, shape.ecosystem) {
        return Err(format!(
            "the build context holds {found}, which the source COPY would lay over the install"
        ));
    }

    let file = ctx.file;
    let text = file.text();
    let nl = file.line_ending();
    let from_keyword = source.from.keyword();
    let as_word = if from_keyword.chars().all(|c| c.is_ascii_lowercase()) {
        "as"
    } else {
        "AS"
    };
    let installed = format!(
        "{}/{}",
        runtime.workdir.trim_end_matches('/'),
        shape.installed
    );
    let mut edits = vec![Edit::replace(stage_name.range, BASE)];

    // The install's own stage, from the manifests COPY on.
    let copy_start = line_start(text, shape.first_copy.range().start);
    let blank_before = text[..copy_start].ends_with(&format!("{nl}{nl}"));
    edits.push(Edit::insert(
        copy_start,
        format!(
            "{}{from_keyword} {BASE} {as_word} {DEV_DEPS}{nl}",
            if blank_before { "" } else { nl }
        ),
    ));
    // The prune's stage, then the build's, right after the install.
    edits.push(Edit::insert(
        shape.install.range().end,
        format!(
            "{nl}{nl}{from_keyword} {DEV_DEPS} {as_word} {PROD_DEPS}{nl}{}{nl}{nl}\
             {from_keyword} {BASE} {as_word} {name}",
            shape.prune.text()
        ),
    ));
    edits.push(Edit::delete(shape.prune.line_range()));
    let mount =
        format!(" --mount=type=bind,from={DEV_DEPS},source={installed},target={installed},rw");
    for build in &shape.builds {
        edits.push(Edit::insert(build.keyword_range().end, mount.clone()));
    }
    let keyword = runtime.copy.keyword();
    let indent = indent_of(text, runtime.copy.range().start);
    let mut copy_installed = format!("{keyword} --from={PROD_DEPS}");
    let _ = write!(
        copy_installed,
        "{} {installed} {installed}{nl}{indent}",
        runtime.flag_text
    );
    edits.push(Edit::insert(runtime.copy.range().start, copy_installed));

    let prune_line = file.line_col(shape.prune.range().start).line;
    let install_line = file.line_col(shape.install.range().start).line;
    let message = format!(
        "`COPY --from={name}` copies {} again after any source edit, and the stage reruns \
         its prune (line {prune_line}) after every build; install (line {install_line}) and \
         prune in stages of their own, keyed on the manifests, and mount the full install \
         for the build",
        shape.installed
    );
    let fix = Fix::unsafe_edit(
        format!(
            "Install and prune {} in stages of their own, mount it for the build, copy it first",
            shape.installed
        ),
        edits,
        DeclaredEffect {
            paths: vec![format!("{installed}/**")],
            summary: format!(
                "{} is pruned before the build instead of after it: what the build writes \
                 into it is not kept (builds that name {} are left alone)",
                shape.installed,
                shape.ecosystem.build_writes_installed.join(", ")
            ),
            ..DeclaredEffect::default()
        },
    )
    .with_removal(shape.prune.range());
    Ok((message, fix))
}

/// The offset where the line holding `at` starts.
fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// Reads the build stage: the manifests COPYs and the install, the context COPYs, the
/// build RUNs, the prune.
fn read_stage<'a, 'k>(ctx: &CheckContext<'k>, stage: &Stage<'a>) -> Result<Shape<'a, 'k>, String> {
    let line = |i: Instruction<'_>| ctx.file.line_col(i.range().start).line;
    let all = &stage.instructions;
    let first = all
        .iter()
        .position(|i| matches!(i.kind(), InstructionKind::Copy | InstructionKind::Add))
        .ok_or("the stage copies nothing")?;
    let install_at = all[first..]
        .iter()
        .position(|i| i.kind() != InstructionKind::Copy)
        .map(|p| first + p)
        .ok_or("nothing follows the COPYs")?;
    for &copy in &all[first..install_at] {
        if !plain_context_copy(copy) || copies_whole_context(copy) {
            return Err(format!(
                "the COPY at line {} is not a plain COPY of manifests",
                line(copy)
            ));
        }
    }
    let install = all[install_at];
    if install.kind() != InstructionKind::Run {
        return Err("no install follows the manifests".into());
    }
    let (ecosystem, installed) = lock_file_install(ctx, install)?;
    if ecosystem.prune.is_empty() {
        return Err(format!("dockopt knows no prune for {}", ecosystem.name));
    }
    let sources_end = all[install_at + 1..]
        .iter()
        .position(|i| i.kind() != InstructionKind::Copy)
        .map_or(all.len(), |p| install_at + 1 + p);
    let sources = &all[install_at + 1..sources_end];
    if !sources.iter().any(|c| copies_whole_context(*c)) {
        return Err("no COPY of the whole context follows the install".into());
    }
    if let Some(copy) = sources.iter().find(|c| !plain_context_copy(**c)) {
        return Err(format!(
            "the COPY at line {} is not a plain COPY of context files",
            line(*copy)
        ));
    }
    let rest = &all[sources_end..];
    let prune_at = rest
        .iter()
        .rposition(|i| i.kind() == InstructionKind::Run)
        .ok_or("no RUN follows the source")?;
    let prune = rest[prune_at];
    if !is_prune(ecosystem, &installed, prune) {
        return Err(format!(
            "the stage's last RUN (line {}) is not a prune",
            line(prune)
        ));
    }
    let mut builds = Vec::new();
    for &instruction in rest {
        match instruction.kind() {
            InstructionKind::Run if instruction.index() == prune.index() => {}
            InstructionKind::Run => {
                check_build(ctx, ecosystem, &installed, instruction)?;
                builds.push(instruction);
            }
            InstructionKind::Env | InstructionKind::Arg => {
                let configures = instruction.key_values().iter().any(|kv| {
                    ecosystem.config_env.iter().any(|g| {
                        glob_component(&g.to_ascii_lowercase(), &kv.key.value.to_ascii_lowercase())
                    })
                }) || (instruction.kind() == InstructionKind::Arg
                    && instruction.words().iter().any(|w| {
                        ecosystem.config_env.iter().any(|g| {
                            let name = w.value.split('=').next().unwrap_or("");
                            glob_component(&g.to_ascii_lowercase(), &name.to_ascii_lowercase())
                        })
                    }));
                if configures {
                    return Err(format!(
                        "the {} at line {} configures {}",
                        instruction.keyword().to_uppercase(),
                        line(instruction),
                        ecosystem.manager
                    ));
                }
            }
            InstructionKind::Label | InstructionKind::Expose => {}
            _ => {
                return Err(format!(
                    "the {} at line {} follows the source COPY",
                    instruction.keyword().to_uppercase(),
                    line(instruction)
                ));
            }
        }
    }
    Ok(Shape {
        ecosystem,
        installed,
        first_copy: all[first],
        install,
        builds,
        prune,
    })
}

/// A RUN that is one prune command of the ecosystem (`npm prune --omit=dev`), or
/// `rm -rf INSTALLED && ` one of its `reinstall_prune` installs, with no flags but cache
/// mounts.
fn is_prune(ecosystem: &Ecosystem, installed: &str, run: Instruction<'_>) -> bool {
    let Some(script) = script_of(run) else {
        return false;
    };
    let only_cache_mounts = run.flags().all(|f| {
        f.name() == "mount"
            && f.value()
                .is_some_and(|v| v.split(',').any(|p| p == "type=cache"))
    });
    let manager = |c: &dockopt_shell::Command| c.program() == Some(ecosystem.manager.as_str());
    let commands = script.commands();
    only_cache_mounts
        && match commands.as_slice() {
            [command] => manager(command) && ecosystem.prune.iter().any(|w| command.has_all(w)),
            [remove, install] => {
                let between = &script.text()[remove.span.clean.end..install.span.clean.start];
                between.trim() == "&&"
                    && removes_only(remove, installed)
                    && manager(install)
                    && ecosystem.reinstall_prune.iter().any(|w| install.has_all(w))
            }
            _ => false,
        }
}

/// `rm -rf FOLDER` (or `./FOLDER`, `-fr`, `-r -f`) and nothing else.
fn removes_only(command: &dockopt_shell::Command, folder: &str) -> bool {
    let targets: Vec<_> = command.positionals().map(|w| w.value()).collect();
    command.program() == Some("rm")
        && command.has_flag("-r")
        && command.has_flag("-f")
        && command.args.iter().filter(|a| a.is_flag()).all(|a| {
            a.value().is_some_and(|v| {
                v.trim_start_matches('-')
                    .chars()
                    .all(|c| matches!(c, 'r' | 'f' | 'R'))
            })
        })
        && matches!(targets.as_slice(), [Some(t)] if t.trim_start_matches("./").trim_end_matches('/') == folder)
}

/// A build RUN the bind mount serves: it installs nothing, mounts nothing over the
/// installed folder, and neither it nor a manifest script it runs names what writes into
/// the installed folder.
fn check_build(
    ctx: &CheckContext<'_>,
    ecosystem: &Ecosystem,
    installed: &str,
    run: Instruction<'_>,
) -> Result<(), String> {
    let at = ctx.file.line_col(run.range().start).line;
    let script = script_of(run).ok_or(format!(
        "the RUN at line {at} is not a script dockopt can read"
    ))?;
    if run.flags().any(|f| f.text.contains(installed)) {
        return Err(format!("the RUN at line {at} mounts over {installed}"));
    }
    for command in script.commands() {
        if crate::manifest::recognize_install(ctx.knowledge, command).is_some()
            || is_prune_command(ecosystem, command)
        {
            return Err(format!("the RUN at line {at} installs or prunes"));
        }
        let mut positionals = command.positionals().map(|w| w.value());
        if command.program() == Some(ecosystem.manager.as_str())
            && positionals
                .next()
                .flatten()
                .is_some_and(|sub| ecosystem.runs_script.iter().any(|s| s == sub))
            && positionals.next().flatten().is_none()
        {
            return Err(format!(
                "the RUN at line {at} runs a script dockopt cannot name"
            ));
        }
    }
    if let Some(word) = installed_writer(ctx.build_context, ecosystem, run.args_text())? {
        return Err(format!(
            "the build at line {at} runs `{word}`, which may write into {installed} what the \
             application needs; the stage keeps its own {installed}"
        ));
    }
    Ok(())
}

/// A command of the manager whose subcommand starts one of its prunes (`npm prune`).
fn is_prune_command(ecosystem: &Ecosystem, command: &dockopt_shell::Command) -> bool {
    let subcommand = command.positionals().next().and_then(|p| p.value());
    command.program() == Some(ecosystem.manager.as_str())
        && ecosystem
            .prune
            .iter()
            .any(|words| words.first().map(String::as_str) == subcommand && subcommand.is_some())
}

/// Fails unless `copy` is the only thing that uses the stage `name`: no other `--from`, no
/// mount from it, no stage built on it; and unless no stage is named by its number
/// (`--from=0`), which the stages the fix adds would shift.
fn only_reference(stages: &[Stage<'_>], name: &str, copy: Instruction<'_>) -> Result<(), String> {
    let names =
        |value: &str| value.eq_ignore_ascii_case(name) || value.bytes().all(|b| b.is_ascii_digit());
    for stage in stages {
        if stage.base().is_some_and(names) {
            return Err(format!("another stage is built on `{name}`"));
        }
        for &instruction in &stage.instructions {
            if instruction.index() == copy.index() {
                continue;
            }
            let uses = instruction.flags().any(|f| match f.name() {
                "from" => f.value().is_some_and(names),
                "mount" => f.value().is_some_and(|v| {
                    v.split(',')
                        .any(|p| p.strip_prefix("from=").is_some_and(names))
                }),
                _ => false,
            });
            if uses {
                let line = instruction.file().line_col(instruction.range().start).line;
                return Err(format!(
                    "line {line} also uses the stage `{name}`, or a stage by its number"
                ));
            }
        }
    }
    Ok(())
}
