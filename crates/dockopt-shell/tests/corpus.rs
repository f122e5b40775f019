//! Every RUN of the shared corpus (`DOCKOPT_CORPUS`) through the shell layer: for every
//! command and word, the file text at its range, with Docker's continuations and comment
//! lines taken out, is exactly that command or word, and its range is tight.

use std::path::Path;

use dockopt_shell::{Script, Span, parse_instruction};
use dockopt_testing::{corpus, dockerfiles};

use dockopt_syntax::{Instruction, InstructionKind, ShellPiece, parse};

/// The file text of `span.file`, keeping only the bytes that belong to the shell pieces.
fn file_text_without_gaps(text: &str, pieces: &[ShellPiece], span: &Span) -> String {
    let mut out = String::new();
    for piece in pieces {
        if let ShellPiece::File(r) = piece {
            let lo = r.start.max(span.file.start);
            let hi = r.end.min(span.file.end);
            if lo < hi {
                out.push_str(&text[lo..hi]);
            }
        }
    }
    out
}

struct Tally {
    runs: usize,
    opaque: usize,
    commands: usize,
    words: usize,
}

fn check_span(text: &str, pieces: &[ShellPiece], script: &Script, span: &Span, what: &str) {
    let clean = script.slice(span);
    let in_file = &text[span.file.clone()];
    assert_eq!(
        script.source().clean_range(span.file.clone()),
        Some(span.clean.clone()),
        "{what}: file range does not map back: {in_file:?}"
    );
    if pieces.iter().all(|p| matches!(p, ShellPiece::File(_))) {
        assert_eq!(
            file_text_without_gaps(text, pieces, span),
            clean,
            "{what}: {in_file:?}"
        );
    }
    assert_eq!(
        in_file.trim(),
        in_file,
        "{what}: range is not tight: {in_file:?}"
    );
}

fn check_instruction(path: &Path, text: &str, instruction: Instruction<'_>, tally: &mut Tally) {
    let Some(script) = parse_instruction(instruction) else {
        return;
    };
    let pieces = instruction.shell_pieces().unwrap();
    tally.runs += 1;
    if script.is_opaque() {
        tally.opaque += 1;
        return;
    }
    let at = instruction.file().line_col(instruction.range().start);
    for command in script.commands() {
        tally.commands += 1;
        let what = format!("{}:{at} command", path.display());
        check_span(text, &pieces, &script, &command.span, &what);
        for word in command.words() {
            tally.words += 1;
            check_span(text, &pieces, &script, &word.span, &format!("{what} word"));
            if !text[word.span.file.clone()].contains('\n') {
                assert_eq!(&text[word.span.file.clone()], word.raw, "{what}: word text");
            }
        }
    }
}

#[test]
fn every_corpus_run_command_is_at_its_range() {
    let Some(dir) = corpus() else {
        eprintln!("DOCKOPT_CORPUS not set: corpus shell check skipped");
        return;
    };
    let files = dockerfiles(&dir);
    let mut tally = Tally {
        runs: 0,
        opaque: 0,
        commands: 0,
        words: 0,
    };
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let file = parse(&text);
        for instruction in file.instructions() {
            let instruction = instruction.onbuild_child().unwrap_or(instruction);
            if instruction.kind() == InstructionKind::Run {
                check_instruction(path, &text, instruction, &mut tally);
            }
        }
    }
    eprintln!(
        "{} files: {} shell-form RUNs, {} opaque, {} commands and {} words checked",
        files.len(),
        tally.runs,
        tally.opaque,
        tally.commands,
        tally.words
    );
    assert!(tally.runs > 1000, "too few RUNs: {}", tally.runs);
    // Opaque RUNs are left alone by every pass; a sudden rise means the shell layer regressed.
    assert!(
        tally.opaque * 50 < tally.runs,
        "{} of {} RUNs are opaque",
        tally.opaque,
        tally.runs
    );
}

#[test]
#[ignore = "prints the opaque RUNs of the corpus for a person to read"]
fn list_opaque_runs() {
    let dir = corpus().expect("DOCKOPT_CORPUS");
    let files = dockerfiles(&dir);
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let file = parse(&text);
        for instruction in file.instructions() {
            if let Some(script) = parse_instruction(instruction).filter(Script::is_opaque) {
                let at = file.line_col(instruction.range().start);
                println!(
                    "{}:{at}: {}",
                    path.display(),
                    script.text().lines().next().unwrap_or("")
                );
            }
        }
    }
}
