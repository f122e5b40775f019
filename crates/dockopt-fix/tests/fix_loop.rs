//! The fix loop against test-only rules (closures over the parsed file) and the real parser.

use std::cell::Cell;

use dockopt_fix::{
    Applicability, ConfigKey, DeclaredEffect, Diagnostic, Edit, FileChange, Fix, FixOptions,
    Isolation, Refusal, TextRange, assert_idempotent, check_idempotent, fix_loop,
};
use dockopt_syntax::Dockerfile;

/// Offsets of the lines of `text` that start with `prefix`.
fn lines_starting_with(text: &str, prefix: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with(prefix) {
            out.push(start);
        }
        start += line.len();
    }
    out
}

fn diag(rule: &'static str, range: TextRange, fix: Fix) -> Diagnostic {
    Diagnostic::new(rule, range, fix.title.clone()).with_fix(fix)
}

/// Uppercases the first lowercase `run` keyword only: one fix per round.
fn upper_first_run(doc: &Dockerfile) -> Vec<Diagnostic> {
    lines_starting_with(doc.text(), "run ")
        .first()
        .map(|&at| {
            let range = TextRange::new(at, at + 3);
            diag(
                "upper-run",
                range,
                Fix::safe("Uppercase RUN", vec![Edit::replace(range, "RUN")]),
            )
        })
        .into_iter()
        .collect()
}

/// Appends a comment line every time: never converges.
fn grow(doc: &Dockerfile) -> Vec<Diagnostic> {
    let end = doc.text().len();
    vec![diag(
        "grow",
        TextRange::empty(end),
        Fix::safe("Append a comment", vec![Edit::insert(end, "# more\n")]),
    )]
}

fn both(
    a: impl Fn(&Dockerfile) -> Vec<Diagnostic>,
    b: impl Fn(&Dockerfile) -> Vec<Diagnostic>,
) -> impl Fn(&Dockerfile) -> Vec<Diagnostic> {
    move |doc| {
        let mut out = a(doc);
        out.extend(b(doc));
        out
    }
}

#[test]
fn nothing_to_fix_takes_no_rounds() {
    let text = "FROM alpine\nRUN true\n";
    let outcome = fix_loop(text, &FixOptions::default(), &upper_first_run);
    assert_eq!(outcome.text, text);
    assert_eq!(outcome.rounds, 0);
    assert!(outcome.applied.is_empty());
    assert!(outcome.remaining.is_empty());
    assert_eq!(outcome.refused, None);
}

#[test]
fn one_fix_per_round_converges_over_several_rounds() {
    let text = "FROM alpine\nrun a\nrun b\nRUN c\nrun d\nrun e\nrun f\n";
    let outcome = assert_idempotent(text, &FixOptions::default(), &upper_first_run);
    assert_eq!(
        outcome.text,
        "FROM alpine\nRUN a\nRUN b\nRUN c\nRUN d\nRUN e\nRUN f\n"
    );
    assert_eq!(outcome.rounds, 5);
    assert!(outcome.is_changed());
    let rounds: Vec<usize> = outcome.applied.iter().map(|f| f.round).collect();
    assert_eq!(rounds, vec![1, 2, 3, 4, 5]);
    assert!(outcome.applied.iter().all(|f| f.rule == "upper-run"));
    assert!(outcome.remaining.is_empty());

    // Exactly max_rounds rounds is fine; one fewer is not.
    let options = FixOptions {
        max_rounds: 5,
        ..FixOptions::default()
    };
    assert_eq!(fix_loop(text, &options, &upper_first_run).refused, None);
    let options = FixOptions {
        max_rounds: 4,
        ..FixOptions::default()
    };
    let outcome = fix_loop(text, &options, &upper_first_run);
    assert_eq!(
        outcome.refused,
        Some(Refusal::NotConverged {
            rules: vec!["upper-run"]
        })
    );
    assert_eq!(outcome.text, text);
    assert_eq!(outcome.rounds, 4);
    assert!(outcome.applied.is_empty());
    // The remaining diagnostics are those of the text returned: the input.
    assert_eq!(
        outcome.remaining,
        upper_first_run(&dockopt_syntax::parse(text))
    );
}

