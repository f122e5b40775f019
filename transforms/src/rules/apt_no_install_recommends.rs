use dockopt_fix::{Applicability, DeclaredEffect, Diagnostic, Edit, Fix};

use super::package_runs::{
    AptOption, apt_options, command_range, is_false, package_action, package_runs, stage_mentions,
};
use crate::stage_state::stage_states;
use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds `apt-get install` and `apt install` without `--no-install-recommends`, and adds
    /// it after `install`.
    ///
    /// ## Why is this bad?
    /// By default apt also installs every package the requested ones *recommend*: manual
    /// pages, documentation, extra tools, sometimes whole toolchains. They make the image
    /// larger, slower to pull and broader to attack, and the application rarely needs them.
    ///
    /// Not reported when `--no-install-recommends`, `--install-recommends=no` or
    /// `-o APT::Install-Recommends=false` is given, when a config file is passed (`-c`), or
    /// when the stage (or a stage it is built from) mentions `APT::Install-Recommends` (an
    /// apt.conf snippet that already decides). Exec-form RUNs, RUN heredocs, scripts that do
    /// not parse and RUNs under a non-POSIX SHELL are left alone.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt-get update && apt-get install -y python3
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// RUN apt-get update && apt-get install -y --no-install-recommends python3
    /// ```
    ///
    /// ## Fix safety
    /// Unsafe: recommended packages are no longer installed, so files under /usr, /etc,
    /// /var and elsewhere disappear from the image. An application that used one of them
    /// (a CA bundle, a locale, a helper binary) needs it added to the install line by name.
    ///
    /// ## References
    /// hadolint DL3015; Docker best practices, "apt-get".
    pub struct AptNoInstallRecommends {
        name: "apt-no-install-recommends",
        default_enabled: true,
        fix: FixAvailability::Always,
    }
}

/// Whether apt's options already decide about recommended packages.
fn recommends_decided(options: &[AptOption]) -> bool {
    options.iter().any(|option| {
        let value = option.value.as_deref();
        match option.name.as_str() {
            "no-install-recommends" | "config-file" | "?" => true,
            "install-recommends" => value.is_some_and(is_false),
            "option" => value
                .and_then(|v| v.split_once('='))
                .is_some_and(|(key, _)| key.eq_ignore_ascii_case("APT::Install-Recommends")),
            _ => false,
        }
    })
}

