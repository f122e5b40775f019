//! Differential test: our parser against the `dockerfile-parser` crate (0.9) as an oracle.
//!
//! `dockerfile-parser` is a deprecated pest grammar that rejects heredocs, `# escape=`,
//! legacy LABEL and more, so it cannot be our parser; but on the text it accepts, its
//! instruction sequence is an independent reading. For every corpus file
//! (`DOCKOPT_CORPUS`) it accepts, the two sequences must agree in length and instruction by
//! instruction under the normalisation below. For a file it rejects (or panics on), each
//! of our instructions is handed to it alone (see `compare_alone`). A disagreement fails
//! the test unless [`KNOWN`] explains it; an entry of [`KNOWN`] that no longer disagrees
//! fails it too.
//!
//! # Normalisation
//!
//! * Keywords compare case-insensitively. The oracle has typed variants for FROM, ARG,
//!   LABEL, RUN, ENTRYPOINT, CMD, COPY and ENV; every other instruction (ADD, EXPOSE,
//!   ONBUILD, HEALTHCHECK, ...) is `Misc` with its keyword as written.
//! * Shell text (RUN/CMD/ENTRYPOINT shell form, the arguments of `Misc`): the oracle's
//!   `BreakableString` string components concatenated, i.e. the lines with their
//!   continuation (escape, blanks, newline) removed and the comment lines inside the
//!   continuation dropped, as BuildKit joins them; against our `logical_text()` after the
//!   keyword. Both sides are trimmed: the oracle keeps the last line's trailing blanks,
//!   BuildKit and we trim the arguments.
//! * The oracle's RUN/CMD/ENTRYPOINT have no builder flags: `RUN --mount=... cmd` is shell
//!   text to it. So their shell text is compared with everything after our keyword, flags
//!   included, and the shell/exec form only when we found no flag.
//! * FROM and COPY flags: (name, value) pairs. Both sides remove the quotes of a value
//!   that starts with one (the oracle in `parse_string`). The oracle's flag needs `=value`,
//!   so it reads a valueless flag (`--link`) and the `--` that ends the flags as COPY paths;
//!   leading `--` paths are moved back to its flags, and `--` alone is dropped, as
//!   BuildKit's `extractBuilderFlags` does.
//! * Exec form: element by element, both sides decoded.
//! * FROM: image and `AS` alias, as written.
//! * COPY paths: as written (the oracle unquotes a path that starts with a quote; BuildKit
//!   keeps the quotes in the AST and removes them at expansion, and so do we), so the
//!   oracle's side is the file text of each path's span. The oracle has no exec-form COPY
//!   and splits the JSON array at blanks: when ours is exec form, the texts are compared
//!   with their blanks collapsed.
//! * ENV, LABEL and ARG: keys and values compared *as written* (quotes kept). Ours is
//!   `Word::value`, the text of the logical line; the oracle's is the file text of the
//!   value's span with the escaped newlines removed (its own `clean_escaped_breaks`), or,
//!   for a legacy `ENV key value` spanning lines, its joined components. Then the values
//!   Docker stores: ours is `KeyValue::unquoted_value`; the oracle unquotes only a value
//!   that *starts* with a quote, and with Rust-string escapes (`\n` becomes a newline), not
//!   the shell rules BuildKit's word expander applies. So the unquoted values are compared
//!   only when the written value has no backslash and is one quoted string or has no
//!   quote at all (`plain_or_one_quoted_string`).
//!
//! The summary line counts the files, those the oracle accepts, rejects and panics on,
//! the instructions compared and agreeing (whole files, then instructions alone), and the
//! explained disagreements.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};

use dockerfile_parser::{
    BreakableString, BreakableStringComponent, Dockerfile as OracleFile,
    Instruction as OracleInstruction, ShellOrExecExpr, Span,
};
use dockopt_syntax::{Dockerfile, Instruction, parse};
use dockopt_testing::{corpus, dockerfiles};

/// Disagreements we have looked at and explained: the file (relative to the corpus), our
/// instruction index (`None` for a file-level disagreement such as the instruction count),
/// what differs (a prefix of the check's name), and why. Each must still occur; anything
/// not listed fails the test.
struct Known {
    file: &'static str,
    index: Option<usize>,
    what: &'static str,
    why: &'static str,
}

