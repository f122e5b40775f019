//! What an application needs at run time, read from two images and compared: the
//! packages its interpreter imports (Python, by running it; Ruby gems, by running ruby),
//! the production dependencies under its node_modules (from the exported files), and the
//! shared libraries of every ELF file of the application and its dependency folders
//! (DT_NEEDED followed through the image's library paths, so images without a shell work).
//!
//! [`compare_images`] returns the differences no rewrite should make ([`Finding`]s, each
//! naming its culprit), the dependency folders it compared as packages (so the file
//! comparison can skip them) and notes on what it could not check.
//!
//! Per image: one `docker export` (read as it streams: paths, link targets, ELF headers,
//! `#!` lines, ld.so.conf and package.json texts; no content kept), then the command
//! (Entrypoint + Cmd) resolved to its runtime, then at most two short `docker run
//! --network=none --entrypoint INTERPRETER` calls. The two images are read in parallel.

mod command;
mod elf;
mod fs;
mod libs;
mod node;
mod python;
mod ruby;

#[cfg(test)]
mod engine_tests;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::docker::Docker;
use super::inspect::ImageFacts;
use command::{CommandInfo, Resolver, Runtime};
use elf::ElfInfo;
use fs::absolute;
pub use fs::{ImageFs, ImageFsReader};
use libs::{Closure, Search};
use node::NodeApp;
use python::PythonEnv;
use ruby::RubyEnv;

/// Application ELF files checked at most per image.
const MAX_APP_ELFS: usize = 5_000;
/// Library findings reported at most (the rest are counted in a note).
const MAX_LIBRARY_FINDINGS: usize = 200;
/// One `docker run` of a probe script stops after this long.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// One image to probe: its tag (to run its interpreters), config and files (read in the
/// same pass as verify's listing, see [`fs_visitor`]).
#[derive(Debug)]
pub struct ProbeTarget<'a> {
    pub tag: &'a str,
    pub facts: &'a ImageFacts,
    pub fs: ImageFs,
}

/// The small files the probes read the text of: ld.so.conf, Node manifests and lock files.
fn wants(path: &str) -> Option<u64> {
    if path.starts_with("/etc/ld.so.conf") {
        Some(64 * 1024)
    } else {
        node::wants(path)
    }
}

/// [`wants`], and of pnpm's store only what may be a package.json.
pub(super) struct ProbeWants;

impl fs::Wants for ProbeWants {
    fn text_limit(&self, path: &str) -> Option<u64> {
        wants(path)
    }

    fn keeps(&self, path: &str, text: &[u8]) -> bool {
        node::keeps(path, text)
    }
}

/// What collects the probes' view of an image during verify's pass over its export
/// (`fsdiff::listing_with`); `finish()` gives the [`ProbeTarget::fs`].
pub fn fs_visitor() -> ImageFsReader<'static> {
    ImageFsReader::new(&ProbeWants)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// A package (or the interpreter itself) missing or at another version.
    Package,
    /// An ELF file that cannot load: a needed library or its loader is missing.
    Library,
}

impl FindingKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Package => "package",
            Self::Library => "library",
        }
    }
}

/// One unexpected difference, with its culprit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    /// The package name, or the ELF file's path.
    pub subject: String,
    /// The package's version in the original; for a library, where the original found it.
    pub original: Option<String>,
    /// The package's version in the new image (`None`: missing).
    pub fixed: Option<String>,
    /// For people: "needs libpq.so.5, not found in the image".
    pub detail: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeReport {
    pub findings: Vec<Finding>,
    /// Dependency folders compared as packages (in either image), absolute.
    pub covered: Vec<String>,
    /// What was not checked, and why; differences that are allowed.
    pub notes: Vec<String>,
    /// Wall-clock seconds of the whole comparison.
    pub seconds: f64,
    /// Seconds per step ("python original", "node fixed", ...), for the figures.
    pub steps: Vec<(String, f64)>,
}

