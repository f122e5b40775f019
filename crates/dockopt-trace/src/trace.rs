//! What one replay of a stage produced: the program calls and the standard output, in the
//! order they happened, and how the stage ended.
//!
//! # The log format
//!
//! Inside the sandbox every RUN's standard output and every stub record go to the same
//! file, so their order is kept. A record is a run of NUL-terminated fields that starts
//! with the field [`START`] and ends with the field [`END`] (shell values cannot hold NUL,
//! so the framing is unambiguous); whatever lies between records is standard output.
//! Records are `call ARGC ARGV... CWD UMASK EXPORTS` (one stubbed program; EXPORTS is the
//! text of `export -p`) and `mark begin|end STEP [STATUS]` (the driver, around each RUN).
//!
//! Besides the log, a replay reports the files the RUNs' shells created or changed
//! ([`FileState`]): stubs write nothing, but redirections (`echo x > f`) do, in the folder
//! and with the umask in effect.

use std::fmt;
use std::fmt::Write as _;

/// The first field of a record.
pub const START: &str = "\u{1e}ORC\u{1f}";
/// The last field of a record.
pub const END: &str = "\u{1e}END\u{1f}";

/// One stubbed program call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Call {
    /// The words, `argv[0]` as the script wrote it (`apt-get`, `/usr/bin/apt-get`).
    pub argv: Vec<String>,
    /// `$PWD` when it ran.
    pub cwd: String,
    /// The shell's umask when it ran (`0022` unless the script changed it): a leaked
    /// `umask 077` changes the mode of every file the real program creates.
    pub umask: String,
    /// The exported environment, sorted, without what the shell maintains itself (PWD,
    /// OLDPWD, SHLVL, `_`) and the oracle's own variables.
    pub env: Vec<(String, String)>,
}

impl Call {
    /// The program: the last component of `argv[0]`.
    pub fn program(&self) -> &str {
        program_of(self.argv.first().map_or("", String::as_str))
    }
}

/// The last component of a command word.
pub fn program_of(argv0: &str) -> &str {
    argv0.rsplit('/').next().unwrap_or(argv0)
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (in {}", shell_words(&self.argv), self.cwd)?;
        if self.umask != DEFAULT_UMASK {
            write!(f, ", umask {}", self.umask)?;
        }
        f.write_str(")")
    }
}

/// The umask every RUN's shell starts with (BuildKit's, through runc).
pub const DEFAULT_UMASK: &str = "0022";

/// What a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device.
    Other,
    /// It existed before the replay and no longer does.
    Removed,
}

impl FileKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Dir => "folder",
            Self::Symlink => "symlink",
            Self::Other => "special file",
            Self::Removed => "removed",
        }
    }
}

/// A path of the replay's root that the replay created, changed or removed, in its final
/// state. Folders carry no size or hash (their entries are listed themselves); a symlink's
/// hash is its target's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileState {
    /// Absolute path inside the sandbox.
    pub path: String,
    pub kind: FileKind,
    /// Permission bits (with setuid, setgid and sticky).
    pub mode: u32,
    pub size: u64,
    /// A hash of the content (not stable across processes; only compared within one).
    pub hash: u64,
}

impl fmt::Display for FileState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FileKind::Removed => write!(f, "{} removed", self.path),
            FileKind::Dir => write!(f, "{} folder {:04o}", self.path, self.mode),
            kind => write!(
                f,
                "{} {} {:04o}, {} bytes, content #{:016x}",
                self.path,
                kind.name(),
                self.mode,
                self.size,
                self.hash
            ),
        }
    }
}

/// Words quoted for reading (not for a shell).
pub fn shell_words(words: &[String]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let plain = !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c));
        if plain {
            out.push_str(w);
        } else {
            let _ = write!(out, "{w:?}");
        }
    }
    out
}

/// What happened, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    Call(Call),
    /// Standard output of the RUNs (builtins such as `echo` and `printf` write it);
    /// consecutive pieces are merged, across RUN boundaries too.
    Output(String),
}

/// How a stage's replay ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Every RUN exited 0.
    Ok,
    /// RUN `step` (0-based index in the stage) exited with `status`; the build stops there.
    Fails { step: usize, status: i32 },
    /// The wall-clock limit ran out during `step`.
    Timeout { step: Option<usize> },
    /// The trace reached its size cap during `step`.
    Overflow { step: Option<usize> },
    /// The sandbox itself failed (bwrap could not start, the driver died): not a result.
    Error(String),
}

