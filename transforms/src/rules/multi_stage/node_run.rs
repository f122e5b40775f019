//! Node: what the runtime stage runs must not need a devDependency. The runtime stage has
//! none: `npm prune --omit=dev` (`pnpm prune --prod`) at the end of the build stage removes
//! them, or the install left them out. CMD, ENTRYPOINT and HEALTHCHECK (exec and shell
//! forms, `sh -c`, NODE_OPTIONS) are read for the packages they name: a path into the
//! project's node_modules (`node_modules/.bin/nodemon`, `node_modules/x/cli.js`), a module
//! node loads first (`-r ts-node/register`, `--import tsx`), `npx X` / `npm exec X`, and
//! the package.json scripts `npm start` / `npm run X` / `yarn X` run (with their pre and post
//! scripts, and the scripts those run), whose programs come from node_modules/.bin. A
//! binary is its package when the names match, or when the build context has the
//! package's own package.json under node_modules; any other binary is reported as unknown.
//! The facts (programs, flags, run-script subcommands) are knowledge/multi-stage.toml
//! `[node.run]`.

use std::fmt::Write as _;

use dockopt_syntax::{Instruction, InstructionKind};
use serde_json::Value;

use super::facts::{NodeRunFacts, contains};
use super::node::package_name;
use super::{Analysis, Plan, base_name};
use crate::BuildContext;
use crate::paths::{absolute, under};

/// How deep scripts that run other scripts are followed before the rule reports.
const SCRIPT_DEPTH: usize = 8;

/// What a run-time command needs that the runtime stage may lack, and how dockopt got there
/// (the scripts it followed).
struct Need {
    trail: Vec<String>,
    subject: String,
    kind: NeedKind,
}

enum NeedKind {
    /// The devDependency `0`.
    Dev(String),
    /// Something dockopt cannot place: why.
    Unsure(String),
    /// package.json is needed and the build context has none.
    NoManifest,
}

/// Where a package stands in package.json.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dep {
    /// `dependencies` or `optionalDependencies`: the prune keeps it.
    Prod,
    Dev,
}

type Found = Result<(), Need>;

/// Fails when the CMD, ENTRYPOINT or HEALTHCHECK `instruction` (with the ENTRYPOINT before
/// an exec-form CMD) needs a devDependency; `prune` is what removes them, `None` when the
/// install left them out.
pub(super) fn check_dev_dependencies(
    a: &Analysis<'_>,
    instruction: Instruction<'_>,
    prune: Option<&str>,
) -> Plan<()> {
    let facts = &a.knowledge().multi_stage.node.run;
    let state = a.states.get(instruction.index());
    let context = a.ctx.build_context;
    let mut walker = Walker {
        facts,
        a,
        context,
        package: context.and_then(crate::manifest::package_json),
        trail: Vec::new(),
        bin_on_path: state
            .and_then(|s| s.var("PATH"))
            .is_some_and(|p| p.contains("node_modules/.bin")),
    };
    let found = (|| {
        // Every node process takes NODE_OPTIONS.
        if let Some(options) = state.and_then(|s| s.var(&facts.options_env)) {
            let words: Vec<Option<String>> =
                options.split_whitespace().map(|w| Some(w.into())).collect();
            walker.trail.push(format!("has {}", facts.options_env));
            walker.node(&words)?;
            walker.trail.clear();
        }
        if let Some(elements) = instruction.json_array() {
            let mut words: Vec<Option<String>> = Vec::new();
            if instruction.kind() == InstructionKind::Cmd
                && let Some(entry) = last_exec_entrypoint(a, instruction)
            {
                words.extend(entry);
            }
            words.extend(elements.iter().map(|e| Some(e.value.to_string())));
            return walker.command(&words, false, 0);
        }
        match dockopt_shell::parse_instruction(instruction) {
            Some(script) if !script.is_opaque() => walker.script(&script, false, 0),
            Some(_) => Err(Need {
                trail: Vec::new(),
                subject: "runs a command line".into(),
                kind: NeedKind::Unsure(
                    "which dockopt cannot read to tell whether it needs a devDependency".into(),
                ),
            }),
            None => Ok(()),
        }
    })();
    let Err(need) = found else {
        return Ok(());
    };
    let mut said = format!(
        "the {} at line {} ",
        instruction.keyword().to_uppercase(),
        a.line(instruction)
    );
    for step in &need.trail {
        said.push_str(step);
        said.push_str(", which ");
    }
    said.push_str(&need.subject);
    match need.kind {
        NeedKind::Dev(package) => {
            let remover = prune.map_or_else(
                || "the install leaves out of node_modules".to_string(),
                |p| format!("`{p}` at the end of the build stage would remove"),
            );
            let _ = write!(
                said,
                ", and {package} is a devDependency that {remover}; move it to dependencies or \
                 start the app with node"
            );
        }
        NeedKind::Unsure(why) => {
            said.push_str(", ");
            said.push_str(&why);
        }
        NeedKind::NoManifest => said.push_str(
            ", and dockopt needs package.json from the build context to tell whether it \
             needs devDependencies",
        ),
    }
    Err(said)
}

