//! Running one stage in a bubblewrap sandbox and reading back what it did.
//!
//! # The sandbox
//!
//! One `bwrap` per stage replay: every namespace unshared (no network), `--die-with-parent`,
//! a new session, an empty environment, uid 0 as in a build, and all capabilities dropped.
//! The root is a fresh folder prepared on the host for this replay (on `/dev/shm`, a tmpfs,
//! when it is writable) with a skeleton of the folders a Debian or Alpine image has, the
//! stage's WORKDIRs, and what earlier replays discovered; inside it, `/oracle` holds bash
//! and its libraries (read-only, run through the dynamic loader so that no other path
//! holds an executable), the scripts of this replay (read-only) and the output folder.
//! PATH inside points at empty folders, so every program is a stub (see [`crate::script`]).
//!
//! Files a RUN writes stay for the later RUNs of the same replay; each replay starts from a
//! fresh root. Every file the replay writes is capped (`ulimit -f`) at the trace size cap,
//! and the host kills the sandbox at the wall-clock limit.
//!
//! # Discovery
//!
//! Stubbed `mkdir` and `tar` create nothing, so `cd /usr/src/x` and `./configure` would
//! end most chains early, and programs named by path fail with 127 without reaching the
//! command-not-found handler. After each replay the host reads bash's messages (`cd: X:
//! No such file or directory`, `X: No such file or directory`) and the `cd`/`pushd` probe
//! log, and returns what was missing: folders to create, paths where a stub file belongs.
//! The caller replays both sides again with the union of what both sides missed, so the
//! original and the fixed file always run on the same prepared root (see [`Setup`]).
//!
//! A missing path whose folder does not exist either is first given only its folder: bash
//! says the same "No such file or directory" for `/opt/x/bin/tool` (a program named by
//! path) and for `echo x > /opt/x/conf` (a redirection into a folder a stubbed `mkdir`
//! was to create). With the folder there, the redirection succeeds and writes a file with
//! the RUN's umask, as in a build; a program still missing gets its stub on the next round.
//!
//! # Files
//!
//! The host lists the root before and after the replay (the oracle's own mounts left out)
//! and reports every path the replay created, changed or removed, with its type, mode,
//! size and a content hash ([`FileState`]): what redirections wrote, where, with which
//! umask. Folders and stubs the oracle placed count only when the replay changed them.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash as _, Hasher as _};
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::expand::{clean_path, join_path};
use crate::plan::{Action, StagePlan};
use crate::script::{self, Fail};
use crate::trace::{Event, FileKind, FileState, Outcome, StageTrace, parse_log};

/// Limits of one replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock limit of one sandbox run (a stage, one scenario).
    pub timeout: Duration,
    /// Cap on the trace (and on any file the replay writes), in bytes.
    pub trace_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            trace_bytes: 2 << 20,
        }
    }
}

/// What a replay's root holds besides the skeleton. Both sides of a comparison always run
/// with the same setup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Setup {
    /// Programs defined as stub functions (no fork per call).
    pub functions: BTreeSet<String>,
    /// Absolute paths that hold a stub file.
    pub stubs: BTreeSet<String>,
    /// Folders created beforehand.
    pub dirs: BTreeSet<String>,
}

impl Setup {
    /// Adds `other`; true when something was new.
    pub fn absorb(&mut self, other: &Setup) -> bool {
        let before = self.len();
        self.functions.extend(other.functions.iter().cloned());
        self.stubs.extend(other.stubs.iter().cloned());
        self.dirs.extend(other.dirs.iter().cloned());
        self.len() != before
    }

    fn len(&self) -> usize {
        self.functions.len() + self.stubs.len() + self.dirs.len()
    }

    /// Whether `other` adds nothing to `self`.
    pub fn covers(&self, other: &Setup) -> bool {
        other.functions.is_subset(&self.functions)
            && other.stubs.is_subset(&self.stubs)
            && other.dirs.is_subset(&self.dirs)
    }
}

