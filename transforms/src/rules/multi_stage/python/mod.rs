//! Python: on `python:X-slim` the runtime libraries of the apt packages the build
//! installed and the WORKDIR, with the packages in a virtual environment: pip's in
//! /opt/venv, made before the first pip install (`pipenv install --system` installs into it
//! too); uv's, poetry's and pipenv's the project's own ([`project`], [`pipenv`]), which
//! `pip install uv` / `poetry` / `pipenv` only serve as build tools; or the user base of
//! `pip install --user` ([`user`]).

mod pipenv;
mod project;
mod pyproject;
mod user;

use std::cell::Cell;

use dockopt_syntax::Instruction;

use super::args::{Opt, option_value};
use super::ecosystem::{Added, Additions, Call, Ecosystem, Runtime};
use super::scan::{Scan, WriteKind};
use super::{Analysis, Plan, base_name};
use crate::paths::under;

/// Where the Python fix puts the virtual environment.
const VENV: &str = "/opt/venv";

#[derive(Default)]
pub(super) struct Python {
    /// The pip commands, in order.
    pips: Vec<Pip>,
    /// The project environments uv, poetry and pipenv made.
    venvs: Vec<Venv>,
    /// The Pythons uv must find in the build image.
    checks: Vec<PythonCheck>,
    /// `poetry config virtualenvs.in-project` and `virtualenvs.create` so far.
    poetry_in_project: Option<bool>,
    poetry_create: Option<bool>,
    /// The `pip install --user` commands.
    users: Vec<user::UserInstall>,
    /// The line of a pipenv install that installs the dev packages too.
    pipenv_dev: Option<usize>,
    /// The stage's PATH has the user base's bin folder (set once the stage is scanned).
    user_bin_on_path: Cell<bool>,
}

/// A pip command.
struct Pip {
    /// The RUN's position in the stage.
    pos: usize,
    line: usize,
    /// The USER it runs as (`None`: root).
    user: Option<String>,
    /// It installs only build tools (uv, poetry, pipenv, and pip itself): with a uv,
    /// poetry or pipenv project they stay in the build image, out of any venv.
    tools: bool,
    /// It installs only packaging tools (pip, setuptools, wheel): beside `pip install
    /// --user` they stay in the build image.
    packaging: bool,
    /// The command: `pip`, or `pipenv` for `pipenv install --system`.
    what: &'static str,
}

/// A project environment made by uv, poetry or pipenv.
struct Venv {
    /// Its absolute path.
    path: String,
    line: usize,
    tool: &'static str,
}

/// `uv sync` at `line` must find a Python that fits the project in the build image, or it
/// downloads one the runtime stage would lack.
struct PythonCheck {
    line: usize,
    requires: Option<String>,
    /// The `.python-version` the project folder has.
    pin: Option<String>,
}

impl Python {
    /// The position of the first pip command that installs into /opt/venv.
    fn anchor(&self) -> Option<usize> {
        self.venv_pips().next().map(|p| p.pos)
    }

    /// The pip commands that install into /opt/venv: all but the build tools' of a uv or
    /// poetry project.
    fn venv_pips(&self) -> impl Iterator<Item = &Pip> {
        let project = !self.venvs.is_empty();
        let user = !self.users.is_empty();
        self.pips
            .iter()
            .filter(move |p| !(project && p.tools || user && p.packaging))
    }

    /// Whether the pip command installs only build tools (`pip install -U pip uv`).
    fn installs_tools(call: &Call<'_>) -> bool {
        let tools = &call.knowledge.multi_stage.python.build_tools;
        Self::installs_only(call, tools, true)
    }

    /// Whether the pip command installs only packaging tools (`pip install -U pip wheel`).
    fn installs_packaging(call: &Call<'_>) -> bool {
        let tools = &call.knowledge.multi_stage.python.packaging_tools;
        Self::installs_only(call, tools, false)
    }

