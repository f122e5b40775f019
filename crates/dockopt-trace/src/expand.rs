//! Docker's variable substitution in instruction arguments (ENV, ARG, WORKDIR, FROM).
//!
//! BuildKit processes such a word with its own small shell lexer, not with `/bin/sh`: single
//! quotes keep their text, double quotes allow `$` expansions, the escape character (`\`, or
//! the backtick under `# escape=``) keeps the next character, and `$V`, `${V}`, `${V:-x}`,
//! `${V-x}`, `${V:+x}`, `${V+x}`, `${V:?x}`, `${V?x}` and `${V#x}`, `${V%x}` with a literal
//! pattern are expanded; unset variables expand to nothing. Quotes are removed. The oracle
//! needs the same values BuildKit computes so that the environment and working directory of
//! each replayed RUN are right; anything this module does not understand (glob patterns,
//! `${V/x/y}`, unterminated quotes) is an error, and the caller skips the stage rather than
//! guess.
//!
//! This is written from the Dockerfile reference, independently of dockopt's own parser.

use std::fmt;

/// Why a word cannot be expanded as BuildKit would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpandError(pub String);

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExpandError {}

/// Expands `word` as BuildKit does, looking variables up with `vars` (`None`: unset).
pub fn expand_word(
    word: &str,
    escape: char,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut lexer = Lexer {
        chars: word.chars().collect(),
        pos: 0,
        escape,
        vars,
    };
    lexer.word(None)
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    vars: &'a dyn Fn(&str) -> Option<String>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// Text up to the end, or up to an unquoted `stop` (left unconsumed).
    fn word(&mut self, stop: Option<char>) -> Result<String, ExpandError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                return Ok(out);
            }
            self.pos += 1;
            match c {
                '\'' => self.single_quoted(&mut out)?,
                '"' => self.double_quoted(&mut out)?,
                '$' => out.push_str(&self.dollar()?),
                c if c == self.escape => {
                    // An escape at the very end of the word is dropped.
                    if let Some(next) = self.bump() {
                        out.push(next);
                    }
                }
                c => out.push(c),
            }
        }
        match stop {
            Some(s) => Err(ExpandError(format!("missing '{s}'"))),
            None => Ok(out),
        }
    }

    fn single_quoted(&mut self, out: &mut String) -> Result<(), ExpandError> {
        loop {
            match self.bump() {
                Some('\'') => return Ok(()),
                Some(c) => out.push(c),
                None => return Err(ExpandError("unterminated single quote".into())),
            }
        }
    }

    fn double_quoted(&mut self, out: &mut String) -> Result<(), ExpandError> {
        loop {
            match self.bump() {
                Some('"') => return Ok(()),
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) if c == self.escape => match self.peek() {
                    // Inside double quotes only `"`, `$` and the escape itself are escaped;
                    // other escapes stay as written.
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.pos += 1;
                        out.push(n);
                    }
                    Some(_) => out.push(c),
                    None => {}
                },
                Some(c) => out.push(c),
                None => return Err(ExpandError("unterminated double quote".into())),
            }
        }
    }

    /// A variable name: digits only when it starts with a digit, else letters, digits, `_`.
    fn name(&mut self) -> String {
        let mut name = String::new();
        let digits = self.peek().is_some_and(|c| c.is_ascii_digit());
        while let Some(c) = self.peek() {
            let ok = if digits {
                c.is_ascii_digit()
            } else {
                c.is_alphanumeric() || c == '_'
            };
            if !ok {
                break;
            }
            name.push(c);
            self.pos += 1;
        }
        name
    }

    /// After a `$`.
    fn dollar(&mut self) -> Result<String, ExpandError> {
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok((self.vars)(&name).unwrap_or_default());
        }
        self.pos += 1;
        let name = self.name();
        if name.is_empty() {
            return Err(ExpandError("bad substitution: empty name".into()));
        }
        let value = (self.vars)(&name);
        let (colon, op) = match self.bump() {
            Some('}') => return Ok(value.unwrap_or_default()),
            Some(':') => match self.bump() {
                Some(op @ ('-' | '+' | '?')) => (true, op),
                other => {
                    return Err(ExpandError(format!(
                        "unsupported substitution ${{{name}:{}",
                        other.map(String::from).unwrap_or_default()
                    )));
                }
            },
            Some(op @ ('-' | '+' | '?')) => (false, op),
            Some(op @ ('#' | '%')) => {
                // Prefix and suffix removal, with a literal pattern only (`##`, `%%` are
                // the same for a literal); a glob pattern is not evaluated.
                if self.peek() == Some(op) {
                    self.pos += 1;
                }
                let pattern = self.word(Some('}'))?;
                self.pos += 1;
                if pattern.contains(['*', '?', '[']) {
                    return Err(ExpandError(format!(
                        "unsupported substitution ${{{name}{op}{pattern}}}"
                    )));
                }
                let value = value.unwrap_or_default();
                let cut = if op == '#' {
                    value.strip_prefix(pattern.as_str())
                } else {
                    value.strip_suffix(pattern.as_str())
                };
                return Ok(cut.unwrap_or(&value).to_owned());
            }
            Some(other) => {
                return Err(ExpandError(format!(
                    "unsupported substitution ${{{name}{other}...}}"
                )));
            }
            None => return Err(ExpandError("unterminated ${".into())),
        };
        let word = self.word(Some('}'))?;
        self.pos += 1; // the `}`
        // With a colon an empty value counts as unset.
        let set = match &value {
            Some(v) => !colon || !v.is_empty(),
            None => false,
        };
        match op {
            '-' => Ok(if set { value.unwrap_or_default() } else { word }),
            '+' => Ok(if set { word } else { String::new() }),
            _ => {
                if set {
                    Ok(value.unwrap_or_default())
                } else {
                    Err(ExpandError(format!("${{{name}}} is required: {word}")))
                }
            }
        }
    }
}

