//! The facts of knowledge/multi-stage.toml (see its header for the fields).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::image::{Family, glob_captures};

/// `[ecosystems.NAME]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EcosystemFacts {
    #[serde(default)]
    pub(crate) build_env: Vec<String>,
    #[serde(default)]
    pub(crate) sources: Vec<String>,
    #[serde(default)]
    pub(crate) skip: Vec<String>,
    #[serde(default)]
    pub(crate) read_calls: Vec<String>,
    #[serde(default)]
    pub(crate) compile_time: Vec<String>,
    #[serde(default)]
    pub(crate) not_paths: Vec<String>,
    #[serde(default)]
    pub(crate) manifests: Vec<String>,
}

impl EcosystemFacts {
    /// Whether the ENV variable `name` only drives the build.
    pub(crate) fn is_build_env(&self, name: &str) -> bool {
        self.build_env
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => pattern == name,
            })
    }

    /// Whether `path` (relative to the context root) is a source file read for run-time
    /// paths.
    pub(crate) fn is_source(&self, path: &str) -> bool {
        self.sources.iter().any(|s| path.ends_with(s.as_str()))
    }

    /// Whether `path` lies in a skipped folder or has a skipped ending.
    pub(crate) fn is_skipped(&self, path: &str) -> bool {
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            let last = parts.peek().is_none();
            if self.skip.iter().any(|s| {
                if last {
                    part.ends_with(s.as_str())
                } else {
                    part == s
                }
            }) {
                return true;
            }
        }
        false
    }

    /// Whether `path` is a build manifest (by file name).
    pub(crate) fn is_manifest(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        self.manifests.iter().any(|m| m == name)
    }
}

/// `[go]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GoFacts {
    pub(crate) cgo_import: String,
    pub(crate) embed_directive: String,
    #[serde(default)]
    pub(crate) cgo_runtimes: Vec<CgoRuntime>,
    #[serde(default)]
    pub(crate) cgo_modules: Vec<String>,
}

/// `[[go.cgo_runtimes]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CgoRuntime {
    pub(crate) family: Family,
    pub(crate) tags: Vec<String>,
    #[serde(default)]
    pub(crate) not_tags: Vec<String>,
    pub(crate) image: String,
}

impl GoFacts {
    /// The runtime with a C library for a cgo build on an image of `family` tagged `tag`.
    pub(crate) fn cgo_runtime(&self, family: Family, tag: &str) -> Option<&str> {
        let matches = |globs: &[String]| globs.iter().any(|g| glob_captures(g, tag).is_some());
        self.cgo_runtimes
            .iter()
            .find(|r| r.family == family && matches(&r.tags) && !matches(&r.not_tags))
            .map(|r| r.image.as_str())
    }
}

/// Everything in knowledge/multi-stage.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MultiStageFacts {
    pub(crate) ecosystems: BTreeMap<String, EcosystemFacts>,
    pub(crate) go: GoFacts,
}

impl MultiStageFacts {
    /// The facts of ecosystem `name`; empty when the file has none.
    pub(crate) fn ecosystem(&self, name: &str) -> &EcosystemFacts {
        static EMPTY: EcosystemFacts = EcosystemFacts {
            build_env: Vec::new(),
            sources: Vec::new(),
            skip: Vec::new(),
            read_calls: Vec::new(),
            compile_time: Vec::new(),
            not_paths: Vec::new(),
            manifests: Vec::new(),
        };
        self.ecosystems.get(name).unwrap_or(&EMPTY)
    }
}
