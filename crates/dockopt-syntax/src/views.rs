//! Typed views over the parsed data: instructions, flags, arguments, heredocs, stages.
//! Every view gives values as Docker reads them and ranges into the file.

use crate::Dockerfile;
use crate::command::{ArgsData, CommandData, InstructionKind};
use crate::parser::{DirectiveData, HeredocData, InstructionData};
use crate::text::TextRange;
use crate::token::Token;
use crate::vars::{self, VarRef};
use crate::words::RawWord;

/// A parser directive (`# syntax=...`, `# escape=...`, `# check=...`).
#[derive(Clone, Copy, Debug)]
pub struct Directive<'a> {
    pub(crate) data: &'a DirectiveData,
}

impl<'a> Directive<'a> {
    /// The name, lower-cased.
    pub fn name(self) -> &'a str {
        &self.data.name
    }
    pub fn value(self) -> &'a str {
        &self.data.value
    }
    /// The directive line's text from `#` on.
    pub fn range(self) -> TextRange {
        self.data.range
    }
    pub fn value_range(self) -> TextRange {
        self.data.value_range
    }
}

/// One instruction. ONBUILD's inner instruction is an `Instruction` too (see
/// [`Instruction::onbuild_child`]); it shares the outer one's lines.
#[derive(Clone, Copy, Debug)]
pub struct Instruction<'a> {
    file: &'a Dockerfile,
    data: &'a InstructionData,
    command: &'a CommandData,
    index: usize,
}

/// A word of an instruction's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word<'a> {
    /// The value as BuildKit's parser keeps it (quotes and escapes as written).
    pub value: &'a str,
    /// Where it is in the file (spanning continuation lines if it does).
    pub range: TextRange,
}

/// An element of an exec-form (JSON) array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonElement<'a> {
    /// The decoded string.
    pub value: &'a str,
    /// The element as written, quotes included.
    pub range: TextRange,
}

/// A `--name[=value]` builder flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag<'a> {
    /// The whole flag after quote removal, e.g. `--mount=type=cache,target=/x`.
    pub text: &'a str,
    pub range: TextRange,
}

impl<'a> Flag<'a> {
    /// The name without dashes: `mount`.
    pub fn name(self) -> &'a str {
        let body = self.text.trim_start_matches('-');
        body.split_once('=').map_or(body, |(name, _)| name)
    }

    /// What follows `=`, if anything.
    pub fn value(self) -> Option<&'a str> {
        self.text.split_once('=').map(|(_, value)| value)
    }

    /// The value as comma-separated `key=value` fields (`--mount`, `--secret`), with
    /// double-quoted fields unquoted as Go's `encoding/csv` does.
    pub fn fields(self) -> Vec<(String, Option<String>)> {
        self.value().map(csv_fields).unwrap_or_default()
    }

    /// The value of one field of [`Flag::fields`], by key (case-insensitive).
    pub fn field(self, key: &str) -> Option<String> {
        self.fields()
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v)
    }
}

fn csv_fields(value: &str) -> Vec<(String, Option<String>)> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars().peekable();
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => fields.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    fields.push(current);
    fields
        .into_iter()
        .filter(|f| !f.is_empty())
        .map(|f| match f.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), Some(v.to_string())),
            None => (f.trim().to_string(), None),
        })
        .collect()
}

/// A `KEY=value` pair of ENV or LABEL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyValue<'a> {
    pub key: Word<'a>,
    /// The value as written (quotes kept); see [`KeyValue::unquoted_value`].
    pub value: Word<'a>,
    /// The legacy `ENV key value` form.
    pub legacy: bool,
}

impl KeyValue<'_> {
    /// The value after quote and escape removal, as Docker stores it (variables unexpanded).
    /// BuildKit expands legacy `ENV A "x y"` values too, so they lose their quotes as well.
    pub fn unquoted_value(&self, escape: char) -> String {
        unquote(self.value.value, escape)
    }
}

/// Removes shell-style quotes and escapes from a word (no expansion).
pub(crate) fn unquote(word: &str, escape: char) -> String {
    let mut out = String::with_capacity(word.len());
    let mut chars = word.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => out.push(c),
            (Some(_), c) if c == escape => match chars.next() {
                Some(n @ ('"' | '$')) => out.push(n),
                Some(n) if n == escape => out.push(n),
                Some(n) => {
                    out.push(c);
                    out.push(n);
                }
                None => {}
            },
            (None, c) if c == escape => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            (_, c) => out.push(c),
        }
    }
    out
}

