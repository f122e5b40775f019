//! The semantic guard of the fix loop: a round must not change what a RUN runs.
//!
//! "Still parses" proves nothing about a rewritten shell script: a merge that puts
//! `&& touch /two` after a trailing `# comment` parses fine, and `touch /two` no longer runs.
//! So after each round the loop compares the RUNs of the text the round started from with
//! those of the text it produced, through the shell layer, and refuses the round when:
//!
//! - a RUN the round rewrote (or added) is opaque to the shell layer while none of the RUNs
//!   it came from was: the shell would read something else than the fix meant;
//! - a command of the original RUNs no longer appears, in order, among the commands of the
//!   new ones: it was dropped, moved behind another, or swallowed by a comment (where it is
//!   no longer a command at all), unless the fix declared that removal ([`Fix::removes`]).
//!
//! # Method
//!
//! The RUNs of both texts (ONBUILD RUNs included) are listed in file order, keyed by the
//! text the shell receives (exec form: its JSON words) after their flags. RUNs whose key
//! did not change are anchors (an LCS diff of the keys): the keyword's case may change
//! without making a RUN "changed", and nothing is parsed for anchors, which keeps the guard
//! cheap on files where a round touched one RUN of many. An original command's RUN flags
//! must all be on the RUN it ends up in (fixes add mounts; dropping `--network=none` or a
//! secret mount changes what the command runs with). In each changed stretch
//! between anchors, the simple commands of the original RUNs ([`Script::commands`], nested
//! ones included, in source order) must embed in order in those of the new RUNs. Fixes add
//! commands and words (`-y`, `--no-install-recommends`, `&& rm -rf /var/lib/apt/lists/*`),
//! wrap commands in `( ... )` and join RUNs with `&&`; they never drop or reorder them.
//! A command embeds in another when both have the same name and its words (prefix
//! assignments, name, arguments, redirections, each as written) are an in-order subsequence
//! of the other's words. Matching each original command with the earliest new command it
//! embeds in is optimal for an in-order embedding, so one greedy pass decides.
//!
//! An original command whose range lies inside a range the round's fixes declared removed
//! may be missing; so may an original word inside one. A RUN wholly inside such a range
//! takes no part in the diff (a fix that moves a RUN declares its old place removed).
//!
//! [`Fix::removes`]: crate::Fix::removes
//! [`Script::commands`]: dockopt_shell::Script::commands

use std::borrow::Cow;
use std::ops::Range;

use dockopt_shell::{Command, Script};
use dockopt_syntax::{Dockerfile, Instruction, InstructionKind, TextRange};
use similar::{Algorithm, DiffTag, capture_diff_slices};

/// Commands are quoted in messages up to this many characters.
const QUOTE_CHARS: usize = 60;

/// How a round changes what a RUN does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    /// What the round would do, to follow "would": "change what RUN at 2:1 does: ...".
    pub message: String,
    /// 1-based position of the RUN concerned: the RUN that held the lost command (or the
    /// first RUN the round rewrote) in the text the round started from, or, for a RUN the
    /// round added, that RUN in the text it produced.
    pub line: usize,
    pub column: usize,
}

/// Checks that `new` (the text a round produced from `old`) runs every command of `old`'s
/// RUNs, in order, except those inside `removes` (ranges of `old`'s text).
pub(crate) fn check(
    old: &Dockerfile,
    new: &Dockerfile,
    removes: &[TextRange],
) -> Option<Violation> {
    let removed = |r: &Range<usize>| removes.iter().any(|d| d.start <= r.start && r.end <= d.end);
    // A RUN the round declared removed runs nothing to look for, and must not anchor the
    // diff: a fix that moves a RUN (declares the old one removed, adds it elsewhere) would
    // otherwise have the old place anchor the new one and the RUNs it passed look lost.
    let old_runs: Vec<Instruction<'_>> = runs(old)
        .into_iter()
        .filter(|r| !removed(&r.range().range()))
        .collect();
    let new_runs = runs(new);
    let old_keys: Vec<String> = old_runs.iter().map(|&r| key(r)).collect();
    let new_keys: Vec<String> = new_runs.iter().map(|&r| key(r)).collect();
    changed_stretches(&old_keys, &new_keys)
        .into_iter()
        .find_map(|(o, n)| check_stretch(&old_runs[o], &new_runs[n], &removed))
}