/// The folders every replay root has: what redirections such as
/// `> /etc/apt/sources.list.d/x.list` expect to exist in a Debian or Alpine image.
const SKELETON: &[&str] = &[
    "/tmp",
    "/var/tmp",
    "/root",
    "/home",
    "/etc/apt/sources.list.d",
    "/etc/apt/apt.conf.d",
    "/etc/apt/preferences.d",
    "/etc/apt/keyrings",
    "/etc/apk/keys",
    "/etc/ssl/certs",
    "/etc/profile.d",
    "/etc/ld.so.conf.d",
    "/etc/default",
    "/etc/security",
    "/etc/init.d",
    "/etc/sudoers.d",
    "/etc/pip",
    "/usr/local/bin",
    "/usr/local/sbin",
    "/usr/local/lib",
    "/usr/local/include",
    "/usr/local/share/ca-certificates",
    "/usr/local/etc",
    "/usr/local/src",
    "/usr/src",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/include",
    "/usr/share/keyrings",
    "/usr/share/man/man1",
    "/usr/share/doc",
    "/bin",
    "/sbin",
    "/lib",
    "/var/lib/apt/lists/partial",
    "/var/cache/apt/archives/partial",
    "/var/cache/apk",
    "/var/cache/debconf",
    "/var/lib/dpkg",
    "/var/log",
    "/var/run",
    "/var/www",
    "/run",
    "/opt",
    "/srv",
    "/mnt",
    "/media",
];

/// Folders where no stub file or folder may be placed, and which the list of files a
/// replay wrote leaves out (the oracle's mounts).
const RESERVED: &[&str] = &["/oracle", "/proc", "/dev", "/sys"];

/// Paths listed in a root at most (a loop writing files until the time limit is cut).
const MAX_LISTED: usize = 20_000;

/// Why the sandbox cannot run here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxError(pub String);

impl std::fmt::Display for SandboxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SandboxError {}

/// The message every test prints when bubblewrap is missing.
pub const INSTALL_BWRAP: &str = "install bubblewrap (apt-get install bubblewrap)";

/// The tools on the host: bwrap, bash, bash's libraries and loader.
#[derive(Debug)]
pub struct Sandbox {
    bwrap: PathBuf,
    bash: PathBuf,
    /// Host path and in-sandbox file name of each library.
    libs: Vec<(PathBuf, String)>,
    /// The loader's file name under [`script::LIB_DIR`].
    loader: String,
    scratch: PathBuf,
    root_user: bool,
    limits: Limits,
}

/// Numbers the replays of this process: scratch folders are named by pid and number, and
/// several sandboxes (oracles) may run at once.
static REPLAYS: AtomicU64 = AtomicU64::new(0);

/// One replay's result: the trace and what the replay found missing.
#[derive(Clone, Debug)]
pub struct Replay {
    pub trace: StageTrace,
    pub missing: Setup,
    /// The end of the standard error of the last RUN that ran (for people; never compared).
    pub stderr: String,
}

