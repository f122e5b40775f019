use dockopt_fix::Diagnostic;
use dockopt_syntax::{InstructionKind, TextRange};

use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports `apt-get upgrade`, `apt-get dist-upgrade` and `apt upgrade` in RUN.
    ///
    /// ## Why is this bad?
    /// Upgrading every package inside a build makes the image depend on the day it was
    /// built, grows the layer, and hides what the image contains. Rebuild on a newer base
    /// image instead, and pin the packages you install.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt-get update && apt-get upgrade -y
    /// ```
    /// Use instead: a newer base image tag, rebuilt regularly.
    ///
    /// ## Fix safety
    /// No fix: removing the upgrade changes which package versions the image has.
    ///
    /// ## References
    /// hadolint DL3005 (retired); Docker best practices, "apt-get".
    pub struct AptGetUpgrade {
        name: "apt-get-upgrade",
        default_enabled: true,
        fix: FixAvailability::None,
    }
}

impl Rule for AptGetUpgrade {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for instruction in ctx.file.instructions() {
            let instruction = instruction.onbuild_child().unwrap_or(instruction);
            if instruction.kind() != InstructionKind::Run {
                continue;
            }
            let Some(script) = dockopt_shell::parse_instruction(instruction) else {
                continue;
            };
            for command in script.commands() {
                let program = command.program().unwrap_or_default();
                if !matches!(program, "apt-get" | "apt") {
                    continue;
                }
                let Some(sub) = command.positionals().next() else {
                    continue;
                };
                if matches!(
                    sub.value(),
                    Some("upgrade" | "dist-upgrade" | "full-upgrade")
                ) {
                    let range = TextRange::from(command.span.file.clone());
                    out.push(Diagnostic::new(
                        Self::META.name,
                        range,
                        format!("`{program} {}` makes the image depend on the day it was built; use a newer base image", sub.raw),
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::AptGetUpgrade;
    use crate::rules::test_support::check;

    #[test]
    fn upgrades_are_reported() {
        let text = "FROM debian\nRUN apt-get update && apt-get -y upgrade\nRUN apt dist-upgrade\n";
        assert_eq!(check(&AptGetUpgrade, text).len(), 2);
    }

    #[test]
    fn installs_and_mentions_are_not() {
        let text = "FROM debian\nRUN apt-get install -y upgrade-helper && echo apt-get upgrade\n";
        assert!(check(&AptGetUpgrade, text).is_empty());
    }
}
