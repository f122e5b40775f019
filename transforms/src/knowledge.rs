//! Facts the rules read, from `knowledge/*.toml` (embedded at build time).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Archives {
    pub archive_suffixes: Vec<String>,
    pub plain_extensions: Vec<String>,
    pub remote_prefixes: Vec<String>,
    pub add_only_flags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    pub name_words: Vec<String>,
    pub name_suffixes: Vec<String>,
    pub name_exact: Vec<String>,
    pub harmless_suffixes: Vec<String>,
}

/// A cache folder of a package manager (see knowledge/package-managers.toml).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheDir {
    /// Absolute, or `~/...` under the HOME in effect.
    pub target: String,
    /// Variables whose value is the folder; the first one set wins.
    #[serde(default)]
    pub env: Vec<String>,
    /// `VAR/sub/folder`: the folder under a variable's value, tried in order after `env`
    /// (`CARGO_HOME/registry`, `XDG_CACHE_HOME/pip`). A `*` stands for a part dockopt
    /// cannot know (bundler's `BUNDLE_PATH/ruby/*/cache`, `*` the Ruby ABI version).
    #[serde(default)]
    pub under: Vec<String>,
    /// The folder that stands for `~` when the manager runs as root (Yarn classic uses
    /// /usr/local/share, not root's HOME).
    pub root_home: Option<String>,
    /// For a non-root USER, variables one of which must be set for a mount to work: the
    /// manager also writes beside the cache folder (poetry's virtualenvs, pnpm's link
    /// check), and BuildKit creates the mount's missing parents owned by root.
    #[serde(default)]
    pub nonroot_needs_env: Vec<String>,
    /// `locked` when concurrent builds must not share it at once.
    pub sharing: Option<String>,
    /// The sub-folders that are disposable cache, when not all of the folder is: what the
    /// RUN writes elsewhere under a cache mount also stays out of the image, and that is a
    /// real change (`/var/lib/apt/extended_states` is apt's state, not a cache).
    #[serde(default)]
    pub disposable: Vec<String>,
}

/// One package manager.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageManager {
    pub name: String,
    pub programs: Vec<String>,
    #[serde(default)]
    pub modules: Vec<String>,
    pub downloads: Vec<String>,
    #[serde(default)]
    pub index_updates: Vec<String>,
    #[serde(default)]
    pub system: bool,
    /// Subcommands that install the packages named after them (`apt-get install`).
    #[serde(default)]
    pub installs: Vec<String>,
    /// Options that take the next word as their value.
    #[serde(default)]
    pub valued_options: Vec<String>,
    pub caches: Vec<CacheDir>,
    #[serde(default)]
    pub redundant_flags: Vec<String>,
    #[serde(default)]
    pub redundant_env: Vec<String>,
    /// Values of `redundant_env` variables that leave the cache on (`UV_NO_CACHE=0`).
    #[serde(default)]
    pub redundant_env_off_values: Vec<String>,
    #[serde(default)]
    pub cleanup: Vec<Vec<String>>,
    pub prepare: Option<String>,
    pub home_note: Option<String>,
    /// Yarn berry's settings and cache, for a build context whose project is berry.
    pub berry: Option<YarnBerry>,
}

/// Yarn berry (2 and later): see the yarn entry of knowledge/package-managers.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YarnBerry {
    pub config: String,
    pub release_key: String,
    pub release_prefix: String,
    pub global_cache_since: u64,
    pub global_cache_key: String,
    pub global_cache_env: String,
    pub caches: Vec<CacheDir>,
}

