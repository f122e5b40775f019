use std::fmt::Write as _;

use dockopt_fix::{DeclaredEffect, Diagnostic, Edit, Fix};
use dockopt_syntax::{Instruction, InstructionKind, Stage};

use crate::manifest::{node_workspace, package_json, recognize_install, yarn_berry};
use crate::paths::{absolute, indent_of};
use crate::rules::script_of;
use crate::stage_state::stage_states;
use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

mod prune_stage;

declare_rule! {
    /// ## What it does
    /// Finds a COPY of a build stage's whole working folder (`COPY --from=build /app /app`)
    /// where that stage ends with a lock-file install of dependencies (`npm ci`, `yarn
    /// install --frozen-lockfile`, `pnpm install --frozen-lockfile`, `bun install
    /// --frozen-lockfile`, `poetry install --no-root` into an in-project venv) followed
    /// only by COPYs of the build context (`COPY . .`), and copies instead the folder the
    /// install created (`node_modules`, `.venv`) from the stage, then the same context
    /// files straight from the context.
    ///
    /// When the stage prunes the development-only packages at its end, after its source
    /// COPY and any build steps (`npm run build`, then `npm prune --omit=dev`: what
    /// `multi-stage` writes for an npm project; for bun before 1.4, `rm -rf node_modules &&
    /// bun install --frozen-lockfile --production` counts as the prune), the stage becomes
    /// four:
    /// `base` (what came before the manifests COPY), `dev-deps` (the manifests and the
    /// install), `prod-deps` (the prune) and the build stage (the source and the build,
    /// with `dev-deps`' installed folder bind-mounted read-write, its writes dropped); the
    /// runtime copies `node_modules` from `prod-deps` before the build stage's folder.
    ///
    /// ## Why is this bad?
    /// Any source edit changes the stage's folder, so the whole folder, every dependency
    /// included, is copied and stored again as a new layer: a one-line change rebuilds and
    /// pushes hundreds of megabytes. Copied on its own, the dependencies' layer stays cached
    /// until the manifests change. `multi-stage` writes the whole-folder COPY; this rule
    /// finishes what `split-copy` started in the build stage.
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM node:22 AS build
    /// WORKDIR /app
    /// COPY package.json package-lock.json ./
    /// RUN npm ci --omit=dev
    /// COPY . .
    ///
    /// FROM node:22-slim
    /// WORKDIR /app
    /// COPY --from=build /app /app
    /// CMD ["node", "server.js"]
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// FROM node:22-slim
    /// WORKDIR /app
    /// COPY --from=build /app/node_modules /app/node_modules
    /// COPY . .
    /// CMD ["node", "server.js"]
    /// ```
    ///
    /// ## Fix safety
    /// Unsafe, because it rests on what the install writes: the stage's folder was the
    /// context files laid over what the install wrote, and the new COPYs lay the same
    /// context files (same `.dockerignore`) over the same installed folder, so the image's
    /// files are the same when the install writes nothing in the folder but that one
    /// (`installed` in `knowledge/manifests.toml`, for the lock-file installs listed as
    /// `exact`: they fail rather than rewrite the lock). The COPY's `--chown`, `--chmod`
    /// and `--link` go on each new COPY. Only when the stage's last RUN is nothing but such
    /// installs, after it come only context COPYs into the folder (one of them of the whole
    /// context) and no WORKDIR, and the project has dependencies (an install of none may
    /// create no folder, and the COPY would fail). Yarn berry projects and Node workspaces
    /// (their members have `node_modules` of their own) are left alone; poetry only with
    /// `POETRY_VIRTUALENVS_IN_PROJECT` set by ENV (`installed_when`) and poetry.lock in the
    /// context (without it, `poetry install` writes one).
    ///
    /// The four-stage form is Unsafe for one more reason: the packages are pruned before
    /// the build instead of after it, so what the build writes into `node_modules` is not
    /// in the image. A build RUN, or a package.json script it runs (with its `pre`/`post`
    /// scripts), that names a tool known to write there (`build_writes_installed` in
    /// knowledge/manifests.toml: prisma, patch-package, `node_modules` itself) leaves the
    /// stage alone, and so do: a build stage other instructions also use, stage names
    /// `base`, `dev-deps` or `prod-deps` already taken, a context that holds
    /// `node_modules`, an ENV or ARG that configures npm between the install and the
    /// prune, a WORKDIR, USER or COPY after the source COPY, and a RUN that installs or
    /// mounts over `node_modules`. The bind mount needs BuildKit (`RUN --mount`, Docker
    /// 18.09 and later), like the cache mounts `cache-mounts` adds.
    ///
    /// ## References
    /// Docker docs, "Multi-stage builds" and "Optimize cache usage in builds" (order
    /// layers by how often they change); hadolint and tally have no equivalent.
    pub struct SplitStageCopy {
        name: "split-stage-copy",
        default_enabled: true,
        fix: FixAvailability::Sometimes,
    }
}

