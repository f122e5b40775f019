//! dockopt's transform passes: one module a pass, knowledge in `knowledge/*.toml`.
//!
//! The passes arrive with the fix engine (see DESIGN.md, "Rules and passes"); this crate
//! exists now so that the dependency direction syntax <- shell <- fix <- transforms <- dockopt
//! is fixed from the first commit.
