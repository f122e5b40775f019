use dockopt_fix::{Diagnostic, Edit, Fix};
use dockopt_syntax::{Instruction, InstructionKind};

use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds the legacy `ENV key value` and `LABEL key value` forms and writes them as
    /// `key=value`.
    ///
    /// ## Why is this bad?
    /// The legacy form sets one variable with everything after the first blank as its
    /// value, so `ENV A 1 B 2` sets `A` to `1 B 2`. Docker deprecates it (BuildKit's
    /// `LegacyKeyValueFormat` check) and the `key=value` form says what it means.
    ///
    /// ## Example
    /// ```dockerfile
    /// ENV PYTHONUNBUFFERED 1
    /// ENV GREETING hello world
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// ENV PYTHONUNBUFFERED=1
    /// ENV GREETING="hello world"
    /// ```
    ///
    /// ## Fix safety
    /// Safe: the value Docker stores is the same. A value without blanks is kept as written;
    /// a value with blanks is put in double quotes when it has no quotes, backslashes or
    /// escape characters of its own; otherwise there is no fix, and the message says why.
    ///
    /// ## References
    /// BuildKit check LegacyKeyValueFormat.
    pub struct LegacyKeyValue {
        name: "legacy-key-value",
        default_enabled: true,
        fix: FixAvailability::Sometimes,
    }
}

/// True when `value` has blanks outside quotes (it would not be one `key=value` word).
fn has_unquoted_blank(value: &str, escape: char) -> bool {
    let mut quote = None;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c == escape => {
                chars.next();
            }
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('"'), c) if c == escape => {
                chars.next();
            }
            (None, c) if c.is_whitespace() => return true,
            _ => {}
        }
    }
    false
}

fn check_instruction(instruction: Instruction<'_>, escape: char, out: &mut Vec<Diagnostic>) {
    if !matches!(
        instruction.kind(),
        InstructionKind::Env | InstructionKind::Label
    ) {
        return;
    }
    for pair in instruction.key_values().into_iter().filter(|p| p.legacy) {
        let key = pair.key.value;
        let value = pair.value.value;
        let keyword = instruction.kind().name();
        let replacement = if !has_unquoted_blank(value, escape) {
            Some(format!("{key}={value}"))
        } else if !value.contains(['"', '\'', '\\', escape]) {
            Some(format!("{key}=\"{value}\""))
        } else {
            None
        };
        let range = pair.key.range.cover(pair.value.range);
        let file_text = &instruction.file().text()[range.range()];
        let message = format!("legacy `{keyword} {key} value` form; write `{key}=value`");
        let mut diagnostic = Diagnostic::new(LegacyKeyValue::META.name, range, message);
        // A pair that spans continuation lines keeps its layout: no fix.
        if let Some(replacement) = replacement.filter(|_| !file_text.contains('\n')) {
            diagnostic = diagnostic.with_fix(Fix::safe(
                format!("Write `{}`", replacement.lines().next().unwrap_or_default()),
                vec![Edit::replace(range, replacement)],
            ));
        } else {
            diagnostic
                .message
                .push_str(" (no automatic fix: the value has quotes, escapes or line breaks)");
        }
        out.push(diagnostic);
    }
}

impl Rule for LegacyKeyValue {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let escape = ctx.file.escape_char();
        let mut out = Vec::new();
        for instruction in ctx.file.instructions() {
            check_instruction(
                instruction.onbuild_child().unwrap_or(instruction),
                escape,
                &mut out,
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::LegacyKeyValue;
    use crate::rules::test_support::{check, fixed};

    #[test]
    fn legacy_pairs_are_rewritten_with_the_same_value() {
        let cases = [
            (
                "FROM a\nENV PYTHONUNBUFFERED 1\n",
                "FROM a\nENV PYTHONUNBUFFERED=1\n",
            ),
            (
                "FROM a\nENV GREETING hello   world\n",
                "FROM a\nENV GREETING=\"hello   world\"\n",
            ),
            ("FROM a\nENV P $HOME/bin\n", "FROM a\nENV P=$HOME/bin\n"),
            (
                "FROM a\nLABEL version \"1.0 beta\"\n",
                "FROM a\nLABEL version=\"1.0 beta\"\n",
            ),
        ];
        for (before, after) in cases {
            assert_eq!(
                fixed(&LegacyKeyValue, before).as_deref(),
                Some(after),
                "{before}"
            );
            // The value Docker stores is unchanged.
            let old = dockopt_syntax::parse(before);
            let new = dockopt_syntax::parse(after);
            let value = |f: &dockopt_syntax::Dockerfile| {
                f.instruction(1).unwrap().key_values()[0].unquoted_value('\\')
            };
            assert_eq!(value(&old), value(&new), "{before}");
        }
    }

    #[test]
    fn values_with_quotes_and_blanks_are_reported_without_fix() {
        let d = check(&LegacyKeyValue, "FROM a\nENV A x \"y z\"\n");
        assert_eq!(d.len(), 1);
        assert!(d[0].fix.is_none());
    }

    #[test]
    fn key_value_form_is_left_alone() {
        assert!(check(&LegacyKeyValue, "FROM a\nENV A=1 B=\"2 3\"\nLABEL x=y\n").is_empty());
    }
}
