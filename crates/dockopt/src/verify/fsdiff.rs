//! The files of an image, read from `docker export` (a tar of the flattened file system),
//! and the comparison of two such listings.
//!
//! Compared per path: the entry's kind, permission bits (with setuid/setgid/sticky), owner,
//! size and SHA-256 of regular files, and link targets. Modification times are never
//! compared: every build stamps the files a RUN writes with the time it ran. A hard link is
//! compared as the file it links to, since which of two linked paths the tar names first
//! says nothing about the file system.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use sha2::{Digest as _, Sha256};

/// Paths the container runtime adds to every container (`docker create`), not the image.
const ARTEFACT_TREES: [&str; 3] = ["/proc", "/sys", "/dev"];
const ARTEFACT_FILES: [&str; 4] = [
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/.dockerenv",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// A hard link; compared as the file it links to.
    Hardlink,
    /// Devices, FIFOs and anything else, by tar type name.
    Other(String),
}

impl EntryKind {
    pub fn name(&self) -> &str {
        match self {
            Self::File => "file",
            Self::Dir => "dir",
            Self::Symlink => "symlink",
            Self::Hardlink => "hardlink",
            Self::Other(name) => name,
        }
    }

    /// The kind as the file system sees it: a hard link is a file.
    fn effective(&self) -> &str {
        match self {
            Self::Hardlink => "file",
            other => other.name(),
        }
    }
}

/// One path of an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    /// Permission bits, `0o7777` at most.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Content size of regular files (and of hard links, once resolved); 0 otherwise.
    pub size: u64,
    /// Lowercase hex SHA-256 of a regular file's content.
    pub sha256: Option<String>,
    /// Symlink target, or the path a hard link points to.
    pub link: Option<String>,
}

/// Every path of an image, absolute (`/usr/bin/env`), sorted.
pub type Listing = BTreeMap<String, Entry>;

/// `/`-rooted path without `./`, duplicate or trailing slashes.
pub fn normalize(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// True for paths `docker create` adds to every container.
pub fn is_artefact(path: &str) -> bool {
    ARTEFACT_FILES.contains(&path)
        || ARTEFACT_TREES
            .iter()
            .any(|t| path == *t || path.strip_prefix(t).is_some_and(|r| r.starts_with('/')))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// What else one pass over an image's tar stream collects besides the listing (the probes'
/// view of the file system), so that an image is exported once.
pub trait TarVisitor {
    /// A regular file; `content` streams its bytes, and whatever the visitor leaves unread
    /// is still hashed for the listing. `mode` is the permission bits.
    fn file(
        &mut self,
        path: &str,
        mode: u32,
        size: u64,
        content: &mut dyn Read,
    ) -> std::io::Result<()>;
    /// Any other entry (`link`: a symlink's target, or the normalised path a hard link names).
    fn entry(&mut self, path: &str, kind: &EntryKind, link: Option<&str>);
}

/// Collects nothing but the listing.
pub struct ListingOnly;

impl TarVisitor for ListingOnly {
    fn file(&mut self, _: &str, _: u32, _: u64, _: &mut dyn Read) -> std::io::Result<()> {
        Ok(())
    }
    fn entry(&mut self, _: &str, _: &EntryKind, _: Option<&str>) {}
}

/// A reader that hashes and counts what passes through it.
struct Hashing<'a> {
    inner: &'a mut dyn Read,
    hasher: Sha256,
    size: u64,
}

impl Read for Hashing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// Reads a tar stream (as `docker export` writes it) into a listing, skipping container
/// artefacts. Regular files are hashed while streaming, so nothing is held in memory.
#[cfg(test)]
pub fn listing<R: Read>(reader: R) -> std::io::Result<Listing> {
    listing_with(reader, &mut ListingOnly)
}

/// [`listing`], showing every entry to `visitor` on the way.
pub fn listing_with<R: Read>(reader: R, visitor: &mut dyn TarVisitor) -> std::io::Result<Listing> {
    let mut archive = tar::Archive::new(reader);
    let mut out = Listing::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = normalize(&String::from_utf8_lossy(&entry.path_bytes()));
        if is_artefact(&path) {
            continue;
        }
        let header = entry.header();
        let mode = header.mode().unwrap_or(0) & 0o7777;
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let declared_size = header.size().unwrap_or(0);
        let entry_type = header.entry_type();
        let link = entry
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned());
        let (kind, size, sha256, link) = if entry_type.is_file() {
            let mut content = Hashing {
                inner: &mut entry,
                hasher: Sha256::new(),
                size: 0,
            };
            visitor.file(&path, mode, declared_size, &mut content)?;
            std::io::copy(&mut content, &mut std::io::sink())?;
            let Hashing { hasher, size, .. } = content;
            (EntryKind::File, size, Some(hex(&hasher.finalize())), None)
        } else if entry_type.is_dir() {
            (EntryKind::Dir, 0, None, None)
        } else if entry_type.is_symlink() {
            (EntryKind::Symlink, 0, None, link)
        } else if entry_type.is_hard_link() {
            (EntryKind::Hardlink, 0, None, link.map(|l| normalize(&l)))
        } else {
            let name = if entry_type.is_character_special() {
                "char-device"
            } else if entry_type.is_block_special() {
                "block-device"
            } else if entry_type.is_fifo() {
                "fifo"
            } else {
                "other"
            };
            (EntryKind::Other(name.to_string()), 0, None, link)
        };
        if kind != EntryKind::File {
            visitor.entry(&path, &kind, link.as_deref());
        }
        out.insert(
            path,
            Entry {
                kind,
                mode,
                uid,
                gid,
                size,
                sha256,
                link,
            },
        );
    }
    resolve_hardlinks(&mut out);
    Ok(out)
}