/// The RUN instructions of `doc` in file order, ONBUILD RUNs included.
fn runs(doc: &Dockerfile) -> Vec<Instruction<'_>> {
    doc.instructions()
        .filter_map(|i| match i.kind() {
            InstructionKind::Run => Some(i),
            InstructionKind::Onbuild => i
                .onbuild_child()
                .filter(|c| c.kind() == InstructionKind::Run),
            _ => None,
        })
        .collect()
}

/// What a RUN runs, without the keyword's spelling: its flags, sorted (a `--network` or a
/// mount changes what the commands run with), then the clean text `/bin/sh -c` receives;
/// for exec form and a heredoc BuildKit runs as its own program, the words. `\0` never
/// occurs in shell text or flags, so the parts never run together.
fn key(run: Instruction<'_>) -> String {
    let mut flags: Vec<&str> = run.flags().map(|f| f.text).collect();
    flags.sort_unstable();
    let mut key = flags.join("\0");
    key.push_str("\0\0");
    if let Some(source) = dockopt_shell::instruction_source(run) {
        key.push_str(source.text());
        return key;
    }
    key.push('\0');
    for word in body_words(run) {
        key.push_str(word.0);
        key.push('\0');
    }
    key
}

/// The words of a RUN that does not go through the shell: the exec-form JSON values, or
/// the bodies of a heredoc script run as its own program; with their ranges.
fn body_words(run: Instruction<'_>) -> Vec<(&str, TextRange)> {
    if let Some(elements) = run.json_array() {
        return elements.iter().map(|e| (e.value, e.range)).collect();
    }
    let mut words = vec![(run.args_text(), run.args_range())];
    words.extend(run.heredocs().map(|h| (h.body(), h.body_range())));
    words
}

/// Pairs of (old, new) index ranges of the RUNs between anchors: the stretches the round
/// changed, deleted or added.
fn changed_stretches(old: &[String], new: &[String]) -> Vec<(Range<usize>, Range<usize>)> {
    let mut out: Vec<(Range<usize>, Range<usize>)> = Vec::new();
    let mut open = false;
    for op in capture_diff_slices(Algorithm::Myers, old, new) {
        if op.tag() == DiffTag::Equal {
            open = false;
            continue;
        }
        let (o, n) = (op.old_range(), op.new_range());
        match out.last_mut() {
            Some(last) if open => {
                last.0.end = o.end;
                last.1.end = n.end;
            }
            _ => out.push((o, n)),
        }
        open = true;
    }
    out
}

/// A RUN read for the comparison.
enum Body<'d> {
    Shell(Script),
    /// Exec form, or a heredoc script run as its own program: words, not shell.
    Words(Vec<(&'d str, TextRange)>),
}

impl<'d> Body<'d> {
    fn read(run: Instruction<'d>) -> Self {
        match dockopt_shell::parse_instruction(run) {
            Some(script) => Self::Shell(script),
            None => Self::Words(body_words(run)),
        }
    }

    fn opaque(&self) -> Option<&Script> {
        match self {
            Self::Shell(s) if s.is_opaque() => Some(s),
            _ => None,
        }
    }
}

/// One word of a command, as compared.
struct Part<'a> {
    text: Cow<'a, str>,
    /// File range (for declared removals).
    range: Range<usize>,
}

/// A simple command (or the words of a RUN that does not use the shell), as compared.
struct Cmd<'a> {
    name: Option<&'a str>,
    /// Prefix assignments, name, arguments, redirections (a heredoc with its body).
    words: Vec<Part<'a>>,
    /// File range of the whole command.
    range: Range<usize>,
    /// For messages: the command as the shell reads it.
    text: &'a str,
    /// File offset of the RUN holding it.
    run_at: usize,
    /// The RUN's flags (`--network=none`, `--mount=type=secret,id=npm`) with their ranges:
    /// what the command runs with. A fix may add flags (a cache mount), not drop them.
    flags: Vec<Part<'a>>,
}

impl<'a> Cmd<'a> {
    fn shell(script: &'a Script, c: &'a Command, run: Instruction<'a>) -> Self {
        let run_at = run.keyword_range().start;
        let mut words: Vec<Part<'a>> = c
            .assignments
            .iter()
            .map(|a| Part {
                text: Cow::Borrowed(script.slice(&a.span)),
                range: a.span.file.clone(),
            })
            .collect();
        words.extend(c.words().map(|w| Part {
            text: Cow::Borrowed(w.raw.as_str()),
            range: w.span.file.clone(),
        }));
        words.extend(c.redirects.iter().map(|r| {
            let text = r.text(script.text());
            Part {
                text: match &r.heredoc {
                    Some(h) => Cow::Owned(format!("{text}\n{}", script.slice(&h.body))),
                    None => Cow::Borrowed(text),
                },
                range: r.span.file.clone(),
            }
        }));
        Self {
            name: c.name.as_ref().map(|w| w.raw.as_str()),
            words,
            range: c.span.file.clone(),
            text: script.slice(&c.span),
            run_at,
            flags: run_flags(run),
        }
    }

