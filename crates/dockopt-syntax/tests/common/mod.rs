//! What the integration tests share: finding the corpus and its Dockerfiles.

use std::path::{Path, PathBuf};

/// The shared corpus named by `DOCKOPT_CORPUS`, if set; a relative path is taken from the
/// workspace root (where the README's command runs), not from this crate's folder.
pub fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(std::env::var_os("DOCKOPT_CORPUS")?);
    assert!(
        dir.is_dir(),
        "DOCKOPT_CORPUS={} is not a folder",
        dir.display()
    );
    Some(dir)
}

/// Every `*.Dockerfile` under `dir`, sorted.
pub fn dockerfiles(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
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
