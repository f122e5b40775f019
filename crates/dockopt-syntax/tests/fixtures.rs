//! The project's own parser fixtures (tests/fixtures/*.Dockerfile): the awkward bytes the
//! corpus lacks (CRLF, BOM, no final newline, backtick escapes, heredocs, control characters).
//! Each must re-print byte for byte; its tree, dump and errors are snapshots that a person
//! reviewed (snapshots/syntax/). Insta normalises line endings, so bytes are checked here.

use std::path::PathBuf;

use dockopt_syntax::{Severity, TokenKind, parse};

fn fixtures() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "Dockerfile"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_str().unwrap().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 12, "fixtures missing: {}", out.len());
    out
}

#[test]
fn fixtures_round_trip_byte_for_byte() {
    for (name, text) in fixtures() {
        let file = parse(&text);
        assert_eq!(file.print().as_bytes(), text.as_bytes(), "{name}");
        let mut at = 0;
        for token in file.tokens() {
            assert_eq!(token.range.start, at, "{name}: gap or overlap at {at}");
            at = token.range.end;
        }
        assert_eq!(at, text.len(), "{name}: tokens stop early");
    }
}

#[test]
fn fixture_snapshots() {
    for (name, text) in fixtures() {
        let file = parse(&text);
        let errors: Vec<String> = file
            .errors()
            .iter()
            .map(|e| {
                format!(
                    "{:?} {} {}",
                    e.severity,
                    file.line_col(e.range.start),
                    e.message
                )
            })
            .collect();
        let report = format!(
            "dump:\n{}\nerrors:\n{}\n\ntree:\n{}",
            if file.is_rejected() {
                "(rejected)\n".to_string()
            } else {
                file.dump()
            },
            errors.join("\n"),
            file.debug_tree()
        );
        insta::with_settings!({
            snapshot_path => "../../../snapshots/syntax",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, report);
        });
    }
}

#[test]
fn crlf_and_bom_survive_in_the_tokens() {
    let fixtures = fixtures();
    let get = |n: &str| &fixtures.iter().find(|(name, _)| name == n).unwrap().1;
    let crlf = parse(get("crlf"));
    assert!(
        crlf.tokens()
            .iter()
            .filter(|t| t.kind == TokenKind::Newline)
            .all(|t| t.text(crlf.text()) == "\r\n")
    );
    assert_eq!(
        crlf.instruction(1).unwrap().args_text(),
        "apt-get update     && apt-get install -y curl     && rm -rf /var/lib/apt/lists/*"
    );
    let bom = parse(get("bom"));
    assert_eq!(bom.tokens()[0].kind, TokenKind::Bom);
    assert_eq!(bom.instruction(0).unwrap().keyword(), "FROM");
    let unterminated = parse(get("unterminated-heredoc"));
    assert!(
        unterminated
            .errors()
            .iter()
            .any(|e| e.severity == Severity::Error && e.message.contains("unterminated heredoc"))
    );
    assert!(parse(get("empty")).is_rejected());
}
