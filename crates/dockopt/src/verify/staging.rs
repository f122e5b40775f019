//! A stand-in copy of the build context for the rebuild timings, so that verify never edits
//! the user's files: a rebuild after a "source change" edits the copy, not the project. A
//! killed verify leaves at most a folder in the temp dir, never a line in someone's source.
//!
//! The copy is cheap: every file is hard-linked into the new tree (BuildKit only reads
//! them), except the files the timings edit, which are real copies so that an edit cannot
//! reach the original through a shared inode. Where a hard link is impossible (another file
//! system) the file is copied. Symlinks are recreated as symlinks, never followed.

use std::path::{Path, PathBuf};

/// A copy of a build context in the temp dir, removed on drop.
#[derive(Debug)]
pub struct StagedContext {
    root: PathBuf,
    source: PathBuf,
}

impl StagedContext {
    /// Stages `context` under a fresh folder named after `name`; `edited` are the files
    /// (inside `context`) that will be edited, which get copies of their own.
    pub fn new(context: &Path, name: &str, edited: &[PathBuf]) -> Result<Self, String> {
        let root = std::env::temp_dir().join(format!(
            "dockopt-verify-context-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        let source = context
            .canonicalize()
            .map_err(|e| format!("{}: {}", context.display(), crate::input::describe_io(&e)))?;
        let edited: Vec<PathBuf> = edited
            .iter()
            .filter_map(|p| p.canonicalize().ok())
            .collect();
        let staged = Self { root, source };
        copy_tree(&staged.source, &staged.root, &edited).map_err(|e| {
            format!(
                "cannot stage the build context in {}: {e}",
                staged.root.display()
            )
        })?;
        Ok(staged)
    }

    /// The staged context, to build from.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Where `path` (a file of the original context) is in the staged copy; `None` when it
    /// is outside the context.
    pub fn map(&self, path: &Path) -> Option<PathBuf> {
        let path = path.canonicalize().ok()?;
        let relative = path.strip_prefix(&self.source).ok()?;
        Some(self.root.join(relative))
    }
}

/// Copies the tree `from` to `to`: hard links, copies for `edited` files, symlinks as such.
fn copy_tree(from: &Path, to: &Path, edited: &[PathBuf]) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
        } else if kind.is_dir() {
            copy_tree(&source, &target, edited)?;
            let permissions = std::fs::metadata(&source)?.permissions();
            std::fs::set_permissions(&target, permissions)?;
        } else if kind.is_file() {
            let edited_here = edited.contains(&source);
            if edited_here || std::fs::hard_link(&source, &target).is_err() {
                std::fs::copy(&source, &target)?;
                let modified = std::fs::metadata(&source)?.modified()?;
                std::fs::File::options()
                    .write(true)
                    .open(&target)?
                    .set_modified(modified)?;
            }
        }
        // Sockets, fifos and devices: nothing a build context can send.
    }
    Ok(())
}

impl Drop for StagedContext {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[cfg(test)]
mod tests {
    use super::StagedContext;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn edits_of_the_staged_copy_never_reach_the_original() {
        let dir = std::env::temp_dir().join(format!("dockopt-staging-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/app.py"), "print(1)\n").unwrap();
        std::fs::write(dir.join("requirements.txt"), "flask\n").unwrap();
        std::os::unix::fs::symlink("src/app.py", dir.join("link.py")).unwrap();

        let staged = StagedContext::new(&dir, "test", &[dir.join("src/app.py")]).unwrap();
        let app = staged.map(&dir.join("src/app.py")).unwrap();
        assert!(app.starts_with(staged.path()));
        std::fs::write(&app, "print(2)\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("src/app.py")).unwrap(),
            "print(1)\n"
        );
        // Files not edited share the original's inode; links stay links.
        let ino = |p: &std::path::Path| std::fs::metadata(p).unwrap().ino();
        assert_eq!(
            ino(&dir.join("requirements.txt")),
            ino(&staged.path().join("requirements.txt"))
        );
        assert_ne!(ino(&dir.join("src/app.py")), ino(&app));
        assert!(
            std::fs::symlink_metadata(staged.path().join("link.py"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(staged.map(std::path::Path::new("/etc/hostname")).is_none());
        let root = staged.path().to_path_buf();
        drop(staged);
        assert!(!root.exists(), "the staged copy is removed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
