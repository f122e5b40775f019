//! The `dockopt` command line.

mod check;
mod color;
mod config;
mod debug;
mod discover;
mod fix;
mod input;
mod parallel;
mod rules_cmd;
mod verify;
mod write;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Rewrites Dockerfiles the way an expert reviewer would, and shows every change first.
///
/// `dockopt check` reports, `dockopt fix --dry-run` shows every change as a diff, and
/// `dockopt fix` applies the Safe ones (Unsafe ones with `--unsafe-fixes`).
#[derive(Debug, Parser)]
#[command(name = "dockopt", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Report what the rules find; exit 1 when they find something, 2 on errors.
    Check(check::CheckArgs),
    /// Apply fixes: Safe ones by default, Unsafe ones with --unsafe-fixes; --dry-run shows
    /// the diff and writes nothing.
    Fix(fix::FixArgs),
    /// List every rule: its name, whether it fixes, whether it is on by default.
    Rules,
    /// Show one rule's documentation.
    Rule {
        /// The rule's name, e.g. `add-to-copy`.
        name: String,
    },
    /// Build the original and the fixed Dockerfile (or any rewrite, with `--against FILE`) on
    /// a Docker engine and check that the new image runs the same app (exit 1 when not).
    Verify(verify::VerifyArgs),
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

/// Writes to stdout, ignoring a closed pipe (`dockopt rules | head`).
pub fn print_stdout(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Fix(args) => fix::run(&args),
        Command::Rules => rules_cmd::list(),
        Command::Rule { name } => rules_cmd::show(&name),
        Command::Verify(args) => verify::run(&args),
        Command::Debug(command) => debug::run(command),
    };
    ExitCode::from(outcome as u8)
}
