//! Exec-form arguments: a JSON array of strings, decoded as Go's `encoding/json` does,
//! with the range of every element.

use crate::text::TextRange;

/// One string element of an exec-form array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonString {
    /// The decoded value.
    pub value: String,
    /// The element as written, quotes included (in the text the array was parsed from).
    pub range: TextRange,
}

#[derive(Debug, PartialEq, Eq)]
pub enum JsonArrayError {
    /// Not JSON at all: BuildKit then takes the text as shell form.
    NotJson,
    /// Valid JSON, but an element is not a string: BuildKit rejects the instruction.
    NotStringArray,
}

/// Go's `json` nesting limit; deeper input is a syntax error there.
const MAX_DEPTH: usize = 10_000;

/// Parses `s` (trimmed, starting with `[`) as a JSON array of strings.
pub fn parse_string_array(s: &str, base: usize) -> Result<Vec<JsonString>, JsonArrayError> {
    let mut p = Parser {
        bytes: s.as_bytes(),
        src: s,
        pos: 0,
    };
    p.skip_ws();
    if p.peek() != Some(b'[') {
        return Err(JsonArrayError::NotJson);
    }
    // Validate everything first, like Go's Unmarshal, so syntax errors win over type errors.
    let mut elements = Vec::new();
    let mut all_strings = true;
    p.pos += 1;
    p.skip_ws();
    if p.peek() == Some(b']') {
        p.pos += 1;
    } else {
        loop {
            p.skip_ws();
            let start = p.pos;
            if p.peek() == Some(b'"') {
                let value = p.string().ok_or(JsonArrayError::NotJson)?;
                elements.push(JsonString {
                    value,
                    range: TextRange::new(start + base, p.pos + base),
                });
            } else {
                p.value().ok_or(JsonArrayError::NotJson)?;
                all_strings = false;
            }
            p.skip_ws();
            match p.peek() {
                Some(b',') => p.pos += 1,
                Some(b']') => {
                    p.pos += 1;
                    break;
                }
                _ => return Err(JsonArrayError::NotJson),
            }
        }
    }
    p.skip_ws();
    if p.pos != p.bytes.len() {
        return Err(JsonArrayError::NotJson);
    }
    if all_strings {
        Ok(elements)
    } else {
        Err(JsonArrayError::NotStringArray)
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    src: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Skips any JSON value without recursion (arrays and objects nest on a counter stack).
    fn value(&mut self) -> Option<()> {
        // Each entry: true for an object, false for an array.
        let mut stack: Vec<bool> = Vec::new();
        loop {
            self.skip_ws();
            // A value.
            match self.peek()? {
                b'"' => {
                    self.string()?;
                }
                b'[' | b'{' => {
                    let is_object = self.peek() == Some(b'{');
                    self.pos += 1;
                    if stack.len() + 1 > MAX_DEPTH {
                        return None;
                    }
                    self.skip_ws();
                    let close = if is_object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                    } else {
                        stack.push(is_object);
                        if is_object {
                            self.object_key()?;
                        }
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            }
            // After a value: close containers or move to the next element.
            loop {
                let Some(&is_object) = stack.last() else {
                    return Some(());
                };
                self.skip_ws();
                match self.peek()? {
                    b',' => {
                        self.pos += 1;
                        if is_object {
                            self.skip_ws();
                            self.object_key()?;
                        }
                        break;
                    }
                    b']' if !is_object => {
                        self.pos += 1;
                        stack.pop();
                    }
                    b'}' if is_object => {
                        self.pos += 1;
                        stack.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    fn object_key(&mut self) -> Option<()> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return None;
        }
        self.string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return None;
        }
        self.pos += 1;
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Some(())
        } else {
            None
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    fn hex4(&mut self) -> Option<u32> {
        let hex = self.src.get(self.pos..self.pos + 4)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        u32::from_str_radix(hex, 16).ok()
    }

    /// A string at `pos` (which is `"`), decoded; invalid surrogates become U+FFFD as in Go.
    fn string(&mut self) -> Option<String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.src[self.pos..];
            let run = rest
                .bytes()
                .position(|b| b == b'"' || b == b'\\' || b < 0x20)?;
            out.push_str(&rest[..run]);
            self.pos += run;
            match self.bytes[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.pos += 1;
                    let escaped = self.peek()?;
                    self.pos += 1;
                    match escaped {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let first = self.hex4()?;
                            out.push(self.surrogate_pair(first));
                        }
                        _ => return None,
                    }
                }
                _ => return None, // a raw control character
            }
        }
    }

    fn surrogate_pair(&mut self, first: u32) -> char {
        if (0xD800..0xDC00).contains(&first) && self.src[self.pos..].starts_with("\\u") {
            let save = self.pos;
            self.pos += 2;
            if let Some(second) = self.hex4()
                && (0xDC00..0xE000).contains(&second)
            {
                let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return char::from_u32(c).unwrap_or('\u{FFFD}');
            }
            self.pos = save;
        }
        char::from_u32(first).unwrap_or('\u{FFFD}')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(s: &str) -> Result<Vec<String>, JsonArrayError> {
        parse_string_array(s, 0).map(|v| v.into_iter().map(|j| j.value).collect())
    }

    #[test]
    fn decodes_strings_and_ranges() {
        let parsed = parse_string_array(r#"["a", "b\"c", "\u00e9\ud83d\ude00"]"#, 10).unwrap();
        assert_eq!(parsed[0].range, TextRange::new(11, 14));
        assert_eq!(parsed[1].value, "b\"c");
        assert_eq!(parsed[2].value, "é😀");
        assert_eq!(values("[]").unwrap(), Vec::<String>::new());
        assert_eq!(values("[ ]").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn syntax_errors_are_not_json() {
        for bad in [
            "[\"a\"",
            "[\"a\",]",
            "[\"a\"] x",
            "['a']",
            "[\"a\tb\"]",
            "[01]",
            "[\"\\x\"]",
            "[1, \"a\"",
        ] {
            assert_eq!(values(bad), Err(JsonArrayError::NotJson), "{bad}");
        }
    }

    #[test]
    fn non_strings_are_rejected() {
        for bad in [
            "[1]",
            "[\"a\", [\"b\"]]",
            "[{\"a\": [1, {}]}]",
            "[null]",
            "[-1.5e3]",
        ] {
            assert_eq!(values(bad), Err(JsonArrayError::NotStringArray), "{bad}");
        }
        let deep = format!("[{}{}]", "[".repeat(20_000), "]".repeat(20_000));
        assert_eq!(values(&deep), Err(JsonArrayError::NotJson));
    }
}
