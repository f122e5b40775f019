//! The shell-trace oracle: an independent check that a rewrite of a Dockerfile keeps what
//! each RUN does.
//!
//! Parsing a fixed file proves little: a trailing `# comment` that swallows the commands
//! merged after it, a `)` that lands inside a comment, or a `set -e` body moved to the left
//! of `&&` (where POSIX shells ignore `set -e`) all parse. The oracle *runs* the RUNs.
//!
//! # How
//!
//! 1. [`plan`] reads each stage as BuildKit would: its RUNs (the clean text `/bin/sh -c`
//!    receives, from the syntax layer's shell pieces), the SHELL, the environment (a fixed
//!    base `PATH`/`HOME`, ARG defaults, ENV, with Docker's substitution, [`expand`]), the
//!    WORKDIR and the cache mounts. It uses neither dockopt's shell model nor its rules, so
//!    it does not share their mistakes. Stages on Windows images or with a non-POSIX SHELL
//!    are skipped and counted.
//! 2. [`sandbox`] replays a stage in bubblewrap: one `bwrap` per stage and scenario, a
//!    driver script that runs each RUN as a fresh bash (`/bin/sh` as bash in POSIX mode)
//!    in its folder with its environment and BuildKit's umask (022), stopping at the first
//!    that fails. Only bash and its libraries are in the sandbox; every other program is a
//!    stub that records its argv, `$PWD`, umask and exported environment (bash's own PWD,
//!    OLDPWD, SHLVL, `_` and the oracle's variables left out) and succeeds. Standard
//!    output of the RUNs (what builtins such as `echo` print) goes into the same ordered
//!    log ([`trace`]). After the replay the host lists what the shells wrote in the
//!    sandbox's root (redirections: path, type, mode, size, content hash).
//! 3. [`Oracle::compare`] replays the stages that differ between the original and the
//!    fixed text, nominally and then with each program seen made to fail in turn (its stub
//!    returns 1 on every call), and compares the traces and the files in a [`Mode`]
//!    ([`compare`]): `Exact` for merges, `Additive` for all Safe fixes, `Report` (a
//!    classification) for Unsafe ones. In Additive mode, where a fix changed how often a
//!    program is called in a stage (`npm ci` → `npm ci && npm cache clean --force`), each
//!    call of the original fails alone instead (a call counter the stubs keep for the
//!    whole replay), and on the fixed side the call it embeds in: a failing `npm ci` must
//!    still fail the build.
//!
//! # Choices worth knowing
//!
//! * **Programs named by path** (`/usr/bin/apt-get`, `./configure`) fail with 127 without
//!   reaching bash's `command_not_found_handle`. The host reads bash's "No such file or
//!   directory" messages after a replay and puts a stub *file* at each such path (relative
//!   ones in every folder the replay worked in), then replays *both* sides again with the
//!   union of what both missed, until nothing new is missing (6 rounds at most). The same
//!   mechanism creates missing parent folders of redirections (`> /app/conf/x`): a path
//!   whose folder is missing too first gets only the folder, so that a redirection writes
//!   a real file (with the RUN's umask) and only a program still missing gets a stub.
//! * **`cd` into folders nobody created** (`mkdir` and `tar` are stubs): a `cd`/`pushd`
//!   prelude function logs every folder entered; missing ones, and those bash names in
//!   `cd: X: No such file or directory` (which also covers `command cd` and `builtin cd`,
//!   which bypass functions), are created on the next replay of both sides.
//! * **Speed**: every word of the scripts that could name a program becomes a stub
//!   *function* (`apt-get() { __oracle_stub apt-get "$@"; }`), which costs no fork;
//!   names bash only meets at run time go through the handler. Replays are cached by what
//!   they run, stages whose plan did not change are not replayed (they cannot differ),
//!   and a failure scenario reuses the nominal replay of a side that never calls the
//!   program.
//! * **Order**: a stub reads a piped standard input to its end before it records, so the
//!   writer of a pipeline always records first; each RUN runs as a process group and the
//!   driver waits for the whole group, so a background job records inside its own RUN.
//! * **Limits**: a wall-clock limit per sandbox run (10 s) and a size cap on the trace and
//!   on every file a replay writes (2 MiB); loops that spin because a program fails hit
//!   the cap within a second. A cut trace is compared on what both sides reached.
//!
//! # What it cannot see
//!
//! Stubs print nothing and create nothing, so `$(dpkg --print-architecture)` is empty and
//! files a program would have written are missing (both sides alike): only files the
//! shells write are compared, and a leaked `cd` or `umask` reaches a program's files only
//! through the folder and umask its call records. File owners are not compared (every
//! RUN is root in the sandbox), nor files a stage inherits (each stage replays on a fresh
//! root). Exact mode fails every call of a program, never one alone. Bodies of `sh -c`,
//! `bash -c`, `xargs`, `find -exec` are arguments of a stub, not replayed. USER does not
//! change HOME, `$RANDOM` and `$$` are not fixed, bash stands in for dash and busybox
//! (`echo` escapes differ), and a cache mount is modelled only in [`compare::cache`] (the
//! cleanups it makes pointless).
//!
//! ```no_run
//! use dockopt_trace::{Config, Mode, Oracle};
//! let oracle = Oracle::new(Config::default()).expect("install bubblewrap");
//! let verdict = oracle.compare(
//!     "Dockerfile",
//!     "FROM debian\nRUN echo one # first\nRUN touch /two\n",
//!     "FROM debian\nRUN echo one # first && \\\n    touch /two\n",
//!     Mode::Exact,
//! );
//! assert!(verdict.is_difference());
//! println!("{verdict}");
//! ```
//!
//! `cargo run -p dockopt-trace --example replay -- FILE` prints what the oracle sees of a
//! file; `--example replay -- A B [exact|additive|report]` compares two files;
//! `--example compare_dirs` compares two folders (see its header). `DOCKOPT_TRACE_KEEP=1`
//! keeps each replay's folder (root, scripts, logs) under `/dev/shm` for debugging.

pub mod compare;
pub mod expand;
mod oracle;
pub mod plan;
pub mod sandbox;
pub mod script;
mod tally;
pub mod trace;

pub use compare::{Change, Mismatch, Report};
pub use oracle::{
    Config, Difference, Judgement, Mode, Oracle, Scenario, Stats, Verdict, parallel_map,
};
pub use sandbox::{INSTALL_BWRAP, Limits, Replay, SandboxError, Setup};
pub use script::Fail;
pub use tally::Tally;
pub use trace::{Call, Event, FileKind, FileState, Outcome, StageTrace};
