//! What the runtime stage's instructions need from the twin: the system packages the
//! build installed, the programs CMD, ENTRYPOINT and HEALTHCHECK run, the files they name,
//! the USER and the ports.

use dockopt_syntax::{Instruction, InstructionKind};

use super::command::{entry_and_cmd, plain_words, resolve_program, runtime_programs};
use super::{Analysis, Plan, base_name};
use crate::image::Family;
use crate::paths::{absolute, under};

/// The packages the runtime stage installs (Python), after checking that every package
/// the build installed is accounted for.
pub(super) fn check_packages(a: &Analysis<'_>) -> Plan<Vec<String>> {
    let images = &a.knowledge().images;
    let mut runtime = Vec::new();
    for (manager, packages) in [("apt", &a.scan.apt), ("apk", &a.scan.apk)] {
        let facts = images.packages.get(manager);
        let listed = |list: Option<&Vec<String>>, name: &str| {
            list.is_some_and(|l| l.iter().any(|p| p == name))
        };
        for package in packages {
            let name = package
                .split(['=', ':'])
                .next()
                .unwrap_or(package)
                .to_string();
            let build_only =
                listed(facts.map(|f| &f.build_only), &name) || a.eco_facts().is_build_only(&name);
            if build_only || listed(facts.map(|f| &f.runtime_base), &name) {
                continue;
            }
            if !a.eco_facts().installs_runtime_libraries {
                return Err(format!(
                    "the build installs `{package}` ({manager}), which {} does not have; \
                     dockopt cannot tell whether the application needs it at run time",
                    a.twin
                ));
            }
            let twin_apt = matches!(a.twin_facts.family, Family::Debian | Family::Ubuntu);
            if manager != "apt" || !twin_apt {
                return Err(format!(
                    "the build installs `{package}` with {manager}, which dockopt cannot \
                     install in {}",
                    a.twin
                ));
            }
            let mapped = match facts.and_then(|f| f.dev_runtime.get(&name)) {
                Some(library) => library.clone(),
                None if name.ends_with("-dev") => {
                    return Err(format!(
                        "dockopt does not know which runtime library {name} needs"
                    ));
                }
                None => package.clone(),
            };
            if !runtime.contains(&mapped) {
                runtime.push(mapped);
            }
        }
    }
    Ok(runtime)
}

