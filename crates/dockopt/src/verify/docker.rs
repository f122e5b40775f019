//! The Docker CLI calls verify makes: info, build, image inspect, create/export/rm, run, rmi.
//!
//! Every call goes through the `docker` client with `DOCKER_BUILDKIT=1`. The client is
//! `$DOCKOPT_DOCKER` when set, else `/usr/bin/docker` when it exists, else `docker` on PATH.
//! Long calls are polled, so the progress line keeps ticking and Ctrl-C (or a timeout)
//! stops the child instead of leaving it running.

use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::fsdiff::{Listing, TarVisitor, listing_with};
use super::progress::Progress;

const POLL: Duration = Duration::from_millis(100);
/// Build log lines kept for the report when a build fails.
const LOG_TAIL_LINES: usize = 30;

#[derive(Clone, Debug)]
pub struct Docker {
    bin: PathBuf,
}

/// A finished (or stopped) child.
#[derive(Debug)]
pub struct Finished {
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub seconds: f64,
    pub timed_out: bool,
    pub interrupted: bool,
}

impl Finished {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// One `docker build`.
#[derive(Clone, Debug)]
pub struct BuildRun {
    pub ok: bool,
    pub seconds: f64,
    /// The last lines of the build log (BuildKit's plain progress).
    pub log_tail: String,
    pub interrupted: bool,
}

/// One `docker run` of a smoke check.
#[derive(Clone, Debug)]
pub struct SmokeRun {
    pub exit_code: Option<i32>,
    /// stdout then stderr.
    pub output: String,
    pub timed_out: bool,
    pub interrupted: bool,
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn spawn_reader<R: Read + Send + 'static>(
    stream: Option<R>,
    last_line: Option<Arc<Mutex<String>>>,
) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let Some(stream) = stream else { return all };
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            if let Some(last) = &last_line {
                let text = String::from_utf8_lossy(&line);
                if !text.trim().is_empty()
                    && let Ok(mut l) = last.lock()
                {
                    *l = text.trim_end().to_string();
                }
            }
            all.append(&mut line);
        }
        all
    })
}

impl Docker {
    pub fn new() -> Self {
        let bin = std::env::var_os("DOCKOPT_DOCKER").map_or_else(
            || {
                let debian = Path::new("/usr/bin/docker");
                if debian.exists() {
                    debian.to_path_buf()
                } else {
                    PathBuf::from("docker")
                }
            },
            PathBuf::from,
        );
        Self { bin }
    }

