//! Node (npm, Yarn classic): the whole WORKDIR (source, build output, `node_modules`) on
//! `node:X-slim`, after `npm prune --omit=dev` at the end of the build stage when npm
//! installed devDependencies (Yarn only when it installs production dependencies alone).

use dockopt_syntax::{Instruction, InstructionKind};

use super::command::plain_words;
use super::ecosystem::{Added, Additions, Call, Ecosystem};
use super::scan::Scan;
use super::{Analysis, Plan, base_name};

#[derive(Default)]
pub(super) struct Node {
    /// The npm installs, and how many of them install no devDependencies.
    installs: usize,
    prod_installs: usize,
    /// The USER each npm install runs as (`None`: root), with its line.
    users: Vec<(usize, Option<String>)>,
}

impl Node {
    /// Whether the build installs devDependencies, which the build stage prunes at its end.
    fn prunes(&self) -> bool {
        self.installs > self.prod_installs
    }
}

impl Ecosystem for Node {
    fn name(&self) -> &'static str {
        "node"
    }

    fn scan(&mut self, _scan: &mut Scan, call: &Call<'_>) -> Plan<()> {
        let Call {
            command,
            manager,
            program,
            state,
            line,
            ..
        } = *call;
        if manager == "yarn" {
            return self.scan_yarn(call);
        }
        if manager != "npm" {
            return Err(format!(
                "the stage installs with {program}; only npm and Yarn classic are supported"
            ));
        }
        let sub = call.subcommand();
        let has = |flag: &str| command.has_flag(flag);
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
        if call.knowledge.multi_stage.node.is_npm_install(sub) {
            self.installs += 1;
            self.users.push((line, state.user.clone()));
            let omit_dev = call.knowledge.multi_stage.node.omits_dev(&command.args);
            if omit_dev {
                self.prod_installs += 1;
            }
        }
        Ok(())
    }

    /// `npm prune` runs as the user that installed.
    fn check_build_stage(
        &self,
        a: &Analysis<'_>,
        _envs: &[Instruction<'_>],
        runtime: &[(Instruction<'_>, bool)],
    ) -> Plan<()> {
        if !self.prunes() {
            return Ok(());
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
                "`npm prune --omit=dev` would run as {} at the end of the build stage, but the \
                 install at line {line} ran as {}",
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

    fn check_command(&self, a: &Analysis<'_>, instruction: Instruction<'_>) -> Plan<()> {
        check_npm_scripts(a, instruction)
    }

    fn additions(&self) -> Additions {
        let mut additions = Additions::default();
        if self.prunes() {
            additions.build_end.push(Added {
                keyword: "RUN",
                args: "npm prune --omit=dev".into(),
            });
        }
        additions
    }
}

impl Node {
    /// Yarn classic: `yarn` / `yarn install` of production dependencies only (the build
    /// stage has no prune for Yarn), in a project the context shows is not Yarn berry.
    fn scan_yarn(&mut self, call: &Call<'_>) -> Plan<()> {
        let Call {
            command,
            state,
            line,
            ..
        } = *call;
        let sub = call.subcommand();
        if !matches!(sub, "" | "install") {
            return Err(format!(
                "`yarn {sub}` at line {line}: dockopt converts only `yarn install`"
            ));
        }
        let Some(context) = call.build_context else {
            return Err(format!(
                "the `yarn` at line {line} may be Yarn berry (Plug'n'Play, no node_modules); \
                 dockopt needs package.json and yarn.lock from the build context to tell"
            ));
        };
        if let Some(why) = crate::manifest::yarn_berry(context) {
            return Err(format!(
                "the project uses Yarn berry ({why}); dockopt converts only Yarn classic"
            ));
        }
        let production = command
            .args
            .iter()
            .any(|w| w.is("--production") || w.is("--prod") || w.is("--production=true"))
            || command.assignments.iter().any(|a| {
                a.name == "NODE_ENV"
                    && a.value.as_ref().and_then(|v| v.value()) == Some("production")
            })
            || state.var("NODE_ENV") == Some("production");
        if !production {
            return Err(format!(
                "the `yarn install` at line {line} installs devDependencies; the runtime stage \
                 must not have them, and dockopt prunes only npm installs (add `--production` \
                 when the build needs no devDependencies)"
            ));
        }
        self.installs += 1;
        self.prod_installs += 1;
        self.users.push((line, state.user.clone()));
        Ok(())
    }
}

/// The name part of a USER value; `None` for root.
fn user_name(value: &str) -> Option<String> {
    let name = value.split(':').next().unwrap_or(value).trim();
    (!matches!(name, "" | "root" | "0")).then(|| name.to_string())
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
            || a.knowledge().multi_stage.common.is_harmless(p)
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