impl PackageManager {
    /// Whether `program` (a command's base name) is this manager.
    pub fn matches_program(&self, program: &str) -> bool {
        self.programs.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => program.starts_with(prefix),
            None => p == program,
        })
    }

    /// Whether `action` (the subcommand) only refreshes the package index.
    pub fn updates_index(&self, action: Option<&str>) -> bool {
        action.is_some_and(|a| self.index_updates.iter().any(|u| u == a))
    }

    /// Whether `action` (the subcommand) downloads packages.
    pub fn downloads(&self, action: Option<&str>) -> bool {
        self.downloads
            .iter()
            .any(|d| d == "*" || Some(d.as_str()) == action)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageManagers {
    pub managers: Vec<PackageManager>,
}

/// One ecosystem's dependency install (see knowledge/manifests.toml for the fields).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ecosystem {
    pub name: String,
    pub manager: String,
    pub installs: Vec<Vec<String>>,
    #[serde(default)]
    pub extra_args: bool,
    /// Flags whose value is the next word (`--only main`), which is no install word.
    #[serde(default)]
    pub value_flags: Vec<String>,
    pub manifests: Vec<String>,
    #[serde(default)]
    pub required: Vec<String>,
    pub writes: Vec<String>,
    #[serde(default)]
    pub needs_flags: Vec<String>,
    /// The flag that makes the install leave the project out (dependencies only); with it
    /// split-copy runs an install that lacks `needs_flags` twice (see manifests.toml).
    pub deps_only_flag: Option<String>,
    /// The lock file the dependencies-only run needs in the context.
    pub deps_only_lock: Option<String>,
    /// Flags with which the install reads other files than the manifests.
    #[serde(default)]
    pub source_flags: Vec<String>,
    /// Flags whose value is a place the install reads packages or settings from: a URL or
    /// a path (see manifests.toml).
    #[serde(default)]
    pub location_flags: Vec<String>,
    /// Variables whose value lists such places.
    #[serde(default)]
    pub location_env: Vec<String>,
    /// Context files (TOML) and the dotted paths in them that hold such places.
    #[serde(default)]
    pub location_keys: BTreeMap<String, Vec<String>>,
    /// What the `pyproject` analysis reads in pyproject.toml.
    pub pyproject: Option<PyprojectFacts>,
    /// Word sets that make the install a lock-file install (see manifests.toml).
    #[serde(default)]
    pub exact: Vec<Vec<String>>,
    /// The folder an exact install always creates when the project has dependencies.
    pub installed: Option<String>,
    /// ENV assignments (`NAME=value`), one of which the stage must have for the install to
    /// create `installed` in the working folder (empty: it always does).
    #[serde(default)]
    pub installed_when: Vec<String>,
    /// Word sets of a command that removes the development-only packages from `installed`.
    #[serde(default)]
    pub prune: Vec<Vec<String>>,
    /// Word sets of an install that, after `rm -rf INSTALLED &&`, keeps only the
    /// production packages (a prune for versions without one).
    #[serde(default)]
    pub reinstall_prune: Vec<Vec<String>>,
    /// The subcommands that run a script of the manifest (`npm run build`).
    #[serde(default)]
    pub runs_script: Vec<String>,
    /// Prefixes of the scripts the manager runs around a script (`pre`build, `post`build).
    #[serde(default)]
    pub script_hooks: Vec<String>,
    /// Words that, in a build command or a manifest script it runs, mean the build writes
    /// into `installed` what the application needs at run time.
    #[serde(default)]
    pub build_writes_installed: Vec<String>,
    /// ENV variables (`*` ends a prefix; any case) that configure the package manager.
    #[serde(default)]
    pub config_env: Vec<String>,
    pub analysis: String,
    #[serde(default)]
    pub source_markers: Vec<String>,
    pub detect: Vec<String>,
    pub ignore: Vec<String>,
    #[serde(default)]
    pub keep_git_markers: Vec<String>,
}

/// pyproject.toml facts of a Python project tool (see manifests.toml, `[ecosystems.pyproject]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PyprojectFacts {
    /// Tables whose presence makes the project a workspace.
    #[serde(default)]
    pub workspace: Vec<String>,
    /// Tables of `name = source` entries.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Keys of a source table that make it a local one.
    #[serde(default)]
    pub local_keys: Vec<String>,
    /// Lists of PEP 508 requirement strings.
    #[serde(default)]
    pub requirements: Vec<String>,
    /// `[project] dynamic` fields the install checks its lock without building the project;
    /// `None` when the install never builds the project to check its lock.
    pub static_dynamic: Option<Vec<String>>,
    /// Flags with which the install takes the lock as it is, unchecked.
    #[serde(default)]
    pub lock_trusted: Vec<String>,
}

/// Commands that read nothing from the working folder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFree {
    pub managers: Vec<String>,
    pub programs: Vec<String>,
}

/// Ignore entries for every project.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonIgnore {
    pub entries: Vec<String>,
    pub never: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifests {
    pub ecosystems: Vec<Ecosystem>,
    pub source_free: SourceFree,
    pub common_ignore: CommonIgnore,
}

/// `[[frameworks.when]]` and `[[frameworks.beside_code]]` of knowledge/writable.toml: a
/// context file that contains a text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSays {
    pub file: String,
    pub contains: String,
    #[serde(default)]
    pub writable: Vec<String>,
    pub what: Option<String>,
}

