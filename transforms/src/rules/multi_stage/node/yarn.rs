//! Yarn in the build stage: classic (1.x) and berry (2 and later, with the node_modules
//! linker). A classic install of production dependencies needs nothing more. An install
//! that puts devDependencies in (every berry install) must be frozen and read the lock
//! COPYed before it; the build stage then ends with Yarn's own prune, run with the
//! install's mounts so that it finds the packages in Yarn's cache (`[node.yarn]` in
//! knowledge/multi-stage.toml).

use super::super::Plan;
use super::super::ecosystem::Call;
use super::super::facts::YarnFacts;
use super::super::scan::Scan;
use super::{DevPrune, Node, check_install_hooks, check_lock_used, install_in_workdir};
use crate::BuildContext;
use crate::manifest::{package_json, yaml_top_level, yarn_berry, yarn_berry_releases};

impl Node {
    pub(super) fn scan_yarn(&mut self, scan: &Scan, call: &Call<'_>) -> Plan<()> {
        let facts = &call.knowledge.multi_stage.node.yarn;
        let Call {
            command,
            state,
            line,
            pos,
            ..
        } = *call;
        if let Some(flag) = command.first_flag(&facts.dir_flags) {
            return Err(format!(
                "the `yarn {flag}` at line {line} works on another folder or puts node_modules \
                 outside the WORKDIR; dockopt converts Yarn run on the project in the WORKDIR"
            ));
        }
        let Some(context) = call.build_context else {
            return Err(format!(
                "the `yarn` at line {line} may be Yarn berry (Plug'n'Play, no node_modules); \
                 dockopt needs package.json and yarn.lock from the build context to tell"
            ));
        };
        if !facts
            .locks
            .iter()
            .any(|l| context.kind(l).is_some() && !context.is_excluded(l))
        {
            return Err(format!(
                "the build context has no {} (or .dockerignore leaves it out): dockopt cannot \
                 tell Yarn classic from berry, nor which versions the install picks; commit \
                 the lock file",
                facts.locks.join(" or ")
            ));
        }
        let berry = yarn_berry(context);
        let sub = call.subcommand();
        if facts.installs.iter().any(|s| s == sub) {
            install_in_workdir(call, "yarn")?;
            if crate::manifest::node_workspace(context).is_some() {
                return Err(
                    "package.json declares workspaces; dockopt converts a single Yarn project"
                        .to_string(),
                );
            }
            self.project_install("yarn", line)?;
            self.users.push((line, state.user.clone()));
            let mounts = call.mounts.join(" ");
            let with_mounts = |prune: &str| {
                if mounts.is_empty() {
                    prune.to_string()
                } else {
                    format!("{mounts} {prune}")
                }
            };
            let (frozen_flags, prune) = match &berry {
                None => {
                    check_classic_project(call, facts, context)?;
                    if classic_production(call, facts) {
                        // Production dependencies only, or the user's own prune.
                        self.installs += 1;
                        self.prod_installs += 1;
                        self.yarn_dev = None;
                        return Ok(());
                    }
                    (&facts.classic_frozen, &facts.classic_prune)
                }
                Some(why) => {
                    check_berry_project(call, facts, context, why, self.corepack)?;
                    (&facts.berry_frozen, &facts.berry_prune)
                }
            };
            let frozen = command.first_flag(frozen_flags).is_some();
            check_lock_used(scan, call, frozen, &frozen_flags[0], &facts.locks)?;
            self.yarn_dev = Some(DevPrune {
                pos,
                prune: with_mounts(prune),
                reinstall: true,
            });
            return Ok(());
        }
        if berry.is_some() && is_berry_prune(call, facts) {
            self.yarn_dev = None;
            return Ok(());
        }
        if facts.runs.iter().any(|s| s == sub) {
            return Ok(());
        }
        // `yarn NAME` runs the project's script NAME (or a binary of node_modules/.bin).
        let script = package_json(context)
            .is_some_and(|p| p.get("scripts").and_then(|s| s.get(sub)).is_some());
        if script && !sub.is_empty() {
            return Ok(());
        }
        Err(format!(
            "`yarn {sub}` at line {line}: dockopt converts Yarn's install, `{}`, scripts and \
             runs only",
            facts.berry_prune
        ))
    }
}

/// Whether a classic install leaves devDependencies out: a production flag, or
/// NODE_ENV=production on the command, exported before it in the RUN, or in the stage.
fn classic_production(call: &Call<'_>, facts: &YarnFacts) -> bool {
    let is_prod = |value: Option<&str>| value == Some(facts.prod_env_value.as_str());
    call.command.first_flag(&facts.classic_prod_flags).is_some()
        || call
            .command
            .assignments
            .iter()
            .any(|a| a.name == facts.prod_env && is_prod(a.value.as_ref().and_then(|v| v.value())))
        || call.exported.iter().any(|e| {
            e.split_once('=')
                .is_some_and(|(k, v)| k == facts.prod_env && is_prod(Some(v)))
        })
        || is_prod(call.state.var(&facts.prod_env))
}

