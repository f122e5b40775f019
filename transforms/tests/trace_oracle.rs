//! dockopt's fixes against the shell-trace oracle (crate `dockopt-trace`): every Dockerfile
//! of the shared corpus (`DOCKOPT_CORPUS`, a path relative to the workspace root), of
//! `transforms/fixtures/*/` and of `examples/*/` is fixed in-process four ways, and every
//! file a fix changes is replayed before and after with stubbed programs in a sandbox:
//!
//! - merge-runs alone (Safe fixes), with its default options and with `only-related =
//!   false` (which merges every pair it can): the replays must be identical (`Exact`), in
//!   the nominal run and with each program made to fail in turn; and merge-runs must not
//!   touch a stage the oracle cannot replay because it runs cmd or PowerShell (a Windows
//!   base, a non-POSIX SHELL): merging there is a bug of the rule, not a skip;
//! - the default rules (Safe fixes, what `dockopt fix` applies): the original's calls must
//!   embed in the fixed file's calls, with the same folder, environment, output and
//!   outcome (`Additive`);
//! - the default rules with `--unsafe-fixes`: no verdict, the differences are counted
//!   (`Report`).
//!
//! In every pass the fix loop must not refuse: a refusal is a rule bug (its semantic guard
//! caught a rewrite that lost or reordered commands), so the test fails and names it.
//!
//! The figures go to stderr, past the test harness's capture, so every run shows them.
//! Needs bubblewrap; without it the test fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use dockopt_fix::{FixOptions, fix_loop};
use dockopt_trace::{Config, INSTALL_BWRAP, Mode, Oracle, Tally, Verdict, parallel_map};
use dockopt_transforms::{BuildContext, RuleOptions, Selection, check_file_in};