    pub fn bin(&self) -> &Path {
        &self.bin
    }

    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env("DOCKER_BUILDKIT", "1")
            .stdin(Stdio::null());
        c
    }

    /// Runs a short call to completion: stdout on success, a message on failure.
    fn quick<I, S>(&self, args: I) -> Result<String, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self
            .command(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(tail(String::from_utf8_lossy(&out.stderr).trim(), 10))
        }
    }

    /// The engine's version, or why no engine answers.
    pub fn server_version(&self) -> Result<String, String> {
        self.quick(["info", "--format", "{{.ServerVersion}}"])
            .map(|v| v.trim().to_string())
    }

    /// Spawns `command` and polls it: ticks `progress` with its last stderr line, stops it
    /// on Ctrl-C or after `timeout`.
    fn watch(
        &self,
        mut command: Command,
        progress: &mut Progress,
        timeout: Option<Duration>,
        on_stop: &dyn Fn(),
    ) -> Result<Finished, String> {
        let started = Instant::now();
        let mut child: Child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        let last = Arc::new(Mutex::new(String::new()));
        let out = spawn_reader(child.stdout.take(), None);
        let err = spawn_reader(child.stderr.take(), Some(Arc::clone(&last)));
        let (mut timed_out, mut interrupted) = (false, false);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) => {}
                Err(_) => break None,
            }
            let over = timeout.is_some_and(|t| started.elapsed() > t);
            if over || super::interrupted() {
                timed_out = over;
                interrupted = !over;
                on_stop();
                let _ = child.kill();
                break child.wait().ok();
            }
            let detail = last.lock().map(|l| l.clone()).unwrap_or_default();
            progress.tick(&detail);
            std::thread::sleep(POLL);
        };
        let seconds = started.elapsed().as_secs_f64();
        let stdout = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
        let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
        Ok(Finished {
            status,
            stdout,
            stderr,
            seconds,
            timed_out,
            interrupted,
        })
    }

    /// `docker build --network=host --progress=plain [--no-cache] -f FILE -t TAG CONTEXT`,
    /// timed by the wall clock.
    pub fn build(
        &self,
        dockerfile: &Path,
        tag: &str,
        context: &Path,
        no_cache: bool,
        progress: &mut Progress,
    ) -> BuildRun {
        let mut args: Vec<std::ffi::OsString> = vec![
            "build".into(),
            "--network=host".into(),
            "--progress=plain".into(),
        ];
        if no_cache {
            args.push("--no-cache".into());
        }
        args.extend([
            "-f".into(),
            dockerfile.into(),
            "-t".into(),
            tag.into(),
            context.into(),
        ]);
        match self.watch(self.command(args), progress, None, &|| {}) {
            Ok(f) => BuildRun {
                ok: f.ok(),
                seconds: f.seconds,
                log_tail: tail(&format!("{}{}", f.stdout, f.stderr), LOG_TAIL_LINES),
                interrupted: f.interrupted,
            },
            Err(message) => BuildRun {
                ok: false,
                seconds: 0.0,
                log_tail: message,
                interrupted: false,
            },
        }
    }

    /// `docker image inspect TAG` (JSON).
    pub fn inspect(&self, tag: &str) -> Result<String, String> {
        self.quick(["image", "inspect", tag])
    }

    /// `docker create` a container (never started) from `tag`; returns its id.
    pub fn create(&self, tag: &str) -> Result<String, String> {
        // A command, so images without CMD or ENTRYPOINT can be created too.
        self.quick([
            "create",
            "--network=none",
            tag,
            "/dockopt-verify-never-runs",
        ])
        .map(|id| id.trim().to_string())
    }

    /// `docker export` of a container, read as it streams into a listing; `visitor` sees
    /// every entry on the way (the probes' view of the files).
    pub fn export_listing(
        &self,
        container: &str,
        progress: &mut Progress,
        visitor: &mut dyn TarVisitor,
    ) -> Result<Listing, String> {
        let mut child = self
            .command(["export", container])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        let err = spawn_reader(child.stderr.take(), None);
        let stdout = child.stdout.take().ok_or("docker export: no output")?;
        let mut counting = Counting {
            inner: stdout,
            bytes: 0,
            progress,
        };
        let result = listing_with(&mut counting, visitor);
        if result.is_err() {
            let _ = child.kill();
        } else {
            // The tar reader stops at the end-of-archive blocks, but docker export may still
            // be writing the record's padding: closing the pipe now would kill it with
            // SIGPIPE, a failure with nothing on stderr. Read the stream to its end.
            let _ = std::io::copy(&mut counting, &mut std::io::sink());
        }
        drop(counting);
        let status = child.wait().map_err(|e| e.to_string())?;
        let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
        if super::interrupted() {
            return Err("interrupted".into());
        }
        // A listing error kills docker export; report that error, not the kill.
        let listing = result.map_err(|e| format!("reading docker export: {e}"))?;
        if !status.success() {
            return Err(format!("docker export failed: {}", tail(stderr.trim(), 10)));
        }
        Ok(listing)
    }

    /// The content of one regular file of an image (at most `limit` bytes): `docker create`,
    /// `docker cp ID:PATH -` (a tar of the file), `docker rm`. `path` should be a real path
    /// (no symlink in it): `docker cp` does not follow a final symlink.
    pub fn read_file(&self, tag: &str, path: &str, limit: u64) -> Result<Vec<u8>, String> {
        let id = self.create(tag)?;
        let result = (|| {
            let out = self
                .command(["cp", &format!("{id}:{path}"), "-"])
                .output()
                .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "docker cp {path}: {}",
                    tail(String::from_utf8_lossy(&out.stderr).trim(), 5)
                ));
            }
            let mut archive = tar::Archive::new(out.stdout.as_slice());
            let mut entries = archive.entries().map_err(|e| e.to_string())?;
            let mut entry = entries
                .next()
                .ok_or_else(|| format!("docker cp {path}: an empty archive"))?
                .map_err(|e| e.to_string())?;
            if !entry.header().entry_type().is_file() {
                return Err(format!("{path} is not a regular file"));
            }
            let mut bytes = Vec::new();
            (&mut entry)
                .take(limit)
                .read_to_end(&mut bytes)
                .map_err(|e| e.to_string())?;
            Ok(bytes)
        })();
        self.remove_containers(&[id]);
        result
    }

    /// `docker rm -f -v ID...` (with the anonymous volumes of VOLUME lines), errors ignored.
    pub fn remove_containers(&self, ids: &[String]) {
        if !ids.is_empty() {
            let _ = self
                .command(
                    ["rm", "-f", "-v"]
                        .into_iter()
                        .map(String::from)
                        .chain(ids.iter().cloned()),
                )
                .output();
        }
    }

    /// `docker rmi TAG...`; returns an error message when some could not be removed.
    pub fn remove_images(&self, tags: &[String]) -> Result<(), String> {
        if tags.is_empty() {
            return Ok(());
        }
        self.quick(
            ["rmi"]
                .into_iter()
                .map(String::from)
                .chain(tags.iter().cloned()),
        )
        .map(|_| ())
    }

    /// `docker run --rm --network=none --name NAME TAG ARGV...`, stopped after `timeout`.
    pub fn run(
        &self,
        tag: &str,
        argv: &[String],
        name: &str,
        timeout: Duration,
        progress: &mut Progress,
    ) -> SmokeRun {
        let args: Vec<String> = ["run", "--rm", "--network=none", "--name", name, tag]
            .into_iter()
            .map(String::from)
            .chain(argv.iter().cloned())
            .collect();
        let stop = || {
            let _ = self.command(["rm", "-f", name]).output();
        };
        match self.watch(self.command(args), progress, Some(timeout), &stop) {
            Ok(f) => SmokeRun {
                exit_code: f.status.and_then(|s| s.code()),
                output: format!("{}{}", f.stdout, f.stderr),
                timed_out: f.timed_out,
                interrupted: f.interrupted,
            },
            Err(message) => SmokeRun {
                exit_code: None,
                output: message,
                timed_out: false,
                interrupted: false,
            },
        }
    }
}

/// Counts bytes read and ticks the progress line with them.
struct Counting<'a, R> {
    inner: R,
    bytes: u64,
    progress: &'a mut Progress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if super::interrupted() {
            // Not ErrorKind::Interrupted: readers retry on that.
            return Err(std::io::Error::other("interrupted"));
        }
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        self.progress
            .tick(&format!("{:.0} MB read", self.bytes as f64 / 1e6));
        Ok(n)
    }
}
