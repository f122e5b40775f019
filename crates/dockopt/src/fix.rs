//! `dockopt fix`: apply fixes in place, or show them as a diff or a patch first.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use clap::Args;
use dockopt_fix::{FixOptions, FixOutcome, fix_loop, patch};
use dockopt_syntax::parse;
use dockopt_transforms::check_file_in;

use crate::check::{SelectionArgs, settings_for};
use crate::color::{ColorChoice, Palette};
use crate::config::{ConfigFinder, Settings};
use crate::discover::find_dockerfiles;
use crate::input::read_dockerfile;
use crate::write::{has_uncommitted_changes, write_if_unchanged};
use crate::{Outcome, print_stdout};

#[derive(Debug, Args)]
pub struct FixArgs {
    /// Files and folders to fix (default: the current folder).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Also apply Unsafe fixes (they change what the image contains or runs; see
    /// `dockopt rule NAME`, section "Fix safety").
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Print the unified diff of every change and write nothing; exit 1 if something would
    /// change.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the changes as a patch to FILE (for `git apply`) instead of changing the files.
    #[arg(long, value_name = "FILE", conflicts_with = "dry_run")]
    pub patch: Option<PathBuf>,
    /// Read a Dockerfile on stdin and write the fixed text to stdout; NAME is used in
    /// messages (for editors and scripts).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["dry_run", "patch"])]
    pub stdin_filename: Option<PathBuf>,
    /// Fix files that have uncommitted changes in git (refused by default, as cargo fix
    /// does, so a fix never mixes with unsaved work).
    #[arg(long)]
    pub allow_dirty: bool,
    /// Print only errors and the diff.
    #[arg(long, short)]
    pub quiet: bool,
    /// Colour the --dry-run diff (`auto`: on a terminal, unless NO_COLOR is set). Patch
    /// files are never coloured.
    #[arg(long, value_enum, default_value_t)]
    pub color: ColorChoice,
}

struct FileResult {
    path: PathBuf,
    original: String,
    outcome: FixOutcome,
}

/// The label a diff uses for `path`: relative to the current folder, `/` separators.
fn diff_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let relative = cwd
        .as_deref()
        .and_then(|c| {
            std::fs::canonicalize(path)
                .ok()
                .and_then(|p| p.strip_prefix(c).ok().map(Path::to_path_buf))
        })
        .unwrap_or_else(|| path.to_path_buf());
    relative
        .to_string_lossy()
        .replace('\\', "/")
        .trim_start_matches("./")
        .to_string()
}

pub(crate) fn fix_text(text: &str, settings: &Settings, path: &Path) -> FixOutcome {
    let options = FixOptions::new(settings.unsafe_fixes);
    let context = settings.build_context(path);
    fix_loop(text, &options, &|file| {
        let mut diagnostics = check_file_in(file, &settings.selection, Some(&context));
        settings.adjust(&mut diagnostics);
        diagnostics
    })
}