const KNOWN: &[Known] = &[
    Known {
        file: "moby-buildkit/frontend__dockerfile__parser__testfiles__continue-at-eof__Dockerfile.Dockerfile",
        index: Some(1),
        what: "shell text",
        why: "oracle: its line continuation needs a newline, so it keeps the `\\` that ends the \
         file (`RUN something \\`); BuildKit's continuation regex matches at the end of the \
         input and drops it, giving (run \"something\") as the .result file says, like us",
    },
    Known {
        file: "moby-buildkit/frontend__dockerfile__parser__testfiles__jeztah-invalid-json-single-quotes__Dockerfile.Dockerfile",
        index: Some(0),
        what: "exec",
        why: "oracle: its string arrays accept single-quoted strings, so it reads \
         `CMD ['echo', '...']` as exec form; that is not JSON, BuildKit (and we) keep the \
         shell form",
    },
    Known {
        file: "moby-buildkit/frontend__dockerfile__parser__testfiles__continueIndent__Dockerfile.Dockerfile",
        index: Some(9),
        what: "instruction count",
        why: "oracle: an empty line ends its continuation, so alone it splits `RUN echo hello \\` + \
         comment and empty lines + `this is some more useful stuff` in two; BuildKit skips \
         empty lines inside a continuation (with a warning) and joins them, as the .result \
         file and we do",
    },
];

/// One disagreement between the oracle and us.
#[derive(Debug)]
struct Disagreement {
    file: String,
    index: Option<usize>,
    line: usize,
    what: String,
    oracle: String,
    ours: String,
}

impl Disagreement {
    fn render(&self) -> String {
        let index = self
            .index
            .map_or_else(|| "file".to_string(), |i| format!("instruction {i}"));
        format!(
            "{}:{} ({index}): {}\n    oracle: {}\n    ours:   {}",
            self.file, self.line, self.what, self.oracle, self.ours
        )
    }
}

/// Differences found in one instruction: (what, oracle, ours).
type Diffs = Vec<(String, String, String)>;

fn check<T: PartialEq + std::fmt::Debug + ?Sized>(
    diffs: &mut Diffs,
    what: &str,
    oracle: &T,
    ours: &T,
) {
    if oracle != ours {
        diffs.push((what.to_string(), format!("{oracle:?}"), format!("{ours:?}")));
    }
}

fn span_text(text: &str, span: Span) -> &str {
    &text[span.start..span.end]
}

/// The oracle's shell text: its string components joined, comments dropped.
fn joined(s: &BreakableString) -> String {
    s.to_string()
}

/// The written form of an oracle value that may be quoted and span continuation lines.
fn written(text: &str, s: &BreakableString) -> String {
    match s.components.as_slice() {
        [BreakableStringComponent::String(_)] => span_text(text, s.span).replace("\\\n", ""),
        _ => joined(s),
    }
}

/// Our instruction's text after the keyword, flags included, trimmed.
fn tail<'a>(ins: &Instruction<'a>) -> &'a str {
    let logical = ins.logical_text().trim_start();
    logical
        .strip_prefix(ins.keyword())
        .unwrap_or(logical)
        .trim()
}

/// The oracle's keyword for an instruction.
fn oracle_keyword(ins: &OracleInstruction) -> String {
    match ins {
        OracleInstruction::From(_) => "FROM".into(),
        OracleInstruction::Arg(_) => "ARG".into(),
        OracleInstruction::Label(_) => "LABEL".into(),
        OracleInstruction::Run(_) => "RUN".into(),
        OracleInstruction::Entrypoint(_) => "ENTRYPOINT".into(),
        OracleInstruction::Cmd(_) => "CMD".into(),
        OracleInstruction::Copy(_) => "COPY".into(),
        OracleInstruction::Env(_) => "ENV".into(),
        OracleInstruction::Misc(m) => m.instruction.content.to_ascii_uppercase(),
    }
}

/// True when a written value is safe to compare after unquoting (see the module docs).
fn plain_or_one_quoted_string(written: &str) -> bool {
    if written.contains('\\') {
        return false;
    }
    let quotes = written.chars().filter(|&c| c == '"' || c == '\'').count();
    quotes == 0
        || (quotes == 2
            && written.len() >= 2
            && (written.starts_with('"') && written.ends_with('"')
                || written.starts_with('\'') && written.ends_with('\'')))
}