/// Writes to the process's stderr directly: the harness captures `eprintln!` of passing
/// tests, and these figures are the point of the suite.
macro_rules! figures {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// The project's own files: fixtures (with their `context/` when there is one) and examples.
fn project_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let fixtures = root.join("transforms/fixtures");
    for rule in std::fs::read_dir(&fixtures).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(rule.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "Dockerfile") {
                out.push(path);
            }
        }
    }
    for example in std::fs::read_dir(root.join("examples"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let path = example.path().join("Dockerfile");
        if path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The build context the CLI would use: the Dockerfile's folder (a fixture's `context/`).
fn context_for(path: &Path) -> BuildContext {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fixture_context = folder.join("context");
    if fixture_context.is_dir() {
        BuildContext::new(&fixture_context)
    } else {
        BuildContext::for_dockerfile(folder, path)
    }
}

/// One way of fixing: the rules, whether Unsafe fixes apply, and the oracle's mode.
struct Pass {
    label: &'static str,
    mode: Mode,
    selection: fn() -> Selection,
    unsafe_fixes: bool,
}

fn merge_runs_all_pairs() -> Selection {
    let mut table = toml::Table::new();
    table.insert("only-related".into(), toml::Value::Boolean(false));
    let options = RuleOptions::new(BTreeMap::from([("merge-runs".to_owned(), table)]))
        .expect("merge-runs has an only-related option");
    Selection::only(&["merge-runs"]).with_options(options)
}

const PASSES: [Pass; 4] = [
    Pass {
        label: "merge-runs alone, Safe",
        mode: Mode::Exact,
        selection: || Selection::only(&["merge-runs"]),
        unsafe_fixes: false,
    },
    Pass {
        label: "merge-runs alone with only-related = false, Safe",
        mode: Mode::Exact,
        selection: merge_runs_all_pairs,
        unsafe_fixes: false,
    },
    Pass {
        label: "default rules, Safe (dockopt fix)",
        mode: Mode::Additive,
        selection: Selection::defaults,
        unsafe_fixes: false,
    },
    Pass {
        label: "default rules, --unsafe-fixes",
        mode: Mode::Report,
        selection: Selection::defaults,
        unsafe_fixes: true,
    },
];

/// The fixed text of `text` in `pass`; the refusal when the fix loop refused.
fn fixed(path: &Path, text: &str, pass: &Pass) -> Result<String, String> {
    let selection = (pass.selection)();
    let options = FixOptions::new(pass.unsafe_fixes);
    let context = context_for(path);
    let check = |f: &dockopt_syntax::Dockerfile| check_file_in(f, &selection, Some(&context));
    let outcome = fix_loop(text, &options, &check);
    match outcome.refused {
        Some(refusal) => Err(refusal.to_string()),
        None => Ok(outcome.text),
    }
}

/// What happened to one file in each pass.
struct FileResult {
    /// Per pass: the verdict when the fix changed the file.
    verdicts: Vec<Option<Verdict>>,
    /// Per pass: why the fix loop refused.
    refused: Vec<Option<String>>,
    unreadable: bool,
}

fn run_file(oracle: &Oracle, root: &Path, path: &Path) -> FileResult {
    let mut result = FileResult {
        verdicts: vec![None; PASSES.len()],
        refused: vec![None; PASSES.len()],
        unreadable: false,
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        result.unreadable = true;
        return result;
    };
    let name = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    for (i, pass) in PASSES.iter().enumerate() {
        match fixed(path, &text, pass) {
            Err(why) => result.refused[i] = Some(format!("{name}: {why}")),
            Ok(after) if after == text => {}
            Ok(after) => {
                result.verdicts[i] = Some(oracle.compare(&name, &text, &after, pass.mode));
            }
        }
    }
    result
}

#[test]
fn dockopt_fixes_keep_what_each_run_does() {
    let started = Instant::now();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let oracle = Oracle::new(Config::default())
        .unwrap_or_else(|e| panic!("the trace oracle cannot run: {e}; {INSTALL_BWRAP}"));
    let mut files = project_files(&root);
    let project = files.len();
    if let Some(dir) = dockopt_testing::corpus() {
        let corpus_files = dockopt_testing::dockerfiles(&dir);
        assert!(
            corpus_files.len() > 700,
            "expected the whole corpus under {}, found {} files",
            dir.display(),
            corpus_files.len()
        );
        files.extend(corpus_files);
    } else {
        figures!(
            "DOCKOPT_CORPUS not set: the trace oracle skips the corpus and checks the project's \
             fixtures and examples only"
        );
    }
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let results = parallel_map(&files, threads, |path| run_file(&oracle, &root, path));

    let mut tallies: Vec<Tally> = PASSES.iter().map(|p| Tally::new(p.mode)).collect();
    let mut refused: Vec<Vec<&str>> = vec![Vec::new(); PASSES.len()];
    let mut unreadable = 0;
    for r in &results {
        unreadable += usize::from(r.unreadable);
        for i in 0..PASSES.len() {
            if let Some(why) = &r.refused[i] {
                refused[i].push(why);
            }
            if let Some(v) = &r.verdicts[i] {
                tallies[i].add(v);
            }
        }
    }
    figures!(
        "trace oracle: {} files ({project} fixtures and examples, {} corpus), {unreadable} \
         unreadable, {threads} threads, {:.1} s",
        files.len(),
        files.len() - project,
        started.elapsed().as_secs_f64()
    );
    for ((pass, t), refused) in PASSES.iter().zip(&tallies).zip(&refused) {
        figures!(
            "\n[{}; {} fix loops refused]\n{}",
            pass.label,
            refused.len(),
            t.summary()
        );
        if !t.non_posix_changed.is_empty() {
            figures!(
                "    changed stages that run cmd or PowerShell (not replayed): {}",
                t.non_posix_changed.len()
            );
        }
    }
    let mut problems = Vec::new();
    for ((pass, t), refused) in PASSES.iter().zip(&tallies).zip(&refused) {
        for v in t.different.iter().chain(&t.failed) {
            figures!("\n{v}");
            problems.push(format!("{} ({})", v.file, v.mode.name()));
        }
        // A refusal is a rule bug the fix loop's guard caught.
        for why in refused {
            figures!("\n[{}] fix loop refused: {why}", pass.label);
            problems.push(format!("{why} ({}: refused)", pass.label));
        }
        // merge-runs must leave stages that run cmd or PowerShell alone: the oracle cannot
        // replay them, so a merge there would pass unseen.
        if pass.mode == Mode::Exact {
            for stage in &t.non_posix_changed {
                figures!(
                    "\n[{}] merge-runs changed a stage that does not run sh: {stage}",
                    pass.label
                );
                problems.push(format!(
                    "{stage} ({}: merge-runs touched a non-POSIX stage)",
                    pass.label
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences, oracle failures, refusals or non-POSIX merges (see above): \
         {problems:?}",
        problems.len()
    );
}
