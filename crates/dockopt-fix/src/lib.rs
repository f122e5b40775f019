//! Diagnostics and the fixes they carry, the loop that applies fixes until nothing changes,
//! and unified diffs and patches of the result.
//!
//! Modelled on ruff and rustfix: an [`Edit`] replaces a byte range of the *original* text;
//! a [`Fix`] is a set of edits applied together, with an [`Applicability`] that says whether
//! it keeps what the built image runs ([`Applicability::Safe`]) and a [`DeclaredEffect`]
//! that says what it may change (so `dockopt verify` can tell an expected difference from a
//! bug). Overlapping edits are rejected, never shifted.

mod diagnostic;

pub use diagnostic::{Applicability, ConfigKey, DeclaredEffect, Diagnostic, Edit, Fix, Isolation};
pub use dockopt_syntax::TextRange;