/// The words of the stage's last ENTRYPOINT when it is in exec form.
fn last_exec_entrypoint(a: &Analysis<'_>, cmd: Instruction<'_>) -> Option<Vec<Option<String>>> {
    let entry = a
        .stage
        .instructions
        .iter()
        .rfind(|i| i.kind() == InstructionKind::Entrypoint && i.index() != cmd.index())?;
    let elements = entry.json_array()?;
    Some(elements.iter().map(|e| Some(e.value.to_string())).collect())
}

/// The package a module specifier or a path below `node_modules/` names: its first part,
/// two for a scope (`@swc-node/register/esm` gives `@swc-node/register`).
fn package_of(spec: &str) -> &str {
    let mut ends = spec.match_indices('/').map(|(i, _)| i);
    let end = if spec.starts_with('@') {
        ends.nth(1)
    } else {
        ends.next()
    };
    end.map_or(spec, |e| &spec[..e])
}

struct Walker<'w> {
    facts: &'w NodeRunFacts,
    a: &'w Analysis<'w>,
    context: Option<&'w BuildContext>,
    package: Option<Value>,
    /// The scripts followed to the command being read.
    trail: Vec<String>,
    /// PATH has a node_modules/.bin: a program by name may be a package's binary.
    bin_on_path: bool,
}

