//! A read-only view of the build context for rules: what a path is, and its first bytes.
//! Rules never touch the file system themselves; paths that leave the context are unknown.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

/// What a context path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Folder,
}

/// The build context folder.
#[derive(Clone, Debug)]
pub struct BuildContext {
    root: PathBuf,
}

/// Bytes read to recognise an archive (a tar header's magic is at offset 257).
const SNIFF_BYTES: usize = 512;

impl BuildContext {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path` (as written in a COPY/ADD source) inside the context, or `None` when it would
    /// leave it or is absolute.
    fn resolve(&self, path: &str) -> Option<PathBuf> {
        let mut out = self.root.clone();
        for component in Path::new(path).components() {
            match component {
                Component::Normal(part) => out.push(part),
                Component::CurDir => {}
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        Some(out)
    }

    /// What `path` is, following symlinks only inside the context.
    pub fn kind(&self, path: &str) -> Option<EntryKind> {
        let full = self.resolve(path)?;
        let real = std::fs::canonicalize(&full).ok()?;
        let root = std::fs::canonicalize(&self.root).ok()?;
        if !real.starts_with(&root) {
            return None;
        }
        let metadata = std::fs::metadata(&real).ok()?;
        if metadata.is_dir() {
            Some(EntryKind::Folder)
        } else if metadata.is_file() {
            Some(EntryKind::File)
        } else {
            None
        }
    }

    /// True when the file is an archive ADD would unpack (tar, gzip, bzip2, xz, zstd), by
    /// content as BuildKit decides; `None` when it cannot be read.
    pub fn is_archive(&self, path: &str) -> Option<bool> {
        if self.kind(path)? != EntryKind::File {
            return Some(false);
        }
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        std::fs::File::open(self.resolve(path)?)
            .ok()?
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .ok()?;
        let compressed = head.starts_with(&[0x1f, 0x8b])
            || head.starts_with(b"BZh")
            || head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00])
            || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
        let tar = head.get(257..262) == Some(b"ustar");
        Some(compressed || tar)
    }
}

#[cfg(test)]
mod tests {
    use super::{BuildContext, EntryKind};

    #[test]
    fn kinds_archives_and_escapes() {
        let dir = std::env::temp_dir().join(format!("dockopt-context-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("data"), b"plain text").unwrap();
        std::fs::write(dir.join("bundle"), [0x1f, 0x8b, 8, 0]).unwrap();
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        std::fs::write(dir.join("image.layer"), tar).unwrap();
        let ctx = BuildContext::new(&dir);
        assert_eq!(ctx.kind("src/"), Some(EntryKind::Folder));
        assert_eq!(ctx.kind("./data"), Some(EntryKind::File));
        assert_eq!(ctx.is_archive("data"), Some(false));
        assert_eq!(ctx.is_archive("bundle"), Some(true));
        assert_eq!(ctx.is_archive("image.layer"), Some(true));
        assert_eq!(ctx.is_archive("src"), Some(false));
        assert_eq!(ctx.kind("../etc/passwd"), None);
        assert_eq!(ctx.kind("/etc/passwd"), None);
        assert_eq!(ctx.kind("missing"), None);
    }
}
