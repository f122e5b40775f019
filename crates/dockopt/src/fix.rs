//! `dockopt fix`: apply fixes in place, or show them as a diff or a patch first.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use clap::Args;
use dockopt_fix::{
    AppliedFileChange, FixOptions, FixOutcome, PatchFile, Refusal, fix_loop, patch_files,
};
use dockopt_syntax::parse;
use dockopt_transforms::check_file_in;

use crate::check::{SelectionArgs, settings_for};
use crate::color::{ColorChoice, Palette};
use crate::config::{ConfigFinder, Settings};
use crate::discover::find_dockerfiles;
use crate::input::read_dockerfile;
use crate::write::{canonical_target, create_new, has_uncommitted_changes, write_if_unchanged};
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

/// A change to another file than a Dockerfile (e.g. a `.dockerignore`) that this run shows
/// or writes: one per file, the first proposed.
struct PlannedChange<'a> {
    /// Index into the results of the Dockerfile whose fixes proposed it.
    from: usize,
    change: &'a AppliedFileChange,
    /// The name diffs use.
    label: String,
}

/// The file changes of `results`, one per file (by canonical path): a change proposed
/// again with the same text is shown and written once; a different one is left out with a
/// warning, for the next run.
fn plan_file_changes(results: &[FileResult]) -> Vec<PlannedChange<'_>> {
    let mut planned: Vec<PlannedChange<'_>> = Vec::new();
    let mut by_path: HashMap<PathBuf, usize> = HashMap::new();
    for (from, r) in results.iter().enumerate() {
        for change in &r.outcome.file_changes {
            let label = diff_path(&change.change.path);
            let key = canonical_target(&change.change.path);
            match by_path.get(&key) {
                Some(&first) if planned[first].change.change.text == change.change.text => {}
                Some(_) => eprintln!(
                    "warning: {label}: {} also proposed a different change for {}; run dockopt fix again after this one",
                    change.rule,
                    r.path.display()
                ),
                None => {
                    by_path.insert(key, planned.len());
                    planned.push(PlannedChange {
                        from,
                        change,
                        label,
                    });
                }
            }
        }
    }
    planned
}

