//! A small ELF reader: class, byte order, machine, PT_INTERP and the dynamic section's
//! DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH. Only program headers are read (section
//! headers may be stripped), and string addresses are mapped through the PT_LOAD segments.
//!
//! [`parse`] works on a prefix of the file: when the prefix is too short it says how many
//! bytes it needs, so a tar stream can be read just far enough.

/// `\x7fELF`.
pub const MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_SONAME: u64 = 14;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;

/// Program headers beyond this count mean a broken file.
const MAX_PHNUM: u64 = 4096;
/// Dynamic entries read at most.
const MAX_DYN: u64 = 65_536;
/// One string (a library name or a path list) read at most.
const MAX_STRING: usize = 64 * 1024;

/// What the loader needs to know about one ELF file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ElfInfo {
    /// True for ELFCLASS64.
    pub is64: bool,
    pub big_endian: bool,
    /// `e_machine` (62 x86-64, 3 i386, 183 aarch64, 40 arm, ...).
    pub machine: u16,
    /// `e_type` (2 executable, 3 shared object or PIE).
    pub etype: u16,
    /// The program interpreter (dynamic loader) of an executable.
    pub interp: Option<String>,
    pub needed: Vec<String>,
    pub soname: Option<String>,
    /// DT_RPATH entries (colon-separated in the file).
    pub rpath: Vec<String>,
    /// DT_RUNPATH entries.
    pub runpath: Vec<String>,
}

impl ElfInfo {
    /// Whether a library with `other`'s header can satisfy this file (the loader skips
    /// files of another class or machine).
    pub fn compatible(&self, other: &ElfInfo) -> bool {
        self.is64 == other.is64
            && self.big_endian == other.big_endian
            && self.machine == other.machine
    }

    /// The Debian multiarch triplet of the machine, when known.
    pub fn triplet(&self) -> Option<&'static str> {
        Some(match (self.machine, self.is64, self.big_endian) {
            (62, true, _) => "x86_64-linux-gnu",
            (62, false, _) => "x86_64-linux-gnux32",
            (3, _, _) => "i386-linux-gnu",
            (183, _, _) => "aarch64-linux-gnu",
            (40, _, _) => "arm-linux-gnueabihf",
            (21, true, false) => "powerpc64le-linux-gnu",
            (21, true, true) => "powerpc64-linux-gnu",
            (22, _, _) => "s390x-linux-gnu",
            (243, true, _) => "riscv64-linux-gnu",
            (8, false, false) => "mipsel-linux-gnu",
            (8, true, false) => "mips64el-linux-gnuabi64",
            _ => return None,
        })
    }
}

/// Why a prefix could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The first `n` bytes are needed (the prefix was shorter).
    NeedMore(usize),
    /// Not an ELF file, or one whose headers make no sense.
    Malformed(&'static str),
}

struct Reader<'a> {
    bytes: &'a [u8],
    is64: bool,
    big: bool,
}