/// `apt-get install` without `-y`: insert it after `install`.
fn assume_yes(doc: &Dockerfile) -> Vec<Diagnostic> {
    let text = doc.text();
    let Some(at) = text.find("apt-get install") else {
        return Vec::new();
    };
    let end = at + "apt-get install".len();
    if text[end..].starts_with(" -y") || text[end..].contains(" -y ") {
        return Vec::new();
    }
    vec![diag(
        "assume-yes",
        TextRange::new(at, end),
        Fix::safe("Add -y", vec![Edit::insert(end, " -y")]),
    )]
}

/// `apt-get install` without `--no-install-recommends`: insert it after `install`.
fn no_recommends(doc: &Dockerfile) -> Vec<Diagnostic> {
    let text = doc.text();
    let Some(at) = text.find("apt-get install") else {
        return Vec::new();
    };
    let end = at + "apt-get install".len();
    if text.contains("--no-install-recommends") {
        return Vec::new();
    }
    vec![diag(
        "no-recommends",
        TextRange::new(at, end),
        Fix::safe(
            "Add --no-install-recommends",
            vec![Edit::insert(end, " --no-install-recommends")],
        ),
    )]
}

#[test]
fn conflicting_fix_is_deferred_to_the_next_round() {
    let text = "FROM debian\nRUN apt-get install curl\n";
    let check = both(assume_yes, no_recommends);
    let outcome = assert_idempotent(text, &FixOptions::default(), &check);
    assert_eq!(
        outcome.text,
        "FROM debian\nRUN apt-get install --no-install-recommends -y curl\n"
    );
    let applied: Vec<(&str, usize)> = outcome.applied.iter().map(|f| (f.rule, f.round)).collect();
    assert_eq!(applied, vec![("assume-yes", 1), ("no-recommends", 2)]);
    assert_eq!(outcome.rounds, 2);
}

/// Drops the value of `ENV X=1`, leaving `ENV X`, which BuildKit rejects.
fn break_env(doc: &Dockerfile) -> Vec<Diagnostic> {
    let text = doc.text();
    text.find("ENV X=1")
        .map(|at| {
            let range = TextRange::new(at + 5, at + 7);
            diag(
                "break-env",
                range,
                Fix::safe("Drop the value", vec![Edit::delete(range)]),
            )
        })
        .into_iter()
        .collect()
}

/// Turns `RUN echo hi` into an unterminated heredoc.
fn break_heredoc(doc: &Dockerfile) -> Vec<Diagnostic> {
    let text = doc.text();
    text.find("RUN echo hi")
        .map(|at| {
            let range = TextRange::new(at, at + "RUN echo hi".len());
            diag(
                "break-heredoc",
                range,
                Fix::safe("Use a heredoc", vec![Edit::replace(range, "RUN <<EOF")]),
            )
        })
        .into_iter()
        .collect()
}

#[test]
fn the_test_rules_really_break_the_file() {
    let env = dockopt_syntax::parse("FROM a\nENV X\n");
    assert!(env.is_rejected(), "{:?}", env.errors());
    let heredoc = dockopt_syntax::parse("FROM a\nRUN <<EOF\nCMD x\n");
    assert!(heredoc.is_rejected(), "{:?}", heredoc.errors());
}

#[test]
fn a_fix_that_breaks_the_syntax_is_refused_and_the_input_returned() {
    let text = "FROM alpine\nrun a\nENV X=1\n";
    let check = both(upper_first_run, break_env);
    let outcome = fix_loop(text, &FixOptions::default(), &check);
    assert_eq!(outcome.text, text);
    assert!(outcome.applied.is_empty());
    assert!(!outcome.is_changed());
    assert_eq!(outcome.rounds, 1);
    // Only the rule whose fix breaks the file on its own is named.
    match &outcome.refused {
        Some(Refusal::NewSyntaxError {
            rules,
            message,
            line,
            column,
        }) => {
            assert_eq!(rules, &vec!["break-env"]);
            assert_eq!(message, "ENV must have two arguments");
            assert_eq!((*line, *column), (3, 5));
        }
        other => panic!("expected a syntax refusal, got {other:?}"),
    }
    assert_eq!(outcome.remaining.len(), 2);
    let shown = outcome.refused.as_ref().unwrap().to_string();
    assert!(
        shown.contains("break-env") && shown.contains("3:5"),
        "{shown}"
    );
    assert!(check_idempotent(text, &FixOptions::default(), &check).is_err());
}