/// What the runtime stage's moved instructions need from the twin.
pub(super) fn check_runtime_instructions(
    a: &Analysis<'_>,
    runtime: &[(Instruction<'_>, bool)],
    artifacts: &[String],
    packages: &[String],
) -> Plan<()> {
    let twin = &a.twin;
    let no_shell = !a.twin_facts.shell;
    let (entrypoint, cmd) = entry_and_cmd(runtime);
    for &(instruction, _) in runtime {
        let line = a.line(instruction);
        let keyword = instruction.keyword().to_uppercase();
        match instruction.kind() {
            InstructionKind::Cmd | InstructionKind::Entrypoint | InstructionKind::Healthcheck => {
                let none = instruction
                    .healthcheck_kind()
                    .is_some_and(|k| k.value.eq_ignore_ascii_case("none"));
                if none {
                    continue;
                }
                let overridden = Some(instruction.index()) != entrypoint.map(Instruction::index)
                    && Some(instruction.index()) != cmd.map(Instruction::index)
                    && instruction.kind() != InstructionKind::Healthcheck;
                if overridden {
                    continue;
                }
                if no_shell {
                    check_no_shell(a, instruction, artifacts)?;
                } else {
                    check_shell_twin(a, instruction, packages)?;
                }
                a.eco.check_command(a, instruction)?;
                if !a.eco_facts().copies_workdir {
                    check_path_arguments(a, instruction, artifacts)?;
                }
            }
            InstructionKind::User => {
                let value = instruction.args_text();
                let user = value.split(':').next().unwrap_or(value).trim();
                let known = user.chars().all(|c| c.is_ascii_digit())
                    || matches!(user, "root" | "nobody")
                    || a.twin_facts.nonroot_user.as_deref() == Some(user);
                if !known {
                    return Err(format!(
                        "the USER at line {line} names `{user}`, which {twin} may not have"
                    ));
                }
            }
            InstructionKind::Expose if a.twin_facts.default_user_nonroot => {
                let root_user = runtime.iter().rev().find_map(|(i, _)| {
                    (i.kind() == InstructionKind::User).then(|| {
                        let v = i.args_text();
                        let u = v.split(':').next().unwrap_or(v).trim();
                        u == "root" || u == "0"
                    })
                });
                if root_user == Some(true) {
                    continue;
                }
                let low = instruction.words().iter().find_map(|w| {
                    let digits: String = w.value.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse::<u32>().ok().filter(|p| *p > 0 && *p < 1024)
                });
                if let Some(port) = low {
                    return Err(format!(
                        "the {keyword} at line {line} exposes port {port}, and {twin} runs as a \
                         non-root user, which cannot bind it on every runtime"
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// On a twin without a shell: exec form (or plain words), running an artifact.
fn check_no_shell(
    a: &Analysis<'_>,
    instruction: Instruction<'_>,
    artifacts: &[String],
) -> Plan<()> {
    let line = a.line(instruction);
    let keyword = instruction.keyword().to_uppercase();
    let twin = &a.twin;
    let words = if instruction.kind() == InstructionKind::Healthcheck {
        if !instruction.is_exec_form() {
            return Err(format!(
                "the HEALTHCHECK at line {line} needs a shell, which {twin} does not have"
            ));
        }
        plain_words(instruction).unwrap_or_default()
    } else {
        plain_words(instruction).map_err(|why| {
            format!(
                "the {keyword} at line {line} needs a shell ({why}), which {twin} does not have"
            )
        })?
    };
    if instruction.kind() == InstructionKind::Cmd
        && !instruction.is_exec_form()
        && entry_and_cmd_has_entrypoint(a, instruction)
    {
        return Err(format!(
            "the shell-form CMD at line {line} would become arguments of the ENTRYPOINT"
        ));
    }
    let is_program = instruction.kind() == InstructionKind::Healthcheck
        || instruction.kind() == InstructionKind::Entrypoint
        || !entry_and_cmd_has_entrypoint(a, instruction);
    if is_program {
        let program = words.first().cloned().unwrap_or_default();
        resolve_program(a, &program, artifacts)
            .map_err(|why| format!("the {keyword} at line {line} cannot run in {twin}: {why}"))?;
    }
    Ok(())
}

pub(super) fn entry_and_cmd_has_entrypoint(a: &Analysis<'_>, instruction: Instruction<'_>) -> bool {
    a.stage
        .instructions
        .iter()
        .any(|i| i.kind() == InstructionKind::Entrypoint && i.index() != instruction.index())
}

/// On a slim twin: no tool only the full image has, and what the ecosystem checks.
fn check_shell_twin(
    a: &Analysis<'_>,
    instruction: Instruction<'_>,
    packages: &[String],
) -> Plan<()> {
    let line = a.line(instruction);
    let keyword = instruction.keyword().to_uppercase();
    for program in runtime_programs(instruction).into_iter().flatten() {
        let base = base_name(&program);
        if a.knowledge().multi_stage.common.full_image_only(base)
            && !packages.iter().any(|p| p == base)
        {
            return Err(format!(
                "the {keyword} at line {line} runs `{base}`, which {} does not have",
                a.twin
            ));
        }
        a.eco.check_program(a, instruction, &program)?;
    }
    Ok(())
}

/// Artifact-only runtimes: the command line names no file the runtime stage lacks.
fn check_path_arguments(
    a: &Analysis<'_>,
    instruction: Instruction<'_>,
    artifacts: &[String],
) -> Plan<()> {
    let Ok(words) = plain_words(instruction) else {
        return Ok(());
    };
    for word in words.iter().skip(1) {
        if word.contains("://") {
            continue;
        }
        let value = word.rsplit('=').next().unwrap_or(word);
        let value = value.strip_prefix("file:").unwrap_or(value);
        if !(value.starts_with('/') || value.starts_with("./") || value.starts_with("../")) {
            continue;
        }
        let Some(path) = absolute(a.final_wd.as_deref().or(Some("/")), value) else {
            continue;
        };
        let fine = artifacts.iter().any(|art| under(art, &path))
            || (a.knowledge().multi_stage.common.always_there)
                .iter()
                .any(|p| under(p, &path));
        if !fine {
            return Err(format!(
                "the {} at line {} refers to {path}, which the runtime stage would not have",
                instruction.keyword().to_uppercase(),
                a.line(instruction)
            ));
        }
    }
    Ok(())
}
