//! Shared-library resolution over an exported file system, the way glibc's loader searches:
//! a name with a slash is a path; else DT_RPATH (when the object has no DT_RUNPATH, then
//! the executable's), LD_LIBRARY_PATH, DT_RUNPATH, the ld.so.conf folders (what ldconfig
//! caches, `include` globs followed), then the default folders (multiarch, lib64, lib).
//! `$ORIGIN`, `$LIB` and `$PLATFORM` are expanded. A candidate of another ELF class or
//! machine is skipped, as the loader skips it.
//!
//! Approximations: the ld.so.cache file itself is not read (its folders stand for it, so a
//! library copied in without running ldconfig counts as found), and hwcaps subfolders are
//! not searched (the base folder always holds a fallback on Debian).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::elf::ElfInfo;
use super::fs::{ImageFs, absolute, parent};

/// Libraries followed at most from one file (its whole closure).
const MAX_CLOSURE: usize = 2_000;

/// What the loader would miss for one ELF file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Closure {
    /// The missing program interpreter (loader), when the file has one and the image does not.
    pub missing_interp: Option<String>,
    /// Missing library name -> the library that needs it (`None`: the file itself).
    pub missing: BTreeMap<String, Option<String>>,
    /// Library name -> where it was found (real path).
    pub found: BTreeMap<String, String>,
}

/// The library search setup of one image.
#[derive(Clone, Debug)]
pub struct Search<'a> {
    pub fs: &'a ImageFs,
    ld_library_path: Vec<String>,
    conf_dirs: Vec<String>,
    /// Where relative `LD_LIBRARY_PATH` entries and slash names are resolved.
    workdir: String,
}

impl<'a> Search<'a> {
    pub fn new(fs: &'a ImageFs, env: &BTreeMap<String, String>, workdir: &str) -> Self {
        let ld_library_path = env
            .get("LD_LIBRARY_PATH")
            .map(|v| {
                v.split([':', ';'])
                    .filter(|p| !p.is_empty())
                    .map(|p| absolute(workdir, p))
                    .collect()
            })
            .unwrap_or_default();
        let mut conf_dirs = Vec::new();
        let mut seen = BTreeSet::new();
        read_conf(fs, "/etc/ld.so.conf", &mut conf_dirs, &mut seen, 0);
        Search {
            fs,
            ld_library_path,
            conf_dirs,
            workdir: workdir.to_string(),
        }
    }

    /// The folders searched for `name` needed by `object` (found at `object_path`), in
    /// order; `exe` is the executable that started the chain, when known.
    fn dirs(
        &self,
        object: &ElfInfo,
        object_path: &str,
        exe: Option<(&ElfInfo, &str)>,
    ) -> Vec<String> {
        let mut dirs = Vec::new();
        let expand = |list: &[String], path: &str, info: &ElfInfo, out: &mut Vec<String>| {
            for entry in list {
                if let Some(d) = expand_tokens(entry, parent(path), info) {
                    out.push(absolute(&self.workdir, &d));
                }
            }
        };
        if object.runpath.is_empty() {
            expand(&object.rpath, object_path, object, &mut dirs);
            if let Some((e, p)) = exe
                && e.runpath.is_empty()
                && p != object_path
            {
                expand(&e.rpath, p, e, &mut dirs);
            }
        }
        dirs.extend(self.ld_library_path.iter().cloned());
        expand(&object.runpath, object_path, object, &mut dirs);
        dirs.extend(self.conf_dirs.iter().cloned());
        dirs.extend(default_dirs(object));
        dirs
    }

