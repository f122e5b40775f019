//! Python: every distribution importable by the interpreter the command uses, read by
//! running that interpreter in the image with a small script (importlib.metadata, or
//! pkg_resources before Python 3.8), and the comparison of two such sets.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Finding, FindingKind};

/// Printed before the JSON line, so other output of the interpreter (a sitecustomize) is
/// no trouble.
pub const MARKER: &str = "DOCKOPT-PROBE:";

/// Runs with `-c`: prints MARKER + JSON {version, executable, prefix, path, packages:
/// [[name, version, location]]} in sys.path order (the first of a name wins on import).
pub const SCRIPT: &str = r#"
import json, sys
out = {"version": sys.version.split()[0], "executable": sys.executable,
       "prefix": sys.prefix, "path": [p for p in sys.path if isinstance(p, str)],
       "packages": []}
try:
    import importlib.metadata as md
    for d in md.distributions():
        try:
            name = d.metadata["Name"]
        except Exception:
            name = None
        try:
            loc = str(d.locate_file(""))
        except Exception:
            loc = ""
        out["packages"].append([name, d.version, loc])
except ImportError:
    import pkg_resources
    for d in pkg_resources.working_set:
        out["packages"].append([d.project_name, d.version, d.location])
print("DOCKOPT-PROBE:" + json.dumps(out))
"#;

/// Packaging tools: a difference is noted, not a finding (they are not the app's).
const TOOLING: [&str; 5] = ["pip", "setuptools", "wheel", "distribute", "pkg-resources"];

/// What one interpreter reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PythonEnv {
    pub interpreter: String,
    pub version: String,
    pub path: Vec<String>,
    /// Normalised name -> (name as written, version, location); the first on sys.path.
    pub packages: BTreeMap<String, (String, String, String)>,
}

/// PEP 503: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Reads the probe's output.
pub fn parse_output(interpreter: &str, stdout: &str) -> Result<PythonEnv, String> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(MARKER))
        .ok_or("the probe script printed nothing")?;
    let value: Value = serde_json::from_str(line).map_err(|e| format!("bad probe output: {e}"))?;
    let mut env = PythonEnv {
        interpreter: interpreter.to_string(),
        version: value["version"].as_str().unwrap_or_default().to_string(),
        path: value["path"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        packages: BTreeMap::new(),
    };
    for p in value["packages"].as_array().into_iter().flatten() {
        let Some(name) = p[0].as_str().filter(|n| !n.is_empty()) else {
            continue;
        };
        let version = p[1].as_str().unwrap_or_default().to_string();
        let location = p[2].as_str().unwrap_or_default().to_string();
        env.packages
            .entry(normalize_name(name))
            .or_insert((name.to_string(), version, location));
    }
    Ok(env)
}

impl PythonEnv {
    /// The site-packages and dist-packages folders holding the distributions (not the
    /// project folder of an old-style `pip install -e .`, which is the app's own).
    pub fn package_dirs(&self) -> Vec<String> {
        let mut dirs: Vec<String> = self
            .packages
            .values()
            .map(|(_, _, loc)| loc.trim_end_matches('/').to_string())
            .filter(|l| {
                l.starts_with('/')
                    && (l.ends_with("/site-packages") || l.ends_with("/dist-packages"))
            })
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }
}

