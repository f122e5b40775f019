//! What the rule must know about one language's builds, behind [`Ecosystem`]. Adding an
//! ecosystem is one module implementing it, listed in [`modules`], plus its
//! `[ecosystems.NAME]` facts in knowledge/multi-stage.toml (its toolchain image
//! repositories, package managers, tools...) and its toolchain images with their
//! `runtime_twin` in knowledge/images.toml.

use dockopt_shell::Command;
use dockopt_syntax::Instruction;

use super::args::parse_args;
use super::scan::Scan;
use super::{Analysis, Plan};
use super::{dotnet::Dotnet, go::Go, java::Java, node::Node, python::Python, rust::Rust};
use crate::stage_state::StageState;

/// One language's builds. An instance lives for one analysis and keeps the records of what
/// the stage's build commands do ([`Ecosystem::scan`]), so the later steps can read them.
pub(super) trait Ecosystem {
    /// Its name in knowledge/multi-stage.toml (`[ecosystems.NAME]`).
    fn name(&self) -> &'static str;

    /// Records what a command of one of its package managers (`managers` in
    /// knowledge/multi-stage.toml) does; `Err` when the runtime stage could miss something
    /// it does.
    fn scan(&mut self, scan: &mut Scan, call: &Call<'_>) -> Plan<()>;

    /// Records what a command of another program does (corepack for Node), before the
    /// rule falls back to [`tools`](Ecosystem::tools) and reports the rest; `None` when
    /// the ecosystem has nothing to say about it (`call.manager` is the program then).
    fn scan_program(&mut self, _call: &Call<'_>) -> Option<Plan<()>> {
        None
    }

    /// Checks, once the stage is scanned, that what the fix adds to the build stage
    /// works there (which user runs it, which PATH it needs).
    fn check_build_stage(
        &self,
        _a: &Analysis<'_>,
        _envs: &[Instruction<'_>],
        _runtime: &[(Instruction<'_>, bool)],
    ) -> Plan<()> {
        Ok(())
    }

    /// Decides, once the stage is scanned, which image runs the build's output when it is
    /// not the toolchain's twin, and what the build commands need for it.
    fn runtime(&self, _a: &Analysis<'_>) -> Plan<Runtime> {
        Ok(Runtime::default())
    }

    /// The paths the runtime stage copies from the build stage.
    fn artifacts(&self, a: &Analysis<'_>, runtime: &[(Instruction<'_>, bool)])
    -> Plan<Vec<String>>;

    /// Checks a CMD, ENTRYPOINT or HEALTHCHECK that the runtime stage runs.
    fn check_command(&self, _a: &Analysis<'_>, _instruction: Instruction<'_>) -> Plan<()> {
        Ok(())
    }

    /// Checks a program that a run-time command line runs, on a twin with a shell.
    fn check_program(
        &self,
        _a: &Analysis<'_>,
        _instruction: Instruction<'_>,
        _program: &str,
    ) -> Plan<()> {
        Ok(())
    }

    /// The instructions the fix adds for it.
    fn additions(&self) -> Additions {
        Additions::default()
    }
}

/// Every ecosystem module, fresh for one analysis.
fn modules() -> [Box<dyn Ecosystem>; 6] {
    [
        Box::<Go>::default(),
        Box::<Rust>::default(),
        Box::<Node>::default(),
        Box::<Python>::default(),
        Box::<Java>::default(),
        Box::<Dotnet>::default(),
    ]
}

/// The ecosystem whose toolchain image `repository` is (knowledge/multi-stage.toml), fresh
/// for one analysis.
pub(super) fn of(knowledge: &crate::Knowledge, repository: &str) -> Option<Box<dyn Ecosystem>> {
    let name = knowledge.multi_stage.ecosystem_of(repository)?;
    modules().into_iter().find(|eco| eco.name() == name)
}

/// A command of one of the ecosystem's package managers in a RUN, and where it runs.
pub(super) struct Call<'r> {
    pub(super) command: &'r Command,
    /// The package manager (its name in knowledge/package-managers.toml).
    pub(super) manager: &'r str,
    /// The program the command runs (its base name).
    pub(super) program: &'r str,
    /// The RUN's position in the stage.
    pub(super) pos: usize,
    pub(super) line: usize,
    /// Where the command may write without an artifact to explain it (see
    /// [`Analysis::zone`]).
    pub(super) zone: Option<&'r str>,
    /// The folder the command runs in, when dockopt can tell.
    pub(super) cwd: Option<&'r str>,
    /// The stage's variables and user before the RUN.
    pub(super) state: &'r StageState,
    /// The literal words of the `export`s earlier in the RUN.
    pub(super) exported: &'r [String],
    /// The RUN's `--mount` flags, as the file writes them.
    pub(super) mounts: &'r [String],
    /// The Dockerfile's build context, when there is one.
    pub(super) build_context: Option<&'r crate::BuildContext>,
    pub(super) knowledge: &'r crate::Knowledge,
}

impl<'r> Call<'r> {
    /// The first operand: the subcommand (`go build`, `npm ci`), or "".
    pub(super) fn subcommand(&self) -> &'r str {
        let (operands, _) = parse_args(&self.command.args, &[]);
        operands.first().and_then(|w| w.value()).unwrap_or("")
    }

