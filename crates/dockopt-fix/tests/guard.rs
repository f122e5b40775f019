//! The fix loop's semantic guard against deliberately broken test rules (closures over the
//! parsed file): a round that drops, reorders or comments out a command of a RUN, or makes
//! a RUN unreadable as shell, is refused with [`Refusal::ChangesMeaning`] naming the rule;
//! fixes that only add commands and words, wrap, merge correctly, declare their removals or
//! touch flags and keyword case go through.

use dockopt_fix::{
    Diagnostic, Edit, Fix, FixOptions, FixOutcome, Refusal, TextRange, assert_idempotent, fix_loop,
};
use dockopt_syntax::Dockerfile;

type Check = Box<dyn Fn(&Dockerfile) -> Vec<Diagnostic>>;

/// A rule that replaces the first `from` with `to`, declaring removed whatever part of
/// `from` `removed` names (each a substring of `from`).
fn rewrite_declaring(
    rule: &'static str,
    from: &'static str,
    to: &'static str,
    removed: &'static [&'static str],
) -> Check {
    Box::new(move |doc: &Dockerfile| {
        let Some(at) = doc.text().find(from) else {
            return Vec::new();
        };
        let range = TextRange::new(at, at + from.len());
        let removes = removed.iter().map(|part| {
            let start = at + from.find(part).expect("a part of `from`");
            TextRange::new(start, start + part.len())
        });
        let fix = Fix::safe(format!("Rewrite {from:?}"), vec![Edit::replace(range, to)])
            .with_removals(removes);
        vec![Diagnostic::new(rule, range, fix.title.clone()).with_fix(fix)]
    })
}

/// A rule that replaces the first `from` with `to`.
fn rewrite(rule: &'static str, from: &'static str, to: &'static str) -> Check {
    rewrite_declaring(rule, from, to, &[])
}

fn all(checks: Vec<Check>) -> Check {
    Box::new(move |doc: &Dockerfile| checks.iter().flat_map(|c| c(doc)).collect())
}

fn run(text: &str, check: &Check) -> FixOutcome {
    fix_loop(text, &FixOptions::default(), check)
}

/// The refusal of a loop that must change meaning: (rules, message), checking that the
/// input came back untouched.
fn changes_meaning(text: &str, check: &Check) -> (Vec<&'static str>, String, (usize, usize)) {
    let outcome = run(text, check);
    assert_eq!(outcome.text, text, "a refused loop returns its input");
    assert!(outcome.applied.is_empty());
    assert!(!outcome.text_changed());
    match outcome.refused {
        Some(Refusal::ChangesMeaning {
            rules,
            message,
            line,
            column,
        }) => (rules, message, (line, column)),
        other => panic!("expected ChangesMeaning, got {other:?}"),
    }
}

/// The fixed text of a loop the guard must let through (also checked idempotent).
fn passes(text: &str, check: &Check) -> String {
    assert_idempotent(text, &FixOptions::default(), check).text
}

#[test]
fn a_fix_that_drops_a_command_is_refused_naming_its_rule() {
    let text = "FROM debian\nRUN apt-get update && apt-get install -y curl\n";
    let (rules, message, at) = changes_meaning(
        text,
        &rewrite("drop-install", " && apt-get install -y curl", ""),
    );
    assert_eq!(rules, ["drop-install"]);
    assert_eq!(at, (2, 1));
    assert_eq!(
        message,
        "change what RUN at 2:1 does: `apt-get install -y curl` (line 2) no longer runs"
    );
}

#[test]
fn a_merge_whose_trailing_comment_swallows_the_next_command_is_refused() {
    let text = "FROM debian\nRUN echo one # first step\nRUN touch /two\n";
    let naive_merge = rewrite("naive-merge", "\nRUN touch", " && \\\n    touch");
    let outcome = run(text, &naive_merge);
    let refusal = outcome.refused.expect("refused");
    assert_eq!(
        refusal.to_string(),
        "fixes by naive-merge would change what RUN at 3:1 does: `touch /two` (line 3) no longer runs (it would sit inside a comment)"
    );
    assert!(refusal.is_rule_bug());
    assert_eq!(refusal.rules(), ["naive-merge"]);
    assert_eq!(outcome.text, text);
}

#[test]
fn a_fix_that_reorders_two_commands_is_refused() {
    let text = "FROM debian\nRUN mkdir /app && touch /app/x\n";
    let (rules, message, _) = changes_meaning(
        text,
        &rewrite(
            "swap",
            "mkdir /app && touch /app/x",
            "touch /app/x && mkdir /app",
        ),
    );
    assert_eq!(rules, ["swap"]);
    assert_eq!(
        message,
        "change what RUN at 2:1 does: `touch /app/x` (line 2) would run before `mkdir /app` (line 2), not after it"
    );
}