impl Outcome {
    /// The kind compared between two builds: where a build fails moves when RUNs merge,
    /// but whether it fails must not change.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Fails { .. } => "fails",
            Self::Timeout { .. } => "timeout",
            Self::Overflow { .. } => "overflow",
            Self::Error(_) => "error",
        }
    }

    /// Timeouts and overflows cut a trace at an arbitrary point: only the part both sides
    /// reached can be compared.
    pub fn is_cut(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Overflow { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |step: &Option<usize>| step.map(|s| format!(" in RUN #{}", s + 1));
        match self {
            Self::Ok => f.write_str("ok"),
            Self::Fails { step, status } => {
                write!(f, "fails at RUN #{} (exit {status})", step + 1)
            }
            Self::Timeout { step } => {
                write!(f, "timeout{}", at(step).unwrap_or_default())
            }
            Self::Overflow { step } => {
                write!(f, "trace too large{}", at(step).unwrap_or_default())
            }
            Self::Error(e) => write!(f, "sandbox error: {e}"),
        }
    }
}

/// One replay of one stage.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StageTrace {
    pub events: Vec<Event>,
    pub outcome: Outcome,
    /// For each event, the 0-based RUN it came from.
    pub steps: Vec<usize>,
    /// For each RUN of the stage, its cache-mount targets (from the plan, not the replay).
    pub cache_mounts: Vec<Vec<String>>,
    /// Two processes wrote records at once (background jobs): the order of the records
    /// is not reliable, and a cut record was dropped.
    pub interleaved: bool,
    /// The paths the replay created, changed or removed, sorted by path (the oracle's own
    /// files and its unchanged stubs and folders left out).
    pub files: Vec<FileState>,
}

impl StageTrace {
    /// The calls, in order, each with the 0-based RUN it came from.
    pub fn calls_with_steps(&self) -> impl Iterator<Item = (usize, &Call)> {
        self.events
            .iter()
            .zip(&self.steps)
            .filter_map(|(e, s)| match e {
                Event::Call(c) => Some((*s, c)),
                Event::Output(_) => None,
            })
    }

    /// The calls, in order.
    pub fn calls(&self) -> impl Iterator<Item = &Call> {
        self.events.iter().filter_map(|e| match e {
            Event::Call(c) => Some(c),
            Event::Output(_) => None,
        })
    }

    /// All standard output, concatenated.
    pub fn stdout(&self) -> String {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Output(o) => Some(o.as_str()),
                Event::Call(_) => None,
            })
            .collect()
    }

    /// How many times each program was called.
    pub fn program_counts(&self) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for call in self.calls() {
            *counts.entry(call.program().to_owned()).or_insert(0) += 1;
        }
        counts
    }
}

/// A parsed log: the events, each with its step, and the driver's marks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedLog {
    pub events: Vec<Event>,
    pub steps: Vec<usize>,
    /// `(step, status)` for each RUN that ended; `status` is `None` for a begin mark only.
    pub marks: Vec<(usize, Option<i32>)>,
    /// The log ended inside a record (the size cap cut it).
    pub truncated: bool,
    /// A record was cut by another one: two processes wrote at once (background jobs).
    pub interleaved: bool,
}

impl ParsedLog {
    /// The RUN that began last.
    pub fn current_step(&self) -> Option<usize> {
        self.marks.last().map(|(s, _)| *s)
    }
}

