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
    /// The toolchain image repositories whose builds the module splits.
    #[serde(default)]
    pub(crate) repositories: Vec<String>,
    /// The package managers of its build (names in knowledge/package-managers.toml): their
    /// commands go to the module's `scan`.
    #[serde(default)]
    pub(crate) managers: Vec<String>,
    /// Other programs of the toolchain that only build in the working folder.
    #[serde(default)]
    pub(crate) tools: Vec<String>,
    /// Subcommands of its managers that write nothing the runtime stage needs.
    #[serde(default)]
    pub(crate) harmless_subcommands: Vec<String>,
    /// System packages that only its build needs, besides the `build_only` lists of
    /// knowledge/images.toml.
    #[serde(default)]
    pub(crate) build_only_packages: Vec<String>,
    /// Whether the runtime stage gets the whole WORKDIR (Node, Python) rather than the
    /// artifacts a build command produced.
    #[serde(default)]
    pub(crate) copies_workdir: bool,
    /// Whether the runtime stage installs the runtime libraries of the system packages the
    /// build installed; otherwise such a package makes the rule report.
    #[serde(default)]
    pub(crate) installs_runtime_libraries: bool,
}

impl EcosystemFacts {
    /// Whether `manager` (a name in knowledge/package-managers.toml) is one of its build's.
    pub(crate) fn manages(&self, manager: &str) -> bool {
        contains(&self.managers, manager)
    }

    /// Whether `program` is a tool of the toolchain.
    pub(crate) fn is_tool(&self, program: &str) -> bool {
        contains(&self.tools, program)
    }

    /// Whether the subcommand `sub` of one of its managers writes nothing the runtime stage
    /// needs.
    pub(crate) fn is_harmless(&self, sub: &str) -> bool {
        contains(&self.harmless_subcommands, sub)
    }

    /// Whether the system package `name` only serves its build.
    pub(crate) fn is_build_only(&self, name: &str) -> bool {
        contains(&self.build_only_packages, name)
    }

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

/// Whether `list` has `item`.
pub(crate) fn contains(list: &[String], item: &str) -> bool {
    list.iter().any(|x| x == item)
}

/// Whether `args` has one of the word sequences `sequences` (consecutive words).
fn has_words(args: &[dockopt_shell::Word], sequences: &[Vec<String>]) -> bool {
    sequences.iter().any(|words| {
        !words.is_empty()
            && args
                .windows(words.len())
                .any(|w| w.iter().zip(words).all(|(word, s)| word.is(s)))
    })
}

/// `[common]`: facts every ecosystem shares.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommonFacts {
    /// Commands that write no file (a redirection is checked on its own).
    pub(crate) harmless: Vec<String>,
    /// The PATH of the distroless images (and of the slim ones, before the runtime's own).
    pub(crate) twin_path: Vec<String>,
    /// Tools the full toolchain images have and their slim twins do not.
    pub(crate) full_image_only: Vec<String>,
    /// Paths a run-time command may name that every image has.
    pub(crate) always_there: Vec<String>,
    /// WORKDIRs the runtime stage cannot copy whole: they are the image's own folders.
    pub(crate) system_dirs: Vec<String>,
}

impl CommonFacts {
    /// Whether `program` writes no file.
    pub(crate) fn is_harmless(&self, program: &str) -> bool {
        contains(&self.harmless, program)
    }

    /// Whether `folder` is on the twins' PATH.
    pub(crate) fn on_twin_path(&self, folder: &str) -> bool {
        contains(&self.twin_path, folder)
    }

    /// Whether only the full toolchain image has the tool `program`.
    pub(crate) fn full_image_only(&self, program: &str) -> bool {
        contains(&self.full_image_only, program)
    }

    /// Whether `folder` is one of the image's own folders.
    pub(crate) fn is_system_dir(&self, folder: &str) -> bool {
        contains(&self.system_dirs, folder)
    }
}

/// `[rust]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RustFacts {
    /// Flags of `cargo build` and `cargo install` that pick binaries or packages in ways
    /// dockopt does not follow.
    pub(crate) pick_flags: Vec<String>,
}

/// `[java]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JavaFacts {
    /// Per manager, the goals that build the jar.
    pub(crate) build_goals: BTreeMap<String, Vec<String>>,
}