impl Sandbox {
    /// Finds bwrap, bash and bash's libraries, and checks that a sandbox starts.
    pub fn new(limits: Limits) -> Result<Self, SandboxError> {
        let bwrap = find_program("bwrap")
            .ok_or_else(|| SandboxError(format!("bwrap not found: {INSTALL_BWRAP}")))?;
        let bash = find_program("bash").ok_or_else(|| SandboxError("bash not found".into()))?;
        let (libs, loader) = libraries(&bash)?;
        let shm = Path::new("/dev/shm");
        let scratch = if is_writable_dir(shm) {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let sandbox = Self {
            bwrap,
            bash,
            libs,
            loader,
            scratch,
            root_user: is_root(),
            limits,
        };
        sandbox.self_test()?;
        Ok(sandbox)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn self_test(&self) -> Result<(), SandboxError> {
        let plan = StagePlan {
            index: 0,
            name: None,
            base: "self-test".into(),
            line: 1,
            steps: vec![crate::plan::Step {
                action: Action::Shell {
                    argv: vec!["/bin/sh".into(), "-c".into()],
                    posix: true,
                    text: "echo ok; oracle-self-test".into(),
                },
                env: Vec::new(),
                workdir: "/".into(),
                cache_mounts: Vec::new(),
            }],
            step_lines: vec![1],
            skip: None,
            non_posix: false,
            source: String::new(),
        };
        let replay = self.run(&plan, &Setup::default(), None);
        let ok = replay.trace.outcome == Outcome::Ok
            && replay.trace.events.first() == Some(&Event::Output("ok\n".into()))
            && replay.trace.calls().count() == 1
            && replay.trace.files.is_empty();
        if ok {
            Ok(())
        } else {
            Err(SandboxError(format!(
                "the sandbox does not work here ({}): {:?}",
                self.bwrap.display(),
                replay.trace.outcome
            )))
        }
    }

    /// Replays `stage` with `setup`, making the calls `fail` names fail.
    pub fn run(&self, stage: &StagePlan, setup: &Setup, fail: Option<&Fail>) -> Replay {
        let n = REPLAYS.fetch_add(1, Ordering::Relaxed);
        let dir = self
            .scratch
            .join(format!("dockopt-trace-{}-{n}", std::process::id()));
        let result = self.run_in(&dir, stage, setup, fail);
        // DOCKOPT_TRACE_KEEP=1 keeps each replay's folder (root, scripts, logs) to debug.
        if std::env::var_os("DOCKOPT_TRACE_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        result.unwrap_or_else(|e| Replay {
            trace: StageTrace {
                events: Vec::new(),
                outcome: Outcome::Error(e),
                steps: Vec::new(),
                cache_mounts: Vec::new(),
                interleaved: false,
                files: Vec::new(),
            },
            missing: Setup::default(),
            stderr: String::new(),
        })
    }

    fn run_in(
        &self,
        dir: &Path,
        stage: &StagePlan,
        setup: &Setup,
        fail: Option<&Fail>,
    ) -> Result<Replay, String> {
        let err = |e: std::io::Error| format!("{}: {e}", dir.display());
        let _ = std::fs::remove_dir_all(dir);
        let root = dir.join("root");
        let run = dir.join("run");
        let out = dir.join("out");
        for d in [&root, &run, &out] {
            std::fs::create_dir_all(d).map_err(err)?;
        }
        Self::prepare_root(&root, stage, setup).map_err(err)?;
        let before = list_root(&root, None, self.limits.trace_bytes);
        let functions: Vec<String> = setup.functions.iter().cloned().collect();
        let loader = format!("{}/{}", script::LIB_DIR, self.loader);
        let files = [
            ("stub.bash", script::stub_library(fail)),
            ("prelude-sh.bash", script::prelude(&functions, true)),
            ("prelude-bash.bash", script::prelude(&functions, false)),
            (
                "driver.bash",
                script::driver(
                    &stage.steps,
                    &loader,
                    self.limits.trace_bytes.div_ceil(1024),
                ),
            ),
        ];
        for (name, text) in files {
            std::fs::write(run.join(name), text).map_err(err)?;
        }
        let mut cmd = Command::new(&self.bwrap);
        cmd.args(["--unshare-all", "--unshare-user", "--die-with-parent"])
            .args(["--new-session", "--clearenv", "--uid", "0", "--gid", "0"])
            .args(["--hostname", "oracle"]);
        if self.root_user {
            cmd.args(["--cap-drop", "ALL"]);
        }
        cmd.arg("--bind").arg(&root).arg("/");
        cmd.args(["--dev", "/dev", "--proc", "/proc"]);
        cmd.arg("--ro-bind").arg(&self.bash).arg(script::BASH_PATH);
        for (host, name) in &self.libs {
            cmd.arg("--ro-bind")
                .arg(host)
                .arg(format!("{}/{name}", script::LIB_DIR));
        }
        cmd.arg("--ro-bind").arg(&run).arg(script::RUN_DIR);
        cmd.arg("--bind").arg(&out).arg("/oracle/out");
        cmd.args(["--chdir", "/"]);
        cmd.args([
            loader.as_str(),
            "--library-path",
            script::LIB_DIR,
            script::BASH_PATH,
            "/oracle/run/driver.bash",
        ]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|e| format!("bwrap: {e}"))?;
        let mut stderr = child.stderr.take();
        let trace_path = out.join("trace");
        let mut pause = Duration::from_millis(1);
        let (status, cut) = loop {
            match child.try_wait() {
                Ok(Some(status)) => break (Some(status), None),
                Ok(None) => {}
                Err(e) => return Err(format!("waiting for bwrap: {e}")),
            }
            if started.elapsed() > self.limits.timeout {
                let _ = child.kill();
                let _ = child.wait();
                break (None, Some("timeout"));
            }
            let size = std::fs::metadata(&trace_path).map_or(0, |m| m.len());
            if size >= self.limits.trace_bytes {
                let _ = child.kill();
                let _ = child.wait();
                break (None, Some("overflow"));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        };
        let mut bwrap_err = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(64 << 10).read_to_string(&mut bwrap_err);
        }
        let bytes = std::fs::read(&trace_path).unwrap_or_default();
        let log = parse_log(&bytes);
        let overflow = cut == Some("overflow")
            || log.truncated
            || bytes.len() as u64 >= self.limits.trace_bytes;
        let outcome = if cut == Some("timeout") {
            Outcome::Timeout {
                step: log.current_step(),
            }
        } else if overflow {
            Outcome::Overflow {
                step: log.current_step(),
            }
        } else if let Some(&(step, status)) = log.marks.iter().find(|(_, s)| *s != Some(0)) {
            match status {
                Some(status) => Outcome::Fails { step, status },
                None => Outcome::Error(format!(
                    "the driver died in RUN #{}: {}",
                    step + 1,
                    read_small(&out.join("driver.err"))
                )),
            }
        } else if log.marks.len() == stage.steps.len() {
            Outcome::Ok
        } else {
            Outcome::Error(format!(
                "bwrap exited with {:?} after {} of {} RUNs: {} {}",
                status.and_then(|s| s.code()),
                log.marks.len(),
                stage.steps.len(),
                bwrap_err.trim(),
                read_small(&out.join("driver.err"))
            ))
        };
        let after = list_root(&root, Some(&before), self.limits.trace_bytes);
        let files = changed_files(&before, &after);
        let missing = discover(&root, &out, stage, &log.events);
        let stderr = log.current_step().map_or_else(String::new, |i| {
            let all = read_small_lossy(&out.join(format!("err.{i}")));
            let tail: Vec<&str> = all.lines().rev().take(8).collect();
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        });
        Ok(Replay {
            trace: StageTrace {
                events: log.events,
                outcome,
                steps: log.steps,
                cache_mounts: stage.steps.iter().map(|s| s.cache_mounts.clone()).collect(),
                interleaved: log.interleaved,
                files,
            },
            missing,
            stderr,
        })
    }

    fn prepare_root(root: &Path, stage: &StagePlan, setup: &Setup) -> std::io::Result<()> {
        let host = |p: &str| root.join(p.trim_start_matches('/'));
        for d in SKELETON {
            std::fs::create_dir_all(host(d))?;
        }
        std::fs::set_permissions(host("/tmp"), std::fs::Permissions::from_mode(0o1777))?;
        for step in &stage.steps {
            if is_free(&step.workdir) {
                let _ = std::fs::create_dir_all(host(&step.workdir));
            }
        }
        for d in &setup.dirs {
            if is_free(d) {
                // A stub file may sit where a folder is wanted: then the folder loses.
                let _ = std::fs::create_dir_all(host(d));
            }
        }
        let stub = script::stub_file();
        for p in &setup.stubs {
            let path = host(p);
            if !is_free(p) || path.exists() {
                continue;
            }
            if let Some(parent) = path.parent()
                && std::fs::create_dir_all(parent).is_err()
            {
                continue;
            }
            if std::fs::write(&path, &stub).is_ok() {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
            }
        }
        Ok(())
    }
}

/// Whether the oracle may create `path` in a replay root.
fn is_free(path: &str) -> bool {
    path.starts_with('/')
        && path != "/"
        && !RESERVED
            .iter()
            .any(|r| path == *r || path.starts_with(&format!("{r}/")))
}

fn read_small(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(4096).read_to_string(&mut s);
    }
    s.trim().to_owned()
}

