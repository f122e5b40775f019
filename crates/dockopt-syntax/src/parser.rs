//! The line-oriented parser. It walks physical lines the way BuildKit's `parser.Parse` does
//! (directives, comments, blank lines, continuations, heredoc bodies) and records every
//! byte as a token, so that printing the tokens gives the input back.

use std::ops::Range;

use crate::command::{ArgsData, CommandData, parse_command};
use crate::heredoc::{HeredocMarker, heredocs_in_line};
use crate::logical::LogicalLine;
use crate::text::{LineIndex, TextRange, is_go_space};
use crate::token::{Token, TokenKind};
use crate::{Dockerfile, Severity, SyntaxError};

/// BuildKit reads lines with a `bufio.Scanner`, which refuses lines over 64 KiB.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// A top-level piece of the file: whole lines, line endings included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub kind: ItemKind,
    pub range: TextRange,
    /// Indices into [`Dockerfile::tokens`].
    pub tokens: Range<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    /// A parser directive; the index into the directive list.
    Directive(usize),
    Comment,
    Blank,
    /// An instruction; the index into the instruction list.
    Instruction(usize),
}

#[derive(Clone, Debug)]
pub(crate) struct DirectiveData {
    pub name: String,
    pub value: String,
    pub range: TextRange,
    pub value_range: TextRange,
}

#[derive(Clone, Debug)]
pub(crate) struct HeredocData {
    pub marker: HeredocMarker,
    /// The marker's range in the file.
    pub marker_range: TextRange,
    /// The body lines, line endings included, terminator excluded.
    pub body: TextRange,
    /// The terminator line's text (without line ending), if the heredoc is terminated.
    pub terminator: Option<TextRange>,
}

#[derive(Clone, Debug)]
pub(crate) struct InstructionData {
    /// From the keyword to the end of the last line's text (heredoc terminator included).
    pub range: TextRange,
    /// Whole lines: from the start of the first line to after the last line ending.
    pub line_range: TextRange,
    pub tokens: Range<usize>,
    pub logical: LogicalLine,
    pub command: CommandData,
    pub heredocs: Vec<HeredocData>,
}

#[derive(Clone, Copy, Debug)]
struct Line {
    start: usize,
    content_end: usize,
    end: usize,
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    tokens: Vec<Token>,
    items: Vec<Item>,
    instructions: Vec<InstructionData>,
    directives: Vec<DirectiveData>,
    errors: Vec<SyntaxError>,
    escape: char,
    directives_done: bool,
    long_line_reported: bool,
}

pub(crate) fn parse(text: &str) -> Dockerfile {
    let mut p = Parser {
        text,
        pos: 0,
        tokens: Vec::with_capacity(text.len() / 4),
        items: Vec::new(),
        instructions: Vec::new(),
        directives: Vec::new(),
        errors: Vec::new(),
        escape: '\\',
        directives_done: false,
        long_line_reported: false,
    };
    if text.starts_with('\u{feff}') {
        p.token(TokenKind::Bom, 0, 3);
        p.pos = 3;
    }
    while let Some(line) = p.next_line() {
        p.top_level_line(line);
    }
    if p.instructions.is_empty() {
        p.error(TextRange::empty(text.len()), "file with no instructions");
    }
    debug_assert!(
        covers_exactly(&p.tokens, text.len()),
        "tokens must cover the text"
    );
    Dockerfile {
        text: text.to_string(),
        tokens: p.tokens,
        items: p.items,
        instructions: p.instructions,
        directives: p.directives,
        errors: p.errors,
        escape: p.escape,
        line_index: LineIndex::new(text),
    }
}

fn covers_exactly(tokens: &[Token], len: usize) -> bool {
    let mut at = 0;
    for t in tokens {
        if t.range.start != at || t.range.end <= t.range.start {
            return false;
        }
        at = t.range.end;
    }
    at == len
}

fn leading_space(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_go_space).len()
}

