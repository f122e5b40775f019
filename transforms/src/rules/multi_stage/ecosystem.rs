//! What the rule must know about one language's builds, behind [`Ecosystem`]. Adding an
//! ecosystem is one module implementing it, listed in [`of`], plus its toolchain images and
//! their `runtime_twin` in knowledge/images.toml.

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

    /// The toolchain image repositories it builds on, as [`crate::image::ImageFacts`]
    /// names them.
    fn repositories(&self) -> &'static [&'static str];

    /// The package managers of its build (names in knowledge/package-managers.toml): their
    /// commands go to [`Ecosystem::scan`].
    fn managers(&self) -> &'static [&'static str];

    /// Other programs of the toolchain that only build in the working folder.
    fn tools(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether the runtime stage gets the whole WORKDIR (Node, Python) rather than the
    /// artifacts a build command produced.
    fn copies_workdir(&self) -> bool {
        false
    }

    /// System packages that only its build needs, besides the `build_only` lists of
    /// knowledge/images.toml.
    fn build_only_packages(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether the runtime stage installs the runtime libraries of the system packages the
    /// build installed; otherwise such a package makes the rule report.
    fn installs_runtime_libraries(&self) -> bool {
        false
    }

    /// Records what a command of one of its [`managers`](Ecosystem::managers) does; `Err`
    /// when the runtime stage could miss something it does.
    fn scan(&mut self, scan: &mut Scan, call: &Call<'_>) -> Plan<()>;

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

    /// Checks a CMD or ENTRYPOINT that the runtime stage runs.
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

/// The ecosystem whose toolchain image `repository` is, fresh for one analysis.
pub(super) fn of(repository: &str) -> Option<Box<dyn Ecosystem>> {
    let all: [Box<dyn Ecosystem>; 6] = [
        Box::<Go>::default(),
        Box::<Rust>::default(),
        Box::<Node>::default(),
        Box::<Python>::default(),
        Box::<Java>::default(),
        Box::<Dotnet>::default(),
    ];
    all.into_iter()
        .find(|eco| eco.repositories().contains(&repository))
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
