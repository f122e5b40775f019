//! Running the selected rules over one file, with inline suppressions applied.
//!
//! Suppressions are comments:
//! - `# dockopt: ignore=RULE[,RULE]` on the line (or comment block) right before an
//!   instruction silences those rules for that instruction; `# dockopt: ignore` alone
//!   silences every rule there.
//! - `# dockopt: ignore-file=RULE[,RULE]` anywhere silences them for the whole file
//!   (`# dockopt: ignore-file` alone: every rule).

use dockopt_fix::Diagnostic;
use dockopt_syntax::{Dockerfile, ItemKind, TextRange};

use crate::{BuildContext, CheckContext, Knowledge, Rule, RuleOptions, TargetFacts, all_rules};

/// Which rules run.
#[derive(Clone, Debug)]
pub struct Selection {
    rules: Vec<&'static dyn Rule>,
    options: RuleOptions,
    target: TargetFacts,
}

impl Selection {
    /// The rules that are on by default.
    pub fn defaults() -> Self {
        Self {
            rules: all_rules()
                .iter()
                .copied()
                .filter(|r| r.meta().default_enabled)
                .collect(),
            options: RuleOptions::default(),
            target: TargetFacts::default(),
        }
    }

    /// Exactly these rules, in registry order.
    pub fn only(names: &[&str]) -> Self {
        Self {
            rules: all_rules()
                .iter()
                .copied()
                .filter(|r| names.contains(&r.meta().name))
                .collect(),
            options: RuleOptions::default(),
            target: TargetFacts::default(),
        }
    }

    /// Adds rules (by name) to the selection.
    #[must_use]
    pub fn with(mut self, names: &[&str]) -> Self {
        for rule in all_rules() {
            if names.contains(&rule.meta().name) && !self.contains(rule.meta().name) {
                self.rules.push(*rule);
            }
        }
        self
    }

    /// Adds a rule that need not be in the registry: a rule of an embedder, or a test rule
    /// (e.g. a deliberately broken one, to show what the fix loop does with its fixes).
    #[must_use]
    pub fn with_rule(mut self, rule: &'static dyn Rule) -> Self {
        if !self.contains(rule.meta().name) {
            self.rules.push(rule);
        }
        self
    }

    /// Removes rules (by name) from the selection.
    #[must_use]
    pub fn without(mut self, names: &[&str]) -> Self {
        self.rules.retain(|r| !names.contains(&r.meta().name));
        self
    }

    /// Tells the rules where the project builds.
    #[must_use]
    pub fn with_target(mut self, target: TargetFacts) -> Self {
        self.target = target;
        self
    }

    /// Configures the rules with `[rules.NAME]` options.
    #[must_use]
    pub fn with_options(mut self, options: RuleOptions) -> Self {
        self.options = options;
        self
    }

    pub fn contains(&self, name: &str) -> bool {
        self.rules.iter().any(|r| r.meta().name == name)
    }

    pub fn rules(&self) -> &[&'static dyn Rule] {
        &self.rules
    }
}

/// Rules named in a suppression comment; `None` means every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Suppression {
    rules: Option<Vec<String>>,
    /// The instruction it covers; `None` for the whole file.
    scope: Option<TextRange>,
}

impl Suppression {
    fn silences(&self, diagnostic: &Diagnostic) -> bool {
        let in_scope = self
            .scope
            .is_none_or(|r| r.contains(diagnostic.range.start));
        let rule = self
            .rules
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == diagnostic.rule));
        in_scope && rule
    }
}

/// `# dockopt: ignore=a,b` -> (file-wide?, rules).
fn parse_suppression(comment: &str) -> Option<(bool, Option<Vec<String>>)> {
    let body = comment.strip_prefix('#')?.trim();
    let rest = body.strip_prefix("dockopt:")?.trim();
    let (file_wide, rest) = match rest.strip_prefix("ignore-file") {
        Some(r) => (true, r),
        None => (false, rest.strip_prefix("ignore")?),
    };
    let rest = rest.trim();
    if rest.is_empty() {
        return Some((file_wide, None));
    }
    let names = rest.strip_prefix('=')?;
    Some((
        file_wide,
        Some(
            names
                .split(',')
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect(),
        ),
    ))
}

fn suppressions(file: &Dockerfile) -> Vec<Suppression> {
    let mut out = Vec::new();
    let mut pending: Vec<Option<Vec<String>>> = Vec::new();
    for item in file.items() {
        match item.kind {
            ItemKind::Comment => {
                let text = file.text()[item.range.range()].trim();
                match parse_suppression(text) {
                    Some((true, rules)) => out.push(Suppression { rules, scope: None }),
                    Some((false, rules)) => pending.push(rules),
                    None => {}
                }
            }
            ItemKind::Instruction(i) => {
                let range = file.instruction(i).map(dockopt_syntax::Instruction::range);
                out.extend(pending.drain(..).map(|rules| Suppression {
                    rules,
                    scope: range,
                }));
            }
            ItemKind::Blank | ItemKind::Directive(_) => pending.clear(),
        }
    }
    out
}

/// The diagnostics of the selected rules on `file`, sorted by position, suppressions applied.
pub fn check_file(file: &Dockerfile, selection: &Selection) -> Vec<Diagnostic> {
    check_file_in(file, selection, None)
}

/// [`check_file`] with the build context, for rules that look at it.
pub fn check_file_in(
    file: &Dockerfile,
    selection: &Selection,
    build_context: Option<&BuildContext>,
) -> Vec<Diagnostic> {
    let ctx = CheckContext {
        file,
        knowledge: Knowledge::get(),
        build_context,
        options: &selection.options,
        target: &selection.target,
    };
    let suppressions = suppressions(file);
    let mut diagnostics: Vec<Diagnostic> = selection
        .rules()
        .iter()
        .flat_map(|rule| rule.check(&ctx))
        .filter(|d| !suppressions.iter().any(|s| s.silences(d)))
        .collect();
    diagnostics.sort_by_key(|d| (d.range.start, d.range.end));
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::{Selection, check_file};

    fn rules_fired(text: &str) -> Vec<&'static str> {
        check_file(&dockopt_syntax::parse(text), &Selection::defaults())
            .iter()
            .map(|d| d.rule)
            .collect()
    }

    #[test]
    fn inline_suppression_covers_the_next_instruction_only() {
        let text = "FROM a:1\n# dockopt: ignore=add-to-copy\nADD x.py /\nADD y.py /\n";
        assert_eq!(rules_fired(text), ["add-to-copy"]);
        let text = "FROM a:1\n# dockopt: ignore\nrun apt-get update\n\n# dockopt: ignore=keyword-casing\n\nrun rm -rf /tmp/x\n";
        assert_eq!(
            rules_fired(text),
            ["keyword-casing", "merge-runs"],
            "a blank line ends a suppression"
        );
    }

    #[test]
    fn file_suppression_covers_everything() {
        let text = "# dockopt: ignore-file=latest-tag\nFROM a\nFROM b\n";
        assert!(rules_fired(text).is_empty());
        assert_eq!(
            rules_fired("FROM a\nFROM b\n"),
            ["latest-tag", "latest-tag"]
        );
    }

    #[test]
    fn selection_adds_and_removes() {
        let s = Selection::defaults().without(&["latest-tag"]);
        assert!(!s.contains("latest-tag"));
        assert!(s.with(&["latest-tag"]).contains("latest-tag"));
        assert_eq!(Selection::only(&["exec-form"]).rules().len(), 1);
    }
}
