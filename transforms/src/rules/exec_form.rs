use std::fmt::Write as _;

use dockopt_fix::{ConfigKey, DeclaredEffect, Diagnostic, Edit, Fix};
use dockopt_syntax::{Instruction, InstructionKind, Stage};

use crate::rules::json_string;
use crate::{CheckContext, FixAvailability, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds shell-form `CMD` and `ENTRYPOINT` and, when the command uses no shell feature,
    /// writes it in exec (JSON) form.
    ///
    /// ## Why is this bad?
    /// In shell form Docker runs `/bin/sh -c "..."`: the shell is PID 1, the application is
    /// its child, and `docker stop` sends SIGTERM to the shell, which does not pass it on; the
    /// container is killed after the grace period instead of shutting down cleanly.
    ///
    /// ## Example
    /// ```dockerfile
    /// CMD python -m app
    /// ```
    /// Use instead:
    /// ```dockerfile
    /// CMD ["python", "-m", "app"]
    /// ```
    ///
    /// ## Fix safety
    /// Unsafe: the process tree changes (the application becomes PID 1 and receives signals
    /// itself), and for ENTRYPOINT, arguments given to `docker run` are now passed to it.
    /// The fix is offered only when the command is one simple command whose words have no
    /// variables, globs, quotes that matter, redirections or operators (a leading `exec` is
    /// dropped), and, for ENTRYPOINT, when the stage has no CMD (it would become arguments).
    /// Not offered when the stage sets a SHELL.
    ///
    /// ## References
    /// hadolint DL3025; BuildKit check JSONArgsRecommended.
    pub struct ExecForm {
        name: "exec-form",
        default_enabled: true,
        fix: FixAvailability::Sometimes,
    }
}

/// The exec-form words for `instruction`, when converting cannot change what runs.
fn exec_words(instruction: Instruction<'_>) -> Result<Vec<String>, &'static str> {
    let script = dockopt_shell::parse_instruction(instruction).ok_or("no shell command")?;
    if script.is_opaque() {
        return Err("the command is not plain shell");
    }
    // Exactly one simple command at top level: no operators, pipes, subshells or `&`.
    let [
        dockopt_shell::ListItem {
            node: dockopt_shell::Node::Command(command),
            terminator: None,
        },
    ] = script.root().items.as_slice()
    else {
        return Err("it is more than one simple command");
    };
    if !command.redirects.is_empty() || !command.assignments.is_empty() {
        return Err("it uses redirections or variable assignments");
    }
    let mut words = Vec::new();
    for word in command.words() {
        let value = word.value().ok_or("it uses variables or substitutions")?;
        if word.has_pattern() || word.has_tilde() {
            return Err("it uses globs or ~");
        }
        words.push(value.to_string());
    }
    if words.first().is_some_and(|w| w == "exec") {
        words.remove(0);
    }
    if words.is_empty() {
        return Err("there is no command");
    }
    Ok(words)
}

fn stage_has(stage: &Stage<'_>, kind: InstructionKind) -> bool {
    stage.instructions.iter().any(|i| i.kind() == kind)
}

impl Rule for ExecForm {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, ctx: &CheckContext<'_>) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for stage in ctx.file.stages() {
            for &instruction in &stage.instructions {
                let kind = instruction.kind();
                if !matches!(kind, InstructionKind::Cmd | InstructionKind::Entrypoint)
                    || instruction.is_exec_form()
                    || instruction.args_text().is_empty()
                {
                    continue;
                }
                let name = kind.name();
                let mut diagnostic = Diagnostic::new(
                    Self::META.name,
                    instruction.keyword_range().cover(instruction.args_range()),
                    format!(
                        "shell-form {name} runs under /bin/sh -c: the application is not PID 1 and does not get SIGTERM"
                    ),
                );
                let words = if stage_has(&stage, InstructionKind::Shell) {
                    Err("the stage sets SHELL")
                } else if kind == InstructionKind::Entrypoint
                    && stage_has(&stage, InstructionKind::Cmd)
                {
                    Err("the stage's CMD would become the ENTRYPOINT's arguments")
                } else {
                    exec_words(instruction)
                };
                match words {
                    Ok(words)
                        if !instruction.args_text().contains('\n')
                            && !ctx.file.text()[instruction.args_range().range()]
                                .contains('\n') =>
                    {
                        let json = format!(
                            "[{}]",
                            words
                                .iter()
                                .map(|w| json_string(w))
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                        let key = if kind == InstructionKind::Cmd {
                            ConfigKey::Cmd
                        } else {
                            ConfigKey::Entrypoint
                        };
                        diagnostic = diagnostic.with_fix(Fix::unsafe_edit(
                            format!("Write {name} {json}"),
                            vec![Edit::replace(instruction.args_range(), json)],
                            DeclaredEffect {
                                config: vec![key],
                                summary: format!(
                                    "{name} runs without /bin/sh -c: the application is PID 1"
                                ),
                                ..DeclaredEffect::default()
                            },
                        ));
                    }
                    Ok(_) => diagnostic
                        .message
                        .push_str(" (no automatic fix: the command spans several lines)"),
                    Err(why) => {
                        let _ = write!(diagnostic.message, " (no automatic fix: {why})");
                    }
                }
                out.push(diagnostic);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::ExecForm;
    use crate::rules::test_support::{check, fixed};

    #[test]
    fn plain_commands_become_exec_form() {
        assert_eq!(
            fixed(&ExecForm, "FROM a\nCMD python -m app\n").unwrap(),
            "FROM a\nCMD [\"python\", \"-m\", \"app\"]\n"
        );
        assert_eq!(
            fixed(&ExecForm, "FROM a\nENTRYPOINT exec node 'server.js'\n").unwrap(),
            "FROM a\nENTRYPOINT [\"node\", \"server.js\"]\n"
        );
    }

    #[test]
    fn shell_features_are_reported_without_fix() {
        for text in [
            "FROM a\nCMD python app.py $PORT\n",
            "FROM a\nCMD cd /app && ./run\n",
            "FROM a\nCMD ./run > /log 2>&1\n",
            "FROM a\nCMD ls *.txt\n",
            "FROM a\nENTRYPOINT python app.py\nCMD --debug\n",
            "FROM a\nSHELL [\"pwsh\", \"-c\"]\nCMD Write-Host hi\n",
        ] {
            let d = check(&ExecForm, text);
            assert_eq!(d.len(), 1, "{text}");
            assert!(d[0].fix.is_none(), "{text}");
        }
    }

    #[test]
    fn exec_form_is_left_alone() {
        assert!(
            check(
                &ExecForm,
                "FROM a\nCMD [\"python\"]\nENTRYPOINT [\"tini\", \"--\"]\n"
            )
            .is_empty()
        );
    }
}
