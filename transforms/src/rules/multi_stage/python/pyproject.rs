//! What the build context says about a Python project: the files COPY put in its folder
//! (pyproject.toml, .python-version, poetry.toml), its dependency groups, and whether the
//! build image's Python satisfies it.

use std::collections::BTreeSet;

use super::super::base_name;
use super::super::scan::Scan;

/// The text of `name` in the project folder `cwd`, read from the build context through the
/// COPYs that put files there (the last one wins); `None` when no COPY brings it.
pub(super) fn project_file(
    scan: &Scan,
    context: &crate::BuildContext,
    cwd: &str,
    name: &str,
) -> Option<String> {
    let folder = cwd.trim_end_matches('/');
    let folder = if folder.is_empty() { "/" } else { folder };
    let target = format!("{}/{name}", folder.trim_end_matches('/'));
    for copy in scan.context_copies.iter().rev() {
        let dest = copy.dest.trim_end_matches('/');
        let dest = if dest.is_empty() { "/" } else { dest };
        for source in copy.sources.iter().rev() {
            if source.contains(['*', '?', '[', '$']) {
                continue;
            }
            let candidate = if copy.dest_is_dir && dest == folder {
                if base_name(source) == name {
                    source.clone()
                } else {
                    format!("{}/{name}", source.trim_end_matches('/'))
                }
            } else if !copy.dest_is_dir && dest == target {
                source.clone()
            } else {
                continue;
            };
            let candidate = normalize(&candidate);
            if let Some(text) = context.read_text(&candidate) {
                return Some(text);
            }
        }
    }
    None
}

/// A context path without `./` parts and leading `/`.
fn normalize(path: &str) -> String {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// A parsed pyproject.toml (or poetry.toml); `None` when it is not TOML.
pub(super) fn parse(text: &str) -> Option<toml::Table> {
    text.parse::<toml::Table>().ok()
}

fn table<'t>(doc: &'t toml::Table, path: &[&str]) -> Option<&'t toml::Table> {
    let mut current = doc;
    for key in path {
        current = current.get(*key)?.as_table()?;
    }
    Some(current)
}

fn non_empty(value: Option<&toml::Value>) -> bool {
    match value {
        Some(toml::Value::Array(a)) => !a.is_empty(),
        Some(toml::Value::Table(t)) => !t.is_empty(),
        Some(_) => true,
        None => false,
    }
}

/// uv: the dependency groups the project defines ([dependency-groups], and `dev` for
/// `[tool.uv] dev-dependencies`).
pub(super) fn uv_groups(doc: &toml::Table) -> BTreeSet<String> {
    let mut groups: BTreeSet<String> = table(doc, &["dependency-groups"])
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    if non_empty(table(doc, &["tool", "uv"]).and_then(|t| t.get("dev-dependencies"))) {
        groups.insert("dev".into());
    }
    groups
}

/// uv's `[tool.uv] default-groups`.
pub(super) enum DefaultGroups {
    /// Not set: uv's own defaults.
    Unset,
    /// "all": every group of the project.
    All,
    List(Vec<String>),
}

/// uv: `[tool.uv] default-groups`; `Err` when it is neither a list nor "all".
pub(super) fn uv_default_groups(doc: &toml::Table) -> Result<DefaultGroups, ()> {
    let Some(value) = table(doc, &["tool", "uv"]).and_then(|t| t.get("default-groups")) else {
        return Ok(DefaultGroups::Unset);
    };
    match value {
        toml::Value::String(s) if s == "all" => Ok(DefaultGroups::All),
        toml::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(String::from).ok_or(()))
            .collect::<Result<Vec<_>, _>>()
            .map(DefaultGroups::List),
        _ => Err(()),
    }
}

/// poetry: the groups the project defines, and which of them are optional (installed only
/// on request). `[tool.poetry.dev-dependencies]` is the group `dev`; [dependency-groups]
/// count as non-optional groups.
pub(super) fn poetry_groups(doc: &toml::Table) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut groups = BTreeSet::new();
    let mut optional = BTreeSet::new();
    if let Some(t) = table(doc, &["tool", "poetry", "group"]) {
        for (name, group) in t {
            groups.insert(name.clone());
            if group.get("optional").and_then(toml::Value::as_bool) == Some(true) {
                optional.insert(name.clone());
            }
        }
    }
    if non_empty(table(doc, &["tool", "poetry"]).and_then(|t| t.get("dev-dependencies"))) {
        groups.insert("dev".into());
    }
    if let Some(t) = table(doc, &["dependency-groups"]) {
        groups.extend(t.keys().cloned());
    }
    (groups, optional)
}

/// poetry.toml's `[virtualenvs] KEY` (`in-project`, `create`) as a boolean.
pub(super) fn poetry_setting(doc: &toml::Table, key: &str) -> Option<bool> {
    let key = key.strip_prefix("virtualenvs.").unwrap_or(key);
    table(doc, &["virtualenvs"])?.get(key)?.as_bool()
}

/// `[project] requires-python`.
pub(super) fn requires_python(doc: &toml::Table) -> Option<String> {
    table(doc, &["project"])?
        .get("requires-python")?
        .as_str()
        .map(String::from)
}

