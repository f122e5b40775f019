//! The rule registry: metadata, documentation and the check entry point.

use dockopt_fix::Diagnostic;
use dockopt_syntax::Dockerfile;

use crate::{BuildContext, Knowledge, OptionMeta, RuleOptions};

/// Whether a rule offers fixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixAvailability {
    /// It only reports.
    None,
    /// Some diagnostics carry a fix.
    Sometimes,
    /// Every diagnostic carries a fix.
    Always,
}

impl FixAvailability {
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "no",
            Self::Sometimes => "sometimes",
            Self::Always => "yes",
        }
    }
}

/// What the registry knows about a rule.
#[derive(Clone, Copy, Debug)]
pub struct RuleMeta {
    /// Stable kebab-case name (`add-to-copy`).
    pub name: &'static str,
    /// The doc comment, as markdown.
    pub doc: &'static str,
    pub default_enabled: bool,
    pub fix: FixAvailability,
    /// Options the rule reads from `[rules.NAME]` in the config.
    pub options: &'static [OptionMeta],
}

impl RuleMeta {
    /// The doc comment without the one leading blank rustdoc keeps on each line.
    pub fn documentation(&self) -> String {
        self.doc
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string()
    }

    /// The first paragraph of `## What it does`, on one line, for tables.
    pub fn summary(&self) -> String {
        let doc = self.documentation();
        let body = doc
            .split("## What it does")
            .nth(1)
            .unwrap_or(&doc)
            .trim_start();
        let paragraph = body.split("\n\n").next().unwrap_or_default();
        let joined = paragraph
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
        // The first sentence: up to the first ". " outside `code` (`COPY . .` is not an end).
        let mut in_code = false;
        for (i, c) in joined.char_indices() {
            match c {
                '`' => in_code = !in_code,
                '.' if !in_code && joined[i + 1..].starts_with(' ') => {
                    return joined[..=i].to_string();
                }
                _ => {}
            }
        }
        joined
    }
}

/// What a rule sees.
#[derive(Clone, Copy, Debug)]
pub struct CheckContext<'a> {
    pub file: &'a Dockerfile,
    pub knowledge: &'a Knowledge,
    /// The build context, when the caller knows it (`--context`, default: the Dockerfile's
    /// folder); rules that can use it must still work without it.
    pub build_context: Option<&'a BuildContext>,
    /// Per-rule options from the config.
    pub options: &'a RuleOptions,
    /// What the project's builds run on (`[target]` in the config).
    pub target: &'a TargetFacts,
}

/// Facts about where the project builds, from the config's `[target]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetFacts {
    /// Every build uses BuildKit (so `RUN --mount` works): fixes that need it can be Safe.
    pub buildkit: bool,
}

/// A rule: metadata plus a check over one parsed file.
pub trait Rule: Sync + std::fmt::Debug {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic>;
}

/// Declares a rule struct whose doc comment becomes its [`RuleMeta::doc`].
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident {
            name: $kebab:literal,
            default_enabled: $enabled:expr,
            fix: $fix:expr
            $(, options: $options:expr)? $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;

        impl $name {
            pub const META: $crate::RuleMeta = $crate::RuleMeta {
                name: $kebab,
                doc: concat!($($doc, "\n"),*),
                default_enabled: $enabled,
                fix: $fix,
                options: $crate::declare_rule!(@options $($options)?),
            };
        }
    };
    (@options) => { &[] };
    (@options $options:expr) => { $options };
}

/// Every rule, in the order they run and are listed.
pub fn all_rules() -> &'static [&'static dyn Rule] {
    crate::rules::ALL
}

pub fn find_rule(name: &str) -> Option<&'static dyn Rule> {
    all_rules().iter().copied().find(|r| r.meta().name == name)
}

#[cfg(test)]
mod tests {
    use super::all_rules;

    #[test]
    fn every_rule_is_documented_and_named_once() {
        let mut names = std::collections::HashSet::new();
        for rule in all_rules() {
            let meta = rule.meta();
            assert!(names.insert(meta.name), "duplicate rule name {}", meta.name);
            assert!(
                meta.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{} is not kebab-case",
                meta.name
            );
            let doc = meta.documentation();
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Fix safety",
                "## References",
            ] {
                assert!(doc.contains(section), "{}: no `{section}`", meta.name);
            }
            assert!(
                meta.summary().ends_with('.') && meta.summary().matches('`').count() % 2 == 0,
                "{}: summary {:?}",
                meta.name,
                meta.summary()
            );
            assert!(super::find_rule(meta.name).is_some());
        }
        assert!(names.len() >= 8);
    }
}