/// `[node]`: npm's installs, and the package managers besides npm and Yarn classic.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeFacts {
    /// npm's subcommands that install the project's dependencies.
    pub(crate) npm_installs: Vec<String>,
    /// Word sequences that make an npm install leave out devDependencies.
    pub(crate) npm_production: Vec<Vec<String>>,
    /// Packages `npm install -g` may put in the build image (package manager setup).
    pub(crate) global_build_tools: Vec<String>,
    /// Programs the runtime stage lacks once the build set them up.
    pub(crate) runtime_missing: Vec<String>,
    /// The shims `corepack enable` also puts on PATH for managers the twin has another
    /// version of.
    pub(crate) corepack_shims: Vec<String>,
    pub(crate) corepack: CorepackFacts,
    pub(crate) pnpm: PnpmFacts,
    pub(crate) bun: BunFacts,
    pub(crate) yarn: YarnFacts,
    pub(crate) run: NodeRunFacts,
}

impl NodeFacts {
    /// Whether the npm subcommand `sub` installs the project's dependencies.
    pub(crate) fn is_npm_install(&self, sub: &str) -> bool {
        contains(&self.npm_installs, sub)
    }

    /// Whether an npm install with `args` leaves out devDependencies.
    pub(crate) fn omits_dev(&self, args: &[dockopt_shell::Word]) -> bool {
        has_words(args, &self.npm_production)
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
    /// pip's options that install outside the virtual environment.
    pub(crate) pip_outside_venv: Vec<String>,
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
    /// The project's manifest and lock file names.
    pub(crate) manifest: String,
    pub(crate) lock: String,
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
    /// Trees the image's own packages live in (`/usr`): no user base may be there.
    pub(crate) image_trees: Vec<String>,
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

/// `[node.run]`: what the runtime stage runs with Node (see knowledge/multi-stage.toml).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeRunFacts {
    pub(crate) node_programs: Vec<String>,
    pub(crate) module_flags: Vec<String>,
    pub(crate) options_env: String,
    pub(crate) npx_programs: Vec<String>,
    pub(crate) npm_exec: Vec<String>,
    pub(crate) npx_package_flags: Vec<String>,
    pub(crate) npx_call_flags: Vec<String>,
    pub(crate) npx_flags: Vec<String>,
    pub(crate) npm_run: Vec<String>,
    pub(crate) npm_scripts: BTreeMap<String, Vec<String>>,
    pub(crate) yarn_programs: Vec<String>,
    pub(crate) yarn_run: Vec<String>,
    pub(crate) script_hooks: Vec<String>,
    pub(crate) script_programs: Vec<String>,
    pub(crate) shells: Vec<String>,
    pub(crate) wrappers: Vec<String>,
    pub(crate) builtin_prefix: String,
    pub(crate) bun_programs: Vec<String>,
    pub(crate) bunx_programs: Vec<String>,
    pub(crate) bun_run: Vec<String>,
    pub(crate) bun_x: Vec<String>,
    pub(crate) bun_module_flags: Vec<String>,
    pub(crate) bun_valued_flags: Vec<String>,
    /// Flags that name another bunfig, whose preload dockopt does not read.
    pub(crate) bun_config_flags: Vec<String>,
    pub(crate) bun_flags: Vec<String>,
    pub(crate) bun_dir_flags: Vec<String>,
    pub(crate) bunx_package_flags: Vec<String>,
    pub(crate) bun_config_file: String,
    pub(crate) bun_preload_key: String,
}

/// `[node.corepack]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CorepackFacts {
    pub(crate) program: String,
    /// Subcommands that only set managers up outside the WORKDIR.
    pub(crate) setup: Vec<String>,
}

/// `[node.yarn]` (see knowledge/multi-stage.toml for each field).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct YarnFacts {
    pub(crate) installs: Vec<String>,
    pub(crate) classic_frozen: Vec<String>,
    pub(crate) berry_frozen: Vec<String>,
    pub(crate) classic_prod_flags: Vec<String>,
    pub(crate) prod_env: String,
    pub(crate) prod_env_value: String,
    pub(crate) dir_flags: Vec<String>,
    pub(crate) runs: Vec<String>,
    pub(crate) locks: Vec<String>,
    pub(crate) classic_prune: String,
    pub(crate) berry_prune: String,
    pub(crate) berry_prune_words: Vec<String>,
    pub(crate) berry_prune_flags: Vec<String>,
    pub(crate) berry_config: String,
    pub(crate) classic_config: String,
    pub(crate) linker_key: String,
    pub(crate) linker_env: String,
    pub(crate) node_modules_linker: String,
    pub(crate) focus_builtin_since: u64,
    pub(crate) focus_plugin: String,
    pub(crate) classic_outside_settings: Vec<String>,
    pub(crate) lifecycle_scripts: Vec<String>,
}

