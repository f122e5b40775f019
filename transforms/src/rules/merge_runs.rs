use dockopt_fix::{DeclaredEffect, Diagnostic, Edit, Fix};
use dockopt_shell::{Node, OpKind, Script};
use dockopt_syntax::{Dockerfile, Instruction, InstructionKind, ItemKind, TokenKind};

use crate::package::recognize;
use crate::stage_state::stage_states;
use crate::{
    CheckContext, FixAvailability, Knowledge, OptionKind, OptionMeta, Rule, RuleMeta, declare_rule,
};

declare_rule! {
    /// ## What it does
    /// Merges a RUN into the RUN right before it (only comments or blank lines between them)
    /// when both run the same way: same flags, shell form, no heredoc, plain POSIX shell.
    ///
    /// ## Why is this bad?
    /// Every RUN is a layer. `apt-get update` in its own RUN goes stale in the build cache:
    /// a later change to the install line reuses the old package lists and fails or installs
    /// outdated packages. A cleanup in a separate RUN (`rm -rf /var/lib/apt/lists/*`) does
    /// not shrink the image at all, because the files stay in the layer below. Merging keeps
    /// the lists fresh and the cleanup effective.
    ///
    /// ## Example
    /// ```dockerfile
    /// RUN apt-get update
    /// RUN apt-get install -y curl
    /// RUN rm -rf /var/lib/apt/lists/*
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// RUN apt-get update \
    ///     && apt-get install -y curl \
    ///     && rm -rf /var/lib/apt/lists/*
    /// ```
    ///
    /// ## Fix safety
    /// Safe: the commands run in the same order with the same shell, and a failure still
    /// fails the build. Each original body stays on its own lines, joined by ` && ` and the
    /// file's escape character; comments between the RUNs are kept. A body whose shell state
    /// would leak into the next one (`cd`, `export`, `set`, `source`, `umask`, `exec`,
    /// `exit`, variable assignments, functions, loops, ...) is wrapped in `( ... )`, and so is
    /// a body that uses `;` or `||` at its top level, so its exit status is what it was.
    /// RUNs with background jobs, different flags (mounts, network), exec form, heredocs, a
    /// non-POSIX SHELL, or a script dockopt cannot parse are never merged. Only layer
    /// boundaries change (and the image shrinks when a cleanup joins its RUN).
    ///
    /// ## Options
    /// - `only-related` (default false): merge only an update into the install after it and
    ///   a cleanup into the RUN before it, and leave other consecutive RUNs apart (to keep
    ///   the build cache finer grained).
    ///
    /// ## References
    /// hadolint DL3059 (multiple consecutive RUN); Docker best practices, "apt-get".
    pub struct MergeRuns {
        name: "merge-runs",
        default_enabled: true,
        fix: FixAvailability::Sometimes,
        options: &[OptionMeta {
            name: "only-related",
            kind: OptionKind::Bool,
            doc: "merge only update+install and cleanup pairs",
        }],
    }
}

/// Builtins and keywords that change the shell's own state, which the next body would see.
const STATE_CHANGERS: &[&str] = &[
    "cd",
    "pushd",
    "popd",
    "export",
    "unset",
    "set",
    "shopt",
    "source",
    ".",
    "umask",
    "alias",
    "unalias",
    "ulimit",
    "trap",
    "exec",
    "exit",
    "return",
    "readonly",
    "declare",
    "typeset",
    "local",
    "eval",
    "read",
    "readarray",
    "mapfile",
    "getopts",
    "shift",
    "hash",
    "enable",
];

/// How a body must be wrapped to keep its meaning when `&& next` follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wrap {
    None,
    Subshell,
}

/// What a RUN body is, for merging.
struct Body {
    script: Script,
    wrap: Wrap,
}

