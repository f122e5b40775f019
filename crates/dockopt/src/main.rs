//! The `dockopt` command line.

mod debug;
mod discover;
mod input;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Rewrites Dockerfiles the way an expert reviewer would, and shows every change first.
///
/// Today dockopt has its parser and the debug commands that inspect it; `check` and `fix`
/// arrive with the fix engine.
#[derive(Debug, Parser)]
#[command(name = "dockopt", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect how dockopt reads Dockerfiles (parser and shell layer).
    #[command(subcommand)]
    Debug(debug::DebugCommand),
}

/// Exit codes scripts can trust.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Nothing to report.
    Clean = 0,
    /// The command found something (a difference, a rejected file).
    Findings = 1,
    /// The command could not do its job (missing path, unreadable file, bad input).
    Error = 2,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Debug(command) => debug::run(command),
    };
    ExitCode::from(outcome as u8)
}
