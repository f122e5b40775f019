//! The fix loop: parse, check, apply what can go together, re-parse, until nothing applies.
//!
//! The loop refuses (returns the original text untouched, naming the rules involved) when
//! a round produces a syntax error the input did not have, when a round changes what a RUN
//! runs (see [`crate::guard`]: "still parses" proves nothing about shell text), when it does
//! not converge within [`FixOptions::max_rounds`], or when it comes back to a text it
//! produced before.
//!
//! # File changes
//!
//! Fixes that change other files ([`Fix::files`], e.g. the build context's `.dockerignore`)
//! are never applied in a round: they change nothing the loop re-parses, so they take no
//! part in convergence, the texts seen or the refusals. Once the Dockerfile converged (and
//! only then: a refused loop collects nothing), the loop takes from the final diagnostics
//! the allowed fixes ([`FixOptions::allows`]) that have file changes and no edits, and moves
//! them to [`FixOutcome::file_changes`], one entry per changed file, in the order `check`
//! reported them. They were made against the final text, which is the Dockerfile the
//! caller writes. A fix is left in [`FixOutcome::remaining`] instead when it also has
//! edits (never applied), changes one path twice or changes a file to its own text, or
//! changes a path an earlier collected fix already changes (the first wins; the next run,
//! after the first change is written, offers the other again if it still applies). Each
//! collected fix is also listed in [`FixOutcome::applied`], with the round after the last
//! Dockerfile round, so that counts and `dockopt verify` see it.
//!
//! The loop writes nothing: the caller writes each [`FileChange`] (and should check that
//! the file still holds [`FileChange::original`], or still does not exist).

use std::collections::HashMap;
use std::fmt;

use dockopt_syntax::{Dockerfile, Severity, SyntaxError, TextRange};

use crate::apply::apply_fixes;
use crate::{Applicability, DeclaredEffect, Diagnostic, FileChange, Fix, guard};

/// The default for [`FixOptions::max_rounds`].
pub const DEFAULT_MAX_ROUNDS: usize = 100;

/// How many of the last rounds [`Refusal::NotConverged`] takes its rules from.
const NOT_CONVERGED_WINDOW: usize = 3;

/// What the fix loop applies and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixOptions {
    /// The least sure fix applied: [`Applicability::Safe`] by default,
    /// [`Applicability::Unsafe`] with `--unsafe-fixes`. [`Applicability::DisplayOnly`]
    /// fixes are never applied, whatever this says.
    pub min_applicability: Applicability,
    /// Rounds of fixes after which the loop gives up ([`Refusal::NotConverged`]).
    pub max_rounds: usize,
}

impl Default for FixOptions {
    fn default() -> Self {
        Self {
            min_applicability: Applicability::Safe,
            max_rounds: DEFAULT_MAX_ROUNDS,
        }
    }
}

impl FixOptions {
    /// Safe fixes, plus Unsafe ones when `unsafe_fixes` (the `--unsafe-fixes` flag).
    pub fn new(unsafe_fixes: bool) -> Self {
        Self {
            min_applicability: if unsafe_fixes {
                Applicability::Unsafe
            } else {
                Applicability::Safe
            },
            ..Self::default()
        }
    }

    /// True when the loop applies `fix`.
    pub fn allows(&self, fix: &Fix) -> bool {
        fix.applicability != Applicability::DisplayOnly
            && fix.applicability >= self.min_applicability
    }
}

/// A fix the loop applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedFix {
    pub rule: &'static str,
    pub title: String,
    pub applicability: Applicability,
    pub effect: DeclaredEffect,
    /// The 1-based round it was applied in; for a fix that changes other files,
    /// [`FixOutcome::rounds`]` + 1`.
    pub round: usize,
}

/// A change to another file than the Dockerfile that the loop collected (see the module
/// documentation); the caller writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedFileChange {
    pub rule: &'static str,
    /// The fix's title.
    pub title: String,
    pub applicability: Applicability,
    pub effect: DeclaredEffect,
    pub change: FileChange,
}