#[test]
fn an_unterminated_heredoc_is_refused() {
    let text = "FROM alpine\nRUN echo hi\nCMD [\"sh\"]\n";
    let outcome = fix_loop(text, &FixOptions::default(), &break_heredoc);
    assert_eq!(outcome.text, text);
    match outcome.refused {
        Some(Refusal::NewSyntaxError {
            rules,
            message,
            line,
            ..
        }) => {
            assert_eq!(rules, vec!["break-heredoc"]);
            assert!(message.contains("unterminated heredoc"), "{message}");
            assert_eq!(line, 2);
        }
        other => panic!("expected a syntax refusal, got {other:?}"),
    }
}

#[test]
fn errors_the_input_already_had_do_not_refuse_but_one_more_does() {
    // The input already has `ENV A` (rejected); fixing something else is fine.
    let text = "FROM alpine\nENV A\nrun a\n";
    assert!(dockopt_syntax::parse(text).is_rejected());
    let outcome = fix_loop(text, &FixOptions::default(), &upper_first_run);
    assert_eq!(outcome.refused, None);
    assert_eq!(outcome.text, "FROM alpine\nENV A\nRUN a\n");

    // The same message once more is a new error: counts are compared, not just messages.
    let text = "FROM alpine\nENV A\nENV X=1\n";
    let outcome = fix_loop(text, &FixOptions::default(), &break_env);
    assert!(
        matches!(
            outcome.refused,
            Some(Refusal::NewSyntaxError { line: 3, .. })
        ),
        "{:?}",
        outcome.refused
    );
    assert_eq!(outcome.text, text);
}

#[test]
fn a_bad_fix_in_a_later_round_throws_away_the_earlier_rounds() {
    // Round 1 fixes `run`, round 2 breaks the file (break-env only fires once no `run` is
    // left): the whole work goes, the input comes back.
    let gated_break = |doc: &Dockerfile| {
        if doc.text().contains("run ") {
            Vec::new()
        } else {
            break_env(doc)
        }
    };
    let text = "FROM alpine\nrun a\nENV X=1\n";
    let outcome = fix_loop(
        text,
        &FixOptions::default(),
        &both(upper_first_run, gated_break),
    );
    assert_eq!(outcome.text, text);
    assert_eq!(outcome.rounds, 2);
    assert!(outcome.applied.is_empty());
    assert_eq!(outcome.refused.unwrap().rules(), ["break-env"]);
    // The remaining diagnostics are the input's: upper-run's, not break-env's.
    let rules: Vec<&str> = outcome.remaining.iter().map(|d| d.rule).collect();
    assert_eq!(rules, vec!["upper-run"]);
}

/// `FROM` -> `from` and `from` -> `FROM`: each undoes the other.
fn lower_from(doc: &Dockerfile) -> Vec<Diagnostic> {
    lines_starting_with(doc.text(), "FROM ")
        .into_iter()
        .map(|at| {
            let range = TextRange::new(at, at + 4);
            diag(
                "lower-from",
                range,
                Fix::safe("Lowercase", vec![Edit::replace(range, "from")]),
            )
        })
        .collect()
}

fn upper_from(doc: &Dockerfile) -> Vec<Diagnostic> {
    lines_starting_with(doc.text(), "from ")
        .into_iter()
        .map(|at| {
            let range = TextRange::new(at, at + 4);
            diag(
                "upper-from",
                range,
                Fix::safe("Uppercase", vec![Edit::replace(range, "FROM")]),
            )
        })
        .collect()
}

#[test]
fn an_oscillating_pair_is_refused() {
    let text = "FROM alpine\nRUN true\n";
    let outcome = fix_loop(text, &FixOptions::default(), &both(lower_from, upper_from));
    assert_eq!(
        outcome.refused,
        Some(Refusal::Oscillates {
            rules: vec!["lower-from", "upper-from"]
        })
    );
    assert_eq!(outcome.text, text);
    assert_eq!(outcome.rounds, 2);
    assert!(outcome.applied.is_empty());
}

