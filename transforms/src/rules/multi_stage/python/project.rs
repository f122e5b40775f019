//! uv and poetry: the project's own virtual environment, which `uv sync` and
//! `poetry install` make in the project folder (`.venv`), copied to the runtime stage with
//! the WORKDIR (or on its own when UV_PROJECT_ENVIRONMENT puts it elsewhere).

use std::collections::BTreeSet;

use dockopt_shell::Word;

use super::super::args::{Opt, literal, option_value};
use super::super::ecosystem::Call;
use super::super::scan::{Scan, WriteKind};
use super::super::{Plan, is_system_directory};
use super::pyproject::{
    DefaultGroups, parse, poetry_groups, poetry_setting, project_file, requires_python,
    uv_default_groups, uv_groups,
};
use super::{Python, PythonCheck, Venv};
use crate::paths::{absolute, under};

/// Every value of option `name` (`--group a --group=b`); `None` for one that is not literal.
fn values<'c>(args: &'c [Word], name: &str) -> Vec<Option<&'c str>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        i += 1;
        let Some(v) = word.value() else {
            continue;
        };
        if v == "--" {
            break;
        }
        if v == name {
            out.push(args.get(i).and_then(literal));
            i += 1;
        } else if let Some(value) = v.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            out.push((!value.contains('$')).then_some(value));
        }
    }
    out
}

/// The values of `name`, each split at commas (poetry's `--without dev,test`).
fn list_values(args: &[Word], name: &str, line: usize, tool: &str) -> Plan<Vec<String>> {
    let mut out = Vec::new();
    for value in values(args, name) {
        let value = value.ok_or_else(|| {
            format!("the `{tool}` at line {line} gives {name} a value dockopt cannot read")
        })?;
        out.extend(
            value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from),
        );
    }
    Ok(out)
}

/// The value of variable `name` for the command: its own assignment, else the stage's ENV.
/// `Err` when it is set to something dockopt cannot read.
pub(super) fn variable<'c>(call: &'c Call<'_>, name: &str) -> Result<Option<&'c str>, ()> {
    if let Some(a) = call
        .command
        .assignments
        .iter()
        .rev()
        .find(|a| a.name == name)
    {
        return match &a.value {
            None => Ok(Some("")),
            Some(w) => literal(w).map(Some).ok_or(()),
        };
    }
    if call
        .exported
        .iter()
        .any(|e| e == name || e.starts_with(&format!("{name}=")))
    {
        return Err(());
    }
    Ok(call.state.var(name))
}

fn truthy(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "1" | "true")
}

fn falsy(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "0" | "false")
}

/// Options that make the tool work on another project folder than the one it runs in.
pub(super) fn elsewhere(call: &Call<'_>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|n| option_value(&call.command.args, &[n]) != Opt::Absent)
        .map(|n| (*n).to_string())
}

