//! An image's file system as the probes need it, read once from a `docker export` tar
//! stream: every path with its kind and link target (no content), the ELF headers of every
//! ELF file, the `#!` line of executable scripts, and the text of a few small files asked
//! for by path (ld.so.conf, package.json, lock files).

use std::collections::BTreeMap;
use std::io::Read;

use super::super::fsdiff::{EntryKind, TarVisitor};
use super::elf::{self, ElfError, ElfInfo};

/// ELF files whose headers are read at most; the rest are noted.
pub const MAX_ELF_FILES: usize = 20_000;
/// Bytes of one ELF file buffered at most to reach its dynamic section.
pub const MAX_ELF_BYTES: usize = 64 << 20;
/// Symlinks followed at most while resolving one path (the kernel's limit is 40).
const MAX_LINKS: usize = 40;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    File { size: u64, executable: bool },
    Dir,
    Symlink(String),
    Other,
}

/// Which small files to keep the text of, and how large they may be.
pub trait Wants {
    /// The byte limit for keeping `path`'s text, or `None` to skip it.
    fn text_limit(&self, path: &str) -> Option<u64>;

    /// Whether the text read for `path` (within its limit) is kept: for files only some of
    /// whose contents matter (pnpm's content-addressed store).
    fn keeps(&self, _path: &str, _text: &[u8]) -> bool {
        true
    }
}

impl<F: Fn(&str) -> Option<u64>> Wants for F {
    fn text_limit(&self, path: &str) -> Option<u64> {
        self(path)
    }
}

/// One image's files.
#[derive(Clone, Debug, Default)]
pub struct ImageFs {
    pub nodes: BTreeMap<String, Node>,
    /// ELF headers by path (hard links share their target's).
    pub elfs: BTreeMap<String, ElfInfo>,
    /// ELF files that could not be read, with why.
    pub elf_errors: BTreeMap<String, String>,
    /// The interpreter line (without `#!`) of executable files starting with `#!`.
    pub shebangs: BTreeMap<String, String>,
    /// Texts asked for through [`Wants`].
    pub texts: BTreeMap<String, String>,
    /// ELF files not read because of [`MAX_ELF_FILES`].
    pub elf_skipped: usize,
    pub seconds: f64,
}

/// Reads `buf` up to `n` bytes (or the end of the entry).
fn fill(entry: &mut dyn Read, buf: &mut Vec<u8>, n: usize) -> std::io::Result<()> {
    if buf.len() >= n {
        return Ok(());
    }
    let want = (n - buf.len()) as u64;
    entry.take(want).read_to_end(buf)?;
    Ok(())
}

/// Builds an [`ImageFs`] from the entries of the tar pass that also makes verify's listing
/// (`fsdiff::listing_with`), so each image is exported once.
pub struct ImageFsReader<'w> {
    fs: ImageFs,
    wants: &'w dyn Wants,
    hardlinks: Vec<(String, String)>,
    buf: Vec<u8>,
    started: std::time::Instant,
}

impl<'w> ImageFsReader<'w> {
    pub fn new(wants: &'w dyn Wants) -> Self {
        Self {
            fs: ImageFs::default(),
            wants,
            hardlinks: Vec::new(),
            buf: Vec::new(),
            started: std::time::Instant::now(),
        }
    }

    /// The file system, once the pass is over: hard links get their target's node.
    pub fn finish(self) -> ImageFs {
        let mut fs = self.fs;
        for (path, target) in self.hardlinks {
            let node = fs.nodes.get(&target).cloned().unwrap_or(Node::Other);
            for map in [&mut fs.shebangs, &mut fs.texts] {
                if let Some(v) = map.get(&target).cloned() {
                    map.insert(path.clone(), v);
                }
            }
            if let Some(info) = fs.elfs.get(&target).cloned() {
                fs.elfs.insert(path.clone(), info);
            }
            fs.insert(path, node);
        }
        fs.seconds = self.started.elapsed().as_secs_f64();
        fs
    }
}

impl TarVisitor for ImageFsReader<'_> {
    fn file(
        &mut self,
        path: &str,
        mode: u32,
        size: u64,
        content: &mut dyn Read,
    ) -> std::io::Result<()> {
        if path == "/" {
            return Ok(());
        }
        self.fs
            .read_file(path, mode, size, content, &mut self.buf, self.wants)?;
        self.fs.insert(
            path.to_string(),
            Node::File {
                size,
                executable: mode & 0o111 != 0,
            },
        );
        Ok(())
    }

    fn entry(&mut self, path: &str, kind: &EntryKind, link: Option<&str>) {
        if path == "/" {
            return;
        }
        let node = match kind {
            EntryKind::Dir => Node::Dir,
            EntryKind::Symlink => Node::Symlink(link.unwrap_or_default().to_string()),
            EntryKind::Hardlink => {
                let target = link.unwrap_or_default().to_string();
                self.hardlinks.push((path.to_string(), target));
                return;
            }
            EntryKind::File | EntryKind::Other(_) => Node::Other,
        };
        self.fs.insert(path.to_string(), node);
    }
}

