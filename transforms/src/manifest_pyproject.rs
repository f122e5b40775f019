//! The `pyproject` analysis of manifests.toml (uv and poetry): pyproject.toml read as TOML
//! for what makes an install of the dependencies read the project's source: a workspace,
//! dependencies from local folders (sources with `path`, `name @ file:...`), and `[project]
//! dynamic` dependencies that the tool builds the project to learn when it checks its lock.
//! (Local package indexes are the ecosystem's `location_keys`, see manifest_location.rs.)
//! What only the project's own install reads (a version from a file or from git, the
//! readme, the packages to include) is not looked at: split-copy runs that install after
//! the source COPY.

use dockopt_shell::Command;

use crate::BuildContext;
use crate::knowledge::{Ecosystem, PyprojectFacts};
use crate::manifest::Reads;

const PYPROJECT: &str = "pyproject.toml";

/// `Err` with the reason when installing the dependencies of the context's pyproject.toml
/// (as `command` does) may read more of the context than the manifests.
pub fn check(context: &BuildContext, eco: &Ecosystem, command: &Command) -> Result<(), Reads> {
    let Some(facts) = &eco.pyproject else {
        return Ok(());
    };
    let text = context
        .read_text(PYPROJECT)
        .ok_or_else(|| Reads::Missing(format!("{PYPROJECT} cannot be read")))?;
    let doc: toml::Table = text
        .parse()
        .map_err(|_| Reads::Missing(format!("{PYPROJECT} is not valid TOML")))?;
    check_doc(&doc, facts, command)
}

