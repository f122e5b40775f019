use dockopt_fix::{Applicability, DeclaredEffect, Diagnostic, Edit, Fix};

use super::package_runs::{
    command_cache_path, command_range, is_cleanup_command, manager, mount_covers, package_action,
    package_runs, removes, stage_mentions,
};
use crate::stage_state::stage_states;
use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds `pip install` (also `pip3`, `pip3.12`, `python -m pip`) that keeps pip's cache
    /// in the image, and adds `--no-cache-dir` after `install`.
    ///
    /// ## Why is this bad?
    /// pip keeps every downloaded archive and every wheel it built in its cache
    /// (~/.cache/pip). Inside an image nothing ever reads it again, and it often weighs as
    /// much as the installed packages.
    ///
    /// Not reported when the command has `--no-cache-dir`, when `PIP_NO_CACHE_DIR` is set
    /// (ENV, ARG, or in the RUN), when pip's configuration may decide (`PIP_CONFIG_FILE`,
    /// a `pip.conf` or `global.no-cache-dir` mentioned in the stage), when a `--mount` of
    /// the RUN covers the cache folder (`--cache-dir`, `PIP_CACHE_DIR`, `XDG_CACHE_HOME` and
    /// the USER's home are followed), when the RUN deletes the cache afterwards (`pip cache
    /// purge`, `rm -rf ~/.cache/pip`), or when the project builds with BuildKit (`[target]
    /// buildkit = true`): then `cache-mounts` mounts the cache and removes `--no-cache-dir`,
    /// and the two rules must not undo each other. Exec-form RUNs, RUN heredocs, scripts that
    /// do not parse, RUNs under a non-POSIX SHELL and ONBUILD RUNs are left alone.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN pip install -r requirements.txt
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// RUN pip install --no-cache-dir -r requirements.txt
    /// ```
    ///
    /// ## Fix safety
    /// Safe: the same packages are installed; only pip's cache folder (disposable) is no
    /// longer written to the image.
    ///
    /// ## References
    /// hadolint DL3042.
    pub struct PipNoCache {
        name: "pip-no-cache",
        default_enabled: true,
        fix: FixAvailability::Always,
    }
}

