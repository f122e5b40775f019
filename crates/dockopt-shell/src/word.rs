//! Quote removal for shell words, done on the word's text rather than on tree-sitter nodes so
//! that it follows POSIX `sh` (which is what Docker runs) rather than bash.

/// What a word's text means once the shell has removed quotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Literal {
    /// The literal value is the raw text itself (no quotes, no escapes).
    Same,
    /// The literal value differs from the raw text.
    Unquoted(String),
    /// The word contains an expansion (`$x`, `${x}`, `$(..)`, backticks, `$'..'`, `$".."`)
    /// or is malformed (unterminated quote), so it has no value known before run time.
    Dynamic,
}

/// The result of analysing one word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Analysis {
    pub literal: Literal,
    /// Unquoted `*`, `?`, `[` or a `{a,b}`/`{1..3}` brace pattern: the shell may expand it.
    pub pattern: bool,
    /// Unquoted leading `~`: the shell expands it to a home directory.
    pub tilde: bool,
    /// Some part of the word was quoted or escaped.
    pub quoted: bool,
}

/// Whether `$` followed by `next` starts a parameter expansion or substitution in `sh`.
fn starts_expansion(next: Option<char>) -> bool {
    next.is_some_and(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '{' | '(' | '@' | '*' | '#' | '?' | '$' | '!' | '-')
    })
}

/// Like [`starts_expansion`], outside double quotes, where bash also has `$'..'` and `$".."`.
fn starts_unquoted_expansion(next: Option<char>) -> bool {
    starts_expansion(next) || matches!(next, Some('\'' | '"'))
}

/// Removes quotes from `raw` the way `sh` would, without performing expansions.
pub(crate) fn analyse(raw: &str) -> Analysis {
    let mut out = String::new();
    let mut changed = false;
    let mut pattern = false;
    let mut quoted = false;
    let tilde = raw.starts_with('~');
    let mut chars = raw.char_indices().peekable();
    let dynamic = |pattern, quoted| Analysis {
        literal: Literal::Dynamic,
        pattern,
        tilde,
        quoted,
    };
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                changed = true;
                quoted = true;
                match chars.next() {
                    Some((_, '\n')) => {}
                    Some((_, other)) => out.push(other),
                    // A trailing backslash stays literal.
                    None => out.push('\\'),
                }
            }
            '\'' => {
                changed = true;
                quoted = true;
                let mut closed = false;
                for (_, q) in chars.by_ref() {
                    if q == '\'' {
                        closed = true;
                        break;
                    }
                    out.push(q);
                }
                if !closed {
                    return dynamic(pattern, quoted);
                }
            }
            '"' => {
                changed = true;
                quoted = true;
                let mut closed = false;
                while let Some((_, q)) = chars.next() {
                    match q {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.peek().map(|&(_, n)| n) {
                            Some('\n') => {
                                chars.next();
                            }
                            Some(n @ ('$' | '`' | '"' | '\\')) => {
                                chars.next();
                                out.push(n);
                            }
                            _ => out.push('\\'),
                        },
                        '`' => return dynamic(pattern, quoted),
                        // Inside double quotes `$'` and `$"` are not special.
                        '$' if starts_expansion(chars.peek().map(|&(_, n)| n)) => {
                            return dynamic(pattern, quoted);
                        }
                        other => out.push(other),
                    }
                }
                if !closed {
                    return dynamic(pattern, quoted);
                }
            }
            '`' => return dynamic(pattern, quoted),
            '$' if starts_unquoted_expansion(chars.peek().map(|&(_, n)| n)) => {
                return dynamic(pattern, quoted);
            }
            '*' | '?' | '[' => {
                pattern = true;
                out.push(c);
            }
            '{' => {
                pattern |= is_brace_pattern(&raw[i + 1..]);
                out.push(c);
            }
            other => out.push(other),
        }
    }
    Analysis {
        literal: if changed {
            Literal::Unquoted(out)
        } else {
            Literal::Same
        },
        pattern,
        tilde,
        quoted,
    }
}

/// Whether `rest` (the text after an unquoted `{`) closes a bash brace expansion such as
/// `a,b}` or `1..3}`. `{}` (as in `find -exec {} +`) is not a pattern.
fn is_brace_pattern(rest: &str) -> bool {
    let Some(close) = rest.find('}') else {
        return false;
    };
    let inner = &rest[..close];
    !inner.is_empty()
        && !inner.contains(|c: char| c.is_whitespace() || matches!(c, '{' | '\'' | '"' | '\\'))
        && (inner.contains(',') || inner.contains(".."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(raw: &str) -> Option<String> {
        match analyse(raw).literal {
            Literal::Same => Some(raw.to_owned()),
            Literal::Unquoted(s) => Some(s),
            Literal::Dynamic => None,
        }
    }

    #[test]
    fn plain_words_are_unchanged() {
        assert_eq!(analyse("curl").literal, Literal::Same);
        assert_eq!(analyse("--no-cache-dir").literal, Literal::Same);
        assert_eq!(analyse("a=b").literal, Literal::Same);
        assert_eq!(analyse("").literal, Literal::Same);
        assert!(!analyse("curl").quoted);
    }

    #[test]
    fn quotes_and_escapes_are_removed() {
        assert_eq!(value("\"a b\""), Some("a b".into()));
        assert_eq!(value("'c'"), Some("c".into()));
        assert_eq!(value("a\\ b"), Some("a b".into()));
        assert_eq!(value("'it'\\''s'"), Some("it's".into()));
        assert_eq!(value("\"a\\\"b\\\\c\\d\""), Some("a\"b\\c\\d".into()));
        assert_eq!(value("\"\""), Some(String::new()));
        assert_eq!(value("x\\\ny"), Some("xy".into()));
        assert_eq!(value("\"x\\\ny\""), Some("xy".into()));
        assert_eq!(value("a\\"), Some("a\\".into()));
        assert_eq!(value("'$HOME'"), Some("$HOME".into()));
        assert_eq!(value("\"a$\""), Some("a$".into()));
        assert_eq!(value("\"\\$x\""), Some("$x".into()));
        assert_eq!(value("50$"), Some("50$".into()));
        assert_eq!(value("\"$'x'\""), Some("$'x'".into()));
        assert!(analyse("'c'").quoted);
    }

    #[test]
    fn expansions_have_no_value() {
        for raw in [
            "$HOME",
            "\"$HOME\"",
            "${x:-y}",
            "a$(date)",
            "`uname`",
            "\"`uname`\"",
            "$1",
            "$@",
            "$'x'",
            "$\"x\"",
            "$((1+2))",
            "\"unterminated",
            "'unterminated",
        ] {
            assert_eq!(value(raw), None, "{raw}");
        }
    }

    #[test]
    fn patterns_and_tildes_are_flagged_but_literal() {
        let a = analyse("/var/lib/apt/lists/*");
        assert!(a.pattern);
        assert_eq!(a.literal, Literal::Same);
        assert!(!analyse("'*'").pattern);
        assert!(analyse("a{1..3}").pattern);
        assert!(analyse("ab{c,d}").pattern);
        assert!(!analyse("{}").pattern);
        assert!(!analyse("{").pattern);
        let t = analyse("~/x");
        assert!(t.tilde);
        assert_eq!(t.literal, Literal::Same);
        assert!(!analyse("a~").tilde);
    }
}
