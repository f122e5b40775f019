//! One RUN body as merge-runs sees it: its script, whether it must be wrapped in `( ... )`
//! to keep its meaning next to another body, whether it may run with errexit on, and the
//! shell comment that ends it.

use dockopt_shell::{Command, ListItem, Node, OpKind, Script};

/// Builtins and keywords that change the shell's own state, which the next body would see.
/// Commands are matched through `command`/`builtin` ([`Command::invoked_program`]).
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
    "let",
];

/// POSIX special builtins that keep prefix assignments in the shell (`FOO=1 :` sets FOO
/// for the rest of the script in dash) and are not in [`STATE_CHANGERS`] already.
const SPECIAL_BUILTINS: &[&str] = &[":", "break", "continue", "times"];

/// Builtins that run shell code in the current shell: on the left of `&&` the shell
/// ignores errexit inside that code too, however simple the command looks.
const RUNS_SHELL_CODE: &[&str] = &[".", "source", "eval"];

/// Programs that leave a process running after they return (gpg starts gpg-agent and
/// dirmngr; `service x start` a daemon). BuildKit stops such processes when their RUN ends;
/// merged, they would go on running beside the next body (and race its `rm -rf
/// "$GNUPGHOME"`).
const DAEMON_STARTERS: &[&str] = &[
    "gpg",
    "gpg2",
    "gpg-agent",
    "dirmngr",
    "gpgconf",
    "service",
    "systemctl",
    "start-stop-daemon",
    "nohup",
    "setsid",
    "daemonize",
];

/// How a body must be wrapped to keep its meaning when `&& next` follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wrap {
    None,
    Subshell,
}

/// A shell comment at the end of a body: everything after it on the joined line is part
/// of the comment, so nothing may be appended after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TrailingComment {
    /// The file offset where the commands end: the start of the blanks before the `#`.
    pub cut: usize,
    /// The comment as written, `#` included, trailing blanks dropped.
    pub text: String,
    /// The comment runs over a continuation line (`# note \` + the next line), so it
    /// cannot move onto a line of its own.
    pub multiline: bool,
}

/// What merge-runs knows about a RUN body.
pub(super) struct Body {
    pub wrap: Wrap,
    /// A `set` somewhere in the script may turn errexit on (`set -e`, `set -eux`,
    /// `set -o errexit`, or options that are not literal).
    pub sets_errexit: bool,
    /// The script is one and-or list of simple commands and pipelines that run no shell
    /// code of their own (`.`, `source`, `eval`): errexit changes nothing in it, wrapped or
    /// not (the shell ignores it on the left of `&&`/`||`, and the last command's status
    /// is the list's).
    pub single_list: bool,
    /// A job runs in the background (`daemon &`) or a program starts a daemon (gpg's
    /// agent, `service x start`): merging would race it with the next body.
    pub background: bool,
    pub comment: Option<TrailingComment>,
}

/// Analyses a body read by [`crate::rules::script_of`]; `text` is the Dockerfile's text.
pub(super) fn analyse(script: &Script, text: &str) -> Body {
    let mut background = script.ends_in_background();
    let mut leaks = defines_in_main_shell(&script.root().items)
        || script.text().contains("${") && assigns_in_expansion(script.text())
        || script.text().contains("((") && assigns_in_arithmetic(script.text());
    let mut sets_errexit = false;
    for command in script.commands() {
        background |= command.context.background
            || command
                .program()
                .is_some_and(|p| DAEMON_STARTERS.contains(&p));
        sets_errexit |= command.invoked_program() == Some("set") && may_enable_errexit(command);
        if !command.context.runs_in_main_shell() {
            continue;
        }
        let bare_assignment = !command.assignments.is_empty()
            && (command.name.is_none()
                || command
                    .invoked_program()
                    .is_some_and(|p| SPECIAL_BUILTINS.contains(&p)));
        let changer = match command.invoked_program() {
            Some(program) => {
                STATE_CHANGERS.contains(&program)
                    // bash's `printf -v NAME` assigns a variable.
                    || program == "printf" && command.args.first().is_some_and(|a| a.is("-v"))
            }
            // A command name that is not literal may be any builtin; `command -v` only
            // looks a name up.
            None => !command.words().all(dockopt_shell::Word::is_literal),
        };
        leaks |= bare_assignment || changer;
    }
    let plain_chain = script
        .top_level_operators()
        .all(|op| op.kind == OpKind::And);
    let wrap = if leaks || !plain_chain {
        Wrap::Subshell
    } else {
        Wrap::None
    };
    let single_list = single(script.root())
        && !script.commands().iter().any(|c| {
            c.invoked_program()
                .is_none_or(|p| RUNS_SHELL_CODE.contains(&p))
        });
    let comment = trailing_comment(script, text);
    Body {
        wrap,
        sets_errexit,
        single_list,
        background,
        comment,
    }
}