/// Gives each hard link the attributes of the file it links to (they share one inode).
fn resolve_hardlinks(listing: &mut Listing) {
    let resolved: Vec<(String, Entry)> = listing
        .iter()
        .filter(|(_, e)| e.kind == EntryKind::Hardlink)
        .filter_map(|(path, e)| {
            let target = listing.get(e.link.as_deref()?)?;
            Some((
                path.clone(),
                Entry {
                    kind: EntryKind::Hardlink,
                    link: e.link.clone(),
                    ..target.clone()
                },
            ))
        })
        .collect();
    for (path, entry) in resolved {
        listing.insert(path, entry);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Changed => "changed",
        }
    }
}

/// One path that differs between the original image and the fixed one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsDifference {
    pub path: String,
    pub change: ChangeKind,
    /// The entry in the original image (None when added).
    pub before: Option<Entry>,
    /// The entry in the fixed image (None when removed).
    pub after: Option<Entry>,
    /// What differs, for people: `content`, `mode 0644 -> 0755`, `added file (12 bytes)`.
    pub what: String,
}

impl FsDifference {
    /// True when the entry is a directory on every side it exists.
    pub fn is_dir_only(&self) -> bool {
        [&self.before, &self.after]
            .into_iter()
            .flatten()
            .all(|e| e.kind == EntryKind::Dir)
    }

    /// True when only a file's content differs (same kind, mode and owner on both sides).
    pub fn is_content_only(&self) -> bool {
        match (&self.before, &self.after) {
            (Some(a), Some(b)) => {
                a.kind.effective() == b.kind.effective()
                    && a.mode == b.mode
                    && (a.uid, a.gid) == (b.uid, b.gid)
                    && a.sha256 != b.sha256
            }
            _ => false,
        }
    }
}

impl FsDifference {
    /// True when only the permission bits or the owner differ (same kind, content and link
    /// target on both sides).
    pub fn is_owner_or_mode_only(&self) -> bool {
        match (&self.before, &self.after) {
            (Some(a), Some(b)) => {
                a.kind.effective() == b.kind.effective()
                    && a.sha256 == b.sha256
                    && (a.kind != EntryKind::Symlink || a.link == b.link)
                    && (a.mode != b.mode || (a.uid, a.gid) != (b.uid, b.gid))
            }
            _ => false,
        }
    }
}

impl fmt::Display for FsDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.what)
    }
}

fn describe(e: &Entry) -> String {
    match e.kind {
        EntryKind::File | EntryKind::Hardlink => {
            format!("{} ({} bytes, mode {:04o})", e.kind.name(), e.size, e.mode)
        }
        EntryKind::Symlink => format!("symlink -> {}", e.link.as_deref().unwrap_or("?")),
        _ => format!("{} (mode {:04o})", e.kind.name(), e.mode),
    }
}

/// The attributes that differ between two entries of one path, empty when none does.
pub fn changed_attributes(a: &Entry, b: &Entry) -> Vec<String> {
    let mut what = Vec::new();
    if a.kind.effective() != b.kind.effective() {
        what.push(format!("type {} -> {}", a.kind.name(), b.kind.name()));
        return what;
    }
    if a.mode != b.mode {
        what.push(format!("mode {:04o} -> {:04o}", a.mode, b.mode));
    }
    if a.uid != b.uid || a.gid != b.gid {
        what.push(format!("owner {}:{} -> {}:{}", a.uid, a.gid, b.uid, b.gid));
    }
    if a.sha256 != b.sha256 {
        if a.size == b.size {
            what.push("content".to_string());
        } else {
            what.push(format!("content ({} -> {} bytes)", a.size, b.size));
        }
    }
    if a.kind == EntryKind::Symlink && a.link != b.link {
        what.push(format!(
            "target {} -> {}",
            a.link.as_deref().unwrap_or("?"),
            b.link.as_deref().unwrap_or("?")
        ));
    }
    what
}

