use dockopt_fix::Diagnostic;
use dockopt_syntax::StageRef;

use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Reports `FROM` images with no tag or the `latest` tag (not stages of this file,
    /// `scratch`, images pinned by digest, or names built from variables).
    ///
    /// ## Why is this bad?
    /// `latest` moves: the same Dockerfile builds a different image next week, a rebuild
    /// can break without any change in the repository, and layer caches miss. Pin a
    /// version tag (and, for reproducible builds, a digest).
    ///
    /// ## Example
    /// ```dockerfile
    /// FROM python
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// FROM python:3.12-slim
    /// ```
    ///
    /// ## Fix safety
    /// No fix: which version to pin is the author's decision.
    ///
    /// ## References
    /// hadolint DL3006, DL3007.
    pub struct LatestTag {
        name: "latest-tag",
        default_enabled: true,
        fix: FixAvailability::None,
    }
}

impl Rule for LatestTag {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let graph = ctx.file.stage_graph();
        let mut out = Vec::new();
        for stage in ctx.file.stages() {
            let Some(from) = stage.from.from() else {
                continue;
            };
            let is_stage = graph.edges.iter().any(|e| {
                e.instruction == stage.from.index() && matches!(e.target, StageRef::Stage(_))
            });
            let image = from.image.value;
            if is_stage
                || image.eq_ignore_ascii_case("scratch")
                || image.contains('@')
                || image.contains('$')
            {
                continue;
            }
            // The tag follows the last `:` after the last `/` (a registry port is not a tag).
            let name = image.rsplit('/').next().unwrap_or(image);
            let message = match name.split_once(':') {
                None => format!("`{image}` has no tag, so it means `latest`; pin a version"),
                Some((_, "latest")) => format!("`{image}` uses the `latest` tag; pin a version"),
                Some(_) => continue,
            };
            out.push(Diagnostic::new(Self::META.name, from.image.range, message));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::LatestTag;
    use crate::rules::test_support::check;

    #[test]
    fn untagged_and_latest_images_are_reported() {
        let text = "FROM python\nFROM node:latest AS n\nFROM localhost:5000/app\n";
        assert_eq!(check(&LatestTag, text).len(), 3);
    }

    #[test]
    fn pinned_images_stages_scratch_and_variables_are_not() {
        let text = "FROM python:3.12 AS build\nFROM build\nFROM scratch\nFROM alpine@sha256:abc\nFROM ${BASE}\nFROM localhost:5000/app:1.0\n";
        assert!(check(&LatestTag, text).is_empty());
    }
}
