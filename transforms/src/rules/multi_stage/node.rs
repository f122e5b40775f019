//! Node (npm, Yarn, pnpm, bun): the whole WORKDIR (source, build output, `node_modules`)
//! on `node:X-slim`, after the package manager's prune at the end of the build stage when an
//! install put devDependencies in (`npm prune --omit=dev`, `pnpm prune --prod`, bun's and
//! Yarn's in yarn.rs and below). pnpm itself (from `npm install -g` or corepack) stays in
//! the build stage: the runtime runs the app without it.

use dockopt_syntax::{Instruction, InstructionKind};

use super::args::{Opt, literal, option_value, parse_args};
use super::ecosystem::{Added, Additions, Call, Ecosystem};
use super::facts::PnpmFacts;
use super::scan::{Scan, WriteKind};
use super::{Analysis, Plan, base_name};
use crate::paths::{absolute, under};

mod yarn;

#[derive(Default)]
pub(super) struct Node {
    /// The npm installs, and how many of them install no devDependencies.
    installs: usize,
    prod_installs: usize,
    /// The USER each install runs as (`None`: root), with its line.
    users: Vec<(usize, Option<String>)>,
    /// The line of the last pnpm install that put devDependencies in and that no
    /// `pnpm prune --prod` followed, and the prune the build stage then ends with.
    pnpm_dev: Option<(usize, String)>,
    /// The line of a pnpm (or bun) install, and of an npm or Yarn install (pnpm's
    /// node_modules and theirs do not mix).
    pnpm_line: Option<usize>,
    /// Which of pnpm and bun installed at `pnpm_line`.
    exclusive: Option<&'static str>,
    other_line: Option<(usize, &'static str)>,
    /// How the build set package managers up outside the WORKDIR (`npm install -g pnpm`,
    /// `corepack enable`), with the line: the runtime stage has none of them.
    setups: Vec<(usize, String)>,
    /// Whether corepack put its shims on PATH.
    corepack: bool,
    /// The last bun install that put devDependencies in and that no `bun prune
    /// --production` followed.
    bun_dev: Option<DevPrune>,
    /// The same for Yarn (yarn.rs).
    yarn_dev: Option<DevPrune>,
}

/// An install that put devDependencies in, and how the build stage drops them.
struct DevPrune {
    /// The RUN's position in the stage.
    pos: usize,
    /// What the build stage ends with.
    prune: String,
    /// Whether that relinks node_modules from the lock file (Yarn, bun before `bun
    /// prune`), dropping what the build wrote there.
    reinstall: bool,
}

impl Node {
    /// The prune the build stage ends with, when an install put devDependencies in.
    fn prune(&self) -> Option<String> {
        if let Some((_, prune)) = &self.pnpm_dev {
            return Some(prune.clone());
        }
        if let Some(dev) = self.bun_dev.as_ref().or(self.yarn_dev.as_ref()) {
            return Some(dev.prune.clone());
        }
        (self.installs > self.prod_installs).then(|| "npm prune --omit=dev".to_string())
    }

    /// Records a project install by `manager`; pnpm's (bun's) must be the only one.
    fn project_install(&mut self, manager: &'static str, line: usize) -> Plan<()> {
        if manager == "pnpm" || manager == "bun" {
            if let Some((other, name)) = self.pnpm_line.zip(self.exclusive)
                && name != manager
            {
                return Err(format!(
                    "the stage installs with {name} (line {other}) and {manager} (line {line}); \
                     dockopt converts a project installed by one package manager"
                ));
            }
            self.exclusive = Some(manager);
        }
        if manager == "pnpm" || manager == "bun" {
            self.pnpm_line = Some(line);
        } else if self.other_line.is_none() {
            self.other_line = Some((line, manager));
        }
        if let (Some(pnpm), Some((other, name)), Some(first)) =
            (self.pnpm_line, self.other_line, self.exclusive)
        {
            return Err(format!(
                "the stage installs with {first} (line {pnpm}) and {name} (line {other}); \
                 dockopt converts a project installed by one package manager"
            ));
        }
        Ok(())
    }
}

impl Ecosystem for Node {
    fn name(&self) -> &'static str {
        "node"
    }