pub fn run(args: &FixArgs) -> Outcome {
    let overrides = match args.selection.overrides(args.unsafe_fixes) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Error;
        }
    };
    let finder = ConfigFinder::default();
    if let Some(name) = &args.stdin_filename {
        return match settings_for(name, &finder, &overrides) {
            Ok(settings) => fix_stdin(name, &settings),
            Err(e) => {
                eprintln!("error: {e}");
                Outcome::Error
            }
        };
    }
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let (files, mut errors) = find_dockerfiles(&paths);
    let results = crate::parallel::parallel_map(&files, "fixing", |path| {
        let settings = settings_for(path, &finder, &overrides)?;
        read_dockerfile(path).map(|original| FileResult {
            path: path.clone(),
            outcome: fix_text(&original, &settings, path),
            original,
        })
    });
    let mut fixed = Vec::new();
    for r in results {
        match r {
            Ok(r) => fixed.push(r),
            Err(e) => errors.push(e),
        }
    }
    let mut failed = !errors.is_empty();
    crate::input::report_errors(&errors);
    for r in fixed.iter().filter(|r| r.outcome.is_refused()) {
        failed = true;
        if let Some(refusal) = &r.outcome.refused {
            eprintln!(
                "error: {}: not fixed: {refusal} (please report this)",
                r.path.display()
            );
        }
    }
    let changed: Vec<&FileResult> = fixed.iter().filter(|r| r.outcome.is_changed()).collect();
    let applied: usize = changed.iter().map(|r| r.outcome.applied.len()).sum();

    if args.dry_run || args.patch.is_some() {
        let files: Vec<(String, &str, &str)> = changed
            .iter()
            .map(|r| {
                (
                    diff_path(&r.path),
                    r.original.as_str(),
                    r.outcome.text.as_str(),
                )
            })
            .collect();
        let diff = patch(&files);
        if let Some(target) = &args.patch {
            if let Err(e) = write_new_file(target, &diff) {
                eprintln!("error: {}: {e}", target.display());
                return Outcome::Error;
            }
        } else {
            print_stdout(&Palette::new(args.color).diff(&diff));
        }
        if !args.quiet {
            let verb = if args.patch.is_some() {
                "The patch has"
            } else {
                "Would apply"
            };
            eprintln!(
                "{verb} {applied} fix{} in {} file{}.",
                plural_es(applied),
                changed.len(),
                plural(changed.len())
            );
        }
        return if failed {
            Outcome::Error
        } else if changed.is_empty() {
            Outcome::Clean
        } else {
            Outcome::Findings
        };
    }

    let mut written = 0;
    let mut written_fixes = 0;
    for r in &changed {
        if !args.allow_dirty && has_uncommitted_changes(&r.path) == Some(true) {
            eprintln!(
                "error: {}: has uncommitted changes; commit or stash them first, or pass --allow-dirty",
                r.path.display()
            );
            failed = true;
            continue;
        }
        match write_if_unchanged(&r.path, &r.original, &r.outcome.text) {
            Ok(()) => {
                written += 1;
                written_fixes += r.outcome.applied.len();
            }
            Err(e) => {
                eprintln!("error: {}: {e}", r.path.display());
                failed = true;
            }
        }
    }
    let remaining: usize = fixed.iter().map(|r| r.outcome.remaining.len()).sum();
    if !args.quiet {
        let mut report = String::new();
        for r in &fixed {
            for d in &r.outcome.remaining {
                let file = parse(&r.outcome.text);
                let _ = writeln!(
                    report,
                    "{}:{}: {}: {}",
                    r.path.display(),
                    file.line_col(d.range.start),
                    d.rule,
                    d.message
                );
            }
        }
        let _ = writeln!(
            report,
            "Fixed {written_fixes} problem{} in {written} file{}; {remaining} remaining.",
            plural(written_fixes),
            plural(written)
        );
        print_stdout(&report);
    }
    if failed {
        Outcome::Error
    } else if remaining > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn plural_es(n: usize) -> &'static str {
    if n == 1 { "" } else { "es" }
}

/// Writes a new file (the patch) through a temporary file, so a crash leaves no half patch.
fn write_new_file(path: &Path, content: &str) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = dir.join(format!(".dockopt-patch-{}.tmp", std::process::id()));
    std::fs::write(&temp, content).map_err(|e| crate::input::describe_io(&e))?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        crate::input::describe_io(&e)
    })
}

fn fix_stdin(name: &Path, settings: &Settings) -> Outcome {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        eprintln!("error: stdin: {e}");
        return Outcome::Error;
    }
    let Ok(text) = String::from_utf8(bytes) else {
        eprintln!("error: {}: stdin is not valid UTF-8", name.display());
        return Outcome::Error;
    };
    let outcome = fix_text(&text, settings, name);
    if let Some(refusal) = &outcome.refused {
        eprintln!("error: {}: not fixed: {refusal}", name.display());
        print_stdout(&text);
        return Outcome::Error;
    }
    print_stdout(&outcome.text);
    let file = parse(&outcome.text);
    for d in &outcome.remaining {
        eprintln!(
            "{}:{}: {}: {}",
            name.display(),
            file.line_col(d.range.start),
            d.rule,
            d.message
        );
    }
    Outcome::Clean
}
