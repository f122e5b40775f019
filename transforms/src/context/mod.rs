//! A read-only view of the build context for rules: what a path is, its first bytes, the
//! ignore file that applies, the files Docker would send and how often git history touched
//! them. Rules never touch the file system themselves; paths that leave the context are
//! unknown. Everything costly is computed once per context on first use and shared by clones,
//! so rules may ask again and again.

mod git;
mod ignore;

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use git::ChangeCounts;
pub use ignore::{IgnoreFile, IgnorePatterns};

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
    /// `<Dockerfile>.dockerignore` beside the Dockerfile, which wins when it exists.
    dockerfile_ignore: Option<PathBuf>,
    ignore: Arc<OnceLock<IgnoreState>>,
    files: Arc<OnceLock<Option<ContextFiles>>>,
    changes: Arc<OnceLock<Option<ChangeCounts>>>,
}

/// The applicable ignore file's path, and the file when it could be read.
#[derive(Debug)]
struct IgnoreState {
    path: PathBuf,
    file: Option<IgnoreFile>,
}

/// One file of the context as Docker would send it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextFile {
    /// Relative to the context root, `/`-separated.
    pub path: String,
    /// In bytes; 0 for a symbolic link (sent as a link, not followed).
    pub size: u64,
}

/// The files of the context after the ignore file, sorted by path.
#[derive(Clone, Debug, Default)]
pub struct ContextFiles {
    files: Vec<ContextFile>,
    truncated: bool,
}

/// Files listed at most; a larger context is listed in part (see `is_truncated`).
const MAX_CONTEXT_FILES: usize = 200_000;

/// The largest manifest [`BuildContext::read_text`] reads (lock files can be large).
pub const MAX_READ_BYTES: u64 = 32 << 20;

/// Bytes read to recognise an archive (a tar header's magic is at offset 257).
const SNIFF_BYTES: usize = 512;

