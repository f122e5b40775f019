//! merge-runs: joins RUNs that belong together (an index update and its install, a RUN and
//! the cleanup after it), keeping what every command does. [`body`] reads each RUN body.

mod body;

use dockopt_fix::{DeclaredEffect, Diagnostic, Edit, Fix};
use dockopt_shell::Script;
use dockopt_syntax::{Dockerfile, Instruction, InstructionKind, ItemKind, TextRange, TokenKind};

use super::package_runs::{mount_targets, path_covers};
use crate::image::lookup;
use crate::package::recognize;
use crate::rules::script_of;
use crate::stage_state::{StageState, stage_states};
use crate::{
    CheckContext, FixAvailability, Knowledge, OptionKind, OptionMeta, Rule, RuleMeta, declare_rule,
};
use body::{Body, Wrap, analyse, options_enable_errexit};

declare_rule! {
    /// ## What it does
    /// Merges a RUN into the RUN right before it (only comments or blank lines between them)
    /// when the two belong together: a package-index update (`apt-get update`, `apk update`,
    /// `dnf makecache`, `zypper refresh`) and the install after it, or a RUN and a cleanup
    /// after it (`rm -rf ...`, `apt-get clean`). With `only-related = false` it merges any
    /// two consecutive RUNs it can merge safely.
    ///
    /// ## Why is this bad?
    /// `apt-get update` in its own RUN goes stale in the build cache: a later change to the
    /// install line reuses the old package lists and fails or installs outdated packages. A
    /// cleanup in a separate RUN (`rm -rf /var/lib/apt/lists/*`) does not shrink the image
    /// at all, because the files stay in the layer below. Merging keeps the lists fresh and
    /// the cleanup effective.
    ///
    /// Other consecutive RUNs are left apart by default: each RUN is a build-cache step, so
    /// merging unrelated ones means that a change to one reruns them all, and with BuildKit
    /// the extra layers cost little (hadolint's DL3059 is often disabled for exactly this).
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt-get update
    /// RUN apt-get install -y curl
    /// RUN rm -rf /var/lib/apt/lists/*
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// RUN apt-get update && \
    ///     apt-get install -y curl && \
    ///     rm -rf /var/lib/apt/lists/*
    /// ```
    ///
    /// ## Fix safety
    /// Safe: the same commands run in the same order, in the same folder, with the same
    /// shell state, and a failure still fails the build. Each original body stays on its
    /// own lines, joined by ` && ` and the file's escape character; comments between the
    /// RUNs are kept, and a comment that ended the first RUN's line moves onto a comment
    /// line of its own (otherwise it would swallow what follows).
    ///
    /// A body whose shell state would leak into the next one (`cd`, also as `command cd` or
    /// `builtin cd`, `export`, `set`, `source`, `umask`, `exec`, `exit`, variable
    /// assignments, `${X:=y}`, `FOO=1 :`, functions, loops, ...) is wrapped in `( ... )`, and
    /// so is a body that uses `;` or `||` at its top level, so its exit status is what it
    /// was, and a body that installs packages and runs a program the next body runs too
    /// (the shell remembers where it found `pip3`; after `pip3 install --upgrade pip` the
    /// merged script would run the old one). A closing `)` always goes before a trailing
    /// comment.
    ///
    /// Never merged (reported without a fix when the two belong together):
    /// - a first body that may run with errexit on, unless it is one `&&`/`||` list of
    ///   simple commands that run no shell code of their own (`.`, `source`, `eval`):
    ///   POSIX shells ignore `set -e` inside anything on the left of `&&`, so
    ///   `( set -e; false; echo on ) && next` runs on. Errexit may be on when the body
    ///   sets it (`set -e`, `set -eux`, `set -o errexit`), when the stage's SHELL has `-e`,
    ///   or when the stage sets no SHELL and its base image is not one dockopt knows
    ///   (its config may carry such a SHELL);
    /// - RUNs with background jobs, different flags (mounts, network), exec form, heredocs;
    ///   except that a cleanup RUN with no flags joins a RUN whose only flags are mounts
    ///   when it deletes literal absolute paths none of the mounts is on, in or above;
    /// - a second RUN with a `# dockopt:` or `# hadolint` directive above it (it would
    ///   apply to nothing inside the merged RUN);
    /// - stages whose SHELL is not a POSIX shell or whose base image is a Windows image
    ///   (by name, through a global ARG, or by a drive-letter WORKDIR): cmd and PowerShell
    ///   have no `( ... )` subshell and no `#` comments;
    /// - scripts dockopt cannot parse;
    /// - a first body that starts a daemon, which BuildKit stops when its RUN ends (gpg and
    ///   its agent, `service`, `nohup`, `setsid`).
    ///
    /// Only layer boundaries change (and the image shrinks when a cleanup joins its RUN).
    ///
    /// ## Options
    /// - `only-related` (default true): merge only an index update into the install after
    ///   it and a cleanup into the RUN before it. `false` merges every pair of consecutive
    ///   RUNs that can be merged safely, at the cost of coarser build-cache steps.
    ///
    /// ## References
    /// hadolint DL3059 (multiple consecutive RUN), DL3009 (delete the apt-get lists);
    /// Docker best practices, "apt-get".
    pub struct MergeRuns {
        name: "merge-runs",
        default_enabled: true,
        fix: FixAvailability::Sometimes,
        options: &[OptionMeta {
            name: "only-related",
            kind: OptionKind::Bool,
            doc: "merge only index-update+install and cleanup pairs (default true)",
        }],
    }
}

