use dockopt_fix::{ConfigKey, DeclaredEffect, Diagnostic, Edit, Fix};
use dockopt_syntax::InstructionKind;

use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Replaces the deprecated `MAINTAINER` instruction with the label
    /// `org.opencontainers.image.authors`.
    ///
    /// ## Why is this bad?
    /// `MAINTAINER` is deprecated. It sets the image's `Author` field, which tools no longer
    /// read; the OCI label is what registries and scanners show.
    ///
    /// ## Example
    /// ```dockerfile
    /// MAINTAINER Jane Doe <jane@example.com>
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// LABEL org.opencontainers.image.authors="Jane Doe <jane@example.com>"
    /// ```
    ///
    /// ## Fix safety
    /// Unsafe: the image config changes. The `Author` field is no longer set and a label
    /// is added.
    ///
    /// ## References
    /// hadolint DL4000; BuildKit check MaintainerDeprecated.
    pub struct MaintainerToLabel {
        name: "maintainer-to-label",
        default_enabled: true,
        fix: FixAvailability::Always,
    }
}

/// `value` inside double quotes, so that Docker reads it back unchanged (no expansion).
fn double_quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl Rule for MaintainerToLabel {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for instruction in ctx.file.instructions() {
            if instruction.kind() != InstructionKind::Maintainer {
                continue;
            }
            let range = instruction.range();
            let mut diagnostic = Diagnostic::new(
                Self::META.name,
                instruction.keyword_range(),
                "MAINTAINER is deprecated; use the org.opencontainers.image.authors label",
            );
            let value = instruction.args_text();
            // A backtick escape file quotes differently; and multi-line values keep their layout.
            if ctx.file.escape_char() == '\\'
                && !value.is_empty()
                && !instruction.text().contains('\n')
            {
                let keyword = if instruction
                    .keyword()
                    .chars()
                    .any(|c| c.is_ascii_uppercase())
                {
                    "LABEL"
                } else {
                    "label"
                };
                let replacement = format!(
                    "{keyword} org.opencontainers.image.authors={}",
                    double_quoted(value)
                );
                diagnostic = diagnostic.with_fix(Fix::unsafe_edit(
                    "Replace MAINTAINER with an org.opencontainers.image.authors label",
                    vec![Edit::replace(range, replacement)],
                    DeclaredEffect {
                        config: vec![ConfigKey::Labels],
                        summary: "the image's Author field is no longer set; a label carries the maintainer".into(),
                        ..DeclaredEffect::default()
                    },
                ));
            }
            out.push(diagnostic);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::MaintainerToLabel;
    use crate::rules::test_support::fixed;

    #[test]
    fn maintainer_becomes_a_label_with_the_same_text() {
        let text = "FROM a\nMAINTAINER Jane \"JD\" Doe <jane@example.com> $HOME\n";
        let out = fixed(&MaintainerToLabel, text).unwrap();
        assert_eq!(
            out,
            "FROM a\nLABEL org.opencontainers.image.authors=\"Jane \\\"JD\\\" Doe <jane@example.com> \\$HOME\"\n"
        );
        let label = dockopt_syntax::parse(&out);
        let kv = label.instruction(1).unwrap().key_values();
        assert_eq!(
            kv[0].unquoted_value('\\'),
            "Jane \"JD\" Doe <jane@example.com> $HOME"
        );
    }
}