impl Rule for PipNoCache {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        // With BuildKit, cache-mounts mounts pip's cache and drops `--no-cache-dir`.
        if ctx.target.buildkit {
            return Vec::new();
        }
        let Some(pip) = manager(ctx.knowledge, "pip") else {
            return Vec::new();
        };
        let Some(cache) = pip.caches.first() else {
            return Vec::new();
        };
        let states = stage_states(ctx.file);
        let mut out = Vec::new();
        for run in package_runs(ctx.file, &states, false) {
            let state = run.state;
            let text = run.script.text();
            if pip
                .redundant_env
                .iter()
                .any(|v| state.is_set(v) || text.contains(v.as_str()))
                || state.is_set("PIP_CONFIG_FILE")
                || text.contains("PIP_CONFIG_FILE")
            {
                continue;
            }
            let mut configured = None;
            let commands = run.script.commands();
            for (i, command) in commands.iter().enumerate() {
                let Some(action) = package_action(ctx.knowledge, command, "pip", &["install"])
                else {
                    continue;
                };
                if pip.redundant_flags.iter().any(|f| command.has_flag(f)) {
                    continue;
                }
                let (path, _) = command_cache_path(command, cache, "--cache-dir", state);
                if mount_covers(run.instruction, path.as_deref()) {
                    continue;
                }
                let path = path.unwrap_or_else(|| cache.target.clone());
                let home = state.home();
                if commands[i + 1..]
                    .iter()
                    .any(|c| removes(c, &path, home.as_deref()) || is_cleanup_command(pip, c))
                {
                    continue;
                }
                if *configured.get_or_insert_with(|| {
                    ["pip.conf", "global.no-cache-dir"]
                        .iter()
                        .any(|n| stage_mentions(ctx.file, &states, run.instruction, n))
                }) {
                    continue;
                }
                out.push(
                    Diagnostic::new(
                        Self::META.name,
                        command_range(command, action),
                        format!("`pip install` keeps its download cache in the image ({path})"),
                    )
                    .with_fix(Fix::new(
                        "Add `--no-cache-dir` after `install`",
                        Applicability::Safe,
                        vec![Edit::insert(action.span.file.end, " --no-cache-dir")],
                        DeclaredEffect {
                            disposable: vec![format!("{}/**", path.trim_end_matches('/'))],
                            summary: "pip's cache is no longer written to the image".into(),
                            ..DeclaredEffect::default()
                        },
                    )),
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::package_runs::support::{assert_fixtures, check_target};
    use super::PipNoCache;
    use crate::rules::test_support::{check, fixed};

    #[test]
    fn adds_the_flag_after_install() {
        assert_eq!(
            fixed(
                &PipNoCache,
                "FROM python\nRUN pip install -r requirements.txt\n"
            )
            .unwrap(),
            "FROM python\nRUN pip install --no-cache-dir -r requirements.txt\n"
        );
        assert_eq!(
            fixed(
                &PipNoCache,
                "FROM python\nRUN python3 -m pip install --upgrade pip\n"
            )
            .unwrap(),
            "FROM python\nRUN python3 -m pip install --no-cache-dir --upgrade pip\n"
        );
        assert_eq!(
            fixed(
                &PipNoCache,
                "FROM python\nRUN /venv/bin/pip3.12 install .\n"
            )
            .unwrap(),
            "FROM python\nRUN /venv/bin/pip3.12 install --no-cache-dir .\n"
        );
    }

    #[test]
    fn the_disposable_path_follows_the_user() {
        let d = check(
            &PipNoCache,
            "FROM python\nUSER app\nRUN pip install --user flask\n",
        );
        let fix = d[0].fix.as_ref().unwrap();
        assert_eq!(fix.effect.disposable, ["/home/app/.cache/pip/**"]);
        let d = check(&PipNoCache, "FROM python\nRUN pip install flask\n");
        assert_eq!(
            d[0].fix.as_ref().unwrap().effect.disposable,
            ["/root/.cache/pip/**"]
        );
    }

    #[test]
    fn continuation_lines_and_comments_stay() {
        let text = "FROM python\nRUN pip install \\\n    # pinned\n    -r requirements.txt\n";
        assert_eq!(
            fixed(&PipNoCache, text).unwrap(),
            "FROM python\nRUN pip install --no-cache-dir \\\n    # pinned\n    -r requirements.txt\n"
        );
    }

    #[test]
    fn crlf_text_keeps_the_flag_on_its_line() {
        let text = "FROM python\r\nRUN pip install \\\r\n    flask\r\n";
        assert_eq!(
            fixed(&PipNoCache, text).unwrap(),
            "FROM python\r\nRUN pip install --no-cache-dir \\\r\n    flask\r\n"
        );
    }

    #[test]
    fn uncached_installs_are_not_reported() {
        for text in [
            "FROM python\nRUN pip install --no-cache-dir flask\n",
            "FROM python\nRUN pip --no-cache-dir install flask\n",
            "FROM python\nENV PIP_NO_CACHE_DIR=1\nRUN pip install flask\n",
            "FROM python\nARG PIP_NO_CACHE_DIR\nRUN pip install flask\n",
            "FROM python\nRUN PIP_NO_CACHE_DIR=1 pip install flask\n",
            "FROM python\nRUN export PIP_NO_CACHE_DIR=off && pip install flask\n",
            "FROM python\nENV PIP_CONFIG_FILE=/etc/pip.conf\nRUN pip install flask\n",
            "FROM python\nCOPY pip.conf /etc/pip.conf\nRUN pip install flask\n",
            "FROM python\nRUN pip config set global.no-cache-dir false\nRUN pip install flask\n",
            "FROM python\nRUN --mount=type=cache,target=/root/.cache/pip pip install flask\n",
            "FROM python\nRUN --mount=type=cache,target=/root/.cache pip install flask\n",
            "FROM python\nUSER app\nRUN --mount=type=cache,target=/home/app/.cache/pip,uid=1000 pip install flask\n",
            "FROM python\nENV PIP_CACHE_DIR=/pipcache\nRUN --mount=type=cache,target=/pipcache pip install flask\n",
            "FROM python\nRUN --mount=type=cache,target=/c pip install --cache-dir=/c flask\n",
            "FROM python\nRUN --mount=type=cache,target=$HOME/.cache/pip pip install flask\n",
            "FROM python\nRUN pip install flask && rm -rf /root/.cache/pip\n",
            "FROM python\nRUN pip install flask && rm -rf ~/.cache\n",
            "FROM python\nRUN pip install flask && pip cache purge\n",
            "FROM python\nRUN pip download flask\n",
            "FROM python\nRUN echo pip install flask\n",
            "FROM python\nRUN [\"pip\", \"install\", \"flask\"]\n",
            "FROM python\nRUN <<EOF\npip install flask\nEOF\n",
            "FROM python\nSHELL [\"pwsh\", \"-c\"]\nRUN pip install flask\n",
            "FROM python\nONBUILD RUN pip install flask\n",
        ] {
            assert!(check(&PipNoCache, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn a_mount_elsewhere_or_a_cleanup_before_does_not_count() {
        for text in [
            "FROM python\nRUN --mount=type=cache,target=/root/.cache/pip pip install --cache-dir /c flask\n",
            "FROM python\nUSER app\nRUN --mount=type=cache,target=/root/.cache/pip pip install flask\n",
            "FROM python\nRUN rm -rf /root/.cache/pip && pip install flask\n",
            "FROM python\nRUN --mount=type=bind,source=.,target=/src pip install /src\n",
        ] {
            assert_eq!(check(&PipNoCache, text).len(), 1, "{text}");
        }
    }

    #[test]
    fn buildkit_targets_leave_it_to_cache_mounts() {
        let text = "FROM python\nRUN pip install flask\n";
        assert!(check_target(&PipNoCache, text, true).is_empty());
    }

    #[test]
    fn fixtures() {
        let fixed = assert_fixtures(
            &PipNoCache,
            include_str!("../../fixtures/pip-no-cache/fires.Dockerfile"),
            include_str!("../../fixtures/pip-no-cache/does-not-fire.Dockerfile"),
        );
        assert!(fixed.contains("install --no-cache-dir"), "{fixed}");
    }
}
