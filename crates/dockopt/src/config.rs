//! `dockopt.toml` / `.dockopt.toml`: found upward from each Dockerfile; the nearest wins.
//!
//! ```toml
//! select = ["add-to-copy", "exec-form"]   # instead of the defaults
//! extend-select = []                        # added to the defaults (or to select)
//! ignore = ["latest-tag"]
//! unsafe-fixes = false                      # as --unsafe-fixes
//! context = "."                             # the build context, relative to this file
//! extend-safe-fixes = ["exec-form"]         # treat these rules' Unsafe fixes as Safe
//! extend-unsafe-fixes = ["keyword-casing"]  # treat these rules' Safe fixes as Unsafe
//!
//! [per-file-ignores]
//! "legacy/**" = ["legacy-key-value"]        # globs relative to the config's folder
//!
//! [target]
//! buildkit = true                           # every build uses BuildKit (RUN --mount works)
//!
//! [rules.secret-in-env]                     # per-rule options (`dockopt rule NAME`)
//! allow = ["PUBLIC_API_KEY"]
//! ```
//! Unknown keys and unknown rule names are errors, reported with file:line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use dockopt_fix::{Applicability, Diagnostic};
use dockopt_transforms::{BuildContext, RuleOptions, Selection, TargetFacts, find_rule};
use serde::Deserialize;

pub const CONFIG_NAMES: [&str; 2] = ["dockopt.toml", ".dockopt.toml"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    pub select: Option<Vec<String>>,
    #[serde(default)]
    pub extend_select: Vec<String>,
    #[serde(default)]
    pub ignore: Vec<String>,
    pub unsafe_fixes: Option<bool>,
    pub context: Option<PathBuf>,
    #[serde(default)]
    pub extend_safe_fixes: Vec<String>,
    #[serde(default)]
    pub extend_unsafe_fixes: Vec<String>,
    #[serde(default)]
    pub per_file_ignores: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub rules: BTreeMap<String, toml::Table>,
    #[serde(default)]
    pub target: TargetTable,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TargetTable {
    #[serde(default)]
    pub buildkit: bool,
}

/// A loaded config: the file, its folder, and the compiled per-file globs.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    pub file: ConfigFile,
    per_file: Vec<(globset::GlobMatcher, Vec<String>)>,
    options: RuleOptions,
}

/// The CLI's say, which wins over the config.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub context: Option<PathBuf>,
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub unsafe_fixes: bool,
}

/// What applies to one file.
#[derive(Clone, Debug)]
pub struct Settings {
    pub selection: Selection,
    pub unsafe_fixes: bool,
    /// The build context when given (flag or config); else each Dockerfile's folder.
    pub context: Option<PathBuf>,
    extend_safe: Vec<String>,
    extend_unsafe: Vec<String>,
}

impl Settings {
    /// The build context for `dockerfile`.
    pub fn build_context(&self, dockerfile: &Path) -> BuildContext {
        let folder = dockerfile
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let root = self.context.clone().unwrap_or_else(|| folder.to_path_buf());
        BuildContext::for_dockerfile(root, dockerfile)
    }

    /// Moves fixes between Safe and Unsafe as `extend-safe-fixes`/`extend-unsafe-fixes` say.
    pub fn adjust(&self, diagnostics: &mut [Diagnostic]) {
        for d in diagnostics {
            let Some(fix) = d.fix.as_mut() else { continue };
            if fix.applicability == Applicability::Unsafe
                && self.extend_safe.iter().any(|r| r == d.rule)
            {
                fix.applicability = Applicability::Safe;
            } else if fix.applicability == Applicability::Safe
                && self.extend_unsafe.iter().any(|r| r == d.rule)
            {
                fix.applicability = Applicability::Unsafe;
            }
        }
    }
}

