//! The scan of the stage: where each RUN, COPY and ADD writes, which system packages the
//! build installs, and what each build command does (through the ecosystem's
//! [`Ecosystem::scan`](super::ecosystem::Ecosystem::scan)). Anything it cannot follow is an
//! `Err` saying why.

use std::collections::BTreeSet;

use dockopt_shell::{Command, RedirectOp, Word};
use dockopt_syntax::Instruction;

use super::args::{literal, parse_args};
use super::ecosystem::Call;
use super::{Analysis, Plan, Wd, base_name};
use crate::knowledge::PackageManager;
use crate::package::recognize;
use crate::paths::{absolute, under};

/// How a write outside the WORKDIR can be explained: it is the artifact, or a folder on
/// the way to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WriteKind {
    File,
    Folder,
}

/// A file or folder written outside the WORKDIR, to be explained by the artifact.
#[derive(Clone, Debug)]
pub(super) struct Outside {
    pub(super) what: String,
    pub(super) path: String,
    pub(super) kind: WriteKind,
}

/// `cp`/`mv`/`install SRC DEST` with both literal and absolute.
#[derive(Clone, Debug)]
pub(super) struct CopyCmd {
    pub(super) source: String,
    pub(super) dest: String,
}

/// A COPY or ADD from the build context.
#[derive(Clone, Debug)]
pub(super) struct ContextCopy {
    pub(super) sources: Vec<String>,
    pub(super) dest: String,
    pub(super) dest_is_dir: bool,
}

/// What the stage's RUN, COPY and ADD instructions do, whatever the ecosystem (each
/// ecosystem keeps its own records of its build commands).
#[derive(Default)]
pub(super) struct Scan {
    /// The packages the build installs with apt and with apk.
    pub(super) apt: Vec<String>,
    pub(super) apk: Vec<String>,
    /// Where `cp`, `mv`, `install` and `ln` put files: a binary may run from there.
    pub(super) copies: Vec<CopyCmd>,
    /// Writes outside the zone, each to be explained by an artifact.
    pub(super) outside: Vec<Outside>,
    /// COPYs and ADDs from the build context (Rust finds Cargo.toml through them).
    pub(super) context_copies: Vec<ContextCopy>,
    /// Folders known to exist (WORKDIRs, `mkdir`).
    pub(super) folders: BTreeSet<String>,
}

impl Scan {
    /// Checks a path a RUN writes: inside the zone it is fine; outside it is recorded, to be
    /// explained by the artifact. Returns the absolute path.
    pub(super) fn write_path(
        &mut self,
        zone: Option<&str>,
        cwd: Option<&str>,
        path: &str,
        kind: WriteKind,
        line: usize,
        program: &str,
    ) -> Plan<String> {
        let Some(abs) = absolute(cwd, path) else {
            return Err(format!(
                "the RUN at line {line} writes `{path}`, a path dockopt cannot resolve"
            ));
        };
        if zone.is_none_or(|z| !under(z, &abs)) {
            self.outside.push(Outside {
                what: format!("the RUN at line {line} (`{program}`) writes"),
                path: abs.clone(),
                kind,
            });
        }
        Ok(abs)
    }
}

/// The RUN at `line` runs something dockopt does not know.
pub(super) fn unknown_run(line: usize, program: &str) -> String {
    format!(
        "the RUN at line {line} runs `{program}`, which may create files outside WORKDIR that \
         the runtime stage would not get"
    )
}