/// Why the loop wrote nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A round produced a syntax error (of [`Severity::Error`]) the input did not have.
    /// `line` and `column` (1-based) locate the error in the text that round produced.
    /// `rules` are the rules whose fix alone produces the error, or, when no single fix
    /// does, every rule applied in that round.
    NewSyntaxError {
        rules: Vec<&'static str>,
        message: String,
        line: usize,
        column: usize,
    },
    /// A round would change what a RUN runs: a command of the RUNs it rewrote is gone,
    /// reordered or inside a comment (and no fix declared its removal, [`Fix::removes`]),
    /// or a rewritten RUN no longer parses as shell. That is a bug in the rules named: their
    /// fixes claim to keep what the image runs. `message` says what would change, to follow
    /// "would" (e.g. ``change what RUN at 3:1 does: `touch /two` (line 3) no longer runs
    /// (it would sit inside a comment)``; positions there are those of the text the round
    /// started from, the file itself in round 1, unless they say "of the fixed text").
    /// `line` and `column` (1-based) locate the RUN concerned in that text: the one that
    /// held the lost command, or the first the round rewrote; for a RUN the round added,
    /// its place in the text the round produced. `rules` are the rules whose fix alone
    /// changes a RUN this way, or, when no single fix does, every rule applied in that
    /// round.
    ChangesMeaning {
        rules: Vec<&'static str>,
        message: String,
        line: usize,
        column: usize,
    },
    /// Fixes still applied after [`FixOptions::max_rounds`] rounds; `rules` fired in the
    /// last rounds.
    NotConverged { rules: Vec<&'static str> },
    /// A round produced a text seen before; `rules` fired in the rounds of the cycle.
    Oscillates { rules: Vec<&'static str> },
}

impl Refusal {
    /// True when the refusal shows a bug in a rule's fix (a syntax error or a changed RUN),
    /// rather than fixes that do not settle.
    pub fn is_rule_bug(&self) -> bool {
        matches!(
            self,
            Self::NewSyntaxError { .. } | Self::ChangesMeaning { .. }
        )
    }

    /// The rules involved, sorted, without duplicates.
    pub fn rules(&self) -> &[&'static str] {
        match self {
            Self::NewSyntaxError { rules, .. }
            | Self::ChangesMeaning { rules, .. }
            | Self::NotConverged { rules }
            | Self::Oscillates { rules } => rules,
        }
    }
}

impl Refusal {
    /// What the fixes do, to follow their subject: "would introduce a syntax error at
    /// 3:1: ...", "would change what RUN at 2:1 does: ...", "do not converge", "undo each
    /// other". [`Refusal`]'s `Display` is "fixes by RULES " and this; front ends that name
    /// the rules their own way ("internal error in rule merge-runs: its fixes ...") use it.
    pub fn reason(&self) -> String {
        match self {
            Self::NewSyntaxError {
                message,
                line,
                column,
                ..
            } => format!("would introduce a syntax error at {line}:{column}: {message}"),
            Self::ChangesMeaning { message, .. } => format!("would {message}"),
            Self::NotConverged { .. } => "do not converge".to_string(),
            Self::Oscillates { .. } => "undo each other".to_string(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fixes by {} {}", self.rules().join(", "), self.reason())
    }
}

/// What [`fix_loop`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixOutcome {
    /// The fixed text; the input itself when nothing applied or the loop refused.
    pub text: String,
    /// The fixes applied, in order (by round, then position), the fixes that change other
    /// files last; empty when refused.
    pub applied: Vec<AppliedFix>,
    /// Rounds that applied fixes to the Dockerfile (including, when refused, the rounds
    /// thrown away); the collected file changes do not count.
    pub rounds: usize,
    /// The diagnostics of [`FixOutcome::text`], fixable or not, as `check` reported them,
    /// except those whose file changes moved to [`FixOutcome::file_changes`].
    pub remaining: Vec<Diagnostic>,
    /// Changes to other files, collected once the Dockerfile converged; empty when refused.
    pub file_changes: Vec<AppliedFileChange>,
    /// Set when the loop threw its work away and returned the input.
    pub refused: Option<Refusal>,
}

impl FixOutcome {
    pub fn is_refused(&self) -> bool {
        self.refused.is_some()
    }

    /// True when the Dockerfile's text or another file changes.
    pub fn is_changed(&self) -> bool {
        self.text_changed() || !self.file_changes.is_empty()
    }

    /// True when the Dockerfile's text differs from the input. Every round yields a text
    /// the loop has not had before (else it refuses), so this is "some round applied".
    pub fn text_changed(&self) -> bool {
        self.refused.is_none() && self.rounds > 0
    }

    /// The fixes applied to the Dockerfile's text (not those that change other files).
    pub fn text_fixes(&self) -> impl Iterator<Item = &AppliedFix> {
        self.applied.iter().filter(|f| f.round <= self.rounds)
    }
}

/// Moves the allowed fixes that change only other files out of `diagnostics` (see the
/// module documentation); `round` is the round they are listed with in `applied`.
fn collect_file_changes(
    diagnostics: Vec<Diagnostic>,
    options: &FixOptions,
    round: usize,
    applied: &mut Vec<AppliedFix>,
) -> (Vec<Diagnostic>, Vec<AppliedFileChange>) {
    let mut remaining = Vec::with_capacity(diagnostics.len());
    let mut changes: Vec<AppliedFileChange> = Vec::new();
    for d in diagnostics {
        let Some(fix) = d
            .fix
            .as_ref()
            .filter(|f| options.allows(f) && f.is_file_change())
        else {
            remaining.push(d);
            continue;
        };
        let paths_repeat = fix
            .files
            .iter()
            .enumerate()
            .any(|(i, c)| fix.files[..i].iter().any(|o| o.path == c.path));
        let taken = fix
            .files
            .iter()
            .any(|c| changes.iter().any(|t| t.change.path == c.path));
        if paths_repeat || taken || fix.files.iter().any(FileChange::is_noop) {
            remaining.push(d);
            continue;
        }
        applied.push(AppliedFix {
            rule: d.rule,
            title: fix.title.clone(),
            applicability: fix.applicability,
            effect: fix.effect.clone(),
            round,
        });
        changes.extend(fix.files.iter().map(|change| AppliedFileChange {
            rule: d.rule,
            title: fix.title.clone(),
            applicability: fix.applicability,
            effect: fix.effect.clone(),
            change: change.clone(),
        }));
    }
    (remaining, changes)
}

/// Error messages of severity [`Severity::Error`], counted. Ranges move as fixes apply, so
/// errors are compared by message.
fn error_counts(doc: &Dockerfile) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for e in doc.errors() {
        if e.severity == Severity::Error {
            *counts.entry(e.message.clone()).or_insert(0) += 1;
        }
    }
    counts
}

/// The first error of `doc` that `before` does not account for.
fn new_error<'d>(before: &HashMap<String, usize>, doc: &'d Dockerfile) -> Option<&'d SyntaxError> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    doc.errors()
        .iter()
        .filter(|e| e.severity == Severity::Error)
        .find(|e| {
            let n = seen.entry(e.message.as_str()).or_insert(0);
            *n += 1;
            *n > before.get(e.message.as_str()).copied().unwrap_or(0)
        })
}

