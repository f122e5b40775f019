//! `dockopt rules` and `dockopt rule NAME`: the registry, for people.

use std::fmt::Write as _;

use dockopt_transforms::{all_rules, find_rule};

use crate::Outcome;

/// A table of every rule: name, whether it fixes, whether it is on by default, summary.
pub fn list() -> Outcome {
    let rules = all_rules();
    let width = rules.iter().map(|r| r.meta().name.len()).max().unwrap_or(4);
    let mut out = format!(
        "{:width$}  {:9}  {:7}  {}\n",
        "rule", "fix", "default", "what it does"
    );
    for rule in rules {
        let meta = rule.meta();
        let _ = writeln!(
            out,
            "{:width$}  {:9}  {:7}  {}",
            meta.name,
            meta.fix.name(),
            if meta.default_enabled { "on" } else { "off" },
            meta.summary()
        );
    }
    crate::print_stdout(&out);
    Outcome::Clean
}

/// One rule's documentation.
pub fn show(name: &str) -> Outcome {
    if let Some(rule) = find_rule(name) {
        let meta = rule.meta();
        crate::print_stdout(&format!(
            "# {}\n\nFix: {}. Default: {}.\n\n{}\n",
            meta.name,
            meta.fix.name(),
            if meta.default_enabled { "on" } else { "off" },
            meta.documentation()
        ));
        return Outcome::Clean;
    }
    let known: Vec<&str> = all_rules().iter().map(|r| r.meta().name).collect();
    let close: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| k.contains(name) || name.contains(k) || k.split('-').any(|p| name.contains(p)))
        .collect();
    eprintln!("error: no rule named `{name}`");
    if close.is_empty() {
        eprintln!("  `dockopt rules` lists them all");
    } else {
        eprintln!("  did you mean: {}", close.join(", "));
    }
    Outcome::Error
}