/// Our flags as (name, value) pairs.
fn our_flags(ins: &Instruction<'_>) -> Vec<(String, Option<String>)> {
    ins.flags()
        .map(|f| (f.name().to_string(), f.value().map(str::to_string)))
        .collect()
}

fn shell_or_exec(diffs: &mut Diffs, expr: &ShellOrExecExpr, ours: &Instruction<'_>) {
    match expr {
        ShellOrExecExpr::Shell(s) => {
            check(diffs, "shell text", &joined(s).trim(), &tail(ours));
            if ours.flags().len() == 0 {
                check(diffs, "exec form", &false, &ours.is_exec_form());
            }
        }
        ShellOrExecExpr::Exec(array) => {
            check(diffs, "exec form", &true, &ours.is_exec_form());
            let oracle: Vec<&str> = array.as_str_vec();
            let mine: Vec<&str> = ours
                .json_array()
                .unwrap_or_default()
                .iter()
                .map(|e| e.value)
                .collect();
            check(diffs, "exec elements", &oracle, &mine);
        }
    }
}

/// Compares one instruction; returns the differences.
fn compare(
    text: &str,
    file: &Dockerfile,
    oracle: &OracleInstruction,
    ours: &Instruction<'_>,
) -> Diffs {
    let mut diffs = Diffs::new();
    let keyword = oracle_keyword(oracle);
    if !keyword.eq_ignore_ascii_case(ours.keyword()) {
        check(
            &mut diffs,
            "keyword",
            &keyword,
            &ours.keyword().to_ascii_uppercase(),
        );
        return diffs;
    }
    match oracle {
        OracleInstruction::From(f) => {
            let flags: Vec<(String, Option<String>)> = f
                .flags
                .iter()
                .map(|fl| (fl.name.content.clone(), Some(fl.value.content.clone())))
                .collect();
            check(&mut diffs, "flags", &flags, &our_flags(ours));
            let from = ours.from();
            check(
                &mut diffs,
                "image",
                &Some(f.image.content.as_str()),
                &from.map(|x| x.image.value),
            );
            check(
                &mut diffs,
                "alias",
                &f.alias.as_ref().map(|a| a.content.as_str()),
                &from.and_then(|x| x.stage_name).map(|w| w.value),
            );
        }
        OracleInstruction::Arg(a) => {
            let words = ours.words();
            let (name, value) = match words.as_slice() {
                [w] => match w.value.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (w.value.to_string(), None),
                },
                _ => (
                    words.iter().map(|w| w.value).collect::<Vec<_>>().join(" "),
                    None,
                ),
            };
            check(&mut diffs, "arg name", &a.name.content, &name);
            let oracle_value = a
                .value
                .as_ref()
                .map(|v| span_text(text, v.span).replace("\\\n", ""));
            check(&mut diffs, "arg value (as written)", &oracle_value, &value);
        }
        OracleInstruction::Label(l) => {
            let pairs = ours.key_values();
            check(&mut diffs, "label count", &l.labels.len(), &pairs.len());
            for (label, pair) in l.labels.iter().zip(&pairs) {
                let key = span_text(text, label.name.span).replace("\\\n", "");
                check(
                    &mut diffs,
                    "label key (as written)",
                    &key.as_str(),
                    &pair.key.value,
                );
                let value = span_text(text, label.value.span).replace("\\\n", "");
                check(
                    &mut diffs,
                    "label value (as written)",
                    &value.as_str(),
                    &pair.value.value,
                );
                if plain_or_one_quoted_string(&value) {
                    check(
                        &mut diffs,
                        "label value (unquoted)",
                        &label.value.content,
                        &pair.unquoted_value(file.escape_char()),
                    );
                }
            }
        }
        OracleInstruction::Env(e) => {
            let pairs = ours.key_values();
            check(&mut diffs, "env count", &e.vars.len(), &pairs.len());
            for (var, pair) in e.vars.iter().zip(&pairs) {
                check(
                    &mut diffs,
                    "env key",
                    &var.key.content.as_str(),
                    &pair.key.value,
                );
                let value = written(text, &var.value);
                check(
                    &mut diffs,
                    "env value (as written)",
                    &value.as_str(),
                    &pair.value.value,
                );
                if plain_or_one_quoted_string(&value) {
                    check(
                        &mut diffs,
                        "env value (unquoted)",
                        &joined(&var.value),
                        &pair.unquoted_value(file.escape_char()),
                    );
                }
            }
        }
        OracleInstruction::Run(r) => shell_or_exec(&mut diffs, &r.expr, ours),
        OracleInstruction::Cmd(c) => shell_or_exec(&mut diffs, &c.expr, ours),
        OracleInstruction::Entrypoint(e) => shell_or_exec(&mut diffs, &e.expr, ours),
        OracleInstruction::Copy(c) => {
            let mut flags: Vec<(String, Option<String>)> = c
                .flags
                .iter()
                .map(|fl| (fl.name.content.clone(), Some(fl.value.content.clone())))
                .collect();
            // Paths as written: the oracle unquotes a path that starts with a quote, BuildKit
            // keeps the quotes in the AST (they go at expansion time), and so do we.
            let mut paths: Vec<&str> = c
                .sources
                .iter()
                .chain([&c.destination])
                .map(|p| span_text(text, p.span))
                .collect();
            // The oracle's flags need a value (`--name=value`): it reads a valueless flag
            // (`--link`) and the `--` that ends the flags as paths. BuildKit reads every
            // leading `--` word as a flag, and `--` alone ends them and is dropped.
            while let Some(word) = paths.first().and_then(|p| p.strip_prefix("--")) {
                paths.remove(0);
                if word.is_empty() {
                    break;
                }
                let (name, value) = match word.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (word, None),
                };
                flags.push((name.to_string(), value));
            }
            check(&mut diffs, "flags", &flags, &our_flags(ours));
            if ours.is_exec_form() {
                // The oracle has no exec-form COPY: it splits the JSON array at blanks.
                let mine: Vec<&str> = ours.args_text().split_whitespace().collect();
                check(
                    &mut diffs,
                    "copy paths (JSON text)",
                    &paths.join(" "),
                    &mine.join(" "),
                );
            } else {
                let words: Vec<&str> = ours.words().iter().map(|w| w.value).collect();
                check(&mut diffs, "copy paths", &paths, &words);
            }
        }
        OracleInstruction::Misc(m) => {
            check(
                &mut diffs,
                "arguments",
                &joined(&m.arguments).trim(),
                &tail(ours),
            );
        }
    }
    diffs
}