/// Records a COPY or ADD: where its files go must be inside the WORKDIR (or be the
/// artifact).
pub(super) fn scan_copy(a: &mut Analysis<'_>, instruction: Instruction<'_>, wd: &Wd) -> Plan<()> {
    let line = a.line(instruction);
    let keyword = instruction.keyword().to_uppercase();
    let words: Vec<String> = instruction
        .words()
        .iter()
        .map(|w| w.value.to_string())
        .collect();
    let Some((dest, sources)) = words.split_last() else {
        return Ok(());
    };
    let Some(dest_abs) = absolute(wd.cwd().as_deref(), dest) else {
        return Err(format!(
            "the {keyword} at line {line} copies to `{dest}`, a path dockopt cannot resolve"
        ));
    };
    let dest_is_dir = dest.ends_with('/')
        || sources.len() > 1
        || matches!(dest.as_str(), "." | "..")
        || a.scan.folders.contains(&dest_abs);
    if instruction.flag("from").is_none() {
        a.scan.context_copies.push(ContextCopy {
            sources: sources.to_vec(),
            dest: dest_abs.clone(),
            dest_is_dir,
        });
    }
    if a.zone(wd).is_some_and(|z| under(&z, &dest_abs)) {
        return Ok(());
    }
    // A single file to an exact path may be the artifact (a binary copied in).
    let (path, kind) = match sources {
        [one] if !dest_is_dir && !one.contains(['*', '?', '[']) && one != "." => {
            (dest_abs, WriteKind::File)
        }
        [one] if dest_is_dir && !one.contains(['*', '?', '[']) && one != "." => (
            format!("{}/{}", dest_abs.trim_end_matches('/'), base_name(one)),
            WriteKind::File,
        ),
        _ => {
            return Err(format!(
                "the {keyword} at line {line} puts files in {dest_abs}, outside WORKDIR; the \
                 runtime stage would not get them"
            ));
        }
    };
    a.scan.outside.push(Outside {
        what: format!("the {keyword} at line {line} writes"),
        path,
        kind,
    });
    Ok(())
}

