//! Unit tests of the parser over small inputs; corpus-wide tests live in tests/.

use crate::{InstructionKind, Severity, ShellPiece, StageRef, TokenKind, parse};

fn dump(text: &str) -> String {
    let file = parse(text);
    assert_eq!(file.print(), text, "round trip");
    file.dump()
}

fn rejected(text: &str) -> Vec<String> {
    parse(text)
        .errors()
        .iter()
        .filter(|e| e.severity == Severity::Error)
        .map(|e| e.message.clone())
        .collect()
}

#[test]
fn basic_instructions_dump_like_buildkit() {
    assert_eq!(
        dump("FROM busybox AS b\nRUN echo hi\nCMD [\"a\", \"b\"]\n"),
        "(from \"busybox\" \"AS\" \"b\")\n(run \"echo hi\")\n(cmd \"a\" \"b\")\n"
    );
    assert_eq!(
        dump("from x\nenv A B C\nlabel a=b c=\"d e\"\n"),
        "(from \"x\")\n(env \"A\" \"B C\" \"\")\n(label \"a\" \"b\" \"=\" \"c\" \"\\\"d e\\\"\" \"=\")\n"
    );
    assert_eq!(
        dump("FROM x\nONBUILD RUN a\nFOO bar\n"),
        "(from \"x\")\n(onbuild (run \"a\"))\n(foo \"\")\n"
    );
}

#[test]
fn continuation_joins_lines_and_skips_comments_and_empty_lines() {
    let text = "FROM x\nRUN a \\\n  # note \\\n\n  && b\nCMD c";
    let file = parse(text);
    assert_eq!(file.print(), text);
    let run = file.instruction(1).unwrap();
    assert_eq!(run.logical_text(), "RUN a   && b");
    assert_eq!(run.args_text(), "a   && b");
    assert_eq!(
        &text[run.args_range().range()],
        "a \\\n  # note \\\n\n  && b"
    );
    assert_eq!(file.instruction(2).unwrap().kind(), InstructionKind::Cmd);
    let warnings: Vec<_> = file
        .errors()
        .iter()
        .filter(|e| e.severity == Severity::Warning)
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", file.errors());
    assert!(!file.is_rejected());
}

#[test]
fn escape_directive_switches_to_backtick() {
    let text = "# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo hi\n";
    let file = parse(text);
    assert_eq!(file.escape_char(), '`');
    assert_eq!(
        file.instruction(1).unwrap().args_text(),
        "dir c:\\   && echo hi"
    );
    assert_eq!(file.directives().next().unwrap().value(), "`");
}

#[test]
fn directives_only_at_the_top() {
    let file = parse("# syntax=docker/dockerfile:1\n# escape=`\n\n# escape=\\\nFROM x\n");
    assert_eq!(file.directives().len(), 2);
    assert_eq!(file.syntax_directive(), Some("docker/dockerfile:1"));
    assert_eq!(file.escape_char(), '`');
    let tokens: Vec<_> = file.tokens().iter().map(|t| t.kind).collect();
    assert_eq!(
        tokens
            .iter()
            .filter(|&&k| k == TokenKind::Directive)
            .count(),
        2
    );
    assert_eq!(
        tokens.iter().filter(|&&k| k == TokenKind::Comment).count(),
        1
    );
    assert_eq!(
        rejected("# escape=x\nFROM a\n"),
        ["invalid escape token 'x' does not match ` or \\"]
    );
    assert_eq!(
        rejected("# syntax=a\n# syntax=b\nFROM a\n"),
        ["only one syntax parser directive can be used"]
    );
}

#[test]
fn heredocs_are_bodies_not_instructions() {
    let text =
        "FROM x\nRUN <<EOF\nFROM y\necho hi\nEOF\nCOPY <<-A <<'B' /d/\n\tone\n\tA\ntwo\nB\nCMD z\n";
    let file = parse(text);
    assert_eq!(file.print(), text);
    let kinds: Vec<_> = file.instructions().map(crate::Instruction::kind).collect();
    assert_eq!(
        kinds,
        [
            InstructionKind::From,
            InstructionKind::Run,
            InstructionKind::Copy,
            InstructionKind::Cmd
        ]
    );
    let run = file.instruction(1).unwrap();
    let h = run.heredocs().next().unwrap();
    assert_eq!((h.name(), h.body()), ("EOF", "FROM y\necho hi\n"));
    assert_eq!(
        run.shell_pieces().unwrap(),
        [ShellPiece::File(h.body_range())]
    );
    let copy: Vec<_> = file
        .instruction(2)
        .unwrap()
        .heredocs()
        .map(|h| (h.name(), h.chomp(), h.expand(), h.body()))
        .collect();
    assert_eq!(
        copy,
        [("A", true, true, "\tone\n"), ("B", false, false, "two\n")]
    );
    assert_eq!(
        rejected("FROM x\nRUN <<EOF\necho\n"),
        ["unterminated heredoc EOF"]
    );
}

#[test]
fn shell_pieces_reconstitute_heredoc_commands() {
    let text = "FROM x\nRUN cat <<EOF > /f\nhi\nEOF\n";
    let file = parse(text);
    let pieces = file.instruction(1).unwrap().shell_pieces().unwrap();
    let joined: String = pieces
        .iter()
        .map(|p| match p {
            ShellPiece::File(r) => &text[r.range()],
            ShellPiece::Synthetic { text, .. } => text.as_str(),
        })
        .collect();
    assert_eq!(joined, "cat <<EOF > /f\nhi\nEOF");
    let shebang = parse("FROM x\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n");
    assert_eq!(shebang.instruction(1).unwrap().shell_pieces(), None);
}

