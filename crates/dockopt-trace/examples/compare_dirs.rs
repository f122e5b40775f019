//! Compares two folders of Dockerfiles with the oracle: each file of `ORACLE_BEFORE` with
//! the file of the same name in `ORACLE_AFTER` (only pairs whose texts differ are replayed),
//! in `ORACLE_MODE` (`exact`, `additive` or `report`; default `exact`). Prints every
//! difference, a guess at which known kind of rewriting bug it looks like, and the figures.
//!
//! ```sh
//! ORACLE_BEFORE=/tmp/before/original ORACLE_AFTER=/tmp/before/merge-runs ORACLE_MODE=exact \
//!     cargo run -p dockopt-trace --example compare_dirs
//! ```
//!
//! Exit status 1 when a difference (or an oracle failure) was found.

use std::path::PathBuf;
use std::time::Instant;

use dockopt_trace::{
    Config, Difference, Judgement, Mode, Oracle, Scenario, Tally, Verdict, parallel_map,
};

/// Which known kind of rewriting bug a difference looks like.
fn looks_like(d: &Difference) -> &'static str {
    let m = &d.mismatch;
    let text = format!("{} | {} | {}", m.what, m.original, m.fixed);
    if text.contains("another folder") {
        return "shell state leaks into the next body (a `cd` outside a subshell)";
    }
    if text.contains("another umask") || text.contains("another mode") {
        return "a `umask` leaks into the next body";
    }
    if text.contains("a file the shell wrote differs") {
        return "a redirection writes elsewhere or something else (a leaked `cd` or variable?)";
    }
    if text.contains("(exit 2)") {
        return "the fixed RUN is a syntax error (e.g. a `)` inside a comment)";
    }
    if let Scenario::FailsCall { .. } = d.scenario {
        return "a failing call no longer stops the build (e.g. a cleanup joined with `;`)";
    }
    if let Scenario::Fails(_) = d.scenario {
        if m.what.contains("the fixed file has") || m.fixed.contains("ok") {
            return "a failure no longer stops the build (e.g. `set -e` on the left of `&&`)";
        }
        return "differs when a program fails";
    }
    if m.what.contains("the original has") || m.what.contains("missing") {
        return "commands no longer run (e.g. a trailing comment swallows them)";
    }
    "other"
}

fn main() {
    let var = |name: &str| std::env::var_os(name).map(PathBuf::from);
    let (Some(before), Some(after)) = (var("ORACLE_BEFORE"), var("ORACLE_AFTER")) else {
        eprintln!(
            "set ORACLE_BEFORE and ORACLE_AFTER (folders), ORACLE_MODE (exact|additive|report)"
        );
        std::process::exit(2);
    };
    let mode = std::env::var("ORACLE_MODE")
        .ok()
        .map_or(Some(Mode::Exact), |m| Mode::parse(&m))
        .unwrap_or_else(|| {
            eprintln!("ORACLE_MODE must be exact, additive or report");
            std::process::exit(2);
        });
    let started = Instant::now();
    let oracle = Oracle::new(Config::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut names: Vec<String> = std::fs::read_dir(&before)
        .unwrap_or_else(|e| panic!("{}: {e}", before.display()))
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut missing = 0;
    let mut unchanged = 0;
    let mut pairs = Vec::new();
    for name in &names {
        let (Ok(a), Ok(b)) = (
            std::fs::read_to_string(before.join(name)),
            std::fs::read_to_string(after.join(name)),
        ) else {
            missing += 1;
            continue;
        };
        if a == b {
            unchanged += 1;
        } else {
            pairs.push((name.clone(), a, b));
        }
    }
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let verdicts: Vec<Verdict> = parallel_map(&pairs, threads, |(name, a, b)| {
        oracle.compare(name, a, b, mode)
    });
    let mut tally = Tally::new(mode);
    let mut kinds: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for v in &verdicts {
        tally.add(v);
        if let Judgement::Different(d) = &v.judgement {
            println!("{v}\n    looks like: {}\n", looks_like(d));
            kinds.entry(looks_like(d)).or_default().push(&v.file);
        }
        if let Judgement::Failed(_) = &v.judgement {
            println!("{v}\n");
        }
    }
    println!(
        "{} files in {}: {} changed, {unchanged} unchanged, {missing} without a counterpart in {}; {threads} threads, {:.1} s",
        names.len(),
        before.display(),
        pairs.len(),
        after.display(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", tally.summary());
    for (kind, files) in &kinds {
        println!("  {} x {kind}", files.len());
    }
    if !tally.different.is_empty() || !tally.failed.is_empty() {
        std::process::exit(1);
    }
}