/// Records what a RUN does; `Err` when it may do something the runtime stage would miss.
#[allow(clippy::too_many_lines)]
pub(super) fn scan_run(
    a: &mut Analysis<'_>,
    run: Instruction<'_>,
    pos: usize,
    wd: &Wd,
) -> Plan<()> {
    let line = a.line(run);
    if run.is_exec_form() {
        return Err(format!(
            "the RUN at line {line} is in exec form, which dockopt does not read"
        ));
    }
    let script = dockopt_shell::parse_instruction(run)
        .filter(|s| !s.is_opaque())
        .ok_or_else(|| format!("the RUN at line {line} is not shell dockopt can read"))?;
    let state = a.states[run.index()].clone();
    let zone = a.zone(wd);
    let mut cwd = wd.cwd();
    // The literal words of the RUN's `export`s so far (`export CGO_ENABLED=0`).
    let mut exported: Vec<String> = Vec::new();
    let mounts: Vec<String> = run
        .flags()
        .filter(|f| f.name() == "mount")
        .map(|f| a.file.text()[f.range.range()].to_string())
        .collect();
    let knowledge = a.ctx.knowledge;
    for command in script.commands() {
        // Redirections that write files.
        for redirect in &command.redirects {
            let writes = matches!(
                redirect.op,
                RedirectOp::Write
                    | RedirectOp::Append
                    | RedirectOp::Clobber
                    | RedirectOp::WriteAll
                    | RedirectOp::AppendAll
            ) || (redirect.op == RedirectOp::DupWrite
                && redirect
                    .target
                    .as_ref()
                    .and_then(Word::value)
                    .is_some_and(|t| !t.chars().all(|c| c.is_ascii_digit() || c == '-')));
            if !writes {
                continue;
            }
            let target = redirect.target.as_ref().and_then(literal);
            let Some(target) = target else {
                return Err(format!(
                    "the RUN at line {line} writes to a file whose name dockopt cannot read"
                ));
            };
            if target.starts_with("/dev/") {
                continue;
            }
            a.scan.write_path(
                zone.as_deref(),
                cwd.as_deref(),
                target,
                WriteKind::File,
                line,
                ">",
            )?;
        }
        if command.name.is_none() {
            continue;
        }
        let Some(name) = command.name_value() else {
            return Err(format!(
                "the RUN at line {line} runs a command whose name dockopt cannot read"
            ));
        };
        let program = command.program().unwrap_or(name);
        let (operands, options) = parse_args(&command.args, &[]);
        match program {
            "cd" => {
                cwd = match operands.first() {
                    None => Some("/root".into()),
                    Some(w) => literal(w).and_then(|p| absolute(cwd.as_deref(), p)),
                };
                continue;
            }
            "rm" | "rmdir" => continue,
            "export" => {
                exported.extend(
                    command
                        .args
                        .iter()
                        .filter_map(Word::value)
                        .map(String::from),
                );
                continue;
            }
            p if knowledge.multi_stage.common.is_harmless(p) => continue,
            "mkdir" | "touch" => {
                let valued: &[&str] = if program == "mkdir" {
                    &["-m", "--mode"]
                } else {
                    &["-d", "-r", "-t"]
                };
                let (operands, _) = parse_args(&command.args, valued);
                let kind = if program == "mkdir" {
                    WriteKind::Folder
                } else {
                    WriteKind::File
                };
                for word in operands {
                    let path = literal(word).ok_or_else(|| unknown_run(line, program))?;
                    let abs = a.scan.write_path(
                        zone.as_deref(),
                        cwd.as_deref(),
                        path,
                        kind,
                        line,
                        program,
                    )?;
                    if kind == WriteKind::Folder {
                        a.scan.folders.insert(abs);
                    }
                }
                continue;
            }
            "chmod" | "chown" | "chgrp" => {
                let reference = options.iter().any(|(o, _)| o.starts_with("--reference"));
                for word in operands.iter().skip(usize::from(!reference)) {
                    let path = literal(word).ok_or_else(|| unknown_run(line, program))?;
                    a.scan.write_path(
                        zone.as_deref(),
                        cwd.as_deref(),
                        path,
                        WriteKind::Folder,
                        line,
                        program,
                    )?;
                }
                continue;
            }
            "cp" | "mv" | "install" | "ln" => {
                scan_copy_command(a, command, program, zone.as_deref(), cwd.as_deref(), line)?;
                continue;
            }
            _ => {}
        }
        let package = recognize(knowledge, command);
        if let Some(package) = &package {
            let manager = package.manager.name.as_str();
            if !a.eco_facts().manages(manager) {
                match manager {
                    "apt" | "apk" => {
                        scan_system_install(a, command, package.manager, line)?;
                        continue;
                    }
                    "dnf" | "zypper" => {
                        return Err(format!(
                            "the RUN at line {line} installs packages with {program}; dockopt \
                             knows the build-only and runtime packages of apt and apk only"
                        ));
                    }
                    _ => return Err(unknown_run(line, program)),
                }
            }
        }
        // A package manager's command goes to the ecosystem's scan, any other program to
        // its scan_program.
        let call = Call {
            command,
            manager: package
                .as_ref()
                .map_or(program, |p| p.manager.name.as_str()),
            program,
            pos,
            line,
            zone: zone.as_deref(),
            cwd: cwd.as_deref(),
            state: &state,
            exported: &exported,
            mounts: &mounts,
            build_context: a.ctx.build_context,
            knowledge,
        };
        if package.is_some() {
            a.eco.scan(&mut a.scan, &call)?;
            continue;
        }
        if let Some(result) = a.eco.scan_program(&call) {
            result?;
            continue;
        }
        if a.eco_facts().is_tool(program) {
            continue;
        }
        return Err(unknown_run(line, program));
    }
    Ok(())
}