/// A heredoc of a RUN, COPY or ADD.
#[derive(Clone, Copy, Debug)]
pub struct Heredoc<'a> {
    file: &'a Dockerfile,
    data: &'a HeredocData,
}

impl<'a> Heredoc<'a> {
    /// The terminator word (`EOF`).
    pub fn name(self) -> &'a str {
        &self.data.marker.name
    }
    /// `<<-`: leading tabs are stripped.
    pub fn chomp(self) -> bool {
        self.data.marker.chomp
    }
    /// False when the terminator was quoted: no variable expansion in the body.
    pub fn expand(self) -> bool {
        self.data.marker.expand
    }
    pub fn fd(self) -> u32 {
        self.data.marker.fd
    }
    /// The `<<EOF` marker on the instruction line.
    pub fn marker_range(self) -> TextRange {
        self.data.marker_range
    }
    /// The body lines, line endings included.
    pub fn body_range(self) -> TextRange {
        self.data.body
    }
    pub fn body(self) -> &'a str {
        &self.file.text[self.data.body.range()]
    }
    /// The terminator line, `None` when the file ends first.
    pub fn terminator_range(self) -> Option<TextRange> {
        self.data.terminator
    }
}

/// A piece of the shell text Docker hands to `/bin/sh -c` (see [`Instruction::shell_pieces`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShellPiece {
    /// Bytes of the file, verbatim.
    File(TextRange),
    /// Text Docker adds that is not in the file, placed at a file offset.
    Synthetic { text: String, anchor: usize },
}

/// The arguments of a FROM.
#[derive(Clone, Copy, Debug)]
pub struct From<'a> {
    pub image: Word<'a>,
    /// The stage name after `AS`, as written.
    pub stage_name: Option<Word<'a>>,
    pub platform: Option<Flag<'a>>,
}

impl<'a> Instruction<'a> {
    pub(crate) fn top(file: &'a Dockerfile, index: usize) -> Self {
        let data = &file.instructions[index];
        Self {
            file,
            data,
            command: &data.command,
            index,
        }
    }

    fn word(self, raw: &'a RawWord) -> Word<'a> {
        Word {
            value: &raw.value,
            range: self.data.logical.file_range(raw.range),
        }
    }

    /// The position of this instruction in the file (ONBUILD's child shares its parent's).
    pub fn index(self) -> usize {
        self.index
    }

    pub fn file(self) -> &'a Dockerfile {
        self.file
    }

    pub fn kind(self) -> InstructionKind {
        self.command.kind
    }