/// Why two consecutive RUNs belong in one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relation {
    /// The first only refreshes a package index that the second installs from.
    UpdateThenInstall,
    /// The second only deletes files or cleans a package cache.
    Cleanup,
}

impl Relation {
    fn message(self) -> &'static str {
        match self {
            Relation::UpdateThenInstall => {
                "a package-index update in its own RUN goes stale in the build cache; merge it with the RUN below"
            }
            Relation::Cleanup => {
                "a cleanup in its own RUN does not shrink the image (the files stay in the layer above); merge it into that RUN"
            }
        }
    }
}

fn relation(knowledge: &Knowledge, first: &Script, second: &Script) -> Option<Relation> {
    if is_cleanup_only(knowledge, second) {
        return Some(Relation::Cleanup);
    }
    let updated = updated_index(knowledge, first)?;
    let installs = second.commands().iter().any(|c| {
        recognize(knowledge, c).is_some_and(|p| {
            p.manager.name == updated && p.downloads() && !p.manager.updates_index(p.action)
        })
    });
    installs.then_some(Relation::UpdateThenInstall)
}

/// The package manager whose index the script refreshes, when that is all it does.
fn updated_index<'k>(knowledge: &'k Knowledge, script: &Script) -> Option<&'k str> {
    let mut manager = None;
    for command in script.commands() {
        let package = recognize(knowledge, command)?;
        if !package.manager.updates_index(package.action)
            || manager.is_some_and(|m| m != package.manager.name)
        {
            return None;
        }
        manager = Some(package.manager.name.as_str());
    }
    manager
}

/// Whether every command only deletes files or cleans a package cache.
fn is_cleanup_only(knowledge: &Knowledge, script: &Script) -> bool {
    script.commands().iter().all(|c| {
        c.program() == Some("rm")
            || knowledge.package_managers.managers.iter().any(|m| {
                m.cleanup.iter().any(|words| {
                    let mut actual = c.words().filter_map(|w| w.value());
                    words
                        .iter()
                        .all(|expected| actual.next() == Some(expected.as_str()))
                        && actual.next().is_none()
                })
            })
    })
}

/// Shell builtins, which the shell never looks up on PATH (and so never remembers).
const BUILTINS: &[&str] = &[
    "echo", "printf", "test", "[", "true", "false", ":", "cd", "pwd", "export", "set", "unset",
    "read", "type", "command", "builtin", "eval", "exec", "exit", "return", "shift", "trap",
    "umask", "wait", "kill", "alias", "hash", "source", ".",
];

