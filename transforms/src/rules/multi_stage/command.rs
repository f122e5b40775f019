//! The command line the runtime image runs (CMD, ENTRYPOINT, HEALTHCHECK) and the build
//! output it names.

use dockopt_syntax::{Instruction, InstructionKind};

use super::{Analysis, Plan, base_name, parent};
use crate::paths::absolute;
use crate::rules::and_list;

/// A command line of a CMD, ENTRYPOINT or HEALTHCHECK as plain words, when it is one
/// simple command without shell syntax; the reason otherwise.
pub(super) fn plain_words(instruction: Instruction<'_>) -> Result<Vec<String>, &'static str> {
    if let Some(elements) = instruction.json_array() {
        return Ok(elements.iter().map(|e| e.value.to_string()).collect());
    }
    let command = instruction
        .shell_command()
        .ok_or("it has no command")?
        .value;
    if command.chars().any(|c| {
        matches!(
            c,
            '$' | '\''
                | '"'
                | '`'
                | '\\'
                | '&'
                | '|'
                | ';'
                | '<'
                | '>'
                | '*'
                | '?'
                | '['
                | ']'
                | '('
                | ')'
                | '{'
                | '}'
                | '~'
                | '#'
                | '\n'
                | '\r'
        )
    }) {
        return Err("it uses shell syntax");
    }
    let words: Vec<String> = command.split_whitespace().map(String::from).collect();
    let Some(first) = words.first() else {
        return Err("it has no command");
    };
    if first.contains('=')
        || matches!(
            first.as_str(),
            "exec"
                | "cd"
                | "export"
                | "set"
                | "source"
                | "."
                | "eval"
                | "if"
                | "for"
                | "while"
                | "case"
                | "until"
                | "ulimit"
                | "umask"
                | "trap"
                | "wait"
                | "read"
                | "alias"
        )
    {
        return Err("it starts with a shell builtin or assignment");
    }
    Ok(words)
}

/// The programs a run-time command line runs (through `sh -c` too); `None` for a program
/// whose name is not literal.
pub(super) fn runtime_programs(instruction: Instruction<'_>) -> Vec<Option<String>> {
    let from_script = |script: &dockopt_shell::Script| -> Vec<Option<String>> {
        script
            .commands()
            .into_iter()
            .filter(|c| c.name.is_some())
            .map(|c| c.name_value().map(String::from))
            .collect()
    };
    if let Some(elements) = instruction.json_array() {
        let words: Vec<&str> = elements.iter().map(|e| e.value).collect();
        let shell = words
            .first()
            .is_some_and(|w| matches!(base_name(w), "sh" | "bash" | "dash" | "ash"));
        if shell
            && let Some(c) = words.iter().position(|w| *w == "-c")
            && let Some(script) = words.get(c + 1)
        {
            return from_script(&dockopt_shell::parse_text(script));
        }
        return words
            .first()
            .map(|w| vec![Some((*w).to_string())])
            .unwrap_or_default();
    }
    match dockopt_shell::parse_instruction(instruction) {
        Some(script) if !script.is_opaque() => from_script(&script),
        _ => vec![None],
    }
}

/// The last ENTRYPOINT and CMD of the runtime-only instructions.
pub(super) fn entry_and_cmd<'a>(
    runtime: &[(Instruction<'a>, bool)],
) -> (Option<Instruction<'a>>, Option<Instruction<'a>>) {
    let last = |kind| {
        runtime
            .iter()
            .rev()
            .map(|(i, _)| *i)
            .find(|i| i.kind() == kind)
    };
    (
        last(InstructionKind::Entrypoint),
        last(InstructionKind::Cmd),
    )
}

/// The command line the image runs: ENTRYPOINT and CMD as plain words.
pub(super) fn command_line(
    a: &Analysis<'_>,
    runtime: &[(Instruction<'_>, bool)],
) -> Plan<Vec<String>> {
    let (entrypoint, cmd) = entry_and_cmd(runtime);
    let words_of = |i: Instruction<'_>| {
        plain_words(i).map_err(|why| {
            format!(
                "the {} at line {} is not a plain command ({why})",
                i.keyword().to_uppercase(),
                a.line(i)
            )
        })
    };
    match (entrypoint, cmd) {
        (None, None) => Err(
            "the stage has no CMD or ENTRYPOINT naming the program the runtime stage runs".into(),
        ),
        (Some(e), Some(c)) if !e.is_exec_form() || !c.is_exec_form() => Err(format!(
            "the stage has an ENTRYPOINT and a CMD, not both in exec form (lines {} and {})",
            a.line(e),
            a.line(c)
        )),
        (Some(e), Some(c)) => {
            let mut words = words_of(e)?;
            words.extend(words_of(c)?);
            Ok(words)
        }
        (Some(i), None) | (None, Some(i)) => words_of(i),
    }
}

/// Resolves a program as the runtime stage's PATH would: the candidate it names.
pub(super) fn resolve_program(
    a: &Analysis<'_>,
    program: &str,
    candidates: &[String],
) -> Result<String, String> {
    if program.contains('/') {
        let abs = absolute(a.final_wd.as_deref().or(Some("/")), program)
            .ok_or_else(|| format!("`{program}` cannot be resolved"))?;
        return candidates
            .iter()
            .find(|c| **c == abs)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "it runs {abs}, not what the build produces ({})",
                    and_list(candidates)
                )
            });
    }
    if let Some(found) = candidates.iter().find(|c| {
        base_name(c) == program && a.knowledge().multi_stage.common.on_twin_path(parent(c))
    }) {
        return Ok(found.clone());
    }
    match candidates.iter().find(|c| base_name(c) == program) {
        Some(c) => Err(format!(
            "it runs `{program}` through PATH, and {} is not on the PATH of {}; run it by its \
             full path",
            parent(c),
            a.twin
        )),
        None => Err(format!(
            "it runs `{program}`, not what the build produces ({})",
            and_list(candidates)
        )),
    }
}

/// Everything the build wrote that the runtime command could be: the binaries and where
/// later commands copied them.
pub(super) fn with_copies(a: &Analysis<'_>, mut candidates: Vec<String>) -> Vec<String> {
    for copy in &a.scan.copies {
        if candidates.contains(&copy.source) && !candidates.contains(&copy.dest) {
            candidates.push(copy.dest.clone());
        }
    }
    candidates
}

/// The candidate the CMD/ENTRYPOINT runs (Go, Rust).
pub(super) fn program_artifact(
    a: &Analysis<'_>,
    runtime: &[(Instruction<'_>, bool)],
    candidates: &[String],
) -> Plan<Vec<String>> {
    let words = command_line(a, runtime)?;
    let program = words.first().cloned().unwrap_or_default();
    let found = resolve_program(a, &program, candidates)
        .map_err(|why| format!("the CMD/ENTRYPOINT does not run the binary: {why}"))?;
    Ok(vec![found])
}