    /// The commands of a RUN's body, in source order.
    fn of(body: &'a Body<'_>, run: Instruction<'a>) -> Vec<Self> {
        let run_at = run.keyword_range().start;
        match body {
            Body::Shell(script) => script
                .commands()
                .into_iter()
                .map(|c| Self::shell(script, c, run))
                .collect(),
            Body::Words(words) => vec![Self {
                name: words.first().map(|w| w.0),
                words: words
                    .iter()
                    .map(|&(text, range)| Part {
                        text: Cow::Borrowed(text),
                        range: range.range(),
                    })
                    .collect(),
                range: run.range().range(),
                text: run.args_text(),
                run_at,
                flags: run_flags(run),
            }],
        }
    }

    /// The words that must survive: those outside declared removals.
    fn required<'s>(
        &'s self,
        removed: &'s dyn Fn(&Range<usize>) -> bool,
    ) -> impl Iterator<Item = &'s str> + 's {
        self.words
            .iter()
            .filter(move |p| !removed(&p.range))
            .map(|p| p.text.as_ref())
    }

    /// Whether `self` (an original command) runs, words in order, as `other`, with every
    /// flag its RUN had.
    fn embeds_in(&self, other: &Cmd<'_>, removed: &dyn Fn(&Range<usize>) -> bool) -> bool {
        if self.name != other.name {
            return false;
        }
        let mut theirs = other.words.iter().map(|p| p.text.as_ref());
        self.required(removed)
            .all(|word| theirs.by_ref().any(|t| t == word))
            && self.missing_flags(other, removed).is_empty()
    }

    /// The flags of `self`'s RUN, outside declared removals, that `other`'s RUN lacks.
    fn missing_flags(&self, other: &Cmd<'_>, removed: &dyn Fn(&Range<usize>) -> bool) -> Vec<&str> {
        self.flags
            .iter()
            .filter(|f| !removed(&f.range) && !other.flags.iter().any(|o| o.text == f.text))
            .map(|f| f.text.as_ref())
            .collect()
    }
}

