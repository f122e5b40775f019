use dockopt_fix::{Applicability, DeclaredEffect, Diagnostic, Edit, Fix};

use super::package_runs::{command_range, mount_covers, package_action, package_runs, removes};
use crate::stage_state::stage_states;
use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds `apk add` without `--no-cache`, and adds `--no-cache` after `add`.
    ///
    /// ## Why is this bad?
    /// Without `--no-cache`, apk keeps the package index it fetched (`--update`, or an
    /// earlier `apk update`) under /var/cache/apk, and packages too when a cache folder is
    /// set up: megabytes that the image never uses. With `--no-cache` apk fetches the index
    /// itself and keeps nothing, so no `apk update` or cleanup is needed either.
    ///
    /// Not reported when the command has `--no-cache`, when a `--mount` of the RUN covers
    /// /var/cache/apk or /etc/apk/cache, when the RUN removes /var/cache/apk afterwards
    /// (`rm -rf /var/cache/apk/*`), or when the project builds with BuildKit (`[target]
    /// buildkit = true`): then `cache-mounts` mounts apk's cache and removes `--no-cache`,
    /// and the two rules must not undo each other. Exec-form RUNs, RUN heredocs, scripts
    /// that do not parse and RUNs under a non-POSIX SHELL are left alone. The index that a
    /// separate `apk update` writes is not this rule's concern: with `--no-cache` on every
    /// `apk add`, that update can simply go.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apk add --update curl
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// RUN apk add --no-cache --update curl
    /// ```
    ///
    /// ## Fix safety
    /// Safe: the same packages are installed; only apk's index and package cache
    /// (/var/cache/apk, /etc/apk/cache) differ.
    ///
    /// ## References
    /// hadolint DL3019; Alpine wiki, "Alpine Package Keeper".
    pub struct ApkNoCache {
        name: "apk-no-cache",
        default_enabled: true,
        fix: FixAvailability::Always,
    }
}

const INDEX: &str = "/var/cache/apk";
const CACHE: &str = "/etc/apk/cache";

impl Rule for ApkNoCache {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        // With BuildKit, cache-mounts mounts apk's cache and drops `--no-cache`.
        if ctx.target.buildkit {
            return Vec::new();
        }
        let states = stage_states(ctx.file);
        let mut out = Vec::new();
        for run in package_runs(ctx.file, &states, true) {
            if mount_covers(run.instruction, Some(INDEX))
                || mount_covers(run.instruction, Some(CACHE))
            {
                continue;
            }
            let commands = run.script.commands();
            for (i, command) in commands.iter().enumerate() {
                let Some(action) = package_action(ctx.knowledge, command, "apk", &["add"]) else {
                    continue;
                };
                if command.has_flag("--no-cache")
                    || commands[i + 1..].iter().any(|c| removes(c, INDEX, None))
                {
                    continue;
                }
                out.push(
                    Diagnostic::new(
                        Self::META.name,
                        command_range(command, action),
                        format!("`apk add` without `--no-cache` leaves apk's index in {INDEX}"),
                    )
                    .with_fix(Fix::new(
                        "Add `--no-cache` after `add`",
                        Applicability::Safe,
                        vec![Edit::insert(action.span.file.end, " --no-cache")],
                        DeclaredEffect {
                            disposable: vec![format!("{INDEX}/**"), format!("{CACHE}/**")],
                            summary: "apk's index and package cache are no longer kept".into(),
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
    use super::ApkNoCache;
    use crate::rules::test_support::{check, fixed};

    #[test]
    fn adds_the_flag_after_add() {
        assert_eq!(
            fixed(&ApkNoCache, "FROM alpine\nRUN apk add curl\n").unwrap(),
            "FROM alpine\nRUN apk add --no-cache curl\n"
        );
        assert_eq!(
            fixed(
                &ApkNoCache,
                "FROM alpine\nRUN apk update && apk -U add --virtual .build-deps gcc\n"
            )
            .unwrap(),
            "FROM alpine\nRUN apk update && apk -U add --no-cache --virtual .build-deps gcc\n"
        );
    }

    #[test]
    fn continuation_lines_and_comments_stay() {
        let text = "FROM alpine\nRUN apk add \\\n    # tls\n    ca-certificates \\\n    curl\n";
        assert_eq!(
            fixed(&ApkNoCache, text).unwrap(),
            "FROM alpine\nRUN apk add --no-cache \\\n    # tls\n    ca-certificates \\\n    curl\n"
        );
    }

    #[test]
    fn crlf_text_keeps_the_flag_on_its_line() {
        let text = "FROM alpine\r\nRUN apk add \\\r\n    curl\r\n";
        assert_eq!(
            fixed(&ApkNoCache, text).unwrap(),
            "FROM alpine\r\nRUN apk add --no-cache \\\r\n    curl\r\n"
        );
    }

    #[test]
    fn every_add_is_reported() {
        let text = "FROM alpine\nRUN apk add a && apk add b\nONBUILD RUN apk add c\n";
        assert_eq!(check(&ApkNoCache, text).len(), 3);
    }

    #[test]
    fn uncached_adds_are_not_reported() {
        for run in [
            "apk add --no-cache curl",
            "apk --no-cache add curl",
            "apk add --update --no-cache curl",
            "--mount=type=cache,target=/var/cache/apk apk add curl",
            "--mount=type=cache,target=/etc/apk/cache,sharing=locked apk add curl",
            "apk add curl && rm -rf /var/cache/apk/*",
            "apk update && apk add curl && rm -rf /var/cache/apk",
            "apk del curl",
            "apk update",
            "echo apk add curl",
            "[\"apk\", \"add\", \"curl\"]",
        ] {
            let text = format!("FROM alpine\nRUN {run}\n");
            assert!(check(&ApkNoCache, &text).is_empty(), "{run}");
        }
        for text in [
            "FROM alpine\nRUN <<EOF\napk add curl\nEOF\n",
            "FROM alpine\nSHELL [\"/bin/fish\", \"-c\"]\nRUN apk add curl\n",
        ] {
            assert!(check(&ApkNoCache, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn a_cleanup_before_the_add_does_not_count() {
        let text = "FROM alpine\nRUN rm -rf /var/cache/apk/* && apk add curl\n";
        assert_eq!(check(&ApkNoCache, text).len(), 1);
    }

    #[test]
    fn buildkit_targets_leave_it_to_cache_mounts() {
        let text = "FROM alpine\nRUN apk add curl\n";
        assert!(check_target(&ApkNoCache, text, true).is_empty());
    }

    #[test]
    fn fixtures() {
        let fixed = assert_fixtures(
            &ApkNoCache,
            include_str!("../../fixtures/apk-no-cache/fires.Dockerfile"),
            include_str!("../../fixtures/apk-no-cache/does-not-fire.Dockerfile"),
        );
        assert!(!fixed.contains("apk add curl"), "{fixed}");
    }
}
