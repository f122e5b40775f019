use dockopt_fix::{Diagnostic, Edit, Fix};
use dockopt_syntax::{Instruction, InstructionKind};

use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds instruction keywords and `AS` in `FROM ... AS name` that are not upper case,
    /// and upper-cases them.
    ///
    /// ## Why is this bad?
    /// Docker reads keywords in any case, but upper case is the convention every reader
    /// expects, and mixed casing in one file (BuildKit's `ConsistentInstructionCasing` and
    /// `FromAsCasing` checks) makes instructions harder to tell from their arguments.
    ///
    /// ## Example
    /// ```dockerfile
    /// from golang:1.22 as build
    /// run go build ./...
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// FROM golang:1.22 AS build
    /// RUN go build ./...
    /// ```
    ///
    /// ## Fix safety
    /// Safe: keywords and `AS` are case-insensitive, the image is the same.
    ///
    /// ## References
    /// BuildKit checks ConsistentInstructionCasing, FromAsCasing.
    pub struct KeywordCasing {
        name: "keyword-casing",
        default_enabled: true,
        fix: FixAvailability::Always,
    }
}

fn check_keyword(instruction: Instruction<'_>, out: &mut Vec<Diagnostic>) {
    let keyword = instruction.keyword();
    if instruction.kind() == InstructionKind::Unknown || keyword == keyword.to_ascii_uppercase() {
        return;
    }
    let range = instruction.keyword_range();
    // A keyword split by a line continuation is left alone: its bytes are not one word.
    if range.len() != keyword.len() {
        return;
    }
    let upper = keyword.to_ascii_uppercase();
    out.push(
        Diagnostic::new(
            KeywordCasing::META.name,
            range,
            format!("keyword `{keyword}` is not upper case"),
        )
        .with_fix(Fix::safe(
            format!("Write `{upper}`"),
            vec![Edit::replace(range, upper)],
        )),
    );
}

impl Rule for KeywordCasing {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for instruction in ctx.file.instructions() {
            check_keyword(instruction, &mut out);
            if let Some(child) = instruction.onbuild_child() {
                check_keyword(child, &mut out);
            }
            let Some(from) = instruction.from() else {
                continue;
            };
            let words = instruction.words();
            if from.stage_name.is_some() && words[1].value != "AS" && words[1].range.len() == 2 {
                let range = words[1].range;
                out.push(
                    Diagnostic::new(
                        Self::META.name,
                        range,
                        format!("`{}` in FROM is not upper case", words[1].value),
                    )
                    .with_fix(Fix::safe("Write `AS`", vec![Edit::replace(range, "AS")])),
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::KeywordCasing;
    use crate::rules::test_support::{check, fixed};

    #[test]
    fn lower_and_mixed_keywords_are_upper_cased() {
        let text = "from a as build\nRun echo\nONBUILD run x\nFROM b AS c\nCMD x\n";
        assert_eq!(check(&KeywordCasing, text).len(), 4);
        assert_eq!(
            fixed(&KeywordCasing, text).unwrap(),
            "FROM a as build\nRun echo\nONBUILD run x\nFROM b AS c\nCMD x\n"
        );
    }

    #[test]
    fn upper_case_and_unknown_instructions_are_left_alone() {
        assert!(check(&KeywordCasing, "FROM a AS b\nRUN x\nfrobnicate y\n").is_empty());
    }
}
