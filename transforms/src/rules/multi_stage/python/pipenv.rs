//! pipenv: `pipenv install`/`sync --system` installs into the first Python on PATH, which
//! the fix makes /opt/venv's (as for pip); without `--system`, into the project's `.venv`
//! when PIPENV_VENV_IN_PROJECT says so, copied with the WORKDIR. Elsewhere (pipenv's
//! virtualenvs folder, named after a hash of the project path) it is reported.

use super::super::Plan;
use super::super::args::{Opt, option_value};
use super::super::ecosystem::Call;
use super::super::scan::{Scan, WriteKind};
use super::project::{elsewhere, variable};
use super::pyproject::project_file;
use super::{Pip, Python, Venv};

impl Python {
    /// `pipenv install`/`sync` (with `--system` into /opt/venv, else into the project's
    /// `.venv`) and `pipenv lock`.
    pub(super) fn scan_pipenv(&mut self, scan: &mut Scan, call: &Call<'_>) -> Plan<()> {
        let Call {
            command,
            line,
            zone,
            cwd,
            pos,
            state,
            ..
        } = *call;
        let facts = &call.knowledge.multi_stage.python.pipenv;
        let sub = call.subcommand();
        if facts.locks.iter().any(|l| l == sub) {
            scan.write_path(zone, cwd, &facts.lock, WriteKind::File, line, "pipenv")?;
            return Ok(());
        }
        if !facts.installs.iter().any(|i| i == sub) {
            let shown = if sub.is_empty() {
                "pipenv".to_string()
            } else {
                format!("pipenv {sub}")
            };
            return Err(format!(
                "`{shown}` at line {line}: dockopt converts only `pipenv install` and \
                 `pipenv sync`"
            ));
        }
        let names: Vec<&str> = facts.unsupported_flags.iter().map(String::as_str).collect();
        if let Some(flag) =
            elsewhere(call, &names).or_else(|| command.first_flag(&names).map(Into::into))
        {
            return Err(format!(
                "the `pipenv {sub}` at line {line} has `{flag}`, which dockopt does not follow"
            ));
        }
        for env in &facts.unsupported_env {
            let set = call.state.is_set(env)
                || variable(call, env).map_or(true, |v| v.is_some_and(|v| !v.is_empty()));
            if set {
                return Err(format!(
                    "the `pipenv {sub}` at line {line} runs with {env} set, which makes pipenv \
                     use another project, Python or environment; dockopt does not follow it"
                ));
            }
        }
        let truthy = |v: &str| facts.true_values.iter().any(|t| t.eq_ignore_ascii_case(v));
        let falsy = |v: &str| facts.false_values.iter().any(|t| t.eq_ignore_ascii_case(v));
        let dev = facts.dev_flags.iter().any(|f| {
            command.has_flag(f) || option_value(&command.args, &[f.as_str()]) != Opt::Absent
        }) || variable(call, &facts.dev_env)
            .map_or(true, |v| v.is_some_and(|v| !falsy(v)));
        if dev && self.pipenv_dev.is_none() {
            self.pipenv_dev = Some(line);
        }
        if command.has_flag(&facts.system_flag) {
            // Into the first python3 on PATH: /opt/venv's once the fix puts it there.
            self.pips.push(Pip {
                pos,
                line,
                user: state.user.clone(),
                tools: false,
                packaging: false,
                what: "pipenv",
            });
            return Ok(());
        }
        let env = facts.in_project_env.as_str();
        let in_project = match variable(call, env) {
            Err(()) => {
                return Err(format!(
                    "the `pipenv {sub}` at line {line} runs with {env} set to a value dockopt \
                     cannot read"
                ));
            }
            Ok(Some(v)) if truthy(v) => Some(true),
            Ok(Some(v)) if falsy(v) => Some(false),
            Ok(Some(v)) if !v.is_empty() => {
                return Err(format!(
                    "the `pipenv {sub}` at line {line} runs with {env}={v}, which dockopt does \
                     not read as true or false"
                ));
            }
            Ok(_) => None,
        };
        if in_project != Some(true) {
            return Err(format!(
                "the `pipenv {sub}` at line {line} makes its virtual environment under \
                 ~/.local/share/virtualenvs in a folder named after a hash of the project path \
                 (or in a `.venv` the project has, or as the Pipfile's [pipenv] says), outside \
                 WORKDIR; with `ENV {env}=1` it would make `.venv` in the project, which the \
                 runtime stage copies (or `--system` installs into the image's Python, which \
                 dockopt moves into a virtual environment)"
            ));
        }
        let Some(cwd) = cwd else {
            return Err(format!(
                "dockopt cannot tell which folder the `pipenv {sub}` at line {line} runs in"
            ));
        };
        // pipenv looks for the Pipfile in parent folders too: the project must be here.
        if call
            .build_context
            .and_then(|c| project_file(scan, c, cwd, &facts.manifest))
            .is_none()
        {
            return Err(format!(
                "dockopt needs the Pipfile from the build context (COPYed into {cwd}) to tell \
                 the project folder the `pipenv {sub}` at line {line} makes its `.venv` in \
                 (pipenv looks for a Pipfile in parent folders too)"
            ));
        }
        if call.knowledge.multi_stage.common.is_system_dir(cwd) {
            return Err(format!(
                "the `pipenv {sub}` at line {line} runs in {cwd}, a system folder"
            ));
        }
        let path = Self::project_venv(scan, zone, cwd, &facts.venv, line, "pipenv")?;
        self.venvs.push(Venv {
            path,
            line,
            tool: "pipenv",
        });
        Ok(())
    }
}