impl Walker<'_> {
    fn need(&self, subject: String, kind: NeedKind) -> Need {
        Need {
            trail: self.trail.clone(),
            subject,
            kind,
        }
    }

    /// Where `name` stands in package.json; `Err` without package.json.
    fn dep(&self, name: &str) -> Result<Option<Dep>, ()> {
        let package = self.package.as_ref().ok_or(())?;
        let listed = |section: &str| {
            package
                .get(section)
                .and_then(Value::as_object)
                .is_some_and(|s| s.contains_key(name))
        };
        Ok(
            if listed("dependencies") || listed("optionalDependencies") {
                Some(Dep::Prod)
            } else if listed("devDependencies") {
                Some(Dep::Dev)
            } else {
                None
            },
        )
    }

    /// The package whose binary `bin` is: the listed dependency of that name, or one whose
    /// package.json under node_modules (when the build context has it) declares it.
    fn bin_package(&self, bin: &str) -> Result<Option<(String, Dep)>, ()> {
        if let Some(dep) = self.dep(bin)? {
            return Ok(Some((bin.to_string(), dep)));
        }
        let Some(context) = self.context else {
            return Ok(None);
        };
        let package = self.package.as_ref().ok_or(())?;
        for section in ["dependencies", "optionalDependencies", "devDependencies"] {
            let names = package.get(section).and_then(Value::as_object);
            for name in names.into_iter().flat_map(|n| n.keys()) {
                let Some(own) =
                    crate::manifest::package_json_in(context, &format!("node_modules/{name}"))
                else {
                    continue;
                };
                let declares = match own.get("bin") {
                    Some(Value::String(_)) => name.rsplit('/').next() == Some(bin),
                    Some(Value::Object(bins)) => bins.contains_key(bin),
                    _ => false,
                };
                if declares && let Some(dep) = self.dep(name)? {
                    return Ok(Some((name.clone(), dep)));
                }
            }
        }
        Ok(None)
    }

    /// A shell script's commands (`script`: run by a package.json script, with
    /// node_modules/.bin on PATH).
    fn script(&mut self, parsed: &dockopt_shell::Script, script: bool, depth: usize) -> Found {
        for command in parsed.commands() {
            for assignment in &command.assignments {
                if assignment.name == self.facts.options_env {
                    let value = assignment.value.as_ref().and_then(|v| v.value());
                    let words: Vec<Option<String>> = match value {
                        Some(v) => v.split_whitespace().map(|w| Some(w.into())).collect(),
                        None => vec![None],
                    };
                    self.node(&words)?;
                }
            }
            let words: Vec<Option<String>> = command
                .words()
                .map(|w| w.value().map(String::from))
                .collect();
            self.command(&words, script, depth)?;
        }
        Ok(())
    }

    /// A command line given as text (a script, `sh -c`).
    fn text(&mut self, text: &str, script: bool, depth: usize) -> Found {
        let parsed = dockopt_shell::parse_text(text);
        if parsed.is_opaque() {
            return Err(self.need(
                format!("runs `{text}`"),
                NeedKind::Unsure(
                    "which dockopt cannot read to tell whether it needs a devDependency".into(),
                ),
            ));
        }
        self.script(&parsed, script, depth)
    }

    /// One command line, program first.
    fn command(&mut self, words: &[Option<String>], script: bool, depth: usize) -> Found {
        for word in words.iter().flatten() {
            self.path(word)?;
        }
        let Some(Some(program)) = words.first() else {
            return Ok(());
        };
        let args = &words[1..];
        let facts = self.facts;
        let base = base_name(program);
        if program.starts_with('-') && !script {
            // The node images' docker-entrypoint.sh runs `node ARGS` for options.
            return self.node(words);
        }
        if contains(&facts.node_programs, base) {
            return self.node(args);
        }
        if contains(&facts.npx_programs, base) {
            return self.npx(args, depth);
        }
        if contains(&facts.bunx_programs, base) {
            return self.bunx(args, depth);
        }
        if contains(&facts.bun_programs, base) {
            return self.bun(args, depth);
        }
        if base == "npm" {
            return self.npm(args, depth);
        }
        if contains(&facts.yarn_programs, base) {
            return self.yarn(args, depth);
        }
        if contains(&facts.shells, base) {
            let text = args
                .iter()
                .position(|w| w.as_deref() == Some("-c"))
                .and_then(|c| args.get(c + 1));
            return match text {
                Some(Some(text)) => self.text(text, script, depth + 1),
                Some(None) => Err(self.need(
                    format!("runs `{base} -c` with a command line"),
                    NeedKind::Unsure(
                        "which dockopt cannot read to tell whether it needs a devDependency".into(),
                    ),
                )),
                None => Ok(()),
            };
        }
        if contains(&facts.wrappers, base) {
            if !contains(&facts.script_programs, base) {
                self.program(program, script)?;
            }
            let rest = args
                .iter()
                .position(|w| {
                    w.as_deref()
                        .is_none_or(|w| !w.starts_with('-') && !w.contains('='))
                })
                .map_or(&[][..], |i| &args[i..]);
            return self.command(rest, script, depth);
        }
        self.program(program, script)
    }

    /// A program run by name or path, outside the cases above.
    fn program(&self, program: &str, script: bool) -> Found {
        let facts = self.facts;
        let common = &self.a.knowledge().multi_stage.common;
        if program.contains('/') {
            // A relative path is a file of the project (node_modules was checked); an
            // absolute one in a script must be a program the runtime has.
            let base = base_name(program);
            let fine = !program.starts_with('/')
                || !script
                || contains(&facts.script_programs, base)
                || common.is_harmless(base)
                || self.under_workdir(program);
            if fine {
                return Ok(());
            }
            return Err(self.need(
                format!("runs `{program}`"),
                NeedKind::Unsure(
                    "not a production dependency; the runtime stage has no devDependencies".into(),
                ),
            ));
        }
        let by_bin = script || self.bin_on_path;
        if by_bin && (contains(&facts.script_programs, program) || common.is_harmless(program)) {
            return Ok(());
        }
        match self.bin_package(program) {
            Ok(Some((_, Dep::Prod))) => Ok(()),
            Ok(Some((package, Dep::Dev))) => {
                Err(self.need(format!("runs `{program}`"), NeedKind::Dev(package)))
            }
            Ok(None) if by_bin => Err(self.need(
                format!("runs `{program}`"),
                NeedKind::Unsure(
                    "not a production dependency; the runtime stage has no devDependencies".into(),
                ),
            )),
            // A program by name, without node_modules/.bin on PATH: not from a package.
            Ok(None) | Err(()) if !by_bin => Ok(()),
            Ok(None) | Err(()) => Err(self.need(format!("runs `{program}`"), NeedKind::NoManifest)),
        }
    }

    fn under_workdir(&self, path: &str) -> bool {
        self.a
            .final_wd
            .as_deref()
            .is_some_and(|wd| wd != "/" && under(wd, path))
    }

    /// A word that names a file below the project's node_modules.
    fn path(&self, word: &str) -> Found {
        let Some(at) = word.find("node_modules/") else {
            return Ok(());
        };
        // The path starts after an `--option=` or `file:`.
        let start = word[..at].rfind(['=', ',']).map_or(0, |i| i + 1);
        let mut path = &word[start..];
        for scheme in ["file://", "file:"] {
            path = path.strip_prefix(scheme).unwrap_or(path);
        }
        if path.starts_with('/') {
            let wd = self.a.final_wd.as_deref();
            let inside = absolute(wd, path).is_some_and(|p| self.under_workdir(&p));
            if !inside {
                // The image's own node_modules (npm's, corepack's) are in both images.
                return Ok(());
            }
        }
        let mut rest = &path[path.find("node_modules/").unwrap_or(0) + "node_modules/".len()..];
        // pnpm's virtual store and the like: the package is in the node_modules inside.
        while rest.starts_with('.') && !rest.starts_with(".bin/") {
            match rest.find("node_modules/") {
                Some(i) => rest = &rest[i + "node_modules/".len()..],
                None => break,
            }
        }
        let subject = format!("runs `{word}`");
        if let Some(bin) = rest.strip_prefix(".bin/") {
            let bin = bin.split('/').next().unwrap_or(bin);
            return match self.bin_package(bin) {
                Ok(Some((_, Dep::Prod))) => Ok(()),
                Ok(Some((package, Dep::Dev))) => Err(self.need(subject, NeedKind::Dev(package))),
                Ok(None) => Err(self.need(
                    subject,
                    NeedKind::Unsure(format!(
                        "and dockopt cannot tell which package provides `{bin}`: no dependency \
                         of package.json has that name, and a devDependency's would be pruned; \
                         run the package's own file, or name the package after its binary"
                    )),
                )),
                Err(()) => Err(self.need(subject, NeedKind::NoManifest)),
            };
        }
        if rest.starts_with('.') || rest.is_empty() {
            return Err(self.need(
                subject,
                NeedKind::Unsure(
                    "and dockopt cannot tell which package of node_modules it is".into(),
                ),
            ));
        }
        self.package(package_of(rest), subject)
    }

    /// A package the command needs: a production dependency.
    fn package(&self, package: &str, subject: String) -> Found {
        match self.dep(package) {
            Ok(Some(Dep::Prod)) => Ok(()),
            Ok(Some(Dep::Dev)) => Err(self.need(subject, NeedKind::Dev(package.to_string()))),
            Ok(None) => Err(self.need(
                subject,
                NeedKind::Unsure(format!(
                    "and package.json does not list {package} as a dependency; dockopt cannot \
                     tell whether the runtime stage has it (list it in dependencies)"
                )),
            )),
            Err(()) => Err(self.need(subject, NeedKind::NoManifest)),
        }
    }

    /// node's options (and the application's arguments): the modules node loads first.
    fn node(&self, args: &[Option<String>]) -> Found {
        let flags = &self.facts.module_flags;
        for (i, word) in args.iter().enumerate() {
            let Some(word) = word else {
                continue;
            };
            let (flag, module) = if contains(flags, word) {
                (word.as_str(), args.get(i + 1).cloned().flatten())
            } else if let Some((flag, value)) = word.split_once('=')
                && contains(flags, flag)
            {
                (flag, Some(value.to_string()))
            } else {
                continue;
            };
            let Some(module) = module else {
                return Err(self.need(
                    format!("loads a module with `{flag}`"),
                    NeedKind::Unsure(
                        "whose name dockopt cannot read to tell whether it is a devDependency"
                            .into(),
                    ),
                ));
            };
            self.module(flag, &module)?;
        }
        Ok(())
    }

    /// A module node loads by `flag`: a package, or a file of the project.
    fn module(&self, flag: &str, spec: &str) -> Found {
        let spec_path = spec.strip_prefix("file:").unwrap_or(spec);
        if spec_path.starts_with(['.', '/']) {
            return self.path(spec);
        }
        if spec.starts_with(self.facts.builtin_prefix.as_str()) || spec.contains(':') {
            // node's own, a data: or other URL.
            return Ok(());
        }
        self.package(package_of(spec), format!("loads `{spec}` (`{flag}`)"))
    }

    /// npx's (and `npm exec`'s) options and the binary it runs.
    fn npx(&mut self, args: &[Option<String>], depth: usize) -> Found {
        let facts = self.facts;
        self.runner(
            "npx",
            args,
            &facts.npx_flags,
            &facts.npx_package_flags,
            &facts.npx_call_flags,
            depth,
        )
    }

    /// `bunx` and `bun x`: as npx, with bun's flags.
    fn bunx(&mut self, args: &[Option<String>], depth: usize) -> Found {
        let facts = self.facts;
        self.runner(
            "bunx",
            args,
            &facts.bun_flags,
            &facts.bunx_package_flags,
            &[],
            depth,
        )
    }

    /// A runner of package binaries (`launcher`): its options and the binary it runs.
    fn runner(
        &mut self,
        launcher: &str,
        args: &[Option<String>],
        flags: &[String],
        package_flags: &[String],
        call_flags: &[String],
        depth: usize,
    ) -> Found {
        let mut packages: Vec<String> = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let Some(word) = args[i].as_deref() else {
                return Err(self.need(
                    format!("runs {launcher}"),
                    NeedKind::Unsure(
                        "with words dockopt cannot read to tell whether it needs a \
                         devDependency"
                            .into(),
                    ),
                ));
            };
            i += 1;
            if contains(flags, word) {
                continue;
            }
            if contains(package_flags, word) {
                packages.extend(args.get(i).cloned().flatten());
                i += 1;
                continue;
            }
            if let Some((flag, value)) = word.split_once('=')
                && contains(package_flags, flag)
            {
                packages.push(value.to_string());
                continue;
            }
            for package in &packages {
                let name = package_name(package);
                self.package(name, format!("runs `{launcher} --package {package}`"))?;
            }
            if contains(call_flags, word) {
                return match args.get(i) {
                    Some(Some(text)) => self.text(text, true, depth + 1),
                    _ => Ok(()),
                };
            }
            if word.starts_with('-') {
                return Err(self.need(
                    format!("runs {launcher} with `{word}`"),
                    NeedKind::Unsure(format!(
                        "an option dockopt does not know; it cannot tell what {launcher} runs"
                    )),
                ));
            }
            if !packages.is_empty() {
                return Ok(());
            }
            let bin = package_name(word);
            let subject = format!("runs `{launcher} {word}`");
            return match self.bin_package(bin) {
                Ok(Some((_, Dep::Prod))) => Ok(()),
                Ok(Some((package, Dep::Dev))) => Err(self.need(subject, NeedKind::Dev(package))),
                Ok(None) => Err(self.need(
                    subject,
                    NeedKind::Unsure(
                        "which is not a production dependency; the runtime stage has no \
                         devDependencies"
                            .into(),
                    ),
                )),
                Err(()) => Err(self.need(subject, NeedKind::NoManifest)),
            };
        }
        Ok(())
    }

    /// bun: its options (the modules `--preload`/`-r` load first), then `bun run X`,
    /// `bun x X` or `bun X`: a script of package.json, a file, or a binary of
    /// node_modules/.bin; bunfig.toml's `preload` loads modules first on every run.
    fn bun(&mut self, args: &[Option<String>], depth: usize) -> Found {
        let facts = self.facts;
        self.bunfig_preload()?;
        let mut i = 0;
        let mut ran = false;
        while i < args.len() {
            let Some(word) = args[i].as_deref() else {
                return Err(self.need(
                    "runs bun".into(),
                    NeedKind::Unsure(
                        "with words dockopt cannot read to tell whether it needs a \
                         devDependency"
                            .into(),
                    ),
                ));
            };
            i += 1;
            if word.starts_with('-') {
                let (flag, value) = match word.split_once('=') {
                    Some((f, v)) => (f, Some(v.to_string())),
                    None => (word, None),
                };
                if contains(&facts.bun_module_flags, flag) {
                    let module = if let Some(v) = value {
                        Some(v)
                    } else {
                        i += 1;
                        args.get(i - 1).cloned().flatten()
                    };
                    let Some(module) = module else {
                        return Err(self.need(
                            format!("loads a module with `{flag}`"),
                            NeedKind::Unsure(
                                "whose name dockopt cannot read to tell whether it is a \
                                 devDependency"
                                    .into(),
                            ),
                        ));
                    };
                    self.module(flag, &module)?;
                    continue;
                }
                if contains(&facts.bun_valued_flags, flag) {
                    i += usize::from(value.is_none());
                    continue;
                }
                if contains(&facts.bun_flags, flag) {
                    continue;
                }
                let why = if contains(&facts.bun_dir_flags, flag) {
                    "which runs another project or workspace members dockopt does not read"
                } else if contains(&facts.bun_config_flags, flag) {
                    "another bunfig, whose preload modules dockopt does not read"
                } else {
                    "an option dockopt does not know; it cannot tell what bun runs"
                };
                return Err(self.need(
                    format!("runs bun with `{word}`"),
                    NeedKind::Unsure(why.into()),
                ));
            }
            if !ran && contains(&facts.bun_run, word) {
                ran = true;
                continue;
            }
            if !ran && contains(&facts.bun_x, word) {
                return self.bunx(&args[i..], depth);
            }
            return self.bun_target(word, depth);
        }
        Ok(())
    }

    /// What `bun run NAME` and `bun NAME` run: the script NAME, else the file NAME, else
    /// node_modules/.bin/NAME.
    fn bun_target(&mut self, name: &str, depth: usize) -> Found {
        let is_script = self
            .package
            .as_ref()
            .and_then(|p| p.get("scripts"))
            .is_some_and(|s| s.get(name).is_some());
        if is_script {
            return self.scripts("bun", &[name.to_string()], depth);
        }
        if name.contains(['/', '.']) {
            // A file of the project (a node_modules path was checked with every word).
            return Ok(());
        }
        let subject = format!("runs `bun {name}`");
        match self.bin_package(name) {
            Ok(Some((_, Dep::Prod))) => Ok(()),
            Ok(Some((package, Dep::Dev))) => Err(self.need(subject, NeedKind::Dev(package))),
            Ok(None) => Err(self.need(
                subject,
                NeedKind::Unsure(
                    "which is neither a script of package.json, a file, nor the binary of a \
                     production dependency"
                        .into(),
                ),
            )),
            Err(()) => Err(self.need(subject, NeedKind::NoManifest)),
        }
    }

    /// The modules bunfig.toml's top-level `preload` loads before every `bun` run.
    fn bunfig_preload(&self) -> Found {
        let facts = self.facts;
        let Some(text) = self
            .context
            .and_then(|c| c.read_text(&facts.bun_config_file))
        else {
            return Ok(());
        };
        let subject = format!("runs bun, which reads {}", facts.bun_config_file);
        let Ok(config) = text.parse::<toml::Table>() else {
            return Err(self.need(
                subject,
                NeedKind::Unsure(
                    "which dockopt cannot parse to tell which modules it preloads".into(),
                ),
            ));
        };
        let modules: Vec<String> = match config.get(&facts.bun_preload_key) {
            None => Vec::new(),
            Some(toml::Value::String(one)) => vec![one.clone()],
            Some(toml::Value::Array(list)) => list
                .iter()
                .map(|v| v.as_str().map(String::from).unwrap_or_default())
                .collect(),
            Some(_) => vec![String::new()],
        };
        let flag = format!("{} {}", facts.bun_config_file, facts.bun_preload_key);
        for module in modules {
            if module.is_empty() {
                return Err(self.need(
                    subject,
                    NeedKind::Unsure(format!(
                        "whose `{}` dockopt cannot read",
                        facts.bun_preload_key
                    )),
                ));
            }
            self.module(&flag, &module)?;
        }
        Ok(())
    }

    /// npm: the scripts `npm start`, `npm run X` and the like run, and `npm exec`.
    fn npm(&mut self, args: &[Option<String>], depth: usize) -> Found {
        let facts = self.facts;
        let mut operands = args
            .iter()
            .enumerate()
            .filter(|(_, w)| w.as_deref().is_none_or(|w| !w.starts_with('-')));
        let Some((at, sub)) = operands.next() else {
            return Ok(());
        };
        let Some(sub) = sub.as_deref() else {
            return Err(self.need(
                "runs npm".into(),
                NeedKind::Unsure("with a subcommand dockopt cannot read".into()),
            ));
        };
        if contains(&facts.npm_exec, sub) {
            return self.npx(&args[at + 1..], depth);
        }
        if contains(&facts.npm_run, sub) {
            return match operands.next() {
                Some((_, Some(name))) => self.scripts("npm", std::slice::from_ref(name), depth),
                Some((_, None)) => Err(self.need(
                    "runs an npm script".into(),
                    NeedKind::Unsure("whose name dockopt cannot read".into()),
                )),
                None => Ok(()),
            };
        }
        if let Some(names) = facts.npm_scripts.get(sub) {
            return self.scripts("npm", names, depth);
        }
        Ok(())
    }

    /// Yarn classic: `yarn run X`, `yarn X` (a script, or else a binary of
    /// node_modules/.bin).
    fn yarn(&mut self, args: &[Option<String>], depth: usize) -> Found {
        let facts = self.facts;
        let mut operands = args
            .iter()
            .filter(|w| w.as_deref().is_none_or(|w| !w.starts_with('-')));
        let Some(sub) = operands.next() else {
            return Ok(());
        };
        let Some(sub) = sub.as_deref() else {
            return Err(self.need(
                "runs yarn".into(),
                NeedKind::Unsure("with a command dockopt cannot read".into()),
            ));
        };
        let name = if contains(&facts.yarn_run, sub) {
            match operands.next() {
                Some(Some(name)) => name.as_str(),
                Some(None) => {
                    return Err(self.need(
                        "runs a yarn script".into(),
                        NeedKind::Unsure("whose name dockopt cannot read".into()),
                    ));
                }
                None => return Ok(()),
            }
        } else {
            sub
        };
        let is_script = self
            .package
            .as_ref()
            .and_then(|p| p.get("scripts"))
            .is_some_and(|s| s.get(name).is_some());
        if is_script || self.package.is_none() {
            return self.scripts("yarn", &[name.to_string()], depth);
        }
        let subject = format!("runs `yarn {name}`");
        match self.bin_package(name) {
            Ok(Some((_, Dep::Prod))) => Ok(()),
            Ok(Some((package, Dep::Dev))) => Err(self.need(subject, NeedKind::Dev(package))),
            Ok(None) | Err(()) => Err(self.need(
                subject,
                NeedKind::Unsure(
                    "which is neither a script of package.json nor the binary of a production \
                     dependency"
                        .into(),
                ),
            )),
        }
    }

    /// The package.json scripts `names` (each with its pre and post scripts) that
    /// `launcher` runs.
    fn scripts(&mut self, launcher: &str, names: &[String], depth: usize) -> Found {
        let Some(package) = self.package.clone() else {
            let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            return Err(self.need(
                format!(
                    "runs the {launcher} script {}",
                    crate::rules::and_list(&list)
                ),
                NeedKind::NoManifest,
            ));
        };
        if depth >= SCRIPT_DEPTH {
            return Err(self.need(
                format!("runs the {launcher} script `{}`", names.join("`, `")),
                NeedKind::Unsure(format!(
                    "and scripts run scripts more than {SCRIPT_DEPTH} deep, where dockopt stops \
                     following them"
                )),
            ));
        }
        let texts = package.get("scripts").and_then(Value::as_object);
        for name in names {
            let mut around: Vec<String> = Vec::new();
            for hook in &self.facts.script_hooks {
                around.push(format!("{hook}{name}"));
            }
            // pre, the script, post.
            around.insert(around.len().min(1), name.clone());
            for key in &around {
                let Some(text) = texts.and_then(|s| s.get(key)).and_then(Value::as_str) else {
                    continue;
                };
                self.trail
                    .push(format!("runs the {launcher} script `{key}`"));
                self.text(text, true, depth + 1)?;
                self.trail.pop();
            }
        }
        Ok(())
    }
}