/// `yarn workspaces focus --production`: the user's own berry prune.
fn is_berry_prune(call: &Call<'_>, facts: &YarnFacts) -> bool {
    let words: Vec<&str> = call
        .command
        .args
        .iter()
        .filter_map(|w| w.value())
        .filter(|w| !w.starts_with('-'))
        .collect();
    words.starts_with(
        &facts
            .berry_prune_words
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    ) && call.command.first_flag(&facts.berry_prune_flags).is_some()
}

/// A classic project's `.yarnrc` must not move node_modules out of the WORKDIR.
fn check_classic_project(call: &Call<'_>, facts: &YarnFacts, context: &BuildContext) -> Plan<()> {
    let rc = context.read_text(&facts.classic_config).unwrap_or_default();
    if let Some(setting) = facts.classic_outside_settings.iter().find(|s| {
        rc.lines().any(|l| {
            l.trim_start()
                .strip_prefix(s.as_str())
                .is_some_and(|r| r.starts_with([' ', '\t', '=']))
        })
    }) {
        return Err(format!(
            "{} sets `{setting}` (node_modules elsewhere than the WORKDIR, which the runtime \
             stage copies), read by the `yarn install` at line {}",
            facts.classic_config, call.line
        ));
    }
    Ok(())
}

/// A berry project converts when it uses the node_modules linker, the build runs a berry
/// release that has `workspaces focus` (Yarn 4, or the workspace-tools plugin), and the
/// project has no install scripts of its own (the prune would run them again without the
/// devDependencies).
fn check_berry_project(
    call: &Call<'_>,
    facts: &YarnFacts,
    context: &BuildContext,
    why: &str,
    corepack: bool,
) -> Plan<()> {
    let line = call.line;
    let rc = context.read_text(&facts.berry_config).unwrap_or_default();
    let env_linker = call
        .command
        .assignments
        .iter()
        .find(|a| a.name == facts.linker_env)
        .map(|a| {
            a.value
                .as_ref()
                .and_then(|v| v.value())
                .unwrap_or("$")
                .to_string()
        })
        .or_else(|| {
            call.exported.iter().find_map(|e| {
                e.split_once('=')
                    .filter(|(k, _)| *k == facts.linker_env)
                    .map(|(_, v)| v.to_string())
            })
        })
        .or_else(|| call.state.var(&facts.linker_env).map(str::to_string));
    let linker = env_linker.or_else(|| yaml_top_level(&rc, &facts.linker_key));
    if linker.as_deref() != Some(facts.node_modules_linker.as_str()) {
        let set = match &linker {
            Some(value) => format!("`{}: {value}`", facts.linker_key),
            None => format!("no `{}`, so Plug'n'Play", facts.linker_key),
        };
        return Err(format!(
            "the project uses Yarn berry ({why}) with {set}: the app would need Yarn's \
             loader and cache instead of node_modules; dockopt converts berry with `{}: {}` \
             in {}",
            facts.linker_key, facts.node_modules_linker, facts.berry_config
        ));
    }
    let package = package_json(context).ok_or_else(|| {
        format!(
            "the `yarn install` at line {line} needs package.json, which the build context \
             lacks or dockopt cannot read"
        )
    })?;
    check_install_hooks(&package, &facts.lifecycle_scripts, "yarn")?;
    let berry = call
        .knowledge
        .package_managers
        .managers
        .iter()
        .find_map(|m| m.berry.as_ref())
        .ok_or("the knowledge has no Yarn berry settings")?;
    let releases = yarn_berry_releases(context, berry, corepack);
    if releases.is_empty() {
        return Err(format!(
            "the project is Yarn berry ({why}), but the `yarn` at line {line} may be the \
             image's Yarn classic: dockopt follows berry run by corepack (`corepack enable` \
             with package.json's packageManager) or by {}'s {}",
            berry.config, berry.release_key
        ));
    }
    let plugin = rc.contains(&facts.focus_plugin)
        || context
            .read_text(&format!(
                ".yarn/plugins/@yarnpkg/{}.cjs",
                facts.focus_plugin
            ))
            .is_some();
    for (major, what) in releases {
        if plugin || major.is_some_and(|m| m >= facts.focus_builtin_since) {
            continue;
        }
        return Err(format!(
            "the build runs Yarn from {what}: `{}` is built into Yarn {} and later, and \
             earlier releases need the workspace-tools plugin (`yarn plugin import \
             workspace-tools`) to drop devDependencies",
            facts.berry_prune, facts.focus_builtin_since
        ));
    }
    Ok(())
}
