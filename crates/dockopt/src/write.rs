//! Writing files without losing anything: a temporary file in the same folder, the original
//! permissions, then a rename; never when the file changed since it was read.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::input::describe_io;

/// Replaces the file at `path` (following symlinks) with `new`, if it still holds `expected`.
pub fn write_if_unchanged(path: &Path, expected: &str, new: &str) -> Result<(), String> {
    let real: PathBuf = std::fs::canonicalize(path).map_err(|e| describe_io(&e))?;
    let current = std::fs::read(&real).map_err(|e| describe_io(&e))?;
    if current != expected.as_bytes() {
        return Err(
            "changed on disk since dockopt read it; not written (run dockopt again)".into(),
        );
    }
    let dir = real.parent().ok_or("has no parent folder")?;
    let name = real
        .file_name()
        .ok_or("has no file name")?
        .to_string_lossy();
    let permissions = std::fs::metadata(&real)
        .map_err(|e| describe_io(&e))?
        .permissions();
    let mut attempt = 0;
    let (temp_path, mut temp) = loop {
        let candidate = dir.join(format!(
            ".{name}.dockopt-{}-{attempt}.tmp",
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(f) => break (candidate, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => {
                return Err(format!(
                    "cannot create a temporary file beside it: {}",
                    describe_io(&e)
                ));
            }
        }
    };
    let result = (|| {
        temp.write_all(new.as_bytes())?;
        temp.sync_all()?;
        std::fs::set_permissions(&temp_path, permissions)?;
        std::fs::rename(&temp_path, &real)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp_path);
        return Err(format!(
            "write failed, file left as it was: {}",
            describe_io(&e)
        ));
    }
    Ok(())
}

/// True when `path` is in a git work tree and has uncommitted changes. `None` when git is
/// not available or the file is not in a repository (nothing to protect then).
pub fn has_uncommitted_changes(path: &Path) -> Option<bool> {
    let real = std::fs::canonicalize(path).ok()?;
    let dir = real.parent()?;
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["status", "--porcelain", "--"])
        .arg(real.file_name()?)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(!output.stdout.is_empty())
}

#[cfg(test)]
mod tests {
    use super::write_if_unchanged;

    #[test]
    fn writes_keep_permissions_follow_symlinks_and_refuse_changed_files() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("dockopt-write-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let real = dir.join("Dockerfile.real");
        std::fs::write(&real, "FROM a\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.join("Dockerfile");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        write_if_unchanged(&link, "FROM a\n", "FROM b\n").unwrap();
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "FROM b\n");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );

        let err = write_if_unchanged(&link, "FROM a\n", "FROM c\n").unwrap_err();
        assert!(err.contains("changed on disk"), "{err}");
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "FROM b\n");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .collect();
        assert!(leftovers.is_empty());
    }
}
