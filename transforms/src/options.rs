//! Per-rule options from the config (`[rules.secret-in-env]` tables), declared by each rule
//! in its [`RuleMeta::options`](crate::RuleMeta) and checked before anything runs.

use std::collections::BTreeMap;

use crate::find_rule;

/// The type of an option's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    Bool,
    Strings,
    /// A whole number, zero or more.
    Count,
}

impl OptionKind {
    fn name(self) -> &'static str {
        match self {
            Self::Bool => "true or false",
            Self::Strings => "a list of strings",
            Self::Count => "a whole number (0 or more)",
        }
    }

    fn accepts(self, value: &toml::Value) -> bool {
        match self {
            Self::Bool => value.is_bool(),
            Self::Strings => value
                .as_array()
                .is_some_and(|a| a.iter().all(toml::Value::is_str)),
            Self::Count => value.as_integer().is_some_and(|n| n >= 0),
        }
    }
}

/// One option a rule accepts.
#[derive(Clone, Copy, Debug)]
pub struct OptionMeta {
    pub name: &'static str,
    pub kind: OptionKind,
    pub doc: &'static str,
}

/// Options by rule name.
#[derive(Clone, Debug, Default)]
pub struct RuleOptions {
    by_rule: BTreeMap<String, toml::Table>,
}

impl RuleOptions {
    /// Checks names and types against the rules' declarations. The error names the rule
    /// and key, and what was expected.
    pub fn new(by_rule: BTreeMap<String, toml::Table>) -> Result<Self, String> {
        for (rule, table) in &by_rule {
            let meta = find_rule(rule)
                .ok_or_else(|| {
                    format!("[rules.{rule}]: unknown rule (`dockopt rules` lists them)")
                })?
                .meta();
            for (key, value) in table {
                let Some(option) = meta.options.iter().find(|o| o.name == key) else {
                    let known: Vec<&str> = meta.options.iter().map(|o| o.name).collect();
                    return Err(format!(
                        "[rules.{rule}]: unknown option `{key}` ({})",
                        if known.is_empty() {
                            "the rule has no options".to_string()
                        } else {
                            format!("it has: {}", known.join(", "))
                        }
                    ));
                };
                if !option.kind.accepts(value) {
                    return Err(format!(
                        "[rules.{rule}]: `{key}` must be {}",
                        option.kind.name()
                    ));
                }
            }
        }
        Ok(Self { by_rule })
    }

    /// A list-of-strings option (empty when unset).
    pub fn strings(&self, rule: &str, key: &str) -> Vec<String> {
        self.by_rule
            .get(rule)
            .and_then(|t| t.get(key))
            .and_then(toml::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A boolean option, or `default`.
    pub fn bool(&self, rule: &str, key: &str, default: bool) -> bool {
        self.by_rule
            .get(rule)
            .and_then(|t| t.get(key))
            .and_then(toml::Value::as_bool)
            .unwrap_or(default)
    }

    /// A whole-number option, or `default`.
    pub fn count(&self, rule: &str, key: &str, default: u64) -> u64 {
        self.by_rule
            .get(rule)
            .and_then(|t| t.get(key))
            .and_then(toml::Value::as_integer)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(default)
    }
}