impl ImageFs {
    /// Reads a tar stream (what `docker export` writes).
    #[cfg(test)]
    pub fn read<R: Read>(reader: R, wants: &dyn Wants) -> std::io::Result<Self> {
        let mut visitor = ImageFsReader::new(wants);
        super::super::fsdiff::listing_with(reader, &mut visitor)?;
        Ok(visitor.finish())
    }

    fn read_file(
        &mut self,
        path: &str,
        mode: u32,
        size: u64,
        entry: &mut dyn Read,
        buf: &mut Vec<u8>,
        wants: &dyn Wants,
    ) -> std::io::Result<()> {
        buf.clear();
        if let Some(limit) = wants.text_limit(path)
            && size <= limit
        {
            entry.read_to_end(buf)?;
            if wants.keeps(path, buf) {
                self.texts
                    .insert(path.to_string(), String::from_utf8_lossy(buf).into_owned());
                return Ok(());
            }
            // Not a text after all (a pnpm store file may be a native addon or a script):
            // the ELF and script checks below read it from `buf`.
        }
        fill(entry, buf, 4)?;
        if elf::is_elf(buf) {
            if self.elfs.len() + self.elf_errors.len() >= MAX_ELF_FILES {
                self.elf_skipped += 1;
                return Ok(());
            }
            loop {
                match elf::parse(buf) {
                    Ok(info) => {
                        self.elfs.insert(path.to_string(), info);
                        break;
                    }
                    Err(ElfError::NeedMore(n)) if n <= MAX_ELF_BYTES && n > buf.len() => {
                        let before = buf.len();
                        fill(entry, buf, n)?;
                        if buf.len() == before {
                            self.elf_errors
                                .insert(path.to_string(), "truncated ELF file".into());
                            break;
                        }
                    }
                    Err(ElfError::NeedMore(n)) => {
                        let why = if n > MAX_ELF_BYTES {
                            format!("its dynamic section lies past {} MiB", MAX_ELF_BYTES >> 20)
                        } else {
                            "truncated ELF file".into()
                        };
                        self.elf_errors.insert(path.to_string(), why);
                        break;
                    }
                    Err(ElfError::Malformed(why)) => {
                        self.elf_errors.insert(path.to_string(), why.into());
                        break;
                    }
                }
            }
        } else if buf.starts_with(b"#!") && mode & 0o111 != 0 {
            fill(entry, buf, 256)?;
            let line = buf[2..].split(|&b| b == b'\n').next().unwrap_or_default();
            self.shebangs.insert(
                path.to_string(),
                String::from_utf8_lossy(line).trim().to_string(),
            );
        }
        Ok(())
    }

    /// Adds a node and its parent folders (a tar may leave them out).
    pub fn insert(&mut self, path: String, node: Node) {
        let mut parent = path.as_str();
        while let Some((p, _)) = parent.rsplit_once('/') {
            if p.is_empty() {
                break;
            }
            self.nodes.entry(p.to_string()).or_insert(Node::Dir);
            parent = p;
        }
        self.nodes.insert(path, node);
    }

    /// The path with every symlink in it followed (`/lib/x` -> `/usr/lib/x`), lexically
    /// normalised; `None` when some component does not exist or links loop. The last
    /// component must exist too.
    pub fn resolve(&self, path: &str) -> Option<String> {
        let mut pending: Vec<String> = components(path).rev().map(str::to_string).collect();
        let mut current: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                current.pop();
                continue;
            }
            current.push(part);
            let here = join(&current);
            match self.nodes.get(&here)? {
                Node::Symlink(target) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return None;
                    }
                    current.pop();
                    if target.starts_with('/') {
                        current.clear();
                    }
                    pending.extend(components(target).rev().map(str::to_string));
                }
                Node::File { .. } | Node::Other if !pending.is_empty() => return None,
                _ => {}
            }
        }
        Some(join(&current))
    }

    /// The node `path` resolves to.
    pub fn node(&self, path: &str) -> Option<(&Node, String)> {
        let real = self.resolve(path)?;
        self.nodes.get(&real).map(|n| (n, real))
    }

    pub fn is_file(&self, path: &str) -> bool {
        matches!(self.node(path), Some((Node::File { .. }, _)))
    }

    pub fn is_dir(&self, path: &str) -> bool {
        path == "/" || matches!(self.node(path), Some((Node::Dir, _)))
    }
}

fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|p| !p.is_empty() && *p != ".")
}

fn join(parts: &[String]) -> String {
    format!("/{}", parts.join("/"))
}