    fn scan(&mut self, scan: &mut Scan, call: &Call<'_>) -> Plan<()> {
        let Call {
            command,
            manager,
            program,
            state,
            line,
            ..
        } = *call;
        if manager == "yarn" {
            return self.scan_yarn(scan, call);
        }
        if manager == "pnpm" {
            return self.scan_pnpm(call);
        }
        if manager == "bun" {
            return self.scan_bun(scan, call);
        }
        if manager != "npm" {
            return Err(format!(
                "the stage installs with {program}; only npm, Yarn classic, pnpm and bun are \
                 supported"
            ));
        }
        let sub = call.subcommand();
        let has = |flag: &str| command.has_flag(flag);
        if has("-g")
            || has("--global")
            || command.args.iter().any(|w| w.is("--location=global"))
            || sub == "link"
        {
            if let Some(tools) = global_build_tools(call) {
                self.setups
                    .push((line, format!("`npm {sub} -g {}`", tools.join(" "))));
                return Ok(());
            }
            return Err(format!(
                "`npm {sub} -g` at line {line} installs outside WORKDIR (globals live in \
                 npm's prefix); the runtime stage would not get them"
            ));
        }
        if call.knowledge.multi_stage.node.is_npm_install(sub) {
            self.project_install("npm", line)?;
            self.installs += 1;
            self.users.push((line, state.user.clone()));
            let omit_dev = call.knowledge.multi_stage.node.omits_dev(&command.args);
            if omit_dev {
                self.prod_installs += 1;
            }
        }
        Ok(())
    }

