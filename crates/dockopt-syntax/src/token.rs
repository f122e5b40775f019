//! Tokens: the flat, lossless layer. Every byte of the file belongs to exactly one token.

use crate::text::TextRange;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// The UTF-8 byte-order mark at the very start of the file.
    Bom,
    /// Blanks inside a line (spaces, tabs and other Unicode white space but line endings).
    Whitespace,
    /// A line ending: `\n`, `\r\n`, or the `\r`s that Docker trims at the end of a line.
    Newline,
    /// A comment line's text, from `#` to the end of the line.
    Comment,
    /// A parser directive line (`# syntax=...`, `# escape=...`, `# check=...`) from `#` on.
    Directive,
    /// The instruction keyword (`RUN`, `from`, ...), when it lies on one line.
    Keyword,
    /// Any other run of non-blank characters on an instruction line.
    Word,
    /// The escape character that continues an instruction on the next line, with the blanks after it.
    LineContinuation,
    /// One line of a heredoc body, without its line ending.
    HeredocBody,
    /// The line that ends a heredoc (its terminator word, with leading tabs for `<<-`).
    HeredocEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Token {
    pub kind: TokenKind,
    pub range: TextRange,
}

impl Token {
    pub fn text(self, source: &str) -> &str {
        &source[self.range.range()]
    }
}