/// The version an image tag names (`3.12-slim` -> [3, 12]); `None` without one.
pub(super) fn tag_version(tag: &str) -> Option<Vec<u64>> {
    let head: String = tag
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let parts: Option<Vec<u64>> = head
        .trim_end_matches('.')
        .split('.')
        .map(|p| p.parse().ok())
        .collect();
    parts.filter(|p| !p.is_empty())
}

/// Whether every Python the tag `version` may stand for (`3.12`: any 3.12.x) satisfies the
/// specifier set `spec` (PEP 440, `>=3.11,<4`); `None` when dockopt cannot tell.
pub(super) fn tag_satisfies(version: &[u64], spec: &str) -> Option<bool> {
    if version.len() < 2 {
        return None;
    }
    let ends: Vec<Vec<u64>> = if version.len() == 2 {
        vec![
            vec![version[0], version[1], 0],
            vec![version[0], version[1], u64::from(u32::MAX)],
        ]
    } else {
        vec![version.to_vec()]
    };
    let mut all = true;
    for clause in spec.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let op_len = clause
            .find(|c: char| c.is_ascii_digit() || c.is_whitespace())
            .unwrap_or(clause.len());
        let (op, rest) = clause.split_at(op_len);
        let rest = rest.trim();
        let (wild, rest) = match rest.strip_suffix(".*") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let v: Vec<u64> = rest
            .split('.')
            .map(|p| p.parse().ok())
            .collect::<Option<Vec<u64>>>()?;
        if op == "!=" && !wild && version.len() == 2 {
            // One release excluded from the tag's series: not every 3.12.x is known to fit.
            if v.iter().take(2).eq(version.iter()) {
                return None;
            }
            continue;
        }
        for end in &ends {
            let fits = match (op, wild) {
                ("==" | "===", true) => end.starts_with(&v),
                ("!=", true) => !end.starts_with(&v),
                ("==" | "===", false) => cmp(end, &v).is_eq(),
                ("!=", false) => cmp(end, &v).is_ne(),
                (">=", false) => cmp(end, &v).is_ge(),
                ("<=", false) => cmp(end, &v).is_le(),
                (">", false) => cmp(end, &v).is_gt(),
                ("<", false) => cmp(end, &v).is_lt(),
                ("~=", false) if v.len() >= 2 => {
                    cmp(end, &v).is_ge() && end.starts_with(&v[..v.len() - 1])
                }
                _ => return None,
            };
            all &= fits;
        }
    }
    Some(all)
}

/// Versions compared with missing parts as 0.
fn cmp(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            a.get(i)
                .copied()
                .unwrap_or(0)
                .cmp(&b.get(i).copied().unwrap_or(0))
        })
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// Whether the `.python-version` pin (its first line that is not a comment) is met by the
/// tag's version: the pin's parts are a prefix of the tag's (`3.12` by `3.12` and `3.12.4`);
/// `None` when dockopt cannot tell.
pub(super) fn pin_fits(version: &[u64], pin_file: &str) -> Option<bool> {
    let pin = pin_file
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let pin = pin
        .strip_prefix("cpython@")
        .or_else(|| pin.strip_prefix("cpython-"))
        .or_else(|| pin.strip_prefix("python"))
        .unwrap_or(pin);
    let parts: Vec<u64> = pin
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<Vec<u64>>>()?;
    if parts.len() > version.len() {
        return (!parts.starts_with(version)).then_some(false);
    }
    Some(version.starts_with(&parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifiers() {
        let v = [3, 12];
        assert_eq!(tag_satisfies(&v, ">=3.11"), Some(true));
        assert_eq!(tag_satisfies(&v, ">=3.11,<4"), Some(true));
        assert_eq!(tag_satisfies(&v, ">=3.13"), Some(false));
        assert_eq!(tag_satisfies(&v, ">=3.12.4"), Some(false));
        assert_eq!(tag_satisfies(&[3, 12, 5], ">=3.12.4"), Some(true));
        assert_eq!(tag_satisfies(&v, "==3.12.*"), Some(true));
        assert_eq!(tag_satisfies(&v, "~=3.10"), Some(true));
        assert_eq!(tag_satisfies(&v, "~=3.10.1"), Some(false));
        assert_eq!(tag_satisfies(&v, "!=3.12.1"), None);
        assert_eq!(tag_satisfies(&v, "!=3.11.*"), Some(true));
        assert_eq!(tag_satisfies(&v, "<3.12"), Some(false));
        assert_eq!(tag_satisfies(&[3], ">=3.11"), None);
        assert_eq!(tag_satisfies(&v, ">=three"), None);
        assert_eq!(tag_satisfies(&v, "^3.11"), None);
        assert_eq!(tag_version("3.12-slim"), Some(vec![3, 12]));
        assert_eq!(tag_version("latest"), None);
        assert_eq!(pin_fits(&v, "3.12\n"), Some(true));
        assert_eq!(pin_fits(&v, "# pin\n3.13\n"), Some(false));
        assert_eq!(pin_fits(&v, "3.12.4"), None);
        assert_eq!(pin_fits(&v, "3.11.4"), Some(false));
        assert_eq!(pin_fits(&v, "pypy@3.10"), None);
    }
}