    /// The prune runs as the user that installed.
    fn check_build_stage(
        &self,
        a: &Analysis<'_>,
        _envs: &[Instruction<'_>],
        runtime: &[(Instruction<'_>, bool)],
    ) -> Plan<()> {
        let Some(prune) = self.prune() else {
            return Ok(());
        };
        if let Some(dev) = self.bun_dev.as_ref().filter(|d| d.reinstall) {
            let since = &a.knowledge().multi_stage.node.bun.prune_since;
            check_reinstall(a, dev, "bun", |prune| {
                format!(
                    "the bun of {}:{} may predate `bun prune` ({since}), and `{prune}` at the \
                     end of the build stage would drop it (pin a tag of bun {since} or later)",
                    a.base.repository, a.base.tag
                )
            })?;
        }
        if let Some(dev) = &self.yarn_dev {
            check_reinstall(a, dev, "yarn", |prune| {
                format!(
                    "`{prune}` at the end of the build stage relinks node_modules from the lock \
                     file and would drop it"
                )
            })?;
        }
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
        if let Some((line, user)) = self.users.iter().find(|(_, u)| *u != end_user) {
            let who = |u: &Option<String>| u.clone().unwrap_or_else(|| "root".into());
            return Err(format!(
                "`{prune}` would run as {} at the end of the build stage, but the install at \
                 line {line} ran as {}",
                who(&end_user),
                who(user)
            ));
        }
        Ok(())
    }

    fn artifacts(
        &self,
        a: &Analysis<'_>,
        _runtime: &[(Instruction<'_>, bool)],
    ) -> Plan<Vec<String>> {
        let wd = a.final_wd.clone().unwrap_or_default();
        Ok(vec![wd])
    }

    /// What the runtime runs must not need a devDependency (node_run.rs).
    fn check_command(&self, a: &Analysis<'_>, instruction: Instruction<'_>) -> Plan<()> {
        if self.exclusive == Some("bun") {
            check_bun_cmd(a, instruction)?;
        }
        super::node_run::check_dev_dependencies(a, instruction, self.prune().as_deref())
    }

    /// pnpm, pnpx and corepack (and Yarn after `corepack enable`) are not in the runtime.
    fn check_program(
        &self,
        a: &Analysis<'_>,
        instruction: Instruction<'_>,
        program: &str,
    ) -> Plan<()> {
        let facts = &a.knowledge().multi_stage.node;
        let base = base_name(program);
        let shim = self.corepack && facts.corepack_shims.iter().any(|s| s == base);
        if !shim && !facts.runtime_missing.iter().any(|p| p == base) {
            return Ok(());
        }
        let from = match self.setups.first() {
            Some((line, how)) => format!(" (the build stage gets it from {how} at line {line})"),
            None => String::new(),
        };
        let what = if shim {
            format!(
                "`{base}`, which after `corepack enable` is the version package.json's \
                 packageManager names, and {} has Yarn classic",
                a.twin
            )
        } else {
            format!("`{base}`, which {} does not have{from}", a.twin)
        };
        Err(format!(
            "the {} at line {} runs {what}; dockopt converts it when the command runs the app \
             with node (`node index.js`, or `npm start` whose script runs node)",
            instruction.keyword().to_uppercase(),
            a.line(instruction)
        ))
    }

    /// corepack (package manager shims, build-only) and `npx pnpm`.
    fn scan_program(&mut self, call: &Call<'_>) -> Option<Plan<()>> {
        let facts = &call.knowledge.multi_stage.node;
        let Call {
            command,
            program,
            line,
            ..
        } = *call;
        if program == facts.corepack.program {
            let sub = call.subcommand();
            if facts.corepack.setup.iter().any(|s| s == sub) {
                self.corepack = true;
                self.setups.push((line, format!("`corepack {sub}`")));
                return Some(Ok(()));
            }
            return Some(Err(format!(
                "`corepack {sub}` at line {line}: dockopt converts corepack's {} only (run the \
                 package manager itself after `corepack enable`)",
                and_words(&facts.corepack.setup)
            )));
        }
        if program == "npx" {
            let (operands, _) = parse_args(&command.args, &[]);
            let package = operands.first().and_then(|w| literal(w)).unwrap_or("");
            let name = package_name(package);
            if facts.global_build_tools.iter().any(|t| t == name) {
                return Some(Err(format!(
                    "the RUN at line {line} runs `npx {package}`; dockopt follows pnpm when \
                     it is run itself (`npm install -g pnpm` or `corepack enable`, then `pnpm \
                     install`)"
                )));
            }
        }
        None
    }

    fn additions(&self) -> Additions {
        let mut additions = Additions::default();
        if let Some(prune) = self.prune() {
            additions.build_end.push(Added {
                keyword: "RUN",
                args: prune,
            });
        }
        additions
    }
}

/// The packages of a global `npm install` when all of them only set a package manager up
/// (knowledge/multi-stage.toml `global_build_tools`); `None` otherwise.
fn global_build_tools(call: &Call<'_>) -> Option<Vec<String>> {
    let facts = &call.knowledge.multi_stage.node;
    let sub = call.subcommand();
    if !matches!(sub, "install" | "i" | "in" | "add") {
        return None;
    }
    let (operands, _) = parse_args(&call.command.args, &[]);
    let packages = operands.get(1..).filter(|p| !p.is_empty())?;
    packages
        .iter()
        .map(|w| {
            let spec = literal(w)?;
            let name = package_name(spec);
            facts
                .global_build_tools
                .iter()
                .any(|t| t == name)
                .then(|| spec.to_string())
        })
        .collect()
}

/// The package name of an npm package spec (`pnpm@9.8.0` gives `pnpm`).
pub(super) fn package_name(spec: &str) -> &str {
    match spec.strip_prefix('@') {
        Some(rest) => rest.find('@').map_or(spec, |i| &spec[..=i]),
        None => spec.split('@').next().unwrap_or(spec),
    }
}

/// `a`, `b` and `c`, each in backticks.
fn and_words(words: &[String]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    crate::rules::and_list(&quoted)
}

impl Node {
    /// pnpm: installs of the one project in the WORKDIR (no workspace, no global
    /// install), whose node_modules stays in it (.npmrc and flags checked); a
    /// `pnpm prune --prod` ends the build stage when devDependencies went in.
    fn scan_pnpm<'r>(&mut self, call: &Call<'r>) -> Plan<()> {
        let facts = &call.knowledge.multi_stage.node.pnpm;
        let Call {
            command,
            state,
            line,
            ..
        } = *call;
        let has = |flags: &'r [String]| command.first_flag(flags);
        if let Some(flag) = has(&facts.global_flags) {
            return Err(format!(
                "the `pnpm {flag}` at line {line} installs outside WORKDIR (globals live in \
                 PNPM_HOME); the runtime stage would not get them"
            ));
        }
        if let Some(flag) = has(&facts.workspace_flags) {
            return Err(format!(
                "the `pnpm {flag}` at line {line} works on a pnpm workspace; dockopt converts \
                 a single project"
            ));
        }
        if let Some(flag) = has(&facts.dir_flags) {
            return Err(format!(
                "the `pnpm {flag}` at line {line} works on a project in another folder; \
                 dockopt converts pnpm run in the WORKDIR"
            ));
        }
        let sub = call.subcommand();
        let installs = facts.installs.iter().any(|s| s == sub);
        let adds = facts.adds.iter().any(|s| s == sub);
        if installs || adds {
            Self::check_pnpm_project(call, facts)?;
            self.project_install("pnpm", line)?;
            if installs && let Some(flag) = has(&facts.dev_only_flags) {
                return Err(format!(
                    "the `pnpm {sub} {flag}` at line {line} installs devDependencies only; the \
                     runtime stage needs the production ones"
                ));
            }
            let off = has(&facts.prod_off_flags).is_some();
            let env_prod = |value: Option<&str>| value == Some(facts.prod_env_value.as_str());
            let production = installs
                && !off
                && (has(&facts.prod_flags).is_some()
                    || command.assignments.iter().any(|a| {
                        a.name == facts.prod_env
                            && env_prod(a.value.as_ref().and_then(|v| v.value()))
                    })
                    || call.exported.iter().any(|e| {
                        e.split_once('=')
                            .is_some_and(|(k, v)| k == facts.prod_env && env_prod(Some(v)))
                    })
                    || env_prod(state.var(&facts.prod_env)));
            self.users.push((line, state.user.clone()));
            if !production {
                self.pnpm_dev = Some((line, facts.prune.clone()));
            }
            return Ok(());
        }
        if sub == facts.prune_subcommand {
            if has(&facts.prune_flags).is_some() {
                self.pnpm_dev = None;
            }
            return Ok(());
        }
        if facts.runs.iter().any(|s| s == sub) || facts.store_only.iter().any(|s| s == sub) {
            return Ok(());
        }
        // `pnpm NAME` runs the project's script NAME when pnpm has no such command.
        let script = call
            .build_context
            .and_then(crate::manifest::package_json)
            .is_some_and(|p| p.get("scripts").and_then(|s| s.get(sub)).is_some());
        if script && !sub.is_empty() {
            return Ok(());
        }
        Err(format!(
            "`pnpm {sub}` at line {line}: dockopt converts pnpm's {}, `{}`, scripts and store \
             commands only",
            and_words(&[facts.installs.clone(), facts.adds.clone()].concat()),
            facts.prune_subcommand
        ))
    }

    /// What an install of the project needs: it runs in the WORKDIR, the context has no
    /// workspace file, the settings keep node_modules and its virtual store in the
    /// WORKDIR, and the project has no install scripts of its own.
    fn check_pnpm_project(call: &Call<'_>, facts: &PnpmFacts) -> Plan<()> {
        let Call {
            command,
            state,
            line,
            zone,
            cwd,
            ..
        } = *call;
        install_in_workdir(call, "pnpm")?;
        let Some(context) = call.build_context else {
            return Err(format!(
                "the `pnpm` at line {line} may keep node_modules outside WORKDIR or work on a \
                 workspace; dockopt needs package.json, {} and {} from the build context to tell",
                facts.config_file, facts.workspace_file
            ));
        };
        if context.read_text(&facts.workspace_file).is_some() {
            return Err(format!(
                "the build context has {} (a pnpm workspace, or settings dockopt does not read); \
                 dockopt converts a single pnpm project without it",
                facts.workspace_file
            ));
        }
        // Settings: the project's .npmrc, then npm_config_* variables, then flags (last wins).
        let npmrc = context.read_text(&facts.config_file).unwrap_or_default();
        let setting = |key: &str| -> Option<(String, String)> {
            let mut found: Option<(String, String)> = None;
            for raw in npmrc.lines() {
                let text = raw.trim();
                if text.starts_with(['#', ';']) {
                    continue;
                }
                if let Some((k, v)) = text.split_once('=')
                    && k.trim() == key
                {
                    found = Some((
                        format!("{} (`{}`)", facts.config_file, text),
                        v.trim().to_string(),
                    ));
                }
            }
            let var = format!("npm_config_{}", key.replace('-', "_"));
            for name in [var.clone(), var.to_uppercase()] {
                if state.is_set(&name) {
                    let value = state.var(&name).unwrap_or("$").to_string();
                    found = Some((format!("ENV {name}"), value));
                }
                if let Some(a) = command.assignments.iter().find(|a| a.name == name) {
                    let value = a.value.as_ref().and_then(|v| v.value()).unwrap_or("$");
                    found = Some((format!("{name}= on the command"), value.to_string()));
                }
            }
            match option_value(&command.args, &[&format!("--{key}")]) {
                Opt::Absent => {}
                Opt::Unreadable => found = Some((format!("--{key}"), "$".into())),
                Opt::Value(v) => found = Some((format!("--{key}"), v.to_string())),
            }
            found
        };
        for key in &facts.folder_settings {
            let Some((source, value)) = setting(key) else {
                continue;
            };
            let inside = !value.contains('$')
                && !value.starts_with('~')
                && absolute(cwd, &value).is_some_and(|p| zone.is_some_and(|z| under(z, &p)));
            if !inside {
                return Err(format!(
                    "{source} sets pnpm's {key} to {value}, which dockopt cannot tell is inside \
                     WORKDIR; the runtime stage copies only WORKDIR (leave {key} unset, or \
                     relative to the project)"
                ));
            }
        }
        for outside in &facts.outside_settings {
            if let Some((source, value)) = setting(&outside.key)
                && (value == outside.value || value.contains('$'))
            {
                return Err(format!(
                    "{source} sets pnpm's {} to {value}: the packages stay in pnpm's store, \
                     outside WORKDIR, and the runtime stage would not get them",
                    outside.key
                ));
            }
        }
        let Some(package) = crate::manifest::package_json(context) else {
            return Err(format!(
                "the `pnpm install` at line {line} needs package.json, which the build context \
                 lacks or dockopt cannot read"
            ));
        };
        check_install_hooks(&package, &facts.lifecycle_scripts, "pnpm")?;
        Ok(())
    }
}

/// The name part of a USER value; `None` for root.
fn user_name(value: &str) -> Option<String> {
    let name = value.split(':').next().unwrap_or(value).trim();
    (!matches!(name, "" | "root" | "0")).then(|| name.to_string())
}

impl Node {
    /// bun on the oven/bun images: `bun install` (`i`, `ci`) of the one project in the
    /// WORKDIR (no workspace, no global install, a lock file in the build context); the
    /// build stage ends with `bun prune --production` when devDependencies went in and the
    /// image's bun surely has it, else with a reinstall of the production dependencies.
    fn scan_bun<'r>(&mut self, scan: &mut Scan, call: &Call<'r>) -> Plan<()> {
        let facts = &call.knowledge.multi_stage.node.bun;
        let Call {
            command,
            state,
            line,
            pos,
            ..
        } = *call;
        let image = state
            .root_image
            .as_deref()
            .and_then(|b| crate::image::lookup(call.knowledge, b));
        let Some(image) = image.filter(|i| facts.repositories.contains(&i.repository)) else {
            return Err(format!(
                "the `bun` at line {line} runs on an image without bun of its own; dockopt \
                 converts bun builds on the oven/bun images, whose slim twin has bun too"
            ));
        };
        if !facts.tag_is_measured(&image.tag) {
            return Err(format!(
                "the `bun` at line {line} runs on {}:{}, a bun older than {} (the oldest whose \
                 installs dockopt measured); a newer tag would make it sure",
                image.repository, image.tag, facts.measured_since
            ));
        }
        let has = |flags: &'r [String]| command.first_flag(flags);
        if let Some(flag) = has(&facts.global_flags) {
            return Err(format!(
                "the `bun {flag}` at line {line} installs outside WORKDIR (globals live in \
                 BUN_INSTALL); the runtime stage would not get them"
            ));
        }
        if let Some(flag) = has(&facts.dir_flags) {
            return Err(format!(
                "the `bun {flag}` at line {line} works on another project or a workspace; \
                 dockopt converts bun run in the WORKDIR of a single project"
            ));
        }
        let sub = call.subcommand();
        if facts.lock_changes.iter().any(|s| s == sub) {
            return Err(format!(
                "`bun {sub}` at line {line} changes package.json and the lock file (or links \
                 packages from outside the project); dockopt converts `bun install` of the \
                 project as locked"
            ));
        }
        if facts.installs.iter().any(|s| s == sub) {
            let (operands, _) = parse_args(&command.args, &[]);
            if operands.len() > 1 {
                return Err(format!(
                    "the `bun {sub}` at line {line} adds packages (or `--omit dev`, which bun \
                     before 1.1.45 reads as adding `dev`); dockopt converts `bun install` of \
                     the project as locked"
                ));
            }
            Self::check_bun_project(call)?;
            self.project_install("bun", line)?;
            self.users.push((line, state.user.clone()));
            if has(&facts.prod_flags).is_none() {
                let frozen = facts
                    .frozen
                    .iter()
                    .any(|w| w == sub || call.command.has_flag(w));
                check_lock_used(scan, call, frozen, "--frozen-lockfile", &facts.locks)?;
                let reinstall = !facts.tag_has_prune(&image.tag);
                let prune = if reinstall {
                    let mut text = call.mounts.join(" ");
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str(&facts.reinstall);
                    text
                } else {
                    facts.prune.clone()
                };
                self.bun_dev = Some(DevPrune {
                    pos,
                    prune,
                    reinstall,
                });
            }
            return Ok(());
        }
        if sub == facts.prune_subcommand {
            if has(&facts.prune_flags).is_some() {
                self.bun_dev = None;
            }
            return Ok(());
        }
        if sub == facts.build {
            for (flags, kind) in [
                (&facts.build_out_dir, WriteKind::Folder),
                (&facts.build_out_file, WriteKind::File),
            ] {
                let names: Vec<&str> = flags.iter().map(String::as_str).collect();
                match option_value(&command.args, &names) {
                    Opt::Absent => {}
                    Opt::Unreadable => {
                        return Err(format!(
                            "the `bun build` at line {line} writes to a path dockopt cannot read"
                        ));
                    }
                    Opt::Value(path) => {
                        let path = path.to_string();
                        scan.write_path(call.zone, call.cwd, &path, kind, line, "bun build")?;
                    }
                }
            }
            return Ok(());
        }
        if facts.runs.iter().any(|s| s == sub) {
            return Ok(());
        }
        // `bun NAME` runs the project's script NAME, or the file NAME.
        let script = call
            .build_context
            .and_then(crate::manifest::package_json)
            .is_some_and(|p| p.get("scripts").and_then(|s| s.get(sub)).is_some());
        if script && !sub.is_empty() {
            return Ok(());
        }
        Err(format!(
            "`bun {sub}` at line {line}: dockopt converts bun's {}, `{}`, `{}`, scripts and \
             runs only",
            and_words(&facts.installs),
            facts.prune_subcommand,
            facts.build
        ))
    }

    /// What a bun install of the project needs: it runs in the WORKDIR, the build context
    /// has package.json without workspaces or install scripts and a lock file, and nothing
    /// keeps packages or globals outside the WORKDIR.
    fn check_bun_project(call: &Call<'_>) -> Plan<()> {
        let facts = &call.knowledge.multi_stage.node.bun;
        let Call {
            command,
            state,
            line,
            zone,
            cwd,
            ..
        } = *call;
        install_in_workdir(call, "bun")?;
        for outside in &facts.outside_flags {
            match option_value(&command.args, &[outside.key.as_str()]) {
                Opt::Value(v) if v != outside.value => {}
                Opt::Absent => {}
                _ => {
                    return Err(format!(
                        "the `bun install` at line {line} sets {} to {} (or a value dockopt \
                         cannot read): node_modules would link into bun's cache, outside \
                         WORKDIR, and the runtime stage would not get the packages",
                        outside.key, outside.value
                    ));
                }
            }
        }
        // Variables that move bun's global folders, set by the Dockerfile or the command.
        let image_env = state
            .root_image
            .as_deref()
            .and_then(|b| crate::image::lookup(call.knowledge, b))
            .map(|i| i.env)
            .unwrap_or_default();
        for name in &facts.install_env {
            let on_command = command
                .assignments
                .iter()
                .find(|a| a.name == *name)
                .map(|a| a.value.as_ref().and_then(|v| v.value()).unwrap_or("$"));
            let exported = call
                .exported
                .iter()
                .find_map(|e| e.split_once('=').filter(|(k, _)| k == name).map(|(_, v)| v));
            let from_env = state
                .is_set(name)
                .then(|| state.var(name).unwrap_or("$"))
                .filter(|v| image_env.get(name).map(String::as_str) != Some(*v));
            let Some(value) = on_command.or(exported).or(from_env) else {
                continue;
            };
            let inside = !value.contains('$')
                && absolute(cwd, value).is_some_and(|p| zone.is_some_and(|z| under(z, &p)));
            if !inside {
                return Err(format!(
                    "{name} is {value} at line {line}, outside WORKDIR (or a value dockopt \
                     cannot read): what bun puts there the runtime stage would not get"
                ));
            }
        }
        let Some(context) = call.build_context else {
            return Err(format!(
                "the `bun install` at line {line} may work on a workspace or lack a lock file; \
                 dockopt needs package.json and {} from the build context to tell",
                facts.locks.join(" or ")
            ));
        };
        let Some(package) = crate::manifest::package_json(context) else {
            return Err(format!(
                "the `bun install` at line {line} needs package.json, which the build context \
                 lacks or dockopt cannot read"
            ));
        };
        if package.get("workspaces").is_some() {
            return Err(
                "package.json has `workspaces` (bun installs them with its isolated linker); \
                 dockopt converts a single bun project"
                    .to_string(),
            );
        }
        check_install_hooks(&package, &facts.lifecycle_scripts, "bun")?;
        let lock = facts
            .locks
            .iter()
            .find(|l| context.kind(l).is_some() && !context.is_excluded(l));
        if lock.is_none() {
            return Err(format!(
                "the build context has no {} (or .dockerignore leaves it out): `bun install` \
                 resolves the dependencies anew, and dockopt cannot tell which versions the \
                 runtime stage would get; commit the lock file",
                facts.locks.join(" or ")
            ));
        }
        Ok(())
    }
}

/// The prune or reinstall after the source COPY reads the context's package.json and lock:
/// the install at `call` must have used that lock (`frozen`, lock COPYed before it).
fn check_lock_used(
    scan: &Scan,
    call: &Call<'_>,
    frozen: bool,
    frozen_flag: &str,
    locks: &[String],
) -> Plan<()> {
    let (line, manager, sub) = (call.line, call.program, call.subcommand());
    let what = format!("{manager} {sub}");
    let what = what.trim_end();
    if !frozen {
        return Err(format!(
            "the `{what}` at line {line} may update the lock file, and the source COPY after \
             it puts the context's back before devDependencies are dropped; with \
             `{frozen_flag}` dockopt can convert it"
        ));
    }
    let copied = scan.context_copies.iter().any(|c| {
        c.sources.iter().any(|s| {
            let s = s.trim_end_matches('/');
            matches!(s, "." | "./" | "") || locks.iter().any(|l| base_name(s) == l.as_str())
        })
    });
    if !copied {
        return Err(format!(
            "the `{what}` at line {line} runs before the lock file is COPYed (so it resolves \
             anew), and dropping devDependencies after the source COPY would install from the \
             context's lock; COPY {} before the install",
            locks.join(" or ")
        ));
    }
    Ok(())
}

/// A prune that relinks node_modules from the lock file drops what the build wrote into it
/// after the install: a RUN after the install that runs a tool known to write there
/// (manifests.toml `build_writes_installed` of `ecosystem`, also through the package.json
/// scripts it names) makes the rule report, with `why` saying what the prune does.
fn check_reinstall(
    a: &Analysis<'_>,
    dev: &DevPrune,
    ecosystem: &str,
    why: impl Fn(&str) -> String,
) -> Plan<()> {
    let knowledge = a.knowledge();
    let Some(eco) = knowledge
        .manifests
        .ecosystems
        .iter()
        .find(|e| e.name == ecosystem)
    else {
        return Ok(());
    };
    for &run in a.stage.instructions.iter().skip(dev.pos + 1) {
        if run.kind() != InstructionKind::Run {
            continue;
        }
        let line = a.line(run);
        let writer =
            crate::manifest::installed_writer(a.ctx.build_context, eco, run.args_text())
                .map_err(|why| format!("the build at line {line} cannot be followed: {why}"))?;
        if let Some(word) = writer {
            return Err(format!(
                "the build at line {line} runs `{word}`, which may write into node_modules \
                 what the application needs; {}",
                why(&dev.prune)
            ));
        }
    }
    Ok(())
}

/// Fails when package.json has a script `manager` runs while installing (`lifecycle`), or
/// names another package manager.
fn check_install_hooks(
    package: &serde_json::Value,
    lifecycle: &[String],
    manager: &str,
) -> Plan<()> {
    let scripts = package.get("scripts").and_then(|s| s.as_object());
    if let Some(name) = lifecycle
        .iter()
        .find(|n| scripts.is_some_and(|s| s.contains_key(n.as_str())))
    {
        return Err(format!(
            "package.json has a `{name}` script, which {manager} runs while installing; \
             dockopt cannot tell whether it writes outside WORKDIR"
        ));
    }
    if let Some(declared) = package.get("packageManager").and_then(|m| m.as_str())
        && !declared.starts_with(&format!("{manager}@"))
    {
        return Err(format!(
            "package.json's packageManager is {declared}, and the build installs with {manager}"
        ));
    }
    Ok(())
}

/// Fails unless the install at `call` runs in the WORKDIR: dockopt reads the project from
/// the build context root.
fn install_in_workdir(call: &Call<'_>, manager: &str) -> Plan<()> {
    if call.cwd.is_none() || call.cwd != call.zone {
        return Err(format!(
            "the `{manager} install` at line {} runs in {}, not in the WORKDIR; dockopt reads \
             the project from the build context root and converts {manager} run in the WORKDIR",
            call.line,
            call.cwd.unwrap_or("a folder dockopt cannot tell")
        ));
    }
    Ok(())
}

/// With no ENTRYPOINT of the Dockerfile's own, oven/bun's entrypoint runs `bun CMD...` for a
/// CMD that starts with an option or a word that is no command (`["start"]`, `["tsc"]`):
/// dockopt follows only a CMD that names bun itself.
fn check_bun_cmd(a: &Analysis<'_>, instruction: Instruction<'_>) -> Plan<()> {
    let facts = &a.knowledge().multi_stage.node.bun;
    let first = instruction.words().first().map_or("", |w| w.value);
    // A shell-form CMD runs under /bin/sh -c, a command the entrypoint leaves as it is.
    if instruction.kind() != InstructionKind::Cmd
        || super::runtime::entry_and_cmd_has_entrypoint(a, instruction)
        || !instruction.is_exec_form()
        || facts.cmd_programs.iter().any(|c| c == first)
    {
        return Ok(());
    }
    Err(format!(
        "the CMD at line {} starts with `{}`, which oven/bun's entrypoint may run as `bun {}`; \
         dockopt follows a CMD that names bun (`[\"bun\", \"run\", \"start\"]`) or an \
         ENTRYPOINT of the Dockerfile's own",
        a.line(instruction),
        first,
        first
    ))
}