    /// Whether the subcommand is one `ecosystem` lists as writing nothing the runtime needs.
    pub(super) fn harmless_subcommand(&self, ecosystem: &str) -> bool {
        self.knowledge
            .multi_stage
            .ecosystem(ecosystem)
            .is_harmless(self.subcommand())
    }
}

/// An instruction the fix writes: its keyword (cased as the file cases its own) and the
/// rest of its line.
pub(super) struct Added {
    pub(super) keyword: &'static str,
    pub(super) args: String,
}

/// The ecosystem's choice of runtime ([`Ecosystem::runtime`]).
#[derive(Default)]
pub(super) struct Runtime {
    /// The image the runtime stage is FROM instead of the twin.
    pub(super) image: Option<String>,
    /// Text inserted into the build stage at file offsets (`CGO_ENABLED=0 ` before a
    /// `go build`).
    pub(super) inserts: Vec<(usize, String)>,
    /// Sentences for the message: what it chose, and why.
    pub(super) notes: Vec<String>,
    /// What the fix's summary says about a build command it changes.
    pub(super) changes_build: Option<String>,
}

/// What the fix adds to the two stages for an ecosystem.
#[derive(Default)]
pub(super) struct Additions {
    /// Instructions that go before the stage's instruction at this position, and above the
    /// COPYs right before it.
    pub(super) before: Option<(usize, Vec<Added>)>,
    /// Instructions at the end of the build stage.
    pub(super) build_end: Vec<Added>,
    /// Instructions that follow the runtime stage's COPY of an artifact: (artifact, what
    /// follows it).
    pub(super) after_copy: Vec<(String, Vec<Added>)>,
    /// Artifacts the runtime stage puts at another path than the build stage's: (artifact,
    /// its path in the runtime stage).
    pub(super) destinations: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::modules;
    use crate::Knowledge;

    #[test]
    fn each_ecosystem_of_the_knowledge_is_a_module_and_back() {
        let facts = &Knowledge::get().multi_stage;
        let names: Vec<&str> = modules().iter().map(|m| m.name()).collect();
        for name in facts.ecosystems.keys() {
            assert!(
                names.contains(&name.as_str()),
                "multi-stage.toml: [ecosystems.{name}] names no ecosystem module"
            );
        }
        for name in &names {
            assert!(
                facts.ecosystems.contains_key(*name),
                "the ecosystem module {name} has no [ecosystems.{name}] in multi-stage.toml"
            );
        }
    }

    #[test]
    fn ecosystem_facts_are_consistent() {
        let knowledge = Knowledge::get();
        let facts = &knowledge.multi_stage;
        let managers: Vec<&str> = knowledge
            .package_managers
            .managers
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        let mut seen: Vec<&str> = Vec::new();
        for (name, eco) in &facts.ecosystems {
            assert!(
                !eco.repositories.is_empty(),
                "[ecosystems.{name}]: no repositories"
            );
            for repository in &eco.repositories {
                assert!(
                    !seen.contains(&repository.as_str()),
                    "[ecosystems.{name}]: {repository} belongs to two ecosystems"
                );
                seen.push(repository);
                assert!(
                    knowledge
                        .images
                        .images
                        .iter()
                        .any(|i| i.repository == *repository && i.build_image),
                    "[ecosystems.{name}]: images.toml has no build image {repository}"
                );
            }
            assert!(!eco.managers.is_empty(), "[ecosystems.{name}]: no managers");
            for manager in &eco.managers {
                assert!(
                    managers.contains(&manager.as_str()),
                    "[ecosystems.{name}]: unknown manager {manager}"
                );
            }
        }
        let java = facts.ecosystem("java");
        for manager in &java.managers {
            assert!(
                facts.java.build_goals.contains_key(manager),
                "[java.build_goals] has no {manager}"
            );
        }
        assert!(facts.node.npm_production.iter().all(|w| !w.is_empty()));
        for manager in ["apt", "apk"] {
            let m = knowledge
                .package_managers
                .managers
                .iter()
                .find(|m| m.name == manager)
                .unwrap();
            assert!(!m.installs.is_empty(), "{manager}: no installs");
        }
    }
}
