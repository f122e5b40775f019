//! Writing files without losing anything: a temporary file in the same folder, the original
//! permissions, then a rename; never when the file changed since it was read. New files
//! appear whole, and only if nothing took their name in the meantime.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::input::describe_io;

/// The error of [`create_new`] when the file exists by now.
pub const APPEARED: &str = "appeared since it was read; not written";

/// A new, empty temporary file in `dir` for writing `name`.
fn temp_beside(dir: &Path, name: &str) -> Result<(PathBuf, File), String> {
    let mut attempt = 0;
    loop {
        let candidate = dir.join(format!(
            ".{name}.dockopt-{}-{attempt}.tmp",
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(f) => return Ok((candidate, f)),
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
    }
}

/// `path` with symlinks and `..` resolved, also when the file itself does not exist (then
/// its folder is resolved); `path` as it is when the folder does not exist either. Two
/// names of one file give the same result.
pub fn canonical_target(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (std::fs::canonicalize(parent), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// Creates the file at `path` with `text`, all at once, refusing ([`APPEARED`]) when
/// something exists there, even a dangling symlink.
///
/// The text goes to a temporary file in the same folder, which is then hard-linked to
/// `path` (a link fails when the name is taken, so there is no window in which a file that
/// appears would be overwritten) and removed. On file systems without hard links it is
/// renamed instead, after checking that the name is still free.
pub fn create_new(path: &Path, text: &str) -> Result<(), String> {
    if path.symlink_metadata().is_ok() {
        return Err(APPEARED.into());
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or("has no file name")?
        .to_string_lossy();
    let (temp_path, mut temp) = temp_beside(dir, &name)?;
    let written = temp
        .write_all(text.as_bytes())
        .and_then(|()| temp.sync_all());
    drop(temp);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp_path);
        return Err(format!(
            "write failed, nothing created: {}",
            describe_io(&e)
        ));
    }
    let linked = match std::fs::hard_link(&temp_path, path) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::Unsupported | std::io::ErrorKind::PermissionDenied
            ) && path.symlink_metadata().is_err() =>
        {
            std::fs::rename(&temp_path, path)
        }
        other => other,
    };
    let _ = std::fs::remove_file(&temp_path);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(APPEARED.into()),
        Err(e) => Err(format!(
            "write failed, nothing created: {}",
            describe_io(&e)
        )),
    }
}

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
    let (temp_path, mut temp) = temp_beside(dir, &name)?;
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
    use super::{APPEARED, canonical_target, create_new, write_if_unchanged};

    fn temp_files(dir: &std::path::Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".dockopt-"))
            .collect()
    }

    #[test]
    fn new_files_are_created_whole_and_never_over_an_existing_one() {
        let dir = std::env::temp_dir().join(format!("dockopt-create-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ignore = dir.join(".dockerignore");

        create_new(&ignore, "node_modules\n").unwrap();
        assert_eq!(std::fs::read_to_string(&ignore).unwrap(), "node_modules\n");
        assert!(temp_files(&dir).is_empty());

        // It exists now: refused, left as it is.
        assert_eq!(create_new(&ignore, ".git\n").unwrap_err(), APPEARED);
        assert_eq!(std::fs::read_to_string(&ignore).unwrap(), "node_modules\n");
        // A dangling symlink takes the name too.
        let link = dir.join("Dockerfile.dockerignore");
        std::os::unix::fs::symlink(dir.join("missing"), &link).unwrap();
        assert_eq!(create_new(&link, ".git\n").unwrap_err(), APPEARED);
        assert!(!dir.join("missing").exists());
        assert!(temp_files(&dir).is_empty());

        // Names through `..` and not yet existing files resolve to one path.
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let via_dots = dir.join("sub/../.dockerignore");
        assert_eq!(canonical_target(&via_dots), canonical_target(&ignore));
        let absent = dir.join("sub/../new");
        assert_eq!(
            canonical_target(&absent),
            std::fs::canonicalize(&dir).unwrap().join("new")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