/// The flags of a RUN, as written after quote removal.
fn run_flags(run: Instruction<'_>) -> Vec<Part<'_>> {
    run.flags()
        .map(|f| Part {
            text: Cow::Borrowed(f.text),
            range: f.range.range(),
        })
        .collect()
}

/// Checks one changed stretch: `old` RUNs became `new` RUNs.
fn check_stretch(
    old: &[Instruction<'_>],
    new: &[Instruction<'_>],
    removed: &dyn Fn(&Range<usize>) -> bool,
) -> Option<Violation> {
    let old_bodies: Vec<Body<'_>> = old.iter().map(|&r| Body::read(r)).collect();
    let new_bodies: Vec<Body<'_>> = new.iter().map(|&r| Body::read(r)).collect();

    if !old_bodies.iter().any(|b| b.opaque().is_some()) {
        let broken = new_bodies
            .iter()
            .zip(new)
            .find_map(|(b, &r)| b.opaque().map(|s| (s, r)));
        if let Some((script, run)) = broken {
            let near = script
                .errors()
                .first()
                .map(|e| {
                    let at = run.file().line_col(script.span(e.clone()).file.start);
                    format!(
                        " (error at {at} of the fixed text, after `{}`)",
                        before_error(script, e)
                    )
                })
                .unwrap_or_default();
            let new_at = run.file().line_col(run.keyword_range().start);
            return Some(match old.first() {
                Some(&first) => {
                    let at = first.file().line_col(first.keyword_range().start);
                    Violation {
                        message: format!(
                            "change what RUN at {at} does: its rewritten shell text (the RUN at {new_at} of the fixed text) no longer parses{near}"
                        ),
                        line: at.line,
                        column: at.column,
                    }
                }
                None => Violation {
                    message: format!(
                        "add a RUN at {new_at} (of the fixed text) whose shell text does not parse{near}"
                    ),
                    line: new_at.line,
                    column: new_at.column,
                },
            });
        }
    }

    let old_cmds: Vec<Cmd<'_>> = old_bodies
        .iter()
        .zip(old)
        .flat_map(|(b, &r)| Cmd::of(b, r))
        .collect();
    if old_cmds.is_empty() {
        return None;
    }
    let new_cmds: Vec<Cmd<'_>> = new_bodies
        .iter()
        .zip(new)
        .flat_map(|(b, &r)| Cmd::of(b, r))
        .collect();
    let file = old[0].file();
    let mut cursor = 0;
    let mut previous: Option<&Cmd<'_>> = None;
    for cmd in &old_cmds {
        if removed(&cmd.range) {
            continue;
        }
        if let Some(j) = (cursor..new_cmds.len()).find(|&j| cmd.embeds_in(&new_cmds[j], removed)) {
            cursor = j + 1;
            previous = Some(cmd);
            continue;
        }
        let at = file.line_col(cmd.run_at);
        let what = describe(file, cmd);
        let why = diagnose(
            cmd,
            previous,
            &new_cmds[..],
            cursor,
            &new_bodies,
            removed,
            file,
        );
        return Some(Violation {
            message: format!("change what RUN at {at} does: {what} {why}"),
            line: at.line,
            column: at.column,
        });
    }
    None
}

/// Why `cmd` embeds in none of `new_cmds[cursor..]`, to follow the command in a message.
fn diagnose(
    cmd: &Cmd<'_>,
    previous: Option<&Cmd<'_>>,
    new_cmds: &[Cmd<'_>],
    cursor: usize,
    new_bodies: &[Body<'_>],
    removed: &dyn Fn(&Range<usize>) -> bool,
    file: &Dockerfile,
) -> String {
    if let Some(previous) = previous
        && new_cmds[..cursor].iter().any(|n| cmd.embeds_in(n, removed))
    {
        return format!(
            "would run before {}, not after it",
            describe(file, previous)
        );
    }
    let words: Vec<&str> = cmd.required(removed).collect();
    let in_comment = new_bodies.iter().any(|b| match b {
        Body::Shell(script) => script.comments().iter().any(|c| {
            let mut rest = script.slice(c);
            words.iter().all(|w| match rest.find(w) {
                Some(i) => {
                    rest = &rest[i + w.len()..];
                    true
                }
                None => false,
            })
        }),
        Body::Words(_) => false,
    });
    if in_comment {
        return "no longer runs (it would sit inside a comment)".to_string();
    }
    if let Some(same) = new_cmds[cursor..].iter().find(|n| n.name == cmd.name) {
        let flags = cmd.missing_flags(same, removed);
        if !flags.is_empty() {
            let flags: Vec<String> = flags.iter().map(|f| format!("`{}`", quote(f))).collect();
            return format!("would run without its RUN's {}", flags.join(", "));
        }
        let missing: Vec<String> = words
            .iter()
            .filter(|w| !same.words.iter().any(|p| p.text == **w))
            .map(|w| format!("`{}`", quote(w)))
            .collect();
        return if missing.is_empty() {
            "would run with its words in another order".to_string()
        } else {
            format!("would run without {}", missing.join(", "))
        };
    }
    "no longer runs".to_string()
}

/// The shell text that leads to the error at `error` (a clean range), on its line, up to
/// the error's end: a MISSING node is empty and sits where the parser gave up, so what
/// comes before it is what a person needs to see (`... # comment )`).
fn before_error(script: &Script, error: &Range<usize>) -> String {
    let text = script.text();
    let end = error.end.min(text.len());
    let start = error.start.min(end);
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let mut window = text[line_start..end].trim();
    if window.is_empty() {
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
        window = text[line_start..line_end].trim();
    }
    let one_line: String = window.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars = one_line.chars().count();
    if chars <= QUOTE_CHARS {
        return one_line;
    }
    let cut = one_line
        .char_indices()
        .nth(chars - QUOTE_CHARS)
        .map_or(0, |(i, _)| i);
    format!("...{}", &one_line[cut..])
}

/// "`touch /two` (line 3)".
fn describe(file: &Dockerfile, cmd: &Cmd<'_>) -> String {
    format!(
        "`{}` (line {})",
        quote(cmd.text),
        file.line_col(cmd.range.start).line
    )
}

/// `text` on one line, cut to [`QUOTE_CHARS`] characters.
fn quote(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(QUOTE_CHARS) {
        Some((cut, _)) => format!("{}...", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(old: &str, new: &str) -> Option<Violation> {
        check(
            &dockopt_syntax::parse(old),
            &dockopt_syntax::parse(new),
            &[],
        )
    }

    #[test]
    fn stretches_group_the_changes_between_anchors() {
        let keys = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            changed_stretches(&keys("a b c d e"), &keys("a bc d e f")),
            vec![(1..3, 1..2), (5..5, 4..5)]
        );
        assert!(changed_stretches(&keys("a b"), &keys("a b")).is_empty());
    }

    #[test]
    fn keys_ignore_the_keyword_case_but_not_flags_or_the_script() {
        let doc = dockopt_syntax::parse(
            "FROM a\nRUN echo \\\n  hi\nrun echo   hi\nRUN --network=none --mount=type=cache,target=/x echo   hi\nRUN [\"echo\", \"hi\"]\n",
        );
        let keys: Vec<String> = runs(&doc).into_iter().map(key).collect();
        assert_eq!(keys[0], "\0\0echo   hi");
        assert_eq!(keys[1], keys[0]);
        assert_eq!(
            keys[2],
            "--mount=type=cache,target=/x\0--network=none\0\0echo   hi"
        );
        assert_eq!(keys[3], "\0\0\0echo\0hi\0");
    }

    #[test]
    fn the_example_that_motivated_the_guard() {
        let v = violation(
            "FROM a\nRUN echo one # first step\nRUN touch /two\n",
            "FROM a\nRUN echo one # first step && \\\n    touch /two\n",
        )
        .unwrap();
        assert_eq!(
            v.message,
            "change what RUN at 3:1 does: `touch /two` (line 3) no longer runs (it would sit inside a comment)"
        );
        assert_eq!((v.line, v.column), (3, 1));
    }

    #[test]
    fn a_run_moved_ahead_is_a_declared_removal_that_anchors_nothing() {
        // split-stage-copy moves the prune into its own stage, before the build.
        let old = "FROM a\nRUN npm ci\nRUN npm run build\nRUN npm prune --omit=dev\n";
        let new = "FROM a\nRUN npm ci\nFROM b\nRUN npm prune --omit=dev\nFROM c\n\
                   RUN --mount=type=bind,target=/m npm run build\n";
        let (old_doc, new_doc) = (dockopt_syntax::parse(old), dockopt_syntax::parse(new));
        let prune = old_doc.instruction(3).unwrap().range();
        assert_eq!(check(&old_doc, &new_doc, &[prune]), None);
        // Undeclared, the same move loses the build.
        let v = check(&old_doc, &new_doc, &[]).unwrap();
        assert!(
            v.message
                .contains("`npm run build` (line 3) no longer runs"),
            "{}",
            v.message
        );
    }

    #[test]
    fn unchanged_runs_are_not_read() {
        // An opaque RUN that the round did not touch is an anchor: no refusal.
        let old = "FROM a\nRUN echo 'unterminated\nRUN a\n";
        assert_eq!(
            violation(old, "FROM a\nRUN echo 'unterminated\nRUN a -y\n"),
            None
        );
    }

    #[test]
    fn exec_form_words_must_stay() {
        assert_eq!(
            violation(
                "FROM a\nRUN [\"a\", \"b\"]\n",
                "FROM a\nRUN [ \"a\",\"b\" ]\n"
            ),
            None
        );
        let v = violation("FROM a\nRUN [\"a\", \"b\"]\n", "FROM a\nRUN [\"a\"]\n").unwrap();
        assert!(v.message.contains("would run without `b`"), "{}", v.message);
    }

    #[test]
    fn onbuild_runs_are_guarded() {
        let v = violation(
            "FROM a\nONBUILD RUN make && make install\n",
            "FROM a\nONBUILD RUN make\n",
        )
        .unwrap();
        assert_eq!(
            v.message,
            "change what RUN at 2:9 does: `make install` (line 2) no longer runs"
        );
    }

    #[test]
    fn the_error_is_shown_with_what_leads_to_it() {
        let v = violation(
            "FROM a\nRUN a\nRUN b # note\n",
            "FROM a\nRUN a && ( b # note )\n",
        )
        .unwrap();
        assert_eq!(
            v.message,
            "change what RUN at 2:1 does: its rewritten shell text (the RUN at 2:1 of the fixed text) no longer parses (error at 2:22 of the fixed text, after `a && ( b # note )`)"
        );
    }

    #[test]
    fn quotes_are_one_line_and_short() {
        assert_eq!(quote("a\n   b"), "a b");
        let long = "x".repeat(100);
        assert_eq!(quote(&long).len(), QUOTE_CHARS + 3);
    }
}