fn analyse(instruction: Instruction<'_>) -> Option<Body> {
    if instruction.is_exec_form() || instruction.heredocs().len() > 0 {
        return None;
    }
    let script = dockopt_shell::parse_instruction(instruction)?;
    if script.is_opaque() || script.is_empty() {
        return None;
    }
    let mut background = false;
    let mut leaks = false;
    for command in script.commands() {
        background |= command.context.background;
        if !command.context.runs_in_main_shell() {
            continue;
        }
        let bare_assignment = command.name.is_none() && !command.assignments.is_empty();
        let changer = command
            .program()
            .is_some_and(|p| STATE_CHANGERS.contains(&p));
        leaks |= bare_assignment || changer;
    }
    leaks |= defines_in_main_shell(&script.root().items);
    if background || script.ends_in_background() {
        return None;
    }
    let plain_chain = script
        .top_level_operators()
        .all(|op| op.kind == OpKind::And);
    let wrap = if leaks || !plain_chain {
        Wrap::Subshell
    } else {
        Wrap::None
    };
    Some(Body { script, wrap })
}

/// Whether a function definition or a `for` loop (which sets its variable) runs in the
/// main shell: not inside `( )` or a pipeline, where it cannot leak.
fn defines_in_main_shell(items: &[dockopt_shell::ListItem]) -> bool {
    fn node(n: &Node) -> bool {
        match n {
            Node::Function(_) | Node::For(_) => true,
            Node::Group(c) => defines_in_main_shell(&c.body.items),
            Node::If(i) => {
                i.branches.iter().any(|b| {
                    defines_in_main_shell(&b.condition.items)
                        || defines_in_main_shell(&b.body.items)
                }) || i
                    .else_body
                    .as_ref()
                    .is_some_and(|e| defines_in_main_shell(&e.items))
            }
            Node::While(w) => {
                defines_in_main_shell(&w.condition.items) || defines_in_main_shell(&w.body.items)
            }
            Node::Case(c) => c.items.iter().any(|i| defines_in_main_shell(&i.body.items)),
            Node::Redirected(r) => node(&r.body),
            // Subshells and pipeline stages run in a child shell; commands cannot define.
            _ => false,
        }
    }
    items.iter().any(|item| node(&item.node))
}

/// The flags as a sorted list, so `--a --b` and `--b --a` compare equal.
fn flag_set(instruction: Instruction<'_>) -> Vec<&str> {
    let mut flags: Vec<&str> = instruction.flags().map(|f| f.text).collect();
    flags.sort_unstable();
    flags
}

