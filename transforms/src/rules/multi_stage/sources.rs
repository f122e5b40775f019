//! A cheap lexical read of one source file (Go, Rust, Java, Kotlin): its string literals
//! with the call each sits in, the calls that read files, Go's `import "C"` and
//! `//go:embed` lines. No parser: comments, strings and brackets are enough to find them.
//! Odd input (an unterminated string, stray brackets, any bytes) ends or skews the read,
//! never panics.

use super::facts::EcosystemFacts;

/// The language of a source file, by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lang {
    Go,
    Rust,
    Java,
}

impl Lang {
    pub(super) fn of(path: &str) -> Option<Self> {
        let ext = path.rsplit_once('.').map(|(_, e)| e)?;
        match ext {
            "go" => Some(Self::Go),
            "rs" => Some(Self::Rust),
            "java" | "kt" => Some(Self::Java),
            _ => None,
        }
    }
}

/// A string literal.
#[derive(Clone, Debug)]
pub(super) struct Literal {
    pub(super) value: String,
    /// Read by the compiler (an attribute, `include_str!`), or a Go import path.
    pub(super) not_runtime: bool,
}

/// A call of one of the ecosystem's `read_calls`.
#[derive(Clone, Debug)]
pub(super) struct ReadCall {
    pub(super) callee: String,
    pub(super) line: usize,
    /// The arguments as written, on one line, shortened.
    pub(super) args: String,
    /// The literals inside the arguments (nested calls included), as indices.
    pub(super) literals: Vec<usize>,
    /// The arguments are string literals and commas only.
    pub(super) plain: bool,
}

/// What one file shows.
#[derive(Debug, Default)]
pub(super) struct SourceFacts {
    pub(super) literals: Vec<Literal>,
    pub(super) reads: Vec<ReadCall>,
    /// The line of a Go `import "C"` (the import named by `cgo_import`).
    pub(super) cgo_line: Option<usize>,
    /// The patterns of `//go:embed` lines, as written (relative to the file's folder).
    pub(super) embeds: Vec<String>,
}

/// What the read needs to know besides the text.
pub(super) struct Lexicon<'k> {
    pub(super) facts: &'k EcosystemFacts,
    /// Go: the import path that means cgo (`C`).
    pub(super) cgo_import: &'k str,
    /// Go: the comment prefix of embed lines (`//go:embed`).
    pub(super) embed_directive: &'k str,
}

/// An open bracket.
struct Frame {
    close: u8,
    /// The call's name (`template.ParseGlob`, `include_str!`), for `(` and macro brackets.
    callee: Option<String>,
    /// Literals inside are not run-time paths (attribute, compile-time macro, import list).
    not_runtime: bool,
    /// Go `import ( ... )`.
    import: bool,
    start: usize,
    line: usize,
    literals: Vec<usize>,
    plain: bool,
}

/// Brackets deeper than this are read as flat text (no frames), to bound memory.
const MAX_DEPTH: usize = 256;
/// Arguments shown in messages at most.
const MAX_ARGS_SHOWN: usize = 80;