/// `[node.pnpm]` (see knowledge/multi-stage.toml for each field).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PnpmFacts {
    pub(crate) installs: Vec<String>,
    pub(crate) adds: Vec<String>,
    pub(crate) prod_flags: Vec<String>,
    pub(crate) prod_env: String,
    pub(crate) prod_env_value: String,
    pub(crate) prod_off_flags: Vec<String>,
    pub(crate) dev_only_flags: Vec<String>,
    pub(crate) global_flags: Vec<String>,
    pub(crate) workspace_flags: Vec<String>,
    pub(crate) dir_flags: Vec<String>,
    pub(crate) runs: Vec<String>,
    pub(crate) store_only: Vec<String>,
    pub(crate) prune: String,
    pub(crate) prune_subcommand: String,
    pub(crate) prune_flags: Vec<String>,
    pub(crate) config_file: String,
    pub(crate) workspace_file: String,
    pub(crate) folder_settings: Vec<String>,
    pub(crate) outside_settings: Vec<Setting>,
    pub(crate) lifecycle_scripts: Vec<String>,
}

/// `[node.bun]` (see knowledge/multi-stage.toml for each field).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BunFacts {
    /// The images that have bun of their own.
    pub(crate) repositories: Vec<String>,
    pub(crate) installs: Vec<String>,
    pub(crate) prod_flags: Vec<String>,
    pub(crate) global_flags: Vec<String>,
    pub(crate) dir_flags: Vec<String>,
    pub(crate) lock_changes: Vec<String>,
    pub(crate) runs: Vec<String>,
    pub(crate) build: String,
    pub(crate) build_out_dir: Vec<String>,
    pub(crate) build_out_file: Vec<String>,
    pub(crate) outside_flags: Vec<Setting>,
    pub(crate) locks: Vec<String>,
    /// Flags or subcommands that make an install fail rather than update the lock.
    /// The oldest bun version measured; a tag pinning an older one is reported.
    pub(crate) measured_since: String,
    pub(crate) frozen: Vec<String>,
    /// The first words of a CMD that oven/bun's entrypoint runs as they are.
    pub(crate) cmd_programs: Vec<String>,
    pub(crate) install_env: Vec<String>,
    pub(crate) prune: String,
    pub(crate) prune_since: String,
    pub(crate) reinstall: String,
    pub(crate) prune_subcommand: String,
    pub(crate) prune_flags: Vec<String>,
    pub(crate) lifecycle_scripts: Vec<String>,
}

impl BunFacts {
    /// Whether every bun that an image tagged `tag` can hold has `bun prune`: the lowest
    /// version the tag's version part allows (`1.4` is 1.4.0 or later) is at least
    /// `prune_since`. Floating tags without a version (`latest`) do not.
    pub(crate) fn tag_has_prune(&self, tag: &str) -> bool {
        tag_at_least(tag, &self.prune_since).unwrap_or(false)
    }

    /// Whether the tag's bun is one dockopt measured: a floating tag (`1`, `latest`) or a
    /// pinned version at least `measured_since`.
    pub(crate) fn tag_is_measured(&self, tag: &str) -> bool {
        let version = tag.split('-').next().unwrap_or(tag);
        version.split('.').count() < 2 || tag_at_least(tag, &self.measured_since).unwrap_or(true)
    }
}

/// Whether the lowest version the tag's version part allows (`1.4` is 1.4.0 or later) is at
/// least `since`; `None` when the tag has no version part (`latest`).
fn tag_at_least(tag: &str, since: &str) -> Option<bool> {
    let parse =
        |v: &str| -> Option<Vec<u64>> { v.split('.').map(|p| p.parse::<u64>().ok()).collect() };
    let version = tag.split('-').next().unwrap_or(tag);
    let (mut lowest, since) = (parse(version)?, parse(since)?);
    lowest.resize(since.len().max(lowest.len()), 0);
    Some(lowest >= since)
}

/// A setting and the value that matters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Setting {
    pub(crate) key: String,
    pub(crate) value: String,
}

/// Everything in knowledge/multi-stage.toml.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MultiStageFacts {
    pub(crate) common: CommonFacts,
    pub(crate) ecosystems: BTreeMap<String, EcosystemFacts>,
    pub(crate) go: GoFacts,
    pub(crate) rust: RustFacts,
    pub(crate) java: JavaFacts,
    pub(crate) node: NodeFacts,
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
            repositories: Vec::new(),
            managers: Vec::new(),
            tools: Vec::new(),
            harmless_subcommands: Vec::new(),
            build_only_packages: Vec::new(),
            copies_workdir: false,
            installs_runtime_libraries: false,
        };
        self.ecosystems.get(name).unwrap_or(&EMPTY)
    }

    /// The name of the ecosystem whose toolchain image `repository` is.
    pub(crate) fn ecosystem_of(&self, repository: &str) -> Option<&str> {
        self.ecosystems
            .iter()
            .find(|(_, facts)| contains(&facts.repositories, repository))
            .map(|(name, _)| name.as_str())
    }
}
