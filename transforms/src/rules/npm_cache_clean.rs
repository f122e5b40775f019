use dockopt_fix::{Applicability, DeclaredEffect, Diagnostic, Edit, Fix};

use super::package_runs::{
    chain_end, command_cache_path, command_range, is_cleanup_command, manager, mount_covers,
    package_action, package_runs, removes,
};
use crate::stage_state::stage_states;
use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds RUNs whose `npm install`, `npm ci` or `npm i` leave npm's cache (~/.npm) in
    /// the image, and appends `&& npm cache clean --force`.
    ///
    /// ## Why is this bad?
    /// npm keeps a copy of every package tarball it downloaded in its cache. Inside an image
    /// nothing reads it again; it is often as large as node_modules itself. Files deleted by
    /// a later RUN still take their space in this RUN's layer, so the cache must go in the
    /// RUN that filled it.
    ///
    /// Not reported when the RUN cleans the cache after its last install (`npm cache clean
    /// --force`, `rm -rf ~/.npm`), when a `--mount` of the RUN covers the cache folder
    /// (`--cache`, `npm_config_cache` and the USER's home are followed), or when the
    /// project builds with BuildKit (`[target] buildkit = true`): then `cache-mounts` mounts
    /// ~/.npm and removes this cleanup, and the two rules must not undo each other.
    /// Exec-form RUNs, RUN heredocs, scripts that do not parse, RUNs under a non-POSIX SHELL
    /// and ONBUILD RUNs are left alone. One diagnostic a RUN, on its last install.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN npm ci --omit=dev
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// RUN npm ci --omit=dev && npm cache clean --force
    /// ```
    ///
    /// ## Fix safety
    /// Safe: only npm's cache (disposable) leaves the image. The fix is offered only when
    /// the RUN is one `&&` chain of simple commands (so the cleanup runs last, in the same
    /// shell) and the install does not move the cache with `--cache` or `npm_config_cache`
    /// on its own command line (`npm cache clean` would clean another folder).
    ///
    /// ## References
    /// hadolint has the same check for yarn (DL3060); npm docs, "npm cache".
    pub struct NpmCacheClean {
        name: "npm-cache-clean",
        default_enabled: true,
        fix: FixAvailability::Sometimes,
    }
}

/// npm subcommands that fill the cache.
const INSTALLS: &[&str] = &[
    "install",
    "i",
    "add",
    "ci",
    "clean-install",
    "ic",
    "install-clean",
    "isntall",
];

impl Rule for NpmCacheClean {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        // With BuildKit, cache-mounts mounts ~/.npm and removes `npm cache clean`.
        if ctx.target.buildkit {
            return Vec::new();
        }
        let Some(npm) = manager(ctx.knowledge, "npm") else {
            return Vec::new();
        };
        let Some(cache) = npm.caches.first() else {
            return Vec::new();
        };
        let states = stage_states(ctx.file);
        let mut out = Vec::new();
        for run in package_runs(ctx.file, &states, false) {
            let home = run.state.home();
            let commands = run.script.commands();
            // Installs whose cache stays: (command, subcommand word, cache folder, moved).
            let mut left = Vec::new();
            for (i, command) in commands.iter().enumerate() {
                let Some(action) = package_action(ctx.knowledge, command, "npm", INSTALLS) else {
                    continue;
                };
                let (path, moved) = command_cache_path(command, cache, "--cache", run.state);
                if mount_covers(run.instruction, path.as_deref()) {
                    continue;
                }
                let path = path.unwrap_or_else(|| cache.target.clone());
                if commands[i + 1..]
                    .iter()
                    .any(|c| removes(c, &path, home.as_deref()) || is_cleanup_command(npm, c))
                {
                    continue;
                }
                left.push((*command, action, path, moved));
            }
            let Some((command, action, _, _)) = left.last() else {
                continue;
            };
            let verb = action.value().unwrap_or("install");
            let mut diagnostic = Diagnostic::new(
                Self::META.name,
                command_range(command, action),
                format!("`npm {verb}` leaves npm's cache in this RUN's layer"),
            );
            match chain_end(&run.script) {
                _ if left.iter().any(|l| l.3) => diagnostic.message.push_str(
                    " (no automatic fix: the install moves the cache with --cache or npm_config_cache)",
                ),
                None => diagnostic
                    .message
                    .push_str(" (no automatic fix: the RUN is not one `&&` chain)"),
                Some(end) => {
                    let mut disposable: Vec<String> = left
                        .iter()
                        .map(|l| format!("{}/**", l.2.trim_end_matches('/')))
                        .collect();
                    disposable.dedup();
                    diagnostic = diagnostic.with_fix(Fix::new(
                        "Append `&& npm cache clean --force`",
                        Applicability::Safe,
                        vec![Edit::insert(end, " && npm cache clean --force")],
                        DeclaredEffect {
                            disposable,
                            summary: "npm's cache leaves the image".into(),
                            ..DeclaredEffect::default()
                        },
                    ));
                }
            }
            out.push(diagnostic);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::package_runs::support::{assert_fixtures, check_target};
    use super::NpmCacheClean;
    use crate::rules::test_support::{check, fixed};

    #[test]
    fn appends_the_cleanup_to_the_chain() {
        assert_eq!(
            fixed(&NpmCacheClean, "FROM node\nRUN npm ci --omit=dev\n").unwrap(),
            "FROM node\nRUN npm ci --omit=dev && npm cache clean --force\n"
        );
        assert_eq!(
            fixed(
                &NpmCacheClean,
                "FROM node\nRUN npm i -g pnpm && cd /app && npm install && npm run build\n"
            )
            .unwrap(),
            "FROM node\nRUN npm i -g pnpm && cd /app && npm install && npm run build && npm cache clean --force\n"
        );
    }

    #[test]
    fn one_diagnostic_per_run_with_the_cache_of_the_user() {
        let d = check(
            &NpmCacheClean,
            "FROM node\nUSER node\nRUN npm ci && npm install -g serve\n",
        );
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("npm install"), "{}", d[0].message);
        let fix = d[0].fix.as_ref().unwrap();
        assert_eq!(fix.effect.disposable, ["/home/node/.npm/**"]);
    }