/// The label a diff uses for `path`: relative to the current folder, `/` separators. The
/// file need not exist (a file a fix creates).
fn diff_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let relative = cwd
        .as_deref()
        .and_then(|c| {
            canonical_target(path)
                .strip_prefix(c)
                .ok()
                .map(Path::to_path_buf)
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

/// The error for a file the fix loop refused, after `error: `: what went wrong, then
/// `consequence` (what this run does with the file: "nothing written for this file").
///
/// A refusal that shows a bug in a rule's fix (a syntax error, or a RUN whose commands it
/// would lose, reorder or comment out; [`Refusal::is_rule_bug`]) is an internal error that
/// names the rules, so the report reaches the right code; fixes that do not settle are a
/// plainer "not fixed". Both ask to be reported: the rules promised better.
pub(crate) fn refusal_message(path: &Path, refusal: &Refusal, consequence: &str) -> String {
    let path = path.display();
    if refusal.is_rule_bug() {
        let rules = refusal.rules();
        let (plural, whose) = if rules.len() == 1 {
            ("", "its")
        } else {
            ("s", "their")
        };
        format!(
            "{path}: internal error in rule{plural} {}: {whose} fixes {}; {consequence} (please report this)",
            rules.join(", "),
            refusal.reason()
        )
    } else {
        format!("{path}: not fixed: {refusal}; {consequence} (please report this)")
    }
}

/// How one file's text is fixed: [`fix_text`], except in tests that need a refusal no real
/// rule produces.
type Fixer<'a> = &'a (dyn Fn(&str, &Settings, &Path) -> FixOutcome + Sync);

pub fn run(args: &FixArgs) -> Outcome {
    run_with(args, &fix_text)
}

fn run_with(args: &FixArgs, fixer: Fixer<'_>) -> Outcome {
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
            Ok(settings) => fix_stdin(name, &settings, fixer),
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
            outcome: fixer(&original, &settings, path),
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
    // A refused file is left as it was; the others are still fixed (one bad file never
    // stops the run), and the run exits 2.
    let consequence = if args.dry_run {
        "left out of the diff"
    } else if args.patch.is_some() {
        "left out of the patch"
    } else {
        "nothing written for this file"
    };
    for r in &fixed {
        if let Some(refusal) = &r.outcome.refused {
            failed = true;
            eprintln!("error: {}", refusal_message(&r.path, refusal, consequence));
        }
    }
    // Refused outcomes have neither text changes nor file changes.
    let changed: Vec<usize> = (0..fixed.len())
        .filter(|&i| fixed[i].outcome.text_changed())
        .collect();
    let planned = plan_file_changes(&fixed);
    let applied: usize = changed
        .iter()
        .map(|&i| fixed[i].outcome.text_fixes().count())
        .sum::<usize>()
        + planned.len();
    let changed_files = changed.len() + planned.len();

    if args.dry_run || args.patch.is_some() {
        // Each Dockerfile, then the other files its fixes change.
        let mut entries: Vec<(String, Option<&str>, &str)> = Vec::new();
        for (i, r) in fixed.iter().enumerate() {
            if r.outcome.text_changed() {
                entries.push((
                    diff_path(&r.path),
                    Some(r.original.as_str()),
                    r.outcome.text.as_str(),
                ));
            }
            for p in planned.iter().filter(|p| p.from == i) {
                entries.push((
                    p.label.clone(),
                    p.change.change.original.as_deref(),
                    p.change.change.text.as_str(),
                ));
            }
        }
        let files: Vec<PatchFile<'_>> = entries
            .iter()
            .map(|(path, old, new)| PatchFile {
                path,
                old: *old,
                new,
            })
            .collect();
        let diff = patch_files(&files);
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
                "{verb} {applied} fix{} in {changed_files} file{}.",
                plural_es(applied),
                plural(changed_files)
            );
        }
        return if failed {
            Outcome::Error
        } else if changed_files == 0 {
            Outcome::Clean
        } else {
            Outcome::Findings
        };
    }

    let mut written = 0;
    let mut written_fixes = 0;
    // Dockerfiles left as they were: their file changes are not written either, as the
    // rules made them against the fixed Dockerfile.
    let mut not_written = vec![false; fixed.len()];
    for &i in &changed {
        let r = &fixed[i];
        if !args.allow_dirty && has_uncommitted_changes(&r.path) == Some(true) {
            eprintln!(
                "error: {}: has uncommitted changes; commit or stash them first, or pass --allow-dirty",
                r.path.display()
            );
            failed = true;
            not_written[i] = true;
            continue;
        }
        match write_if_unchanged(&r.path, &r.original, &r.outcome.text) {
            Ok(()) => {
                written += 1;
                written_fixes += r.outcome.text_fixes().count();
            }
            Err(e) => {
                eprintln!("error: {}: {e}", r.path.display());
                failed = true;
                not_written[i] = true;
            }
        }
    }
    for p in &planned {
        let change = &p.change.change;
        let path = &change.path;
        if not_written[p.from] {
            eprintln!(
                "error: {}: not written, as {} was not",
                path.display(),
                fixed[p.from].path.display()
            );
            failed = true;
            continue;
        }
        let result = match &change.original {
            Some(original) => {
                if !args.allow_dirty && has_uncommitted_changes(path) == Some(true) {
                    eprintln!(
                        "error: {}: has uncommitted changes; commit or stash them first, or pass --allow-dirty",
                        path.display()
                    );
                    failed = true;
                    continue;
                }
                write_if_unchanged(path, original, &change.text)
            }
            None => create_new(path, &change.text),
        };
        match result {
            Ok(()) => {
                written += 1;
                written_fixes += 1;
            }
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
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

fn fix_stdin(name: &Path, settings: &Settings, fixer: Fixer<'_>) -> Outcome {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        eprintln!("error: stdin: {e}");
        return Outcome::Error;
    }
    let Ok(text) = String::from_utf8(bytes) else {
        eprintln!("error: {}: stdin is not valid UTF-8", name.display());
        return Outcome::Error;
    };
    let outcome = fixer(&text, settings, name);
    if let Some(refusal) = &outcome.refused {
        eprintln!(
            "error: {}",
            refusal_message(name, refusal, "the input is printed unchanged")
        );
        print_stdout(&text);
        return Outcome::Error;
    }
    print_stdout(&outcome.text);
    for c in &outcome.file_changes {
        eprintln!(
            "note: {}: {} would also change {} (not written with --stdin-filename; run dockopt fix on the file)",
            name.display(),
            c.rule,
            diff_path(&c.change.path)
        );
    }
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::Parser as _;
    use dockopt_fix::{
        Applicability, AppliedFileChange, DeclaredEffect, FileChange, FixOutcome, Refusal,
    };

    use super::{FileResult, FixArgs, fix_text, plan_file_changes, refusal_message, run_with};
    use crate::Outcome;
    use crate::config::Settings;

    fn changes_meaning(rules: Vec<&'static str>) -> Refusal {
        Refusal::ChangesMeaning {
            rules,
            message: "change what RUN at 3:1 does: `touch /two` (line 3) no longer runs (it would sit inside a comment)".into(),
            line: 3,
            column: 1,
        }
    }

    #[test]
    fn a_rule_bug_is_an_internal_error_naming_the_rule() {
        let path = Path::new("app/Dockerfile");
        assert_eq!(
            refusal_message(
                path,
                &changes_meaning(vec!["merge-runs"]),
                "nothing written for this file"
            ),
            "app/Dockerfile: internal error in rule merge-runs: its fixes would change what RUN at 3:1 does: `touch /two` (line 3) no longer runs (it would sit inside a comment); nothing written for this file (please report this)"
        );
        assert_eq!(
            refusal_message(
                path,
                &changes_meaning(vec!["apt-get-yes", "merge-runs"]),
                "left out of the diff"
            ),
            "app/Dockerfile: internal error in rules apt-get-yes, merge-runs: their fixes would change what RUN at 3:1 does: `touch /two` (line 3) no longer runs (it would sit inside a comment); left out of the diff (please report this)"
        );
        let syntax = Refusal::NewSyntaxError {
            rules: vec!["exec-form"],
            message: "unterminated heredoc".into(),
            line: 4,
            column: 2,
        };
        assert_eq!(
            refusal_message(path, &syntax, "nothing written for this file"),
            "app/Dockerfile: internal error in rule exec-form: its fixes would introduce a syntax error at 4:2: unterminated heredoc; nothing written for this file (please report this)"
        );
        let loops = Refusal::Oscillates {
            rules: vec!["a", "b"],
        };
        assert_eq!(
            refusal_message(path, &loops, "nothing written for this file"),
            "app/Dockerfile: not fixed: fixes by a, b undo each other; nothing written for this file (please report this)"
        );
    }

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        fix: FixArgs,
    }

    /// No real rule trips the guard today (that is the point of fixing the rules), so the
    /// refused file comes from a fixer that refuses what a broken rule would.
    fn refusing_fixer(text: &str, settings: &Settings, path: &Path) -> FixOutcome {
        if !text.contains("# broken rule here") {
            return fix_text(text, settings, path);
        }
        FixOutcome {
            text: text.to_string(),
            applied: Vec::new(),
            rounds: 1,
            remaining: Vec::new(),
            file_changes: Vec::new(),
            refused: Some(changes_meaning(vec!["merge-runs"])),
        }
    }

    #[test]
    fn a_refused_file_is_left_as_it_was_the_others_are_fixed_and_the_run_exits_2() {
        let dir = std::env::temp_dir().join(format!("dockopt-refused-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("b")).unwrap();
        let refused = "FROM alpine:3.20\n# broken rule here\nrun echo one\n";
        let fine = "FROM alpine:3.20\nrun echo two\n";
        std::fs::write(dir.join("a/Dockerfile"), refused).unwrap();
        std::fs::write(dir.join("b/Dockerfile"), fine).unwrap();
        let cli = Cli::parse_from([
            "fix".as_ref(),
            dir.as_os_str(),
            "--allow-dirty".as_ref(),
            "--quiet".as_ref(),
        ]);
        assert_eq!(run_with(&cli.fix, &refusing_fixer), Outcome::Error);
        assert_eq!(
            std::fs::read_to_string(dir.join("a/Dockerfile")).unwrap(),
            refused
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("b/Dockerfile")).unwrap(),
            "FROM alpine:3.20\nRUN echo two\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn result(dockerfile: &str, changes: &[(&std::path::Path, &str)]) -> FileResult {
        FileResult {
            path: dockerfile.into(),
            original: "FROM a\n".into(),
            outcome: FixOutcome {
                text: "FROM a\n".into(),
                applied: Vec::new(),
                rounds: 0,
                remaining: Vec::new(),
                file_changes: changes
                    .iter()
                    .map(|(path, text)| AppliedFileChange {
                        rule: "dockerignore",
                        title: "Ignore".into(),
                        applicability: Applicability::Safe,
                        effect: DeclaredEffect::none(),
                        change: FileChange::create(*path, *text),
                    })
                    .collect(),
                refused: None,
            },
        }
    }

    #[test]
    fn file_changes_are_planned_once_per_file_and_the_first_proposal_wins() {
        let dir = std::env::temp_dir().join(format!("dockopt-plan-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let ignore = dir.join(".dockerignore");
        let same = dir.join("sub/../.dockerignore");
        let other = dir.join("sub/.dockerignore");
        let results = [
            result("a/Dockerfile", &[(&ignore, ".git\n")]),
            // The same text by another name of the file: once.
            result("a/Dockerfile.dev", &[(&same, ".git\n"), (&other, "x\n")]),
            // A different text: left for the next run.
            result("a/Dockerfile.prod", &[(&ignore, "node_modules\n")]),
        ];
        let planned = plan_file_changes(&results);
        let got: Vec<(usize, &str)> = planned
            .iter()
            .map(|p| (p.from, p.change.change.text.as_str()))
            .collect();
        assert_eq!(got, vec![(0, ".git\n"), (1, "x\n")]);
        // Labels of files that do not exist yet are still resolved.
        let real = std::fs::canonicalize(&dir).unwrap();
        assert_eq!(
            planned[1].label,
            real.join("sub/.dockerignore").to_string_lossy()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