impl Python {
    /// `uv sync` (and `uv lock`): the project's venv, with no dependency group and a Python
    /// of the build image.
    pub(super) fn scan_uv(&mut self, scan: &mut Scan, call: &Call<'_>) -> Plan<()> {
        let Call {
            command,
            line,
            zone,
            cwd,
            ..
        } = *call;
        let facts = &call.knowledge.multi_stage.python.uv;
        let sub = call.subcommand();
        let system = command.has_flag("--system")
            || facts
                .system_env
                .iter()
                .any(|v| variable(call, v).ok().flatten().is_some_and(truthy));
        match sub {
            "sync" => {}
            "lock" => {
                scan.write_path(zone, cwd, "uv.lock", WriteKind::File, line, "uv")?;
                return Ok(());
            }
            "pip" if system => {
                return Err(format!(
                    "`uv pip` at line {line} installs into the system site-packages of the \
                     build image, which the runtime stage would not get; install into a \
                     virtual environment (`uv venv` and `uv sync`, or pip into a venv) instead"
                ));
            }
            _ => {
                return Err(format!(
                    "`uv {sub}` at line {line}: dockopt converts only `uv sync` of a uv project"
                ));
            }
        }
        if let Some(flag) = elsewhere(call, &["--project", "--directory", "--python", "-p"]) {
            return Err(format!(
                "the `uv sync` at line {line} has `{flag}`, which dockopt does not follow"
            ));
        }
        if command.has_flag("--active") {
            return Err(format!(
                "the `uv sync --active` at line {line} installs into the active environment, \
                 which dockopt does not follow"
            ));
        }
        let Some(cwd) = cwd else {
            return Err(format!(
                "dockopt cannot tell which folder the `uv sync` at line {line} runs in"
            ));
        };
        // Where the environment goes.
        let venv_env = facts.venv_env.as_str();
        let venv = match variable(call, venv_env) {
            Err(()) => {
                return Err(format!(
                    "the `uv sync` at line {line} runs with {venv_env} set to a value dockopt \
                     cannot read"
                ));
            }
            Ok(Some(v)) if !v.is_empty() => v.to_string(),
            Ok(_) => facts.venv.clone(),
        };
        let path = Self::project_venv(scan, zone, cwd, &venv, line, "uv")?;

        // The dependency groups it installs.
        let context = call.build_context;
        let doc = context
            .and_then(|c| project_file(scan, c, cwd, "pyproject.toml"))
            .and_then(|t| parse(&t));
        let has = |flag: &str| command.has_flag(flag);
        let read = |name: &str| list_values(&command.args, name, line, "uv sync");
        let only = read("--only-group")?;
        let groups = read("--group")?;
        let no_groups = read("--no-group")?;
        let no_dev = has("--no-dev")
            || variable(call, "UV_NO_DEV")
                .ok()
                .flatten()
                .is_some_and(truthy);
        let no_defaults = has("--no-default-groups")
            || variable(call, "UV_NO_DEFAULT_GROUPS")
                .ok()
                .flatten()
                .is_some_and(truthy);
        let needs_project = |what: &str| {
            format!(
                "dockopt needs pyproject.toml from the build context (COPYed into {cwd}) to \
                 tell {what}"
            )
        };
        let mut installed: BTreeSet<String> = BTreeSet::new();
        if !only.is_empty() {
            installed.extend(only);
        } else if has("--only-dev") {
            installed.insert("dev".into());
        } else {
            let all = has("--all-groups");
            if !no_defaults || all {
                let defaults = match &doc {
                    Some(doc) => uv_default_groups(doc).map_err(|()| {
                        format!(
                            "the project's [tool.uv] default-groups is neither a list nor \
                             \"all\" (`uv sync` at line {line})"
                        )
                    })?,
                    None => {
                        return Err(needs_project(&format!(
                            "which dependency groups the `uv sync` at line {line} installs"
                        )));
                    }
                };
                let doc = doc.as_ref().map(uv_groups).unwrap_or_default();
                match (all, defaults) {
                    (true, _) | (false, DefaultGroups::All) => installed.extend(doc),
                    (false, DefaultGroups::List(list)) => installed.extend(list),
                    (false, DefaultGroups::Unset) => {
                        installed.extend(facts.default_groups.iter().cloned());
                    }
                }
            }
            installed.extend(groups);
            if has("--dev") {
                installed.insert("dev".into());
            }
            for g in no_groups {
                installed.remove(&g);
            }
            if no_dev {
                installed.remove("dev");
            }
        }
        // Only the groups the project has install anything.
        if !installed.is_empty() {
            let Some(doc) = &doc else {
                return Err(needs_project(&format!(
                    "whether the `uv sync` at line {line} installs dev dependencies"
                )));
            };
            let defined = uv_groups(doc);
            if let Some(group) = installed.iter().find(|g| defined.contains(*g)) {
                return Err(format!(
                    "the `uv sync` at line {line} installs the dependency group `{group}`; the \
                     runtime stage would carry it (`--no-dev`, `--no-default-groups` or \
                     `--only-group` leave it out when the application does not need it)"
                ));
            }
        }

        // The Python it links the environment to must be the build image's.
        let downloads = variable(call, &facts.downloads_env).ok().flatten();
        let no_downloads = has("--no-python-downloads")
            || downloads.is_some_and(|d| facts.no_downloads.iter().any(|n| n == d))
            || option_value(&command.args, &["--python-preference"]) == Opt::Value("only-system")
            || variable(call, "UV_PYTHON_PREFERENCE").ok().flatten() == Some("only-system");
        if !no_downloads {
            let Some(doc) = &doc else {
                return Err(needs_project(&format!(
                    "whether the `uv sync` at line {line} downloads a Python (set \
                     {}=never to forbid it)",
                    facts.downloads_env
                )));
            };
            self.checks.push(PythonCheck {
                line,
                requires: requires_python(doc),
                pin: context.and_then(|c| project_file(scan, c, cwd, ".python-version")),
            });
        }
        self.venvs.push(Venv {
            path,
            line,
            tool: "uv",
        });
        Ok(())
    }