impl Parser<'_> {
    fn token(&mut self, kind: TokenKind, start: usize, end: usize) {
        if start < end {
            self.tokens.push(Token {
                kind,
                range: TextRange::new(start, end),
            });
        }
    }

    fn error(&mut self, range: TextRange, message: impl Into<String>) {
        self.errors.push(SyntaxError {
            range,
            message: message.into(),
            severity: Severity::Error,
        });
    }

    fn next_line(&mut self) -> Option<Line> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.text[start..];
        let end = rest.find('\n').map_or(self.text.len(), |i| start + i + 1);
        let content_end = start + self.text[start..end].trim_end_matches(['\r', '\n']).len();
        self.pos = end;
        if end - start > MAX_LINE_BYTES && !self.long_line_reported {
            self.long_line_reported = true;
            self.error(
                TextRange::new(start, content_end),
                format!(
                    "dockerfile line greater than max allowed size of {}",
                    MAX_LINE_BYTES - 1
                ),
            );
        }
        Some(line_of(start, content_end, end))
    }

    fn newline(&mut self, line: Line) {
        self.token(TokenKind::Newline, line.content_end, line.end);
    }

    /// Whitespace and words of `start..end` (no line ending, no continuation).
    fn words(&mut self, start: usize, end: usize) {
        let mut at = start;
        let text = self.text;
        while at < end {
            let chunk = &text[at..end];
            let space = leading_space(chunk);
            if space > 0 {
                self.token(TokenKind::Whitespace, at, at + space);
                at += space;
                continue;
            }
            let word = chunk.find(is_go_space).unwrap_or(chunk.len());
            self.token(TokenKind::Word, at, at + word);
            at += word;
        }
    }

    /// If `s` ends with a line continuation, the offset of its escape character in `s`.
    fn continuation(&self, s: &str) -> Option<usize> {
        let trimmed = s.trim_end_matches([' ', '\t']);
        let before = trimmed.strip_suffix(self.escape)?;
        if before.is_empty() || !before.ends_with(self.escape) {
            Some(before.len())
        } else {
            None
        }
    }

    fn top_level_line(&mut self, line: Line) {
        let first_token = self.tokens.len();
        let content = &self.text[line.start..line.content_end];
        let body_start = line.start + leading_space(content);
        let body = &self.text[body_start..line.content_end];
        let directive = if self.directives_done {
            None
        } else {
            self.directive(body, body_start)
        };
        let kind = if body.starts_with('#') {
            let token = if directive.is_some() {
                TokenKind::Directive
            } else {
                TokenKind::Comment
            };
            self.token(TokenKind::Whitespace, line.start, body_start);
            self.token(token, body_start, line.content_end);
            self.newline(line);
            directive.map_or(ItemKind::Comment, ItemKind::Directive)
        } else if body.is_empty() {
            self.token(TokenKind::Whitespace, line.start, line.content_end);
            self.newline(line);
            ItemKind::Blank
        } else {
            self.instruction(line, body_start);
            return;
        };
        self.items.push(Item {
            kind,
            range: TextRange::new(line.start, line.end),
            tokens: first_token..self.tokens.len(),
        });
    }

    /// `DirectiveParser.ParseLine`: a directive is `# name=value` with a known name, and
    /// only before the first line that is not one.
    fn directive(&mut self, body: &str, body_start: usize) -> Option<usize> {
        let Some(after_hash) = body.strip_prefix('#') else {
            self.directives_done = true;
            return None;
        };
        let inner_start = body_start + 1 + leading_space(after_hash);
        let inner = &self.text[inner_start..body_start + body.len()];
        let name_len = inner
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
            .map_or(inner.len(), |(i, _)| i);
        let go_re_space = |c: char| matches!(c, '\t' | '\n' | '\u{c}' | '\r' | ' ');
        let after_name = inner[name_len..].trim_start_matches(go_re_space);
        let value_part = after_name
            .strip_prefix('=')
            .map(|v| v.trim_start_matches(go_re_space));
        // `\s*=\s*(.+?)\s*$`: the value is trimmed, but an all-blank value keeps its last
        // blank (the lazy group must match one character).
        let after_eq = after_name.strip_prefix('=');
        let value = value_part.map(|v| v.trim_end_matches(go_re_space));
        let (Some(after_eq), Some(mut value), true) = (after_eq, value, name_len > 0) else {
            self.directives_done = true;
            return None;
        };
        let mut value_start = body_start + body.len() - value_part.unwrap_or_default().len();
        if value.is_empty() && !after_eq.is_empty() {
            value = &after_eq[after_eq.len() - 1..];
            value_start = body_start + body.len() - 1;
        }
        let name = inner[..name_len].to_ascii_lowercase();
        if value.is_empty() || !matches!(name.as_str(), "syntax" | "escape" | "check") {
            self.directives_done = true;
            return None;
        }
        let range = TextRange::new(body_start, body_start + body.len());
        let value_range = TextRange::new(value_start, value_start + value.len());
        if self.directives.iter().any(|d| d.name == name) {
            self.error(
                range,
                format!("only one {name} parser directive can be used"),
            );
        } else if name == "escape" {
            match value {
                "\\" => self.escape = '\\',
                "`" => self.escape = '`',
                _ => self.error(
                    value_range,
                    format!("invalid escape token '{value}' does not match ` or \\"),
                ),
            }
        }
        self.directives.push(DirectiveData {
            name,
            value: value.to_string(),
            range,
            value_range,
        });
        Some(self.directives.len() - 1)
    }

    /// One physical line of an instruction: words, then the continuation if any.
    fn instruction_line(&mut self, start: usize, line: Line, logical: &mut LogicalLine) -> bool {
        let content = &self.text[start..line.content_end];
        let continuation = self.continuation(content);
        let piece_end = continuation.map_or(line.content_end, |c| start + c);
        self.words(start, piece_end);
        self.token(TokenKind::LineContinuation, piece_end, line.content_end);
        self.newline(line);
        logical.push(start, &self.text[start..piece_end]);
        continuation.is_some()
    }

    fn instruction(&mut self, first: Line, body_start: usize) {
        let first_token = self.tokens.len();
        self.token(TokenKind::Whitespace, first.start, body_start);
        let mut logical = LogicalLine::default();
        let mut continued = self.instruction_line(body_start, first, &mut logical);
        let mut last = first;
        while continued {
            let Some(line) = self.next_line() else { break };
            let content = &self.text[line.start..line.content_end];
            let indent = leading_space(content);
            if content[indent..].starts_with('#') {
                self.token(TokenKind::Whitespace, line.start, line.start + indent);
                self.token(TokenKind::Comment, line.start + indent, line.content_end);
                self.newline(line);
                continue;
            }
            if indent == content.len() {
                self.token(TokenKind::Whitespace, line.start, line.content_end);
                self.newline(line);
                self.errors.push(SyntaxError {
                    range: TextRange::new(line.start, line.content_end),
                    message: "empty continuation line (BuildKit warns; future releases reject it)"
                        .into(),
                    severity: Severity::Warning,
                });
                continue;
            }
            continued = self.instruction_line(line.start, line, &mut logical);
            last = line;
        }

        let mut arg_errors = Vec::new();
        let whole = TextRange::new(0, logical.text().len());
        let command = parse_command(logical.text(), whole, self.escape, &mut arg_errors);
        for e in arg_errors {
            self.error(logical.file_range(e.range), e.message);
        }
        let keyword = logical.file_range(command.keyword);
        if let Some(t) = self.tokens[first_token..]
            .iter_mut()
            .find(|t| t.range == keyword && t.kind == TokenKind::Word)
        {
            t.kind = TokenKind::Keyword;
        }

        let mut end = last.content_end;
        let heredocs = self.heredocs(&command, &logical);
        if let Some(h) = heredocs.last() {
            end = h.terminator.map_or(h.body.end, |t| t.end);
        }
        let line_end = self.pos;
        let index = self.instructions.len();
        self.instructions.push(InstructionData {
            range: TextRange::new(keyword.start.min(end), end),
            line_range: TextRange::new(first.start, line_end),
            tokens: first_token..self.tokens.len(),
            logical,
            command,
            heredocs,
        });
        self.items.push(Item {
            kind: ItemKind::Instruction(index),
            range: TextRange::new(first.start, line_end),
            tokens: first_token..self.tokens.len(),
        });
    }

    /// Heredoc bodies follow the instruction's last line, one after another.
    fn heredocs(&mut self, command: &CommandData, logical: &LogicalLine) -> Vec<HeredocData> {
        let target = match &command.args {
            ArgsData::Onbuild(child) => child.as_ref(),
            _ => command,
        };
        if !target.kind.allows_heredoc() || target.json || !logical.text().contains("<<") {
            return Vec::new();
        }
        let markers = match heredocs_in_line(logical.text()) {
            Ok(markers) => markers,
            Err(e) => {
                let range = logical.file_range(TextRange::new(0, logical.text().len()));
                self.error(range, format!("failed to process heredoc: {}", e.0));
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(markers.len());
        for marker in markers {
            let marker_range = logical.file_range(marker.range);
            let body_start = self.pos;
            let mut body_end = body_start;
            let mut terminator = None;
            while let Some(line) = self.next_line() {
                let content = &self.text[line.start..line.content_end];
                let candidate = if marker.chomp {
                    content.trim_start_matches('\t')
                } else {
                    content
                };
                if candidate == marker.name {
                    self.token(TokenKind::HeredocEnd, line.start, line.content_end);
                    self.newline(line);
                    terminator = Some(TextRange::new(line.start, line.content_end));
                    break;
                }
                self.token(TokenKind::HeredocBody, line.start, line.content_end);
                self.newline(line);
                body_end = line.end;
            }
            if terminator.is_none() {
                self.error(
                    marker_range,
                    format!("unterminated heredoc {}", marker.name),
                );
            }
            out.push(HeredocData {
                marker,
                marker_range,
                body: TextRange::new(body_start, body_end),
                terminator,
            });
        }
        out
    }
}

fn line_of(start: usize, content_end: usize, end: usize) -> Line {
    Line {
        start,
        content_end,
        end,
    }
}