/// What a replay found missing: programs to define as functions, stub files, folders.
/// `root` is the replay's root on the host, as the replay left it.
fn discover(root: &Path, out: &Path, stage: &StagePlan, events: &[Event]) -> Setup {
    let mut found = Setup::default();
    let mut cwds: Vec<String> = Vec::new();
    let note_cwd = |cwd: &str, cwds: &mut Vec<String>| {
        if cwd.starts_with('/') && !cwds.iter().any(|c| c == cwd) {
            cwds.push(cwd.to_owned());
        }
    };
    for event in events {
        if let Event::Call(call) = event {
            let argv0 = call.argv.first().map_or("", String::as_str);
            if !argv0.contains('/') && script::is_function_name(argv0) {
                found.functions.insert(argv0.to_owned());
            }
            note_cwd(&call.cwd, &mut cwds);
        }
    }
    for step in &stage.steps {
        note_cwd(&step.workdir, &mut cwds);
    }
    // The cd/pushd probes know the folder they were in and the one they enter: that one
    // is created (most are made by a stubbed mkdir or tar) and is a folder the replay
    // worked in.
    if let Ok(bytes) = std::fs::read(out.join("probe")) {
        let fields: Vec<String> = bytes
            .split(|&b| b == 0)
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        for pair in fields.chunks_exact(2) {
            if pair[0].starts_with('/') {
                let target = join_path(&pair[0], &pair[1]);
                insert_path(&mut found.dirs, &target);
                note_cwd(&target, &mut cwds);
            }
        }
    }
    let mut relative_dirs = Vec::new();
    let mut relative_files = Vec::new();
    for i in 0..stage.steps.len() {
        let text = read_small_lossy(&out.join(format!("err.{i}")));
        for line in text.lines() {
            let Some((builtin, path)) = missing_path(line) else {
                continue;
            };
            let dir = matches!(builtin, Some("cd" | "pushd"));
            match (path.starts_with('/'), dir) {
                (true, true) => insert_path(&mut found.dirs, path),
                (true, false) => insert_stub(root, &mut found, path),
                (false, true) => relative_dirs.push(path.to_owned()),
                (false, false) => relative_files.push(path.to_owned()),
            }
        }
    }
    // A relative path is resolved against every folder the replay worked in (bash does
    // not say which one it was in): a few extra stubs cost nothing, both sides get them.
    cwds.truncate(16);
    for cwd in &cwds {
        for d in &relative_dirs {
            insert_path(&mut found.dirs, &join_path(cwd, d));
        }
        for f in &relative_files {
            insert_stub(root, &mut found, &join_path(cwd, f));
        }
    }
    found
}

