//! Property tests: any text re-prints byte for byte, and no view of it panics.
//!
//! Three sources of input: arbitrary bytes (made UTF-8), strings built from the pieces that
//! make Dockerfiles hard (escapes, heredoc markers, quotes, CRLF, directives), and random
//! mutations of real files (the corpus under `DOCKOPT_CORPUS`, else the project's fixtures).
//! `PROPTEST_CASES` sets the number of cases per property (default below).

use std::path::PathBuf;
use std::sync::OnceLock;

use dockopt_syntax::{Dockerfile, parse};
use proptest::prelude::*;

const DEFAULT_CASES: u32 = 2_000;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Parses, re-prints, and walks every view; panics (failing the case) on any violation.
fn check(text: &str) {
    let file = parse(text);
    assert_eq!(file.print(), text);
    let mut at = 0;
    for token in file.tokens() {
        assert_eq!(token.range.start, at);
        assert!(token.range.end > at);
        assert!(text.is_char_boundary(token.range.end));
        at = token.range.end;
    }
    assert_eq!(at, text.len());
    exercise_views(&file);
}

fn in_bounds(file: &Dockerfile, r: dockopt_syntax::TextRange) {
    assert!(r.start <= r.end && r.end <= file.text().len(), "{r:?}");
    assert!(file.text().is_char_boundary(r.start) && file.text().is_char_boundary(r.end));
}

fn exercise_views(file: &Dockerfile) {
    let _ = file.dump();
    let _ = file.debug_tree();
    let _ = file.stage_graph().unused_stages();
    for e in file.errors() {
        in_bounds(file, e.range);
        let _ = file.line_col(e.range.start);
    }
    for stage in file.stages() {
        in_bounds(file, stage.range());
    }
    for instruction in file.instructions() {
        let all = std::iter::once(instruction).chain(instruction.onbuild_child());
        for i in all {
            in_bounds(file, i.range());
            in_bounds(file, i.line_range());
            in_bounds(file, i.keyword_range());
            in_bounds(file, i.args_range());
            for flag in i.flags() {
                in_bounds(file, flag.range);
                let _ = flag.fields();
            }
            for w in i.words() {
                in_bounds(file, w.range);
            }
            for kv in i.key_values() {
                in_bounds(file, kv.key.range);
                in_bounds(file, kv.value.range);
                let _ = kv.unquoted_value(file.escape_char());
            }
            for h in i.heredocs() {
                in_bounds(file, h.marker_range());
                in_bounds(file, h.body_range());
            }
            for v in i.var_refs() {
                in_bounds(file, v.range);
            }
            if let Some(pieces) = i.shell_pieces() {
                for p in pieces {
                    match p {
                        dockopt_syntax::ShellPiece::File(r) => in_bounds(file, r),
                        dockopt_syntax::ShellPiece::Synthetic { anchor, .. } => {
                            assert!(anchor <= file.text().len());
                        }
                    }
                }
            }
            let _ = i.from();
            let _ = i.json_array();
        }
    }
}

/// The pieces that make Dockerfiles hard to parse.
const ATOMS: &[&str] = &[
    "FROM ",
    "RUN ",
    "COPY ",
    "ADD ",
    "ENV ",
    "LABEL ",
    "ARG ",
    "ONBUILD ",
    "HEALTHCHECK ",
    "CMD ",
    "from ",
    "run ",
    " AS ",
    "--mount=type=cache,target=/x ",
    "--from=0 ",
    "-- ",
    "\\",
    "`",
    "\n",
    "\r\n",
    "\r",
    " ",
    "\t",
    "#",
    "# escape=`\n",
    "# escape=\\\n",
    "# syntax=docker/dockerfile:1\n",
    "<<",
    "<<-",
    "<<EOF",
    "EOF",
    "\tEOF",
    "'",
    "\"",
    "$",
    "${",
    "}",
    "${A:-b}",
    "[",
    "]",
    ",",
    "\"a\"",
    "=",
    "a=b ",
    "x",
    "é",
    "\u{feff}",
    "\u{a0}",
    "\0",
    "&&",
    "||",
    ";",
    "|",
];

fn atoms_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ATOMS), 0..60).prop_map(|v| v.concat())
}

fn real_files() -> &'static Vec<String> {
    static FILES: OnceLock<Vec<String>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = dockopt_testing::corpus()
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
        let files: Vec<String> = dockopt_testing::dockerfiles(&dir)
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect();
        assert!(!files.is_empty(), "no seed files under {}", dir.display());
        files
    })
}

#[derive(Clone, Debug)]
enum Mutation {
    Insert(usize, &'static str),
    Delete(usize, usize),
    Replace(usize, usize, &'static str),
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut s = text.to_string();
    for m in mutations {
        let at = |n: usize, s: &str| {
            let mut i = if s.is_empty() { 0 } else { n % (s.len() + 1) };
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        match *m {
            Mutation::Insert(pos, atom) => {
                let i = at(pos, &s);
                s.insert_str(i, atom);
            }
            Mutation::Delete(pos, len) => {
                let i = at(pos, &s);
                let j = at(i + len % 40, &s).max(i);
                s.replace_range(i..j, "");
            }
            Mutation::Replace(pos, len, atom) => {
                let i = at(pos, &s);
                let j = at(i + len % 8, &s).max(i);
                s.replace_range(i..j, atom);
            }
        }
    }
    s
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let atom = prop::sample::select(ATOMS);
    prop_oneof![
        (any::<usize>(), atom.clone()).prop_map(|(p, a)| Mutation::Insert(p, a)),
        (any::<usize>(), any::<usize>()).prop_map(|(p, l)| Mutation::Delete(p, l)),
        (any::<usize>(), any::<usize>(), atom).prop_map(|(p, l, a)| Mutation::Replace(p, l, a)),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn dockerfile_atoms_round_trip(text in atoms_text()) {
        check(&text);
    }

    #[test]
    fn mutated_real_files_round_trip(
        index in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let files = real_files();
        let text = apply(&files[index % files.len()], &mutations);
        check(&text);
    }
}

#[test]
fn every_real_file_passes_the_checks_unmutated() {
    for text in real_files() {
        check(text);
    }
}
