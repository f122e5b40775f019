//! `dockopt debug ...`: how dockopt reads a file, for people and for tests.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use dockopt_syntax::{Dockerfile, InstructionKind, Severity, parse};

use crate::discover::find_dockerfiles;
use crate::input::read_dockerfile;
use crate::parallel::parallel_map;
use crate::{Outcome, print_stdout};

#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// Print BuildKit's AST dump of a Dockerfile; exit 1 when BuildKit would reject it.
    Dump {
        /// The Dockerfile.
        file: PathBuf,
    },
    /// Re-print Dockerfiles from their syntax trees and list every one that is not
    /// byte-identical; exit 1 if any differ, 2 on unreadable paths.
    Roundtrip {
        /// Files and folders (Dockerfile, Containerfile, *.Dockerfile, Dockerfile.*).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print the concrete syntax tree: items, instruction structure, tokens.
    Tree {
        /// The Dockerfile.
        file: PathBuf,
    },
    /// Print each RUN's shell commands and the operators between them, with line:column
    /// ranges in the file.
    Shell {
        /// The Dockerfile.
        file: PathBuf,
    },
}

pub fn run(command: DebugCommand) -> Outcome {
    match command {
        DebugCommand::Dump { file } => with_file(&file, dump),
        DebugCommand::Roundtrip { paths } => roundtrip(&paths),
        DebugCommand::Tree { file } => with_file(&file, |_, parsed| {
            print_stdout(&parsed.debug_tree());
            Outcome::Clean
        }),
        DebugCommand::Shell { file } => with_file(&file, crate::debug::shell),
    }
}

fn with_file(path: &Path, action: impl FnOnce(&Path, &Dockerfile) -> Outcome) -> Outcome {
    match read_dockerfile(path) {
        Ok(text) => action(path, &parse(&text)),
        Err(e) => {
            eprintln!("error: {e}");
            Outcome::Error
        }
    }
}

/// `path:line:col: error: message` for every problem; errors first matter to the exit code.
fn report_errors(path: &Path, file: &Dockerfile) {
    for e in file.errors() {
        let at = file.line_col(e.range.start);
        let level = match e.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        eprintln!("{}:{at}: {level}: {}", path.display(), e.message);
    }
}

fn dump(path: &Path, file: &Dockerfile) -> Outcome {
    report_errors(path, file);
    if file.is_rejected() {
        return Outcome::Findings;
    }
    print_stdout(&file.dump());
    Outcome::Clean
}

enum RoundTrip {
    Identical,
    Differs { line: usize, column: usize },
    Unreadable(crate::input::InputError),
}

fn roundtrip_one(path: &Path) -> RoundTrip {
    let text = match read_dockerfile(path) {
        Ok(text) => text,
        Err(e) => return RoundTrip::Unreadable(e),
    };
    let file = parse(&text);
    let printed = file.print();
    if printed == text {
        return RoundTrip::Identical;
    }
    let first = printed
        .bytes()
        .zip(text.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(printed.len().min(text.len()));
    let at = file.line_col(first);
    RoundTrip::Differs {
        line: at.line,
        column: at.column,
    }
}

fn roundtrip(paths: &[PathBuf]) -> Outcome {
    let (files, walk_errors) = find_dockerfiles(paths);
    for e in &walk_errors {
        eprintln!("error: {e}");
    }
    let results = parallel_map(&files, "re-printing", |p| roundtrip_one(p));
    let (mut identical, mut differ, mut unreadable) = (0, 0, 0);
    for (path, result) in files.iter().zip(&results) {
        match result {
            RoundTrip::Identical => identical += 1,
            RoundTrip::Differs { line, column } => {
                differ += 1;
                println!(
                    "{}:{line}:{column}: differs after re-printing",
                    path.display()
                );
            }
            RoundTrip::Unreadable(e) => {
                unreadable += 1;
                eprintln!("error: {e}");
            }
        }
    }
    println!(
        "{} files, {identical} identical, {differ} differ{}",
        files.len(),
        if unreadable > 0 {
            format!(", {unreadable} unreadable")
        } else {
            String::new()
        }
    );
    if unreadable > 0 || !walk_errors.is_empty() {
        Outcome::Error
    } else if differ > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

/// Each shell-form RUN (ONBUILD's too): its commands with their contexts, the operators
/// between them, line:column ranges in the file.
fn shell(path: &Path, file: &Dockerfile) -> Outcome {
    use std::fmt::Write as _;
    let range =
        |r: &std::ops::Range<usize>| format!("{}-{}", file.line_col(r.start), file.line_col(r.end));
    let mut out = String::new();
    for top in file.instructions() {
        let instruction = top.onbuild_child().unwrap_or(top);
        if instruction.kind() != InstructionKind::Run {
            continue;
        }
        let at = file.line_col(top.range().start);
        let Some(script) = dockopt_shell::parse_instruction(instruction) else {
            let _ = writeln!(out, "{}:{at}: RUN exec form (no shell)", path.display());
            continue;
        };
        let commands = script.commands();
        let shape = if script.is_opaque() {
            ", opaque: not parsed as POSIX shell; passes leave it alone"
        } else if commands.len() == 1 {
            ""
        } else if script.is_and_chain() {
            ", an && chain"
        } else {
            ", a shell script"
        };
        let _ = writeln!(
            out,
            "{}:{at}: RUN, {} command{}{shape}",
            path.display(),
            commands.len(),
            if commands.len() == 1 { "" } else { "s" }
        );
        if script.is_opaque() {
            continue;
        }
        let mut lines: Vec<(usize, String)> = commands
            .iter()
            .map(|c| {
                let context = if c.context.runs_in_main_shell() {
                    ""
                } else {
                    "  (subshell)"
                };
                let text = script
                    .slice(&c.span)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                (
                    c.span.file.start,
                    format!("  {}  {text}{context}", range(&c.span.file)),
                )
            })
            .collect();
        lines.extend(script.top_level_operators().filter_map(|op| {
            let text = script.slice(&op.span);
            (!text.trim().is_empty()).then(|| {
                (
                    op.span.file.start,
                    format!("  {}  {text}", range(&op.span.file)),
                )
            })
        }));
        lines.sort_by_key(|(start, _)| *start);
        for (_, line) in lines {
            let _ = writeln!(out, "{line}");
        }
    }
    print_stdout(&out);
    Outcome::Clean
}
