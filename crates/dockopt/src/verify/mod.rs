//! `dockopt verify`: build the original and the fixed Dockerfile on a real engine and show
//! that the fixes kept the image they promised to keep.
//!
//! Steps: fix in memory (or read the rewrite of `--against FILE`) -> cold builds
//! (`--no-cache`) of both -> rebuild timings after a source and a manifest change -> image
//! config and size from `docker image inspect` -> file-system diff of `docker export`s ->
//! when the base image changes, the app-equivalence check (app.rs) with the dependency and
//! library probes (probe/) -> smoke check -> every difference classified as expected
//! (declared by an applied fix) or unexpected -> report -> images removed.

mod app;
mod classify;
mod docker;
mod example;
mod fsdiff;
mod inspect;
mod probe;
mod progress;
mod report;
mod staging;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, ValueEnum};
use dockopt_fix::{Applicability, FixOutcome};

use crate::check::{SelectionArgs, settings_for};
use crate::config::ConfigFinder;
use crate::input::read_dockerfile;
use crate::{Outcome, print_stdout};

use classify::Effects;
use docker::{BuildRun, Docker, tail};
use example::{ExampleToml, Touched, comment_for};
use inspect::{ImageFacts, config_differences, image_facts};
use progress::Progress;
use report::{AppCheck, AppliedJson, DiffItem, Report, Side, SmokeSpec, percent, seconds};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// True once Ctrl-C (or SIGTERM) arrived: every step stops, guards restore and clean up.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

const JSON_HELP: &str = r#"Exit status: 0 when both images build, every difference is declared by an applied
fix (or allowed by the app-equivalence check) and the smoke checks pass (or none is
declared); 1 when the fixed image differs in a way no fix declared, the fixed Dockerfile
fails to build while the original builds, or the fixed image fails the smoke check the
original passes; 2 when no engine answers, the original does not build or fails its own
smoke check, the probes could not read an image (1 wins when the fixed image also
differs unexpectedly), or the input is bad.

--against FILE verifies a rewritten Dockerfile (by hand, another tool, an assistant)
against the original instead of dockopt's fixes: no fix is applied, FILE is built as it
is with the same context, and everything below applies with "fixed" meaning FILE's
image. Check a rewrite before you merge it.

App-equivalence check: whenever the base image changes (a fix declares it, as
multi-stage does, or --against), a base-image change no longer covers everything.
Config: Cmd, Entrypoint, WorkingDir, ExposedPorts, Volumes, Healthcheck, StopSignal,
OnBuild, and every Env variable and label the original Dockerfile sets must be equal
unless a fix other than the base-image change declares the field (a shell-form command
of plain words may become the same words in exec form; PATH may gain entries in front
when the command's program still resolves to the same program); variables and labels
only the original's base image set may differ, new ones may appear (both listed); the
user may change only from root to non-root. Files: the original's WORKDIR tree (when its
Dockerfile sets WORKDIR) and every file the command names (a script, jar, or the program
itself when it is no interpreter, followed through sh -c, env, tini and
docker-entrypoint.sh) must be there with the same content; mode and owner may change
where a fix declares it or the user went from root to non-root; files added under the
WORKDIR are build artefacts. When the command runs a compiled program (an ELF file, a
java -jar jar, a .NET DLL) and the WORKDIR holds a compiled language's manifest (go.mod,
Cargo.toml, Makefile, pom.xml, ...), the WORKDIR is its build folder: files missing there
are allowed when they are build inputs, or for an ELF program when its bytes do not name
them. Dependency folders the probes compare as packages (site-packages, node_modules,
gems) are skipped file by file. Installed packages (Python, by running the command's
interpreter; Node production dependencies; Ruby gems) must be there at the same
versions, and every ELF file of the application and its dependency folders must find
its shared libraries. Everything else comes with the base image.