#[test]
fn a_longer_cycle_after_a_prefix_names_only_the_cycle() {
    // upper-run fixes `run` in round 1; then rotate cycles alpine -> debian -> ubuntu ->
    // alpine, back to round 1's text in round 4.
    let rotate = |doc: &Dockerfile| {
        let text = doc.text();
        if text.contains("run ") {
            return Vec::new();
        }
        let next = [
            ("alpine", "debian"),
            ("debian", "ubuntu"),
            ("ubuntu", "alpine"),
        ];
        next.iter()
            .find_map(|(from, to)| {
                let at = text.find(from)?;
                let range = TextRange::new(at, at + from.len());
                Some(diag(
                    "rotate",
                    range,
                    Fix::safe("Rotate", vec![Edit::replace(range, *to)]),
                ))
            })
            .into_iter()
            .collect()
    };
    let text = "FROM alpine\nrun a\n";
    let outcome = fix_loop(text, &FixOptions::default(), &both(upper_first_run, rotate));
    assert_eq!(
        outcome.refused,
        Some(Refusal::Oscillates {
            rules: vec!["rotate"]
        })
    );
    assert_eq!(outcome.rounds, 4);
    assert_eq!(outcome.text, text);
}

#[test]
fn fixes_that_cancel_out_within_one_round_oscillate() {
    // Two disjoint edits whose result is the text itself: "aa" -> delete the first "a",
    // append an "a".
    let text = "FROM a\nRUN aa\n";
    let at = text.find("aa").unwrap();
    let check = move |_: &Dockerfile| {
        vec![
            diag(
                "drop-a",
                TextRange::new(at, at + 1),
                Fix::safe("Drop", vec![Edit::delete(TextRange::new(at, at + 1))]),
            ),
            diag(
                "add-a",
                TextRange::empty(at + 2),
                Fix::safe("Add", vec![Edit::insert(at + 2, "a")]),
            ),
        ]
    };
    let outcome = fix_loop(text, &FixOptions::default(), &check);
    assert_eq!(
        outcome.refused,
        Some(Refusal::Oscillates {
            rules: vec!["add-a", "drop-a"]
        })
    );
}

#[test]
fn a_never_converging_rule_is_refused_at_max_rounds() {
    let text = "FROM alpine\nrun a\n";
    let outcome = fix_loop(text, &FixOptions::default(), &both(upper_first_run, grow));
    // upper-run fired in round 1 only; the last rounds are grow's.
    assert_eq!(
        outcome.refused,
        Some(Refusal::NotConverged {
            rules: vec!["grow"]
        })
    );
    assert_eq!(outcome.rounds, 100);
    assert_eq!(outcome.text, text);
    assert!(outcome.applied.is_empty());
    assert_eq!(outcome.remaining.len(), 2);

    let zero = FixOptions {
        max_rounds: 0,
        ..FixOptions::default()
    };
    let outcome = fix_loop(text, &zero, &grow);
    assert_eq!(outcome.rounds, 0);
    assert!(outcome.is_refused());
    // Nothing to fix converges even with no rounds allowed.
    assert_eq!(fix_loop("FROM a\n", &zero, &upper_first_run).refused, None);
}

fn root_user(doc: &Dockerfile) -> Vec<Diagnostic> {
    let text = doc.text();
    let Some(at) = text.find("USER root\n") else {
        return Vec::new();
    };
    let range = TextRange::new(at + 5, at + 9);
    let effect = DeclaredEffect {
        config: vec![ConfigKey::User],
        summary: "The container runs as nobody".into(),
        ..DeclaredEffect::none()
    };
    vec![diag(
        "non-root-user",
        range,
        Fix::unsafe_edit(
            "Run as nobody",
            vec![Edit::replace(range, "nobody")],
            effect,
        ),
    )]
}

