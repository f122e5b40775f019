//! Declared effects -> expected or unexpected differences.
//!
//! A difference is expected when some applied fix declared it: a path under one of its
//! `disposable` or `paths` globs, a config field in its `config`, or anything at all when
//! the fix changes the base image. That last rule applies only where verify does not run
//! the app-equivalence check (app.rs), which replaces it whenever the base image changes;
//! [`Effects::cover_app_path`] and [`Effects::declared_config`] serve that check. Directories BuildKit leaves behind as the mount points
//! of `RUN --mount` flags in the fixed Dockerfile are expected too, and so is build noise:
//! content changes of files that differ between any two builds of one Dockerfile (logs
//! with timestamps, ldconfig's cache, .pyc files), plus, with `--baseline`, every path
//! that differed between two builds of the original. Everything else is unexpected: a fix
//! changed the image without saying so.

use std::collections::BTreeSet;

use dockopt_fix::{AppliedFix, ConfigKey};
use dockopt_syntax::{InstructionKind, parse};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::fsdiff::{ChangeKind, FsDifference, normalize};

/// Files whose content may differ between any two builds of the same Dockerfile: they
/// record when they were written, or serialize a hash map in random order (cargo's
/// `.rustc_info.json`), so a second build of the original does not always catch them.
/// Only a content change there is noise.
pub const NOISE: [&str; 5] = [
    "/var/log/**",
    "/var/cache/ldconfig/aux-cache",
    "**/__pycache__/*.pyc",
    "**/.rustc_info.json",
    "**/cargo/.global-cache",
];

/// What covers build noise in the report.
pub const NOISE_COVER: &str = "build noise";

/// Why a difference is expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cover {
    /// The rule whose fix declared it, or `cache mount target` (and the like) for mount
    /// points.
    pub by: String,
    /// For people: `disposable /var/lib/apt/lists/**`, `config Cmd`, `base image`.
    pub reason: String,
}

/// One applied fix's declared effect, with its globs compiled.
#[derive(Debug)]
struct FixEffect {
    rule: String,
    /// (glob as declared, kind of declaration), in the order of `set`'s patterns.
    patterns: Vec<(String, &'static str)>,
    set: GlobSet,
    /// (the folder a declared absolute glob starts in, the glob): `/root/.cache/pip` for
    /// `/root/.cache/pip/**`. A folder above it that appears or vanishes empty-handed
    /// (its files are covered one by one) is covered too.
    roots: Vec<(String, String)>,
    config: Vec<ConfigKey>,
    /// ENV variables by name the fix declares it drops or changes.
    env: Vec<String>,
    /// Programs the fix builds another way.
    rebuilt: Vec<String>,
    base_image: bool,
}

/// A `RUN --mount` target in the fixed Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountTarget {
    pub path: String,
    /// `cache`, `tmpfs`, `bind`, `secret`, `ssh`.
    pub kind: String,
}

/// What the applied fixes declared, ready to classify differences.
#[derive(Debug)]
pub struct Effects {
    fixes: Vec<FixEffect>,
    mounts: Vec<MountTarget>,
    noise: GlobSet,
    /// Paths that differed between two builds of the original (`--baseline`).
    baseline: BTreeSet<String>,
}

/// The globs that cover a declared path: a folder covers itself and everything below,
/// `X/**` covers `X` too. Relative paths (a COPY destination under WORKDIR) match at any
/// depth.
fn expand(declared: &str) -> Vec<String> {
    let trimmed = declared.trim();
    let has_meta = trimmed.contains(['*', '?', '[', '{']);
    let absolute = trimmed.starts_with('/');
    let body = trimmed.trim_end_matches('/');
    let rooted = |p: &str| {
        if absolute {
            p.to_string()
        } else {
            format!("**/{}", p.trim_start_matches("./"))
        }
    };
    if !absolute && (body.is_empty() || body == ".") {
        return vec!["**".into()];
    }
    if body.is_empty() {
        return vec!["/**".into(), "/".into()];
    }
    if let Some(folder) = body.strip_suffix("/**") {
        return vec![rooted(body), rooted(folder)];
    }
    if has_meta {
        return vec![rooted(body)];
    }
    vec![rooted(body), rooted(&format!("{body}/**"))]
}