#[derive(Default)]
struct Tally {
    files: usize,
    accepted: usize,
    compared: usize,
    agreements: usize,
    explained: usize,
    rejected: usize,
    panicked: usize,
    /// Instructions of rejected files, compared one at a time.
    alone_compared: usize,
    alone_agreements: usize,
    /// Instructions of rejected files the oracle rejects (or panics on) even alone.
    alone_rejected: usize,
    /// Instructions not tried alone: heredocs, or a file with `# escape=`.
    alone_skipped: usize,
}

enum Oracle {
    Accepted(OracleFile),
    Rejected,
    Panicked,
}

/// Runs the oracle, which panics on some inputs, with its panic message silenced.
fn oracle_parse(text: &str) -> Oracle {
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(AssertUnwindSafe(|| OracleFile::parse(text)));
    panic::set_hook(hook);
    match result {
        Ok(Ok(file)) => Oracle::Accepted(file),
        Ok(Err(_)) => Oracle::Rejected,
        Err(_) => Oracle::Panicked,
    }
}

/// Whole-file mode: the two instruction sequences, pairwise, and their lengths.
fn compare_file(
    name: &str,
    text: &str,
    oracle: &OracleFile,
    ours: &Dockerfile,
    tally: &mut Tally,
    out: &mut Vec<Disagreement>,
) {
    let mine: Vec<Instruction<'_>> = ours.instructions().collect();
    for (index, (o, m)) in oracle.instructions.iter().zip(&mine).enumerate() {
        tally.compared += 1;
        let diffs = compare(text, ours, o, m);
        if diffs.is_empty() {
            tally.agreements += 1;
        }
        for (what, oracle, ours_value) in diffs {
            out.push(Disagreement {
                file: name.to_string(),
                index: Some(index),
                line: ours.line_col(m.range().start).line,
                what,
                oracle,
                ours: ours_value,
            });
        }
    }
    if oracle.instructions.len() != mine.len() {
        out.push(Disagreement {
            file: name.to_string(),
            index: None,
            line: 0,
            what: format!(
                "instruction count: oracle {}, ours {}",
                oracle.instructions.len(),
                mine.len()
            ),
            oracle: oracle
                .instructions
                .iter()
                .map(oracle_keyword)
                .collect::<Vec<_>>()
                .join(" "),
            ours: mine
                .iter()
                .map(|i| i.keyword().to_ascii_uppercase())
                .collect::<Vec<_>>()
                .join(" "),
        });
    }
}