#[test]
fn unsafe_fixes_apply_only_when_asked() {
    let text = "FROM alpine\nUSER root\nrun a\n";
    let check = both(root_user, upper_first_run);

    let safe = assert_idempotent(text, &FixOptions::default(), &check);
    assert_eq!(safe.text, "FROM alpine\nUSER root\nRUN a\n");
    let remaining: Vec<&str> = safe.remaining.iter().map(|d| d.rule).collect();
    assert_eq!(remaining, vec!["non-root-user"]);

    let unsafe_fixes = FixOptions::new(true);
    assert_eq!(unsafe_fixes.min_applicability, Applicability::Unsafe);
    let outcome = assert_idempotent(text, &unsafe_fixes, &check);
    assert_eq!(outcome.text, "FROM alpine\nUSER nobody\nRUN a\n");
    assert!(outcome.remaining.is_empty());
    let user = &outcome.applied[0];
    assert_eq!(user.rule, "non-root-user");
    assert_eq!(user.title, "Run as nobody");
    assert_eq!(user.applicability, Applicability::Unsafe);
    assert_eq!(user.effect.config, vec![ConfigKey::User]);
    assert_eq!(user.round, 1);
    assert_eq!(outcome.applied[1].applicability, Applicability::Safe);
}

#[test]
fn display_only_fixes_are_never_applied() {
    let text = "FROM alpine\nrun a\n";
    let check = |doc: &Dockerfile| {
        upper_first_run(doc)
            .into_iter()
            .map(|mut d| {
                if let Some(fix) = &mut d.fix {
                    fix.applicability = Applicability::DisplayOnly;
                }
                d
            })
            .collect()
    };
    let everything = FixOptions {
        min_applicability: Applicability::DisplayOnly,
        ..FixOptions::default()
    };
    for options in [FixOptions::default(), FixOptions::new(true), everything] {
        let outcome = fix_loop(text, &options, &check);
        assert_eq!(outcome.text, text);
        assert_eq!(outcome.refused, None);
        assert_eq!(outcome.rounds, 0);
        assert_eq!(outcome.remaining.len(), 1);
    }
}

#[test]
fn alone_fixes_take_a_round_each() {
    let text = "FROM alpine\nrun a\nrun b\n";
    let check = |doc: &Dockerfile| -> Vec<Diagnostic> {
        lines_starting_with(doc.text(), "run ")
            .into_iter()
            .map(|at| {
                let range = TextRange::new(at, at + 3);
                let mut fix = Fix::safe("Uppercase RUN", vec![Edit::replace(range, "RUN")]);
                fix.isolation = Isolation::Alone;
                diag("upper-run-alone", range, fix)
            })
            .collect()
    };
    let outcome = assert_idempotent(text, &FixOptions::default(), &check);
    assert_eq!(outcome.text, "FROM alpine\nRUN a\nRUN b\n");
    assert_eq!(outcome.rounds, 2);

    // Without isolation both go in one round.
    let outcome = fix_loop(text, &FixOptions::default(), &|doc: &Dockerfile| {
        lines_starting_with(doc.text(), "run ")
            .into_iter()
            .map(|at| {
                let range = TextRange::new(at, at + 3);
                diag(
                    "upper-run",
                    range,
                    Fix::safe("RUN", vec![Edit::replace(range, "RUN")]),
                )
            })
            .collect()
    });
    assert_eq!(outcome.rounds, 1);
}

#[test]
fn a_fix_that_cannot_apply_ends_the_loop_and_stays_reported() {
    let check = |doc: &Dockerfile| {
        let end = doc.text().len();
        vec![diag(
            "out-of-bounds",
            TextRange::empty(end),
            Fix::safe("Nothing sane", vec![Edit::insert(end + 10, "x")]),
        )]
    };
    let outcome = fix_loop("FROM a\n", &FixOptions::default(), &check);
    assert_eq!(outcome.refused, None);
    assert_eq!(outcome.rounds, 0);
    assert_eq!(outcome.text, "FROM a\n");
    assert_eq!(outcome.remaining.len(), 1);
}

#[test]
fn remaining_diagnostics_are_those_of_the_final_text() {
    let text = "FROM alpine\nUSER root\nrun a\nrun b\n";
    let check = both(root_user, upper_first_run);
    let outcome = fix_loop(text, &FixOptions::default(), &check);
    assert_eq!(
        outcome.remaining,
        check(&dockopt_syntax::parse(&outcome.text))
    );
    assert_eq!(outcome.remaining[0].range, TextRange::new(17, 21));
}

