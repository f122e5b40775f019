//! One instruction's logical text split as BuildKit splits it: keyword, flags, arguments.
//! All ranges here are offsets into the instruction's logical line.

use crate::json::{JsonArrayError, JsonString, parse_string_array};
use crate::text::{TextRange, trim_space_bounds};
use crate::words::{RawWord, extract_flags, parse_words, split_first, split_whitespace};

/// The instructions BuildKit knows. `Unknown` is kept (BuildKit's parser accepts it and
/// ignores its arguments; its later stage rejects the file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InstructionKind {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
    Unknown,
}

impl InstructionKind {
    pub const ALL: [Self; 18] = [
        Self::Add,
        Self::Arg,
        Self::Cmd,
        Self::Copy,
        Self::Entrypoint,
        Self::Env,
        Self::Expose,
        Self::From,
        Self::Healthcheck,
        Self::Label,
        Self::Maintainer,
        Self::Onbuild,
        Self::Run,
        Self::Shell,
        Self::Stopsignal,
        Self::User,
        Self::Volume,
        Self::Workdir,
    ];

    pub fn from_keyword(keyword: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(keyword))
            .unwrap_or(Self::Unknown)
    }

    /// The keyword in upper case, as Docker's documentation writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Add => "ADD",
            Self::Arg => "ARG",
            Self::Cmd => "CMD",
            Self::Copy => "COPY",
            Self::Entrypoint => "ENTRYPOINT",
            Self::Env => "ENV",
            Self::Expose => "EXPOSE",
            Self::From => "FROM",
            Self::Healthcheck => "HEALTHCHECK",
            Self::Label => "LABEL",
            Self::Maintainer => "MAINTAINER",
            Self::Onbuild => "ONBUILD",
            Self::Run => "RUN",
            Self::Shell => "SHELL",
            Self::Stopsignal => "STOPSIGNAL",
            Self::User => "USER",
            Self::Volume => "VOLUME",
            Self::Workdir => "WORKDIR",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// RUN, COPY and ADD may carry heredocs.
    pub fn allows_heredoc(self) -> bool {
        matches!(self, Self::Run | Self::Copy | Self::Add)
    }
}

/// A `KEY=value` (or legacy `KEY value`) pair of ENV or LABEL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValueData {
    pub key: RawWord,
    /// The value as written (quotes and escapes kept, as BuildKit's parser keeps them).
    pub value: RawWord,
    /// The legacy `ENV key value` form, with no `=`.
    pub legacy: bool,
}

/// Arguments as BuildKit's line parsers shape them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgsData {
    /// No arguments at all.
    None,
    /// Exec form: a JSON array of strings.
    Json(Vec<JsonString>),
    /// One string: shell-form RUN/CMD/ENTRYPOINT/SHELL, and MAINTAINER, USER, WORKDIR, STOPSIGNAL.
    Text(RawWord),
    /// Words: FROM, EXPOSE, shell-form ADD/COPY/VOLUME (split at blanks), ARG (quote-aware).
    Words(Vec<RawWord>),
    /// ENV and LABEL pairs.
    KeyValues(Vec<KeyValueData>),
    /// HEALTHCHECK: its type word (`CMD`, `NONE`) and the command after it.
    Healthcheck {
        kind: RawWord,
        command: Box<ArgsData>,
    },
    /// ONBUILD's inner instruction.
    Onbuild(Box<CommandData>),
    /// An unknown instruction: BuildKit keeps no arguments.
    Ignored,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandData {
    pub kind: InstructionKind,
    pub keyword: TextRange,
    pub flags: Vec<RawWord>,
    /// Everything after the flags, trimmed.
    pub args_range: TextRange,
    pub args: ArgsData,
    /// Exec (JSON) form.
    pub json: bool,
}

/// An error BuildKit's parser reports for an instruction's arguments (logical range).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgsError {
    pub range: TextRange,
    pub message: String,
}

/// Splits the logical text `line[span]` into keyword, flags and arguments.
pub fn parse_command(
    line: &str,
    span: TextRange,
    escape: char,
    errors: &mut Vec<ArgsError>,
) -> CommandData {
    let text = &line[span.range()];
    let (lo, hi) = trim_space_bounds(text);
    let base = span.start + lo;
    let trimmed = &text[lo..hi];
    let (keyword_range, rest) = split_first(trimmed);
    let keyword = TextRange::new(base + keyword_range.start, base + keyword_range.end);
    let kind = InstructionKind::from_keyword(&trimmed[keyword_range.range()]);
    let (flags, args_start) = match rest {
        Some(rest) => extract_flags(&trimmed[rest..], base + rest, escape),
        None => (Vec::new(), base + trimmed.len()),
    };
    let args_text = &line[args_start..base + trimmed.len()];
    let (alo, ahi) = trim_space_bounds(args_text);
    let args_range = TextRange::new(args_start + alo, args_start + ahi);
    let args_text = &line[args_range.range()];
    let mut json = false;
    let args = parse_args(kind, line, args_range, args_text, escape, errors, &mut json);
    CommandData {
        kind,
        keyword,
        flags,
        args_range,
        args,
        json,
    }
}

fn whole(range: TextRange, text: &str) -> RawWord {
    RawWord {
        range,
        value: text.to_string(),
    }
}