impl Reader<'_> {
    fn get(&self, at: u64, len: usize) -> Result<&[u8], ElfError> {
        let start = usize::try_from(at).map_err(|_| ElfError::Malformed("offset too large"))?;
        let end = start
            .checked_add(len)
            .ok_or(ElfError::Malformed("offset overflow"))?;
        self.bytes.get(start..end).ok_or(ElfError::NeedMore(end))
    }

    fn u16(&self, at: u64) -> Result<u16, ElfError> {
        let b: [u8; 2] = self.get(at, 2)?.try_into().unwrap_or_default();
        Ok(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32(&self, at: u64) -> Result<u32, ElfError> {
        let b: [u8; 4] = self.get(at, 4)?.try_into().unwrap_or_default();
        Ok(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u64(&self, at: u64) -> Result<u64, ElfError> {
        let b: [u8; 8] = self.get(at, 8)?.try_into().unwrap_or_default();
        Ok(if self.big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }

    /// A word: 8 bytes in ELF64, 4 in ELF32.
    fn word(&self, at: u64) -> Result<u64, ElfError> {
        if self.is64 {
            self.u64(at)
        } else {
            self.u32(at).map(u64::from)
        }
    }

    /// A NUL-terminated string at `at`, not beyond `limit` (exclusive).
    fn string(&self, at: u64, limit: u64) -> Result<String, ElfError> {
        let start = usize::try_from(at).map_err(|_| ElfError::Malformed("offset too large"))?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let end = limit.min(start.saturating_add(MAX_STRING));
        if start >= end {
            return Err(ElfError::Malformed("string outside its table"));
        }
        if self.bytes.len() < end {
            // Read up to the end of the table (or MAX_STRING) before deciding.
            if let Some(nul) = self
                .bytes
                .get(start..)
                .and_then(|b| b.iter().position(|&c| c == 0))
            {
                return Ok(String::from_utf8_lossy(&self.bytes[start..start + nul]).into_owned());
            }
            return Err(ElfError::NeedMore(end));
        }
        let slice = &self.bytes[start..end];
        let nul = slice
            .iter()
            .position(|&c| c == 0)
            .ok_or(ElfError::Malformed("unterminated string"))?;
        Ok(String::from_utf8_lossy(&slice[..nul]).into_owned())
    }
}

struct Segment {
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// Whether `prefix` starts like an ELF file.
pub fn is_elf(prefix: &[u8]) -> bool {
    prefix.starts_with(&MAGIC)
}

/// Parses the ELF headers from a prefix of the file (the whole file works too).
pub fn parse(bytes: &[u8]) -> Result<ElfInfo, ElfError> {
    if bytes.len() < 16 {
        if bytes.len() >= 4 && !is_elf(bytes) {
            return Err(ElfError::Malformed("no ELF magic"));
        }
        return Err(ElfError::NeedMore(64));
    }
    if !is_elf(bytes) {
        return Err(ElfError::Malformed("no ELF magic"));
    }
    let is64 = match bytes[4] {
        1 => false,
        2 => true,
        _ => return Err(ElfError::Malformed("unknown ELF class")),
    };
    let big = match bytes[5] {
        1 => false,
        2 => true,
        _ => return Err(ElfError::Malformed("unknown ELF byte order")),
    };
    let r = Reader { bytes, is64, big };
    let etype = r.u16(16)?;
    let machine = r.u16(18)?;
    let (phoff, phentsize, phnum) = if is64 {
        (r.u64(32)?, r.u16(54)?, r.u16(56)?)
    } else {
        (u64::from(r.u32(28)?), r.u16(42)?, r.u16(44)?)
    };
    let mut info = ElfInfo {
        is64,
        big_endian: big,
        machine,
        etype,
        ..ElfInfo::default()
    };
    let phnum = u64::from(phnum);
    if phoff == 0 || phnum == 0 {
        return Ok(info);
    }
    let min_entsize: u16 = if is64 { 56 } else { 32 };
    if phentsize < min_entsize || phnum > MAX_PHNUM {
        return Err(ElfError::Malformed("bad program header table"));
    }
    let phentsize = u64::from(phentsize);
    let table_end = phoff
        .checked_add(phnum * phentsize)
        .ok_or(ElfError::Malformed("program headers overflow"))?;
    r.get(
        phoff,
        usize::try_from(table_end - phoff).unwrap_or(usize::MAX),
    )?;
    let mut segments = Vec::new();
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let kind = r.u32(at)?;
        let (offset, vaddr, filesz) = if is64 {
            (r.u64(at + 8)?, r.u64(at + 16)?, r.u64(at + 32)?)
        } else {
            (
                u64::from(r.u32(at + 4)?),
                u64::from(r.u32(at + 8)?),
                u64::from(r.u32(at + 16)?),
            )
        };
        segments.push(Segment {
            kind,
            offset,
            vaddr,
            filesz,
        });
    }
    if let Some(interp) = segments.iter().find(|s| s.kind == PT_INTERP) {
        let end = interp.offset.saturating_add(interp.filesz);
        let text = r.string(interp.offset, end)?;
        info.interp = Some(text);
    }
    let Some(dynamic) = segments.iter().find(|s| s.kind == PT_DYNAMIC) else {
        return Ok(info);
    };
    let entsize: u64 = if is64 { 16 } else { 8 };
    let count = (dynamic.filesz / entsize).min(MAX_DYN);
    let mut entries = Vec::new();
    for i in 0..count {
        let at = dynamic.offset + i * entsize;
        let tag = r.word(at)?;
        if tag == DT_NULL {
            break;
        }
        let val = r.word(at + entsize / 2)?;
        entries.push((tag, val));
    }
    let strtab = entries.iter().find(|(t, _)| *t == DT_STRTAB).map(|e| e.1);
    let strsz = entries.iter().find(|(t, _)| *t == DT_STRSZ).map(|e| e.1);
    let wants_strings = entries
        .iter()
        .any(|(t, _)| matches!(*t, DT_NEEDED | DT_SONAME | DT_RPATH | DT_RUNPATH));
    if !wants_strings {
        return Ok(info);
    }
    let strtab = strtab.ok_or(ElfError::Malformed("dynamic section without DT_STRTAB"))?;
    // The string table's file offset: through the PT_LOAD that maps its address.
    let load = segments
        .iter()
        .filter(|s| s.kind == PT_LOAD)
        .find(|s| strtab >= s.vaddr && strtab - s.vaddr < s.filesz)
        .ok_or(ElfError::Malformed("DT_STRTAB outside every PT_LOAD"))?;
    let str_off = strtab - load.vaddr + load.offset;
    let load_end = load.offset.saturating_add(load.filesz);
    let str_end = strsz.map_or(load_end, |size| str_off.saturating_add(size).min(load_end));
    for (tag, val) in entries {
        let text = || r.string(str_off.saturating_add(val), str_end);
        match tag {
            DT_NEEDED => info.needed.push(text()?),
            DT_SONAME => info.soname = Some(text()?),
            DT_RPATH => info.rpath.extend(split_paths(&text()?)),
            DT_RUNPATH => info.runpath.extend(split_paths(&text()?)),
            _ => {}
        }
    }
    Ok(info)
}

fn split_paths(list: &str) -> impl Iterator<Item = String> + '_ {
    list.split(':')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

/// Tiny ELF files for tests: one PT_INTERP (optional), one PT_LOAD covering the file, one
/// PT_DYNAMIC, and a string table.
#[cfg(test)]
pub mod build {
    /// What the generated file declares.
    #[derive(Clone, Debug, Default)]
    pub struct Spec<'a> {
        pub is64: bool,
        pub big_endian: bool,
        pub machine: u16,
        pub interp: Option<&'a str>,
        pub needed: &'a [&'a str],
        pub soname: Option<&'a str>,
        pub rpath: Option<&'a str>,
        pub runpath: Option<&'a str>,
        /// Bytes of padding between the headers and the string table, to place the
        /// dynamic data far into the file.
        pub padding: usize,
    }

    impl Spec<'_> {
        pub fn x86_64() -> Self {
            Spec {
                is64: true,
                machine: 62,
                ..Spec::default()
            }
        }
    }

    struct Out {
        bytes: Vec<u8>,
        is64: bool,
        big: bool,
    }

    impl Out {
        fn put(&mut self, at: usize, value: u64, len: usize) {
            let le = value.to_le_bytes();
            let be = value.to_be_bytes();
            let src = if self.big { &be[8 - len..] } else { &le[..len] };
            if self.bytes.len() < at + len {
                self.bytes.resize(at + len, 0);
            }
            self.bytes[at..at + len].copy_from_slice(src);
        }
        fn word(&mut self, at: usize, value: u64) {
            let len = if self.is64 { 8 } else { 4 };
            self.put(at, value, len);
        }
    }

    /// The bytes of an ELF file as `spec` says. Virtual addresses are file offsets plus
    /// 0x400000, so the PT_LOAD mapping matters.
    pub fn elf(spec: &Spec<'_>) -> Vec<u8> {
        const BASE: u64 = 0x40_0000;
        let is64 = spec.is64;
        let (ehsize, phentsize, dynent) = if is64 { (64, 56, 16) } else { (52, 32, 8) };
        let phnum = if spec.interp.is_some() { 3 } else { 2 };
        // Strings: "\0" then each.
        let mut strtab = vec![0u8];
        let mut add = |s: &str| {
            let at = strtab.len() as u64;
            strtab.extend_from_slice(s.as_bytes());
            strtab.push(0);
            at
        };
        let needed: Vec<u64> = spec.needed.iter().map(|n| add(n)).collect();
        let soname = spec.soname.map(&mut add);
        let rpath = spec.rpath.map(&mut add);
        let runpath = spec.runpath.map(&mut add);
        let interp_at = ehsize + phnum * phentsize;
        let interp_len = spec.interp.map_or(0, |i| i.len() + 1);
        let str_at = interp_at + interp_len + spec.padding;
        let dyn_at = (str_at + strtab.len()).next_multiple_of(8);
        let mut dyns: Vec<(u64, u64)> = needed.iter().map(|&n| (1, n)).collect();
        dyns.extend(soname.map(|s| (14, s)));
        dyns.extend(rpath.map(|s| (15, s)));
        dyns.extend(runpath.map(|s| (29, s)));
        dyns.push((5, BASE + str_at as u64));
        dyns.push((10, strtab.len() as u64));
        dyns.push((0, 0));
        let end = dyn_at + dyns.len() * dynent;
        let mut o = Out {
            bytes: vec![0; end],
            is64,
            big: spec.big_endian,
        };
        o.bytes[..4].copy_from_slice(&super::MAGIC);
        o.bytes[4] = if is64 { 2 } else { 1 };
        o.bytes[5] = if spec.big_endian { 2 } else { 1 };
        o.bytes[6] = 1;
        o.put(16, 3, 2);
        o.put(18, u64::from(spec.machine), 2);
        o.put(20, 1, 4);
        if is64 {
            o.put(32, ehsize as u64, 8);
            o.put(52, ehsize as u64, 2);
            o.put(54, phentsize as u64, 2);
            o.put(56, phnum as u64, 2);
        } else {
            o.put(28, ehsize as u64, 4);
            o.put(40, ehsize as u64, 2);
            o.put(42, phentsize as u64, 2);
            o.put(44, phnum as u64, 2);
        }
        let mut ph = ehsize;
        let mut segment = |o: &mut Out, kind: u64, offset: usize, size: usize| {
            o.put(ph, kind, 4);
            let (off, vaddr, filesz, memsz) = if is64 {
                (ph + 8, ph + 16, ph + 32, ph + 40)
            } else {
                (ph + 4, ph + 8, ph + 16, ph + 20)
            };
            o.word(off, offset as u64);
            o.word(vaddr, BASE + offset as u64);
            o.word(filesz, size as u64);
            o.word(memsz, size as u64);
            ph += phentsize;
        };
        if let Some(interp) = spec.interp {
            segment(&mut o, 3, interp_at, interp_len);
            o.bytes[interp_at..interp_at + interp.len()].copy_from_slice(interp.as_bytes());
        }
        segment(&mut o, 1, 0, end);
        segment(&mut o, 2, dyn_at, dyns.len() * dynent);
        o.bytes[str_at..str_at + strtab.len()].copy_from_slice(&strtab);
        for (i, (tag, val)) in dyns.iter().enumerate() {
            let at = dyn_at + i * dynent;
            o.word(at, *tag);
            o.word(at + dynent / 2, *val);
        }
        o.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::build::{Spec, elf};
    use super::*;

    #[test]
    fn reads_64_bit_little_endian() {
        let bytes = elf(&Spec {
            interp: Some("/lib64/ld-linux-x86-64.so.2"),
            needed: &["libpq.so.5", "libc.so.6"],
            rpath: Some("$ORIGIN/../lib:/opt/x"),
            ..Spec::x86_64()
        });
        let info = parse(&bytes).unwrap();
        assert!(info.is64 && !info.big_endian);
        assert_eq!(info.machine, 62);
        assert_eq!(info.triplet(), Some("x86_64-linux-gnu"));
        assert_eq!(info.interp.as_deref(), Some("/lib64/ld-linux-x86-64.so.2"));
        assert_eq!(info.needed, ["libpq.so.5", "libc.so.6"]);
        assert_eq!(info.rpath, ["$ORIGIN/../lib", "/opt/x"]);
        assert!(info.runpath.is_empty());
        assert!(info.interp.is_some() && !info.needed.is_empty());
    }

    #[test]
    fn reads_32_bit_and_big_endian() {
        for (is64, big_endian, machine) in [(false, false, 3), (false, true, 20), (true, true, 21)]
        {
            let bytes = elf(&Spec {
                is64,
                big_endian,
                machine,
                needed: &["libz.so.1"],
                soname: Some("libfoo.so.2"),
                runpath: Some("/usr/local/lib"),
                ..Spec::default()
            });
            let info = parse(&bytes).unwrap();
            assert_eq!(
                (info.is64, info.big_endian, info.machine),
                (is64, big_endian, machine)
            );
            assert_eq!(info.needed, ["libz.so.1"]);
            assert_eq!(info.soname.as_deref(), Some("libfoo.so.2"));
            assert_eq!(info.runpath, ["/usr/local/lib"]);
            assert_eq!(info.interp, None);
        }
    }

    #[test]
    fn a_short_prefix_asks_for_more_until_it_parses() {
        let bytes = elf(&Spec {
            needed: &["libc.so.6"],
            padding: 10_000,
            ..Spec::x86_64()
        });
        let mut have = 4;
        let mut asks = 0;
        let info = loop {
            match parse(&bytes[..have.min(bytes.len())]) {
                Ok(info) => break info,
                Err(ElfError::NeedMore(n)) => {
                    assert!(n > have, "{n} <= {have}");
                    have = n;
                    asks += 1;
                }
                Err(e) => panic!("{e:?}"),
            }
        };
        assert_eq!(info.needed, ["libc.so.6"]);
        assert!(asks >= 3, "{asks}");
        assert!(have <= bytes.len());
    }

    #[test]
    fn a_static_file_and_garbage() {
        // No dynamic section: the builder always writes one, so cut the phnum to 0.
        let mut bytes = elf(&Spec::x86_64());
        bytes[56] = 0;
        let info = parse(&bytes).unwrap();
        assert!(info.interp.is_none() && info.needed.is_empty(), "static");
        assert_eq!(
            parse(b"#!/bin/sh\necho hi\n"),
            Err(ElfError::Malformed("no ELF magic"))
        );
        assert_eq!(parse(b"\x7fEL"), Err(ElfError::NeedMore(64)));
        let mut bad = elf(&Spec::x86_64());
        bad[4] = 9;
        assert!(matches!(parse(&bad), Err(ElfError::Malformed(_))));
    }
}