/// A stub file at `path`, or first its folder when that is missing too (see the module
/// documentation: a redirection into it then succeeds, a program gets its stub next round).
fn insert_stub(root: &Path, found: &mut Setup, path: &str) {
    let clean = clean_path(path);
    let parent = match clean.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((parent, _)) => parent,
    };
    if parent != "/" && !root.join(parent.trim_start_matches('/')).is_dir() {
        insert_path(&mut found.dirs, parent);
    } else {
        insert_path(&mut found.stubs, path);
    }
}

/// What the root held at one time: each path (in the sandbox) with its state and its
/// modification time (to tell a file that was not touched without reading it).
type Listing = BTreeMap<String, (FileState, i64, i64)>;

/// Lists `root` (the oracle's mounts left out). Files whose type, mode, size and mtime are
/// as in `before` keep `before`'s hash; others are read (at most `cap` bytes).
fn list_root(root: &Path, before: Option<&Listing>, cap: u64) -> Listing {
    let mut out = Listing::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, inside)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if out.len() >= MAX_LISTED {
                return out;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{inside}/{name}");
            if RESERVED.contains(&path.as_str()) {
                continue;
            }
            let host = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&host) else {
                continue;
            };
            let kind = if meta.is_dir() {
                FileKind::Dir
            } else if meta.file_type().is_symlink() {
                FileKind::Symlink
            } else if meta.is_file() {
                FileKind::File
            } else {
                FileKind::Other
            };
            let mode = meta.mode() & 0o7777;
            let (size, mtime) = match kind {
                FileKind::Dir => (0, (0, 0)),
                _ => (meta.len(), (meta.mtime(), meta.mtime_nsec())),
            };
            let unchanged = before.and_then(|b| b.get(&path)).filter(|(s, sec, nsec)| {
                s.kind == kind && s.mode == mode && s.size == size && (*sec, *nsec) == mtime
            });
            let hash = match (unchanged, kind) {
                (Some((s, _, _)), _) => s.hash,
                (None, FileKind::File) => hash_file(&host, cap),
                (None, FileKind::Symlink) => std::fs::read_link(&host)
                    .map(|t| hash_bytes(t.as_os_str().as_encoded_bytes()))
                    .unwrap_or_default(),
                (None, _) => 0,
            };
            if kind == FileKind::Dir {
                stack.push((host, path.clone()));
            }
            let state = FileState {
                path: path.clone(),
                kind,
                mode,
                size,
                hash,
            };
            out.insert(path, (state, mtime.0, mtime.1));
        }
    }
    out
}