fn names(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn unknown_rules<'a>(names: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    names
        .into_iter()
        .map(String::as_str)
        .filter(|n| find_rule(n).is_none())
        .collect()
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {}", path.display(), crate::input::describe_io(&e)))?;
        let file: ConfigFile = toml::from_str(&text).map_err(|e| {
            let at = e.span().map(|s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
                format!("{line}:{column}: ")
            });
            format!(
                "{}:{}{}",
                path.display(),
                at.unwrap_or_else(|| " ".into()),
                e.message()
            )
        })?;
        let lists = file
            .select
            .iter()
            .flatten()
            .chain(&file.extend_select)
            .chain(&file.ignore)
            .chain(&file.extend_safe_fixes)
            .chain(&file.extend_unsafe_fixes)
            .chain(file.per_file_ignores.values().flatten());
        let unknown = unknown_rules(lists);
        if !unknown.is_empty() {
            let line = unknown
                .first()
                .and_then(|name| {
                    text.lines()
                        .position(|l| l.contains(&format!("\"{name}\"")))
                })
                .map_or(String::new(), |l| format!("{}:1: ", l + 1));
            return Err(format!(
                "{}:{line}unknown rule {} (`dockopt rules` lists them)",
                path.display(),
                unknown.join(", ")
            ));
        }
        let options = RuleOptions::new(file.rules.clone()).map_err(|message| {
            // Point at the table the message names: `[rules.NAME]`.
            let table = message.split(']').next().unwrap_or_default();
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with(table) && !table.is_empty())
                .map_or(String::new(), |l| format!("{}:1: ", l + 1));
            format!("{}:{line}{message}", path.display())
        })?;
        let mut per_file = Vec::new();
        for (pattern, rules) in &file.per_file_ignores {
            let glob = globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("{}: per-file-ignores: {e}", path.display()))?;
            per_file.push((glob.compile_matcher(), rules.clone()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            per_file,
            options,
        })
    }

    /// The settings for `dockerfile`, with the CLI's overrides on top.
    pub fn settings(config: Option<&Self>, dockerfile: &Path, cli: &Overrides) -> Settings {
        let empty = ConfigFile::default();
        let file = config.map_or(&empty, |c| &c.file);
        let select = cli.select.as_ref().or(file.select.as_ref());
        let mut selection = match select {
            Some(only) => Selection::only(&names(only)),
            None => Selection::defaults(),
        };
        selection = selection
            .with(&names(&file.extend_select))
            .with(&names(&cli.extend_select));
        selection = selection
            .without(&names(&file.ignore))
            .without(&names(&cli.ignore));
        if let Some(config) = config {
            let folder = config.path.parent().unwrap_or(Path::new("."));
            let absolute =
                std::fs::canonicalize(dockerfile).unwrap_or_else(|_| dockerfile.to_path_buf());
            let base = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
            if let Ok(relative) = absolute.strip_prefix(&base) {
                for (glob, rules) in &config.per_file {
                    if glob.is_match(relative) {
                        selection = selection.without(&names(rules));
                    }
                }
            }
        }
        if let Some(config) = config {
            selection = selection
                .with_options(config.options.clone())
                .with_target(TargetFacts {
                    buildkit: config.file.target.buildkit,
                });
        }
        let config_context = config.and_then(|c| {
            let folder = c.path.parent().unwrap_or(Path::new("."));
            c.file.context.as_ref().map(|dir| folder.join(dir))
        });
        Settings {
            selection,
            unsafe_fixes: cli.unsafe_fixes || file.unsafe_fixes.unwrap_or(false),
            context: cli.context.clone().or(config_context),
            extend_safe: file.extend_safe_fixes.clone(),
            extend_unsafe: file.extend_unsafe_fixes.clone(),
        }
    }
}

/// Finds and caches configs for the folders of a run.
#[derive(Debug, Default)]
pub struct ConfigFinder {
    cache: Mutex<BTreeMap<PathBuf, Option<Arc<Config>>>>,
}

impl ConfigFinder {
    /// The nearest config above `dockerfile`, loaded once per folder.
    pub fn for_file(&self, dockerfile: &Path) -> Result<Option<Arc<Config>>, String> {
        let absolute =
            std::fs::canonicalize(dockerfile).unwrap_or_else(|_| dockerfile.to_path_buf());
        let mut dir = absolute.parent().map(Path::to_path_buf);
        let mut visited = Vec::new();
        let found = loop {
            let Some(d) = dir else { break None };
            if let Some(cached) = self.cache.lock().expect("config cache").get(&d) {
                break cached.clone();
            }
            visited.push(d.clone());
            if let Some(path) = CONFIG_NAMES.iter().map(|n| d.join(n)).find(|p| p.is_file()) {
                break Some(Arc::new(Config::load(&path)?));
            }
            dir = d.parent().map(Path::to_path_buf);
        };
        let mut cache = self.cache.lock().expect("config cache");
        for d in visited {
            cache.insert(d, found.clone());
        }
        Ok(found)
    }
}
