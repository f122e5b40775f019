//! A lossless Dockerfile concrete syntax tree that never fails to parse.
//!
//! [`parse`] turns any text into a [`Dockerfile`]: a flat vector of [`Token`]s that covers
//! every byte exactly once (so printing the tokens gives the input back, byte for byte),
//! the top-level [`Item`]s (directives, comments, blank lines, instructions), typed views
//! over instructions, and the errors BuildKit would report, each with its range. Broken
//! files still parse; the errors say what BuildKit would reject.
//!
//! The grammar follows BuildKit's parser (`frontend/dockerfile/parser`): parser directives at
//! the top, `# escape=`, continuation lines with comment and empty lines inside, heredocs,
//! builder flags, exec (JSON) and shell forms, the ENV/LABEL/ARG forms, ONBUILD, HEALTHCHECK,
//! and unknown instructions. Every instruction keeps its *logical line* (the text Docker sees
//! once continuations are joined) with a map back to file offsets, so every view can give
//! both the value Docker uses and the exact bytes in the file.

mod command;
mod dump;
mod heredoc;
mod json;
mod logical;
mod parser;
mod stages;
mod text;
mod token;
mod tree;
mod vars;
mod views;
mod words;

pub use command::InstructionKind;
pub use dump::go_quote;
pub use parser::{Item, ItemKind};
pub use stages::{EdgeKind, StageEdge, StageGraph, StageRef};
pub use text::{LineCol, LineIndex, TextRange};
pub use token::{Token, TokenKind};
pub use vars::VarRef;
pub use views::{
    Directive, Flag, From, Heredoc, Instruction, JsonElement, KeyValue, ShellPiece, Stage, Word,
};

use parser::{DirectiveData, InstructionData};

/// Parses any text. Never fails: problems are listed in [`Dockerfile::errors`].
pub fn parse(text: &str) -> Dockerfile {
    parser::parse(text)
}

/// How bad a [`SyntaxError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// BuildKit builds the file but prints a warning.
    Warning,
    /// BuildKit's parser rejects the file.
    Error,
}

/// A problem found while parsing, with the range it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub range: TextRange,
    pub message: String,
    pub severity: Severity,
}

/// A parsed Dockerfile. See the crate documentation.
#[derive(Clone, Debug)]
pub struct Dockerfile {
    text: String,
    tokens: Vec<Token>,
    items: Vec<Item>,
    instructions: Vec<InstructionData>,
    directives: Vec<DirectiveData>,
    errors: Vec<SyntaxError>,
    escape: char,
    line_index: LineIndex,
}

impl Dockerfile {
    pub fn parse(text: &str) -> Self {
        parse(text)
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every token, in order; together they cover the text exactly once.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// Directives, comments, blank lines and instructions, in order (the BOM is outside them).
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The text re-printed from the tokens.
    pub fn print(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        for token in &self.tokens {
            out.push_str(token.text(&self.text));
        }
        out
    }

    /// Errors and warnings, in the order they were found.
    pub fn errors(&self) -> &[SyntaxError] {
        &self.errors
    }

    /// True when BuildKit's parser would refuse this file.
    pub fn is_rejected(&self) -> bool {
        self.errors.iter().any(|e| e.severity == Severity::Error)
    }

    /// The escape character in effect: a backslash, or the backtick that `# escape=` set.
    pub fn escape_char(&self) -> char {
        self.escape
    }

    pub fn has_bom(&self) -> bool {
        self.text.starts_with('\u{feff}')
    }

    /// The line ending new lines should use: the file's first one, else `\n`.
    pub fn line_ending(&self) -> &'static str {
        match self.text.find('\n') {
            Some(i) if self.text[..i].ends_with('\r') => "\r\n",
            _ => "\n",
        }
    }

    pub fn line_index(&self) -> &LineIndex {
        &self.line_index
    }

    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: usize) -> LineCol {
        self.line_index.line_col(&self.text, offset)
    }

    pub fn directives(&self) -> impl ExactSizeIterator<Item = Directive<'_>> {
        self.directives.iter().map(|data| Directive { data })
    }

    /// The value of the `# syntax=` directive, if any.
    pub fn syntax_directive(&self) -> Option<&str> {
        self.directives
            .iter()
            .find(|d| d.name == "syntax")
            .map(|d| d.value.as_str())
    }

    pub fn instructions(&self) -> impl ExactSizeIterator<Item = Instruction<'_>> {
        (0..self.instructions.len()).map(|i| Instruction::top(self, i))
    }

    pub fn instruction(&self, index: usize) -> Option<Instruction<'_>> {
        (index < self.instructions.len()).then(|| Instruction::top(self, index))
    }

    /// The instructions before the first FROM (global ARGs).
    pub fn global_instructions(&self) -> Vec<Instruction<'_>> {
        self.instructions()
            .take_while(|i| i.kind() != InstructionKind::From)
            .collect()
    }

    /// Build stages: each FROM and the instructions up to the next FROM.
    pub fn stages(&self) -> Vec<Stage<'_>> {
        let mut stages: Vec<Stage<'_>> = Vec::new();
        for instruction in self.instructions() {
            if instruction.kind() == InstructionKind::From {
                stages.push(Stage::new(stages.len(), instruction));
            } else if let Some(stage) = stages.last_mut() {
                stage.push(instruction);
            }
        }
        stages
    }

    /// Which stage reads which: `FROM <stage>`, `COPY --from`, `RUN --mount=from=`.
    pub fn stage_graph(&self) -> StageGraph {
        stages::build(self)
    }

    /// BuildKit's AST dump of the file (`parser.Node.Dump()` plus a final newline), as the
    /// `result` files of its parser tests hold it. Meaningful when the file is not rejected.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for data in &self.instructions {
            out.push('(');
            out.push_str(&dump::dump_command(data.logical.text(), &data.command));
            out.push_str(")\n");
        }
        out
    }

    /// The CST for humans: items, their structure and their tokens.
    pub fn debug_tree(&self) -> String {
        tree::render(self)
    }
}

#[cfg(test)]
mod tests;