fn check_doc(doc: &toml::Table, facts: &PyprojectFacts, command: &Command) -> Result<(), Reads> {
    let root = toml::Value::Table(doc.clone());
    for path in &facts.workspace {
        if !values_at(&root, path).is_empty() {
            return Err(Reads::Source(format!(
                "{PYPROJECT} makes a workspace ([{path}]) whose members are installed from \
                 their source with the dependencies; dockopt splits single projects"
            )));
        }
    }
    for path in &facts.sources {
        for table in values_at(&root, path) {
            let Some(table) = table.as_table() else {
                continue;
            };
            for (name, source) in table {
                let specs: Vec<&toml::Table> = match source {
                    toml::Value::Table(t) => vec![t],
                    toml::Value::Array(a) => a.iter().filter_map(|v| v.as_table()).collect(),
                    _ => Vec::new(),
                };
                for spec in specs {
                    if let Some(key) = facts.local_keys.iter().find(|k| spec.contains_key(*k)) {
                        let shown = spec
                            .get("path")
                            .and_then(|p| p.as_str())
                            .map_or_else(|| format!("{key} = ..."), |p| format!("path = \"{p}\""));
                        return Err(Reads::Source(format!(
                            "{PYPROJECT} installs `{name}` from the build context ({shown} in \
                             [{path}]), which the install of the dependencies would need; \
                             dockopt splits when every dependency comes from an index, git \
                             or a URL"
                        )));
                    }
                }
            }
        }
    }
    for path in &facts.requirements {
        for list in values_at(&root, path) {
            let Some(list) = list.as_array() else {
                continue;
            };
            for requirement in list.iter().filter_map(|r| r.as_str()) {
                if requirement
                    .split_once('@')
                    .is_some_and(|(_, url)| url.trim_start().starts_with("file:"))
                {
                    return Err(Reads::Source(format!(
                        "{PYPROJECT} requires `{requirement}` ({path}), a local folder the \
                         install of the dependencies would need"
                    )));
                }
            }
        }
    }
    if let Some(fine) = &facts.static_dynamic
        && !facts.lock_trusted.iter().any(|f| command.has_flag(f))
    {
        let dynamic: Vec<&str> = doc
            .get("project")
            .and_then(|p| p.get("dynamic"))
            .and_then(|d| d.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if let Some(field) = dynamic.iter().find(|f| !fine.iter().any(|s| s == *f)) {
            return Err(Reads::Source(format!(
                "{PYPROJECT} declares `{field}` dynamic: to check the lock the install \
                 builds the project, from its source; with {} it installs the lock as it is",
                facts.lock_trusted.join(" or ")
            )));
        }
    }
    Ok(())
}

/// The values at a dotted `path` (`tool.uv.sources`, `dependency-groups.*`, with `*` for
/// every key of a table or element of an array).
pub(crate) fn values_at<'v>(root: &'v toml::Value, path: &str) -> Vec<&'v toml::Value> {
    let mut current = vec![root];
    for key in path.split('.') {
        let mut next = Vec::new();
        for value in current {
            match (key, value) {
                ("*", toml::Value::Table(t)) => next.extend(t.values()),
                ("*", toml::Value::Array(a)) => next.extend(a.iter()),
                (_, toml::Value::Table(t)) => next.extend(t.get(key)),
                _ => {}
            }
        }
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Knowledge;

    fn run(eco: &str, pyproject: &str, command: &str) -> Result<(), Reads> {
        let knowledge = Knowledge::get();
        let eco = knowledge
            .manifests
            .ecosystems
            .iter()
            .find(|e| e.name == eco)
            .unwrap();
        let script = dockopt_shell::parse_text(command);
        let command = script.main_shell_commands()[0].clone();
        check_doc(
            &pyproject.parse().unwrap(),
            eco.pyproject.as_ref().unwrap(),
            &command,
        )
    }

    fn why(result: Result<(), Reads>) -> String {
        match result {
            Err(Reads::Source(why) | Reads::Missing(why)) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn uv_local_sources_and_workspaces() {
        let plain = "[project]\nname = \"a\"\ndependencies = [\"humanize\"]\n";
        assert!(run("uv", plain, "uv sync --locked").is_ok());
        let ws = format!("{plain}[tool.uv.workspace]\nmembers = [\"libs/*\"]\n");
        assert!(
            why(run("uv", &ws, "uv sync --frozen")).contains("workspace ([tool.uv.workspace])")
        );
        let path =
            format!("{plain}[tool.uv.sources]\nlib = {{ path = \"libs/lib\", editable = true }}\n");
        assert!(why(run("uv", &path, "uv sync --frozen")).contains("path = \"libs/lib\""));
        let list = format!(
            "{plain}[tool.uv.sources]\nlib = [{{ git = \"https://x/y\" }}, {{ path = \"l\" }}]\n"
        );
        assert!(run("uv", &list, "uv sync --frozen").is_err());
        let git = format!("{plain}[tool.uv.sources]\nlib = {{ git = \"https://x/y\" }}\n");
        assert!(run("uv", &git, "uv sync --frozen").is_ok());
        let file = "[dependency-groups]\ndev = [\"lib @ file:///app/lib\"]\n";
        assert!(why(run("uv", file, "uv sync")).contains("dependency-groups.*"));
        // A version read from a file matters to the project's install only.
        let hatch = format!("{plain}[tool.hatch.version]\npath = \"src/a/__init__.py\"\n");
        assert!(run("uv", &hatch, "uv sync").is_ok());
    }

    #[test]
    fn uv_dynamic_dependencies_need_frozen() {
        let dynamic = "[project]\nname = \"a\"\ndynamic = [\"version\", \"dependencies\"]\n";
        assert!(why(run("uv", dynamic, "uv sync --locked")).contains("`dependencies` dynamic"));
        assert!(run("uv", dynamic, "uv sync --frozen").is_ok());
        let version = "[project]\nname = \"a\"\ndynamic = [\"version\", \"readme\"]\n";
        assert!(run("uv", version, "uv sync").is_ok());
    }

    #[test]
    fn poetry_path_dependencies() {
        let plain = "[tool.poetry.dependencies]\npython = \"^3.11\"\nhumanize = \"4.11.0\"\n";
        assert!(run("poetry", plain, "poetry install").is_ok());
        let develop =
            "[tool.poetry.group.dev.dependencies]\nlib = { path = \"../lib\", develop = true }\n";
        assert!(
            why(run("poetry", develop, "poetry install"))
                .contains("tool.poetry.group.*.dependencies")
        );
        let source =
            "[[tool.poetry.source]]\nname = \"local\"\nurl = \"https://pypi.example/simple\"\n";
        assert!(run("poetry", source, "poetry install").is_ok());
    }
}