fn parse_args(
    kind: InstructionKind,
    line: &str,
    range: TextRange,
    text: &str,
    escape: char,
    errors: &mut Vec<ArgsError>,
    json: &mut bool,
) -> ArgsData {
    use InstructionKind as K;
    match kind {
        K::Run | K::Cmd | K::Entrypoint | K::Shell => maybe_json(range, text, errors, json),
        K::Add | K::Copy | K::Volume => match json_args(range, text, errors) {
            Some(elements) => {
                *json = true;
                ArgsData::Json(elements)
            }
            None => words_or_none(split_whitespace(text, range.start)),
        },
        K::From | K::Expose => words_or_none(split_whitespace(text, range.start)),
        K::Arg => words_or_none(parse_words(text, range.start, escape)),
        K::Env | K::Label => key_values(kind, range, text, escape, errors),
        K::Maintainer | K::User | K::Workdir | K::Stopsignal => {
            if text.is_empty() {
                ArgsData::None
            } else {
                ArgsData::Text(whole(range, text))
            }
        }
        K::Healthcheck => healthcheck(range, text, errors, json),
        K::Onbuild => {
            if text.is_empty() {
                ArgsData::None
            } else {
                ArgsData::Onbuild(Box::new(parse_command(line, range, escape, errors)))
            }
        }
        K::Unknown => ArgsData::Ignored,
    }
}

fn words_or_none(words: Vec<RawWord>) -> ArgsData {
    if words.is_empty() {
        ArgsData::None
    } else {
        ArgsData::Words(words)
    }
}

/// `parseJSON`: `Some` for a JSON array of strings; a JSON array with other values is an error.
fn json_args(range: TextRange, text: &str, errors: &mut Vec<ArgsError>) -> Option<Vec<JsonString>> {
    if !text.starts_with('[') {
        return None;
    }
    match parse_string_array(text, range.start) {
        Ok(elements) => Some(elements),
        Err(JsonArrayError::NotJson) => None,
        Err(JsonArrayError::NotStringArray) => {
            errors.push(ArgsError {
                range,
                message: "when using JSON array syntax, arrays must be comprised of strings only"
                    .into(),
            });
            None
        }
    }
}

/// `parseMaybeJSON`: exec form when the arguments are a JSON string array, else one string.
fn maybe_json(
    range: TextRange,
    text: &str,
    errors: &mut Vec<ArgsError>,
    json: &mut bool,
) -> ArgsData {
    if text.is_empty() {
        return ArgsData::None;
    }
    match json_args(range, text, errors) {
        Some(elements) => {
            *json = true;
            ArgsData::Json(elements)
        }
        None => ArgsData::Text(whole(range, text)),
    }
}

/// `parseHealthConfig`: the first word is the type, the rest a command like CMD's.
fn healthcheck(
    range: TextRange,
    text: &str,
    errors: &mut Vec<ArgsError>,
    json: &mut bool,
) -> ArgsData {
    let is_space = |c: char| c.is_ascii_whitespace() || c == '\u{0b}';
    let sep = text.find(is_space).unwrap_or(text.len());
    if sep == 0 {
        return ArgsData::None;
    }
    let next = text[sep..]
        .find(|c: char| !is_space(c))
        .map_or(text.len(), |i| sep + i);
    let command_range = TextRange::new(range.start + next, range.end);
    ArgsData::Healthcheck {
        kind: whole(TextRange::new(range.start, range.start + sep), &text[..sep]),
        command: Box::new(maybe_json(command_range, &text[next..], errors, json)),
    }
}

/// `parseNameVal`: `KEY=value ...`, or the legacy `KEY value` when the first word has no `=`.
fn key_values(
    kind: InstructionKind,
    range: TextRange,
    text: &str,
    escape: char,
    errors: &mut Vec<ArgsError>,
) -> ArgsData {
    let words = parse_words(text, range.start, escape);
    let Some(first) = words.first() else {
        return ArgsData::None;
    };
    if !first.value.contains('=') {
        let (key, rest) = split_first(text);
        let Some(rest) = rest else {
            errors.push(ArgsError {
                range,
                message: format!("{} must have two arguments", kind.name()),
            });
            return ArgsData::None;
        };
        return ArgsData::KeyValues(vec![KeyValueData {
            key: whole(
                TextRange::new(range.start, range.start + key.end),
                &text[key.range()],
            ),
            value: whole(TextRange::new(range.start + rest, range.end), &text[rest..]),
            legacy: true,
        }]);
    }
    let mut pairs = Vec::with_capacity(words.len());
    for word in words {
        let Some(eq) = word.value.find('=') else {
            errors.push(ArgsError {
                range: word.range,
                message: format!(
                    "Syntax error - can't find = in {}. Must be of the form: name=value",
                    crate::dump::go_quote(&word.value)
                ),
            });
            continue;
        };
        // parse_words keeps the word's text, so `=` sits at the same offset in the file.
        let key_end = word.range.start + eq;
        pairs.push(KeyValueData {
            key: RawWord {
                range: TextRange::new(word.range.start, key_end),
                value: word.value[..eq].to_string(),
            },
            value: RawWord {
                range: TextRange::new(key_end + 1, word.range.end),
                value: word.value[eq + 1..].to_string(),
            },
            legacy: false,
        });
    }
    ArgsData::KeyValues(pairs)
}
