//! Finding heredoc markers (`<<EOF`, `<<-"EOF"`, `3<<EOF`) in an instruction line.
//!
//! BuildKit decides which words are heredoc markers with its shell lexer: quotes and escapes
//! are kept raw, `<<` swallows the blanks after it, `$` expansions are checked for syntax,
//! and a line the lexer cannot process (an unterminated quote, `${}`) has no heredocs at all.
//! This module reproduces that behaviour so that bodies are found exactly where BuildKit
//! finds them.

use crate::text::{TextRange, is_go_space};

/// A heredoc marker found in a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeredocMarker {
    /// The terminator word, after quote removal.
    pub name: String,
    /// `<<-`: leading tabs are stripped from the body and the terminator line.
    pub chomp: bool,
    /// False when any part of the word was quoted: the body is not expanded.
    pub expand: bool,
    /// The file descriptor before `<<` (`3<<EOF`), 0 when absent.
    pub fd: u32,
    /// The marker word as written, in the line it was found in.
    pub range: TextRange,
}

#[derive(Debug, PartialEq, Eq)]
pub struct LexError(pub String);

#[derive(Clone, Debug, PartialEq, Eq)]
struct LexWord {
    value: String,
    range: TextRange,
}

/// Nesting limit for `${a:-${b:-...}}`, so hostile input cannot exhaust the stack.
const MAX_NESTING: usize = 256;

struct Lexer {
    chars: Vec<(usize, char)>,
    len: usize,
    i: usize,
    raw_quotes: bool,
    raw_escapes: bool,
    depth: usize,
}

#[derive(Default)]
struct Words {
    buf: String,
    done: Vec<LexWord>,
    in_word: bool,
    start: usize,
    end: usize,
}

impl Words {
    fn add_char(&mut self, ch: char, at: usize, end: usize) {
        if is_go_space(ch) {
            if self.in_word && !self.buf.is_empty() {
                self.flush();
            }
        } else {
            self.add_raw_char(ch, at, end);
        }
    }

    fn mark(&mut self, at: usize, end: usize) {
        if self.buf.is_empty() {
            self.start = at;
        }
        self.end = end;
        self.in_word = true;
    }

    fn add_raw_char(&mut self, ch: char, at: usize, end: usize) {
        self.mark(at, end);
        self.buf.push(ch);
    }

    fn add_raw_string(&mut self, s: &str, at: usize, end: usize) {
        self.mark(at, end);
        self.buf.push_str(s);
    }

    fn add_string(&mut self, s: &str, at: usize, end: usize) {
        for ch in s.chars() {
            self.add_char(ch, at, end);
        }
    }

    fn flush(&mut self) {
        self.done.push(LexWord {
            value: std::mem::take(&mut self.buf),
            range: TextRange::new(self.start, self.end),
        });
        self.in_word = false;
    }

    fn finish(mut self) -> Vec<LexWord> {
        if !self.buf.is_empty() {
            self.flush();
        }
        self.done
    }
}

const ESCAPE: char = '\\';

impl Lexer {
    fn new(s: &str, raw_quotes: bool, raw_escapes: bool) -> Self {
        Self {
            chars: s.char_indices().collect(),
            len: s.len(),
            i: 0,
            raw_quotes,
            raw_escapes,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).map(|&(_, c)| c)
    }