    /// Whether `pip install` names only packages of `tools` (and pip), at least one of them
    /// from `tools` when `needs_tool`.
    fn installs_only(call: &Call<'_>, tools: &[String], needs_tool: bool) -> bool {
        let mut words = call.command.positionals().filter_map(|w| w.value());
        let python = call.program.starts_with("python");
        let mut action = words.next();
        if python && action == Some("pip") {
            action = words.next();
        }
        if action != Some("install") {
            return false;
        }
        let other_sources = [
            "-r",
            "--requirement",
            "-e",
            "--editable",
            "-c",
            "--constraint",
        ];
        if call
            .command
            .args
            .iter()
            .any(|w| other_sources.iter().any(|f| w.is(f) || w.is_long_flag(f)))
        {
            return false;
        }
        let names: Vec<String> = words
            .map(|w| {
                w.split(|c: char| "[<>=!~;@ ".contains(c))
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase()
            })
            .collect();
        !names.is_empty()
            && (!needs_tool || names.iter().any(|n| tools.contains(n)))
            && names.iter().all(|n| n == "pip" || tools.contains(n))
    }
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
        match manager {
            "pip" => {}
            "uv" => return self.scan_uv(scan, call),
            "poetry" => return self.scan_poetry(scan, call),
            "pipenv" => return self.scan_pipenv(scan, call),
            _ => {
                return Err(format!(
                    "the stage installs with {program}; only pip, uv, poetry and pipenv are \
                     supported"
                ));
            }
        }
        let name = command.name_value().unwrap_or(program);
        if name.contains('/') {
            return Err(format!(
                "the RUN at line {line} runs pip as {name}, which would bypass the virtual \
                 environment"
            ));
        }
        for flag in &call.knowledge.multi_stage.python.pip_outside_venv {
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
        if action == "install" && command.has_flag(&call.knowledge.multi_stage.python.user.flag) {
            return self.scan_user(call);
        }
        self.pips.push(Pip {
            pos,
            line,
            user: state.user.clone(),
            tools: Self::installs_tools(call),
            packaging: Self::installs_packaging(call),
            what: "pip",
        });
        Ok(())
    }

