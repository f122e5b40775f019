//! The parser against real files: every file of the shared corpus round-trips, BuildKit's
//! parser test cases dump exactly as BuildKit dumps them, and its negative cases are rejected.
//!
//! The corpus is read through `DOCKOPT_CORPUS` (CI sets it); without it these tests say so
//! and check the project's own fixtures only.

use dockopt_syntax::parse;
use dockopt_testing::{corpus, dockerfiles};

#[test]
fn every_corpus_file_round_trips() {
    let Some(dir) = corpus() else {
        eprintln!("DOCKOPT_CORPUS not set: corpus round trip skipped");
        return;
    };
    let files = dockerfiles(&dir);
    assert!(
        files.len() > 700,
        "expected the whole corpus, found {}",
        files.len()
    );
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = parse(&text);
        assert_eq!(file.print(), text, "{}", path.display());
    }
}

#[test]
fn buildkit_results_match_our_dump() {
    let Some(dir) = corpus() else {
        eprintln!("DOCKOPT_CORPUS not set: BuildKit dump comparison skipped");
        return;
    };
    let mut compared = 0;
    let mut failures = Vec::new();
    for path in dockerfiles(&dir.join("moby-buildkit")) {
        let name = path.file_name().unwrap().to_str().unwrap();
        let Some(case) = name.strip_suffix(".Dockerfile") else {
            continue;
        };
        let result = path.with_file_name(format!("{case}.result"));
        let text = std::fs::read_to_string(&path).unwrap();
        let file = parse(&text);
        if case.contains("testfiles-negative") {
            if !file.is_rejected() {
                failures.push(format!("{name}: BuildKit rejects it, we accept it"));
            }
            continue;
        }
        let Ok(expected) = std::fs::read_to_string(&result) else {
            continue;
        };
        compared += 1;
        if file.is_rejected() {
            failures.push(format!("{name}: rejected: {:?}", file.errors()));
        } else if file.dump() != expected {
            failures.push(format!(
                "{name}:\n--- expected\n{expected}--- ours\n{}",
                file.dump()
            ));
        }
    }
    assert!(compared >= 30, "only {compared} result files found");
    assert!(
        failures.is_empty(),
        "{} of {compared} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