/// A framework's run-time writes (knowledge/writable.toml).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworkWrites {
    pub name: String,
    pub markers: Vec<String>,
    pub writable: Vec<String>,
    #[serde(default)]
    pub when: Vec<FileSays>,
    #[serde(default)]
    pub beside_code: Vec<FileSays>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConventionalWrites {
    pub names: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedFolders {
    pub folders: Vec<String>,
}

/// Where applications write at run time (knowledge/writable.toml).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Writable {
    pub shared: SharedFolders,
    pub conventional: ConventionalWrites,
    pub frameworks: Vec<FrameworkWrites>,
}

/// Everything in `knowledge/`.
#[derive(Debug)]
pub struct Knowledge {
    pub archives: Archives,
    pub secrets: Secrets,
    pub package_managers: PackageManagers,
    pub manifests: Manifests,
    pub images: crate::image::Images,
    pub writable: Writable,
    pub(crate) multi_stage: crate::rules::MultiStageFacts,
}

fn load<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> T {
    // The files are part of the build; a broken one is a bug the tests catch at once.
    toml::from_str(text).unwrap_or_else(|e| panic!("transforms/knowledge/{name}: {e}"))
}

impl Knowledge {
    /// The embedded knowledge, parsed once.
    pub fn get() -> &'static Self {
        static KNOWLEDGE: OnceLock<Knowledge> = OnceLock::new();
        KNOWLEDGE.get_or_init(|| Self {
            archives: load("archives.toml", include_str!("../knowledge/archives.toml")),
            secrets: load("secrets.toml", include_str!("../knowledge/secrets.toml")),
            package_managers: load(
                "package-managers.toml",
                include_str!("../knowledge/package-managers.toml"),
            ),
            manifests: load(
                "manifests.toml",
                include_str!("../knowledge/manifests.toml"),
            ),
            images: load("images.toml", include_str!("../knowledge/images.toml")),
            writable: load("writable.toml", include_str!("../knowledge/writable.toml")),
            multi_stage: load(
                "multi-stage.toml",
                include_str!("../knowledge/multi-stage.toml"),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn knowledge_files_parse() {
        let k = super::Knowledge::get();
        assert!(k.archives.archive_suffixes.iter().any(|s| s == ".tar.gz"));
        assert!(k.secrets.name_words.iter().any(|s| s == "password"));
        let names: Vec<&str> = k
            .package_managers
            .managers
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        for expected in [
            "apt", "apk", "dnf", "zypper", "pip", "uv", "poetry", "pipenv", "conda", "npm", "yarn",
            "pnpm", "bun", "go", "cargo", "bundler", "composer", "maven", "gradle", "dotnet",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from package-managers.toml"
            );
        }
        for ecosystem in &k.manifests.ecosystems {
            assert!(
                names.contains(&ecosystem.manager.as_str()),
                "manifests.toml: {} names unknown manager {}",
                ecosystem.name,
                ecosystem.manager
            );
            assert!(
                crate::manifest::ANALYSES.contains(&ecosystem.analysis.as_str()),
                "manifests.toml: {}: unknown analysis {}",
                ecosystem.name,
                ecosystem.analysis
            );
        }
    }

    #[test]
    fn images_file_is_consistent() {
        use crate::image::Family;
        let images = &super::Knowledge::get().images;
        for family in [Family::Debian, Family::Ubuntu, Family::Alpine, Family::Ubi] {
            let template = &images.families[&family].create_user;
            for key in ["{user}", "{group}", "{uid}", "{gid}", "{home}"] {
                assert!(template.contains(key), "{}: no {key}", family.name());
            }
        }
        for entry in &images.images {
            let what = format!("images.toml: {} {:?}", entry.repository, entry.tags);
            assert!(!entry.tags.is_empty(), "{what}: no tags");
            assert_eq!(
                entry.nonroot_user.is_some(),
                entry.nonroot_uid.is_some(),
                "{what}: nonroot_user and nonroot_uid go together"
            );
            assert!(
                !entry.default_user_nonroot || entry.nonroot_user.is_some(),
                "{what}: default_user_nonroot without a user"
            );
            // Every {N} of the twin is a star of every tag glob of the entry.
            if let Some(twin) = &entry.runtime_twin {
                for tag in &entry.tags {
                    let stars = tag.matches('*').count();
                    for n in 1..=9 {
                        assert!(
                            !twin.contains(&format!("{{{n}}}")) || n <= stars,
                            "{what}: {twin} uses {{{n}}} but {tag} has {stars} stars"
                        );
                    }
                }
            }
        }
        assert!(images.packages["apt"].dev_runtime["libpq-dev"] == "libpq5");
        assert!(
            images.packages["apk"]
                .build_only
                .iter()
                .any(|p| p == "build-base")
        );
        assert!(images.needs_root.switch_user.contains_key("gosu"));
    }
}