/// Whether every command of the script is a package-index update (`apt-get update`).
fn is_update_only(knowledge: &Knowledge, script: &Script) -> bool {
    script.commands().iter().all(|c| {
        recognize(knowledge, c)
            .is_some_and(|p| matches!(p.action, Some("update" | "makecache" | "refresh" | "ref")))
    })
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

impl Rule for MergeRuns {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let file = ctx.file;
        let only_related = ctx.options.bool(Self::META.name, "only-related", false);
        let states = stage_states(file);
        let instructions: Vec<Instruction<'_>> = file.instructions().collect();
        let escape = file.escape_char();
        let newline = file.line_ending();
        let indent = continuation_indent(file);
        let mut out = Vec::new();
        for pair in instructions.windows(2) {
            let (first, second) = (pair[0], pair[1]);
            if first.kind() != InstructionKind::Run || second.kind() != InstructionKind::Run {
                continue;
            }
            let state = &states[second.index()];
            if !state.posix_shell() || flag_set(first) != flag_set(second) {
                continue;
            }
            let (Some(a), Some(b)) = (analyse(first), analyse(second)) else {
                continue;
            };
            let update_then_install = is_update_only(ctx.knowledge, &a.script);
            let cleanup = is_cleanup_only(ctx.knowledge, &b.script);
            if only_related && !update_then_install && !cleanup {
                continue;
            }
            let message = if update_then_install {
                "a package-index update in its own RUN goes stale in the build cache; merge it with the RUN below"
            } else if cleanup {
                "a cleanup in its own RUN does not shrink the image (the files stay in the layer above); merge it into that RUN"
            } else {
                "consecutive RUNs: merge them into one layer"
            };

            let (args_a, args_b) = (first.args_range(), second.args_range());
            let mut joint = String::new();
            if a.wrap == Wrap::Subshell {
                joint.push_str(" )");
            }
            joint.push_str(" && ");
            joint.push(escape);
            joint.push_str(newline);
            for comment in comments_between(file, first, second) {
                joint.push_str(&comment);
                joint.push_str(newline);
            }
            joint.push_str(&indent);
            if b.wrap == Wrap::Subshell {
                joint.push_str("( ");
            }
            let mut edits = vec![Edit::replace(
                dockopt_syntax::TextRange::new(args_a.end, args_b.start),
                joint,
            )];
            if a.wrap == Wrap::Subshell {
                edits.push(Edit::insert(args_a.start, "( "));
            }
            if b.wrap == Wrap::Subshell {
                edits.push(Edit::insert(args_b.end, " )"));
            }
            let fix = Fix::safe("Merge with the RUN above", edits);
            let fix = Fix {
                effect: DeclaredEffect {
                    summary: "one layer instead of two; files deleted by the second RUN no longer stay in a lower layer".into(),
                    ..DeclaredEffect::default()
                },
                ..fix
            };
            out.push(
                Diagnostic::new(Self::META.name, second.keyword_range(), message).with_fix(fix),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::MergeRuns;
    use crate::rules::test_support::{check, fixed};

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
    fn state_changing_and_non_chain_bodies_are_wrapped() {
        assert_eq!(
            merged("FROM a\nRUN cd /src && make\nRUN make install\n"),
            "FROM a\nRUN ( cd /src && make ) && \\\n    make install\n"
        );
        assert_eq!(
            merged("FROM a\nRUN a\nRUN b || true\n"),
            "FROM a\nRUN a && \\\n    ( b || true )\n"
        );
        assert_eq!(
            merged("FROM a\nRUN export A=1; echo $A\nRUN echo ${A:-unset}\n"),
            "FROM a\nRUN ( export A=1; echo $A ) && \\\n    echo ${A:-unset}\n"
        );
        // A subshell or a pipeline does not leak; a prefix assignment does not either.
        assert_eq!(
            merged("FROM a\nRUN (cd x && make) | tee log\nRUN CC=clang make\n"),
            "FROM a\nRUN (cd x && make) | tee log && \\\n    CC=clang make\n"
        );
        // Functions and loops leak from the main shell only; already wrapped ones do not.
        assert_eq!(
            merged("FROM a\nRUN for i in 1 2; do echo $i; done\nRUN echo $i\n"),
            "FROM a\nRUN ( for i in 1 2; do echo $i; done ) && \\\n    echo $i\n"
        );
        assert_eq!(
            merged("FROM a\nRUN ( f() { echo x; }; f ) && true\nRUN echo y\n"),
            "FROM a\nRUN ( f() { echo x; }; f ) && true && \\\n    echo y\n"
        );
    }

    #[test]
    fn continuation_lines_escape_and_crlf_follow_the_file() {
        let text = "# escape=`\r\nFROM a\r\nRUN a `\r\n  && b\r\nRUN c\r\n";
        assert_eq!(
            merged(text),
            "# escape=`\r\nFROM a\r\nRUN a `\r\n  && b && `\r\n  c\r\n"
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
        ] {
            assert!(check(&MergeRuns, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn same_flags_in_another_order_merge() {
        let text = "FROM a\nRUN --network=none --mount=type=cache,target=/x a\nRUN --mount=type=cache,target=/x --network=none b\n";
        assert_eq!(
            merged(text),
            "FROM a\nRUN --network=none --mount=type=cache,target=/x a && \\\n    b\n"
        );
    }

    #[test]
    fn only_related_keeps_unrelated_runs_apart() {
        use crate::{RuleOptions, Selection, check_file};
        let table: toml::Table = toml::from_str("only-related = true").unwrap();
        let selection = Selection::only(&["merge-runs"])
            .with_options(RuleOptions::new([("merge-runs".to_string(), table)].into()).unwrap());
        let file = dockopt_syntax::parse(
            "FROM a\nRUN pip install x\nRUN npm ci\nRUN apk update\nRUN apk add curl\nRUN make\nRUN rm -rf /tmp/build\n",
        );
        let lines: Vec<usize> = check_file(&file, &selection)
            .iter()
            .map(|d| file.line_col(d.range.start).line)
            .collect();
        assert_eq!(lines, [5, 7]);
    }
}