/// Parses the log a replay wrote (see the module documentation).
pub fn parse_log(bytes: &[u8]) -> ParsedLog {
    let start = {
        let mut s = START.as_bytes().to_vec();
        s.push(0);
        s
    };
    let mut out = ParsedLog::default();
    let mut step = 0;
    let mut pos = 0;
    while pos < bytes.len() {
        let Some(at) = find(&bytes[pos..], &start).map(|i| i + pos) else {
            push_output(&mut out, &bytes[pos..], step);
            break;
        };
        push_output(&mut out, &bytes[pos..at], step);
        let body = at + start.len();
        // A record that another one cuts (its END comes after the next START) is dropped.
        let next_start = find(&bytes[body..], &start).map(|i| i + body);
        let end_at = find(&bytes[body..], END.as_bytes()).map(|i| i + body);
        if let (Some(next), Some(end)) = (next_start, end_at)
            && next < end
        {
            out.interleaved = true;
            pos = next;
            continue;
        }
        let mut fields: Vec<String> = Vec::new();
        let mut p = body;
        let mut closed = false;
        while let Some(nul) = bytes[p..].iter().position(|&b| b == 0) {
            let field = String::from_utf8_lossy(&bytes[p..p + nul]).into_owned();
            p += nul + 1;
            if field == END {
                closed = true;
                break;
            }
            fields.push(field);
        }
        if !closed {
            out.truncated = true;
            break;
        }
        pos = p;
        match fields.first().map(String::as_str) {
            Some("call") => {
                if let Some(call) = parse_call(&fields[1..]) {
                    out.events.push(Event::Call(call));
                    out.steps.push(step);
                }
            }
            Some("mark") => {
                let n = fields.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
                match fields.get(1).map(String::as_str) {
                    Some("begin") => {
                        step = n;
                        out.marks.push((n, None));
                    }
                    Some("end") => {
                        let status = fields.get(3).and_then(|s| s.parse().ok()).unwrap_or(-1);
                        if let Some(last) = out.marks.last_mut() {
                            last.1 = Some(status);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn push_output(out: &mut ParsedLog, bytes: &[u8], step: usize) {
    if bytes.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(bytes);
    if let Some(Event::Output(prev)) = out.events.last_mut() {
        prev.push_str(&text);
    } else {
        out.events.push(Event::Output(text.into_owned()));
        out.steps.push(step);
    }
}

/// Variables a record leaves out: the shell maintains them, or they are the oracle's.
pub const EXCLUDED_VARS: [&str; 5] = ["PWD", "OLDPWD", "SHLVL", "_", "BASH_ENV"];

/// `ARGC ARGV... CWD UMASK EXPORTS`, where UMASK is what the `umask` builtin printed and
/// EXPORTS the text of `export -p`.
fn parse_call(fields: &[String]) -> Option<Call> {
    let argc: usize = fields.first()?.parse().ok()?;
    let argv = fields.get(1..=argc)?.to_vec();
    let cwd = fields.get(argc + 1)?.clone();
    let umask = fields.get(argc + 2)?.trim().to_owned();
    let exports = fields.get(argc + 3).map_or("", String::as_str);
    let mut env = parse_exports(exports);
    env.retain(|(k, _)| !EXCLUDED_VARS.contains(&k.as_str()) && !k.starts_with("__oracle"));
    env.sort();
    Some(Call {
        argv,
        cwd,
        umask,
        env,
    })
}

/// Reads bash's `export -p` (`declare -x NAME="value"`, or `export NAME=...` in POSIX
/// mode; values in double quotes with `\\`, `\"`, `\$`, `` \` `` escaped, or in `$'...'`
/// with C escapes). Names exported without a value are not in the environment.
pub fn parse_exports(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in split_entries(text) {
        let Some(rest) = line
            .strip_prefix("declare -x ")
            .or_else(|| line.strip_prefix("export "))
        else {
            continue;
        };
        let Some((name, quoted)) = rest.split_once('=') else {
            continue;
        };
        out.push((name.to_owned(), unquote_value(quoted)));
    }
    out
}

/// Splits `export -p` output into entries: a newline ends one only outside quotes (bash
/// writes newlines as `\n` inside `$'...'`, but a double-quoted value may hold one).
fn split_entries(text: &str) -> Vec<&str> {
    let mut entries = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut in_double = false;
    let mut in_ansi = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_double || in_ansi => i += 1,
            b'"' if !in_ansi => in_double = !in_double,
            b'\'' if in_ansi => in_ansi = false,
            b'\'' if !in_double && i > 0 && bytes[i - 1] == b'$' => in_ansi = true,
            b'\n' if !in_double && !in_ansi => {
                entries.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < text.len() {
        entries.push(&text[start..]);
    }
    entries
}

fn unquote_value(quoted: &str) -> String {
    if let Some(body) = quoted.strip_prefix("$'") {
        return unquote_ansi(body.strip_suffix('\'').unwrap_or(body));
    }
    let body = quoted.strip_prefix('"').unwrap_or(quoted);
    let body = body.strip_suffix('"').unwrap_or(body);
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('\\' | '"' | '$' | '`')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unquote_ansi(body: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let bytes = body.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        at += 1;
        if b != b'\\' || at >= bytes.len() {
            out.push(b);
            continue;
        }
        let esc = bytes[at];
        at += 1;
        let simple = match esc {
            b'a' => Some(7),
            b'b' => Some(8),
            b'e' | b'E' => Some(27),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            b'\\' | b'\'' | b'"' | b'?' => Some(esc),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
        } else if esc.is_ascii_digit() && esc < b'8' {
            let mut v = u32::from(esc - b'0');
            for _ in 0..2 {
                match bytes.get(at) {
                    Some(d @ b'0'..=b'7') => {
                        v = v * 8 + u32::from(d - b'0');
                        at += 1;
                    }
                    _ => break,
                }
            }
            out.push(v as u8);
        } else if esc == b'x' {
            let mut v = 0u32;
            let mut n = 0;
            while n < 2 {
                match bytes.get(at).and_then(|d| char::from(*d).to_digit(16)) {
                    Some(d) => {
                        v = v * 16 + d;
                        at += 1;
                        n += 1;
                    }
                    None => break,
                }
            }
            out.push(v as u8);
        } else if esc == b'c' && at < bytes.len() {
            out.push(bytes[at] & 0x1f);
            at += 1;
        } else {
            out.push(b'\\');
            out.push(esc);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in std::iter::once(START)
            .chain(fields.iter().copied())
            .chain(std::iter::once(END))
        {
            out.extend_from_slice(f.as_bytes());
            out.push(0);
        }
        out
    }

    #[test]
    fn records_and_output_interleave() {
        let mut log = record(&["mark", "begin", "0"]);
        log.extend_from_slice(b"hello\n");
        log.extend(record(&[
            "call",
            "2",
            "apt-get",
            "up date",
            "/",
            "0022",
            "declare -x B=\"2\"\ndeclare -x A=\"x=y\"\ndeclare -x PWD=\"/\"\ndeclare -x E\n",
        ]));
        log.extend(record(&["mark", "end", "0", "0"]));
        log.extend(record(&["mark", "begin", "1"]));
        log.extend_from_slice(b"more");
        log.extend(record(&["mark", "end", "1", "3"]));
        let parsed = parse_log(&log);
        assert!(!parsed.truncated);
        assert_eq!(parsed.marks, [(0, Some(0)), (1, Some(3))]);
        assert_eq!(parsed.events.len(), 3);
        assert_eq!(parsed.steps, [0, 0, 1]);
        let Event::Call(call) = &parsed.events[1] else {
            panic!()
        };
        assert_eq!(call.argv, ["apt-get", "up date"]);
        assert_eq!(call.program(), "apt-get");
        assert_eq!(
            call.env,
            [("A".into(), "x=y".into()), ("B".into(), "2".into())]
        );
        assert_eq!(parsed.events[2], Event::Output("more".into()));
    }

    #[test]
    fn a_cut_record_is_dropped() {
        let mut log = record(&["call", "1", "a", "/", "0022"]);
        log.extend_from_slice(&record(&["call", "1", "b", "/", "0022"])[..12]);
        let parsed = parse_log(&log);
        assert!(parsed.truncated);
        assert_eq!(parsed.events.len(), 1);
        // A record cut by another one is dropped, and said.
        let mut log = record(&["call", "1", "a", "/", "0022"]);
        log.truncate(log.len() - 12);
        log.extend(record(&["mark", "begin", "3"]));
        log.extend(record(&["call", "1", "b", "/", "0022"]));
        let parsed = parse_log(&log);
        assert!(parsed.interleaved && !parsed.truncated);
        assert_eq!(parsed.marks, [(3, None)]);
        assert_eq!(parsed.events.len(), 1);
        // Output that merely looks like a marker is output.
        let parsed = parse_log(b"\x1eORC\x1f no nul");
        assert_eq!(
            parsed.events,
            [Event::Output("\u{1e}ORC\u{1f} no nul".into())]
        );
    }

    #[test]
    fn exports_as_bash_prints_them() {
        let text = "declare -x A=\"1\"\ndeclare -x B=\"x\\\"y\\$z\\`w\\\\v\"\n\
                    declare -x C=$'line1\\nline2'\ndeclare -x D=$'ctl\\001x\\ty\\'q'\n\
                    declare -x E\nexport F=\"two\nlines\"\nexport G=$'\\x41\\E'\n";
        let env = parse_exports(text);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("A"), Some("1"));
        assert_eq!(get("B"), Some("x\"y$z`w\\v"));
        assert_eq!(get("C"), Some("line1\nline2"));
        assert_eq!(get("D"), Some("ctl\u{1}x\ty'q"));
        assert_eq!(get("E"), None);
        assert_eq!(get("F"), Some("two\nlines"));
        assert_eq!(get("G"), Some("A\u{1b}"));
        assert_eq!(env.len(), 6);
    }

    #[test]
    fn words_are_quoted_for_reading() {
        let w = |s: &[&str]| shell_words(&s.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(w(&["apt-get", "install", "-y"]), "apt-get install -y");
        assert_eq!(w(&["echo", "a b", ""]), "echo \"a b\" \"\"");
    }
}
