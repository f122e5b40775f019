//! Python (pip): a virtual environment in /opt/venv made before the first pip install; on
//! `python:X-slim` the runtime libraries of the apt packages the build installed, the venv
//! and the WORKDIR.

use dockopt_syntax::Instruction;

use super::args::{Opt, option_value};
use super::ecosystem::{Added, Additions, Call, Ecosystem};
use super::scan::{Scan, WriteKind};
use super::{Analysis, Plan};
use crate::paths::under;

/// Where the Python fix puts the virtual environment.
const VENV: &str = "/opt/venv";

#[derive(Default)]
pub(super) struct Python {
    /// The position (in the stage) of the first RUN that runs pip.
    anchor: Option<usize>,
    /// The USER each pip command runs as (`None`: root), with its line.
    users: Vec<(usize, Option<String>)>,
}

/// `ENV PATH="/opt/venv/bin:$PATH"`, in both stages.
fn venv_on_path() -> Added {
    Added {
        keyword: "ENV",
        args: format!("PATH=\"{VENV}/bin:$PATH\""),
    }
}

impl Ecosystem for Python {
    fn name(&self) -> &'static str {
        "python"
    }

    // TODO(issue 13): move to knowledge (images.toml: the ecosystem of each toolchain image and
    // its package managers).
    fn repositories(&self) -> &'static [&'static str] {
        &["python"]
    }

    fn managers(&self) -> &'static [&'static str] {
        &["pip", "uv", "poetry", "pipenv", "conda"]
    }

    fn copies_workdir(&self) -> bool {
        true
    }

    fn installs_runtime_libraries(&self) -> bool {
        true
    }

    // TODO(issue 13): move to knowledge (pip's flags that install outside the venv).
    fn scan(&mut self, scan: &mut Scan, call: &Call<'_>) -> Plan<()> {
        let Call {
            command,
            manager,
            program,
            pos,
            line,
            zone,
            cwd,
            state,
            ..
        } = *call;
        if manager != "pip" {
            return Err(format!(
                "the stage installs with {program}; only pip is supported"
            ));
        }
        let name = command.name_value().unwrap_or(program);
        if name.contains('/') {
            return Err(format!(
                "the RUN at line {line} runs pip as {name}, which would bypass the virtual \
                 environment"
            ));
        }
        for flag in ["--user", "--target", "-t", "--prefix", "--root"] {
            if command
                .args
                .iter()
                .take_while(|w| !w.is("--"))
                .any(|w| w.is(flag) || w.is_long_flag(flag))
            {
                return Err(format!(
                    "`pip {flag}` (line {line}) installs outside the virtual environment \
                     the runtime stage would copy"
                ));
            }
        }
        // `python -m pip install`: the action follows the module.
        let action = command
            .positionals()
            .filter_map(|w| w.value())
            .find(|w| *w != "pip")
            .unwrap_or("");
        match action {
            "wheel" | "download" => {
                let dir = option_value(&command.args, &["-w", "--wheel-dir", "-d", "--dest"]);
                match dir {
                    Opt::Value(dir) => {
                        scan.write_path(zone, cwd, dir, WriteKind::Folder, line, "pip")?;
                    }
                    _ => {
                        return Err(format!(
                            "`pip {action}` at line {line} writes where dockopt cannot tell"
                        ));
                    }
                }
            }
            _ => {}
        }
        self.anchor.get_or_insert(pos);
        self.users.push((line, state.user.clone()));
        Ok(())
    }

    /// pip (into /opt/venv, made by root) runs as root, and no ENV drops the venv from
    /// PATH.
    fn check_build_stage(
        &self,
        a: &Analysis<'_>,
        envs: &[Instruction<'_>],
        _runtime: &[(Instruction<'_>, bool)],
    ) -> Plan<()> {
        if let Some((line, Some(user))) = self.users.iter().find(|(_, u)| u.is_some()) {
            return Err(format!(
                "pip runs as USER {user} (line {line}), who could not write the virtual \
                 environment {VENV} that root would create"
            ));
        }
        let escape = a.file.escape_char();
        for env in envs {
            for pair in env.key_values() {
                if pair.key.value == "PATH"
                    && !pair.unquoted_value(escape).contains("$PATH")
                    && !pair.unquoted_value(escape).contains("${PATH}")
                {
                    return Err(format!(
                        "the ENV at line {} sets PATH without $PATH, which would drop the \
                         virtual environment from it",
                        a.line(*env)
                    ));
                }
            }
        }
        Ok(())
    }

    fn artifacts(
        &self,
        a: &Analysis<'_>,
        _runtime: &[(Instruction<'_>, bool)],
    ) -> Plan<Vec<String>> {
        let wd = a.final_wd.clone().unwrap_or_default();
        Ok(if self.anchor.is_some() {
            vec![VENV.to_string(), wd]
        } else {
            vec![wd]
        })
    }

    /// A program run by its path must be in the venv or the WORKDIR (or a shell).
    fn check_program(
        &self,
        a: &Analysis<'_>,
        instruction: Instruction<'_>,
        program: &str,
    ) -> Plan<()> {
        if !program.starts_with('/') {
            return Ok(());
        }
        let fine = ["/bin/sh", "/bin/bash", "/usr/bin/env"].contains(&program)
            || under(VENV, program)
            || a.final_wd.as_deref().is_some_and(|w| under(w, program));
        if !fine {
            let line = a.line(instruction);
            let keyword = instruction.keyword().to_uppercase();
            return Err(format!(
                "the {keyword} at line {line} runs {program}; in the runtime stage the \
                 packages are in {VENV}, so it would not find them"
            ));
        }
        Ok(())
    }

    /// The venv before the first pip install; the runtime stage puts it on PATH too.
    fn additions(&self) -> Additions {
        let setup = Added {
            keyword: "RUN",
            args: format!("python -m venv {VENV}"),
        };
        Additions {
            before: self.anchor.map(|pos| (pos, vec![setup, venv_on_path()])),
            build_end: Vec::new(),
            after_copy: vec![(VENV.to_string(), vec![venv_on_path()])],
        }
    }
}