/// Whether a list is one and-or list of simple commands, pipelines and subshells that
/// are themselves such lists: nowhere in it would errexit stop the shell early.
fn single(list: &dockopt_shell::List) -> bool {
    fn simple(node: &Node) -> bool {
        match node {
            Node::Command(_) => true,
            Node::Pipeline(p) => p.stages.iter().all(simple),
            Node::Subshell(c) => single(&c.body),
            _ => false,
        }
    }
    list.and_or_lists().len() == 1 && list.items.iter().all(|item| simple(&item.node))
}

/// Whether a `set` command may turn errexit on: a short-option cluster with `e`
/// (`-e`, `-eux`), `-o errexit`, or anything that is not literal.
fn may_enable_errexit(set: &Command) -> bool {
    // The words after `set` itself (past `command`/`builtin` and their options).
    let mut words = set.words().map(dockopt_shell::Word::value);
    for word in words.by_ref() {
        if word.is_none_or(|v| v == "set" || v.ends_with("/set")) {
            break;
        }
    }
    options_enable_errexit(words)
}

/// Whether shell options (`set`'s arguments, or a SHELL's flags: `["/bin/bash",
/// "--noprofile", "--norc", "-eo", "pipefail", "-c"]`) turn errexit on; `None` stands for a
/// word that is not literal, which may.
pub(super) fn options_enable_errexit<'w>(mut words: impl Iterator<Item = Option<&'w str>>) -> bool {
    while let Some(word) = words.next() {
        let Some(value) = word else {
            return true;
        };
        // bash's long options (`--login`, `--norc`) come first and set no errexit.
        if value.len() > 2 && value.starts_with("--") {
            continue;
        }
        // `--`, `-` or a word without a sign: the rest are positional parameters.
        let Some((sign, options)) = value
            .strip_prefix('-')
            .map(|o| ('-', o))
            .or_else(|| value.strip_prefix('+').map(|o| ('+', o)))
            .filter(|(_, o)| !o.is_empty() && !o.starts_with('-'))
        else {
            return false;
        };
        if sign == '-' && options.contains('e') {
            return true;
        }
        // `-o NAME` sets a `set -o` option; bash's `-O NAME` a `shopt` one.
        for option in options.chars().filter(|&c| c == 'o' || c == 'O') {
            let name = words.next().flatten();
            if option == 'o' && sign == '-' && name.is_none_or(|n| n == "errexit") {
                return true;
            }
        }
    }
    false
}

/// Whether function definitions, loops (which set their variable) or constructs dockopt
/// does not model run in the main shell: not inside `( )` or a pipeline, where they
/// cannot leak.
fn defines_in_main_shell(items: &[ListItem]) -> bool {
    fn node(n: &Node) -> bool {
        match n {
            Node::Function(_) | Node::For(_) | Node::Other(_) => true,
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
            Node::Subshell(_) | Node::Pipeline(_) | Node::Command(_) => false,
        }
    }
    items.iter().any(|item| node(&item.node))
}