impl BuildContext {
    /// The context at `root`, whose ignore file is `<root>/.dockerignore`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            dockerfile_ignore: None,
            ignore: Arc::default(),
            files: Arc::default(),
            changes: Arc::default(),
        }
    }

    /// The context at `root` for building `dockerfile`. Docker's rule: a file named
    /// `<Dockerfile file name>.dockerignore` in the Dockerfile's own folder takes precedence
    /// over `<root>/.dockerignore` when it exists.
    pub fn for_dockerfile(root: impl Into<PathBuf>, dockerfile: &Path) -> Self {
        let mut context = Self::new(root);
        context.dockerfile_ignore = dockerfile.file_name().map(|name| {
            let mut ignore_name = name.to_os_string();
            ignore_name.push(".dockerignore");
            let folder = dockerfile
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            folder.join(ignore_name)
        });
        context
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

    /// The text of a context file (a manifest), when it is a readable UTF-8 file inside the
    /// context of at most [`MAX_READ_BYTES`]; `None` otherwise.
    pub fn read_text(&self, path: &str) -> Option<String> {
        if self.kind(path)? != EntryKind::File {
            return None;
        }
        let full = self.resolve(path)?;
        if std::fs::metadata(&full).ok()?.len() > MAX_READ_BYTES {
            return None;
        }
        String::from_utf8(std::fs::read(full).ok()?).ok()
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

    fn ignore_state(&self) -> &IgnoreState {
        self.ignore.get_or_init(|| {
            let path = self
                .dockerfile_ignore
                .clone()
                .filter(|p| p.is_file())
                .unwrap_or_else(|| self.root.join(".dockerignore"));
            let file = std::fs::read(&path)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .map(|text| IgnoreFile {
                    patterns: IgnorePatterns::parse(&text),
                    path: path.clone(),
                    text,
                });
            IgnoreState { path, file }
        })
    }

    /// The ignore file that applies: its path and text; `None` when none exists (or it cannot
    /// be read as UTF-8 text).
    pub fn ignore_file(&self) -> Option<&IgnoreFile> {
        self.ignore_state().file.as_ref()
    }

    /// Where the applicable ignore file is or would be created: the Dockerfile-specific one if
    /// it exists, else `<root>/.dockerignore`.
    pub fn ignore_file_path(&self) -> PathBuf {
        self.ignore_state().path.clone()
    }

    /// True when the applicable ignore file excludes `path` (relative to the root,
    /// `/`-separated; `./x` and `/x` accepted).
    pub fn is_excluded(&self, path: &str) -> bool {
        self.ignore_file()
            .is_some_and(|file| file.patterns.excludes(path))
    }

    /// Every regular file (and symbolic link) of the context after the ignore file, sorted by
    /// path; `None` when the root cannot be read.
    pub fn files(&self) -> Option<&ContextFiles> {
        self.files
            .get_or_init(|| {
                let patterns = self.ignore_file().map(|file| &file.patterns);
                ContextFiles::walk(&self.root, patterns, MAX_CONTEXT_FILES)
            })
            .as_ref()
    }

    /// Commit counts from git history; `None` when the root is not inside a git work tree or
    /// git fails.
    pub fn change_counts(&self) -> Option<&ChangeCounts> {
        self.changes
            .get_or_init(|| git::change_counts(&self.root))
            .as_ref()
    }
}

impl ContextFiles {
    pub fn iter(&self) -> impl Iterator<Item = &ContextFile> {
        self.files.iter()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// True when `path` is a file of the context (not a folder).
    pub fn contains(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    pub fn get(&self, path: &str) -> Option<&ContextFile> {
        let path = ignore::normalize_path(path)?;
        let at = self
            .files
            .binary_search_by(|f| f.path.as_str().cmp(&path))
            .ok()?;
        self.files.get(at)
    }

    /// Files at `dir` or below it ("" or "." = everything).
    pub fn under(&self, dir: &str) -> impl Iterator<Item = &ContextFile> {
        self.under_slice(dir).iter()
    }

    /// The total size of the files at `dir` or below it.
    pub fn size_under(&self, dir: &str) -> u64 {
        self.under_slice(dir).iter().map(|f| f.size).sum()
    }

    fn under_slice(&self, dir: &str) -> &[ContextFile] {
        let Some(dir) = ignore::normalize_path(dir) else {
            let whole = dir.trim_matches('/');
            return if whole.is_empty() || whole == "." {
                &self.files
            } else {
                &[]
            };
        };
        if let Ok(at) = self.files.binary_search_by(|f| f.path.as_str().cmp(&dir)) {
            return &self.files[at..=at];
        }
        let below = format!("{dir}/");
        let start = self.files.partition_point(|f| f.path < below);
        let len = self.files[start..].partition_point(|f| f.path.starts_with(&below));
        &self.files[start..start + len]
    }

    /// The top-level entries (first path component) with their kind and total size, sorted by
    /// name.
    pub fn top_level(&self) -> Vec<(String, EntryKind, u64)> {
        let mut entries: Vec<(String, EntryKind, u64)> = Vec::new();
        for file in &self.files {
            let (name, kind) = match file.path.split_once('/') {
                Some((first, _)) => (first, EntryKind::Folder),
                None => (file.path.as_str(), EntryKind::File),
            };
            match entries.iter_mut().rev().find(|e| e.0 == name) {
                Some(entry) => entry.2 += file.size,
                None => entries.push((name.to_string(), kind, file.size)),
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries
    }

    /// True when the walk stopped at the limit (200,000 files): rules must then not rely on a
    /// file's absence.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Lists the files under `root` as Docker sends them: symbolic links are not followed,
    /// excluded folders are skipped unless an exception may re-include something inside
    /// them, unreadable folders and names that are not UTF-8 are left out.
    fn walk(root: &Path, patterns: Option<&IgnorePatterns>, limit: usize) -> Option<Self> {
        let patterns = patterns.filter(|p| !p.is_empty());
        let mut listing = Self::default();
        // Folders to read: relative path, and which patterns matched it or its parents.
        let mut pending: Vec<(String, Option<Vec<bool>>)> = vec![(String::new(), None)];
        let mut first = true;
        while let Some((dir, matched)) = pending.pop() {
            let read = std::fs::read_dir(root.join(&dir));
            let entries = match read {
                Ok(entries) => entries,
                Err(_) if first => return None,
                Err(_) => continue,
            };
            first = false;
            let mut entries: Vec<(String, std::fs::DirEntry)> = entries
                .filter_map(Result::ok)
                .filter_map(|e| Some((e.file_name().into_string().ok()?, e)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut folders = Vec::new();
            for (name, entry) in entries {
                let Ok(file_type) = entry.file_type() else {
                    continue;
                };
                let path = if dir.is_empty() {
                    name
                } else {
                    format!("{dir}/{name}")
                };
                let (excluded, info) = match patterns {
                    Some(p) => {
                        let (excluded, info) = p.step(&path, matched.as_deref());
                        (excluded, Some(info))
                    }
                    None => (false, None),
                };
                if file_type.is_dir() {
                    if !excluded || patterns.is_some_and(|p| p.may_reinclude_under(&path)) {
                        folders.push((path, info));
                    }
                    continue;
                }
                if excluded || !(file_type.is_file() || file_type.is_symlink()) {
                    continue;
                }
                if listing.files.len() == limit {
                    listing.truncated = true;
                    break;
                }
                let size = if file_type.is_file() {
                    entry.metadata().map_or(0, |m| m.len())
                } else {
                    0
                };
                listing.files.push(ContextFile { path, size });
            }
            if listing.truncated {
                break;
            }
            // Popped in name order.
            pending.extend(folders.into_iter().rev());
        }
        listing.files.sort_by(|a, b| a.path.cmp(&b.path));
        Some(listing)
    }
}

#[cfg(test)]
mod tests {
    use super::{BuildContext, ContextFiles, EntryKind, IgnorePatterns};

    #[test]
    fn walk_stops_at_the_limit_and_skips_excluded_folders() {
        let dir = std::env::temp_dir().join(format!("dockopt-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for path in ["a/1", "a/2", "b/1", "b/2", "c", "skip/deep/x"] {
            let full = dir.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, b"x").unwrap();
        }
        let all = ContextFiles::walk(&dir, None, 6).unwrap();
        assert_eq!(all.len(), 6);
        assert!(!all.is_truncated());
        let some = ContextFiles::walk(&dir, None, 3).unwrap();
        assert_eq!(some.len(), 3);
        assert!(some.is_truncated());
        let patterns = IgnorePatterns::parse("skip\n*/2\n!b/2\n");
        let kept = ContextFiles::walk(&dir, Some(&patterns), 100).unwrap();
        let kept: Vec<&str> = kept.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(kept, ["a/1", "b/1", "b/2", "c"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