/// Fallback for a file the oracle rejects (mostly for one construct it lacks): each of
/// our instructions' own text (continuation and comment lines included) parsed alone.
/// This trusts our instruction boundaries, which whole-file mode checks; instructions
/// with heredocs and files with `# escape=` are skipped, the oracle supports neither.
fn compare_alone(name: &str, ours: &Dockerfile, tally: &mut Tally, out: &mut Vec<Disagreement>) {
    for (index, m) in ours.instructions().enumerate() {
        if ours.escape_char() != '\\' || m.heredocs().len() > 0 {
            tally.alone_skipped += 1;
            continue;
        }
        let text = m.text();
        let Oracle::Accepted(oracle) = oracle_parse(text) else {
            tally.alone_rejected += 1;
            continue;
        };
        tally.alone_compared += 1;
        let line = ours.line_col(m.range().start).line;
        let diffs = match oracle.instructions.as_slice() {
            [o] => compare(text, ours, o, &m),
            other => vec![(
                "instruction count of the instruction's text alone".to_string(),
                other.len().to_string(),
                "1".to_string(),
            )],
        };
        if diffs.is_empty() {
            tally.alone_agreements += 1;
        }
        for (what, oracle, ours_value) in diffs {
            out.push(Disagreement {
                file: name.to_string(),
                index: Some(index),
                line,
                what: format!("{what} (parsed alone)"),
                oracle,
                ours: ours_value,
            });
        }
    }
}

#[test]
fn instructions_agree_with_dockerfile_parser() {
    let Some(dir) = corpus() else {
        eprintln!("DOCKOPT_CORPUS not set: oracle comparison skipped");
        return;
    };
    let mut tally = Tally::default();
    let mut disagreements = Vec::new();
    let mut names = BTreeSet::new();
    for path in dockerfiles(&dir) {
        tally.files += 1;
        let name = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        names.insert(name.clone());
        let text = std::fs::read_to_string(&path).unwrap();
        let ours = parse(&text);
        match oracle_parse(&text) {
            Oracle::Accepted(oracle) => {
                tally.accepted += 1;
                compare_file(&name, &text, &oracle, &ours, &mut tally, &mut disagreements);
            }
            Oracle::Rejected => {
                tally.rejected += 1;
                compare_alone(&name, &ours, &mut tally, &mut disagreements);
            }
            Oracle::Panicked => {
                tally.panicked += 1;
                compare_alone(&name, &ours, &mut tally, &mut disagreements);
            }
        }
    }

    // Match disagreements against the known list.
    let mut seen_known = BTreeSet::new();
    let mut unexplained = String::new();
    let mut explained_instructions = BTreeSet::new();
    for d in &disagreements {
        match KNOWN
            .iter()
            .position(|k| k.file == d.file && k.index == d.index && d.what.starts_with(k.what))
        {
            Some(k) => {
                seen_known.insert(k);
                explained_instructions.insert((d.file.clone(), d.index));
            }
            None => {
                let _ = writeln!(unexplained, "{}", d.render());
            }
        }
    }
    tally.explained = explained_instructions.len();
    // An entry for a file this corpus lacks is not stale, just not exercised.
    for (k, known) in KNOWN.iter().enumerate() {
        if !seen_known.contains(&k) && names.contains(known.file) {
            let _ = writeln!(
                unexplained,
                "stale KNOWN entry (no longer disagrees): {} {:?} {}: {}",
                known.file, known.index, known.what, known.why
            );
        }
    }

    println!(
        "oracle summary: {} files, {} accepted by the oracle ({} rejected, {} panicked); \
         whole files: {} instructions compared, {} agree; rejected files, instructions alone: \
         {} compared, {} agree, {} rejected by the oracle, {} skipped; \
         {} explained disagreements",
        tally.files,
        tally.accepted,
        tally.rejected,
        tally.panicked,
        tally.compared,
        tally.agreements,
        tally.alone_compared,
        tally.alone_agreements,
        tally.alone_rejected,
        tally.alone_skipped,
        tally.explained,
    );
    assert!(
        unexplained.is_empty(),
        "disagreements with dockerfile-parser:\n{unexplained}"
    );
}