/// Whether the text holds an assigning parameter expansion, `${NAME=x}` or `${NAME:=x}`,
/// which sets NAME in the shell that expands it. Looked for anywhere in the script, which
/// may wrap a body that did not need it, never the other way round.
fn assigns_in_expansion(text: &str) -> bool {
    text.match_indices("${").any(|(at, _)| {
        let rest = &text[at + 2..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let after = &rest[name_len..];
        name_len > 0 && (after.starts_with('=') || after.starts_with(":="))
    })
}

/// Whether an arithmetic expression (`((i++))`, `$((n = n + 1))`) may assign a variable:
/// any `=` that is not a comparison, or `++`/`--`, inside `((...))`.
fn assigns_in_arithmetic(text: &str) -> bool {
    text.match_indices("((").any(|(at, _)| {
        let inner = &text[at + 2..];
        let inner = &inner[..inner.find("))").unwrap_or(inner.len())];
        let bytes = inner.as_bytes();
        inner.contains("++")
            || inner.contains("--")
            || bytes.iter().enumerate().any(|(i, &b)| {
                b == b'='
                    && !matches!(bytes.get(i + 1), Some(b'='))
                    && !matches!(
                        i.checked_sub(1).map(|j| bytes[j]),
                        Some(b'=' | b'!' | b'<' | b'>')
                    )
            })
    })
}

/// The comment that ends the script, if any. Outside heredocs (merge-runs leaves those
/// alone) a RUN's shell text is one line, so a comment always runs to its end.
fn trailing_comment(script: &Script, text: &str) -> Option<TrailingComment> {
    let comment = script.comments().last()?;
    let cut = text[..comment.file.start]
        .trim_end_matches([' ', '\t'])
        .len();
    let written = text.get(comment.file.clone())?.trim_end();
    Some(TrailingComment {
        cut,
        text: written.to_string(),
        multiline: written.contains(['\n', '\r']),
    })
}

#[cfg(test)]
mod tests {
    use super::{Wrap, analyse, assigns_in_arithmetic, assigns_in_expansion};
    use crate::rules::script_of;

    fn body(run: &str) -> super::Body {
        let text = format!("FROM a\nRUN {run}\n");
        let file = dockopt_syntax::parse(&text);
        let script = script_of(file.instruction(1).unwrap()).expect(run);
        analyse(&script, &text)
    }

    #[test]
    fn leaks_are_seen_through_command_builtin_and_expansions() {
        for run in [
            "command cd /etc",
            "builtin cd /home",
            "pushd /x && make",
            "printf -v X %s 1",
            ": ${FOO:=bar}",
            "let i=1",
            "(( i++ ))",
            "echo $((n = 2))",
            "$CMD /x",
            "FOO=1 :",
        ] {
            assert_eq!(body(run).wrap, Wrap::Subshell, "{run}");
        }
        for run in [
            "command -v curl",
            "make && make install",
            "echo ${A:-b}",
            "echo $((1 == 2))",
        ] {
            assert_eq!(body(run).wrap, Wrap::None, "{run}");
        }
        assert!(assigns_in_expansion("${A=1}") && !assigns_in_expansion("${A:-1} ${#A}"));
        assert!(assigns_in_arithmetic("$((a+=1))") && !assigns_in_arithmetic("$((a>=1))"));
    }

    #[test]
    fn errexit_and_single_lists() {
        for run in [
            "set -eux; a",
            "set -o errexit; a",
            "set -o pipefail -e && a",
            "command set -e; a",
            "(set -e; a) && b",
            "set $FLAGS; a",
        ] {
            assert!(body(run).sets_errexit, "{run}");
        }
        assert!(body("set +x -e; a").sets_errexit);
        let shell = |argv: &[&str]| super::options_enable_errexit(argv.iter().map(|a| Some(*a)));
        assert!(shell(&["--noprofile", "--norc", "-eo", "pipefail", "-c"]));
        assert!(shell(&["--login", "-e", "-c"]));
        assert!(shell(&["-O", "extglob", "-e", "-c"]));
        assert!(!shell(&["-O", "extglob", "-o", "pipefail", "-c"]));
        assert!(!shell(&["-c"]));
        for run in [
            "set -ux; a",
            "set -- -e; a",
            "set +e; a",
            "set -o pipefail; a",
            "set +o errexit; a",
        ] {
            assert!(!body(run).sets_errexit, "{run}");
        }
        assert!(body("a && b || c | d").single_list);
        for run in [
            "a; b",
            "a && (b; c)",
            "if a; then b; fi",
            "cd /src && . ./build.sh",
            "set -e && eval \"$STEPS\"",
        ] {
            assert!(!body(run).single_list, "{run}");
        }
    }

    #[test]
    fn trailing_comments() {
        let b = body("echo one  # first step");
        let c = b.comment.unwrap();
        assert_eq!((c.text.as_str(), c.multiline), ("# first step", false));
        assert!(body("echo a#b").comment.is_none());
        let text = "FROM a\nRUN echo a # note \\\n  more\n";
        let file = dockopt_syntax::parse(text);
        let script = script_of(file.instruction(1).unwrap()).unwrap();
        assert!(analyse(&script, text).comment.unwrap().multiline);
    }
}