#[test]
fn reordering_across_merged_runs_is_refused() {
    let text = "FROM debian\nRUN a\nRUN b\n";
    let (_, message, _) = changes_meaning(text, &rewrite("merge-backwards", "a\nRUN b", "b && a"));
    assert!(
        message.contains("`b` (line 3) would run before `a` (line 2)"),
        "{message}"
    );
}

#[test]
fn a_fix_that_drops_a_word_is_refused() {
    let text = "FROM debian\nRUN apt-get install -y curl git\n";
    let (_, message, _) = changes_meaning(text, &rewrite("lose-git", "curl git", "curl"));
    assert_eq!(
        message,
        "change what RUN at 2:1 does: `apt-get install -y curl git` (line 2) would run without `git`"
    );
}

#[test]
fn a_fix_that_makes_the_script_opaque_is_refused() {
    let text = "FROM debian\nRUN echo hi && touch /x\n";
    let (rules, message, _) = changes_meaning(text, &rewrite("bad-quote", "echo hi", "echo 'hi"));
    assert_eq!(rules, ["bad-quote"]);
    assert!(
        message.starts_with(
            "change what RUN at 2:1 does: its rewritten shell text (the RUN at 2:1 of the fixed text) no longer parses"
        ),
        "{message}"
    );
}

#[test]
fn a_new_run_that_does_not_parse_is_refused() {
    let text = "FROM debian\nUSER root\n";
    let (_, message, at) =
        changes_meaning(text, &rewrite("add-broken", "USER root\n", "RUN echo 'x\n"));
    assert!(
        message.starts_with("add a RUN at 2:1 (of the fixed text) whose shell text does not parse"),
        "{message}"
    );
    assert_eq!(at, (2, 1));
}

#[test]
fn an_opaque_run_may_stay_opaque() {
    // The original was not shell the layer could read; the guard does not hold that
    // against a fix that only adds a flag to it.
    let text = "FROM debian\nRUN apt-get install curl && echo 'oops\n";
    let fixed = passes(
        text,
        &rewrite("assume-yes", "install curl", "install -y curl"),
    );
    assert_eq!(
        fixed,
        "FROM debian\nRUN apt-get install -y curl && echo 'oops\n"
    );
}

#[test]
fn exec_form_words_are_guarded_too() {
    let text = "FROM debian\nRUN [\"apt-get\", \"install\", \"curl\"]\n";
    let (_, message, _) = changes_meaning(text, &rewrite("exec-drop", ", \"curl\"]", "]"));
    assert!(message.contains("would run without `curl`"), "{message}");
    // Re-spacing the JSON changes nothing the guard looks at.
    passes(
        text,
        &rewrite(
            "exec-space",
            "[\"apt-get\", \"install\", \"curl\"]",
            "[ \"apt-get\",\"install\",\"curl\" ]",
        ),
    );
}

#[test]
fn only_the_broken_rule_of_a_round_is_named() {
    let text = "FROM debian\nrun apt-get install curl\nRUN a && b\n";
    let check = all(vec![
        rewrite("upper-run", "run apt", "RUN apt"),
        rewrite("assume-yes", "install curl", "install -y curl"),
        rewrite("drop-b", "a && b", "a"),
    ]);
    let (rules, message, at) = changes_meaning(text, &check);
    assert_eq!(rules, ["drop-b"]);
    assert_eq!(at, (3, 1));
    assert!(message.contains("`b` (line 3) no longer runs"), "{message}");
}