/// `dir` joined with `path` (absolute paths stay), normalised lexically.
pub fn absolute(dir: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{dir}/{path}")
    };
    let mut out: Vec<&str> = Vec::new();
    for part in components(&joined) {
        if part == ".." {
            out.pop();
        } else {
            out.push(part);
        }
    }
    format!("/{}", out.join("/"))
}

/// The folder of `path` (`/` for top-level paths).
pub fn parent(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((p, _)) => p,
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A tar stream with these entries: (path, content) files, `->target` symlinks,
    /// `=>target` hard links, a path ending in `/` is a folder.
    pub fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, content) in entries {
            let mut h = tar::Header::new_gnu();
            let runs = content.starts_with(b"#!")
                || content.starts_with(b"elf")
                || content.starts_with(&super::elf::MAGIC);
            h.set_mode(if runs || path.ends_with('/') {
                0o755
            } else {
                0o644
            });
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            if let Some(target) = content.strip_prefix(b"->") {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, path, std::str::from_utf8(target).unwrap())
                    .unwrap();
            } else if let Some(target) = content.strip_prefix(b"=>") {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                b.append_link(&mut h, path, std::str::from_utf8(target).unwrap())
                    .unwrap();
            } else if path.ends_with('/') {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, path, &[][..]).unwrap();
            } else {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(content.len() as u64);
                b.append_data(&mut h, path, *content).unwrap();
            }
        }
        b.into_inner().unwrap()
    }

    pub fn image(entries: &[(&str, &[u8])]) -> ImageFs {
        let wants = |p: &str| {
            (p.starts_with("/etc/ld.so.conf")
                || p.rsplit('/').next().is_some_and(|n| n.contains("package")))
            .then_some(1 << 20)
        };
        ImageFs::read(&tar(entries)[..], &wants).unwrap()
    }

    #[test]
    fn resolves_links_in_every_component() {
        let fs = image(&[
            ("usr/lib/x86_64-linux-gnu/libpq.so.5.15", b"x"),
            ("usr/lib/x86_64-linux-gnu/libpq.so.5", b"->libpq.so.5.15"),
            ("lib", b"->usr/lib"),
            ("opt/loop", b"->/opt/loop"),
            ("opt/up", b"->../usr/lib/x86_64-linux-gnu/"),
            ("usr/bin/python3.11", b"y"),
            ("usr/bin/python", b"=>usr/bin/python3.11"),
        ]);
        assert_eq!(
            fs.resolve("/lib/x86_64-linux-gnu/libpq.so.5").as_deref(),
            Some("/usr/lib/x86_64-linux-gnu/libpq.so.5.15")
        );
        assert_eq!(
            fs.resolve("/opt/up/libpq.so.5").as_deref(),
            Some("/usr/lib/x86_64-linux-gnu/libpq.so.5.15")
        );
        assert_eq!(fs.resolve("/opt/loop"), None);
        assert_eq!(fs.resolve("/lib/nothing"), None);
        assert_eq!(fs.resolve("/usr/bin/python3.11/x"), None);
        assert!(fs.is_file("/usr/bin/python"));
        assert!(fs.is_dir("/lib"));
        assert!(fs.is_dir("/usr"), "implied parent");
        assert_eq!(absolute("/app", "../srv/./x"), "/srv/x");
        assert_eq!(absolute("/app", "/abs"), "/abs");
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
    }

    #[test]
    fn reads_elf_headers_shebangs_and_asked_texts() {
        use super::super::elf::build::{Spec, elf};
        let lib = elf(&Spec {
            needed: &["libc.so.6"],
            soname: Some("libpq.so.5"),
            padding: 200_000,
            ..Spec::x86_64()
        });
        let fs = image(&[
            ("usr/lib/libpq.so.5", &lib),
            ("usr/lib/hard.so", b"=>usr/lib/libpq.so.5"),
            (
                "usr/local/bin/gunicorn",
                b"#!/opt/venv/bin/python\nimport x\n",
            ),
            ("etc/ld.so.conf", b"include /etc/ld.so.conf.d/*.conf\n"),
            ("app/package.json", b"{\"name\":\"a\"}"),
            ("app/notes.txt", b"\x7fELF but short"),
        ]);
        assert_eq!(
            fs.elfs["/usr/lib/libpq.so.5"].soname.as_deref(),
            Some("libpq.so.5")
        );
        assert_eq!(fs.elfs["/usr/lib/hard.so"].needed, ["libc.so.6"]);
        assert_eq!(
            fs.shebangs["/usr/local/bin/gunicorn"],
            "/opt/venv/bin/python"
        );
        assert!(fs.texts["/etc/ld.so.conf"].starts_with("include"));
        assert_eq!(fs.texts["/app/package.json"], "{\"name\":\"a\"}");
        assert!(fs.elf_errors.contains_key("/app/notes.txt"));
    }
}