#[test]
fn idempotence_check_catches_a_check_that_depends_on_more_than_the_text() {
    // A rule with state: it fires on its second call only, i.e. in the second fix run.
    let calls = Cell::new(0);
    let check = |doc: &Dockerfile| {
        calls.set(calls.get() + 1);
        if calls.get() == 2 {
            grow(doc)
        } else {
            Vec::new()
        }
    };
    let err = check_idempotent("FROM a\n", &FixOptions::default(), &check).unwrap_err();
    assert!(err.contains("grow: Append a comment"), "{err}");
    assert!(err.contains("+# more"), "{err}");
}

#[test]
fn multibyte_text_and_crlf_survive_the_loop() {
    let text = "FROM alpine\r\nLABEL note=\"日本🐳\"\r\nrun a\r\n";
    let outcome = assert_idempotent(text, &FixOptions::default(), &upper_first_run);
    assert_eq!(
        outcome.text,
        "FROM alpine\r\nLABEL note=\"日本🐳\"\r\nRUN a\r\n"
    );
}

/// Proposes a `.dockerignore` (a new file) that names the number of `RUN` lines of the
/// text it was made against, so a test can tell which text that was.
fn ignore_file(
    rule: &'static str,
    applicability: Applicability,
) -> impl Fn(&Dockerfile) -> Vec<Diagnostic> {
    move |doc| {
        let runs = lines_starting_with(doc.text(), "RUN ").len();
        let fix = Fix::new(
            "Create .dockerignore",
            applicability,
            Vec::new(),
            DeclaredEffect::none(),
        )
        .with_file_change(FileChange::create(
            "ctx/.dockerignore",
            format!("# {rule}: {runs} RUN\n.git\n"),
        ));
        vec![diag(rule, TextRange::new(0, 4), fix)]
    }
}

#[test]
fn file_changes_are_collected_once_the_dockerfile_converged() {
    // Alone: nothing happens to the Dockerfile; the change is collected.
    let text = "FROM alpine\nrun a\n";
    let outcome = fix_loop(
        text,
        &FixOptions::default(),
        &ignore_file("ignore", Applicability::Safe),
    );
    assert_eq!(outcome.text, text);
    assert_eq!(outcome.rounds, 0);
    assert!(outcome.is_changed());
    assert!(!outcome.text_changed());
    assert_eq!(outcome.text_fixes().count(), 0);
    assert!(outcome.remaining.is_empty());
    assert_eq!(outcome.file_changes.len(), 1);
    let change = &outcome.file_changes[0];
    assert_eq!(change.rule, "ignore");
    assert_eq!(change.title, "Create .dockerignore");
    assert_eq!(change.applicability, Applicability::Safe);
    assert_eq!(
        change.change,
        FileChange::create("ctx/.dockerignore", "# ignore: 0 RUN\n.git\n")
    );
    assert!(change.change.is_create());
    let applied: Vec<(&str, usize)> = outcome.applied.iter().map(|f| (f.rule, f.round)).collect();
    assert_eq!(applied, vec![("ignore", 1)]);

    // With Dockerfile fixes: those run their rounds, the change is made against the final
    // text and listed after them.
    let check = both(upper_first_run, ignore_file("ignore", Applicability::Safe));
    let outcome = assert_idempotent(
        "FROM alpine\nrun a\nrun b\n",
        &FixOptions::default(),
        &check,
    );
    assert_eq!(outcome.text, "FROM alpine\nRUN a\nRUN b\n");
    assert_eq!(outcome.rounds, 2);
    assert!(outcome.text_changed() && outcome.is_changed());
    let applied: Vec<(&str, usize)> = outcome.applied.iter().map(|f| (f.rule, f.round)).collect();
    assert_eq!(
        applied,
        vec![("upper-run", 1), ("upper-run", 2), ("ignore", 3)]
    );
    assert_eq!(outcome.text_fixes().count(), 2);
    assert_eq!(
        outcome.file_changes[0].change.text,
        "# ignore: 2 RUN\n.git\n"
    );
    assert!(outcome.remaining.is_empty());
}

#[test]
fn a_fix_with_both_edits_and_file_changes_is_never_applied() {
    let text = "FROM alpine\n";
    let check = |_: &Dockerfile| {
        let fix = Fix::safe("Both", vec![Edit::insert(0, "# x\n")])
            .with_file_change(FileChange::create("ctx/.dockerignore", ".git\n"));
        vec![diag("both", TextRange::new(0, 4), fix)]
    };
    let outcome = assert_idempotent(text, &FixOptions::default(), &check);
    assert_eq!(outcome.text, text);
    assert!(!outcome.is_changed());
    assert!(outcome.applied.is_empty() && outcome.file_changes.is_empty());
    assert_eq!(outcome.remaining.len(), 1);
}

