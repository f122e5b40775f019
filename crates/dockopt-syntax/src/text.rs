//! Byte ranges, line/column lookup, and the whitespace classes BuildKit's Go code uses.

use std::fmt;
use std::ops::Range;

/// A half-open byte range `start..end` into the Dockerfile text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TextRange {
    pub start: usize,
    pub end: usize,
}

impl TextRange {
    pub const fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end);
        Self { start, end }
    }

    pub const fn empty(at: usize) -> Self {
        Self { start: at, end: at }
    }

    pub const fn len(self) -> usize {
        self.end - self.start
    }

    pub const fn is_empty(self) -> bool {
        self.start == self.end
    }

    pub const fn contains(self, offset: usize) -> bool {
        self.start <= offset && offset < self.end
    }

    pub const fn contains_range(self, other: Self) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The smallest range covering both.
    #[must_use]
    pub fn cover(self, other: Self) -> Self {
        Self::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub const fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

impl From<Range<usize>> for TextRange {
    fn from(r: Range<usize>) -> Self {
        Self::new(r.start, r.end)
    }
}

impl fmt::Debug for TextRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// A 1-based line and column (the column counts characters, as editors and compilers show them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Maps byte offsets to lines and columns. Lines end at `\n` (a `\r` before it belongs to
/// the line ending), which is how Docker counts them.
#[derive(Clone, Debug)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(memchr_newlines(text.as_bytes()).map(|i| i + 1));
        Self { line_starts }
    }

    /// The 0-based line that contains `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    /// 1-based line and character column of `offset` in `text`.
    pub fn line_col(&self, text: &str, offset: usize) -> LineCol {
        let offset = offset.min(text.len());
        let line = self.line_of(offset);
        let start = self.line_starts[line];
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        LineCol {
            line: line + 1,
            column: column + 1,
        }
    }

    /// Byte offset where 0-based `line` starts, if the text has that line.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line).copied()
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

fn memchr_newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter_map(|(i, &b)| (b == b'\n').then_some(i))
}

/// Go's `unicode.IsSpace`, which BuildKit uses to trim lines and split words.
/// It is the Unicode `White_Space` property, the same set as Rust's `char::is_whitespace`.
pub fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// The class `[\t\v\f\r ]` of BuildKit's `reWhitespace`, which splits FROM, EXPOSE, COPY, ...
pub fn is_split_space(c: char) -> bool {
    matches!(c, '\t' | '\u{0b}' | '\u{0c}' | '\r' | ' ')
}

/// Go's `strings.TrimSpace` as a sub-range of `s`: `(start, end)` byte offsets.
pub fn trim_space_bounds(s: &str) -> (usize, usize) {
    let start = s.len() - s.trim_start_matches(is_go_space).len();
    let end = s.trim_end_matches(is_go_space).len();
    if start >= end {
        (start, start)
    } else {
        (start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_and_lines() {
        let text = "FROM a\r\nRUN é x\nCMD y";
        let index = LineIndex::new(text);
        assert_eq!(index.line_count(), 3);
        assert_eq!(index.line_col(text, 0), LineCol { line: 1, column: 1 });
        let x = text.find(" x").unwrap() + 1;
        assert_eq!(index.line_col(text, x), LineCol { line: 2, column: 7 });
        let cmd = text.find("CMD").unwrap();
        assert_eq!(index.line_col(text, cmd), LineCol { line: 3, column: 1 });
        assert_eq!(index.line_col(text, text.len()).line, 3);
    }

    #[test]
    fn trim_space_bounds_matches_go() {
        assert_eq!(trim_space_bounds("  a b \t"), (2, 5));
        assert_eq!(trim_space_bounds("   "), (3, 3));
        assert_eq!(trim_space_bounds("\u{a0}x\u{a0}"), (2, 3));
    }
}
