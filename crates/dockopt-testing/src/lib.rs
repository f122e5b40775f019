//! What dockopt's test suites share: the shared corpus of real Dockerfiles and a walk that
//! lists them. Dev-only; nothing here ships.

use std::path::{Path, PathBuf};

/// The workspace root, where the README's commands run.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shared corpus named by `DOCKOPT_CORPUS` (a relative path is taken from the workspace
/// root), or `None` when the variable is unset or empty: the caller says on stderr that it
/// skipped the corpus.
///
/// Under `CI=true` a missing corpus panics instead: CI must never report a corpus suite as
/// passed when it did not read the corpus. A path that is not a folder always panics.
pub fn corpus() -> Option<PathBuf> {
    let value = std::env::var_os("DOCKOPT_CORPUS").filter(|v| !v.is_empty());
    let Some(value) = value else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but DOCKOPT_CORPUS is not set: the corpus suites would be skipped \
             (.ci/run sets it to ../shared/corpus)"
        );
        return None;
    };
    let dir = workspace_root().join(value);
    assert!(
        dir.is_dir(),
        "DOCKOPT_CORPUS={} is not a folder",
        dir.display()
    );
    Some(dir)
}

/// Every `*.Dockerfile` under `dir`, sorted. Unreadable folders panic: a test must not
/// silently read less than it claims.
pub fn dockerfiles(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "Dockerfile") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