impl Rule for AptNoInstallRecommends {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let states = stage_states(ctx.file);
        let mut out = Vec::new();
        for run in package_runs(ctx.file, &states, true) {
            let mut configured = None;
            for command in run.script.commands() {
                let Some(action) = package_action(ctx.knowledge, command, "apt", &["install"])
                else {
                    continue;
                };
                if recommends_decided(&apt_options(command)) {
                    continue;
                }
                if *configured.get_or_insert_with(|| {
                    stage_mentions(
                        ctx.file,
                        &states,
                        run.instruction,
                        "APT::Install-Recommends",
                    )
                }) {
                    continue;
                }
                let program = command.program().unwrap_or("apt-get");
                out.push(
                    Diagnostic::new(
                        Self::META.name,
                        command_range(command, action),
                        format!(
                            "`{program} install` without `--no-install-recommends` also installs every recommended package"
                        ),
                    )
                    .with_fix(Fix::new(
                        "Add `--no-install-recommends` after `install`",
                        Applicability::Unsafe,
                        vec![Edit::insert(
                            action.span.file.end,
                            " --no-install-recommends",
                        )],
                        DeclaredEffect {
                            paths: ["/usr/**", "/etc/**", "/var/**", "/opt/**", "/lib/**", "/lib64/**", "/bin/**", "/sbin/**"]
                                .map(String::from)
                                .to_vec(),
                            summary: "recommended packages are no longer installed".into(),
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
    use dockopt_fix::Applicability;

    use super::super::package_runs::support::{assert_fixtures, check_target};
    use super::AptNoInstallRecommends;
    use crate::rules::test_support::{check, fixed};

    #[test]
    fn adds_the_flag_after_install() {
        assert_eq!(
            fixed(
                &AptNoInstallRecommends,
                "FROM debian\nRUN apt-get update && apt-get install -y curl\n"
            )
            .unwrap(),
            "FROM debian\nRUN apt-get update && apt-get install --no-install-recommends -y curl\n"
        );
        assert_eq!(
            fixed(
                &AptNoInstallRecommends,
                "FROM debian\nRUN DEBIAN_FRONTEND=noninteractive apt -qy install git\n"
            )
            .unwrap(),
            "FROM debian\nRUN DEBIAN_FRONTEND=noninteractive apt -qy install --no-install-recommends git\n"
        );
    }

    #[test]
    fn the_fix_is_unsafe_and_says_what_changes() {
        let d = check(
            &AptNoInstallRecommends,
            "FROM debian\nRUN apt-get install -y curl\n",
        );
        let fix = d[0].fix.as_ref().unwrap();
        assert_eq!(fix.applicability, Applicability::Unsafe);
        assert!(fix.effect.summary.contains("recommended"));
        assert!(fix.effect.paths.iter().any(|p| p == "/usr/**"));
    }

    #[test]
    fn continuation_lines_and_comments_stay() {
        let text = "FROM debian\nRUN apt-get update \\\n    # compilers\n    && apt-get install -y \\\n        gcc \\\n    && rm -rf /var/lib/apt/lists/*\n";
        assert_eq!(
            fixed(&AptNoInstallRecommends, text).unwrap(),
            "FROM debian\nRUN apt-get update \\\n    # compilers\n    && apt-get install --no-install-recommends -y \\\n        gcc \\\n    && rm -rf /var/lib/apt/lists/*\n"
        );
    }

    #[test]
    fn crlf_text_keeps_the_flag_on_its_line() {
        let text = "FROM debian\r\nRUN apt-get install \\\r\n    -y curl\r\n";
        assert_eq!(
            fixed(&AptNoInstallRecommends, text).unwrap(),
            "FROM debian\r\nRUN apt-get install --no-install-recommends \\\r\n    -y curl\r\n"
        );
    }

    #[test]
    fn decided_recommends_are_not_reported() {
        for run in [
            "apt-get install -y --no-install-recommends curl",
            "apt-get --no-install-recommends install -y curl",
            "apt-get install -y --install-recommends=no curl",
            "apt-get install -y -o APT::Install-Recommends=false curl",
            "apt-get install -y -o=APT::Install-Recommends=0 curl",
            "apt-get -c /etc/apt/mine.conf install -y curl",
            "apt-get $APT_OPTS install -y curl",
            "echo 'APT::Install-Recommends \"0\";' > /etc/apt/apt.conf.d/01norec && apt-get install -y curl",
            "apt-get update",
            "apt-get remove -y curl",
            "echo apt-get install curl",
        ] {
            let text = format!("FROM debian\nRUN {run}\n");
            assert!(check(&AptNoInstallRecommends, &text).is_empty(), "{run}");
        }
        let text = "FROM debian\nRUN echo 'APT::Install-Recommends \"false\";' > /etc/apt/apt.conf.d/01norec\nRUN apt-get install -y curl\n";
        assert!(check(&AptNoInstallRecommends, text).is_empty());
    }

    #[test]
    fn exec_form_heredocs_and_other_shells_are_left_alone() {
        for text in [
            "FROM debian\nRUN [\"apt-get\", \"install\", \"-y\", \"curl\"]\n",
            "FROM debian\nRUN <<EOF\napt-get install -y curl\nEOF\n",
            "FROM debian\nSHELL [\"pwsh\", \"-c\"]\nRUN apt-get install -y curl\n",
        ] {
            assert!(check(&AptNoInstallRecommends, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn not_gated_on_buildkit() {
        let text = "FROM debian\nRUN apt-get install -y curl\n";
        assert_eq!(check_target(&AptNoInstallRecommends, text, true).len(), 1);
    }

    #[test]
    fn fixtures() {
        let fixed = assert_fixtures(
            &AptNoInstallRecommends,
            include_str!("../../fixtures/apt-no-install-recommends/fires.Dockerfile"),
            include_str!("../../fixtures/apt-no-install-recommends/does-not-fire.Dockerfile"),
        );
        assert!(fixed.contains("--no-install-recommends"), "{fixed}");
    }
}