/// Whether merging would let the second body run a program from a stale PATH lookup: the
/// shell remembers where it found each program, so when the first body runs `pip3`,
/// installs a newer `pip3` earlier on PATH (`pip3 install --upgrade pip`) and the second
/// body runs `pip3` again, the merged script runs the old one. Wrapping the first body in
/// `( ... )` keeps its lookups to itself. Only a first body that installs something can
/// shadow a program; `rm` and the distribution's package managers are never shadowed.
fn shares_remembered_program(knowledge: &Knowledge, first: &Script, second: &Script) -> bool {
    let installs = first.commands().iter().any(|c| {
        recognize(knowledge, c).is_some_and(|p| p.downloads() && !p.manager.updates_index(p.action))
    });
    if !installs {
        return false;
    }
    // Programs found on PATH: not builtins, not named by path, not `rm` or a system
    // package manager.
    let looked_up = |c: &&dockopt_shell::Command| -> Option<String> {
        let n = c.name_value()?;
        let shadowable = !n.contains('/')
            && !BUILTINS.contains(&n)
            && n != "rm"
            && !knowledge
                .package_managers
                .managers
                .iter()
                .any(|m| m.system && m.matches_program(n));
        shadowable.then(|| n.to_string())
    };
    let remembered: Vec<String> = first
        .main_shell_commands()
        .iter()
        .filter_map(looked_up)
        .collect();
    second
        .commands()
        .iter()
        .filter_map(looked_up)
        .any(|n| remembered.contains(&n))
}

/// The flags as a sorted list, so `--a --b` and `--b --a` compare equal.
fn flag_set(instruction: Instruction<'_>) -> Vec<&str> {
    let mut flags: Vec<&str> = instruction.flags().map(|f| f.text).collect();
    flags.sort_unstable();
    flags
}

/// The indentation continuation lines use in this file (the first indented line after a
/// continuation), four spaces when there is none.
fn continuation_indent(file: &Dockerfile) -> String {
    let tokens = file.tokens();
    tokens
        .windows(3)
        .find(|w| {
            w[0].kind == TokenKind::LineContinuation
                && w[1].kind == TokenKind::Newline
                && w[2].kind == TokenKind::Whitespace
        })
        .map(|w| w[2].text(file.text()))
        .filter(|s| !s.contains(['\n', '\r']) && !s.is_empty())
        .unwrap_or("    ")
        .to_string()
}

/// The comment lines between two instructions, as written.
fn comments_between(
    file: &Dockerfile,
    first: Instruction<'_>,
    second: Instruction<'_>,
) -> Vec<String> {
    let (from, to) = (first.line_range().end, second.line_range().start);
    file.items()
        .iter()
        .filter(|item| {
            item.kind == ItemKind::Comment && item.range.start >= from && item.range.end <= to
        })
        .map(|item| {
            file.text()[item.range.range()]
                .trim_end_matches(['\n', '\r'])
                .to_string()
        })
        .collect()
}

/// Whether RUN may start with errexit on: the stage's SHELL says so (`["/bin/bash", "-eo",
/// "pipefail", "-c"]`), or the stage sets no SHELL and its base image is one dockopt does
/// not know, whose config may carry such a SHELL.
fn shell_may_set_errexit(knowledge: &Knowledge, state: &StageState) -> bool {
    match &state.shell {
        Some(argv) => options_enable_errexit(argv.iter().skip(1).map(|a| Some(a.as_str()))),
        None => !state
            .root_image
            .as_deref()
            .is_some_and(|image| image == "scratch" || lookup(knowledge, image).is_some()),
    }
}

/// Whether a comment is a directive for a tool (`# dockopt: ignore=...`, `# hadolint
/// ignore=...`) that applies to the instruction after it: inside a merged RUN it would apply
/// to nothing, and the fixes it held back would be made.
fn is_directive(comment: &str) -> bool {
    let body = comment.trim_start().trim_start_matches('#').trim_start();
    body.starts_with("dockopt:") || body.starts_with("hadolint")
}

/// The two RUNs and what the merge needs to know about them.
struct Pair<'f, 'a> {
    file: &'f Dockerfile,
    first: Instruction<'a>,
    second: Instruction<'a>,
    a: Body,
    b: Body,
    /// The second RUN only deletes files the first RUN's mounts do not hold (see
    /// [`cleanup_clear_of_mounts`]), so the two may merge though only the first has mounts.
    cleanup_clear_of_mounts: bool,
}

