//! Node: the app's installed packages, read from the exported file system (package.json
//! files under its node_modules, so images without a shell work too), and which of them
//! are production dependencies: the non-dev entries of package-lock.json (or the hidden
//! node_modules/.package-lock.json) when there is one, else the closure of the app's
//! package.json `dependencies` and `optionalDependencies` (and the `peerDependencies` of
//! what they pull in), resolved the way Node resolves `require` (through symlinks: pnpm's
//! node_modules links into node_modules/.pnpm/KEY/node_modules, where each package's
//! dependencies are links beside it). pnpm hard-links those files from its store, which
//! `docker export` writes first when the store is in the image: the store's files that
//! look like a package.json are kept so the links get their text.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::Value;

use super::fs::{ImageFs, parent};
use super::{Finding, FindingKind};

/// package.json files kept at most this large.
pub const PACKAGE_JSON_LIMIT: u64 = 1 << 20;
/// Lock files kept at most this large.
pub const LOCK_LIMIT: u64 = 32 << 20;

/// The texts the node probe reads (for [`super::fs::Wants`]).
pub fn wants(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next().unwrap_or_default();
    match name {
        "package.json" => Some(PACKAGE_JSON_LIMIT),
        "package-lock.json" | ".package-lock.json" => Some(LOCK_LIMIT),
        _ if is_store_file(path) => Some(PACKAGE_JSON_LIMIT),
        _ => None,
    }
}

/// Whether a text read for [`wants`] is kept: of pnpm's store, only what looks like a
/// package.json (a JSON object with a name and a version).
pub fn keeps(path: &str, text: &[u8]) -> bool {
    if !is_store_file(path) {
        return true;
    }
    let has = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
    text.trim_ascii_start().starts_with(b"{") && has(b"\"name\"") && has(b"\"version\"")
}