/// Runs both images' interpreters and compares what the original's application needs with
/// what the fixed image gives it. Errors only when a probe panics.
pub fn compare_images(
    docker: &Docker,
    original: ProbeTarget<'_>,
    fixed: ProbeTarget<'_>,
) -> Result<ProbeReport, String> {
    let started = Instant::now();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Side::read(docker, original, "original"));
        let b = s.spawn(|| Side::read(docker, fixed, "fixed"));
        (join(a), join(b))
    });
    let (mut a, mut b) = (a?, b?);
    let mut report = ProbeReport::default();
    report.steps.append(&mut a.steps);
    report.steps.append(&mut b.steps);
    compare_sides(docker, &a, &mut b, &mut report);
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> Result<T, String> {
    handle
        .join()
        .map_err(|_| "a probe thread panicked".to_string())
}

/// The image config fields the probes use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Config {
    argv: Vec<String>,
    env: BTreeMap<String, String>,
    workdir: String,
}

impl Config {
    fn from_facts(facts: &ImageFacts) -> Self {
        let strings = |key: &str| facts.config_strings(key);
        let mut argv = strings("Entrypoint");
        argv.extend(strings("Cmd"));
        let env = strings("Env")
            .into_iter()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((&kv, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        let workdir = facts
            .config
            .get("WorkingDir")
            .and_then(Value::as_str)
            .filter(|w| !w.is_empty())
            .map_or_else(|| "/".to_string(), |w| absolute("/", w));
        Config { argv, env, workdir }
    }
}

/// How the command runs node.
#[derive(Clone, Debug, PartialEq, Eq)]
struct NodeRun {
    script: Option<String>,
}

/// Everything read from one image.
#[derive(Debug)]
struct Side {
    label: &'static str,
    tag: String,
    config: Config,
    fs: ImageFs,
    command: CommandInfo,
    python: Option<(String, Result<PythonEnv, String>)>,
    ruby: Option<Result<RubyEnv, String>>,
    node_version: Option<Result<String, String>>,
    steps: Vec<(String, f64)>,
}

impl Side {
    fn read(docker: &Docker, target: ProbeTarget<'_>, label: &'static str) -> Self {
        let config = Config::from_facts(target.facts);
        let fs = target.fs;
        let mut steps = Vec::new();
        let resolver = Resolver::new(
            &fs,
            config.env.get("PATH").map(String::as_str),
            &config.workdir,
        );
        let command = resolver.resolve(&config.argv);
        let mut side = Side {
            label,
            tag: target.tag.to_string(),
            config,
            command,
            python: None,
            ruby: None,
            node_version: None,
            steps: Vec::new(),
            fs,
        };
        for runtime in side.command.runtimes.clone() {
            let t = Instant::now();
            match &runtime {
                Runtime::Python { interpreter } if side.python.is_none() => {
                    side.python = Some((interpreter.clone(), side.run_python(docker, interpreter)));
                }
                Runtime::Ruby { program, .. } if side.ruby.is_none() => {
                    let ruby = Resolver::new(
                        &side.fs,
                        side.config.env.get("PATH").map(String::as_str),
                        &side.config.workdir,
                    )
                    .lookup("ruby")
                    .unwrap_or_else(|| program.clone());
                    side.ruby = Some(side.run_ruby(docker, &ruby));
                }
                Runtime::Node {
                    node: Some(node), ..
                } if side.node_version.is_none() => {
                    side.node_version = Some(
                        run_in(docker, &side.tag, node, &["--version"])
                            .map(|out| out.trim().trim_start_matches('v').to_string()),
                    );
                }
                _ => continue,
            }
            steps.push((
                format!("{} {label}", runtime.name()),
                t.elapsed().as_secs_f64(),
            ));
        }
        side.steps = steps;
        side
    }

    fn run_python(&self, docker: &Docker, interpreter: &str) -> Result<PythonEnv, String> {
        let out = run_in(docker, &self.tag, interpreter, &["-c", python::SCRIPT])?;
        python::parse_output(interpreter, &out)
    }

    fn run_ruby(&self, docker: &Docker, ruby: &str) -> Result<RubyEnv, String> {
        let out = run_in(docker, &self.tag, ruby, &["-e", ruby::SCRIPT])?;
        ruby::parse_output(&out)
    }

    fn search(&self) -> Search<'_> {
        Search::new(&self.fs, &self.config.env, &self.config.workdir)
    }

    /// The node runtime's script (`None` inside: node runs no script, e.g. `npm start`).
    fn node_runtime(&self) -> Option<NodeRun> {
        self.command.runtimes.iter().find_map(|r| match r {
            Runtime::Node { script, .. } => Some(NodeRun {
                script: script.clone(),
            }),
            _ => None,
        })
    }

    fn node_app(&self, script: Option<&str>) -> Option<NodeApp> {
        node::read_app(&self.fs, &self.config.workdir, script)
    }

    /// Folders whose ELF files belong to the application: the WorkingDir tree, the
    /// interpreter's sys.path (or any site-/dist-packages folder when it could not run),
    /// the node app's folder. Real paths.
    fn app_roots(&self, node_root: Option<&str>, notes: &mut Vec<String>) -> Vec<String> {
        let mut roots = Vec::new();
        if self.config.workdir == "/" {
            notes.push(format!(
                "{}: the WorkingDir is /, so its tree is not read for ELF files (only the command's files and dependency folders)",
                self.label
            ));
        } else {
            roots.push(self.config.workdir.clone());
        }
        match &self.python {
            Some((_, Ok(env))) => {
                roots.extend(env.path.iter().filter(|p| p.starts_with('/')).cloned());
            }
            _ => roots.extend(
                self.fs
                    .nodes
                    .keys()
                    .filter(|p| p.ends_with("/site-packages") || p.ends_with("/dist-packages"))
                    .cloned(),
            ),
        }
        if let Some(Ok(env)) = &self.ruby {
            roots.extend(env.dirs.iter().cloned());
        }
        roots.extend(node_root.map(str::to_string));
        let mut real: Vec<String> = roots
            .iter()
            .filter_map(|r| self.fs.resolve(r))
            .filter(|r| self.fs.is_dir(r))
            .collect();
        real.sort();
        real.dedup();
        real
    }

    /// Every application ELF file (real path) with what it misses.
    fn elf_closures(
        &self,
        roots: &[String],
        notes: &mut Vec<String>,
    ) -> BTreeMap<String, (ElfInfo, Closure)> {
        let mut files: BTreeSet<String> = BTreeSet::new();
        for root in roots {
            let prefix = format!("{}/", root.trim_end_matches('/'));
            files.extend(
                self.fs
                    .elfs
                    .range(prefix.clone()..)
                    .take_while(|(p, _)| p.starts_with(&prefix))
                    .map(|(p, _)| p.clone()),
            );
        }
        for file in &self.command.files {
            if let Some(real) = self.fs.resolve(file)
                && self.fs.elfs.contains_key(&real)
            {
                files.insert(real);
            }
        }
        if files.len() > MAX_APP_ELFS {
            notes.push(format!(
                "{}: {} application ELF files; only the first {MAX_APP_ELFS} (by path) were checked",
                self.label,
                files.len()
            ));
        }
        let search = self.search();
        files
            .into_iter()
            .take(MAX_APP_ELFS)
            .map(|path| {
                let info = self.fs.elfs[&path].clone();
                let closure = search.closure(&path, &info);
                (path, (info, closure))
            })
            .collect()
    }
}

/// `docker run --rm --network=none --entrypoint PROGRAM TAG ARGS...` as the image's user,
/// in its WorkingDir with its Env; stdout when it exits 0.
fn run_in(docker: &Docker, tag: &str, program: &str, args: &[&str]) -> Result<String, String> {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "dockopt-probe-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::SeqCst)
    );
    let mut child = Command::new(docker.bin())
        .args([
            "run",
            "--rm",
            "--network=none",
            "--name",
            &name,
            "--entrypoint",
            program,
            tag,
        ])
        .args(args)
        .env("DOCKER_BUILDKIT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", docker.bin().display()))?;
    let reader = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut s) = stream {
                let _ = s.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if started.elapsed() > RUN_TIMEOUT || super::interrupted() {
            let _ = Command::new(docker.bin())
                .args(["rm", "-f", &name])
                .output();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    match status {
        Some(s) if s.success() => Ok(stdout),
        Some(s) => Err(format!(
            "{program} exited with {}: {}",
            s.code().map_or("a signal".into(), |c| c.to_string()),
            super::docker::tail(stderr.trim(), 5)
        )),
        None if super::interrupted() => Err("interrupted".into()),
        None => Err(format!(
            "{program} did not finish in {} s",
            RUN_TIMEOUT.as_secs()
        )),
    }
}

/// Where a Python package, node package or workdir file sits, independent of the prefix
/// (`/usr/local/lib/python3.11/dist-packages/x.so` and `/opt/venv/.../site-packages/x.so`
/// are the same file of the same package).
fn package_key(path: &str) -> Option<String> {
    for (marker, kind) in [
        ("/site-packages/", "py:"),
        ("/dist-packages/", "py:"),
        ("/node_modules/", "node:"),
        ("/gems/", "gem:"),
    ] {
        if let Some(i) = path.rfind(marker) {
            return Some(format!("{kind}{}", &path[i + marker.len()..]));
        }
    }
    None
}

fn workdir_key(workdir: &str, path: &str) -> Option<String> {
    (workdir != "/")
        .then(|| path.strip_prefix(&format!("{workdir}/")))
        .flatten()
        .map(|r| format!("app:{r}"))
}

/// The original's file for a file of the new image: same path, same place under the
/// WorkingDir, same place in a package, or the only one of that name.
fn counterpart<'a>(
    path: &str,
    original: &'a BTreeMap<String, (ElfInfo, Closure)>,
    a_workdir: &str,
    b_workdir: &str,
) -> Option<&'a (ElfInfo, Closure)> {
    if let Some(x) = original.get(path) {
        return Some(x);
    }
    let keyed = |key: Option<String>, f: &dyn Fn(&str) -> Option<String>| {
        let key = key?;
        let mut hits = original.iter().filter(|(p, _)| f(p).as_ref() == Some(&key));
        let first = hits.next()?;
        hits.next().is_none().then_some(first.1)
    };
    let name = |p: &str| p.rsplit('/').next().map(str::to_string);
    keyed(workdir_key(b_workdir, path), &|p| workdir_key(a_workdir, p))
        .or_else(|| keyed(package_key(path), &package_key))
        .or_else(|| keyed(name(path), &name))
}