/// Whether `second` (no flags, only `rm` of literal absolute paths) may join `first`, whose
/// flags are all `--mount`s, none on, in or above a deleted path: the files it deletes are
/// the layer's with or without the mounts. This keeps the result of `fix` then `fix
/// --unsafe-fixes` the same as one `fix --unsafe-fixes`, where cache mounts may come first.
fn cleanup_clear_of_mounts(
    first: Instruction<'_>,
    second: Instruction<'_>,
    script: &Script,
) -> bool {
    if second.flags().next().is_some() || first.flags().any(|f| f.name() != "mount") {
        return false;
    }
    let targets = mount_targets(first);
    if targets
        .iter()
        .any(|t| t.contains('$') || !t.starts_with('/'))
    {
        return false;
    }
    let commands = script.commands();
    !commands.is_empty()
        && commands.iter().all(|command| {
            command.program() == Some("rm")
                && command.redirects.is_empty()
                && command.assignments.is_empty()
                && command.positionals().all(|word| {
                    let Some(path) = word.value().filter(|v| v.starts_with('/')) else {
                        return false;
                    };
                    // A glob deletes somewhere in the folder before its first pattern.
                    let folder = match path.find(['*', '?', '[']) {
                        Some(at) => path[..at].rsplit_once('/').map_or("/", |(f, _)| f),
                        None => path,
                    };
                    !targets
                        .iter()
                        .any(|t| path_covers(t, folder) || path_covers(folder, t))
                })
        })
}

/// The edits that merge the pair, or why they must stay apart.
fn merge_edits(
    knowledge: &Knowledge,
    pair: &Pair<'_, '_>,
    state: &StageState,
) -> Result<Vec<Edit>, &'static str> {
    let Pair {
        file,
        first,
        second,
        a,
        b,
        cleanup_clear_of_mounts,
    } = pair;
    if state.windows && state.shell.is_none() {
        return Err("the stage runs on a Windows image, where RUN goes through cmd or PowerShell");
    }
    if !state.posix_shell() {
        return Err("the stage's SHELL is not a POSIX shell");
    }
    if flag_set(*first) != flag_set(*second) && !cleanup_clear_of_mounts {
        return Err("their flags differ");
    }
    if a.background || b.background {
        return Err(
            "a job runs in the background, or a daemon (gpg's agent, a service) outlives its RUN",
        );
    }
    if a.comment.as_ref().is_some_and(|c| c.multiline) {
        return Err("the first RUN ends in a comment that runs over a continuation line");
    }
    if comments_between(file, *first, *second)
        .iter()
        .any(|c| is_directive(c))
    {
        return Err(
            "a `# dockopt:` or `# hadolint` comment above the second RUN applies to it alone",
        );
    }
    let errexit = a.sets_errexit || shell_may_set_errexit(knowledge, state);
    // The first body always ends up on the left of `&&`.
    if errexit && !a.single_list {
        return Err(
            "the first RUN relies on `set -e`, which a shell ignores on the left of `&&`; merge them by hand into one `set -e` script",
        );
    }

    let (escape, newline, indent) = (
        file.escape_char(),
        file.line_ending(),
        continuation_indent(file),
    );
    let (args_a, args_b) = (first.args_range(), second.args_range());
    let a_end = a.comment.as_ref().map_or(args_a.end, |c| c.cut);
    let mut joint = String::new();
    if a.wrap == Wrap::Subshell {
        joint.push_str(" )");
    }
    joint.push_str(" && ");
    joint.push(escape);
    joint.push_str(newline);
    // A comment that ended the first line would swallow everything joined after it: it
    // becomes a comment line inside the continuation, which Docker drops.
    if let Some(comment) = &a.comment {
        joint.push_str(&indent);
        joint.push_str(&comment.text);
        joint.push_str(newline);
    }
    for comment in comments_between(file, *first, *second) {
        joint.push_str(&comment);
        joint.push_str(newline);
    }
    joint.push_str(&indent);
    if b.wrap == Wrap::Subshell {
        joint.push_str("( ");
    }
    let mut edits = vec![Edit::replace(TextRange::new(a_end, args_b.start), joint)];
    if a.wrap == Wrap::Subshell {
        edits.push(Edit::insert(args_a.start, "( "));
    }
    if b.wrap == Wrap::Subshell {
        // Before the second RUN's own trailing comment, if it has one.
        let close = b.comment.as_ref().map_or(args_b.end, |c| c.cut);
        edits.push(Edit::insert(close, " )"));
    }
    Ok(edits)
}