    /// Finds `name` for `object`: the path it is found under and its real path.
    pub fn find(
        &self,
        name: &str,
        object: &ElfInfo,
        object_path: &str,
        exe: Option<(&ElfInfo, &str)>,
    ) -> Option<(String, String)> {
        if name.contains('/') {
            let path = absolute(&self.workdir, name);
            let real = self.fs.resolve(&path)?;
            return self.fs.is_file(&real).then_some((path, real));
        }
        for dir in self.dirs(object, object_path, exe) {
            let path = absolute(&dir, name);
            let Some(real) = self.fs.resolve(&path) else {
                continue;
            };
            if !self.fs.is_file(&real) {
                continue;
            }
            // A library of another class or machine is skipped, as the loader skips it. A
            // file that is no ELF would stop the loader on an invalid header; one the
            // reader could not read (or did not, past its cap) counts as found.
            let usable = match self.fs.elfs.get(&real) {
                Some(lib) => lib.compatible(object),
                None => self.fs.elf_skipped > 0 || self.fs.elf_errors.contains_key(&real),
            };
            if usable {
                return Some((path, real));
            }
        }
        None
    }

    /// Where a default or configured folder holds a compatible library `name` (for a file
    /// of `like`'s class and machine): the path found and its real path.
    pub fn has_library(&self, name: &str, like: &ElfInfo) -> Option<(String, String)> {
        let bare = ElfInfo {
            is64: like.is64,
            big_endian: like.big_endian,
            machine: like.machine,
            ..ElfInfo::default()
        };
        self.find(name, &bare, "/", None)
    }

    /// Follows every needed library of the file at `path`, transitively.
    pub fn closure(&self, path: &str, info: &ElfInfo) -> Closure {
        let mut out = Closure::default();
        if let Some(interp) = &info.interp
            && !self.fs.is_file(interp)
        {
            out.missing_interp = Some(interp.clone());
        }
        let exe = info.interp.is_some().then_some((info, path));
        let mut queue: VecDeque<(String, String, Option<String>)> = VecDeque::new();
        let mut owned: BTreeMap<String, ElfInfo> = BTreeMap::new();
        let mut visited = BTreeSet::new();
        for name in &info.needed {
            queue.push_back((name.clone(), path.to_string(), None));
        }
        while let Some((name, from, via)) = queue.pop_front() {
            if out.found.contains_key(&name) || out.missing.contains_key(&name) {
                continue;
            }
            if visited.len() >= MAX_CLOSURE {
                break;
            }
            let from_info = if from == path {
                info.clone()
            } else {
                match owned.get(&from) {
                    Some(i) => i.clone(),
                    None => continue,
                }
            };
            match self.find(&name, &from_info, &from, exe) {
                Some((found_at, real)) => {
                    out.found.insert(name.clone(), real.clone());
                    if visited.insert(real.clone())
                        && let Some(lib) = self.fs.elfs.get(&real)
                    {
                        for n in &lib.needed {
                            queue.push_back((n.clone(), found_at.clone(), Some(name.clone())));
                        }
                        owned.insert(found_at, lib.clone());
                    }
                }
                None => {
                    out.missing.insert(name, via);
                }
            }
        }
        out
    }
}

/// Reads an ld.so.conf file: folder lines and `include GLOB` lines (depth-limited).
fn read_conf(
    fs: &ImageFs,
    path: &str,
    out: &mut Vec<String>,
    seen: &mut BTreeSet<String>,
    depth: usize,
) {
    if depth > 8 || !seen.insert(path.to_string()) {
        return;
    }
    let Some(text) = fs
        .texts
        .get(path)
        .or_else(|| fs.texts.get(&fs.resolve(path)?))
    else {
        return;
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        if let Some(pattern) = line
            .strip_prefix("include")
            .filter(|r| r.starts_with([' ', '\t']))
        {
            for pattern in pattern.split_whitespace() {
                let pattern = absolute(parent(path), pattern);
                let mut matches: Vec<String> = fs
                    .texts
                    .keys()
                    .filter(|p| glob_match(&pattern, p))
                    .cloned()
                    .collect();
                matches.sort();
                for m in matches {
                    read_conf(fs, &m, out, seen, depth + 1);
                }
            }
        } else if !line.starts_with("hwcap") {
            // `dir=TYPE` is an old libc5 form; the folder is before `=`.
            for dir in line.split([' ', '\t', ',', ':']).filter(|d| !d.is_empty()) {
                let dir = dir.split('=').next().unwrap_or(dir);
                if dir.starts_with('/') {
                    out.push(absolute("/", dir));
                }
            }
        }
    }
}