    /// `poetry install` (or `sync`) into `.venv` in the project, of the main dependencies
    /// only; `poetry config` of the venv settings; `poetry lock`.
    pub(super) fn scan_poetry(&mut self, scan: &mut Scan, call: &Call<'_>) -> Plan<()> {
        let Call {
            command,
            line,
            zone,
            cwd,
            ..
        } = *call;
        let facts = &call.knowledge.multi_stage.python.poetry;
        let sub = call.subcommand();
        match sub {
            "install" | "sync" => {}
            "lock" => {
                scan.write_path(zone, cwd, "poetry.lock", WriteKind::File, line, "poetry")?;
                return Ok(());
            }
            "config" => return self.scan_poetry_config(call),
            _ => {
                return Err(format!(
                    "`poetry {sub}` at line {line}: dockopt converts only `poetry install`"
                ));
            }
        }
        if let Some(flag) = elsewhere(call, &["--directory", "-C", "--project", "-P"]) {
            return Err(format!(
                "the `poetry {sub}` at line {line} has `{flag}`, which dockopt does not follow"
            ));
        }
        let Some(cwd) = cwd else {
            return Err(format!(
                "dockopt cannot tell which folder the `poetry {sub}` at line {line} runs in"
            ));
        };
        let context = call.build_context;
        let settings = context
            .and_then(|c| project_file(scan, c, cwd, "poetry.toml"))
            .and_then(|t| parse(&t));
        // Environment variables win over `poetry config` and poetry.toml.
        let setting = |env: &str, key: &str, local: Option<bool>| -> Plan<Option<bool>> {
            match variable(call, env) {
                Err(()) => Err(format!(
                    "the `poetry {sub}` at line {line} runs with {env} set to a value dockopt \
                     cannot read"
                )),
                Ok(Some(v)) if truthy(v) => Ok(Some(true)),
                Ok(Some(v)) if falsy(v) => Ok(Some(false)),
                Ok(Some(v)) => Err(format!(
                    "the `poetry {sub}` at line {line} runs with {env}={v}, which dockopt \
                     does not read as true or false"
                )),
                Ok(None) => Ok(local.or_else(|| poetry_setting(settings.as_ref()?, key))),
            }
        };
        let create = setting(&facts.create_env, &facts.create_key, self.poetry_create)?;
        let in_project = setting(
            &facts.in_project_env,
            &facts.in_project_key,
            self.poetry_in_project,
        )?;
        let convertible = format!(
            "with `ENV {}=true` (and no {}=false) it would make `.venv` in the project, \
             which the runtime stage copies",
            facts.in_project_env, facts.create_env
        );
        if create == Some(false) {
            return Err(format!(
                "the `poetry {sub}` at line {line} installs into the system site-packages of \
                 the build image ({} false), which the runtime stage would not get; {convertible}",
                facts.create_key
            ));
        }
        if in_project != Some(true) {
            return Err(format!(
                "the `poetry {sub}` at line {line} makes its virtual environment under \
                 poetry's cache folder, outside WORKDIR; {convertible}"
            ));
        }
        let path = Self::project_venv(scan, zone, cwd, &facts.venv, line, "poetry")?;

        // The groups it installs: only main.
        let read = |name: &str| list_values(&command.args, name, line, "poetry install");
        let only = read("--only")?;
        let with = read("--with")?;
        let without = read("--without")?;
        let installed: BTreeSet<String> = if command.has_flag("--only-root") {
            BTreeSet::new()
        } else if !only.is_empty() {
            only.into_iter().collect()
        } else {
            let Some(doc) = context
                .and_then(|c| project_file(scan, c, cwd, "pyproject.toml"))
                .and_then(|t| parse(&t))
            else {
                return Err(format!(
                    "dockopt needs pyproject.toml from the build context (COPYed into {cwd}) \
                     to tell whether the `poetry {sub}` at line {line} installs dev \
                     dependencies (`--only main` needs none)"
                ));
            };
            let (groups, optional) = poetry_groups(&doc);
            let mut installed: BTreeSet<String> = groups.difference(&optional).cloned().collect();
            installed.extend(with);
            for g in &without {
                installed.remove(g);
            }
            if command.has_flag("--no-dev") {
                installed.remove("dev");
            }
            installed
        };
        if let Some(group) = installed.iter().find(|g| *g != "main") {
            return Err(format!(
                "the `poetry {sub}` at line {line} installs the dependency group `{group}`; \
                 the runtime stage would carry it (`--only main` or `--without {group}` \
                 leave it out when the application does not need it)"
            ));
        }
        self.venvs.push(Venv {
            path,
            line,
            tool: "poetry",
        });
        Ok(())
    }