/// The folder an absolute glob starts in: the path up to its first glob character, cut
/// at a `/`; None for relative globs and for `/` itself.
fn glob_root(glob: &str) -> Option<String> {
    if !glob.starts_with('/') {
        return None;
    }
    let literal = &glob[..glob.find(['*', '?', '[', '{']).unwrap_or(glob.len())];
    let folder = if literal.len() == glob.len() {
        literal.trim_end_matches('/')
    } else {
        literal.rsplit_once('/').map_or("", |(f, _)| f)
    };
    let folder = normalize(folder);
    (folder != "/").then_some(folder)
}

impl Effects {
    /// Compiles the declared effects of `applied` and reads the mount targets of `fixed`
    /// (the fixed Dockerfile's text).
    pub fn new(applied: &[AppliedFix], fixed: &str) -> Result<Self, String> {
        let mut fixes = Vec::new();
        let mut sorted: Vec<&AppliedFix> = applied.iter().collect();
        sorted.sort_by_key(|f| f.round);
        for fix in sorted {
            let mut builder = GlobSetBuilder::new();
            let mut patterns = Vec::new();
            let declared = fix
                .effect
                .disposable
                .iter()
                .map(|g| (g, "disposable"))
                .chain(fix.effect.paths.iter().map(|g| (g, "declared path")));
            for (glob, kind) in declared {
                for pattern in expand(glob) {
                    let compiled = GlobBuilder::new(&pattern)
                        .literal_separator(false)
                        .build()
                        .map_err(|e| {
                            format!(
                                "{}: bad glob {glob:?} in its declared effect: {e}",
                                fix.rule
                            )
                        })?;
                    builder.add(compiled);
                    patterns.push((glob.clone(), kind));
                }
            }
            let roots = fix
                .effect
                .disposable
                .iter()
                .chain(&fix.effect.paths)
                .filter_map(|g| glob_root(g).map(|r| (r, g.clone())))
                .collect();
            fixes.push(FixEffect {
                rule: fix.rule.to_string(),
                patterns,
                roots,
                set: builder.build().map_err(|e| e.to_string())?,
                config: fix.effect.config.clone(),
                env: fix.effect.env.clone(),
                rebuilt: fix.effect.rebuilt.clone(),
                base_image: fix.effect.base_image,
            });
        }
        let mut noise = GlobSetBuilder::new();
        for pattern in NOISE {
            noise.add(
                GlobBuilder::new(pattern)
                    .literal_separator(false)
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        Ok(Self {
            fixes,
            mounts: mount_targets(fixed),
            noise: noise.build().map_err(|e| e.to_string())?,
            baseline: BTreeSet::new(),
        })
    }

    /// Treats every difference at these paths as noise: they differed between two builds
    /// of the original.
    #[must_use]
    pub fn with_baseline(mut self, paths: impl IntoIterator<Item = String>) -> Self {
        self.baseline.extend(paths);
        self
    }

    /// Which fix (or mount point) explains a file-system difference, if any.
    pub fn cover_path(&self, d: &FsDifference) -> Option<Cover> {
        for fix in &self.fixes {
            if fix.base_image {
                return Some(Cover {
                    by: fix.rule.clone(),
                    reason: "base image".into(),
                });
            }
            if let Some(&i) = fix.set.matches(&d.path).first() {
                let (glob, kind) = &fix.patterns[i];
                return Some(Cover {
                    by: fix.rule.clone(),
                    reason: format!("{kind} {glob}"),
                });
            }
        }
        if d.is_dir_only() && d.change != ChangeKind::Changed {
            for fix in &self.fixes {
                let above = fix.roots.iter().find(|(root, _)| {
                    root.strip_prefix(d.path.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
                });
                if let Some((_, glob)) = above {
                    return Some(Cover {
                        by: fix.rule.clone(),
                        reason: format!("folder above {glob}"),
                    });
                }
            }
        }
        self.cover_noise_or_mount(d)
    }

    /// Which fix explains a config difference (`key` None: a field no fix may declare).
    pub fn cover_config(&self, key: Option<ConfigKey>) -> Option<Cover> {
        self.fixes.iter().find_map(|fix| {
            if fix.base_image {
                Some(Cover {
                    by: fix.rule.clone(),
                    reason: "base image".into(),
                })
            } else {
                let key = key?;
                fix.config.contains(&key).then(|| Cover {
                    by: fix.rule.clone(),
                    reason: format!("config {key:?}"),
                })
            }
        })
    }
}

impl Effects {
    /// The rule of the first applied fix (by round) that changes the base image.
    pub fn base_image_rule(&self) -> Option<&str> {
        self.fixes
            .iter()
            .find(|f| f.base_image)
            .map(|f| f.rule.as_str())
    }

    /// Which fix declares the ENV variable `name` by name (a fix that changes the base image
    /// too: the declaration is exact, unlike a whole `Env` field).
    pub fn declared_env(&self, name: &str) -> Option<Cover> {
        self.fixes
            .iter()
            .find(|f| f.env.iter().any(|e| e == name))
            .map(|f| Cover {
                by: f.rule.clone(),
                reason: format!("Env {name} declared"),
            })
    }

    /// Which fix that does not change the base image declares a config field: under the
    /// app-equivalence check a base-image change covers no field by itself.
    pub fn declared_config(&self, key: ConfigKey) -> Option<Cover> {
        self.fixes
            .iter()
            .filter(|f| !f.base_image)
            .find(|f| f.config.contains(&key))
            .map(|f| Cover {
                by: f.rule.clone(),
                reason: format!("config {key:?}"),
            })
    }

    /// Which declaration explains a difference of one of the application's files, under
    /// the app-equivalence check: `tree` is the WORKDIR it lies under (None: a file the
    /// command names). Build noise, `--baseline` paths and mount points as usual; then the
    /// globs of fixes that do not change the base image, except that a glob rooted above
    /// the application's folder (`/usr/**`) does not reach into it, a named file may only
    /// change owner or mode, and so may the files of a fix that changes the user (its
    /// paths are the ones it chowns).
    pub fn cover_app_path(&self, d: &FsDifference, tree: Option<&str>) -> Option<Cover> {
        if let Some(c) = self.cover_noise_or_mount(d) {
            return Some(c);
        }
        // A program a fix builds another way (any fix, a base-image one too) may have other
        // bytes; it must still be there, and the smoke check and the library probe run it.
        if d.change == ChangeKind::Changed
            && let Some(fix) = self.fixes.iter().find(|f| f.rebuilt.contains(&d.path))
        {
            return Some(Cover {
                by: fix.rule.clone(),
                reason: format!("{} is built another way", d.path),
            });
        }
        // An owner or mode change is first the doing of a fix that changes the user.
        let changes_user = |f: &&FixEffect| f.config.contains(&ConfigKey::User);
        let ordered = self
            .fixes
            .iter()
            .filter(changes_user)
            .chain(self.fixes.iter().filter(|f| !changes_user(f)));
        for fix in ordered.filter(|f| !f.base_image) {
            let ownership_only = tree.is_none() || fix.config.contains(&ConfigKey::User);
            if ownership_only && !d.is_owner_or_mode_only() {
                continue;
            }
            for i in fix.set.matches(&d.path) {
                let (glob, kind) = &fix.patterns[i];
                let reaches = match (app_reach(glob, tree), d.change) {
                    (Reach::None, _) | (Reach::WholeFolder, ChangeKind::Removed) => false,
                    (Reach::WholeFolder, _) => {
                        d.before
                            .as_ref()
                            .zip(d.after.as_ref())
                            .is_some_and(|(a, b)| {
                                a.kind.name() == b.kind.name() || d.is_content_only()
                            })
                    }
                    (Reach::Specific, _) => true,
                };
                if reaches {
                    return Some(Cover {
                        by: fix.rule.clone(),
                        reason: format!("{kind} {glob}"),
                    });
                }
            }
        }
        None
    }

    /// Mount points, `--baseline` paths and build noise (in that order).
    fn cover_noise_or_mount(&self, d: &FsDifference) -> Option<Cover> {
        if d.is_dir_only() {
            for mount in &self.mounts {
                let is_target = d.path == mount.path && d.change != ChangeKind::Removed;
                // BuildKit creates missing parents of a mount point too.
                let is_new_parent = d.change == ChangeKind::Added
                    && mount
                        .path
                        .strip_prefix(&d.path)
                        .is_some_and(|rest| rest.starts_with('/'));
                if is_target || is_new_parent {
                    return Some(Cover {
                        by: format!("{} mount target", mount.kind),
                        reason: format!(
                            "mount point of --mount=type={},target={}",
                            mount.kind, mount.path
                        ),
                    });
                }
            }
        }
        if self.baseline.contains(&d.path) {
            return Some(Cover {
                by: NOISE_COVER.into(),
                reason: "differs between two builds of the original (--baseline)".into(),
            });
        }
        if d.is_content_only()
            && let Some(&i) = self.noise.matches(&d.path).first()
        {
            return Some(Cover {
                by: NOISE_COVER.into(),
                reason: format!("written with timestamps: {}", NOISE[i]),
            });
        }
        None
    }
}

/// How far a declared glob reaches into the application's folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// Rooted above it (`/usr/**` for `/usr/src/app`): system files, not the application's.
    None,
    /// The whole folder (`/app/**`, `.`): its files may change, but none may vanish.
    WholeFolder,
    /// Something named in it, or below it (`**/.git`, `/app/data/**`).
    Specific,
}

fn app_reach(glob: &str, tree: Option<&str>) -> Reach {
    let trimmed = glob.trim().trim_end_matches('/');
    if matches!(trimmed, "" | "." | "./" | "**" | "./**" | "/**" | "*") {
        return Reach::WholeFolder;
    }
    match (glob_root(trimmed), tree) {
        (Some(root), Some(app)) if root == app => Reach::WholeFolder,
        (Some(root), Some(app))
            if root
                .strip_prefix(app)
                .is_some_and(|rest| rest.starts_with('/')) =>
        {
            Reach::Specific
        }
        (Some(_), Some(_)) => Reach::None,
        _ => Reach::Specific,
    }
}

/// The targets of `RUN --mount=...` flags (absolute ones; relative targets depend on
/// WORKDIR and are left out).
pub fn mount_targets(dockerfile: &str) -> Vec<MountTarget> {
    let file = parse(dockerfile);
    let mut out: Vec<MountTarget> = Vec::new();
    for instruction in file.instructions() {
        if instruction.kind() != InstructionKind::Run {
            continue;
        }
        for flag in instruction.flags() {
            if !flag.name().eq_ignore_ascii_case("mount") {
                continue;
            }
            let kind = flag
                .field("type")
                .unwrap_or_else(|| "bind".to_string())
                .to_ascii_lowercase();
            let target = ["target", "dst", "destination"]
                .iter()
                .find_map(|k| flag.field(k));
            let Some(target) = target.filter(|t| t.starts_with('/')) else {
                continue;
            };
            let mount = MountTarget {
                path: normalize(&target),
                kind,
            };
            if !out.contains(&mount) {
                out.push(mount);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use dockopt_fix::{Applicability, DeclaredEffect};

    use super::super::fsdiff::{Entry, EntryKind};
    use super::*;

    fn fix(rule: &'static str, effect: DeclaredEffect, round: usize) -> AppliedFix {
        AppliedFix {
            rule,
            title: format!("{rule} fix"),
            applicability: Applicability::Safe,
            effect,
            round,
        }
    }

    fn entry(kind: EntryKind) -> Entry {
        Entry {
            kind,
            mode: 0o755,
            uid: 0,
            gid: 0,
            size: 0,
            sha256: None,
            link: None,
        }
    }

    fn diff(path: &str, change: ChangeKind, kind: EntryKind) -> FsDifference {
        let e = Some(entry(kind));
        FsDifference {
            path: path.into(),
            change,
            before: if change == ChangeKind::Added {
                None
            } else {
                e.clone()
            },
            after: if change == ChangeKind::Removed {
                None
            } else {
                e
            },
            what: String::new(),
        }
    }

    fn removed_file(path: &str) -> FsDifference {
        diff(path, ChangeKind::Removed, EntryKind::File)
    }

    fn disposable(globs: &[&str]) -> DeclaredEffect {
        DeclaredEffect {
            disposable: globs.iter().map(ToString::to_string).collect(),
            ..DeclaredEffect::default()
        }
    }

    #[test]
    fn double_star_covers_everything_below_and_the_folder_itself() {
        let e = Effects::new(
            &[fix(
                "apt-lists-cleanup",
                disposable(&["/var/lib/apt/lists/**"]),
                1,
            )],
            "FROM x\n",
        )
        .unwrap();
        for path in [
            "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
            "/var/lib/apt/lists/partial/x/y",
            "/var/lib/apt/lists",
        ] {
            let cover = e.cover_path(&removed_file(path)).unwrap();
            assert_eq!(cover.by, "apt-lists-cleanup");
            assert_eq!(cover.reason, "disposable /var/lib/apt/lists/**");
        }
        assert_eq!(
            e.cover_path(&removed_file("/var/lib/apt/extended_states")),
            None
        );
        assert_eq!(e.cover_path(&removed_file("/var/lib/apt/listsx")), None);
    }

    #[test]
    fn a_declared_rebuild_and_declared_variables_count_for_a_base_image_fix() {
        let multi_stage = |env: &[&str], rebuilt: &[&str]| {
            Effects::new(
                &[fix(
                    "multi-stage",
                    DeclaredEffect {
                        config: vec![ConfigKey::Env],
                        env: env.iter().map(ToString::to_string).collect(),
                        rebuilt: rebuilt.iter().map(ToString::to_string).collect(),
                        paths: vec!["/**".into()],
                        base_image: true,
                        ..DeclaredEffect::default()
                    },
                    1,
                )],
                "FROM x\n",
            )
            .unwrap()
        };
        let program = diff("/app/app", ChangeKind::Changed, EntryKind::File);
        // Without the declaration a base-image fix explains no change of the program.
        assert_eq!(multi_stage(&[], &[]).cover_app_path(&program, None), None);
        assert_eq!(multi_stage(&[], &[]).declared_env("CGO_ENABLED"), None);
        let e = multi_stage(&["CGO_ENABLED"], &["/app/app"]);
        let cover = e.cover_app_path(&program, None).unwrap();
        assert_eq!(
            (cover.by.as_str(), cover.reason.as_str()),
            ("multi-stage", "/app/app is built another way")
        );
        // Only its bytes: a program that vanished is still missing, another one unexplained.
        assert_eq!(e.cover_app_path(&removed_file("/app/app"), None), None);
        let other = diff("/app/tool", ChangeKind::Changed, EntryKind::File);
        assert_eq!(e.cover_app_path(&other, None), None);
        assert_eq!(e.declared_env("CGO_ENABLED").unwrap().by, "multi-stage");
        assert_eq!(e.declared_env("GOFLAGS"), None);
    }

    #[test]
    fn single_star_crosses_folders_and_plain_paths_cover_their_subtree() {
        let e = Effects::new(
            &[fix(
                "add-to-copy",
                DeclaredEffect {
                    paths: vec!["/opt/*.tar".into(), "/app/".into(), "data".into()],
                    ..DeclaredEffect::default()
                },
                1,
            )],
            "FROM x\n",
        )
        .unwrap();
        assert!(e.cover_path(&removed_file("/opt/sub/a.tar")).is_some());
        assert!(e.cover_path(&removed_file("/app")).is_some());
        assert!(e.cover_path(&removed_file("/app/x/y.py")).is_some());
        assert!(e.cover_path(&removed_file("/application")).is_none());
        let c = e.cover_path(&removed_file("/srv/data/file")).unwrap();
        assert_eq!(c.reason, "declared path data");
    }

    #[test]
    fn the_first_fix_by_round_that_declares_a_path_covers_it() {
        let e = Effects::new(
            &[
                fix("later", disposable(&["/root/**"]), 2),
                fix("pip-no-cache", disposable(&["/root/.cache/pip/**"]), 1),
            ],
            "FROM x\n",
        )
        .unwrap();
        let c = e
            .cover_path(&removed_file("/root/.cache/pip/http/a"))
            .unwrap();
        assert_eq!(c.by, "pip-no-cache");
        assert_eq!(
            e.cover_path(&removed_file("/root/.bashrc")).unwrap().by,
            "later"
        );
    }

    #[test]
    fn config_keys_are_covered_only_by_fixes_that_declare_them() {
        let e = Effects::new(
            &[
                fix("merge-runs", DeclaredEffect::none(), 1),
                fix(
                    "exec-form",
                    DeclaredEffect {
                        config: vec![ConfigKey::Cmd],
                        ..DeclaredEffect::default()
                    },
                    1,
                ),
            ],
            "FROM x\n",
        )
        .unwrap();
        let c = e.cover_config(Some(ConfigKey::Cmd)).unwrap();
        assert_eq!(
            (c.by.as_str(), c.reason.as_str()),
            ("exec-form", "config Cmd")
        );
        assert_eq!(e.cover_config(Some(ConfigKey::User)), None);
        assert_eq!(e.cover_config(None), None, "OnBuild");
        assert_eq!(e.cover_path(&removed_file("/etc/passwd")), None);
    }

    #[test]
    fn a_base_image_change_covers_everything() {
        let e = Effects::new(
            &[fix(
                "slim-base",
                DeclaredEffect {
                    base_image: true,
                    ..DeclaredEffect::default()
                },
                1,
            )],
            "FROM x\n",
        )
        .unwrap();
        assert_eq!(
            e.cover_path(&removed_file("/usr/bin/gcc")).unwrap().reason,
            "base image"
        );
        assert_eq!(
            e.cover_config(Some(ConfigKey::Env)).unwrap().by,
            "slim-base"
        );
        assert_eq!(e.cover_config(None).unwrap().by, "slim-base");
    }

    const FIXED: &str = "FROM debian:bookworm-slim
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\
    --mount=type=cache,target=/root/.cache/pip/ \\
    --mount=type=tmpfs,dst=/scratch \\
    --mount=type=cache,target=relative/path \\
    apt-get update
COPY --from=x /a /b
";

    #[test]
    fn mount_targets_come_from_the_fixed_dockerfile() {
        let targets = mount_targets(FIXED);
        let found: Vec<(&str, &str)> = targets
            .iter()
            .map(|m| (m.path.as_str(), m.kind.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("/var/cache/apt", "cache"),
                ("/root/.cache/pip", "cache"),
                ("/scratch", "tmpfs")
            ]
        );
    }

    #[test]
    fn empty_mount_points_and_their_new_parents_are_expected() {
        let e = Effects::new(&[fix("merge-runs", DeclaredEffect::none(), 1)], FIXED).unwrap();
        let c = e
            .cover_path(&diff("/root/.cache/pip", ChangeKind::Added, EntryKind::Dir))
            .unwrap();
        assert_eq!(c.by, "cache mount target");
        assert!(
            e.cover_path(&diff("/root/.cache", ChangeKind::Added, EntryKind::Dir))
                .is_some()
        );
        assert!(
            e.cover_path(&diff("/var/cache/apt", ChangeKind::Changed, EntryKind::Dir))
                .is_some()
        );
        assert_eq!(
            e.cover_path(&diff("/scratch", ChangeKind::Added, EntryKind::Dir))
                .unwrap()
                .by,
            "tmpfs mount target"
        );
        // Only directories, and only the mount point itself or missing parents.
        assert!(
            e.cover_path(&diff(
                "/root/.cache/pip",
                ChangeKind::Added,
                EntryKind::File
            ))
            .is_none()
        );
        assert!(
            e.cover_path(&diff(
                "/root/.cache/pip/x",
                ChangeKind::Added,
                EntryKind::Dir
            ))
            .is_none()
        );
        assert!(
            e.cover_path(&diff("/var/cache", ChangeKind::Changed, EntryKind::Dir))
                .is_none()
        );
        assert!(
            e.cover_path(&diff("/var/cache/apt", ChangeKind::Removed, EntryKind::Dir))
                .is_none()
        );
    }

    fn content_change(path: &str) -> FsDifference {
        let before = Entry {
            sha256: Some("a".into()),
            ..entry(EntryKind::File)
        };
        let after = Entry {
            sha256: Some("b".into()),
            ..before.clone()
        };
        FsDifference {
            path: path.into(),
            change: ChangeKind::Changed,
            before: Some(before),
            after: Some(after),
            what: "content".into(),
        }
    }

    #[test]
    fn content_changes_of_logs_and_caches_with_timestamps_are_build_noise() {
        let e = Effects::new(&[fix("merge-runs", DeclaredEffect::none(), 1)], "FROM x\n").unwrap();
        for path in [
            "/var/log/dpkg.log",
            "/var/log/apt/history.log",
            "/var/cache/ldconfig/aux-cache",
            "/usr/lib/python3/dist-packages/x/__pycache__/y.cpython-311.pyc",
            "/app/target/.rustc_info.json",
            "/usr/local/cargo/.global-cache",
        ] {
            let c = e.cover_path(&content_change(path)).unwrap();
            assert_eq!(c.by, NOISE_COVER, "{path}");
        }
        // A removed log, or another file's content, is no noise.
        assert!(e.cover_path(&removed_file("/var/log/dpkg.log")).is_none());
        assert!(e.cover_path(&content_change("/etc/passwd")).is_none());
        // A fix that declares the path wins over noise.
        let e = Effects::new(&[fix("logs", disposable(&["/var/log/**"]), 1)], "FROM x\n").unwrap();
        assert_eq!(
            e.cover_path(&content_change("/var/log/dpkg.log"))
                .unwrap()
                .by,
            "logs"
        );
    }

    #[test]
    fn baseline_paths_are_noise_whatever_changed() {
        let e = Effects::new(&[], "FROM x\n")
            .unwrap()
            .with_baseline(["/etc/machine-id".to_string()]);
        let c = e.cover_path(&removed_file("/etc/machine-id")).unwrap();
        assert_eq!(c.by, NOISE_COVER);
        assert!(c.reason.contains("--baseline"));
        assert!(e.cover_path(&removed_file("/etc/other")).is_none());
    }

    #[test]
    fn folders_above_a_declared_path_may_appear_or_vanish() {
        let e = Effects::new(
            &[fix("pip-no-cache", disposable(&["/root/.cache/pip/**"]), 1)],
            "FROM x\n",
        )
        .unwrap();
        let c = e
            .cover_path(&diff("/root/.cache", ChangeKind::Removed, EntryKind::Dir))
            .unwrap();
        assert_eq!(c.by, "pip-no-cache");
        assert_eq!(c.reason, "folder above /root/.cache/pip/**");
        assert!(
            e.cover_path(&diff("/root/.cache", ChangeKind::Changed, EntryKind::Dir))
                .is_none(),
            "a mode change is no appearance"
        );
        assert!(
            e.cover_path(&diff("/root/.cache", ChangeKind::Removed, EntryKind::File))
                .is_none()
        );
        assert!(
            e.cover_path(&diff("/root/.cachet", ChangeKind::Removed, EntryKind::Dir))
                .is_none()
        );
        assert_eq!(
            glob_root("/var/lib/apt/lists/*"),
            Some("/var/lib/apt/lists".into())
        );
        assert_eq!(
            glob_root("/etc/apt/apt.conf.d/docker-clean"),
            Some("/etc/apt/apt.conf.d/docker-clean".into())
        );
        assert_eq!(glob_root("/app/"), Some("/app".into()));
        assert_eq!(glob_root("/**"), None);
        assert_eq!(glob_root("rel/**"), None);
    }

    #[test]
    fn globs_expand_as_documented() {
        assert_eq!(expand("/a/**"), ["/a/**", "/a"]);
        assert_eq!(expand("/a/"), ["/a", "/a/**"]);
        assert_eq!(expand("/a/*.txt"), ["/a/*.txt"]);
        assert_eq!(expand("./rel"), ["**/rel", "**/rel/**"]);
        assert_eq!(expand("."), ["**"]);
        assert_eq!(expand("/"), ["/**", "/"]);
    }
}
