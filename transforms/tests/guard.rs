//! The fix loop's semantic guard on the rules' own plumbing: a small [`Rule`] whose fix
//! drops a command, run with a real rule through [`check_file`] and [`fix_loop`], is refused
//! and named alone; without it the real rule's fix goes through; a suppression comment
//! keeps the broken rule quiet.

use dockopt_fix::{Diagnostic, Edit, Fix, FixOptions, Refusal, TextRange, fix_loop};
use dockopt_syntax::InstructionKind;
use dockopt_transforms::{CheckContext, FixAvailability, Rule, RuleMeta, Selection, check_file};

/// "Simplifies" every `&&` chain of three or more commands by dropping its last command:
/// the kind of bug the guard is there for.
#[derive(Debug)]
struct DropsLastCommand;

static DROPS_LAST_COMMAND: RuleMeta = RuleMeta {
    name: "drops-last-command",
    doc: "## What it does\n\nDrops the last command of a long `&&` chain (a broken test rule).\n",
    default_enabled: false,
    fix: FixAvailability::Always,
    options: &[],
};

impl Rule for DropsLastCommand {
    fn meta(&self) -> &'static RuleMeta {
        &DROPS_LAST_COMMAND
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for run in ctx
            .file
            .instructions()
            .filter(|i| i.kind() == InstructionKind::Run)
        {
            let Some(script) = dockopt_shell::parse_instruction(run) else {
                continue;
            };
            let commands = script.commands();
            if script.is_opaque() || !script.is_and_chain() || commands.len() < 3 {
                continue;
            }
            let last = commands[commands.len() - 1];
            let before = commands[commands.len() - 2];
            let range = TextRange::new(before.span.file.end, last.span.file.end);
            let fix = Fix::safe("Drop the last command", vec![Edit::delete(range)]);
            out.push(Diagnostic::new(DROPS_LAST_COMMAND.name, range, "a long chain").with_fix(fix));
        }
        out
    }
}

const TEXT: &str = "FROM debian:12\nRUN apt-get update && apt-get install --no-install-recommends curl && touch /done\n";

fn selection(with_broken_rule: bool) -> Selection {
    let selection = Selection::only(&["apt-get-yes"]);
    if with_broken_rule {
        selection.with_rule(&DropsLastCommand)
    } else {
        selection
    }
}

#[test]
fn a_rule_that_drops_a_command_is_refused_and_named_alone() {
    let selection = selection(true);
    let check = |f: &dockopt_syntax::Dockerfile| check_file(f, &selection);
    // Both rules fix the RUN in the same round.
    let rules: Vec<&str> = check(&dockopt_syntax::parse(TEXT))
        .iter()
        .map(|d| d.rule)
        .collect();
    assert_eq!(rules, ["apt-get-yes", "drops-last-command"]);

    let outcome = fix_loop(TEXT, &FixOptions::default(), &check);
    assert_eq!(outcome.text, TEXT);
    assert!(outcome.applied.is_empty());
    assert_eq!(
        outcome.refused,
        Some(Refusal::ChangesMeaning {
            rules: vec!["drops-last-command"],
            message: "change what RUN at 2:1 does: `touch /done` (line 2) no longer runs"
                .to_string(),
            line: 2,
            column: 1,
        })
    );
    // What is left to report is what `check` said about the input.
    assert_eq!(outcome.remaining.len(), 2);
}

#[test]
fn the_real_rule_alone_goes_through() {
    let selection = selection(false);
    let check = |f: &dockopt_syntax::Dockerfile| check_file(f, &selection);
    let outcome = fix_loop(TEXT, &FixOptions::default(), &check);
    assert_eq!(outcome.refused, None);
    assert_eq!(
        outcome.text,
        "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && touch /done\n"
    );
}

#[test]
fn a_suppressed_broken_rule_does_not_stop_the_others() {
    let text = TEXT.replace("RUN ", "# dockopt: ignore=drops-last-command\nRUN ");
    let selection = selection(true);
    let check = |f: &dockopt_syntax::Dockerfile| check_file(f, &selection);
    let outcome = fix_loop(&text, &FixOptions::default(), &check);
    assert_eq!(outcome.refused, None);
    assert!(
        outcome
            .text
            .contains("install -y --no-install-recommends curl && touch /done")
    );
}