/// Joins `path` to `base` when it is relative and normalises `.`, `..` and repeated `/`,
/// as Go's `path.Join` does for WORKDIR.
pub fn join_path(base: &str, path: &str) -> String {
    let full = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{base}/{path}")
    };
    clean_path(&full)
}

/// An absolute path without `.`, `..` or empty components (`/` for nothing).
pub fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/root".into()),
            "EMPTY" => Some(String::new()),
            "V" => Some("1.2".into()),
            "1" => Some("one".into()),
            _ => None,
        }
    }

    fn x(word: &str) -> String {
        expand_word(word, '\\', &env).unwrap()
    }

    #[test]
    fn plain_and_braced_names() {
        assert_eq!(x("$HOME/bin"), "/root/bin");
        assert_eq!(x("${HOME}bin"), "/rootbin");
        assert_eq!(x("$V.$V"), "1.2.1.2");
        assert_eq!(x("$NOPE-x"), "-x");
        assert_eq!(x("a$"), "a$");
        assert_eq!(x("$ a"), "$ a");
        assert_eq!(x("$1x"), "onex");
    }

    #[test]
    fn modifiers() {
        assert_eq!(x("${NOPE:-/usr}"), "/usr");
        assert_eq!(x("${EMPTY:-d}"), "d");
        assert_eq!(x("${EMPTY-d}"), "");
        assert_eq!(x("${NOPE-d}"), "d");
        assert_eq!(x("${V:-d}"), "1.2");
        assert_eq!(x("${V:+set}"), "set");
        assert_eq!(x("${EMPTY:+set}"), "");
        assert_eq!(x("${EMPTY+set}"), "set");
        assert_eq!(x("${NOPE:+set}"), "");
        assert_eq!(x("${NOPE:-$HOME/x}"), "/root/x");
        assert_eq!(x("${NOPE:-${V:-q}}"), "1.2");
        assert_eq!(x("${V:?must}"), "1.2");
        assert!(expand_word("${NOPE:?must}", '\\', &env).is_err());
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(x("'$HOME'"), "$HOME");
        assert_eq!(x("\"$HOME x\""), "/root x");
        assert_eq!(x(r"\$HOME"), "$HOME");
        assert_eq!(x(r#""a\"b\$c\d""#), r#"a"b$c\d"#);
        assert_eq!(x(r"a\ b"), "a b");
        assert_eq!(x("a\\"), "a");
        assert_eq!(
            expand_word("`$HOME `\"x`\"", '`', &env).unwrap(),
            "$HOME \"x\""
        );
        assert_eq!(expand_word(r"C:\path", '`', &env).unwrap(), r"C:\path");
    }

    #[test]
    fn what_is_not_understood_is_an_error() {
        for bad in [
            "${V#*.}",
            "${V/1/2}",
            "${V%[0-9]}",
            "'open",
            "\"open",
            "${V",
            "${}",
        ] {
            assert!(expand_word(bad, '\\', &env).is_err(), "{bad}");
        }
    }

    #[test]
    fn literal_prefix_and_suffix_removal() {
        assert_eq!(x("${V#1.}"), "2");
        assert_eq!(x("${V##1.}"), "2");
        assert_eq!(x("${V%.2}"), "1");
        assert_eq!(x("${V%%x}"), "1.2");
        assert_eq!(x("${NOPE#linux/amd64}"), "");
    }

    #[test]
    fn paths() {
        assert_eq!(join_path("/", "app"), "/app");
        assert_eq!(join_path("/app", "src/../lib/"), "/app/lib");
        assert_eq!(join_path("/app", "/abs//x/."), "/abs/x");
        assert_eq!(join_path("/", ".."), "/");
        assert_eq!(clean_path(""), "/");
    }
}
