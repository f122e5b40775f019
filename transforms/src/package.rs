//! Recognising package-manager commands in RUN scripts, and where their caches are.

use dockopt_shell::Command;

use crate::Knowledge;
use crate::knowledge::{CacheDir, PackageManager};
use crate::stage_state::StageState;

/// A command recognised as a package manager's.
#[derive(Clone, Copy, Debug)]
pub struct PackageCommand<'k, 'c> {
    pub manager: &'k PackageManager,
    pub command: &'c Command,
    /// The subcommand (`install`), when the command has one.
    pub action: Option<&'c str>,
}

impl PackageCommand<'_, '_> {
    /// Whether it downloads packages (a cache mount helps).
    pub fn downloads(&self) -> bool {
        self.manager.downloads(self.action)
    }
}

/// The package manager `command` runs, if any: `apt-get install`, `pip3 install`,
/// `python3 -m pip install`, `/usr/bin/npm ci`.
pub fn recognize<'k, 'c>(
    knowledge: &'k Knowledge,
    command: &'c Command,
) -> Option<PackageCommand<'k, 'c>> {
    let program = command.program()?;
    let managers = &knowledge.package_managers.managers;
    let is_python =
        program == "python" || program.starts_with("python3") || program.starts_with("python2");
    if is_python {
        let mut args = command.args.iter().filter_map(|w| w.value());
        let (Some("-m"), Some(module)) = (args.next(), args.next()) else {
            return None;
        };
        let manager = managers
            .iter()
            .find(|m| m.modules.iter().any(|x| x == module))?;
        let action = command.positionals().filter_map(|w| w.value()).nth(1);
        return Some(PackageCommand {
            manager,
            command,
            action,
        });
    }
    let manager = managers.iter().find(|m| m.matches_program(program))?;
    // The first positional that the manager knows as a download action, else the first.
    let positionals: Vec<&str> = command.positionals().filter_map(|w| w.value()).collect();
    let action = positionals
        .iter()
        .copied()
        .find(|p| manager.downloads.iter().any(|d| d == p))
        .or_else(|| positionals.first().copied());
    Some(PackageCommand {
        manager,
        command,
        action,
    })
}

/// Where `cache` is for a RUN in `state`; `None` when it cannot be known (a variable that
/// refers to others, an unknown HOME). The path may hold a `*` the knowledge could not fill.
pub fn cache_path(cache: &CacheDir, state: &StageState) -> Option<String> {
    let join = |base: &str, rest: &str| {
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            rest.trim_start_matches('/')
        )
    };
    if let Some(var) = cache.env.iter().find(|v| state.is_set(v)) {
        return state.var(var).map(str::to_string);
    }
    if let Some((var, rest)) = cache_variable_under(cache, state) {
        return Some(join(state.var(var)?, rest));
    }
    match cache.target.strip_prefix("~/") {
        Some(rest) => match &cache.root_home {
            Some(root_home) if state.is_root() => Some(join(root_home, rest)),
            _ => Some(join(&state.home()?, rest)),
        },
        None => Some(cache.target.clone()),
    }
}

/// The first `under` entry of `cache` whose variable is set in `state`: (variable, sub-folder).
pub fn cache_variable_under<'k>(
    cache: &'k CacheDir,
    state: &StageState,
) -> Option<(&'k str, &'k str)> {
    cache
        .under
        .iter()
        .filter_map(|entry| entry.split_once('/'))
        .find(|(var, _)| state.is_set(var))
}

#[cfg(test)]
mod tests {
    use super::{cache_path, recognize};
    use crate::Knowledge;
    use crate::stage_state::stage_states;

    fn first_command(run: &str) -> (dockopt_shell::Script, usize) {
        let file = dockopt_syntax::parse(&format!("FROM x\nRUN {run}\n"));
        (
            dockopt_shell::parse_instruction(file.instruction(1).unwrap()).unwrap(),
            0,
        )
    }

    #[test]
    fn recognizes_managers_and_actions() {
        let k = Knowledge::get();
        for (run, manager, action) in [
            ("apt-get -y install curl", "apt", Some("install")),
            ("/usr/bin/apt-get update", "apt", Some("update")),
            ("pip3 install -r requirements.txt", "pip", Some("install")),
            (
                "python3 -m pip install --no-cache-dir x",
                "pip",
                Some("install"),
            ),
            ("npm ci --omit=dev", "npm", Some("ci")),
            ("go mod download", "go", Some("mod")),
            ("./mvnw -B package", "maven", Some("package")),
        ] {
            let (script, i) = first_command(run);
            let commands = script.commands();
            let found = recognize(k, commands[i]).unwrap_or_else(|| panic!("{run}"));
            assert_eq!(
                (found.manager.name.as_str(), found.action),
                (manager, action),
                "{run}"
            );
            assert!(found.downloads(), "{run}");
        }
        let (script, _) = first_command("python3 app.py");
        assert!(recognize(k, script.commands()[0]).is_none());
        let (script, _) = first_command("apt-get clean");
        assert!(!recognize(k, script.commands()[0]).unwrap().downloads());
    }

    #[test]
    fn cache_paths_follow_user_home_and_variables() {
        let k = Knowledge::get();
        let manager = |name: &str| {
            k.package_managers
                .managers
                .iter()
                .find(|m| m.name == name)
                .unwrap()
        };
        let file = dockopt_syntax::parse(
            "FROM x\nRUN a\nUSER node\nRUN b\nENV PIP_CACHE_DIR=/cache/pip GOPATH=/gopath\nRUN c\n",
        );
        let states = stage_states(&file);
        let pip = &manager("pip").caches[0];
        assert_eq!(
            cache_path(pip, &states[1]).as_deref(),
            Some("/root/.cache/pip")
        );
        assert_eq!(
            cache_path(pip, &states[3]).as_deref(),
            Some("/home/node/.cache/pip")
        );
        assert_eq!(cache_path(pip, &states[5]).as_deref(), Some("/cache/pip"));
        let go = &manager("go").caches;
        assert_eq!(
            cache_path(&go[0], &states[1]).as_deref(),
            Some("/root/go/pkg/mod")
        );
        assert_eq!(
            cache_path(&go[0], &states[5]).as_deref(),
            Some("/gopath/pkg/mod")
        );
        assert_eq!(
            cache_path(&go[1], &states[1]).as_deref(),
            Some("/root/.cache/go-build")
        );
        let apt = &manager("apt").caches[0];
        assert_eq!(
            cache_path(apt, &states[3]).as_deref(),
            Some("/var/cache/apt")
        );
    }
}
