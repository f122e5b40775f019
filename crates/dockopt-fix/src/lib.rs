//! Diagnostics and the fixes they carry, the loop that applies fixes until nothing changes,
//! and unified diffs and patches of the result.
//!
//! Modelled on ruff and rustfix: an [`Edit`] replaces a byte range of the *original* text;
//! a [`Fix`] is a set of edits applied together, with an [`Applicability`] that says whether
//! it keeps what the built image runs ([`Applicability::Safe`]) and a [`DeclaredEffect`]
//! that says what it may change (so `dockopt verify` can tell an expected difference from a
//! bug). Overlapping edits are rejected, never shifted. A fix may instead change other
//! files than the Dockerfile ([`FileChange`], e.g. the context's `.dockerignore`); the loop
//! collects those once the Dockerfile converged and leaves writing them to its caller.
//!
//! - [`apply_fixes`] splices the fixes that can go together into a text in one pass.
//! - [`fix_loop`] parses, checks and applies until nothing applies, and refuses (keeping
//!   the input) when the fixes break the syntax, change what a RUN runs (a command lost,
//!   reordered or commented out; see [`Fix::removes`] for removals a fix means), do not
//!   converge, or undo each other.
//! - [`unified_diff`], [`patch`] and [`patch_files`] write diffs that `git apply` accepts.

mod apply;
mod diagnostic;
mod diff;
mod fix_loop;
mod guard;

pub use apply::{Applied, SkipReason, Skipped, apply_fixes};
pub use diagnostic::{
    Applicability, ConfigKey, DeclaredEffect, Diagnostic, Edit, FileChange, Fix, Isolation,
};
pub use diff::{DEFAULT_CONTEXT, DEV_NULL, PatchFile, patch, patch_files, unified_diff};
pub use dockopt_syntax::TextRange;
pub use fix_loop::{
    AppliedFileChange, AppliedFix, DEFAULT_MAX_ROUNDS, FixOptions, FixOutcome, Refusal,
    assert_idempotent, check_idempotent, fix_loop,
};