    #[test]
    fn continuation_lines_and_comments_stay() {
        let text = "FROM node\nRUN npm ci \\\n    # production only\n    --omit=dev\nCMD [\"node\", \"server.js\"]\n";
        assert_eq!(
            fixed(&NpmCacheClean, text).unwrap(),
            "FROM node\nRUN npm ci \\\n    # production only\n    --omit=dev && npm cache clean --force\nCMD [\"node\", \"server.js\"]\n"
        );
    }

    #[test]
    fn crlf_text_keeps_the_cleanup_on_its_line() {
        let text = "FROM node\r\nRUN npm ci \\\r\n    --omit=dev\r\nCMD [\"node\"]\r\n";
        assert_eq!(
            fixed(&NpmCacheClean, text).unwrap(),
            "FROM node\r\nRUN npm ci \\\r\n    --omit=dev && npm cache clean --force\r\nCMD [\"node\"]\r\n"
        );
    }

    #[test]
    fn other_shapes_are_reported_without_fix() {
        for run in [
            "npm ci; npm run build",
            "npm ci || npm install",
            "(cd /app && npm ci)",
            "npm ci --cache /tmp/npm",
            "npm_config_cache=/tmp/npm npm ci",
        ] {
            let d = check(&NpmCacheClean, &format!("FROM node\nRUN {run}\n"));
            assert_eq!(d.len(), 1, "{run}");
            assert!(d[0].fix.is_none(), "{run}");
        }
    }

    #[test]
    fn cleaned_or_mounted_caches_are_not_reported() {
        for text in [
            "FROM node\nRUN npm ci && npm cache clean --force\n",
            "FROM node\nRUN npm ci && npm cache clean -f && npm run build\n",
            "FROM node\nRUN npm ci && npm cache clean --loglevel=error --force\n",
            "FROM node\nRUN npm ci; rm -rf /root/.npm\n",
            "FROM node\nRUN npm ci && rm -rf ~/.npm /tmp/*\n",
            "FROM node\nRUN npm ci && rm -rf \"$HOME/.npm\"\n",
            "FROM node\nRUN npm ci --cache /tmp/npm && rm -rf /tmp/npm\n",
            "FROM node\nRUN --mount=type=cache,target=/root/.npm npm ci\n",
            "FROM node\nUSER node\nRUN --mount=type=cache,target=/home/node/.npm,uid=1000 npm ci\n",
            "FROM node\nENV npm_config_cache=/npm-cache\nRUN --mount=type=cache,target=/npm-cache npm ci\n",
            "FROM node\nUSER 1000\nRUN --mount=type=cache,target=/cache npm ci\n",
            "FROM node\nRUN npm run build\n",
            "FROM node\nRUN echo npm ci\n",
            "FROM node\nRUN [\"npm\", \"ci\"]\n",
            "FROM node\nRUN <<EOF\nnpm ci\nEOF\n",
            "FROM node\nSHELL [\"cmd\", \"/S\", \"/C\"]\nRUN npm ci\n",
            "FROM node\nONBUILD RUN npm ci\n",
        ] {
            assert!(check(&NpmCacheClean, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn a_cleanup_before_the_last_install_does_not_count() {
        let text = "FROM node\nRUN npm ci && npm cache clean --force && npm i -g serve\n";
        let d = check(&NpmCacheClean, text);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("npm i`"), "{}", d[0].message);
        assert!(d[0].fix.is_some());
    }

    #[test]
    fn buildkit_targets_leave_it_to_cache_mounts() {
        let text = "FROM node\nRUN npm ci\n";
        assert!(check_target(&NpmCacheClean, text, true).is_empty());
    }

    #[test]
    fn fixtures() {
        let fixed = assert_fixtures(
            &NpmCacheClean,
            include_str!("../../fixtures/npm-cache-clean/fires.Dockerfile"),
            include_str!("../../fixtures/npm-cache-clean/does-not-fire.Dockerfile"),
        );
        assert!(fixed.contains("&& npm cache clean --force"), "{fixed}");
    }
}
