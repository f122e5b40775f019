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

/// `[python]`: the project tools (uv, poetry) whose virtual environment the runtime stage
/// copies.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PythonFacts {
    /// Distributions that `pip install` puts in the build image as build tools.
    pub(crate) build_tools: Vec<String>,
    /// The programs those tools install.
    pub(crate) tool_programs: Vec<String>,
    /// Distributions that `pip install` may put in the system site-packages beside a
    /// `pip install --user` without making it a second install (packaging tools).
    pub(crate) packaging_tools: Vec<String>,
    pub(crate) uv: UvFacts,
    pub(crate) poetry: PoetryFacts,
    pub(crate) pipenv: PipenvFacts,
    pub(crate) user: UserSiteFacts,
}

/// `[python.pipenv]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PipenvFacts {
    /// The in-project environment, relative to the project folder.
    pub(crate) venv: String,
    /// The variable that puts the environment in the project, and the values pipenv reads
    /// as true and as false.
    pub(crate) in_project_env: String,
    pub(crate) true_values: Vec<String>,
    pub(crate) false_values: Vec<String>,
    /// The subcommands that install, and those that only write the lock file.
    pub(crate) installs: Vec<String>,
    pub(crate) locks: Vec<String>,
    /// The flag that installs into the Python found on PATH rather than a venv.
    pub(crate) system_flag: String,
    /// Flags that install the dev packages too, and the variable that does.
    pub(crate) dev_flags: Vec<String>,
    pub(crate) dev_env: String,
    /// Flags and variables that make pipenv use another project, Python or environment.
    pub(crate) unsupported_flags: Vec<String>,
    pub(crate) unsupported_env: Vec<String>,
}

/// `[python.user]`: where `pip install --user` puts packages.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserSiteFacts {
    /// The pip flag.
    pub(crate) flag: String,
    /// The variable that sets the user base.
    pub(crate) base_env: String,
    /// The user base under HOME when the variable is not set, and root's HOME.
    pub(crate) home_base: String,
    pub(crate) root_home: String,
    /// Folders other users cannot read (root's home is 0700 on Debian): a user base there
    /// goes to `runtime_base` in the runtime stage.
    pub(crate) private: Vec<String>,
    pub(crate) runtime_base: String,
}

/// `[python.uv]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UvFacts {
    /// The project's environment, relative to the project folder.
    pub(crate) venv: String,
    /// The variable that moves it.
    pub(crate) venv_env: String,
    /// The dependency groups `uv sync` installs unless told otherwise.
    pub(crate) default_groups: Vec<String>,
    /// The variable that sets whether uv may download a Python, and its values that forbid
    /// it.
    pub(crate) downloads_env: String,
    pub(crate) no_downloads: Vec<String>,
    /// Variables that make `uv pip` use the system Python.
    pub(crate) system_env: Vec<String>,
}

/// `[python.poetry]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PoetryFacts {
    /// The in-project environment, relative to the project folder.
    pub(crate) venv: String,
    /// The variable (and `poetry config` key) that puts the environment in the project.
    pub(crate) in_project_env: String,
    pub(crate) in_project_key: String,
    /// The variable (and key) that, false, installs into the system site-packages.
    pub(crate) create_env: String,
    pub(crate) create_key: String,
}

/// Everything in knowledge/multi-stage.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MultiStageFacts {
    pub(crate) ecosystems: BTreeMap<String, EcosystemFacts>,
    pub(crate) go: GoFacts,
    pub(crate) python: PythonFacts,
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