    /// `poetry config virtualenvs.in-project true` and `virtualenvs.create false` (in
    /// poetry's own config file, outside WORKDIR: only poetry reads it).
    fn scan_poetry_config(&mut self, call: &Call<'_>) -> Plan<()> {
        let facts = &call.knowledge.multi_stage.python.poetry;
        let line = call.line;
        let words: Vec<Option<&str>> = call
            .command
            .positionals()
            .map(|w| literal(w))
            .skip(1)
            .collect();
        let value = |v: Option<&str>| match v {
            Some(v) if truthy(v) => Some(true),
            Some(v) if falsy(v) => Some(false),
            _ => None,
        };
        let unknown =
            || format!("the `poetry config` at line {line} sets something dockopt does not follow");
        if call.command.has_flag("--unset") || call.command.has_flag("--list") {
            return Err(unknown());
        }
        match words.as_slice() {
            [Some(key), v] if *key == facts.in_project_key => {
                self.poetry_in_project = Some(value(*v).ok_or_else(unknown)?);
            }
            [Some(key), v] if *key == facts.create_key => {
                self.poetry_create = Some(value(*v).ok_or_else(unknown)?);
            }
            _ => return Err(unknown()),
        }
        Ok(())
    }

    /// The project's environment `venv` (relative to the project folder `cwd`): inside the
    /// WORKDIR, or a folder of its own the runtime stage copies; never a system folder.
    pub(super) fn project_venv(
        scan: &mut Scan,
        zone: Option<&str>,
        cwd: &str,
        venv: &str,
        line: usize,
        tool: &str,
    ) -> Plan<String> {
        let Some(path) = absolute(Some(cwd), venv) else {
            return Err(format!(
                "the `{tool}` at line {line} makes its environment at `{venv}`, a path \
                 dockopt cannot resolve"
            ));
        };
        if is_system_directory(&path)
            || under("/usr", &path)
            || zone.is_some_and(|z| under(&path, z))
        {
            return Err(format!(
                "the `{tool}` at line {line} installs into {path}, the image's own folders; \
                 the runtime stage copies a virtual environment of its own"
            ));
        }
        scan.write_path(zone, Some(cwd), &path, WriteKind::Folder, line, tool)?;
        Ok(path)
    }
}
