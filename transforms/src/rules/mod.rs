//! One module a rule. `ALL` is the registry's order: the order rules run and are listed.

mod add_to_copy;
mod apk_no_cache;
mod apt_get_upgrade;
mod apt_get_yes;
mod apt_lists_cleanup;
mod apt_no_install_recommends;
mod cache_mounts;
mod dockerignore;
mod exec_form;
mod keyword_casing;
mod latest_tag;
mod legacy_key_value;
mod maintainer_to_label;
mod merge_runs;
mod multi_stage;
mod non_root_user;
mod npm_cache_clean;
mod package_runs;
mod pip_no_cache;
mod secret_in_env;
mod split_copy;
mod split_stage_copy;

pub use add_to_copy::AddToCopy;
pub use apk_no_cache::ApkNoCache;
pub use apt_get_upgrade::AptGetUpgrade;
pub use apt_get_yes::AptGetYes;
pub use apt_lists_cleanup::AptListsCleanup;
pub use apt_no_install_recommends::AptNoInstallRecommends;
pub use cache_mounts::CacheMounts;
pub use dockerignore::Dockerignore;
pub use exec_form::ExecForm;
pub use keyword_casing::KeywordCasing;
pub use latest_tag::LatestTag;
pub use legacy_key_value::LegacyKeyValue;
pub use maintainer_to_label::MaintainerToLabel;
pub use merge_runs::MergeRuns;
pub use multi_stage::MultiStage;
pub(crate) use multi_stage::MultiStageFacts;
pub use non_root_user::NonRootUser;
pub use npm_cache_clean::NpmCacheClean;
pub use pip_no_cache::PipNoCache;
pub use secret_in_env::SecretInEnv;
pub use split_copy::SplitCopy;
pub use split_stage_copy::SplitStageCopy;

use std::fmt::Write as _;

use crate::Rule;

pub(crate) static ALL: &[&dyn Rule] = &[
    &AddToCopy,
    &ExecForm,
    &KeywordCasing,
    &LegacyKeyValue,
    &MaintainerToLabel,
    &MergeRuns,
    &CacheMounts,
    &SplitCopy,
    &SplitStageCopy,
    &Dockerignore,
    &AptGetYes,
    &AptNoInstallRecommends,
    &AptListsCleanup,
    &PipNoCache,
    &ApkNoCache,
    &NpmCacheClean,
    &LatestTag,
    &SecretInEnv,
    &MultiStage,
    &NonRootUser,
    &AptGetUpgrade,
];

/// A replacement keyword in the case the file already uses for `original` (`add` -> `copy`).
pub(crate) fn keyword_like(original: &str, upper: &str) -> String {
    if original.chars().all(|c| !c.is_ascii_uppercase()) {
        upper.to_ascii_lowercase()
    } else {
        upper.to_string()
    }
}

/// The script of a shell-form RUN without heredocs, when dockopt can read it fully and it
/// runs something.
pub(crate) fn script_of(
    instruction: dockopt_syntax::Instruction<'_>,
) -> Option<dockopt_shell::Script> {
    if instruction.is_exec_form() || instruction.heredocs().len() > 0 {
        return None;
    }
    dockopt_shell::parse_instruction(instruction).filter(|s| !s.is_opaque() && !s.is_empty())
}

/// `["a", "b", "c"]` -> `a, b and c`.
pub(crate) fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `["a", "b", "c"]` -> `a, b or c`.
pub(crate) fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// `s` as a JSON string literal.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
pub(crate) mod test_support {
    use dockopt_fix::Diagnostic;

    use crate::{CheckContext, Knowledge, Rule};

    /// The rule's diagnostics on `text`.
    pub fn check(rule: &dyn Rule, text: &str) -> Vec<Diagnostic> {
        let file = dockopt_syntax::parse(text);
        rule.check(&CheckContext {
            file: &file,
            knowledge: Knowledge::get(),
            build_context: None,
            options: &crate::RuleOptions::default(),
            target: &crate::TargetFacts::default(),
        })
    }

    /// `text` with the first diagnostic's fix applied (edits are disjoint within a fix).
    pub fn fixed(rule: &dyn Rule, text: &str) -> Option<String> {
        let diagnostics = check(rule, text);
        let fix = diagnostics.iter().find_map(|d| d.fix.as_ref())?;
        let mut out = text.to_string();
        for edit in fix.edits.iter().rev() {
            out.replace_range(edit.range.range(), &edit.replacement);
        }
        Some(out)
    }
}