/// Every path added, removed or changed from `before` to `after`, sorted by path.
pub fn compare(before: &Listing, after: &Listing) -> Vec<FsDifference> {
    let mut out = Vec::new();
    for (path, a) in before {
        match after.get(path) {
            None => out.push(FsDifference {
                path: path.clone(),
                change: ChangeKind::Removed,
                before: Some(a.clone()),
                after: None,
                what: format!("removed {}", describe(a)),
            }),
            Some(b) => {
                let what = changed_attributes(a, b);
                if !what.is_empty() {
                    out.push(FsDifference {
                        path: path.clone(),
                        change: ChangeKind::Changed,
                        before: Some(a.clone()),
                        after: Some(b.clone()),
                        what: what.join(", "),
                    });
                }
            }
        }
    }
    for (path, b) in after {
        if !before.contains_key(path) {
            out.push(FsDifference {
                path: path.clone(),
                change: ChangeKind::Added,
                before: None,
                after: Some(b.clone()),
                what: format!("added {}", describe(b)),
            });
        }
    }
    out.sort_by(|x, y| x.path.cmp(&y.path));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar in memory, entry by entry.
    struct TarBuilder(tar::Builder<Vec<u8>>);

    impl TarBuilder {
        fn new() -> Self {
            Self(tar::Builder::new(Vec::new()))
        }

        fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_uid(0);
            h.set_gid(0);
            h.set_size(size);
            h.set_mtime(1_700_000_000);
            h
        }

        fn dir(mut self, path: &str, mode: u32) -> Self {
            let mut h = Self::header(tar::EntryType::Directory, mode, 0);
            self.0.append_data(&mut h, path, std::io::empty()).unwrap();
            self
        }

        fn file(self, path: &str, content: &str) -> Self {
            self.file_with(path, content, 0o644, 0, 1_700_000_000)
        }

        fn file_with(mut self, path: &str, content: &str, mode: u32, uid: u64, mtime: u64) -> Self {
            let mut h = Self::header(tar::EntryType::Regular, mode, content.len() as u64);
            h.set_uid(uid);
            h.set_mtime(mtime);
            self.0
                .append_data(&mut h, path, content.as_bytes())
                .unwrap();
            self
        }

        fn link(mut self, kind: tar::EntryType, path: &str, target: &str) -> Self {
            let mut h = Self::header(kind, 0o777, 0);
            self.0.append_link(&mut h, path, target).unwrap();
            self
        }

        fn listing(self) -> Listing {
            let bytes = self.0.into_inner().unwrap();
            listing(bytes.as_slice()).unwrap()
        }
    }

    fn base() -> TarBuilder {
        TarBuilder::new()
            .dir("./", 0o755)
            .dir("etc/", 0o755)
            .file("etc/os-release", "debian\n")
            .dir("usr/bin/", 0o755)
            .file("usr/bin/tool", "#!/bin/sh\n")
    }

    #[test]
    fn reads_kinds_modes_hashes_and_links() {
        let l = base()
            .link(tar::EntryType::Symlink, "usr/bin/alias", "tool")
            .link(tar::EntryType::Link, "usr/bin/tool2", "usr/bin/tool")
            .listing();
        let file = &l["/etc/os-release"];
        assert_eq!(file.kind, EntryKind::File);
        assert_eq!(file.size, 7);
        assert_eq!(file.mode, 0o644);
        assert_eq!(file.sha256.as_ref().unwrap().len(), 64);
        assert_eq!(l["/usr/bin/alias"].kind, EntryKind::Symlink);
        assert_eq!(l["/usr/bin/alias"].link.as_deref(), Some("tool"));
        let hard = &l["/usr/bin/tool2"];
        assert_eq!(hard.kind, EntryKind::Hardlink);
        assert_eq!(hard.link.as_deref(), Some("/usr/bin/tool"));
        assert_eq!(
            hard.sha256, l["/usr/bin/tool"].sha256,
            "resolved to its target"
        );
        assert!(l.contains_key("/"), "{:?}", l.keys().collect::<Vec<_>>());
        assert_eq!(l["/usr/bin"].kind, EntryKind::Dir);
    }

    #[test]
    fn sha256_is_the_real_digest() {
        let l = TarBuilder::new().file("a", "abc").listing();
        assert_eq!(
            l["/a"].sha256.as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn container_artefacts_are_skipped() {
        let l = base()
            .dir("proc/", 0o555)
            .dir("dev/", 0o755)
            .dir("dev/pts/", 0o755)
            .dir("sys/", 0o555)
            .file("etc/hostname", "")
            .file("etc/hosts", "")
            .file("etc/resolv.conf", "")
            .file(".dockerenv", "")
            .file(
                "devices.txt",
                "kept: only /dev itself and below are artefacts",
            )
            .listing();
        for gone in [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/etc/hostname",
            "/.dockerenv",
        ] {
            assert!(!l.contains_key(gone), "{gone}");
        }
        assert!(l.contains_key("/devices.txt"));
        assert!(l.contains_key("/etc/os-release"));
    }

    #[test]
    fn identical_images_have_no_differences_whatever_the_mtimes() {
        let a = base().file_with("app", "x", 0o644, 0, 1).listing();
        let b = base().file_with("app", "x", 0o644, 0, 999_999).listing();
        assert_eq!(compare(&a, &b), []);
    }

    #[test]
    fn added_removed_and_changed_attributes() {
        let a = base()
            .file("gone", "old")
            .file_with("same-size", "aaa", 0o644, 0, 1)
            .file_with("grows", "a", 0o644, 0, 1)
            .file_with("perm", "p", 0o644, 0, 1)
            .file_with("owner", "o", 0o644, 0, 1)
            .link(tar::EntryType::Symlink, "ln", "one")
            .dir("becomes-file/", 0o755)
            .listing();
        let b = base()
            .file("new", "fresh")
            .file_with("same-size", "bbb", 0o644, 0, 1)
            .file_with("grows", "abc", 0o644, 0, 1)
            .file_with("perm", "p", 0o755, 0, 1)
            .file_with("owner", "o", 0o644, 1000, 1)
            .link(tar::EntryType::Symlink, "ln", "two")
            .file("becomes-file", "")
            .dir("var/cache/", 0o755)
            .listing();
        let diffs = compare(&a, &b);
        let by_path: BTreeMap<&str, (&ChangeKind, &str)> = diffs
            .iter()
            .map(|d| (d.path.as_str(), (&d.change, d.what.as_str())))
            .collect();
        assert_eq!(
            by_path["/gone"],
            (&ChangeKind::Removed, "removed file (3 bytes, mode 0644)")
        );
        assert_eq!(
            by_path["/new"],
            (&ChangeKind::Added, "added file (5 bytes, mode 0644)")
        );
        assert_eq!(by_path["/same-size"], (&ChangeKind::Changed, "content"));
        assert_eq!(
            by_path["/grows"],
            (&ChangeKind::Changed, "content (1 -> 3 bytes)")
        );
        assert_eq!(
            by_path["/perm"],
            (&ChangeKind::Changed, "mode 0644 -> 0755")
        );
        assert_eq!(
            by_path["/owner"],
            (&ChangeKind::Changed, "owner 0:0 -> 1000:0")
        );
        assert_eq!(by_path["/ln"], (&ChangeKind::Changed, "target one -> two"));
        assert_eq!(
            by_path["/becomes-file"],
            (&ChangeKind::Changed, "type dir -> file")
        );
        assert_eq!(
            by_path["/var/cache"],
            (&ChangeKind::Added, "added dir (mode 0755)")
        );
        assert!(diffs.windows(2).all(|w| w[0].path < w[1].path), "sorted");
        let content_only: Vec<&str> = diffs
            .iter()
            .filter(|d| d.is_content_only())
            .map(|d| d.path.as_str())
            .collect();
        assert_eq!(content_only, ["/grows", "/same-size"]);
        assert!(
            diffs
                .iter()
                .find(|d| d.path == "/var/cache")
                .unwrap()
                .is_dir_only()
        );
        assert!(
            !diffs
                .iter()
                .find(|d| d.path == "/becomes-file")
                .unwrap()
                .is_dir_only()
        );
    }

    #[test]
    fn which_path_of_a_hard_link_pair_comes_first_does_not_matter() {
        let a = base()
            .file("x", "same")
            .link(tar::EntryType::Link, "y", "x")
            .listing();
        let b = base()
            .file("y", "same")
            .link(tar::EntryType::Link, "x", "y")
            .listing();
        assert_eq!(compare(&a, &b), []);
        let c = base()
            .file("x", "other")
            .link(tar::EntryType::Link, "y", "x")
            .listing();
        let d = compare(&a, &c);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().all(|d| d.what.starts_with("content")));
    }

    #[test]
    fn paths_are_normalized() {
        assert_eq!(normalize("./usr//bin/"), "/usr/bin");
        assert_eq!(normalize("./"), "/");
        assert_eq!(normalize("etc/hosts"), "/etc/hosts");
        assert!(is_artefact("/proc/self"));
        assert!(!is_artefact("/process"));
    }
}
