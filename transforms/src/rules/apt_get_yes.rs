//! `apt-get-yes`. The helpers it shares with the other package-manager rules are in
//! `package_runs`.

use dockopt_fix::{Diagnostic, Edit, Fix};

use super::package_runs::{
    AptOption, apt_options, command_range, is_true, package_action, package_runs, piped_commands,
    stage_mentions,
};
use crate::stage_state::stage_states;
use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds `apt-get` and `apt` commands that may ask for confirmation (`install`, `remove`,
    /// `upgrade`, ...) without `-y`, and adds `-y` after the subcommand.
    ///
    /// ## Why is this bad?
    /// When apt has more to do than the packages named (dependencies, removals) it asks
    /// "Do you want to continue?". A build has no terminal to answer: apt reads end of input,
    /// aborts, and the build fails, or, depending on the packages of the day, works. `-y`
    /// answers yes.
    ///
    /// Not reported when `-y`, `--yes`, `--assume-yes` (in any short-option cluster such as
    /// `-qy`), quiet level 2 (`-qq`, `-q=2`, which implies `-y`), `--assume-no`,
    /// `--trivial-only`, a simulation (`-s`), `-o APT::Get::Assume-Yes=true` or a config file
    /// (`-c`) is given, when the stage (or a stage it is built from) mentions
    /// `APT::Get::Assume-Yes` (an apt.conf snippet), or when the command reads a pipe
    /// (`yes | apt-get install ...`). `DEBIAN_FRONTEND=noninteractive` silences debconf's
    /// questions, not apt's prompt, so it does not count. Exec-form RUNs, RUN heredocs,
    /// scripts that do not parse and RUNs under a non-POSIX SHELL are left alone.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt-get update && apt-get install curl
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// RUN apt-get update && apt-get install -y curl
    /// ```
    ///
    /// ## Fix safety
    /// Safe: `-y` only answers the prompt. The same packages are installed or removed;
    /// without it the build either did the same or stopped.
    ///
    /// ## References
    /// hadolint DL3014; Docker best practices, "apt-get".
    pub struct AptGetYes {
        name: "apt-get-yes",
        default_enabled: true,
        fix: FixAvailability::Always,
    }
}

/// apt subcommands that may stop at a confirmation prompt.
const PROMPTING: &[&str] = &[
    "install",
    "reinstall",
    "remove",
    "purge",
    "autoremove",
    "autopurge",
    "upgrade",
    "dist-upgrade",
    "full-upgrade",
    "build-dep",
    "satisfy",
];

impl Rule for AptGetYes {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let states = stage_states(ctx.file);
        let mut out = Vec::new();
        for run in package_runs(ctx.file, &states, true) {
            let piped = piped_commands(&run.script);
            let mut configured = None;
            for command in run.script.commands() {
                let Some(action) = package_action(ctx.knowledge, command, "apt", PROMPTING) else {
                    continue;
                };
                if piped.contains(&command.span.clean.start)
                    || answers_prompts(&apt_options(command))
                {
                    continue;
                }
                if *configured.get_or_insert_with(|| {
                    stage_mentions(ctx.file, &states, run.instruction, "APT::Get::Assume-Yes")
                }) {
                    continue;
                }
                let program = command.program().unwrap_or("apt-get");
                let verb = action.value().unwrap_or("install");
                out.push(
                    Diagnostic::new(
                        Self::META.name,
                        command_range(command, action),
                        format!(
                            "`{program} {verb}` without `-y` stops at apt's confirmation prompt, which a build cannot answer"
                        ),
                    )
                    .with_fix(Fix::safe(
                        format!("Add `-y` after `{verb}`"),
                        vec![Edit::insert(action.span.file.end, " -y")],
                    )),
                );
            }
        }
        out
    }
}