/// A file of pnpm's content-addressed store: `STORE/vN/files/XX/HASH` (not its
/// `-index.json` files).
fn is_store_file(path: &str) -> bool {
    let parts: Vec<&str> = path.rsplit('/').take(4).collect();
    let [name, hex, files, version] = parts.as_slice() else {
        return false;
    };
    *files == "files"
        && hex.len() == 2
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && version
            .strip_prefix('v')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && !name.ends_with("-index.json")
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodePkg {
    pub name: String,
    pub version: String,
    /// dependencies, optionalDependencies and peerDependencies.
    pub deps: Vec<String>,
}

fn read_pkg(text: &str) -> Option<(NodePkg, Value)> {
    let v: Value = serde_json::from_str(text).ok()?;
    let keys = |field: &str| -> Vec<String> {
        v.get(field)
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut deps = keys("dependencies");
    deps.extend(keys("optionalDependencies"));
    deps.extend(keys("peerDependencies"));
    deps.sort();
    deps.dedup();
    let pkg = NodePkg {
        name: v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        version: v
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        deps,
    };
    Some((pkg, v))
}

/// The app as installed in one image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeApp {
    /// The folder holding the app's package.json / node_modules.
    pub root: String,
    /// Install path relative to the root (`node_modules/a/node_modules/@s/b`) -> package.
    pub installed: BTreeMap<String, NodePkg>,
    /// The install paths that are production dependencies.
    pub prod: BTreeSet<String>,
    /// How `prod` was told: "package-lock.json", "node_modules/.package-lock.json",
    /// "package.json dependencies", or "every installed package" (no manifest).
    pub method: String,
}

/// Whether `rel` (after the root) is `node_modules/[@s/]name(/node_modules/[@s/]name)*`.
fn is_install_path(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    let mut i = 0;
    let mut any = false;
    while i < parts.len() {
        if parts[i] != "node_modules" {
            return false;
        }
        i += 1;
        match parts.get(i) {
            Some(s) if s.starts_with('@') => {
                if parts
                    .get(i + 1)
                    .is_none_or(|n| n.is_empty() || n.starts_with('.'))
                {
                    return false;
                }
                i += 2;
            }
            Some(n) if !n.is_empty() && !n.starts_with('.') => i += 1,
            _ => return false,
        }
        any = true;
    }
    any
}

/// `node_modules/.pnpm/KEY/node_modules/[@s/]name...`: a package in pnpm's virtual store.
fn is_pnpm_install_path(rel: &str) -> bool {
    rel.strip_prefix("node_modules/.pnpm/")
        .and_then(|r| r.split_once('/'))
        .is_some_and(|(key, rest)| key != "node_modules" && is_install_path(rest))
}

/// The install path `name` resolves to from the package at `from` ("" for the app): the
/// `node_modules` folder of each folder from `from` up to the root, a link in it followed
/// by `real` (relative to the root, `None` when it leads nowhere).
fn resolve_from(
    installed: &BTreeMap<String, NodePkg>,
    from: &str,
    name: &str,
    real: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let mut dir = from;
    loop {
        if dir != "node_modules" && !dir.ends_with("/node_modules") {
            let candidate = if dir.is_empty() {
                format!("node_modules/{name}")
            } else {
                format!("{dir}/node_modules/{name}")
            };
            if installed.contains_key(&candidate) {
                return Some(candidate);
            }
            if let Some(linked) = real(&candidate).filter(|r| installed.contains_key(r)) {
                return Some(linked);
            }
        }
        if dir.is_empty() {
            return None;
        }
        dir = dir.rfind('/').map_or("", |i| &dir[..i]);
    }
}

/// The app's root: the first folder from the script's (else the WorkingDir) upwards with a
/// package.json or a node_modules folder.
fn find_root(fs: &ImageFs, workdir: &str, script: Option<&str>) -> Option<String> {
    let mut starts = Vec::new();
    if let Some(s) = script {
        starts.push(parent(s).to_string());
    }
    starts.push(workdir.to_string());
    for start in starts {
        let mut dir = start.as_str();
        loop {
            let join = |name: &str| {
                if dir == "/" {
                    format!("/{name}")
                } else {
                    format!("{dir}/{name}")
                }
            };
            if fs.is_file(&join("package.json")) || fs.is_dir(&join("node_modules")) {
                return Some(dir.to_string());
            }
            if dir == "/" {
                break;
            }
            dir = parent(dir);
        }
    }
    None
}

/// Reads the app whose command runs `script` (or which runs from `workdir`).
pub fn read_app(fs: &ImageFs, workdir: &str, script: Option<&str>) -> Option<NodeApp> {
    let root = find_root(fs, workdir, script)?;
    let real_root = fs.resolve(&root).unwrap_or_else(|| root.clone());
    let prefix = if real_root == "/" {
        "/".to_string()
    } else {
        format!("{real_root}/")
    };
    let mut app = NodeApp {
        root: root.clone(),
        ..NodeApp::default()
    };
    for (path, text) in fs.texts.range(prefix.clone()..) {
        let Some(rel) = path.strip_prefix(&prefix) else {
            break;
        };
        let Some(dir) = rel.strip_suffix("/package.json") else {
            continue;
        };
        if !is_install_path(dir) && !is_pnpm_install_path(dir) {
            continue;
        }
        if let Some((pkg, _)) = read_pkg(text) {
            app.installed.insert(dir.to_string(), pkg);
        }
    }
    let text = |name: &str| fs.texts.get(&format!("{prefix}{name}"));
    for lock_name in ["package-lock.json", "node_modules/.package-lock.json"] {
        let Some(lock) = text(lock_name).and_then(|t| serde_json::from_str::<Value>(t).ok()) else {
            continue;
        };
        let Some(packages) = lock.get("packages").and_then(Value::as_object) else {
            continue;
        };
        for (key, entry) in packages {
            let dev = entry.get("dev").and_then(Value::as_bool) == Some(true);
            if key.starts_with("node_modules/") && !dev && app.installed.contains_key(key) {
                app.prod.insert(key.clone());
            }
        }
        app.method = lock_name.to_string();
        return Some(app);
    }
    let real = |rel: &str| {
        fs.resolve(&format!("{prefix}{rel}"))
            .and_then(|p| p.strip_prefix(&prefix).map(String::from))
    };
    if let Some((manifest, _)) = text("package.json").and_then(|t| read_pkg(t)) {
        let mut queue: VecDeque<(String, String)> = manifest
            .deps
            .iter()
            .map(|d| (String::new(), d.clone()))
            .collect();
        while let Some((from, name)) = queue.pop_front() {
            let Some(at) = resolve_from(&app.installed, &from, &name, &real) else {
                continue;
            };
            if app.prod.insert(at.clone()) {
                for dep in &app.installed[&at].deps {
                    queue.push_back((at.clone(), dep.clone()));
                }
            }
        }
        app.method = "package.json dependencies".into();
    } else {
        app.prod = app.installed.keys().cloned().collect();
        app.method = "every installed package (no package.json)".into();
    }
    Some(app)
}

/// Findings for production packages of the original that the fixed app lacks or has at
/// another version (by name and version anywhere in its tree, so a different hoisting is
/// no difference), and notes.
pub fn compare(original: &NodeApp, fixed: Option<&NodeApp>) -> (Vec<Finding>, Vec<String>) {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let empty = NodeApp::default();
    let fixed = fixed.unwrap_or(&empty);
    let mut by_name: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for pkg in fixed.installed.values() {
        by_name.entry(&pkg.name).or_default().insert(&pkg.version);
    }
    let mut seen = BTreeSet::new();
    for at in &original.prod {
        let pkg = &original.installed[at];
        if !seen.insert((&pkg.name, &pkg.version)) {
            continue;
        }
        let now = by_name.get(pkg.name.as_str());
        if now.is_some_and(|v| v.contains(pkg.version.as_str())) {
            continue;
        }
        let fixed_version = now.map(|v| v.iter().copied().collect::<Vec<_>>().join(", "));
        let detail = match &fixed_version {
            None => format!(
                "{} {} is a production dependency of the app in the original ({}/{at}), not installed in the new image{}",
                pkg.name,
                pkg.version,
                original.root,
                if fixed.root.is_empty() {
                    " (no node app found there)".to_string()
                } else {
                    format!(" (under {})", fixed.root)
                }
            ),
            Some(v) => format!(
                "{} is {} in the original ({}/{at}) and {v} in the new image",
                pkg.name, pkg.version, original.root
            ),
        };
        findings.push(Finding {
            kind: FindingKind::Package,
            subject: pkg.name.clone(),
            original: Some(pkg.version.clone()),
            fixed: fixed_version,
            detail,
        });
    }
    let dev_gone = original
        .installed
        .iter()
        .filter(|(at, p)| {
            !original.prod.contains(*at)
                && !by_name
                    .get(p.name.as_str())
                    .is_some_and(|v| v.contains(p.version.as_str()))
        })
        .count();
    if dev_gone > 0 {
        notes.push(format!(
            "node: {dev_gone} installed package{} of the original that {} not production dependencies ({}) {} not in the new image (pruned, allowed)",
            if dev_gone == 1 { "" } else { "s" },
            if dev_gone == 1 { "is" } else { "are" },
            original.method,
            if dev_gone == 1 { "is" } else { "are" },
        ));
    }
    (findings, notes)
}

#[cfg(test)]
mod tests {
    use super::super::fs::{ImageFs, tests::tar};
    use super::*;

    fn pkg(name: &str, version: &str, deps: &[&str]) -> String {
        let deps: serde_json::Map<String, Value> = deps
            .iter()
            .map(|d| ((*d).to_string(), Value::from("*")))
            .collect();
        serde_json::json!({"name": name, "version": version, "dependencies": deps}).to_string()
    }

    fn image(files: &[(&str, String)]) -> ImageFs {
        let entries: Vec<(&str, &[u8])> = files.iter().map(|(p, t)| (*p, t.as_bytes())).collect();
        ImageFs::read(&tar(&entries)[..], &wants).unwrap()
    }

    fn app_files(with_dev: bool, express: &str, lock: bool) -> Vec<(&'static str, String)> {
        let mut files = vec![
            (
                "app/package.json",
                serde_json::json!({"name": "app", "version": "1.0.0",
                "dependencies": {"express": "^4"}, "devDependencies": {"typescript": "^5"}})
                .to_string(),
            ),
            ("app/dist/server.js", String::new()),
            (
                "app/node_modules/express/package.json",
                pkg("express", express, &["debug"]),
            ),
            (
                "app/node_modules/debug/package.json",
                pkg("debug", "2.6.9", &["ms"]),
            ),
            (
                "app/node_modules/debug/node_modules/ms/package.json",
                pkg("ms", "2.0.0", &[]),
            ),
            ("app/node_modules/ms/package.json", pkg("ms", "2.1.3", &[])),
            (
                "app/node_modules/@types/node/package.json",
                pkg("@types/node", "20.0.0", &[]),
            ),
        ];
        if with_dev {
            files.push((
                "app/node_modules/typescript/package.json",
                pkg("typescript", "5.4.0", &[]),
            ));
        }
        if lock {
            files.push((
                "app/package-lock.json",
                serde_json::json!({"lockfileVersion": 3, "packages": {
                    "": {"name": "app"},
                    "node_modules/express": {"version": "4.19.2"},
                    "node_modules/debug": {"version": "2.6.9"},
                    "node_modules/debug/node_modules/ms": {"version": "2.0.0"},
                    "node_modules/ms": {"version": "2.1.3", "dev": true},
                    "node_modules/@types/node": {"version": "20.0.0", "dev": true},
                    "node_modules/typescript": {"version": "5.4.0", "dev": true},
                }})
                .to_string(),
            ));
        }
        files
    }

    #[test]
    fn install_paths() {
        assert!(is_install_path("node_modules/a"));
        assert!(is_install_path("node_modules/@s/b/node_modules/c"));
        assert!(!is_install_path("node_modules/a/lib"));
        assert!(!is_install_path("node_modules/.bin"));
        assert!(!is_install_path("node_modules/@s"));
        assert!(!is_install_path("src"));
    }

    #[test]
    fn the_closure_without_a_lock_and_the_lock_when_there_is_one() {
        let fs = image(&app_files(true, "4.19.2", false));
        let app = read_app(&fs, "/app", Some("/app/dist/server.js")).unwrap();
        assert_eq!(app.root, "/app");
        assert_eq!(app.installed.len(), 6);
        let prod: Vec<&str> = app.prod.iter().map(String::as_str).collect();
        assert_eq!(
            prod,
            [
                "node_modules/debug",
                "node_modules/debug/node_modules/ms",
                "node_modules/express"
            ]
        );
        assert_eq!(app.method, "package.json dependencies");
        let fs = image(&app_files(true, "4.19.2", true));
        let app = read_app(&fs, "/", Some("/app/dist/server.js")).unwrap();
        assert_eq!(app.method, "package-lock.json");
        assert_eq!(app.prod.len(), 3);
        assert_eq!(read_app(&image(&[]), "/app", None), None);
    }

    #[test]
    fn pruned_dev_dependencies_pass_a_missing_or_changed_one_does_not() {
        let original = read_app(&image(&app_files(true, "4.19.2", true)), "/app", None).unwrap();
        let pruned = read_app(&image(&app_files(false, "4.19.2", false)), "/app", None).unwrap();
        let (findings, notes) = compare(&original, Some(&pruned));
        assert!(findings.is_empty(), "{findings:?}");
        assert!(notes[0].contains("1 installed package"), "{notes:?}");

        let bumped = read_app(&image(&app_files(false, "4.21.0", false)), "/app", None).unwrap();
        let (findings, _) = compare(&original, Some(&bumped));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].subject, "express");
        assert_eq!(findings[0].original.as_deref(), Some("4.19.2"));
        assert_eq!(findings[0].fixed.as_deref(), Some("4.21.0"));

        let mut files = app_files(false, "4.19.2", false);
        files.retain(|(p, _)| !p.contains("debug/node_modules/ms"));
        let lost = read_app(&image(&files), "/app", None).unwrap();
        let (findings, _) = compare(&original, Some(&lost));
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].subject, "ms");
        assert_eq!(findings[0].original.as_deref(), Some("2.0.0"));
        assert_eq!(findings[0].fixed.as_deref(), Some("2.1.3"));

        let (findings, _) = compare(&original, None);
        assert_eq!(findings.len(), 3);
        assert!(findings.iter().all(|f| f.fixed.is_none()));
    }

    /// pnpm: top-level links into node_modules/.pnpm, dependencies as links beside each
    /// package, package.json files hard-linked from the store that the export writes first.
    fn pnpm_image(debug: &str, with_dev: bool) -> ImageFs {
        let store = "root/.local/share/pnpm/store/v3/files";
        let express = pkg("express", "4.21.2", &["debug"]);
        let debug_pkg = pkg("debug", debug, &[]);
        let ts = pkg("typescript", "5.4.0", &[]);
        let express_key = format!("{store}/0e/aa11");
        let debug_key = format!("{store}/1f/bb22");
        let ts_key = format!("{store}/2a/cc33");
        let manifest = serde_json::json!({"name": "app", "version": "1.0.0",
            "dependencies": {"express": "4.21.2"}, "devDependencies": {"typescript": "5"}})
        .to_string();
        let debug_dir = format!("app/node_modules/.pnpm/debug@{debug}/node_modules/debug");
        let debug_link = format!("->../../debug@{debug}/node_modules/debug");
        let hard = |key: &str| format!("=>{key}");
        let mut files: Vec<(String, String)> = vec![
            (express_key.clone(), express),
            (debug_key.clone(), debug_pkg),
            (format!("{store}/3b/dd44"), "module.exports = {};".into()),
            (
                format!("{store}/4c/ee55-index.json"),
                "{\"name\":1,\"version\":2}".into(),
            ),
            ("app/package.json".into(), manifest),
            (
                "app/node_modules/.pnpm/express@4.21.2/node_modules/express/package.json".into(),
                hard(&express_key),
            ),
            (
                "app/node_modules/.pnpm/express@4.21.2/node_modules/debug".into(),
                debug_link,
            ),
            (format!("{debug_dir}/package.json"), hard(&debug_key)),
            (
                "app/node_modules/express".into(),
                "->.pnpm/express@4.21.2/node_modules/express".into(),
            ),
        ];
        if with_dev {
            files.insert(2, (ts_key.clone(), ts));
            files.push((
                "app/node_modules/.pnpm/typescript@5.4.0/node_modules/typescript/package.json"
                    .into(),
                hard(&ts_key),
            ));
            files.push((
                "app/node_modules/typescript".into(),
                "->.pnpm/typescript@5.4.0/node_modules/typescript".into(),
            ));
        }
        let entries: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_bytes()))
            .collect();
        ImageFs::read(&tar(&entries)[..], &super::super::ProbeWants).unwrap()
    }

    #[test]
    fn pnpm_links_and_store_hard_links() {
        let fs = pnpm_image("2.6.9", true);
        // The store keeps only what looks like a package.json.
        assert!(
            !fs.texts
                .keys()
                .any(|k| k.ends_with("dd44") || k.ends_with("-index.json"))
        );
        let app = read_app(&fs, "/app", None).unwrap();
        assert_eq!(app.installed.len(), 3, "{:?}", app.installed.keys());
        let prod: Vec<&str> = app.prod.iter().map(String::as_str).collect();
        assert_eq!(
            prod,
            [
                "node_modules/.pnpm/debug@2.6.9/node_modules/debug",
                "node_modules/.pnpm/express@4.21.2/node_modules/express",
            ]
        );
        // Pruned devDependencies pass; another version of a dependency does not.
        let pruned = read_app(&pnpm_image("2.6.9", false), "/app", None).unwrap();
        let (findings, notes) = compare(&app, Some(&pruned));
        assert!(findings.is_empty(), "{findings:?}");
        assert!(notes[0].contains("1 installed package"), "{notes:?}");
        let bumped = read_app(&pnpm_image("2.6.8", false), "/app", None).unwrap();
        let (findings, _) = compare(&app, Some(&bumped));
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].subject, "debug");
        assert!(is_store_file("/pnpm/store/v10/files/0a/abc"));
        assert!(!is_store_file("/app/files/0a/abc"));
    }
}