/// The paths the replay created, changed (type, mode, size or content) or removed.
fn changed_files(before: &Listing, after: &Listing) -> Vec<FileState> {
    let mut files: Vec<FileState> = after
        .values()
        .filter(|(state, _, _)| before.get(&state.path).is_none_or(|(b, _, _)| b != state))
        .map(|(state, _, _)| state.clone())
        .collect();
    files.extend(
        before
            .keys()
            .filter(|p| !after.contains_key(*p))
            .map(|p| FileState {
                path: p.clone(),
                kind: FileKind::Removed,
                mode: 0,
                size: 0,
                hash: 0,
            }),
    );
    files.sort();
    files
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

fn hash_file(path: &Path, cap: u64) -> u64 {
    let mut bytes = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(cap + 1).read_to_end(&mut bytes);
    }
    hash_bytes(&bytes)
}

fn insert_path(set: &mut BTreeSet<String>, path: &str) {
    let clean = clean_path(path);
    if is_free(&clean) && !path.ends_with('/') && clean.len() < 512 {
        set.insert(clean);
    }
}

fn read_small_lossy(path: &Path) -> String {
    let mut bytes = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(1 << 20).read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Reads bash's `NAME: line N: [BUILTIN: ]PATH: No such file or directory`: the builtin
/// (`cd`, `pushd`, ...) if any, and the path (which holds a `/` or is a cd target).
pub fn missing_path(line: &str) -> Option<(Option<&str>, &str)> {
    let rest = line.strip_suffix(": No such file or directory")?;
    let at = rest.find(": line ")?;
    let rest = &rest[at + ": line ".len()..];
    let (digits, rest) = rest.split_once(": ")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    for builtin in ["cd", "pushd"] {
        if let Some(path) = rest
            .strip_prefix(builtin)
            .and_then(|r| r.strip_prefix(": "))
        {
            return (!path.is_empty()).then_some((Some(builtin), path));
        }
    }
    if rest.contains(": ") || !rest.contains('/') {
        return None;
    }
    Some((None, rest))
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn is_writable_dir(dir: &Path) -> bool {
    let probe = dir.join(format!(".dockopt-trace-probe-{}", std::process::id()));
    let ok = std::fs::create_dir(&probe).is_ok();
    let _ = std::fs::remove_dir(&probe);
    ok
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

/// bash's shared libraries (from `ldd`), each with its file name in the sandbox, and the
/// loader's file name.
fn libraries(bash: &Path) -> Result<(Vec<(PathBuf, String)>, String), SandboxError> {
    let out = Command::new("ldd")
        .arg(bash)
        .output()
        .map_err(|e| SandboxError(format!("ldd {}: {e}", bash.display())))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut libs = Vec::new();
    let mut loader = None;
    for line in text.lines() {
        let line = line.trim();
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line
                .split_whitespace()
                .next()
                .filter(|p| p.starts_with('/')),
        };
        let Some(path) = path.filter(|p| p.starts_with('/')) else {
            continue;
        };
        let name = Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !line.contains("=>") && name.starts_with("ld-") {
            loader = Some(name.clone());
        }
        libs.push((PathBuf::from(path), name));
    }
    let loader =
        loader.ok_or_else(|| SandboxError(format!("no dynamic loader in `ldd bash`: {text}")))?;
    Ok((libs, loader))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_messages() {
        let m = |l| missing_path(l);
        assert_eq!(
            m("/bin/sh: line 1: /usr/bin/apt-get: No such file or directory"),
            Some((None, "/usr/bin/apt-get"))
        );
        assert_eq!(
            m("/bin/sh: line 3: cd: /usr/src/x: No such file or directory"),
            Some((Some("cd"), "/usr/src/x"))
        );
        assert_eq!(
            m("/bin/bash: line 1: cd: build: No such file or directory"),
            Some((Some("cd"), "build"))
        );
        assert_eq!(
            m("/bin/sh: line 2: ./configure: No such file or directory"),
            Some((None, "./configure"))
        );
        assert_eq!(m("/bin/sh: line 1: x: No such file or directory"), None);
        assert_eq!(m("+ echo /a: No such file or directory"), None);
        assert_eq!(
            m("/bin/sh: line 1: source: /a: No such file or directory"),
            None
        );
    }

    #[test]
    fn reserved_paths() {
        assert!(is_free("/usr/bin/x"));
        assert!(!is_free("/oracle/out/x"));
        assert!(!is_free("/proc"));
        assert!(!is_free("relative"));
        assert!(!is_free("/"));
    }
}