/// Whether apt's options answer (or avoid) the confirmation prompt.
fn answers_prompts(options: &[AptOption]) -> bool {
    let mut quiet = 0_u32;
    for option in options {
        let value = option.value.as_deref();
        match option.name.as_str() {
            "assume-yes" | "yes" | "assume-no" | "trivial-only" | "simulate" | "just-print"
            | "dry-run" | "recon" | "no-act"
                if value.is_none_or(is_true) =>
            {
                return true;
            }
            // A config file may set anything; a word we cannot read may be `-y`.
            "config-file" | "?" => return true,
            "quiet" => quiet = value.map_or(quiet + 1, |v| v.parse().unwrap_or(quiet + 1)),
            "option" => {
                let Some((key, value)) = value.and_then(|v| v.split_once('=')) else {
                    continue;
                };
                let key = key.to_ascii_lowercase();
                if matches!(
                    key.as_str(),
                    "apt::get::assume-yes" | "apt::get::trivial-only" | "apt::get::simulate"
                ) && is_true(value)
                {
                    return true;
                }
                if key == "quiet" {
                    quiet = value.parse().unwrap_or(quiet);
                }
            }
            _ => {}
        }
    }
    // apt-get(8): "quiet level 2 implies -y".
    quiet >= 2
}

/// The clean start offsets of commands that read a pipe (a pipeline stage after the first).
#[cfg(test)]
mod tests {
    use super::AptGetYes;
    use crate::rules::package_runs::support::{assert_fixtures, check_target};
    use crate::rules::package_runs::{apt_options, path_covers};
    use crate::rules::test_support::{check, fixed};

    #[test]
    fn adds_y_after_the_subcommand() {
        assert_eq!(
            fixed(
                &AptGetYes,
                "FROM debian\nRUN apt-get update && apt-get install curl\n"
            )
            .unwrap(),
            "FROM debian\nRUN apt-get update && apt-get install -y curl\n"
        );
        assert_eq!(
            fixed(&AptGetYes, "FROM debian\nRUN apt remove --purge vim\n").unwrap(),
            "FROM debian\nRUN apt remove -y --purge vim\n"
        );
        assert_eq!(
            fixed(
                &AptGetYes,
                "FROM debian\nRUN /usr/bin/apt-get -q -o Dpkg::Options::=--force-confnew install x\n"
            )
            .unwrap(),
            "FROM debian\nRUN /usr/bin/apt-get -q -o Dpkg::Options::=--force-confnew install -y x\n"
        );
    }

    #[test]
    fn continuation_lines_and_comments_stay() {
        let text = "FROM debian\nRUN apt-get update \\\n    # tools\n    && apt-get install \\\n        curl \\\n        git\n";
        assert_eq!(
            fixed(&AptGetYes, text).unwrap(),
            "FROM debian\nRUN apt-get update \\\n    # tools\n    && apt-get install -y \\\n        curl \\\n        git\n"
        );
    }

    #[test]
    fn crlf_text_keeps_the_flag_on_its_line() {
        let text =
            "FROM debian\r\nRUN apt-get update && \\\r\n    apt-get install \\\r\n    curl\r\n";
        assert_eq!(
            fixed(&AptGetYes, text).unwrap(),
            "FROM debian\r\nRUN apt-get update && \\\r\n    apt-get install -y \\\r\n    curl\r\n"
        );
    }

    #[test]
    fn one_diagnostic_per_command_including_onbuild() {
        let text = "FROM debian\nRUN apt-get install a; apt install b $PKGS\nONBUILD RUN apt-get install c\n";
        assert_eq!(check(&AptGetYes, text).len(), 3);
        assert_eq!(
            fixed(&AptGetYes, "FROM debian\nONBUILD RUN apt-get install c\n").unwrap(),
            "FROM debian\nONBUILD RUN apt-get install -y c\n"
        );
    }