/// `cp`, `mv`, `install`, `ln`: where they write, and which file goes where.
fn scan_copy_command(
    a: &mut Analysis<'_>,
    command: &Command,
    program: &str,
    zone: Option<&str>,
    cwd: Option<&str>,
    line: usize,
) -> Plan<()> {
    let valued: &[&str] = match program {
        "install" => &[
            "-m", "--mode", "-o", "--owner", "-g", "--group", "-t", "-S", "--suffix",
        ],
        _ => &["-t", "-S", "--suffix"],
    };
    let (operands, options) = parse_args(&command.args, valued);
    let mut paths = Vec::with_capacity(operands.len());
    for word in &operands {
        paths.push(
            literal(word)
                .ok_or_else(|| unknown_run(line, program))?
                .to_string(),
        );
    }
    // `-d` also inside a cluster of short options (`-Dm`).
    let has = |names: &[&str]| {
        options.iter().any(|(o, _)| {
            names.iter().any(|n| {
                o == n || (n.len() == 2 && !o.starts_with("--") && o[1..].contains(&n[1..]))
            })
        })
    };
    if program == "install" && has(&["-d", "--directory"]) {
        for path in &paths {
            let abs = a
                .scan
                .write_path(zone, cwd, path, WriteKind::Folder, line, program)?;
            a.scan.folders.insert(abs);
        }
        return Ok(());
    }
    let target_dir = options
        .iter()
        .find(|(o, _)| *o == "-t")
        .map(|(_, v)| v.and_then(literal).map(String::from))
        .or_else(|| {
            options.iter().find_map(|(o, _)| {
                o.strip_prefix("--target-directory=")
                    .map(|v| Some(v.to_string()))
            })
        });
    let (sources, dest, dest_is_dir): (Vec<String>, String, bool) = match target_dir {
        Some(Some(dir)) => (paths, dir, true),
        Some(None) => return Err(unknown_run(line, program)),
        None => match paths.split_last() {
            Some((dest, sources)) if !sources.is_empty() => {
                let abs = absolute(cwd, dest);
                let is_dir = dest.ends_with('/')
                    || sources.len() > 1
                    || (program != "install" || !has(&["-D"]))
                        && abs.as_ref().is_some_and(|d| {
                            a.scan.folders.contains(d)
                                || a.knowledge().multi_stage.common.on_twin_path(d)
                        });
                (sources.to_vec(), dest.clone(), is_dir)
            }
            Some((only, _)) if program == "ln" => (vec![only.clone()], ".".to_string(), true),
            _ => return Ok(()),
        },
    };
    let Some(dest_abs) = absolute(cwd, &dest) else {
        return Err(format!(
            "the RUN at line {line} writes `{dest}`, a path dockopt cannot resolve"
        ));
    };
    for source in &sources {
        let target = if dest_is_dir {
            format!("{}/{}", dest_abs.trim_end_matches('/'), base_name(source))
        } else {
            dest_abs.clone()
        };
        a.scan
            .write_path(zone, cwd, &target, WriteKind::File, line, program)?;
        if let Some(source_abs) = absolute(cwd, source) {
            a.scan.copies.push(CopyCmd {
                source: source_abs,
                dest: target,
            });
        }
    }
    Ok(())
}

/// `apt-get install` / `apk add`: the packages the build installs (the manager's
/// `installs` and `valued_options` in knowledge/package-managers.toml).
fn scan_system_install(
    a: &mut Analysis<'_>,
    command: &Command,
    manager: &PackageManager,
    line: usize,
) -> Plan<()> {
    let valued: Vec<&str> = manager.valued_options.iter().map(String::as_str).collect();
    let (operands, _) = parse_args(&command.args, &valued);
    let Some((action, packages)) = operands.split_first() else {
        return Ok(());
    };
    if !manager.installs.iter().any(|i| action.is(i)) {
        return Ok(());
    }
    for word in packages {
        let Some(package) = literal(word) else {
            return Err(format!(
                "the RUN at line {line} installs a package whose name dockopt cannot read"
            ));
        };
        let list = if manager.name == "apt" {
            &mut a.scan.apt
        } else {
            &mut a.scan.apk
        };
        list.push(package.to_string());
    }
    Ok(())
}