Files read from PATH/example.toml when present: smoke (argv after the image; [] runs
its CMD), smoke_expect (a substring of stdout+stderr), source_file and manifest_file
(relative to PATH; for one cached rebuild each, a line "COMMENT touched by dockopt verify
NONCE" is appended to the file in a staged copy of the context in the temp dir, hard links
but for the edited files: the project's own files are never edited),
comment (the source file's comment prefix; the manifest's comes from its name, and
JSON files get trailing whitespace instead). The context defaults to PATH.

--json prints one object, also when the input is bad or no engine answers (then with
"verdict" "error" or "no-engine", the reason in "messages" and exit status 2):
{
  "dockerfile": "examples/python-web/Dockerfile", "against": null | "FILE",
  "context": "examples/python-web",
  "unsafe_fixes": false, "engine": "20.10.24", "changed": true,
  "applied_fixes": [{"rule", "title", "applicability": "safe"|"unsafe", "round", "summary"}],
  "original" / "fixed": {
    "tag", "build_ok", "build_s" (cold: first build in this run, --no-cache),
    "build_log_tail" (only when the build failed), "size_bytes", "layers", "user" (the
    image's USER, "" for root),
    "rebuild_after_source_change_s", "rebuild_after_manifest_change_s",
    "smoke_ok" (null: no smoke check), "smoke_output" (when it ran)
  },
  "size_change_percent", "layers_change",
  "touched": {"source": "app.py", "manifest": "requirements.txt"},
  "smoke": {"argv": [...], "expect": "..."} | null,
  "compared" (false when a build failed or the run stopped before comparing),
  "expected_differences": {"count", "by_rule": {"rule": n},
                           "examples": {"rule": [difference, ...]}},
  "unexpected_differences": [difference, ...],
  "app_check": null | {"because", "workdir", "program", "program_original",
    "program_fixed" (real paths), "named_files", "compiled_program",
    "dependency_folders", "notes": [...], "seconds", "probe_seconds"},
  "baseline_noisy_paths", "images_kept", "verdict", "messages": [...], "exit_code"
}
A difference has a "kind": "path" ({"path": "/abs/path"}), "config" ({"config": "Cmd"},
with "key" for an Env variable or a label), "user" ({"config": "User"}), "package"
({"package": "psycopg2"}) or "library" ({"path": the ELF file, "library": "libpq.so.5"});
"original" and "fixed" give both values where they apply (a config value, a package's
versions, where the original found the library; null: absent); "change" (added,
removed, changed), "what" (e.g. "content (10 -> 12 bytes)", "mode 0644 -> 0755",
"[\"/bin/sh\",\"-c\",\"x\"] -> [\"x\"]", "needs libpq.so.5, not found in the image"), and
for expected ones "covered_by" (a rule; "cache mount target"; "build noise" for content
changes of files written with timestamps or in random order (/var/log/**,
/var/cache/ldconfig/aux-cache, **/__pycache__/*.pyc, **/.rustc_info.json,
**/cargo/.global-cache) and for paths that differ between two cold builds of the
original; under the app-equivalence check also "app check" for what it allows,
"dependency probe" for paths in dependency folders compared as packages, and the rule
that changed the base image (or "rewrite") for files outside the application's) and
"reason" (e.g. "disposable /var/lib/apt/lists/**"). "baseline_noisy_paths" counts the
paths that differed between the two builds of the original (null when it was built
once: --baseline=auto builds it again only when some path difference is otherwise
unexplained). Values that were not measured are null. "verdict" is one of ok,
no-changes, unexpected-differences, fixed-build-failed, fixed-smoke-failed,
original-build-failed, original-smoke-failed, interrupted, no-engine, error."#;

#[derive(Debug, Args)]
#[command(after_long_help = JSON_HELP)]
pub struct VerifyArgs {
    /// An example folder (with example.toml) or any folder with a Dockerfile; a Dockerfile
    /// itself works too.
    pub path: PathBuf,
    /// The Dockerfile to verify (default: PATH/Dockerfile).
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<PathBuf>,
    /// Verify this rewritten Dockerfile against the original instead of dockopt's own
    /// fixes (none is applied): built with the same context, compared by the
    /// app-equivalence check. Check a rewrite before you merge it.
    #[arg(long, value_name = "FILE")]
    pub against: Option<PathBuf>,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Also apply Unsafe fixes; their declared effects must still cover every difference.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Print one JSON object (schema below) instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Keep the images built (tagged dockopt-verify/NAME-original:PID and so on).
    #[arg(long)]
    pub keep_images: bool,
    /// Build the original a second time (--no-cache) and treat whatever differs between
    /// its two builds as build noise, not as a fix's doing: `auto` does so only when some
    /// difference is left unexplained (it costs one more cold build).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t)]
    pub baseline: BaselineMode,
    /// Time a rebuild after appending a comment to this source file (default: example.toml's
    /// source_file).
    #[arg(long, value_name = "FILE")]
    pub touch_source: Option<PathBuf>,
    /// Time a rebuild after appending a comment to this dependency manifest (default:
    /// example.toml's manifest_file).
    #[arg(long, value_name = "FILE")]
    pub touch_manifest: Option<PathBuf>,
    /// Stop a smoke check after this many seconds (it fails then).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub smoke_timeout: u64,
    /// Check only, measure nothing: build with the cache and skip the rebuild timings
    /// (much faster when checking many rewrites; build times are then not reported).
    #[arg(long)]
    pub no_timings: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum BaselineMode {
    /// Only when some difference is not declared by a fix (and not known noise).
    #[default]
    Auto,
    /// Always (the report then says how many paths are noisy).
    Always,
    /// Never: only the built-in noise list applies.
    Never,
}

/// What one run works on, checked before anything is built.
#[derive(Debug)]
struct Plan {
    dockerfile: PathBuf,
    /// `--against FILE`: built as it is, in place of the fixed Dockerfile.
    against: Option<PathBuf>,
    /// The original Dockerfile's text.
    original_text: String,
    context: PathBuf,
    name: String,
    /// The fixes (none with `--against`, whose text is the rewrite's).
    outcome: FixOutcome,
    /// The new text of the ignore file the build reads, when a fix changes it.
    ignore_text: Option<String>,
    /// ("source" | "manifest", file, comment prefix).
    touches: Vec<(&'static str, PathBuf, String)>,
    smoke: Option<SmokeSpec>,
}

/// A Docker repository component from a folder name: lowercase `[a-z0-9._-]`.
fn image_name(folder: &Path) -> String {
    let raw = folder
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut name = String::new();
    for c in raw.to_ascii_lowercase().chars() {
        let c = if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            c
        } else {
            '-'
        };
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    let name = name.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if name.is_empty() {
        "dockerfile".into()
    } else {
        name.into()
    }
}

fn plan(args: &VerifyArgs) -> Result<Plan, String> {
    if !args.path.exists() {
        return Err(format!("{}: no such file or folder", args.path.display()));
    }
    let (folder, default_dockerfile) = if args.path.is_dir() {
        (args.path.clone(), args.path.join("Dockerfile"))
    } else {
        let parent = args
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        (parent, args.path.clone())
    };
    let dockerfile = args.dockerfile.clone().unwrap_or(default_dockerfile);
    if !dockerfile.is_file() {
        return Err(format!(
            "{}: no Dockerfile there (pass --dockerfile FILE)",
            dockerfile.display()
        ));
    }
    let example = ExampleToml::read(&folder)?.unwrap_or_default();
    if let Some(file) = &args.against {
        let s = &args.selection;
        let mut given = Vec::new();
        if args.unsafe_fixes {
            given.push("--unsafe-fixes");
        }
        if s.select.is_some() {
            given.push("--select");
        }
        if !s.extend_select.is_empty() {
            given.push("--extend-select");
        }
        if !s.ignore.is_empty() {
            given.push("--ignore");
        }
        if !given.is_empty() {
            return Err(format!(
                "--against verifies {} as written and applies no fix, so {} cannot be used with it",
                file.display(),
                given.join(", ")
            ));
        }
        if !file.is_file() {
            return Err(format!(
                "--against {}: no such file (the rewritten Dockerfile to verify)",
                file.display()
            ));
        }
    }

    let mut overrides = args.selection.overrides(args.unsafe_fixes)?;
    let finder = ConfigFinder::default();
    let mut settings = settings_for(&dockerfile, &finder, &overrides).map_err(|e| e.to_string())?;
    let context = settings.context.clone().unwrap_or_else(|| folder.clone());
    if !context.is_dir() {
        return Err(format!(
            "{}: the build context is not a folder",
            context.display()
        ));
    }
    if settings.context.is_none() {
        overrides.context = Some(context.clone());
        settings = settings_for(&dockerfile, &finder, &overrides).map_err(|e| e.to_string())?;
    }
    let original = read_dockerfile(&dockerfile).map_err(|e| e.to_string())?;
    let (outcome, ignore_text) = if let Some(file) = &args.against {
        let text = read_dockerfile(file).map_err(|e| format!("--against {e}"))?;
        let outcome = FixOutcome {
            text,
            applied: Vec::new(),
            rounds: 0,
            remaining: Vec::new(),
            file_changes: Vec::new(),
            refused: None,
        };
        (outcome, None)
    } else {
        let outcome = crate::fix::fix_text(&original, &settings, &dockerfile);
        if let Some(refusal) = &outcome.refused {
            return Err(crate::fix::refusal_message(
                &dockerfile,
                refusal,
                "nothing to verify",
            ));
        }
        let ignore_text = ignore_change(&dockerfile, &context, &outcome)?;
        (outcome, ignore_text)
    };

    let mut touches = Vec::new();
    let declared = [
        ("source", &args.touch_source, example.source_file.as_ref()),
        (
            "manifest",
            &args.touch_manifest,
            example.manifest_file.as_ref(),
        ),
    ];
    for (what, flag, from_example) in declared {
        let path = match (flag, from_example) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => folder.join(p),
            (None, None) => continue,
        };
        if !path.is_file() {
            return Err(format!(
                "{}: the {what} file to touch does not exist",
                path.display()
            ));
        }
        let comment = match (what, &example.comment) {
            ("source", Some(c)) => c.clone(),
            _ => comment_for(&path).to_string(),
        };
        touches.push((what, path, comment));
    }
    let smoke = match (example.smoke, example.smoke_expect) {
        (Some(argv), expect) => Some(SmokeSpec { argv, expect }),
        (None, Some(_)) => {
            return Err(format!(
                "{}: smoke_expect without smoke (the argv to run)",
                folder.join(example::EXAMPLE_TOML).display()
            ));
        }
        (None, None) => None,
    };
    Ok(Plan {
        name: image_name(&folder),
        dockerfile,
        against: args.against.clone(),
        original_text: original,
        context,
        outcome,
        ignore_text,
        touches,
        smoke,
    })
}

/// `NAME.dockerignore` beside the Dockerfile `NAME`: BuildKit reads it instead of the
/// context's `.dockerignore` when it exists.
fn own_ignore_name(dockerfile: &Path) -> std::ffi::OsString {
    let mut name = dockerfile
        .file_name()
        .map_or_else(|| "Dockerfile".into(), ToOwned::to_owned);
    name.push(".dockerignore");
    name
}

/// The new text of the ignore file the build of `dockerfile` reads, when the fixes change
/// it: its own `NAME.dockerignore` when that exists or a fix creates it, else
/// `<context>/.dockerignore`. A change of any other file is an error: the fixed build
/// would not see it, so the comparison would not show what `dockopt fix` does.
fn ignore_change(
    dockerfile: &Path,
    context: &Path,
    outcome: &FixOutcome,
) -> Result<Option<String>, String> {
    use crate::write::canonical_target;
    let own = dockerfile.with_file_name(own_ignore_name(dockerfile));
    let own_target = canonical_target(&own);
    let own_after = own.is_file()
        || outcome
            .file_changes
            .iter()
            .any(|c| canonical_target(&c.change.path) == own_target);
    let read = if own_after {
        own_target
    } else {
        canonical_target(&context.join(".dockerignore"))
    };
    let mut text = None;
    for c in &outcome.file_changes {
        if canonical_target(&c.change.path) != read {
            return Err(format!(
                "{}: the fix of {} also changes {}, which is not the ignore file this build reads ({}); dockopt verify can only build with a changed ignore file, so there is nothing to verify (leave the rule out with --ignore {})",
                dockerfile.display(),
                c.rule,
                c.change.path.display(),
                read.display(),
                c.rule
            ));
        }
        text = Some(c.change.text.clone());
    }
    Ok(text)
}

/// Removes what the run made (containers always; images unless kept) when dropped.
#[derive(Debug)]
struct Cleanup<'a> {
    docker: &'a Docker,
    containers: Vec<String>,
    images: Vec<String>,
    keep_images: bool,
    temp_dir: Option<PathBuf>,
}

impl Cleanup<'_> {
    /// Removes everything now; returns a warning when some image could not be removed.
    fn finish(&mut self) -> Option<String> {
        self.docker
            .remove_containers(&std::mem::take(&mut self.containers));
        if let Some(dir) = self.temp_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        let images = std::mem::take(&mut self.images);
        if self.keep_images {
            return None;
        }
        self.docker
            .remove_images(&images)
            .err()
            .map(|e| format!("could not remove images {}: {e}", images.join(" ")))
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Writes the fixed Dockerfile outside the context: a folder in the temp dir, under the
/// original's file name, with its `NAME.dockerignore` when it has one. When a fix changes
/// the ignore file the build reads ([`Plan::ignore_text`]), the new text is written as
/// that `NAME.dockerignore`, which BuildKit reads beside the Dockerfile given with `-f`
/// in preference to the context's `.dockerignore`.
fn write_fixed(plan: &Plan) -> Result<(PathBuf, PathBuf), String> {
    let dir = std::env::temp_dir().join(format!(
        "dockopt-verify-{}-{}",
        plan.name,
        std::process::id()
    ));
    let file_name = plan
        .dockerfile
        .file_name()
        .map_or_else(|| "Dockerfile".into(), ToOwned::to_owned);
    let path = dir.join(&file_name);
    let io = |e: std::io::Error| format!("{}: {}", dir.display(), crate::input::describe_io(&e));
    std::fs::create_dir_all(&dir).map_err(io)?;
    std::fs::write(&path, &plan.outcome.text).map_err(io)?;
    let ignore_name = own_ignore_name(&plan.dockerfile);
    let own_ignore = plan.dockerfile.with_file_name(&ignore_name);
    if let Some(text) = &plan.ignore_text {
        std::fs::write(dir.join(&ignore_name), text).map_err(io)?;
    } else if own_ignore.is_file() {
        std::fs::copy(&own_ignore, dir.join(&ignore_name)).map_err(io)?;
    }
    Ok((dir, path))
}

fn side_from_build(tag: &str, build: &BuildRun) -> Side {
    Side {
        tag: tag.to_string(),
        build_ok: build.ok,
        build_s: Some(seconds(build.seconds)),
        build_log_tail: (!build.ok).then(|| build.log_tail.clone()),
        ..Side::default()
    }
}

fn display(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// A report for a run that stopped before building: bad input (`error`) or no engine
/// (`no-engine`). Printed only with `--json` (the text report goes to stderr as a message).
fn early_stop(args: &VerifyArgs, verdict: &str, message: &str) -> Outcome {
    eprintln!("error: {message}");
    if args.json {
        let report = Report {
            dockerfile: display(args.dockerfile.as_deref().unwrap_or(&args.path)),
            against: args.against.as_deref().map(display),
            context: args
                .selection
                .context
                .as_deref()
                .map_or_else(String::new, display),
            unsafe_fixes: args.unsafe_fixes,
            images_kept: args.keep_images,
            verdict: verdict.into(),
            messages: vec![format!("error: {message}")],
            ..Report::default()
        };
        return finish(args, &report, Outcome::Error);
    }
    Outcome::Error
}

pub fn run(args: &VerifyArgs) -> Outcome {
    let plan = match plan(args) {
        Ok(p) => p,
        Err(e) => return early_stop(args, "error", &e),
    };
    let changed = if plan.against.is_some() {
        plan.outcome.text != plan.original_text
    } else {
        plan.outcome.is_changed()
    };
    let mut report = Report {
        dockerfile: display(&plan.dockerfile),
        against: plan.against.as_deref().map(display),
        context: display(&plan.context),
        unsafe_fixes: args.unsafe_fixes,
        changed,
        applied_fixes: plan
            .outcome
            .applied
            .iter()
            .map(|f| AppliedJson {
                rule: f.rule.to_string(),
                title: f.title.clone(),
                applicability: f.applicability.name().to_string(),
                round: f.round,
                summary: f.effect.summary.clone(),
            })
            .collect(),
        touched: plan
            .touches
            .iter()
            .map(|(what, path, _)| ((*what).to_string(), display(path)))
            .collect(),
        smoke: plan.smoke.clone(),
        images_kept: args.keep_images,
        ..Report::default()
    };
    // A changed ignore file alone is worth a build too: it changes what COPY sees.
    if let Some(change) = plan.outcome.file_changes.first() {
        report.messages.push(format!(
            "note: the fixed image is built with the changed {} ({}), written beside the fixed Dockerfile as {}",
            change.change.path.display(),
            change.rule,
            own_ignore_name(&plan.dockerfile).to_string_lossy()
        ));
    }
    if !report.changed {
        report.verdict = "no-changes".into();
        report.messages.push(if plan.against.is_some() {
            "The rewrite is the same text as the original; nothing to build or compare.".into()
        } else {
            "No fix applies; nothing to build or compare.".into()
        });
        return finish(args, &report, Outcome::Clean);
    }
    let docker = Docker::new();
    match docker.server_version() {
        Ok(version) => report.engine = Some(version),
        Err(e) => {
            let message = format!(
                "no Docker engine answers ({} info: {e}); start one, e.g. `eval \"$(tests/engine/up)\"`, or set DOCKER_HOST",
                docker.bin().display()
            );
            eprintln!("error: {message}");
            if args.json {
                report.verdict = "no-engine".into();
                report.messages.push(format!("error: {message}"));
                return finish(args, &report, Outcome::Error);
            }
            return Outcome::Error;
        }
    }
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            eprintln!(
                "\ndockopt verify: still cleaning up (restoring touched files, removing images)"
            );
        } else {
            eprintln!("\ndockopt verify: interrupted; cleaning up");
        }
    });
    let outcome = verify(args, &plan, &docker, &mut report);
    finish(args, &report, outcome)
}

fn finish(args: &VerifyArgs, report: &Report, outcome: Outcome) -> Outcome {
    let mut report = report.clone();
    report.exit_code = outcome as u8;
    if args.json {
        print_stdout(&report::json(&report));
    } else {
        print_stdout(&report::text(&report));
    }
    outcome
}

/// Everything that needs the engine; fills `report` and decides the exit status.
fn verify(args: &VerifyArgs, plan: &Plan, docker: &Docker, report: &mut Report) -> Outcome {
    let pid = std::process::id();
    let tag = |what: &str| format!("dockopt-verify/{}-{what}:{pid}", plan.name);
    let has_smoke = plan.smoke.is_some();
    let baseline = usize::from(args.baseline == BaselineMode::Always);
    let app_mode =
        plan.against.is_some() || plan.outcome.applied.iter().any(|f| f.effect.base_image);
    let timed_touches = if args.no_timings {
        0
    } else {
        plan.touches.len()
    };
    let steps = 2
        + 2 * timed_touches
        + 1
        + 2
        + usize::from(app_mode)
        + 2 * baseline
        + if has_smoke { 2 } else { 0 }
        + usize::from(!args.keep_images);
    let mut progress = Progress::new(steps);
    let mut cleanup = Cleanup {
        docker,
        containers: Vec::new(),
        images: Vec::new(),
        keep_images: args.keep_images,
        temp_dir: None,
    };
    let fixed_file = if let Some(file) = &plan.against {
        // Built where it is, so its own NAME.dockerignore applies as in `docker build -f`.
        file.clone()
    } else {
        match write_fixed(plan) {
            Ok((temp_dir, file)) => {
                cleanup.temp_dir = Some(temp_dir);
                file
            }
            Err(e) => {
                report.verdict = "error".into();
                report.messages.push(format!("error: {e}"));
                return Outcome::Error;
            }
        }
    };
    let files = [("original", plan.dockerfile.clone()), ("fixed", fixed_file)];

    // Cold builds.
    let mut sides: Vec<Side> = Vec::new();
    for (what, file) in &files {
        let t = tag(what);
        let cold = !args.no_timings;
        progress.begin(format!(
            "building the {what} image{}",
            if cold { " (--no-cache)" } else { "" }
        ));
        let build = docker.build(file, &t, &plan.context, cold, &mut progress);
        progress.end(if build.ok { "ok" } else { "FAILED" });
        if build.ok {
            cleanup.images.push(t.clone());
        }
        let mut side = side_from_build(&t, &build);
        if !cold {
            // A cached build's time says nothing.
            side.build_s = None;
        }
        sides.push(side);
        if build.interrupted || interrupted() {
            return stop_interrupted(report, sides);
        }
        if !build.ok {
            break;
        }
    }
    let original_ok = sides[0].build_ok;
    let fixed_ok = sides.get(1).is_some_and(|s| s.build_ok);
    if !original_ok {
        report.original = sides.first().cloned();
        report.verdict = "original-build-failed".into();
        report.messages.push(format!(
            "The original Dockerfile ({}) does not build, so there is nothing to compare; make it build first.",
            plan.dockerfile.display()
        ));
        return Outcome::Error;
    }
    if !fixed_ok {
        report.original = sides.first().cloned();
        report.fixed = sides.get(1).cloned();
        report.verdict = "fixed-build-failed".into();
        report.messages.push(
            "The fixed Dockerfile does not build while the original does: a fix broke the build."
                .into(),
        );
        return Outcome::Findings;
    }

    // Rebuild timings: touch a file of a staged copy of the context (the user's files are
    // never edited), rebuild with the cache, restore the copy for the other side.
    let edited: Vec<PathBuf> = if args.no_timings {
        report
            .messages
            .push("note: --no-timings: the builds used the cache and no rebuild was timed".into());
        Vec::new()
    } else {
        plan.touches.iter().map(|(_, p, _)| p.clone()).collect()
    };
    let staged = if edited.is_empty() {
        None
    } else {
        match staging::StagedContext::new(&plan.context, &plan.name, &edited) {
            Ok(staged) => Some(staged),
            Err(e) => {
                report
                    .messages
                    .push(format!("warning: {e}; no rebuild timings"));
                None
            }
        }
    };
    for ((what, file), side) in files.iter().zip(sides.iter_mut()) {
        let Some(staged) = &staged else {
            break;
        };
        for (kind, path, comment) in &plan.touches {
            let t = tag(&format!("{what}-{kind}"));
            progress.begin(format!("rebuilding the {what} image after a {kind} change"));
            let Some(staged_path) = staged.map(path) else {
                progress.end("skipped");
                report.messages.push(format!(
                    "warning: {} is not in the build context; no rebuild timing after a {kind} change",
                    path.display()
                ));
                continue;
            };
            let touched = match Touched::touch(&staged_path, comment, example::nonce()) {
                Ok(g) => g,
                Err(e) => {
                    progress.end("skipped");
                    report.messages.push(format!("warning: {e}"));
                    continue;
                }
            };
            let build = docker.build(file, &t, staged.path(), false, &mut progress);
            drop(touched);
            progress.end(if build.ok { "ok" } else { "FAILED" });
            if build.ok {
                cleanup.images.push(t);
            }
            if build.interrupted || interrupted() {
                return stop_interrupted(report, sides.clone());
            }
            if build.ok {
                let s = Some(seconds(build.seconds));
                if *kind == "source" {
                    side.rebuild_after_source_change_s = s;
                } else {
                    side.rebuild_after_manifest_change_s = s;
                }
            } else {
                report.messages.push(format!(
                    "warning: the {what} rebuild after touching {} failed:\n{}",
                    path.display(),
                    tail(&build.log_tail, 10)
                ));
            }
        }
    }

    // Config, size and layers.
    progress.begin("inspecting both images");
    let facts: Result<Vec<ImageFacts>, String> = sides
        .iter()
        .map(|s| docker.inspect(&s.tag).and_then(|j| image_facts(&j)))
        .collect();
    let facts = match facts {
        Ok(f) => f,
        Err(e) => {
            progress.end("FAILED");
            return stop_error(report, sides, &format!("docker image inspect: {e}"));
        }
    };
    progress.end("ok");
    for (side, f) in sides.iter_mut().zip(&facts) {
        side.size_bytes = Some(f.size_bytes);
        side.layers = Some(f.layers);
        side.user = Some(
            f.config
                .get("User")
                .and_then(|u| u.as_str())
                .unwrap_or_default()
                .to_string(),
        );
    }
    report.size_change_percent = percent(facts[0].size_bytes, facts[1].size_bytes);
    report.layers_change = i64::try_from(facts[1].layers)
        .ok()
        .zip(i64::try_from(facts[0].layers).ok())
        .map(|(after, before)| after - before);

    // File systems: one export of each image gives the listing and, for the app check, the
    // probes' view of its files.
    let mut listings = Vec::new();
    let mut probe_fs = Vec::new();
    for side in &sides {
        match read_files(docker, &mut cleanup, &side.tag, app_mode, &mut progress) {
            Ok((l, fs)) => {
                listings.push(l);
                probe_fs.extend(fs);
            }
            Err(_) if interrupted() => return stop_interrupted(report, sides),
            Err(e) => return stop_error(report, sides, &e),
        }
    }
    // The dependency and library probes run the images' interpreters while the files are
    // compared.
    let probes = match <[probe::ImageFs; 2]>::try_from(probe_fs) {
        Ok(fs) => Some(ProbeRun::start(
            docker,
            [sides[0].tag.clone(), sides[1].tag.clone()],
            [facts[0].clone(), facts[1].clone()],
            fs,
        )),
        Err(_) => None,
    };

    // Classification.
    let mut effects = match Effects::new(&plan.outcome.applied, &plan.outcome.text) {
        Ok(e) => e,
        Err(e) => return stop_error(report, sides, &e),
    };
    let fs_differences = fsdiff::compare(&listings[0], &listings[1]);
    let config = config_differences(&facts[0], &facts[1]);
    let mut incomplete = None;
    let app = if let Some(probes) = probes {
        let state = app_check(
            plan,
            docker,
            probes,
            &effects,
            [&sides[0].tag, &sides[1].tag],
            [&facts[0], &facts[1]],
            [&listings[0], &listings[1]],
            &fs_differences,
            &mut progress,
        );
        if interrupted() {
            return stop_interrupted(report, sides);
        }
        if let Some(e) = &state.probe_error {
            report.messages.push(format!(
                "error: the dependency and library probes failed, so installed packages and shared libraries were not compared: {e}"
            ));
            incomplete = Some("the dependency and library probes failed");
        }
        Some(state)
    } else {
        None
    };
    classify_into(report, &effects, &fs_differences, &config, app.as_ref());
    report.compared = true;

    // A second cold build of the original: what differs between its two builds is noise.
    let wants_baseline = match args.baseline {
        BaselineMode::Always => true,
        BaselineMode::Auto => report
            .unexpected_differences
            .iter()
            .any(|d| d.kind == "path"),
        BaselineMode::Never => false,
    };
    if wants_baseline {
        if args.baseline == BaselineMode::Auto {
            progress.add_steps(2);
        }
        let t = tag("baseline");
        progress.begin(format!(
            "building the original image again (--no-cache) to tell build noise{}",
            if args.baseline == BaselineMode::Auto {
                " from the unexpected differences"
            } else {
                ""
            }
        ));
        let build = docker.build(&files[0].1, &t, &plan.context, true, &mut progress);
        progress.end(if build.ok { "ok" } else { "FAILED" });
        if build.ok {
            cleanup.images.push(t.clone());
        }
        if build.interrupted || interrupted() {
            return stop_interrupted(report, sides);
        }
        if build.ok {
            match read_files(docker, &mut cleanup, &t, false, &mut progress) {
                Ok((again, _)) => {
                    let noisy: Vec<String> = fsdiff::compare(&listings[0], &again)
                        .into_iter()
                        .map(|d| d.path)
                        .collect();
                    report.baseline_noisy_paths = Some(noisy.len());
                    effects = effects.with_baseline(noisy);
                    classify_into(report, &effects, &fs_differences, &config, app.as_ref());
                }
                Err(_) if interrupted() => return stop_interrupted(report, sides),
                Err(e) => report.messages.push(format!("warning: no baseline: {e}")),
            }
        } else {
            report.messages.push(
                "warning: the second build of the original failed; no baseline, so build noise may show as unexpected differences"
                    .into(),
            );
        }
    }
    drop(listings);

    // Smoke checks.
    if let Some(spec) = &plan.smoke {
        for (i, side) in sides.iter_mut().enumerate() {
            progress.begin(format!("smoke check of {}", side.tag));
            let name = format!("dockopt-verify-{}-{pid}-{i}", plan.name);
            let run = docker.run(
                &side.tag,
                &spec.argv,
                &name,
                Duration::from_secs(args.smoke_timeout),
                &mut progress,
            );
            let found = spec
                .expect
                .as_deref()
                .is_none_or(|e| run.output.contains(e));
            let ok = run.exit_code == Some(0) && found && !run.timed_out;
            let output = format!(
                "{}{}",
                tail(&run.output, 20),
                smoke_note(&run, spec, found, args.smoke_timeout)
            );
            progress.end(if ok { "pass" } else { "FAIL" });
            side.smoke_ok = Some(ok);
            side.smoke_output = Some(output);
            if run.interrupted || interrupted() {
                return stop_interrupted(report, sides.clone());
            }
        }
    }

    if !args.keep_images {
        progress.begin("removing the images");
        let warning = cleanup.finish();
        progress.end(if warning.is_some() { "FAILED" } else { "ok" });
        report
            .messages
            .extend(warning.map(|w| format!("warning: {w}")));
    }
    drop(cleanup);

    let original_smoke = sides[0].smoke_ok;
    let fixed_smoke = sides[1].smoke_ok;
    report.original = Some(sides[0].clone());
    report.fixed = Some(sides[1].clone());

    let safe_only = plan
        .outcome
        .applied
        .iter()
        .all(|f| f.applicability == Applicability::Safe);
    let mut verdicts = Vec::new();
    if !report.unexpected_differences.is_empty() {
        verdicts.push("unexpected-differences");
        let n = report.unexpected_differences.len();
        let s = if n == 1 { "" } else { "s" };
        report.messages.push(if plan.against.is_some() {
            format!(
                "{n} difference{s} the app-equivalence check does not allow: the rewrite changes the application (each difference names its culprit)."
            )
        } else if app.is_some() {
            format!(
                "{n} difference{s} no applied fix declared and the app-equivalence check does not allow ({}): the fixes changed the application.",
                if safe_only { "Safe fixes only" } else { "Safe and Unsafe fixes" }
            )
        } else {
            format!(
                "{n} difference{s} no applied fix declared ({}): a fix changed the image without saying so.",
                if safe_only { "Safe fixes only" } else { "Safe and Unsafe fixes" }
            )
        });
    }
    if original_smoke == Some(true) && fixed_smoke == Some(false) {
        verdicts.push("fixed-smoke-failed");
        report
            .messages
            .push("The fixed image fails the smoke check the original passes.".into());
    }
    if let Some(&first) = verdicts.first() {
        report.verdict = first.into();
        return Outcome::Findings;
    }
    if let Some(why) = incomplete {
        report.verdict = "error".into();
        report.messages.push(format!(
            "Could not tell: {why}; no difference was found in what was compared."
        ));
        return Outcome::Error;
    }
    if original_smoke == Some(false) {
        report.verdict = "original-smoke-failed".into();
        report.messages.push(
            "The original image fails its own smoke check, so the check proves nothing; fix example.toml or the example."
                .into(),
        );
        return Outcome::Error;
    }
    report.verdict = "ok".into();
    report.messages.push(if plan.against.is_some() {
        "OK: both images build, the application's config, files, packages and libraries are the same (every difference is allowed by the app-equivalence check), and the smoke checks pass (or none is declared).".into()
    } else if app.is_some() {
        "OK: both images build, every difference is one an applied fix declared or the app-equivalence check allows, and the smoke checks pass (or none is declared).".into()
    } else {
        "OK: both images build, every difference is one an applied fix declared, and the smoke checks pass (or none is declared).".into()
    });
    Outcome::Clean
}

/// The dependency and library probes, run in a thread of their own while verify reads the
/// files of both images. Joined when dropped, so no probe container outlives the run.
#[derive(Debug)]
struct ProbeRun {
    handle: Option<std::thread::JoinHandle<Result<probe::ProbeReport, String>>>,
}

impl ProbeRun {
    fn start(
        docker: &Docker,
        tags: [String; 2],
        facts: [ImageFacts; 2],
        fs: [probe::ImageFs; 2],
    ) -> Self {
        let docker = docker.clone();
        let handle = std::thread::spawn(move || {
            let [fs_original, fs_fixed] = fs;
            probe::compare_images(
                &docker,
                probe::ProbeTarget {
                    tag: &tags[0],
                    facts: &facts[0],
                    fs: fs_original,
                },
                probe::ProbeTarget {
                    tag: &tags[1],
                    facts: &facts[1],
                    fs: fs_fixed,
                },
            )
        });
        Self {
            handle: Some(handle),
        }
    }

    fn wait(mut self) -> Result<probe::ProbeReport, String> {
        self.handle.take().map_or_else(
            || Err("the probes did not start".into()),
            |h| {
                h.join()
                    .unwrap_or_else(|_| Err("the probes panicked".into()))
            },
        )
    }
}

impl Drop for ProbeRun {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// What the app-equivalence check found that does not depend on the baseline.
#[derive(Debug)]
struct AppState {
    because: String,
    spec: app::AppSpec,
    /// Wall time so far (the probes, reading the program, the config rules).
    seconds: f64,
    probe_seconds: Option<f64>,
    base_by: String,
    root_to_non_root: bool,
    /// Config, program and probe differences, classified.
    items: Vec<DiffItem>,
    probe_error: Option<String>,
}

/// The app-equivalence check's work that needs the engine or both images: the probes'
/// results, the application spec, the program's bytes when they decide something, the
/// config rules. The file rules run in [`classify_into`], which fills `report.app_check`.
/// Its time counts from here: the probes ran while the files were read, so only what is
/// left of them adds to the run.
#[allow(clippy::too_many_arguments)]
fn app_check(
    plan: &Plan,
    docker: &Docker,
    probes: ProbeRun,
    effects: &Effects,
    tags: [&str; 2],
    facts: [&ImageFacts; 2],
    listings: [&fsdiff::Listing; 2],
    fs: &[fsdiff::FsDifference],
    progress: &mut Progress,
) -> AppState {
    let started = std::time::Instant::now();
    progress.begin("app check: installed packages and shared libraries of both images");
    let probes = probes.wait();
    progress.end(&match &probes {
        Ok(p) => format!("{} findings", p.findings.len()),
        Err(_) => "FAILED".to_string(),
    });
    let base_by = if plan.against.is_some() {
        "rewrite".to_string()
    } else {
        effects
            .base_image_rule()
            .unwrap_or("base image")
            .to_string()
    };
    let dockerfile = app::dockerfile_facts(&plan.original_text);
    let views = [
        app::ImageView {
            listing: listings[0],
            facts: facts[0],
        },
        app::ImageView {
            listing: listings[1],
            facts: facts[1],
        },
    ];
    let mut spec = app::AppSpec::new(&views[0], &views[1], &dockerfile);
    let mut notes = Vec::new();
    let mut items = Vec::new();
    let mut probe_error = None;
    let mut probe_seconds = None;
    match &probes {
        Ok(p) => {
            spec.covered.clone_from(&p.covered);
            items.extend(p.findings.iter().map(finding_item));
            probe_seconds = Some(seconds(p.seconds));
            notes.extend(p.notes.iter().cloned());
            if !p.steps.is_empty() {
                notes.push(format!(
                    "probe steps: {}",
                    p.steps
                        .iter()
                        .map(|(s, t)| format!("{s} {t:.1} s"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Err(e) => probe_error = Some(e.clone()),
    }
    let mut program_bytes: Option<Vec<u8>> = None;
    let mut read_notes = Vec::new();
    spec.find_compiled(listings[0], &mut |path| match docker.read_file(
        tags[0],
        path,
        app::MAX_PROGRAM_BYTES,
    ) {
        Ok(bytes) => {
            let elf = bytes.starts_with(b"\x7fELF");
            program_bytes = Some(bytes);
            elf
        }
        Err(e) => {
            read_notes.push(format!("could not read {path} from the original: {e}"));
            false
        }
    });
    notes.append(&mut read_notes);
    if spec.needs_program_bytes(fs)
        && let Some(bytes) = &program_bytes
    {
        spec.set_program_bytes(bytes);
    }
    let user = |f: &ImageFacts| {
        f.config
            .get("User")
            .and_then(|u| u.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let is_root = |u: &str| {
        let name = u.split(':').next().unwrap_or_default();
        name.is_empty() || name == "root" || name == "0"
    };
    let (ua, ub) = (user(facts[0]), user(facts[1]));
    let root_to_non_root = is_root(&ua) && !is_root(&ub);
    let ctx = app::Context {
        base_by: &base_by,
        root_to_non_root,
    };
    let mut config_notes = Vec::new();
    items.extend(app::program_items(&spec, listings[0], listings[1]));
    items.extend(app::classify_config(
        &spec,
        effects,
        &ctx,
        &dockerfile,
        &views[0],
        &views[1],
        &mut config_notes,
    ));
    let mut all_notes = spec.notes.clone();
    all_notes.extend(config_notes);
    all_notes.extend(notes);
    spec.notes = all_notes;
    AppState {
        because: if plan.against.is_some() {
            "--against: the rewrite is compared as an application".to_string()
        } else {
            format!("{base_by} changes the base image")
        },
        spec,
        base_by,
        root_to_non_root,
        items,
        probe_error,
        seconds: started.elapsed().as_secs_f64(),
        probe_seconds,
    }
}

/// `docker create` + `docker export` of one image into a listing (and, with `probe_fs`,
/// the probes' view of its files); the container goes again.
fn read_files(
    docker: &Docker,
    cleanup: &mut Cleanup<'_>,
    image: &str,
    probe_fs: bool,
    progress: &mut Progress,
) -> Result<(fsdiff::Listing, Option<probe::ImageFs>), String> {
    progress.begin(format!("reading the files of {image}"));
    let mut fs = probe_fs.then(probe::fs_visitor);
    let listing = docker.create(image).and_then(|id| {
        cleanup.containers.push(id.clone());
        let visitor: &mut dyn fsdiff::TarVisitor = match &mut fs {
            Some(v) => v,
            None => &mut fsdiff::ListingOnly,
        };
        let l = docker.export_listing(&id, progress, visitor);
        docker.remove_containers(&[id]);
        cleanup.containers.pop();
        l
    });
    progress.end(&match &listing {
        Ok(l) => format!("{} paths", l.len()),
        Err(_) => "FAILED".into(),
    });
    Ok((listing?, fs.map(probe::ImageFsReader::finish)))
}

/// A probe finding as a difference of the report.
fn finding_item(f: &probe::Finding) -> DiffItem {
    let mut item = DiffItem {
        kind: f.kind.name().to_string(),
        original: Some(report::value(f.original.as_deref())),
        fixed: Some(report::value(f.fixed.as_deref())),
        change: if f.fixed.is_none() {
            "removed"
        } else {
            "changed"
        }
        .into(),
        what: f.detail.clone(),
        ..DiffItem::default()
    };
    match f.kind {
        probe::FindingKind::Package => item.package = Some(f.subject.clone()),
        probe::FindingKind::Library => {
            item.path = Some(f.subject.clone());
            item.library = library_named(&f.detail);
        }
    }
    item
}

/// The library a probe's library finding names: "needs libpq.so.5, not found" or "needs
/// its loader /lib64/ld-linux-x86-64.so.2 (...)".
fn library_named(detail: &str) -> Option<String> {
    let rest = detail
        .strip_prefix("needs its loader ")
        .or_else(|| detail.strip_prefix("needs "))?;
    let name: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ',')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Sorts every difference into the report's expected (with the rule that covers it) and
/// unexpected lists, replacing what they held. With `app` (the base image changes), the
/// app-equivalence rules decide instead of "a base-image change covers everything".
fn classify_into(
    report: &mut Report,
    effects: &Effects,
    fs: &[fsdiff::FsDifference],
    config: &[inspect::ConfigDifference],
    app: Option<&AppState>,
) {
    report.expected_differences = report::Expected::default();
    report.unexpected_differences.clear();
    let place = |report: &mut Report, item: DiffItem| {
        if item.covered_by.is_some() {
            report.expected_differences.add(item);
        } else {
            report.unexpected_differences.push(item);
        }
    };
    let Some(app) = app else {
        for d in fs {
            let item = DiffItem::path(&d.path, d.change.name(), &d.what);
            place(
                report,
                match effects.cover_path(d) {
                    Some(c) => item.covered(c.by, c.reason),
                    None => item,
                },
            );
        }
        for d in config {
            let item = DiffItem::config(d.field, "changed", &d.what);
            place(
                report,
                match effects.cover_config(d.key) {
                    Some(c) => item.covered(c.by, c.reason),
                    None => item,
                },
            );
        }
        return;
    };
    let started = std::time::Instant::now();
    let ctx = app::Context {
        base_by: &app.base_by,
        root_to_non_root: app.root_to_non_root,
    };
    let paths = app::classify_paths(&app.spec, effects, &ctx, fs);
    let mut notes = app.spec.notes.clone();
    let mut counts: std::collections::BTreeMap<&str, (usize, &str)> =
        std::collections::BTreeMap::new();
    for item in &paths {
        if item.covered_by.as_deref() == Some(app::APP_COVER) {
            let reason = item.reason.as_deref().unwrap_or_default();
            let key = if reason.starts_with("added under") {
                "files added under the WORKDIR (build artefacts)"
            } else if reason.starts_with("a build input") || reason.contains("does not name it") {
                "paths of the build folder not in the new image (build inputs, or not named by the program)"
            } else if reason.starts_with("owner or mode") {
                "owner or mode changes of application files (root to non-root)"
            } else {
                continue;
            };
            let entry = counts
                .entry(key)
                .or_insert((0, item.path.as_deref().unwrap_or_default()));
            entry.0 += 1;
        }
    }
    for (what, (n, example)) in counts {
        notes.push(format!("{n} {what}, e.g. {example}"));
    }
    for item in paths.into_iter().chain(app.items.iter().cloned()) {
        place(report, item);
    }
    let spec = &app.spec;
    let seconds_so_far = app.seconds + started.elapsed().as_secs_f64();
    report.app_check = Some(AppCheck {
        because: app.because.clone(),
        workdir: spec.workdir.clone(),
        program: spec.command.program.clone(),
        program_original: spec.program_original.as_ref().map(|(_, r)| r.clone()),
        program_fixed: spec.program_fixed.as_ref().map(|(_, r)| r.clone()),
        named_files: spec.named.keys().cloned().collect(),
        compiled_program: spec.compiled.as_ref().map(|c| c.program.clone()),
        dependency_folders: spec.covered.clone(),
        notes,
        seconds: Some(seconds(seconds_so_far)),
        probe_seconds: app.probe_seconds,
    });
}

/// Why a smoke run failed, as a last line for its output (empty when it passed).
fn smoke_note(run: &docker::SmokeRun, spec: &SmokeSpec, found: bool, timeout: u64) -> String {
    if run.timed_out {
        format!("\n(stopped after {timeout} s)")
    } else if run.exit_code != Some(0) {
        format!(
            "\n(exit status {})",
            run.exit_code.map_or("none".into(), |c| c.to_string())
        )
    } else if !found {
        format!(
            "\n(the output does not contain {:?})",
            spec.expect.as_deref().unwrap_or_default()
        )
    } else {
        String::new()
    }
}

fn stop_interrupted(report: &mut Report, sides: Vec<Side>) -> Outcome {
    let mut sides = sides.into_iter();
    report.original = sides.next();
    report.fixed = sides.next();
    report.verdict = "interrupted".into();
    report.messages.push("Interrupted.".into());
    Outcome::Error
}

fn stop_error(report: &mut Report, sides: Vec<Side>, message: &str) -> Outcome {
    let mut sides = sides.into_iter();
    report.original = sides.next();
    report.fixed = sides.next();
    report.verdict = "error".into();
    report.messages.push(format!("error: {message}"));
    Outcome::Error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_are_valid_repository_components() {
        let dir = std::env::temp_dir().join(format!("dockopt Verify__Name-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let name = image_name(&dir);
        assert!(name.starts_with("dockopt-verify__name-"), "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        );
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(image_name(Path::new("/definitely/not/here")), "dockerfile");
    }

    #[test]
    fn the_json_help_names_every_required_key() {
        for key in [
            "\"original\"",
            "\"fixed\"",
            "build_ok",
            "size_bytes",
            "layers",
            "build_s",
            "rebuild_after_source_change_s",
            "rebuild_after_manifest_change_s",
            "smoke_ok",
            "applied_fixes",
            "expected_differences",
            "unexpected_differences",
            "\"against\"",
            "\"app_check\"",
            "\"kind\"",
            "no-engine",
        ] {
            assert!(JSON_HELP.contains(key), "{key}");
        }
        for kind in ["path", "config", "user", "package", "library"] {
            assert!(JSON_HELP.contains(&format!("\"{kind}\"")), "{kind}");
        }
    }

    fn outcome_changing(files: &[(&Path, &str)]) -> FixOutcome {
        FixOutcome {
            text: "FROM a\n".into(),
            applied: Vec::new(),
            rounds: 0,
            remaining: Vec::new(),
            file_changes: files
                .iter()
                .map(|(path, text)| dockopt_fix::AppliedFileChange {
                    rule: "dockerignore",
                    title: "Ignore".into(),
                    applicability: Applicability::Safe,
                    effect: dockopt_fix::DeclaredEffect::none(),
                    change: dockopt_fix::FileChange::create(*path, *text),
                })
                .collect(),
            refused: None,
        }
    }

    #[test]
    fn only_the_ignore_file_the_build_reads_may_change() {
        let dir =
            std::env::temp_dir().join(format!("dockopt-verify-ignore-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let dockerfile = dir.join("Dockerfile");
        std::fs::write(&dockerfile, "FROM a\n").unwrap();
        let context_ignore = dir.join(".dockerignore");
        let own = dir.join("Dockerfile.dockerignore");

        assert_eq!(
            ignore_change(&dockerfile, &dir, &outcome_changing(&[])),
            Ok(None)
        );
        // The context's .dockerignore, named any way.
        let via = dir.join("sub/../.dockerignore");
        let outcome = outcome_changing(&[(&via, ".git\n")]);
        assert_eq!(
            ignore_change(&dockerfile, &dir, &outcome),
            Ok(Some(".git\n".into()))
        );
        // Another file.
        let other = dir.join("sub/.dockerignore");
        let err =
            ignore_change(&dockerfile, &dir, &outcome_changing(&[(&other, "x\n")])).unwrap_err();
        assert!(
            err.contains("dockerignore") && err.contains("--ignore"),
            "{err}"
        );
        // Its own ignore file, created: the context's is not read then.
        let outcome = outcome_changing(&[(&own, "own\n")]);
        assert_eq!(
            ignore_change(&dockerfile, &dir, &outcome),
            Ok(Some("own\n".into()))
        );
        let both = outcome_changing(&[(&own, "own\n"), (&context_ignore, "ctx\n")]);
        assert!(ignore_change(&dockerfile, &dir, &both).is_err());
        // Its own ignore file exists: a change of the context's is not seen.
        std::fs::write(&own, "old\n").unwrap();
        let outcome = outcome_changing(&[(&context_ignore, "ctx\n")]);
        assert!(ignore_change(&dockerfile, &dir, &outcome).is_err());

        // write_fixed puts the new text beside the fixed Dockerfile, under its own name.
        let plan = Plan {
            dockerfile: dockerfile.clone(),
            against: None,
            original_text: "FROM a\n".into(),
            context: dir.clone(),
            name: format!("ignore-test-{}", std::process::id()),
            outcome: outcome_changing(&[(&own, "new\n")]),
            ignore_text: Some("new\n".into()),
            touches: Vec::new(),
            smoke: None,
        };
        let (fixed_dir, fixed) = write_fixed(&plan).unwrap();
        assert_eq!(std::fs::read_to_string(&fixed).unwrap(), "FROM a\n");
        assert_eq!(
            std::fs::read_to_string(fixed_dir.join("Dockerfile.dockerignore")).unwrap(),
            "new\n"
        );
        // Without a change, its own ignore file is copied as it is.
        let plan = Plan {
            ignore_text: None,
            ..plan
        };
        write_fixed(&plan).unwrap();
        assert_eq!(
            std::fs::read_to_string(fixed_dir.join("Dockerfile.dockerignore")).unwrap(),
            "old\n"
        );
        std::fs::remove_dir_all(&fixed_dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