fn sorted_rules(rules: impl IntoIterator<Item = &'static str>) -> Vec<&'static str> {
    let mut rules: Vec<_> = rules.into_iter().collect();
    rules.sort_unstable();
    rules.dedup();
    rules
}

/// Applies fixes to `text` until nothing applies.
///
/// Each round parses the text, runs `check`, keeps the diagnostics whose fix `options`
/// allows, and applies the fixes that can go together ([`apply_fixes`]) in one splice;
/// the others come back in a later round if `check` still offers them. See the module
/// documentation for when the loop refuses.
pub fn fix_loop(
    text: &str,
    options: &FixOptions,
    check: &dyn Fn(&Dockerfile) -> Vec<Diagnostic>,
) -> FixOutcome {
    let input_doc = dockopt_syntax::parse(text);
    let input_errors = error_counts(&input_doc);

    let mut current = text.to_owned();
    let mut diagnostics = check(&input_doc);
    // The parse of `current`, which the guard compares each round's result with.
    let mut current_doc = input_doc;
    // Diagnostics of the input, kept once round 1 replaces them, for a refusal.
    let mut input_diagnostics: Option<Vec<Diagnostic>> = None;
    let mut applied: Vec<AppliedFix> = Vec::new();
    // Rules applied in each round (index = round - 1).
    let mut round_rules: Vec<Vec<&'static str>> = Vec::new();
    // Every text the loop has had, with the round that produced it (0 for the input).
    let mut seen: HashMap<String, usize> = HashMap::from([(text.to_owned(), 0)]);

    let refuse = |refusal: Refusal,
                  rounds: usize,
                  diagnostics: Vec<Diagnostic>,
                  input_diagnostics: Option<Vec<Diagnostic>>| FixOutcome {
        text: text.to_owned(),
        applied: Vec::new(),
        rounds,
        remaining: input_diagnostics.unwrap_or(diagnostics),
        file_changes: Vec::new(),
        refused: Some(refusal),
    };

    for round in 1.. {
        // Fixes that change other files never apply in a round (see the module docs).
        let candidates: Vec<(&'static str, &Fix)> = diagnostics
            .iter()
            .filter_map(|d| {
                let fix = d.fix.as_ref()?;
                (options.allows(fix) && fix.files.is_empty()).then_some((d.rule, fix))
            })
            .collect();
        let result = apply_fixes(&current, candidates.iter().map(|&(_, f)| f));
        if result.is_empty() {
            let (remaining, file_changes) =
                collect_file_changes(diagnostics, options, round, &mut applied);
            return FixOutcome {
                text: current,
                applied,
                rounds: round - 1,
                remaining,
                file_changes,
                refused: None,
            };
        }
        let rules_now = sorted_rules(result.applied.iter().map(|&i| candidates[i].0));
        if round > options.max_rounds {
            let start = round_rules.len().saturating_sub(NOT_CONVERGED_WINDOW);
            let rules = sorted_rules(
                round_rules[start..]
                    .iter()
                    .flatten()
                    .copied()
                    .chain(rules_now),
            );
            return refuse(
                Refusal::NotConverged { rules },
                round - 1,
                diagnostics,
                input_diagnostics,
            );
        }

        let doc = dockopt_syntax::parse(&result.text);
        if let Some(error) = new_error(&input_errors, &doc) {
            // Name the fixes that break the file on their own, if any does.
            let culprits = sorted_rules(result.applied.iter().filter_map(|&i| {
                let (rule, fix) = candidates[i];
                let alone = fix.apply_to(&current)?;
                new_error(&input_errors, &dockopt_syntax::parse(&alone)).map(|_| rule)
            }));
            let at = doc.line_col(error.range.start);
            let refusal = Refusal::NewSyntaxError {
                rules: if culprits.is_empty() {
                    rules_now
                } else {
                    culprits
                },
                message: error.message.clone(),
                line: at.line,
                column: at.column,
            };
            return refuse(refusal, round, diagnostics, input_diagnostics);
        }
        let removes: Vec<TextRange> = result
            .applied
            .iter()
            .flat_map(|&i| candidates[i].1.removes.iter().copied())
            .collect();
        if let Some(violation) = guard::check(&current_doc, &doc, &removes) {
            // Name the fixes that change a RUN on their own, if any does.
            let culprits = sorted_rules(result.applied.iter().filter_map(|&i| {
                let (rule, fix) = candidates[i];
                let alone = dockopt_syntax::parse(&fix.apply_to(&current)?);
                guard::check(&current_doc, &alone, &fix.removes).map(|_| rule)
            }));
            let refusal = Refusal::ChangesMeaning {
                rules: if culprits.is_empty() {
                    rules_now
                } else {
                    culprits
                },
                message: violation.message,
                line: violation.line,
                column: violation.column,
            };
            return refuse(refusal, round, diagnostics, input_diagnostics);
        }
        if let Some(&first) = seen.get(&result.text) {
            // Rounds first+1 ..= round lead from that text back to it.
            let rules = sorted_rules(
                round_rules[first..]
                    .iter()
                    .flatten()
                    .copied()
                    .chain(rules_now),
            );
            return refuse(
                Refusal::Oscillates { rules },
                round,
                diagnostics,
                input_diagnostics,
            );
        }
        seen.insert(result.text.clone(), round);

        applied.extend(result.applied.iter().map(|&i| {
            let (rule, fix) = candidates[i];
            AppliedFix {
                rule,
                title: fix.title.clone(),
                applicability: fix.applicability,
                effect: fix.effect.clone(),
                round,
            }
        }));
        round_rules.push(rules_now);
        current = result.text;
        let next = check(&doc);
        current_doc = doc;
        let previous = std::mem::replace(&mut diagnostics, next);
        if round == 1 {
            input_diagnostics = Some(previous);
        }
    }
    unreachable!("the round counter does not run out")
}

/// Runs [`fix_loop`] on `text` and again on its result, and checks that the first run was
/// not refused and that the second changes nothing: no fix applies to the Dockerfile, the
/// text stays. Returns the first run's outcome, or why the fixes are not idempotent.
///
/// The file changes of the second run are ignored: nothing was written between the runs,
/// so the rules read the same other files and may well propose the same changes again.
pub fn check_idempotent(
    text: &str,
    options: &FixOptions,
    check: &dyn Fn(&Dockerfile) -> Vec<Diagnostic>,
) -> Result<FixOutcome, String> {
    let first = fix_loop(text, options, check);
    if let Some(refusal) = &first.refused {
        return Err(format!("the fix loop refused: {refusal}"));
    }
    let second = fix_loop(&first.text, options, check);
    if let Some(refusal) = &second.refused {
        return Err(format!(
            "fixing the fixed text again was refused: {refusal}"
        ));
    }
    if second.text_changed() || second.text != first.text {
        let fixes: Vec<String> = second
            .text_fixes()
            .map(|f| format!("{}: {}", f.rule, f.title))
            .collect();
        return Err(format!(
            "fixing the fixed text again applied [{}]:\n{}",
            fixes.join("; "),
            crate::diff::unified_diff(&first.text, &second.text, "a/fixed", "b/fixed-again", 3)
        ));
    }
    Ok(first)
}

/// [`check_idempotent`], panicking with its message. For tests.
#[track_caller]
pub fn assert_idempotent(
    text: &str,
    options: &FixOptions,
    check: &dyn Fn(&Dockerfile) -> Vec<Diagnostic>,
) -> FixOutcome {
    match check_idempotent(text, options, check) {
        Ok(outcome) => outcome,
        Err(message) => panic!("not idempotent: {message}"),
    }
}