/// A COPY of the whole build context (`COPY . .`, `COPY ./ /app/`).
fn copies_whole_context(instruction: Instruction<'_>) -> bool {
    instruction
        .words()
        .split_last()
        .is_some_and(|(_, sources)| sources.iter().any(|s| matches!(s.value, "." | "./")))
}

/// A COPY of context files into the working folder: no flags, no heredoc, a relative
/// destination without variables.
fn plain_context_copy(instruction: Instruction<'_>) -> bool {
    instruction.kind() == InstructionKind::Copy
        && instruction.flags().next().is_none()
        && !instruction.is_exec_form()
        && instruction.heredocs().len() == 0
        && instruction
            .words()
            .last()
            .is_some_and(|d| !d.value.starts_with('/') && !d.value.contains('$'))
}

/// The WORKDIR in effect before the instruction at `until` in `stage` (`None`: at its end),
/// absolute; `None` when unknown.
fn workdir_before(stage: &Stage<'_>, until: Option<usize>) -> Option<String> {
    let mut workdir = Some("/".to_string());
    for instruction in &stage.instructions {
        if Some(instruction.index()) == until {
            break;
        }
        if instruction.kind() == InstructionKind::Workdir {
            workdir = instruction
                .words()
                .first()
                .and_then(|w| absolute(workdir.as_deref(), w.value));
        }
    }
    workdir
}

/// What the end of the build stage gives: the folder the install creates, the context
/// COPYs after it (to replay), and why not when it does not fit.
struct StageEnd<'a> {
    installed: String,
    install_line: usize,
    copies: Vec<Instruction<'a>>,
}

/// The folder the lock-file installs of `run` create, with their ecosystem, when `run` is
/// nothing but such installs (of one ecosystem).
fn lock_file_install<'k>(
    ctx: &CheckContext<'k>,
    run: Instruction<'_>,
) -> Result<(&'k crate::knowledge::Ecosystem, String), String> {
    let script = script_of(run).ok_or("the RUN is not a script dockopt can read")?;
    let mut found: Option<(&crate::knowledge::Ecosystem, String)> = None;
    for command in script.commands() {
        let install = recognize_install(ctx.knowledge, command)
            .ok_or("the RUN does more than install dependencies")?;
        let eco = install.ecosystem;
        let exact = eco.exact.iter().any(|words| command.has_all(words));
        let folder = eco
            .installed
            .as_deref()
            .filter(|_| exact)
            .ok_or("its install is not a lock-file install that writes only its own folder")?;
        if found
            .as_ref()
            .is_some_and(|(e, f)| e.name != eco.name || f != folder)
        {
            return Err("its installs are of different ecosystems".into());
        }
        if eco.name == "yarn" && ctx.build_context.is_none_or(|c| yarn_berry(c).is_some()) {
            return Err("the project may use Yarn berry".into());
        }
        // Workspace members get node_modules of their own, which the COPY of the root's
        // would leave behind.
        if eco.analysis == "node"
            && let Some(why) = ctx
                .build_context
                .map_or(Some("no build context"), node_workspace)
        {
            return Err(format!("{why}: its members have their own {folder}"));
        }
        // An install with no dependencies may create no node_modules (the COPY would fail).
        if eco.analysis == "node" && !has_dependencies(ctx) {
            return Err("package.json lists no dependencies".into());
        }
        // The folder is the install's only when the stage's ENV puts it there (poetry's
        // in-project venv) and the lock it installs from is in the context.
        if !eco.installed_when.is_empty() {
            let state = &stage_states(ctx.file)[run.index()];
            let set = eco.installed_when.iter().any(|assignment| {
                assignment
                    .split_once('=')
                    .is_some_and(|(name, value)| state.var(name) == Some(value))
            });
            if !set {
                return Err(format!(
                    "the install puts {folder} in the working folder only with {} set by ENV",
                    eco.installed_when.join(" or ")
                ));
            }
        }
        if let Some(lock) = &eco.deps_only_lock
            && !ctx
                .build_context
                .and_then(|c| c.files())
                .is_some_and(|files| files.contains(lock))
        {
            return Err(format!("{lock} is not in the build context"));
        }
        found = Some((eco, folder.to_string()));
    }
    found.ok_or_else(|| "the RUN installs nothing".into())
}