    fn pos(&self) -> usize {
        self.chars.get(self.i).map_or(self.len, |&(p, _)| p)
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.i += 1;
        }
        c
    }

    fn words(mut self) -> Result<Vec<LexWord>, LexError> {
        self.process_stop_on(None, self.raw_escapes).map(|(_, w)| w)
    }

    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<LexWord>), LexError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(LexError("substitutions nested too deeply".into()));
        }
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let result = self.process_stop_on_inner(stop);
        self.raw_escapes = saved;
        self.depth -= 1;
        result
    }

    fn process_stop_on_inner(
        &mut self,
        stop: Option<char>,
    ) -> Result<(String, Vec<LexWord>), LexError> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if stop == Some(ch) {
                self.next();
                return Ok((result, words.finish()));
            }
            let at = self.pos();
            match ch {
                '$' => {
                    let tmp = self.process_dollar()?;
                    result.push_str(&tmp);
                    words.add_string(&tmp, at, self.pos());
                }
                '<' | '\'' | '"' => {
                    let tmp = match ch {
                        '<' => self.possible_heredoc(),
                        '\'' => self.single_quote()?,
                        _ => self.double_quote()?,
                    };
                    result.push_str(&tmp);
                    words.add_raw_string(&tmp, at, self.pos());
                }
                _ => {
                    let mut ch = self.next().unwrap_or_default();
                    if ch == ESCAPE {
                        if self.raw_escapes {
                            words.add_raw_char(ch, at, self.pos());
                            result.push(ch);
                        }
                        let Some(escaped) = self.next() else { break };
                        ch = escaped;
                        words.add_raw_char(ch, at, self.pos());
                    } else {
                        words.add_char(ch, at, self.pos());
                    }
                    result.push(ch);
                }
            }
        }
        if let Some(stop) = stop {
            return Err(LexError(format!(
                "unexpected end of statement while looking for matching {stop}"
            )));
        }
        Ok((result, words.finish()))
    }

    fn single_quote(&mut self) -> Result<String, LexError> {
        let mut out = String::new();
        let open = self.next().unwrap_or_default();
        if self.raw_quotes {
            out.push(open);
        }
        loop {
            match self.next() {
                None => {
                    return Err(LexError(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    ));
                }
                Some('\'') => {
                    if self.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, LexError> {
        let mut out = String::new();
        let open = self.next().unwrap_or_default();
        if self.raw_quotes {
            out.push(open);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(LexError(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    ));
                }
                Some('"') => {
                    self.next();
                    if self.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let value = self.process_dollar()?;
                    out.push_str(&value);
                }
                Some(_) => {
                    let mut ch = self.next().unwrap_or_default();
                    if ch == ESCAPE {
                        if self.raw_escapes {
                            out.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == ESCAPE => {
                                ch = self.next().unwrap_or_default();
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_numeric() {
                while let Some(d) = self.peek().filter(|c| c.is_numeric()) {
                    self.next();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                name.push(ch);
                return name;
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    /// `$name` and `${...}` with every variable unset, as BuildKit checks heredoc lines:
    /// the text comes back as written, but malformed substitutions are errors.
    fn process_dollar(&mut self) -> Result<String, LexError> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.process_name();
            return Ok(if name.is_empty() {
                "$".into()
            } else {
                format!("${name}")
            });
        }
        self.next();
        match self.peek() {
            None => return Err(LexError("syntax error: missing '}'".into())),
            Some('{' | '}' | ':') => return Err(LexError("syntax error: bad substitution".into())),
            Some(_) => {}
        }
        let name = self.process_name();
        let unsupported =
            |chs: &str| LexError(format!("unsupported modifier ({chs}) in substitution"));
        match self.next() {
            Some('}') => Ok(format!("${{{name}}}")),
            Some(first @ (':' | '+' | '-' | '?' | '#' | '%')) => {
                let (modifier, null_is_unset) = if first == ':' {
                    let second = self.next().unwrap_or('\u{FFFD}');
                    (second, true)
                } else {
                    (first, false)
                };
                let chs = if null_is_unset {
                    format!(":{modifier}")
                } else {
                    modifier.to_string()
                };
                let raw = modifier == '#' || modifier == '%';
                if null_is_unset && raw {
                    return Err(unsupported(&chs));
                }
                let (word, _) = self.process_stop_on(Some('}'), raw)?;
                Ok(format!("${{{name}{chs}{word}}}"))
            }
            Some('/') => {
                if self.peek() == Some('/') {
                    self.next();
                }
                let (pattern, _) = self.process_stop_on(Some('/'), true)?;
                let (replacement, _) = self.process_stop_on(Some('}'), true)?;
                Ok(format!("${{{name}/{pattern}/{replacement}}}"))
            }
            other => Err(unsupported(&other.map(String::from).unwrap_or_default())),
        }
    }

    fn possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".into();
        }
        self.next();
        let mut out = String::from("<<");
        while let Some(c) = self.peek().filter(|c| matches!(c, '\t' | '\r' | ' ')) {
            out.push(c);
            self.next();
        }
        out
    }
}

/// Every heredoc marker of `line`, in order. `Err` when a marker word itself cannot be lexed
/// (BuildKit rejects the file then).
pub fn heredocs_in_line(line: &str) -> Result<Vec<HeredocMarker>, LexError> {
    // A line BuildKit cannot lex has no heredocs; BuildKit ignores that error.
    let Ok(words) = Lexer::new(line, true, true).words() else {
        return Ok(Vec::new());
    };
    let mut markers = Vec::new();
    for word in words {
        if let Some(marker) = parse_marker(&word.value, word.range)? {
            markers.push(marker);
        }
    }
    Ok(markers)
}

/// Matches `^(\d*)<<(-?)\s*([^<]*)$` and resolves the terminator word.
fn parse_marker(word: &str, range: TextRange) -> Result<Option<HeredocMarker>, LexError> {
    let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let Some(after) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, after) = match after.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, after),
    };
    let rest = after.trim_start_matches(['\t', '\n', '\u{c}', '\r', ' ']);
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let processed = Lexer::new(rest, false, false).words()?;
    if processed.len() != 1 {
        return Ok(None);
    }
    let raw = Lexer::new(rest, true, false).words()?;
    if raw.len() != processed.len() {
        return Err(LexError(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        )));
    }
    let quotes = |s: &str| s.chars().filter(|&c| c == '\'' || c == '"').count();
    let name = processed
        .into_iter()
        .next()
        .map(|w| w.value)
        .unwrap_or_default();
    Ok(Some(HeredocMarker {
        expand: quotes(&name) == quotes(&raw[0].value),
        fd: word[..digits].parse().unwrap_or(0),
        chomp,
        name,
        range,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &str) -> Vec<(String, bool, bool)> {
        heredocs_in_line(line)
            .unwrap()
            .into_iter()
            .map(|m| (m.name, m.chomp, m.expand))
            .collect()
    }

    #[test]
    fn finds_markers_like_buildkit() {
        assert_eq!(names("RUN <<EOF"), [("EOF".into(), false, true)]);
        assert_eq!(
            names("RUN cat <<-\"EOF\" > /x"),
            [("EOF".into(), true, false)]
        );
        assert_eq!(
            names("COPY <<a <<'b' /dest/"),
            [("a".into(), false, true), ("b".into(), false, false)]
        );
        assert_eq!(names("RUN cat << EOF"), [("EOF".into(), false, true)]);
        assert_eq!(names("RUN 3<<FD"), [("FD".into(), false, true)]);
        let markers = heredocs_in_line("RUN 3<<FD").unwrap();
        assert_eq!((markers[0].fd, markers[0].range), (3, TextRange::new(4, 9)));
    }

    #[test]
    fn quoted_or_glued_markers_are_not_heredocs() {
        assert!(names("RUN echo \"<<EOF\"").is_empty());
        assert!(names("RUN echo '<<EOF'").is_empty());
        assert!(names("RUN cat<<EOF").is_empty());
        assert!(names("RUN echo a <<- EOF").is_empty());
        // BuildKit cannot lex the line (unterminated quote), so it finds no heredoc at all.
        assert!(names("RUN echo don't <<EOF").is_empty());
        assert!(names("RUN echo ${} <<EOF").is_empty());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let line = format!("RUN {} <<EOF", "${a:-".repeat(100_000));
        assert!(names(&line).is_empty());
    }
}