fn matches_call(patterns: &[String], callee: &str) -> bool {
    patterns.iter().any(|p| {
        callee == p
            || callee
                .strip_suffix(p.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

/// Reads `text` as `lang`.
#[allow(clippy::too_many_lines)]
pub(super) fn read(text: &str, lang: Lang, lexicon: &Lexicon<'_>) -> SourceFacts {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut out = SourceFacts::default();
    let mut frames: Vec<Frame> = Vec::new();
    let mut line = 1usize;
    let mut i = 0usize;
    // The identifier chain before the current position (`template`, `ParseGlob`).
    let mut chain: Vec<&str> = Vec::new();
    // The last token was `.` or `::`, so an identifier extends the chain.
    let mut extends = false;
    // The last token was an identifier (or a macro's `!`).
    let mut after_ident = false;
    let mut macro_bang = false;
    let mut attribute = false;
    // Go: `import` was read, its path (or `(`) is next.
    let mut import_next = false;
    // Only blanks since the start of the line (for `//go:embed`).
    let mut line_start = true;

    let push_literal =
        |out: &mut SourceFacts, frames: &mut Vec<Frame>, value: String, import: bool| {
            let not_runtime = import || frames.iter().any(|f| f.not_runtime || f.import);
            let index = out.literals.len();
            out.literals.push(Literal { value, not_runtime });
            for frame in frames.iter_mut() {
                frame.literals.push(index);
            }
        };

    while i < n {
        let b = bytes[i];
        if b == b'\n' {
            line += 1;
            i += 1;
            line_start = true;
            continue;
        }
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let at_line_start = line_start;
        line_start = false;
        // Comments.
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            let end = text[i..].find('\n').map_or(n, |k| i + k);
            if lang == Lang::Go
                && at_line_start
                && !lexicon.embed_directive.is_empty()
                && let Some(rest) = text[i..end].strip_prefix(lexicon.embed_directive)
                && rest.starts_with([' ', '\t'])
            {
                out.embeds.extend(embed_patterns(rest));
            }
            i = end;
            continue;
        }
        if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            let mut depth = 1usize;
            i += 2;
            while i < n && depth > 0 {
                if bytes[i] == b'\n' {
                    line += 1;
                }
                if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                } else if lang == Lang::Rust && bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*')
                {
                    depth += 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            continue;
        }
        // Strings.
        let string = match b {
            b'"' => {
                let start_line = line;
                let (value, end) = if lang == Lang::Java && text[i..].starts_with("\"\"\"") {
                    let close = text[i + 3..].find("\"\"\"").map_or(n, |k| i + 3 + k);
                    (text[i + 3..close].to_string(), (close + 3).min(n))
                } else {
                    quoted(text, i + 1, b'"', lang == Lang::Rust)
                };
                line += text[i..end].matches('\n').count();
                Some((value, start_line, end))
            }
            b'`' if lang == Lang::Go => {
                let close = text[i + 1..].find('`').map_or(n, |k| i + 1 + k);
                let value = text[i + 1..close].to_string();
                let start_line = line;
                line += value.matches('\n').count();
                Some((value, start_line, (close + 1).min(n)))
            }
            _ => None,
        };
        if let Some((value, start_line, end)) = string {
            let import =
                lang == Lang::Go && (import_next || frames.last().is_some_and(|f| f.import));
            if import && value == lexicon.cgo_import {
                out.cgo_line.get_or_insert(start_line);
            }
            import_next = false;
            if let Some(frame) = frames.last_mut()
                && frame.close == b')'
                && !frame.import
            {
                // A literal keeps the call plain.
            } else if let Some(frame) = frames.last_mut() {
                frame.plain = false;
            }
            push_literal(&mut out, &mut frames, value, import);
            i = end;
            chain.clear();
            extends = false;
            after_ident = false;
            continue;
        }
        // Characters and Rust lifetimes.
        if b == b'\'' {
            let is_char = lang != Lang::Rust
                || bytes.get(i + 1) == Some(&b'\\')
                || text[i + 1..]
                    .chars()
                    .next()
                    .is_some_and(|c| text[i + 1 + c.len_utf8()..].starts_with('\''));
            if is_char {
                let (_, end) = quoted(text, i + 1, b'\'', false);
                line += text[i..end].matches('\n').count();
                i = end;
            } else {
                i += 1;
            }
            if let Some(frame) = frames.last_mut() {
                frame.plain = false;
            }
            chain.clear();
            extends = false;
            after_ident = false;
            continue;
        }
        // Identifiers, and Rust's raw and byte strings.
        if is_ident_start(b) {
            let start = i;
            while i < n && is_ident(bytes[i]) {
                i += 1;
            }
            // Stay on a char boundary.
            while i < n && !text.is_char_boundary(i) {
                i += 1;
            }
            let word = &text[start..i];
            if lang == Lang::Rust
                && matches!(word, "r" | "b" | "br" | "rb" | "c" | "cr")
                && matches!(bytes.get(i), Some(b'"' | b'#'))
            {
                let raw = word.contains('r');
                let (value, end) = if raw {
                    let hashes = text[i..].bytes().take_while(|&c| c == b'#').count();
                    if bytes.get(i + hashes) == Some(&b'"') {
                        let body = i + hashes + 1;
                        let terminator = format!("\"{}", "#".repeat(hashes));
                        let close = text[body..].find(&terminator).map_or(n, |k| body + k);
                        (
                            text[body..close].to_string(),
                            (close + terminator.len()).min(n),
                        )
                    } else {
                        (String::new(), i)
                    }
                } else if bytes.get(i) == Some(&b'"') {
                    quoted(text, i + 1, b'"', true)
                } else {
                    (String::new(), i)
                };
                if end > i {
                    line += text[start..end].matches('\n').count();
                    if let Some(frame) = frames.last_mut() {
                        frame.plain = false;
                    }
                    push_literal(&mut out, &mut frames, value, false);
                    i = end;
                    chain.clear();
                    extends = false;
                    after_ident = false;
                    continue;
                }
            }
            if lang == Lang::Go && word == "import" && frames.is_empty() {
                import_next = true;
            }
            if extends {
                chain.push(word);
            } else {
                chain.clear();
                chain.push(word);
            }
            extends = false;
            after_ident = true;
            macro_bang = false;
            attribute = false;
            if let Some(frame) = frames.last_mut() {
                frame.plain = false;
            }
            continue;
        }
        // Punctuation.
        i += 1;
        match b {
            b'.' => {
                extends = after_ident || extends;
                after_ident = false;
                if let Some(frame) = frames.last_mut() {
                    frame.plain = false;
                }
                continue;
            }
            b':' if lang == Lang::Rust && bytes.get(i) == Some(&b':') => {
                i += 1;
                extends = after_ident;
                after_ident = false;
                if let Some(frame) = frames.last_mut() {
                    frame.plain = false;
                }
                continue;
            }
            b'!' if lang == Lang::Rust && after_ident => {
                macro_bang = true;
                after_ident = false;
                if let Some(frame) = frames.last_mut() {
                    frame.plain = false;
                }
                continue;
            }
            b'#' if lang == Lang::Rust => {
                if text[i..].starts_with("![") {
                    i += 1;
                }
                attribute = bytes.get(i) == Some(&b'[');
                continue;
            }
            b'(' | b'[' | b'{' => {
                let close = match b {
                    b'(' => b')',
                    b'[' => b']',
                    _ => b'}',
                };
                let callee = if macro_bang {
                    Some(format!("{}!", chain.join(".")))
                } else if b == b'(' && !chain.is_empty() && (after_ident || import_next) {
                    Some(chain.join("."))
                } else {
                    None
                };
                let compile_time = callee
                    .as_deref()
                    .is_some_and(|c| matches_call(&lexicon.facts.compile_time, c));
                let import = lang == Lang::Go && import_next && b == b'(';
                import_next = false;
                if let Some(frame) = frames.last_mut() {
                    frame.plain = false;
                }
                if frames.len() < MAX_DEPTH {
                    frames.push(Frame {
                        close,
                        callee,
                        not_runtime: compile_time || (attribute && b == b'['),
                        import,
                        start: i,
                        line,
                        literals: Vec::new(),
                        plain: true,
                    });
                }
            }
            b')' | b']' | b'}' => {
                if let Some(at) = frames.iter().rposition(|f| f.close == b) {
                    let frame = frames.swap_remove(at);
                    frames.truncate(at);
                    if let Some(callee) = frame.callee
                        && !callee.ends_with('!')
                        && matches_call(&lexicon.facts.read_calls, &callee)
                    {
                        out.reads.push(ReadCall {
                            callee,
                            line: frame.line,
                            args: shorten(&text[frame.start..i - 1]),
                            literals: frame.literals,
                            plain: frame.plain,
                        });
                    }
                }
            }
            b',' => {
                chain.clear();
                extends = false;
                after_ident = false;
                macro_bang = false;
                continue;
            }
            _ => {
                if let Some(frame) = frames.last_mut() {
                    frame.plain = false;
                }
            }
        }
        attribute = false;
        chain.clear();
        extends = false;
        after_ident = false;
        macro_bang = false;
    }
    out
}

/// A quoted string from `start` (after the opening quote) to the unescaped `quote` (or a
/// line end, unless `multiline`): its value (simple escapes undone) and the offset after it.
fn quoted(text: &str, start: usize, quote: u8, multiline: bool) -> (String, usize) {
    let bytes = text.as_bytes();
    let mut value = String::new();
    let mut i = start;
    let mut run = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                value.push_str(&text[run..i]);
                let Some(c) = text[i + 1..].chars().next() else {
                    return (value, bytes.len());
                };
                match c {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    other => value.push(other),
                }
                i += 1 + c.len_utf8();
                run = i;
            }
            c if c == quote => {
                value.push_str(&text[run..i]);
                return (value, i + 1);
            }
            b'\n' if !multiline => {
                value.push_str(&text[run..i]);
                return (value, i);
            }
            _ => i += 1,
        }
    }
    value.push_str(&text[run..]);
    (value, bytes.len())
}

/// The patterns of a `//go:embed` line: blank-separated, some quoted.
fn embed_patterns(rest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = rest.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut pattern = String::new();
        if c == '"' || c == '`' {
            chars.next();
            for d in chars.by_ref() {
                if d == c {
                    break;
                }
                pattern.push(d);
            }
        } else {
            while let Some(&d) = chars.peek() {
                if d.is_whitespace() {
                    break;
                }
                pattern.push(d);
                chars.next();
            }
        }
        out.push(pattern);
    }
    out
}

/// Arguments on one line, at most [`MAX_ARGS_SHOWN`] characters.
fn shorten(args: &str) -> String {
    let one: String = args.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= MAX_ARGS_SHOWN {
        return one;
    }
    let cut: String = one.chars().take(MAX_ARGS_SHOWN).collect();
    format!("{cut}…")
}