    /// The keyword as written (`run`, `RUN`).
    pub fn keyword(self) -> &'a str {
        &self.data.logical.text()[self.command.keyword.range()]
    }

    pub fn keyword_range(self) -> TextRange {
        self.data.logical.file_range(self.command.keyword)
    }

    /// From the keyword to the end of the last line's text (heredoc terminators included).
    pub fn range(self) -> TextRange {
        if std::ptr::eq(self.command, &raw const self.data.command) {
            self.data.range
        } else {
            TextRange::new(self.keyword_range().start, self.data.range.end)
        }
    }

    /// Whole lines: leading blanks and the final line ending included.
    pub fn line_range(self) -> TextRange {
        self.data.line_range
    }

    /// The file text of [`Instruction::range`].
    pub fn text(self) -> &'a str {
        &self.file.text[self.range().range()]
    }

    pub fn tokens(self) -> &'a [Token] {
        &self.file.tokens[self.data.tokens.clone()]
    }

    /// The text Docker sees: continuation lines joined, comment and empty lines dropped.
    pub fn logical_text(self) -> &'a str {
        self.data.logical.text()
    }

    pub fn flags(self) -> impl ExactSizeIterator<Item = Flag<'a>> + 'a {
        let logical = &self.data.logical;
        self.command.flags.iter().map(move |raw| Flag {
            text: &raw.value,
            range: logical.file_range(raw.range),
        })
    }

    /// The first flag with this name (without dashes).
    pub fn flag(self, name: &str) -> Option<Flag<'a>> {
        self.flags().find(|f| f.name() == name)
    }

    /// Exec form (a JSON array).
    pub fn is_exec_form(self) -> bool {
        self.command.json
    }

    /// Everything after the flags, trimmed, as Docker sees it.
    pub fn args_text(self) -> &'a str {
        &self.data.logical.text()[self.command.args_range.range()]
    }

    /// The file range of [`Instruction::args_text`] (empty, at the end, when there are none).
    pub fn args_range(self) -> TextRange {
        self.data.logical.file_range(self.command.args_range)
    }

    /// Exec-form elements; `None` in shell form.
    pub fn json_array(self) -> Option<Vec<JsonElement<'a>>> {
        let elements = match &self.command.args {
            ArgsData::Json(elements) => elements,
            ArgsData::Healthcheck { command, .. } => match command.as_ref() {
                ArgsData::Json(elements) => elements,
                _ => return None,
            },
            _ => return None,
        };
        let logical = &self.data.logical;
        Some(
            elements
                .iter()
                .map(|e| JsonElement {
                    value: &e.value,
                    range: logical.file_range(e.range),
                })
                .collect(),
        )
    }

    /// The argument words: whitespace-split for FROM, EXPOSE, ADD, COPY, VOLUME; quote-aware
    /// for ARG; the single shell-form text for RUN, CMD, ENTRYPOINT, SHELL, USER, WORKDIR,
    /// MAINTAINER, STOPSIGNAL; exec-form elements as written. Empty for ENV/LABEL (see
    /// [`Instruction::key_values`]), HEALTHCHECK and ONBUILD.
    pub fn words(self) -> Vec<Word<'a>> {
        match &self.command.args {
            ArgsData::Words(words) => words.iter().map(|w| self.word(w)).collect(),
            ArgsData::Text(text) => vec![self.word(text)],
            ArgsData::Json(elements) => elements
                .iter()
                .map(|e| Word {
                    value: &e.value,
                    range: self.data.logical.file_range(e.range),
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// ENV and LABEL pairs.
    pub fn key_values(self) -> Vec<KeyValue<'a>> {
        match &self.command.args {
            ArgsData::KeyValues(pairs) => pairs
                .iter()
                .map(|p| KeyValue {
                    key: self.word(&p.key),
                    value: self.word(&p.value),
                    legacy: p.legacy,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// HEALTHCHECK's type word (`CMD`, `NONE`).
    pub fn healthcheck_kind(self) -> Option<Word<'a>> {
        match &self.command.args {
            ArgsData::Healthcheck { kind, .. } => Some(self.word(kind)),
            _ => None,
        }
    }

    /// The shell-form command text (RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK CMD), if any.
    pub fn shell_command(self) -> Option<Word<'a>> {
        match &self.command.args {
            ArgsData::Text(text) if self.is_shell_kind() => Some(self.word(text)),
            ArgsData::Healthcheck { command, .. } => match command.as_ref() {
                ArgsData::Text(text) => Some(self.word(text)),
                _ => None,
            },
            _ => None,
        }
    }

    fn is_shell_kind(self) -> bool {
        matches!(
            self.kind(),
            InstructionKind::Run
                | InstructionKind::Cmd
                | InstructionKind::Entrypoint
                | InstructionKind::Shell
        )
    }

    /// ONBUILD's inner instruction.
    pub fn onbuild_child(self) -> Option<Instruction<'a>> {
        match &self.command.args {
            ArgsData::Onbuild(child) => Some(Instruction {
                command: child,
                ..self
            }),
            _ => None,
        }
    }

    pub fn heredocs(self) -> impl ExactSizeIterator<Item = Heredoc<'a>> + 'a {
        let file = self.file;
        self.data
            .heredocs
            .iter()
            .map(move |data| Heredoc { file, data })
    }

    /// FROM's image, stage name and platform.
    pub fn from(self) -> Option<From<'a>> {
        if self.kind() != InstructionKind::From {
            return None;
        }
        let words = self.words();
        let image = *words.first()?;
        let stage_name =
            (words.len() == 3 && words[1].value.eq_ignore_ascii_case("as")).then(|| words[2]);
        Some(From {
            image,
            stage_name,
            platform: self.flag("platform"),
        })
    }

    /// The exact text `/bin/sh -c` receives for a shell-form RUN (CMD, ENTRYPOINT,
    /// HEALTHCHECK CMD too), as pieces of the file plus the joints Docker adds.
    ///
    /// `RUN <<EOF` alone runs the heredoc body as the script; any other heredoc RUN gets the
    /// command line, then each body followed by its terminator, as BuildKit reconstitutes it.
    /// `None` for exec form, for instructions without a shell command, and for a lone heredoc
    /// whose body starts with `#!` (BuildKit executes it directly). The stage's `SHELL` is
    /// not considered here: callers that care must check it.
    pub fn shell_pieces(self) -> Option<Vec<ShellPiece>> {
        let command = self.shell_command()?;
        let logical = &self.data.logical;
        let args = match &self.command.args {
            ArgsData::Healthcheck { command, .. } => match command.as_ref() {
                ArgsData::Text(t) => t.range,
                _ => return None,
            },
            _ => self.command.args_range,
        };
        let heredocs = &self.data.heredocs;
        if self.kind() == InstructionKind::Run && !heredocs.is_empty() {
            let lone_marker = heredocs.len() == 1
                && heredocs[0].marker_range == command.range
                && command
                    .value
                    .starts_with(|c: char| c == '<' || c.is_ascii_digit());
            if lone_marker {
                // BuildKit runs a body that starts with `#!` as its own program, not through
                // the shell; that script is not shell text.
                let body = &self.file.text[heredocs[0].body.range()];
                if body.trim_start_matches('\t').starts_with("#!") {
                    return None;
                }
                return Some(self.body_pieces(&heredocs[0]));
            }
            let mut pieces: Vec<ShellPiece> = logical
                .file_pieces(args)
                .into_iter()
                .map(ShellPiece::File)
                .collect();
            for h in heredocs {
                pieces.push(ShellPiece::Synthetic {
                    text: "\n".into(),
                    anchor: h.body.start,
                });
                pieces.extend(self.body_pieces(h));
                match h.terminator {
                    Some(t) => {
                        let text = &self.file.text[t.range()];
                        let tabs = text.len() - text.trim_start_matches('\t').len();
                        pieces.push(ShellPiece::File(TextRange::new(t.start + tabs, t.end)));
                    }
                    None => pieces.push(ShellPiece::Synthetic {
                        text: h.marker.name.clone(),
                        anchor: h.body.end,
                    }),
                }
            }
            return Some(pieces);
        }
        Some(
            logical
                .file_pieces(args)
                .into_iter()
                .map(ShellPiece::File)
                .collect(),
        )
    }

    /// A heredoc body as pieces: whole, or line by line without leading tabs for `<<-`.
    fn body_pieces(self, h: &HeredocData) -> Vec<ShellPiece> {
        if !h.marker.chomp {
            return if h.body.is_empty() {
                Vec::new()
            } else {
                vec![ShellPiece::File(h.body)]
            };
        }
        let body = &self.file.text[h.body.range()];
        let mut pieces = Vec::new();
        let mut at = h.body.start;
        for line in body.split_inclusive('\n') {
            let tabs = line.len() - line.trim_start_matches('\t').len();
            if tabs < line.len() {
                pieces.push(ShellPiece::File(TextRange::new(at + tabs, at + line.len())));
            }
            at += line.len();
        }
        pieces
    }

    /// Variable references (`$A`, `${A:-x}`) in the flags and arguments, outside single quotes.
    pub fn var_refs(self) -> Vec<VarRef> {
        let logical = &self.data.logical;
        let mut refs = Vec::new();
        let start = self
            .command
            .flags
            .first()
            .map_or(self.command.args_range.start, |f| f.range.start);
        let span = TextRange::new(start, self.command.args_range.end);
        vars::scan(
            logical.text(),
            span,
            self.file.escape,
            &mut |mut r: VarRef| {
                r.range = logical.file_range(r.range);
                refs.push(r);
            },
        );
        refs
    }
}

/// A build stage: a FROM and the instructions up to the next FROM.
#[derive(Clone, Debug)]
pub struct Stage<'a> {
    pub index: usize,
    pub from: Instruction<'a>,
    pub instructions: Vec<Instruction<'a>>,
}

impl<'a> Stage<'a> {
    pub(crate) fn new(index: usize, from: Instruction<'a>) -> Self {
        Self {
            index,
            from,
            instructions: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, instruction: Instruction<'a>) {
        self.instructions.push(instruction);
    }

    /// The name after `AS`, as written.
    pub fn name(&self) -> Option<&'a str> {
        self.from.from()?.stage_name.map(|w| w.value)
    }

    /// The base image or stage reference after FROM.
    pub fn base(&self) -> Option<&'a str> {
        self.from.from().map(|f| f.image.value)
    }

    /// From the FROM to the end of the stage's last instruction.
    pub fn range(&self) -> TextRange {
        let end = self
            .instructions
            .last()
            .map_or(self.from.range(), |i| i.range());
        self.from.range().cover(end)
    }
}

#[cfg(test)]
mod tests {
    use super::unquote;

    #[test]
    fn unquote_like_docker() {
        assert_eq!(unquote(r#""a b""#, '\\'), "a b");
        assert_eq!(unquote(r"a\ b", '\\'), "a b");
        assert_eq!(unquote(r"'x\y'", '\\'), r"x\y");
        assert_eq!(unquote(r#""a\"b\n""#, '\\'), "a\"b\\n");
    }
}