fn compare_sides(docker: &Docker, a: &Side, b: &mut Side, report: &mut ProbeReport) {
    let notes = &mut report.notes;
    notes.extend(a.command.notes.iter().map(|n| format!("original: {n}")));
    notes.extend(b.command.notes.iter().map(|n| format!("fixed: {n}")));

    // Python.
    match &a.python {
        None => {
            notes.push("the original's command runs no python: python packages not read".into());
        }
        Some((interp, Err(e))) => notes.push(format!(
            "python packages not compared: {interp} did not run in the original: {e}"
        )),
        Some((interp, Ok(orig))) => {
            if b.python.is_none() {
                // The new command runs no python: ask the original's interpreter path.
                let t = Instant::now();
                b.python = Some((interp.clone(), b.run_python(docker, interp)));
                report
                    .steps
                    .push(("python fixed".into(), t.elapsed().as_secs_f64()));
                notes.push(format!(
                    "the new image's command runs no python; its {interp} was asked instead"
                ));
            }
            if let Some((b_interp, got)) = &b.python {
                match got {
                    Ok(env) => {
                        let (f, n) = python::compare(orig, env);
                        report.findings.extend(f);
                        notes.extend(n);
                        report.covered.extend(orig.package_dirs());
                        report.covered.extend(env.package_dirs());
                    }
                    Err(e) => report.findings.push(Finding {
                        kind: FindingKind::Package,
                        subject: "python".into(),
                        original: Some(orig.version.clone()),
                        fixed: None,
                        detail: format!(
                            "{interp} runs in the original; {b_interp} does not in the new image: {e}"
                        ),
                    }),
                }
            }
        }
    }

    // Node.
    let mut node_roots: (Option<String>, Option<String>) = (None, None);
    if let Some(NodeRun { script }) = a.node_runtime() {
        let orig = a.node_app(script.as_deref());
        let fixed_script = b
            .node_runtime()
            .map_or_else(|| script.clone(), |r| r.script);
        let new = b.node_app(fixed_script.as_deref());
        match &orig {
            None => notes.push(format!(
                "node: no package.json or node_modules from {} upwards in the original: node packages not read",
                script.as_deref().unwrap_or(&a.config.workdir)
            )),
            Some(orig) => {
                let (f, n) = node::compare(orig, new.as_ref());
                report.findings.extend(f);
                notes.extend(n);
                for app in [Some(orig), new.as_ref()].into_iter().flatten() {
                    let dir = absolute(&app.root, "node_modules");
                    if !app.installed.is_empty() {
                        report.covered.push(dir);
                    }
                }
            }
        }
        node_roots = (orig.map(|o| o.root), new.map(|n| n.root));
        if let (Some(Ok(va)), Some(vb)) = (&a.node_version, &b.node_version) {
            let vb = vb.as_ref().ok();
            if vb != Some(va) {
                report.findings.push(Finding {
                    kind: FindingKind::Package,
                    subject: "node".into(),
                    original: Some(va.clone()),
                    fixed: vb.cloned(),
                    detail: match vb {
                        Some(v) => format!("the command runs Node {va} in the original and {v} in the new image"),
                        None => format!("the command runs Node {va} in the original; node does not run in the new image"),
                    },
                });
            }
        }
    } else {
        notes.push("the original's command runs no node: node packages not read".into());
    }

    // Ruby.
    if let Some(orig) = &a.ruby {
        match (orig, &b.ruby) {
            (Err(e), _) => notes.push(format!(
                "ruby gems not compared: ruby did not run in the original: {e}"
            )),
            (Ok(orig), Some(Ok(new))) => {
                let (f, n) = ruby::compare(orig, new);
                report.findings.extend(f);
                notes.extend(n);
                report.covered.extend(orig.dirs.iter().cloned());
                report.covered.extend(new.dirs.iter().cloned());
            }
            (Ok(orig), other) => report.findings.push(Finding {
                kind: FindingKind::Package,
                subject: "ruby".into(),
                original: Some(orig.version.clone()),
                fixed: None,
                detail: match other {
                    Some(Err(e)) => format!("ruby does not run in the new image: {e}"),
                    _ => "the new image's command runs no ruby".into(),
                },
            }),
        }
    }

    // Java.
    for r in &a.command.runtimes {
        if let Runtime::Java { jar, .. } = r {
            notes.push(format!(
                "java: the Class-Path of {} is not read (left out: no jar reader); the JVM's own libraries are checked",
                jar.as_deref().unwrap_or("the class path")
            ));
        }
    }

    // Shared libraries.
    let mut a_notes = Vec::new();
    let a_roots = a.app_roots(node_roots.0.as_deref(), &mut a_notes);
    let b_roots = b.app_roots(node_roots.1.as_deref(), &mut a_notes);
    let a_elfs = a.elf_closures(&a_roots, &mut a_notes);
    let b_elfs = b.elf_closures(&b_roots, &mut a_notes);
    notes.append(&mut a_notes);
    for (side, fs) in [("original", &a.fs), ("fixed", &b.fs)] {
        if fs.elf_skipped > 0 {
            notes.push(format!(
                "{side}: {} ELF files past the first {} were not read",
                fs.elf_skipped,
                fs::MAX_ELF_FILES
            ));
        }
    }
    let a_search = a.search();
    let b_search = b.search();
    let mut lib_findings = Vec::new();
    let mut both_missing: BTreeMap<String, String> = BTreeMap::new();
    let mut new_missing_no_original = Vec::new();
    let b_has_libc = b_elfs
        .values()
        .next()
        .is_some_and(|(info, _)| b_search.has_library("libc.so.6", info).is_some());
    for (path, (info, closure)) in &b_elfs {
        let orig = counterpart(path, &a_elfs, &a.config.workdir, &b.config.workdir);
        if let Some(interp) = &closure.missing_interp
            && orig.is_none_or(|(_, c)| c.missing_interp.is_none())
        {
            lib_findings.push(Finding {
                kind: FindingKind::Library,
                subject: path.clone(),
                original: orig.map(|_| interp.clone()),
                fixed: None,
                detail: format!(
                    "needs its loader {interp} (it is dynamically linked), not found in the image{}",
                    if b_has_libc {
                        ""
                    } else {
                        ": a dynamically linked program (e.g. a Go binary built with cgo) on a runtime without libc"
                    }
                ),
            });
        }
        for (lib, via) in &closure.missing {
            let through = via
                .as_ref()
                .map(|v| format!(" (through {v})"))
                .unwrap_or_default();
            match orig {
                Some((_, c)) if c.missing.contains_key(lib) => {
                    both_missing.entry(lib.clone()).or_insert_with(|| path.clone());
                }
                Some((_, c)) => lib_findings.push(Finding {
                    kind: FindingKind::Library,
                    subject: path.clone(),
                    original: c.found.get(lib).cloned(),
                    fixed: None,
                    detail: format!("needs {lib}{through}, not found in the image"),
                }),
                None => match a_search.has_library(lib, info) {
                    Some((_, real)) => lib_findings.push(Finding {
                        kind: FindingKind::Library,
                        subject: path.clone(),
                        original: Some(real),
                        fixed: None,
                        detail: format!(
                            "needs {lib}{through}, not found in the image (a file the original does not have at this place; the original image has the library)"
                        ),
                    }),
                    None => new_missing_no_original.push(format!("{lib} (needed by {path})")),
                },
            }
        }
    }
    if !both_missing.is_empty() {
        notes.push(format!(
            "libraries missing in both images (not the rewrite's doing): {}",
            both_missing
                .iter()
                .take(10)
                .map(|(lib, by)| format!("{lib} (needed by {by})"))
                .collect::<Vec<_>>()
                .join(", ")
                + if both_missing.len() > 10 { ", ..." } else { "" }
        ));
    }
    if !new_missing_no_original.is_empty() {
        notes.push(format!(
            "libraries missing for files only the new image has, and absent from the original image too: {}",
            new_missing_no_original.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if lib_findings.len() > MAX_LIBRARY_FINDINGS {
        notes.push(format!(
            "{} more library findings not listed",
            lib_findings.len() - MAX_LIBRARY_FINDINGS
        ));
        lib_findings.truncate(MAX_LIBRARY_FINDINGS);
    }
    report.findings.extend(lib_findings);
    notes.push(format!(
        "shared libraries: {} ELF files of the application checked in the new image ({} in the original)",
        b_elfs.len(),
        a_elfs.len()
    ));
    report.covered.sort();
    report.covered.dedup();
}

#[cfg(test)]
mod tests;