/// Unexpected differences (findings) and notes, from the original's packages to the fixed.
pub fn compare(original: &PythonEnv, fixed: &PythonEnv) -> (Vec<Finding>, Vec<String>) {
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    if original.version != fixed.version {
        findings.push(Finding {
            kind: FindingKind::Package,
            subject: "python".into(),
            original: Some(original.version.clone()),
            fixed: Some(fixed.version.clone()),
            detail: format!(
                "the interpreter the command runs is Python {} in the original ({}) and {} in the new image ({})",
                original.version, original.interpreter, fixed.version, fixed.interpreter
            ),
        });
    }
    let mut tooling = Vec::new();
    for (key, (name, version, location)) in &original.packages {
        let now = fixed.packages.get(key);
        if now.is_some_and(|(_, v, _)| v == version) {
            continue;
        }
        if TOOLING.contains(&key.as_str()) {
            tooling.push(format!(
                "{name} {version} -> {}",
                now.map_or("(none)", |(_, v, _)| v.as_str())
            ));
            continue;
        }
        let detail = match now {
            None => format!(
                "{name} {version} is importable by {} in the original (from {location}), not by {} in the new image",
                original.interpreter, fixed.interpreter
            ),
            Some((_, v, loc)) => format!(
                "{name} is {version} in the original (from {location}) and {v} in the new image (from {loc})"
            ),
        };
        findings.push(Finding {
            kind: FindingKind::Package,
            subject: name.clone(),
            original: Some(version.clone()),
            fixed: now.map(|(_, v, _)| v.clone()),
            detail,
        });
    }
    if !tooling.is_empty() {
        notes.push(format!(
            "python packaging tools differ (not the app's, so not counted): {}",
            tooling.join(", ")
        ));
    }
    let extra: Vec<String> = fixed
        .packages
        .iter()
        .filter(|(k, _)| !original.packages.contains_key(*k))
        .map(|(_, (n, v, _))| format!("{n} {v}"))
        .collect();
    if !extra.is_empty() {
        notes.push(format!(
            "python packages only in the new image (allowed): {}",
            extra.join(", ")
        ));
    }
    (findings, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(interpreter: &str, version: &str, packages: &[(&str, &str)]) -> PythonEnv {
        let json = serde_json::json!({
            "version": version,
            "path": ["", "/usr/lib/python3.11", "/site"],
            "packages": packages.iter().map(|(n, v)| [*n, *v, if *n == "app" { "/app" } else { "/site-packages" }]).collect::<Vec<_>>(),
        });
        parse_output(interpreter, &format!("noise\n{MARKER}{json}\n")).unwrap()
    }

    #[test]
    fn names_normalise_and_the_first_on_the_path_wins() {
        assert_eq!(normalize_name("Zope.Interface__x"), "zope-interface-x");
        let e = env(
            "/usr/bin/python",
            "3.11.2",
            &[("Flask", "3.0.0"), ("flask", "2.0.0")],
        );
        assert_eq!(e.packages["flask"].1, "3.0.0");
        assert_eq!(
            e.package_dirs(),
            ["/site-packages"],
            "not the app's own folder"
        );
        assert!(parse_output("p", "nothing").is_err());
    }

    #[test]
    fn missing_and_changed_packages_are_findings_tooling_is_a_note() {
        let a = env(
            "/usr/bin/python",
            "3.11.2",
            &[
                ("psycopg2", "2.9.10"),
                ("Flask", "3.0.0"),
                ("pip", "23.0.1"),
                ("wheel", "0.38.4"),
            ],
        );
        let b = env(
            "/opt/venv/bin/python",
            "3.11.2",
            &[("flask", "2.3.0"), ("pip", "24.0"), ("gunicorn", "22.0")],
        );
        let (findings, notes) = compare(&a, &b);
        let got: Vec<(&str, Option<&str>, Option<&str>)> = findings
            .iter()
            .map(|f| {
                (
                    f.subject.as_str(),
                    f.original.as_deref(),
                    f.fixed.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("Flask", Some("3.0.0"), Some("2.3.0")),
                ("psycopg2", Some("2.9.10"), None)
            ]
        );
        assert!(
            findings[1].detail.contains("not by /opt/venv/bin/python"),
            "{}",
            findings[1].detail
        );
        assert!(
            notes[0].contains("pip 23.0.1 -> 24.0") && notes[0].contains("wheel 0.38.4 -> (none)"),
            "{notes:?}"
        );
        assert!(notes[1].contains("gunicorn 22.0"));
        let (same, notes) = compare(&a, &a);
        assert!(same.is_empty() && notes.is_empty());
    }

    #[test]
    fn another_interpreter_version_is_a_finding() {
        let a = env("/usr/bin/python", "3.11.2", &[]);
        let b = env("/usr/local/bin/python", "3.12.1", &[]);
        let (findings, _) = compare(&a, &b);
        assert_eq!(findings[0].subject, "python");
        assert_eq!(findings[0].fixed.as_deref(), Some("3.12.1"));
    }
}