fn stage_end<'a>(ctx: &CheckContext<'_>, stage: &Stage<'a>) -> Result<StageEnd<'a>, String> {
    let last_run = stage
        .instructions
        .iter()
        .rposition(|i| i.kind() == InstructionKind::Run)
        .ok_or("the stage has no RUN")?;
    let run = stage.instructions[last_run];
    let (_, installed) = lock_file_install(ctx, run)?;
    let mut copies = Vec::new();
    for &instruction in &stage.instructions[last_run + 1..] {
        match instruction.kind() {
            InstructionKind::Copy => {
                if !plain_context_copy(instruction) {
                    return Err(format!(
                        "the COPY at line {} is not a plain COPY of context files into the folder",
                        ctx.file.line_col(instruction.range().start).line
                    ));
                }
                copies.push(instruction);
            }
            InstructionKind::Env
            | InstructionKind::Label
            | InstructionKind::Expose
            | InstructionKind::Arg
            | InstructionKind::User => {}
            _ => {
                return Err(format!(
                    "the {} at line {} follows the install",
                    instruction.keyword().to_uppercase(),
                    ctx.file.line_col(instruction.range().start).line
                ));
            }
        }
    }
    if !copies.iter().any(|c| copies_whole_context(*c)) {
        return Err("no COPY of the whole context follows the install".into());
    }
    Ok(StageEnd {
        installed,
        install_line: ctx.file.line_col(run.range().start).line,
        copies,
    })
}

/// Whether the project in the context has dependencies to install (package.json).
fn has_dependencies(ctx: &CheckContext<'_>) -> bool {
    let Some(package) = ctx.build_context.and_then(package_json) else {
        return false;
    };
    ["dependencies", "devDependencies", "optionalDependencies"]
        .iter()
        .any(|k| {
            package
                .get(k)
                .and_then(|d| d.as_object())
                .is_some_and(|d| !d.is_empty())
        })
}

impl Rule for SplitStageCopy {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let file = ctx.file;
        let stages = file.stages();
        let text = file.text();
        let mut out = Vec::new();
        for stage in &stages {
            for &copy in &stage.instructions {
                if copy.kind() != InstructionKind::Copy || copy.is_exec_form() {
                    continue;
                }
                let Some(from) = copy.flag("from").and_then(dockopt_syntax::Flag::value) else {
                    continue;
                };
                let Some(source_stage) = stages.iter().find(|s| {
                    s.index < stage.index
                        && s.from.from().is_some_and(|f| {
                            f.stage_name
                                .is_some_and(|n| n.value.eq_ignore_ascii_case(from))
                        })
                }) else {
                    continue;
                };
                let words = copy.words();
                let [source, dest] = words.as_slice() else {
                    continue;
                };
                let Some(workdir) = workdir_before(source_stage, None) else {
                    continue;
                };
                // The whole working folder, to the same folder, which is this stage's WORKDIR.
                let here = workdir_before(stage, Some(copy.index()));
                if workdir == "/"
                    || absolute(Some("/"), source.value).as_deref() != Some(workdir.as_str())
                    || absolute(here.as_deref(), dest.value).as_deref() != Some(workdir.as_str())
                    || here.as_deref() != Some(workdir.as_str())
                {
                    continue;
                }
                let mut flags = Vec::new();
                let mut other_flag = false;
                for flag in copy.flags() {
                    match flag.name() {
                        "from" => {}
                        "chown" | "chmod" | "link" => flags.push(&text[flag.range.range()]),
                        _ => other_flag = true,
                    }
                }
                if other_flag || ctx.build_context.is_none() {
                    continue;
                }
                let mut flag_text = String::new();
                for f in &flags {
                    let _ = write!(flag_text, " {f}");
                }
                let Ok(end) = stage_end(ctx, source_stage) else {
                    let runtime = prune_stage::RuntimeCopy {
                        copy,
                        workdir: workdir.clone(),
                        flag_text,
                    };
                    if let Ok((message, fix)) =
                        prune_stage::fix(ctx, &stages, source_stage, &runtime)
                    {
                        out.push(
                            Diagnostic::new(Self::META.name, copy.range(), message).with_fix(fix),
                        );
                    }
                    continue;
                };
                let keyword = copy.keyword();
                let indent = indent_of(text, copy.range().start);
                let nl = file.line_ending();
                let installed = format!("{}/{}", workdir.trim_end_matches('/'), end.installed);
                let from_flag = copy.flag("from").map_or("", |f| &text[f.range.range()]);
                let mut replacement =
                    format!("{keyword} {from_flag}{flag_text} {installed} {installed}");
                for c in &end.copies {
                    let args = &text[c.args_range().range()];
                    let _ = write!(replacement, "{nl}{indent}{keyword}{flag_text} {args}");
                }
                let fix = Fix::unsafe_edit(
                    format!("Copy {installed} from `{from}`, then the source from the context"),
                    vec![Edit::replace(copy.range(), replacement)],
                    DeclaredEffect {
                        paths: vec![format!("{workdir}/**")],
                        summary: format!(
                            "the folder's files come from the same context COPYs laid over the \
                             same {} (what the install at line {} writes)",
                            end.installed, end.install_line
                        ),
                        ..DeclaredEffect::default()
                    },
                );
                out.push(
                    Diagnostic::new(
                        Self::META.name,
                        copy.range(),
                        format!(
                            "`COPY --from={from} {}` copies {} again after any source edit; \
                             copy {installed} first and the source from the context",
                            source.value, end.installed
                        ),
                    )
                    .with_fix(fix),
                );
            }
        }
        out
    }
}