#[test]
fn flags_and_json() {
    let text = "FROM x\nRUN --mount=type=cache,target=/root/.cache \\\n    --network=none pip install a\nCOPY --from=build --chown=1:1 [\"a b\", \"/c\"]\n";
    let file = parse(text);
    let run = file.instruction(1).unwrap();
    let flags: Vec<_> = run.flags().map(|f| (f.name(), f.value())).collect();
    assert_eq!(
        flags,
        [
            ("mount", Some("type=cache,target=/root/.cache")),
            ("network", Some("none"))
        ]
    );
    assert_eq!(
        run.flag("mount").unwrap().field("target").as_deref(),
        Some("/root/.cache")
    );
    assert_eq!(
        &text[run.flag("network").unwrap().range.range()],
        "--network=none"
    );
    let copy = file.instruction(2).unwrap();
    assert!(copy.is_exec_form());
    let elements: Vec<_> = copy
        .json_array()
        .unwrap()
        .iter()
        .map(|e| (e.value, &text[e.range.range()]))
        .collect();
    assert_eq!(elements, [("a b", "\"a b\""), ("/c", "\"/c\"")]);
    assert_eq!(
        rejected("FROM x\nCMD [\"a\", 1]\n"),
        ["when using JSON array syntax, arrays must be comprised of strings only"]
    );
    // invalid JSON is shell form
    assert!(
        !parse("FROM x\nCMD [\"a\", \n")
            .instruction(1)
            .unwrap()
            .is_exec_form()
    );
}

#[test]
fn env_errors_and_forms() {
    assert_eq!(rejected("FROM x\nENV A\n"), ["ENV must have two arguments"]);
    assert_eq!(rejected("FROM x\nLABEL a=b c\n").len(), 1);
    let file = parse("FROM x\nENV A=\"b c\" D=e\\ f\n");
    let kv = file.instruction(1).unwrap().key_values();
    assert_eq!(kv[0].unquoted_value('\\'), "b c");
    assert_eq!(kv[1].unquoted_value('\\'), "e f");
    assert_eq!(&file.text()[kv[1].value.range.range()], "e\\ f");
    let legacy = parse("FROM x\nENV A \"x y\"\n");
    let kv = legacy.instruction(1).unwrap().key_values();
    assert!(kv[0].legacy);
    assert_eq!(kv[0].unquoted_value('\\'), "x y");
}

#[test]
fn empty_and_comment_only_files_are_rejected() {
    assert_eq!(rejected(""), ["file with no instructions"]);
    assert_eq!(
        rejected("# just a comment\n\n"),
        ["file with no instructions"]
    );
}

#[test]
fn stage_graph_resolves_names_indexes_and_images() {
    let text = "FROM golang AS build\nRUN go build\nFROM build AS test\nRUN --mount=type=bind,from=build,target=/x true\nFROM scratch\nCOPY --from=0 /a /a\nCOPY --from=alpine /b /b\n";
    let graph = parse(text).stage_graph();
    let edges: Vec<_> = graph
        .edges
        .iter()
        .map(|e| (e.stage, e.target.clone()))
        .collect();
    assert_eq!(
        edges,
        [
            (0, StageRef::External("golang".into())),
            (1, StageRef::Stage(0)),
            (1, StageRef::Stage(0)),
            (2, StageRef::External("scratch".into())),
            (2, StageRef::Stage(0)),
            (2, StageRef::External("alpine".into())),
        ]
    );
    assert_eq!(graph.unused_stages(), [1]);
}

#[test]
fn var_refs_skip_single_quotes_and_escapes() {
    let text = "FROM x\nRUN echo $A ${B:-x} '$C' \\$D \"$E\"\n";
    let file = parse(text);
    let refs: Vec<_> = file
        .instruction(1)
        .unwrap()
        .var_refs()
        .into_iter()
        .map(|v| (v.name, text[v.range.range()].to_string()))
        .collect();
    assert_eq!(
        refs,
        [
            ("A".into(), "$A".into()),
            ("B".into(), "${B:-x}".into()),
            ("E".into(), "$E".into())
        ]
    );
}

#[test]
fn crlf_bom_and_no_final_newline_round_trip() {
    for text in [
        "\u{feff}FROM a\r\nRUN b \\\r\n  c\r\n",
        "FROM a\nRUN b",
        "FROM a\r\n\r\n",
        "\t FROM a \t\n",
    ] {
        let file = parse(text);
        assert_eq!(file.print(), text);
        assert!(!file.is_rejected(), "{text:?}: {:?}", file.errors());
    }
    let file = parse("\u{feff}FROM a\r\nRUN b \\\r\n  c\r\n");
    assert_eq!(file.instruction(1).unwrap().args_text(), "b   c");
    assert_eq!(file.line_ending(), "\r\n");
}

#[test]
fn keyword_split_by_continuation_still_parses() {
    let text = "FR\\\nOM x\n";
    let file = parse(text);
    assert_eq!(file.dump(), "(from \"x\")\n");
    assert_eq!(file.print(), text);
}