    /// pip (into /opt/venv, made by root) runs as root, and no ENV drops the venv from
    /// PATH; pip and a project tool do not both install; uv finds its Python in the image.
    fn check_build_stage(
        &self,
        a: &Analysis<'_>,
        envs: &[Instruction<'_>],
        _runtime: &[(Instruction<'_>, bool)],
    ) -> Plan<()> {
        if let (Some(pip), Some(venv)) = (self.venv_pips().next(), self.venvs.first()) {
            return Err(format!(
                "the stage installs packages both with {} (line {}) and with {} (line {}); \
                 dockopt converts one kind of install at a time",
                pip.what, pip.line, venv.tool, venv.line
            ));
        }
        self.check_user(a, envs)?;
        if let [first, second, ..] = self.venvs.as_slice()
            && first.path != second.path
        {
            return Err(format!(
                "the {} at line {} and the {} at line {} make two virtual environments",
                first.tool, first.line, second.tool, second.line
            ));
        }
        self.check_pythons(a)?;
        if self.anchor().is_none() {
            return Ok(());
        }
        if let Some(Pip {
            line,
            user: Some(user),
            what,
            ..
        }) = self.venv_pips().find(|p| p.user.is_some())
        {
            return Err(format!(
                "{what} runs as USER {user} (line {line}), who could not write the virtual \
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
        let mut artifacts = Vec::new();
        if self.anchor().is_some() {
            artifacts.push(VENV.to_string());
        }
        // A project environment outside the WORKDIR (UV_PROJECT_ENVIRONMENT=/opt/venv).
        for venv in &self.venvs {
            if !under(&wd, &venv.path) && !artifacts.contains(&venv.path) {
                artifacts.push(venv.path.clone());
            }
        }
        // The user base of `pip install --user`.
        if let Some(first) = self.users.first()
            && !under(&wd, &first.base)
        {
            artifacts.push(first.base.clone());
        }
        artifacts.push(wd);
        Ok(artifacts)
    }

    /// A program run by its path must be in the venv or the WORKDIR (or a shell).
    fn check_program(
        &self,
        a: &Analysis<'_>,
        instruction: Instruction<'_>,
        program: &str,
    ) -> Plan<()> {
        let line = a.line(instruction);
        let keyword = instruction.keyword().to_uppercase();
        let tools = &a.knowledge().multi_stage.python.tool_programs;
        let name = base_name(program);
        if tools.iter().any(|t| t == name) && !under(VENV, program) {
            return Err(format!(
                "the {keyword} at line {line} runs `{name}`, a build tool the runtime stage \
                 does not have; run the program of the virtual environment instead \
                 (`.venv/bin/NAME`, or put the venv's bin on PATH)"
            ));
        }
        if !program.starts_with('/') {
            return Ok(());
        }
        let fine = ["/bin/sh", "/bin/bash", "/usr/bin/env"].contains(&program)
            || under(VENV, program)
            || self.venvs.iter().any(|v| under(&v.path, program))
            || self
                .users
                .iter()
                .any(|u| u.runtime == u.base && under(&u.base, program))
            || a.final_wd.as_deref().is_some_and(|w| under(w, program));
        if !fine {
            let place = match self.users.first() {
                Some(u) if u.runtime != u.base => format!(
                    "the user base {} is in {} (the runtime stage's user may not read {})",
                    u.base, u.runtime, u.base
                ),
                Some(u) => format!("the packages are in {}", u.base),
                None => format!("the packages are in {VENV}"),
            };
            return Err(format!(
                "the {keyword} at line {line} runs {program}; in the runtime stage {place}, \
                 so it would not find them; run it through PATH or by the interpreter"
            ));
        }
        Ok(())
    }

    /// What the message says about the packages the runtime stage keeps and where.
    fn runtime(&self, a: &Analysis<'_>) -> Plan<Runtime> {
        let mut notes = Vec::new();
        if let Some(line) = self.pipenv_dev {
            notes.push(format!(
                "the runtime stage keeps the dev packages the pipenv install at line {line} \
                 installed, as the original image has them (without `--dev` they would stay \
                 out)"
            ));
        }
        if let Some(u) = self.users.first()
            && u.runtime != u.base
        {
            let env = &a.knowledge().multi_stage.python.user.base_env;
            notes.push(format!(
                "the runtime stage copies the user base {} of `pip install --user` to {} and \
                 sets {env} to it, so that a non-root user can read it too",
                u.base, u.runtime
            ));
        }
        Ok(Runtime {
            notes,
            ..Runtime::default()
        })
    }

    /// The venv before the first pip install; the runtime stage puts it on PATH too.
    fn additions(&self) -> Additions {
        let setup = Added {
            keyword: "RUN",
            args: format!("python -m venv {VENV}"),
        };
        let mut after_copy = vec![(VENV.to_string(), vec![venv_on_path()])];
        let mut destinations = Vec::new();
        if let Some(u) = self.users.first()
            && u.runtime != u.base
        {
            let path = if self.user_bin_on_path.get() {
                format!(" PATH=\"{}/bin:$PATH\"", u.runtime)
            } else {
                String::new()
            };
            let env = format!("{}={}{path}", u.base_env, u.runtime);
            after_copy.push((
                u.base.clone(),
                vec![Added {
                    keyword: "ENV",
                    args: env,
                }],
            ));
            destinations.push((u.base.clone(), u.runtime.clone()));
        }
        Additions {
            before: self.anchor().map(|pos| (pos, vec![setup, venv_on_path()])),
            build_end: Vec::new(),
            after_copy,
            destinations,
        }
    }
}

impl Python {
    /// uv links the project's environment to a Python of the build image only when that
    /// Python fits `requires-python` and `.python-version`; else it downloads one into its
    /// own folder, which the runtime stage would not have.
    fn check_pythons(&self, a: &Analysis<'_>) -> Plan<()> {
        let env = &a.knowledge().multi_stage.python.uv.downloads_env;
        for check in &self.checks {
            let line = check.line;
            let tag = &a.base.tag;
            let Some(version) = pyproject::tag_version(tag).filter(|v| v.len() >= 2) else {
                return Err(format!(
                    "the image tag `{tag}` names no Python version (3.X), so dockopt cannot tell \
                     whether the `uv sync` at line {line} downloads a Python the runtime stage \
                     would lack (set {env}=never to forbid it)"
                ));
            };
            let shown: Vec<String> = version.iter().map(u64::to_string).collect();
            let shown = shown.join(".");
            if let Some(pin) = &check.pin
                && pyproject::pin_fits(&version, pin) != Some(true)
            {
                return Err(format!(
                    "the project's .python-version ({}) is not known to match Python {shown} \
                     of the image; the `uv sync` at line {line} may download a Python the \
                     runtime stage would lack (set {env}=never to forbid it)",
                    pin.trim()
                ));
            }
            if let Some(spec) = &check.requires
                && pyproject::tag_satisfies(&version, spec) != Some(true)
            {
                return Err(format!(
                    "Python {shown} of the image is not known to satisfy requires-python \
                     `{spec}`; the `uv sync` at line {line} may download a Python the runtime \
                     stage would lack (set {env}=never to forbid it)"
                ));
            }
        }
        Ok(())
    }
}