#[test]
fn a_bad_fix_in_a_later_round_throws_away_the_earlier_rounds() {
    // Round 1 adds `-y`; round 2's fix only applies to that text, and drops `curl`.
    let text = "FROM debian\nRUN apt-get install curl\n";
    let check = all(vec![
        rewrite("assume-yes", "install curl", "install -y curl"),
        rewrite("drop-curl", "-y curl", "-y"),
    ]);
    let outcome = run(text, &check);
    assert_eq!(outcome.text, text);
    assert_eq!(outcome.rounds, 2);
    match outcome.refused {
        Some(Refusal::ChangesMeaning { rules, .. }) => assert_eq!(rules, ["drop-curl"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn added_flags_and_commands_pass() {
    let text = "FROM debian\nRUN apt-get update && apt-get install curl\n";
    let check = all(vec![
        rewrite(
            "assume-yes",
            "install curl",
            "install -y --no-install-recommends curl",
        ),
        rewrite(
            "lists-cleanup",
            "curl\n",
            "curl \\\n    && rm -rf /var/lib/apt/lists/*\n",
        ),
    ]);
    assert_eq!(
        passes(text, &check),
        "FROM debian\nRUN apt-get update && apt-get install -y --no-install-recommends curl \\\n    && rm -rf /var/lib/apt/lists/*\n"
    );
}

#[test]
fn a_declared_removal_passes_and_the_same_removal_undeclared_does_not() {
    let text =
        "FROM python\nRUN pip install --no-cache-dir flask && pip cache purge && touch /ok\n";
    let from = "pip install --no-cache-dir flask && pip cache purge && ";
    let to = "pip install flask && ";
    let declared = rewrite_declaring(
        "cache-mounts-like",
        from,
        to,
        &[" --no-cache-dir", " && pip cache purge"],
    );
    assert_eq!(
        passes(text, &declared),
        "FROM python\nRUN pip install flask && touch /ok\n"
    );
    let undeclared = rewrite("cache-mounts-like", from, to);
    let (_, message, _) = changes_meaning(text, &undeclared);
    assert!(
        message.contains("would run without `--no-cache-dir`"),
        "{message}"
    );
    // A declaration covers what it names, nothing more: `touch /ok` still counts.
    let too_much = rewrite_declaring(
        "cache-mounts-like",
        "pip install --no-cache-dir flask && pip cache purge && touch /ok",
        "pip install flask",
        &[" --no-cache-dir", " && pip cache purge"],
    );
    let (_, message, _) = changes_meaning(text, &too_much);
    assert!(
        message.contains("`touch /ok` (line 2) no longer runs"),
        "{message}"
    );
}

#[test]
fn wrapping_in_a_subshell_passes() {
    let text = "FROM debian\nRUN cd /src && make\nRUN make install\n";
    assert_eq!(
        passes(
            text,
            &rewrite("wrap", "cd /src && make\n", "(cd /src && make)\n")
        ),
        "FROM debian\nRUN (cd /src && make)\nRUN make install\n"
    );
}

#[test]
fn merging_two_runs_into_a_correct_chain_passes() {
    let text = "FROM debian\nRUN apt-get update # refresh\nRUN apt-get install -y curl\n";
    let merge = rewrite(
        "merge",
        "RUN apt-get update # refresh\nRUN apt-get install",
        "# refresh\nRUN apt-get update \\\n    && apt-get install",
    );
    assert_eq!(
        passes(text, &merge),
        "FROM debian\n# refresh\nRUN apt-get update \\\n    && apt-get install -y curl\n"
    );
}

#[test]
fn flags_and_keyword_case_only_pass() {
    let text = "FROM debian\nrun apt-get install -y curl\n";
    let check = rewrite(
        "mount",
        "run apt-get",
        "RUN --mount=type=cache,target=/var/cache/apt apt-get",
    );
    assert_eq!(
        passes(text, &check),
        "FROM debian\nRUN --mount=type=cache,target=/var/cache/apt apt-get install -y curl\n"
    );
}

#[test]
fn a_command_moved_to_another_stretch_is_refused() {
    // `touch /b` moves from the last RUN to the first: the unchanged RUN between them is an
    // anchor, and neither stretch keeps the commands in order.
    let text = "FROM debian\nRUN a\nRUN keep\nRUN b && touch /b\n";
    let check = all(vec![
        rewrite("hoist-add", "RUN a\n", "RUN touch /b && a\n"),
        rewrite("hoist-drop", "b && touch /b", "b"),
    ]);
    let outcome = run(text, &check);
    match outcome.refused {
        Some(Refusal::ChangesMeaning { rules, message, .. }) => {
            assert_eq!(rules, ["hoist-drop"]);
            assert!(
                message.contains("`touch /b` (line 4) no longer runs"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn heredoc_bodies_are_part_of_the_command() {
    let text = "FROM debian\nRUN cat <<EOF > /etc/x\nkeep me\nEOF\n";
    let (_, message, _) = changes_meaning(text, &rewrite("lose-line", "keep me\n", ""));
    assert!(message.contains("would run without"), "{message}");
}

#[test]
fn a_fix_that_drops_a_run_flag_is_refused() {
    // Without `--network=none` the install may reach the network; without the secret mount
    // it runs without its token.
    let text = "FROM debian\nRUN --network=none --mount=type=secret,id=npm npm ci\n";
    let check = rewrite(
        "flags",
        "--network=none --mount=type=secret,id=npm npm ci",
        "--mount=type=secret,id=npm npm ci",
    );
    let (rules, message, _) = changes_meaning(text, &check);
    assert_eq!(rules, ["flags"]);
    assert!(message.contains("`--network=none`"), "{message}");
    // Declared, the removal goes through.
    let check = rewrite_declaring(
        "flags",
        "--network=none --mount=type=secret,id=npm npm ci",
        "--mount=type=secret,id=npm npm ci",
        &["--network=none"],
    );
    assert_eq!(
        passes(text, &check),
        "FROM debian\nRUN --mount=type=secret,id=npm npm ci\n"
    );
}
