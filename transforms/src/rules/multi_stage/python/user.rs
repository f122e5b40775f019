//! `pip install --user`: the packages go to the user base (PYTHONUSERBASE, else
//! HOME/.local), which the runtime stage copies. A user base in a folder other users cannot
//! read (root's home, 0700 on Debian) goes to a neutral folder with PYTHONUSERBASE set to
//! it, so that the interpreter finds it whichever user runs it (non-root-user adds one).

use dockopt_syntax::Instruction;

use super::super::ecosystem::Call;
use super::super::{Analysis, Plan};
use super::{Python, pyproject};
use crate::paths::{absolute, under};

/// A `pip install --user`.
pub(super) struct UserInstall {
    pub(super) line: usize,
    /// The user base it installs into.
    pub(super) base: String,
    /// Where the runtime stage puts it: `base`, or the neutral folder of
    /// knowledge/multi-stage.toml when other users cannot read `base`.
    pub(super) runtime: String,
    /// The variable that sets the user base.
    pub(super) base_env: String,
}

impl Python {
    /// `pip install --user` at `call`: the user base it installs into.
    pub(super) fn scan_user(&mut self, call: &Call<'_>) -> Plan<()> {
        let facts = &call.knowledge.multi_stage.python.user;
        let line = call.line;
        let env = facts.base_env.as_str();
        let on_command = call.command.assignments.iter().any(|a| a.name == env)
            || call
                .exported
                .iter()
                .any(|e| e == env || e.starts_with(&format!("{env}=")));
        if on_command {
            return Err(format!(
                "the `pip install --user` at line {line} sets {env} for itself only; the \
                 program would not find the packages at run time (set it with ENV)"
            ));
        }
        let base = if call.state.is_set(env) {
            let Some(value) = call.state.var(env).filter(|v| v.starts_with('/')) else {
                return Err(format!(
                    "the `pip install --user` at line {line} installs into {env}, whose \
                     value dockopt cannot read as an absolute path"
                ));
            };
            value.to_string()
        } else {
            let home = if call.state.is_root() && !call.state.is_set("HOME") {
                Some(facts.root_home.clone())
            } else if call.state.is_set("HOME") {
                call.state.home().filter(|h| h.starts_with('/'))
            } else {
                None
            };
            let Some(home) = home else {
                return Err(format!(
                    "the `pip install --user` at line {line} runs as USER {}, whose home (and \
                     so its user base) dockopt cannot be sure of; `ENV {env}=/path` before it \
                     would make it sure",
                    call.state.user.as_deref().unwrap_or("?")
                ));
            };
            format!("{}/{}", home.trim_end_matches('/'), facts.home_base)
        };
        let Some(base) = absolute(Some("/"), &base) else {
            return Err(format!(
                "the `pip install --user` at line {line} installs into `{base}`, a path \
                 dockopt cannot resolve"
            ));
        };
        if call.knowledge.multi_stage.common.is_system_dir(&base)
            || facts.image_trees.iter().any(|t| under(t, &base))
        {
            return Err(format!(
                "the `pip install --user` at line {line} installs into {base}, the image's own \
                 folders; the runtime stage copies a user base of its own"
            ));
        }
        if let Some(first) = self.users.first()
            && first.base != base
        {
            return Err(format!(
                "the `pip install --user` at lines {} and {line} install into two user bases \
                 ({} and {base})",
                first.line, first.base
            ));
        }
        let private = facts.private.iter().any(|p| under(p, &base));
        self.users.push(UserInstall {
            line,
            runtime: if private {
                facts.runtime_base.clone()
            } else {
                base.clone()
            },
            base,
            base_env: env.to_string(),
        });
        Ok(())
    }

    /// `pip install --user` is the stage's only kind of install (but packaging tools); the
    /// twin's Python is the build image's minor version (the user site-packages folder is
    /// named after it); and whether the stage's PATH has the user base's bin folder.
    pub(super) fn check_user(&self, a: &Analysis<'_>, envs: &[Instruction<'_>]) -> Plan<()> {
        let Some(user) = self.users.first() else {
            return Ok(());
        };
        if let Some(pip) = self.venv_pips().next() {
            return Err(format!(
                "the stage installs packages both with {} into the system site-packages (line \
                 {}) and with `pip install --user` (line {}); dockopt converts one kind of \
                 install at a time",
                pip.what, pip.line, user.line
            ));
        }
        if let Some(venv) = self.venvs.first() {
            return Err(format!(
                "the stage installs packages both with {} (line {}) and with `pip install \
                 --user` (line {}); dockopt converts one kind of install at a time",
                venv.tool, venv.line, user.line
            ));
        }
        let tag = &a.base.tag;
        if pyproject::tag_version(tag).is_none_or(|v| v.len() < 2) {
            return Err(format!(
                "the `pip install --user` at line {} puts packages in \
                 {}/lib/pythonX.Y/site-packages, and the image tag `{tag}` names no Python \
                 version (3.X), so the runtime image may run another Python that does not \
                 look there; a tag such as `3.12` would make it sure",
                user.line, user.base
            ));
        }
        let escape = a.file.escape_char();
        let bin = format!("{}/bin", user.base);
        let on_path = envs.iter().flat_map(|env| env.key_values()).any(|pair| {
            pair.key.value == "PATH"
                && pair
                    .unquoted_value(escape)
                    .split(':')
                    .any(|p| p.trim_end_matches('/') == bin)
        });
        self.user_bin_on_path.set(on_path);
        Ok(())
    }
}