/// `*` and `?` within one path component (what ld.so.conf's `include` uses).
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn matches(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                matches(&p[1..], s)
                    || (s.first().is_some_and(|&c| c != b'/') && matches(p, &s[1..]))
            }
            (Some(b'?'), Some(&c)) if c != b'/' => matches(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => matches(&p[1..], &s[1..]),
            _ => false,
        }
    }
    matches(pattern.as_bytes(), path.as_bytes())
}

/// The loader's built-in folders (Debian's glibc searches the multiarch ones first).
fn default_dirs(object: &ElfInfo) -> Vec<String> {
    let mut dirs = Vec::new();
    if let Some(t) = object.triplet() {
        dirs.push(format!("/lib/{t}"));
        dirs.push(format!("/usr/lib/{t}"));
    }
    if object.is64 {
        dirs.push("/lib64".into());
        dirs.push("/usr/lib64".into());
    } else {
        dirs.push("/lib32".into());
        dirs.push("/usr/lib32".into());
    }
    dirs.push("/lib".into());
    dirs.push("/usr/lib".into());
    dirs
}

/// Expands `$ORIGIN`, `$LIB`, `$PLATFORM` (also in braces); `None` for an unknown token.
fn expand_tokens(entry: &str, origin: &str, info: &ElfInfo) -> Option<String> {
    if !entry.contains('$') {
        return Some(entry.to_string());
    }
    let lib = info.triplet().map_or_else(
        || {
            if info.is64 {
                "lib64".into()
            } else {
                "lib".into()
            }
        },
        |t| format!("lib/{t}"),
    );
    let platform = match info.machine {
        62 => "x86_64",
        3 => "i686",
        183 => "aarch64",
        _ => return None,
    };
    let mut out = entry.to_string();
    for (token, value) in [
        ("ORIGIN", origin),
        ("LIB", lib.as_str()),
        ("PLATFORM", platform),
    ] {
        out = out
            .replace(&format!("${{{token}}}"), value)
            .replace(&format!("${token}"), value);
    }
    (!out.contains('$')).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::super::elf::build::{Spec, elf};
    use super::super::fs::tests::image;
    use super::*;

    fn lib(soname: &str, needed: &[&str]) -> Vec<u8> {
        elf(&Spec {
            soname: Some(soname),
            needed,
            ..Spec::x86_64()
        })
    }

    fn no_env() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn follows_ld_so_conf_includes_and_links() {
        let pq = lib("libpq.so.5", &["libssl.so.3"]);
        let ssl = lib("libssl.so.3", &[]);
        let ext = elf(&Spec {
            needed: &["libpq.so.5", "libc.so.6"],
            ..Spec::x86_64()
        });
        let fs = image(&[
            ("etc/ld.so.conf", b"include /etc/ld.so.conf.d/*.conf\n"),
            ("etc/ld.so.conf.d/x.conf", b"# mine\n/opt/pg/lib\n"),
            ("opt/pg/lib/libpq.so.5.15", &pq),
            ("opt/pg/lib/libpq.so.5", b"->libpq.so.5.15"),
            ("usr/lib/x86_64-linux-gnu/libssl.so.3", &ssl),
            ("usr/lib/x86_64-linux-gnu/libc.so.6", &lib("libc.so.6", &[])),
            ("lib", b"->usr/lib"),
            ("app/ext.so", &ext),
        ]);
        let search = Search::new(&fs, &no_env(), "/app");
        let c = search.closure("/app/ext.so", &fs.elfs["/app/ext.so"]);
        assert_eq!(c.missing, BTreeMap::new());
        assert_eq!(c.found["libpq.so.5"], "/opt/pg/lib/libpq.so.5.15");
        assert_eq!(
            c.found["libssl.so.3"],
            "/usr/lib/x86_64-linux-gnu/libssl.so.3"
        );
        assert_eq!(c.found["libc.so.6"], "/usr/lib/x86_64-linux-gnu/libc.so.6");
        assert!(glob_match(
            "/etc/ld.so.conf.d/*.conf",
            "/etc/ld.so.conf.d/x.conf"
        ));
        assert!(!glob_match("/etc/*.conf", "/etc/a/b.conf"));
    }

    #[test]
    fn rpath_runpath_origin_and_ld_library_path() {
        let wheel_lib = lib("libpq-abc.so.5", &["libmissing.so.1"]);
        let ext = elf(&Spec {
            needed: &["libpq-abc.so.5"],
            rpath: Some("$ORIGIN/../pkg.libs"),
            ..Spec::x86_64()
        });
        let run = elf(&Spec {
            needed: &["libx.so.1", "liby.so.1"],
            runpath: Some("${ORIGIN}/lib"),
            ..Spec::x86_64()
        });
        let fs = image(&[
            ("site/pkg/_ext.so", &ext),
            ("site/pkg.libs/libpq-abc.so.5", &wheel_lib),
            ("bin/tool", &run),
            ("bin/lib/libx.so.1", &lib("libx.so.1", &[])),
            ("env/liby.so.1", &lib("liby.so.1", &[])),
        ]);
        let search = Search::new(&fs, &no_env(), "/");
        let c = search.closure("/site/pkg/_ext.so", &fs.elfs["/site/pkg/_ext.so"]);
        assert_eq!(c.found["libpq-abc.so.5"], "/site/pkg.libs/libpq-abc.so.5");
        assert_eq!(
            c.missing,
            BTreeMap::from([(
                "libmissing.so.1".to_string(),
                Some("libpq-abc.so.5".to_string())
            )])
        );
        let c = search.closure("/bin/tool", &fs.elfs["/bin/tool"]);
        assert_eq!(c.found.len(), 1);
        assert!(c.missing.contains_key("liby.so.1"));
        let env = BTreeMap::from([("LD_LIBRARY_PATH".to_string(), "/env".to_string())]);
        let search = Search::new(&fs, &env, "/");
        let c = search.closure("/bin/tool", &fs.elfs["/bin/tool"]);
        assert!(c.missing.is_empty(), "{c:?}");
    }

    #[test]
    fn skips_libraries_of_another_class_and_finds_32_bit_ones() {
        let exe32 = elf(&Spec {
            machine: 3,
            interp: Some("/lib/ld-linux.so.2"),
            needed: &["libz.so.1"],
            ..Spec::default()
        });
        let z32 = elf(&Spec {
            machine: 3,
            soname: Some("libz.so.1"),
            ..Spec::default()
        });
        let fs = image(&[
            ("usr/lib/x86_64-linux-gnu/libz.so.1", &lib("libz.so.1", &[])),
            ("bin/old", &exe32),
        ]);
        let search = Search::new(&fs, &no_env(), "/");
        let c = search.closure("/bin/old", &fs.elfs["/bin/old"]);
        assert_eq!(c.missing_interp.as_deref(), Some("/lib/ld-linux.so.2"));
        assert!(
            c.missing.contains_key("libz.so.1"),
            "a 64-bit libz does not do"
        );
        let fs = image(&[
            ("usr/lib/i386-linux-gnu/libz.so.1", &z32),
            ("lib/ld-linux.so.2", b"loader"),
            ("bin/old", &exe32),
        ]);
        let search = Search::new(&fs, &no_env(), "/");
        let c = search.closure("/bin/old", &fs.elfs["/bin/old"]);
        assert_eq!(
            c,
            Closure {
                found: BTreeMap::from([(
                    "libz.so.1".into(),
                    "/usr/lib/i386-linux-gnu/libz.so.1".into()
                )]),
                ..Closure::default()
            }
        );
    }

    #[test]
    fn tokens() {
        let info = ElfInfo {
            is64: true,
            machine: 62,
            ..ElfInfo::default()
        };
        assert_eq!(
            expand_tokens("$ORIGIN/../lib", "/a/b", &info).as_deref(),
            Some("/a/b/../lib")
        );
        assert_eq!(
            expand_tokens("/opt/${LIB}/$PLATFORM", "/", &info).as_deref(),
            Some("/opt/lib/x86_64-linux-gnu/x86_64")
        );
        assert_eq!(expand_tokens("$FOO/x", "/", &info), None);
    }
}