    #[test]
    fn answered_prompts_are_not_reported() {
        for run in [
            "apt-get install -y curl",
            "apt-get -y install curl",
            "apt-get install -qy curl",
            "apt-get -yq install curl",
            "apt-get install --yes curl",
            "apt-get install --assume-yes curl",
            "apt-get -qq install curl",
            "apt-get -q -q install curl",
            "apt-get -q=2 install curl",
            "apt-get --quiet=2 install curl",
            "apt-get -o APT::Get::Assume-Yes=true install curl",
            "apt-get -oAPT::Get::Assume-Yes=1 install curl",
            "apt-get -s install curl",
            "apt-get -c /etc/my-apt.conf install curl",
            "DEBIAN_FRONTEND=noninteractive apt-get -y install curl",
            "yes | apt-get install curl",
            "apt-get $APT_OPTS install curl",
            "apt-get \"$@\" install curl",
            "apt-get update",
            "apt-get clean",
            "echo apt-get install curl",
            "apt-cache policy curl",
        ] {
            let text = format!("FROM debian\nRUN {run}\n");
            assert!(check(&AptGetYes, &text).is_empty(), "{run}");
        }
    }

    #[test]
    fn exec_form_heredocs_and_other_shells_are_left_alone() {
        for text in [
            "FROM debian\nRUN [\"apt-get\", \"install\", \"curl\"]\n",
            "FROM debian\nRUN <<EOF\napt-get install curl\nEOF\n",
            "FROM debian\nSHELL [\"pwsh\", \"-c\"]\nRUN apt-get install curl\n",
            "FROM debian\nRUN apt-get install curl $(\n",
        ] {
            assert!(check(&AptGetYes, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn apt_config_in_the_stage_or_its_base_counts() {
        let text = "FROM debian AS base\nRUN echo 'APT::Get::Assume-Yes \"true\";' > /etc/apt/apt.conf.d/90yes\nFROM base\nRUN apt-get install curl\nFROM debian\nRUN apt-get install git\n";
        let d = check(&AptGetYes, text);
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(&text[d[0].range.range()], "apt-get install");
        assert!(d[0].range.start > text.rfind("FROM").unwrap());
    }

    #[test]
    fn not_gated_on_buildkit() {
        let text = "FROM debian\nRUN apt-get install curl\n";
        assert_eq!(check_target(&AptGetYes, text, true).len(), 1);
    }

    #[test]
    fn apt_options_read_clusters_and_values() {
        let file = dockopt_syntax::parse(
            "FROM d\nRUN apt-get -qyo A=B -t=bookworm --quiet=2 -c f install --no-install-recommends x -- -y\n",
        );
        let script = dockopt_shell::parse_instruction(file.instruction(1).unwrap()).unwrap();
        let opts = apt_options(script.commands()[0]);
        let names: Vec<(&str, Option<&str>)> = opts
            .iter()
            .map(|o| (o.name.as_str(), o.value.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("quiet", None),
                ("assume-yes", None),
                ("option", Some("A=B")),
                ("target-release", Some("bookworm")),
                ("quiet", Some("2")),
                ("config-file", Some("f")),
                ("no-install-recommends", None),
            ]
        );
    }

    #[test]
    fn paths_cover_their_subfolders_only() {
        assert!(path_covers("/var/lib/apt", "/var/lib/apt/lists"));
        assert!(path_covers("/var/lib/apt/lists/", "/var/lib/apt/lists"));
        assert!(path_covers("/", "/root/.npm"));
        assert!(!path_covers("/var/lib/ap", "/var/lib/apt/lists"));
        assert!(!path_covers(
            "/var/lib/apt/lists/partial",
            "/var/lib/apt/lists"
        ));
    }

    #[test]
    fn fixtures() {
        let fixed = assert_fixtures(
            &AptGetYes,
            include_str!("../../fixtures/apt-get-yes/fires.Dockerfile"),
            include_str!("../../fixtures/apt-get-yes/does-not-fire.Dockerfile"),
        );
        assert!(!fixed.contains("install curl"), "{fixed}");
    }
}