impl Rule for MergeRuns {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let file = ctx.file;
        let only_related = ctx.options.bool(Self::META.name, "only-related", true);
        let states = stage_states(file);
        let instructions: Vec<Instruction<'_>> = file.instructions().collect();
        let mut out = Vec::new();
        for window in instructions.windows(2) {
            let (first, second) = (window[0], window[1]);
            if first.kind() != InstructionKind::Run || second.kind() != InstructionKind::Run {
                continue;
            }
            let (Some(script_a), Some(script_b)) = (script_of(first), script_of(second)) else {
                continue;
            };
            let related = relation(ctx.knowledge, &script_a, &script_b);
            if only_related && related.is_none() {
                continue;
            }
            let mut a = analyse(&script_a, file.text());
            if shares_remembered_program(ctx.knowledge, &script_a, &script_b) {
                a.wrap = Wrap::Subshell;
            }
            let pair = Pair {
                file,
                first,
                second,
                a,
                b: analyse(&script_b, file.text()),
                cleanup_clear_of_mounts: related == Some(Relation::Cleanup)
                    && cleanup_clear_of_mounts(first, second, &script_b),
            };
            let message = related.map_or(
                "consecutive RUNs: merge them into one layer",
                Relation::message,
            );
            match merge_edits(ctx.knowledge, &pair, &states[second.index()]) {
                Ok(edits) => {
                    let fix = Fix::new(
                        "Merge with the RUN above",
                        dockopt_fix::Applicability::Safe,
                        edits,
                        DeclaredEffect {
                            summary: "one layer instead of two; files deleted by the second RUN no longer stay in a lower layer".into(),
                            ..DeclaredEffect::default()
                        },
                    );
                    out.push(
                        Diagnostic::new(Self::META.name, second.keyword_range(), message)
                            .with_fix(fix),
                    );
                }
                // Only pairs that belong together are worth a report without a fix.
                Err(reason) if related.is_some() => out.push(Diagnostic::new(
                    Self::META.name,
                    second.keyword_range(),
                    format!("{message} (not merged automatically: {reason})"),
                )),
                Err(_) => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use dockopt_fix::Diagnostic;

    use super::MergeRuns;
    use crate::rules::test_support::{check, fixed};
    use crate::{CheckContext, Knowledge, Rule, RuleOptions};

    /// The rule's diagnostics with `only-related = false`.
    fn check_any(text: &str) -> Vec<Diagnostic> {
        let table: toml::Table = toml::from_str("only-related = false").unwrap();
        let options = RuleOptions::new([("merge-runs".to_string(), table)].into()).unwrap();
        let file = dockopt_syntax::parse(text);
        MergeRuns.check(&CheckContext {
            file: &file,
            knowledge: Knowledge::get(),
            build_context: None,
            options: &options,
            target: &crate::TargetFacts::default(),
        })
    }

    /// `text` with the first fix of `only-related = false` applied.
    fn merged_any(text: &str) -> String {
        let d = check_any(text);
        let fix = d
            .iter()
            .find_map(|d| d.fix.as_ref())
            .unwrap_or_else(|| panic!("no fix for {text}: {d:?}"));
        let mut out = text.to_string();
        for edit in fix.edits.iter().rev() {
            out.replace_range(edit.range.range(), &edit.replacement);
        }
        out
    }

    fn merged(text: &str) -> String {
        fixed(&MergeRuns, text).unwrap_or_else(|| panic!("no fix for {text}"))
    }

    #[test]
    fn apt_update_install_cleanup_become_one_chain() {
        let text = "FROM debian\nRUN apt-get update\n# the tools\nRUN apt-get install -y curl\n\nRUN rm -rf /var/lib/apt/lists/*\n";
        let d = check(&MergeRuns, text);
        assert_eq!(d.len(), 2);
        assert!(d[0].message.contains("update"));
        assert!(d[1].message.contains("cleanup"));
        assert_eq!(
            merged(text),
            "FROM debian\nRUN apt-get update && \\\n# the tools\n    apt-get install -y curl\n\nRUN rm -rf /var/lib/apt/lists/*\n"
        );
    }

    #[test]
    fn only_related_runs_merge_by_default() {
        let text = "FROM a\nRUN pip install x\nRUN npm ci\nRUN apk update\nRUN apk add curl\nRUN make\nRUN rm -rf /tmp/build\nRUN apt-get update\nRUN echo no install\nRUN dnf makecache\nRUN dnf install -y gcc\n";
        let file = dockopt_syntax::parse(text);
        let lines: Vec<usize> = check(&MergeRuns, text)
            .iter()
            .map(|d| file.line_col(d.range.start).line)
            .collect();
        assert_eq!(lines, [5, 7, 11]);
        let all: Vec<usize> = check_any(text)
            .iter()
            .map(|d| file.line_col(d.range.start).line)
            .collect();
        assert_eq!(all, [3, 4, 5, 6, 7, 8, 9, 10, 11]);
    }

    #[test]
    fn a_trailing_comment_never_swallows_what_follows() {
        assert_eq!(
            merged("FROM debian\nRUN apt-get update # refresh\nRUN apt-get install -y curl\n"),
            "FROM debian\nRUN apt-get update && \\\n    # refresh\n    apt-get install -y curl\n"
        );
        assert_eq!(
            merged_any("FROM debian:bookworm\nRUN echo one # first step\nRUN touch /two\n"),
            "FROM debian:bookworm\nRUN echo one && \\\n    # first step\n    touch /two\n"
        );
        // The closing parenthesis goes before the comment, on both sides.
        assert_eq!(
            merged_any("FROM alpine:3.19\nRUN echo a\nRUN set -eux; echo b # note\n"),
            "FROM alpine:3.19\nRUN echo a && \\\n    ( set -eux; echo b ) # note\n"
        );
        assert_eq!(
            merged_any("FROM debian\nRUN cd /x; make  # build\nRUN make install\n"),
            "FROM debian\nRUN ( cd /x; make ) && \\\n    # build\n    make install\n"
        );
        // A comment that runs over a continuation line cannot move: no merge.
        assert!(check_any("FROM a\nRUN echo a # note \\\n  more\nRUN echo b\n").is_empty());
    }

    #[test]
    fn errexit_bodies_stay_apart_unless_errexit_changes_nothing() {
        // Official-image style: on the left of `&&` the shell would ignore `set -e`.
        let text = "FROM debian\nRUN set -eux; apt-get update; apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n";
        let d = check(&MergeRuns, text);
        assert_eq!(d.len(), 1);
        assert!(
            d[0].fix.is_none() && d[0].message.contains("set -e"),
            "{d:?}"
        );
        assert!(check_any("FROM a\nRUN set -e; a; b\nRUN c\n").is_empty());
        // A SHELL with -e counts too.
        assert!(
            check_any(
                "FROM a\nSHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]\nRUN a; b\nRUN c\n"
            )
            .is_empty()
        );
        // On the right it stays in force, and a single and-or list does not depend on it.
        assert_eq!(
            merged_any("FROM a\nRUN a\nRUN set -eux; b; c\n"),
            "FROM a\nRUN a && \\\n    ( set -eux; b; c )\n"
        );
        assert_eq!(
            merged_any(
                "FROM a\nSHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]\nRUN a || true\nRUN c\n"
            ),
            "FROM a\nSHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]\nRUN ( a || true ) && \\\n    c\n"
        );
        assert_eq!(
            merged_any("FROM a\nRUN set -e && a\nRUN c\n"),
            "FROM a\nRUN ( set -e && a ) && \\\n    c\n"
        );
        // Once merged, the set -e of the right-hand body is on the left of the next merge.
        assert!(check_any("FROM a\nRUN a && \\\n    ( set -eux; b; c )\nRUN d\n").is_empty());
    }

    #[test]
    fn errexit_from_an_unknown_image_or_a_shell_is_assumed() {
        // An image dockopt does not know may set a SHELL with -e in its config.
        assert!(check_any("FROM registry.example.com/base:1\nRUN a; b\nRUN c\n").is_empty());
        assert!(check_any("ARG BASE\nFROM ${BASE}\nRUN a; b\nRUN c\n").is_empty());
        // A single list still merges; so does any body on a known image.
        assert!(!check_any("FROM registry.example.com/base:1\nRUN a && b\nRUN c\n").is_empty());
        assert!(!check_any("FROM debian:12\nRUN a; b\nRUN c\n").is_empty());
        // Long options before -e, and code run by `.` or `eval` on the left of `&&`.
        for shell in [
            "[\"/bin/bash\", \"--login\", \"-e\", \"-c\"]",
            "[\"/bin/bash\", \"--noprofile\", \"--norc\", \"-eo\", \"pipefail\", \"-c\"]",
        ] {
            let text = format!(
                "FROM debian\nSHELL {shell}\nRUN apt-get update; apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n"
            );
            assert!(
                check(&MergeRuns, &text).iter().all(|d| d.fix.is_none()),
                "{shell}"
            );
        }
        let text = "FROM debian\nSHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]\nRUN cd /src && . /tmp/build.sh\nRUN rm -rf /src/tmp\n";
        assert!(check(&MergeRuns, text).iter().all(|d| d.fix.is_none()));
    }

    #[test]
    fn a_reinstalled_program_is_not_run_from_a_stale_lookup() {
        // The shell remembers where it found pip3; the merged script would run the old one.
        assert_eq!(
            merged_any(
                "FROM debian\nRUN pip3 --version && pip3 install --upgrade pip\nRUN pip3 install -r requirements.txt\n"
            ),
            "FROM debian\nRUN ( pip3 --version && pip3 install --upgrade pip ) && \\\n    pip3 install -r requirements.txt\n"
        );
        // apt-get does not replace itself, and update + install stays one plain chain.
        assert_eq!(
            merged("FROM debian\nRUN apt-get update\nRUN apt-get install -y curl\n"),
            "FROM debian\nRUN apt-get update && \\\n    apt-get install -y curl\n"
        );
        assert_eq!(
            merged("FROM debian\nRUN apt-get install -y curl\nRUN apt-get clean\n"),
            "FROM debian\nRUN apt-get install -y curl && \\\n    apt-get clean\n"
        );
    }

    #[test]
    fn tool_directives_above_the_second_run_keep_it_apart() {
        for directive in ["# dockopt: ignore=apt-get-yes", "# hadolint ignore=DL3014"] {
            let text =
                format!("FROM debian\nRUN apt-get update\n{directive}\nRUN apt-get install curl\n");
            let d = check(&MergeRuns, &text);
            assert!(d.len() == 1 && d[0].fix.is_none(), "{directive}: {d:?}");
        }
    }

    #[test]
    fn state_changing_and_non_chain_bodies_are_wrapped() {
        assert_eq!(
            merged_any("FROM a\nRUN cd /src && make\nRUN make install\n"),
            "FROM a\nRUN ( cd /src && make ) && \\\n    make install\n"
        );
        assert_eq!(
            merged_any("FROM a\nRUN command cd /etc\nRUN builtin cd /home && ls\nRUN ls\n"),
            "FROM a\nRUN ( command cd /etc ) && \\\n    ( builtin cd /home && ls )\nRUN ls\n"
        );
        assert_eq!(
            merged_any("FROM a\nRUN a\nRUN b || true\n"),
            "FROM a\nRUN a && \\\n    ( b || true )\n"
        );
        assert_eq!(
            merged_any("FROM debian\nRUN export A=1; echo $A\nRUN echo ${A:-unset}\n"),
            "FROM debian\nRUN ( export A=1; echo $A ) && \\\n    echo ${A:-unset}\n"
        );
        // A subshell or a pipeline does not leak; a prefix assignment does not either.
        assert_eq!(
            merged_any("FROM a\nRUN (cd x && make) | tee log\nRUN CC=clang make\n"),
            "FROM a\nRUN (cd x && make) | tee log && \\\n    CC=clang make\n"
        );
        // Functions and loops leak from the main shell only; already wrapped ones do not.
        assert_eq!(
            merged_any("FROM debian\nRUN for i in 1 2; do echo $i; done\nRUN echo $i\n"),
            "FROM debian\nRUN ( for i in 1 2; do echo $i; done ) && \\\n    echo $i\n"
        );
        assert_eq!(
            merged_any("FROM debian\nRUN ( f() { echo x; }; f ) && true\nRUN echo y\n"),
            "FROM debian\nRUN ( f() { echo x; }; f ) && true && \\\n    echo y\n"
        );
    }

    #[test]
    fn continuation_lines_escape_and_crlf_follow_the_file() {
        let text = "# escape=`\r\nFROM a\r\nRUN a `\r\n  && b # c\r\nRUN c\r\n";
        assert_eq!(
            merged_any(text),
            "# escape=`\r\nFROM a\r\nRUN a `\r\n  && b && `\r\n  # c\r\n  c\r\n"
        );
    }

    #[test]
    fn never_merges_what_would_change_meaning() {
        for text in [
            "FROM a\nRUN a\nRUN [\"b\"]\n",
            "FROM a\nRUN --mount=type=cache,target=/x a\nRUN b\n",
            "FROM a\nRUN --network=none a\nRUN --network=host b\n",
            "FROM a\nRUN a\nSHELL [\"/bin/bash\", \"-c\"]\nRUN b\n",
            "FROM a\nRUN a\nRUN <<EOF\nb\nEOF\n",
            "FROM a\nRUN daemon &\nRUN b\n",
            "FROM a\nRUN a\nENV X=1\nRUN b\n",
            "FROM a\nSHELL [\"pwsh\", \"-c\"]\nRUN a\nRUN b\n",
            "FROM a\nRUN echo \"unterminated\nRUN b\n",
            "FROM a\nRUN a\nFROM b\nRUN b\n",
            "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN a\nRUN b\n",
            "FROM python:3.12-windowsservercore AS base\nFROM base\nRUN a\nRUN b\n",
            "# escape=`\nFROM mcr.microsoft.com/dotnet/framework/sdk:4.8\nRUN cd C:\\tools && nuget restore\nRUN msbuild app.sln\n",
            "ARG BASE=mcr.microsoft.com/windows/servercore:ltsc2022\nFROM ${BASE}\nRUN a\nRUN b\n",
            "FROM example.com/sdk:1\nWORKDIR C:\\src\nRUN a\nRUN b\n",
        ] {
            assert!(check_any(text).is_empty(), "{text}");
        }
        // A related pair that cannot be merged is reported without a fix.
        let d = check(
            &MergeRuns,
            "FROM debian\nRUN gpg --batch --verify x.asc x\nRUN rm -rf /root/.gnupg\n",
        );
        assert!(d.len() == 1 && d[0].fix.is_none() && d[0].message.contains("daemon"));
        let d = check(
            &MergeRuns,
            "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN apt-get update\nRUN apt-get install x\n",
        );
        assert!(d.len() == 1 && d[0].fix.is_none() && d[0].message.contains("Windows"));
    }

    #[test]
    fn a_cleanup_clear_of_the_mounts_joins_a_run_with_mounts() {
        let text = "FROM debian\nRUN --mount=type=cache,target=/var/cache/apt apt-get install -y nginx\nRUN rm -rf /etc/nginx /tmp/*\n";
        assert_eq!(
            merged_any(text),
            "FROM debian\nRUN --mount=type=cache,target=/var/cache/apt apt-get install -y nginx && \\\n    rm -rf /etc/nginx /tmp/*\n"
        );
        // On, in or above a mount, by a glob, by a relative path, or with flags of its own:
        // the mounts would change what it deletes (or make rm fail), so they stay apart.
        for second in [
            "RUN rm -rf /var/cache/apt/archives",
            "RUN rm -rf /var/cache",
            "RUN rm -rf /var/ca*",
            "RUN rm -rf build",
            "RUN --network=none rm -rf /etc/nginx",
            "RUN rm -rf /etc/nginx && apt-get clean",
        ] {
            let text = format!(
                "FROM debian\nRUN --mount=type=cache,target=/var/cache/apt apt-get install -y nginx\n{second}\n"
            );
            let d = check(&MergeRuns, &text);
            assert!(d.iter().all(|d| d.fix.is_none()), "{text}");
        }
    }

    #[test]
    fn same_flags_in_another_order_merge() {
        let text = "FROM a\nRUN --network=none --mount=type=cache,target=/x a\nRUN --mount=type=cache,target=/x --network=none b\n";
        assert_eq!(
            merged_any(text),
            "FROM a\nRUN --network=none --mount=type=cache,target=/x a && \\\n    b\n"
        );
    }
}