#[test]
fn the_first_change_of_a_path_wins_and_no_ops_stay_reported() {
    let noop = |_: &Dockerfile| {
        let fix = Fix::safe("Keep", Vec::new()).with_file_change(FileChange::update(
            "ctx/other",
            "same\n",
            "same\n",
        ));
        vec![diag("noop", TextRange::new(0, 4), fix)]
    };
    let twice = |_: &Dockerfile| {
        let fix = Fix::safe("Twice", Vec::new())
            .with_file_change(FileChange::create("ctx/twice", "a\n"))
            .with_file_change(FileChange::create("ctx/twice", "b\n"));
        vec![diag("twice", TextRange::new(0, 4), fix)]
    };
    let check = both(
        both(
            ignore_file("first", Applicability::Safe),
            ignore_file("second", Applicability::Safe),
        ),
        both(noop, twice),
    );
    let outcome = fix_loop("FROM alpine\n", &FixOptions::default(), &check);
    assert_eq!(outcome.refused, None);
    let collected: Vec<&str> = outcome.file_changes.iter().map(|c| c.rule).collect();
    assert_eq!(collected, vec!["first"]);
    assert_eq!(
        outcome.file_changes[0].change.text,
        "# first: 0 RUN\n.git\n"
    );
    let left: Vec<&str> = outcome.remaining.iter().map(|d| d.rule).collect();
    assert_eq!(left, vec!["second", "noop", "twice"]);
    assert_eq!(outcome.applied.len(), 1);
}

#[test]
fn file_changes_respect_applicability() {
    let text = "FROM alpine\n";
    let unsafe_change = ignore_file("ignore", Applicability::Unsafe);
    let outcome = fix_loop(text, &FixOptions::default(), &unsafe_change);
    assert!(outcome.file_changes.is_empty() && !outcome.is_changed());
    assert_eq!(outcome.remaining.len(), 1);
    let outcome = fix_loop(text, &FixOptions::new(true), &unsafe_change);
    assert_eq!(outcome.file_changes.len(), 1);
    assert_eq!(outcome.file_changes[0].applicability, Applicability::Unsafe);
    assert!(outcome.remaining.is_empty());

    let shown = ignore_file("ignore", Applicability::DisplayOnly);
    let outcome = fix_loop(text, &FixOptions::new(true), &shown);
    assert!(outcome.file_changes.is_empty() && outcome.applied.is_empty());
    assert_eq!(outcome.remaining.len(), 1);
}

#[test]
fn a_refused_loop_collects_no_file_changes() {
    let options = FixOptions {
        max_rounds: 3,
        ..FixOptions::default()
    };
    let check = both(grow, ignore_file("ignore", Applicability::Safe));
    let outcome = fix_loop("FROM alpine\n", &options, &check);
    assert!(matches!(
        outcome.refused,
        Some(Refusal::NotConverged { .. })
    ));
    assert!(outcome.file_changes.is_empty() && outcome.applied.is_empty());
    assert!(!outcome.is_changed() && !outcome.text_changed());
    // Refused, the input's diagnostics stay reported, the file change among them.
    assert!(outcome.remaining.iter().any(|d| d.rule == "ignore"));

    let check = both(break_env, ignore_file("ignore", Applicability::Safe));
    let outcome = fix_loop("FROM alpine\nENV X=1\n", &FixOptions::default(), &check);
    assert!(matches!(
        outcome.refused,
        Some(Refusal::NewSyntaxError { .. })
    ));
    assert!(outcome.file_changes.is_empty() && !outcome.is_changed());
}

#[test]
fn the_idempotence_check_ignores_file_changes_of_the_second_run() {
    // The rule proposes the same change again on the fixed text (nothing was written).
    let outcome = check_idempotent(
        "FROM alpine\n",
        &FixOptions::default(),
        &ignore_file("ignore", Applicability::Safe),
    )
    .unwrap();
    assert_eq!(outcome.file_changes.len(), 1);
}
