//! dockopt's rules and transform passes: one module a rule, knowledge in `knowledge/*.toml`.
//!
//! A rule is a unit struct declared with [`declare_rule!`]: its doc comment (sections
//! `## What it does`, `## Why is this bad?`, `## Example`, `## Fix safety`, `## References`)
//! is what `dockopt rule NAME` prints, so the documentation lives beside the code. Rules see
//! a parsed file through [`CheckContext`] and return diagnostics with fixes; they never
//! print or touch the file system.

mod context;
pub mod image;
mod knowledge;
pub mod manifest;
mod manifest_location;
mod manifest_pyproject;
mod options;
pub mod package;
mod paths;
mod registry;
pub mod rules;
mod runner;
pub mod stage_state;

pub use context::{
    BuildContext, ChangeCounts, ContextFile, ContextFiles, EntryKind, IgnoreFile, IgnorePatterns,
};
pub use knowledge::{CacheDir, Knowledge, PackageManager};
pub use options::{OptionKind, OptionMeta, RuleOptions};
pub use registry::{
    CheckContext, FixAvailability, Rule, RuleMeta, TargetFacts, all_rules, find_rule,
};
pub use runner::{Selection, check_file, check_file_in};
