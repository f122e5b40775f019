//! BuildKit's word splitters, with the byte range of every word.
//!
//! Each function follows the behaviour of the BuildKit function named in its doc, so that
//! the dump matches BuildKit's, but works on characters rather than bytes (BuildKit's flag
//! scanner reads bytes and garbles non-ASCII flags; no real Dockerfile depends on that).

use crate::text::{TextRange, is_go_space, is_split_space};

/// A word of an instruction: its range (in the text it was split from) and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawWord {
    pub range: TextRange,
    pub value: String,
}

fn chars_at(s: &str) -> Vec<(usize, char)> {
    s.char_indices().collect()
}

/// The character at byte `pos` of `s` and its width (`'\0'`, 0 at the end).
fn char_at(s: &str, pos: usize) -> (char, usize) {
    s[pos..]
        .chars()
        .next()
        .map_or(('\0', 0), |c| (c, c.len_utf8()))
}

/// `extractBuilderFlags`: leading `--flag` words, then where the rest starts.
/// Returns the flags (quotes removed, escapes applied) and the offset of the rest.
/// Scans lazily: most instructions have no flags, and the rest can be long.
pub fn extract_flags(s: &str, base: usize, escape: char) -> (Vec<RawWord>, usize) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(char),
    }
    let mut flags = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut word_start = 0;
    let mut blank_ok = false;
    let mut pos = 0;
    loop {
        let at_end = pos >= s.len();
        let (ch, width) = char_at(s, pos);
        if phase == Phase::Spaces {
            if at_end {
                return (flags, s.len() + base);
            }
            if is_go_space(ch) {
                pos += width;
                continue;
            }
            if ch != '-' || !s[pos + width..].starts_with('-') {
                return (flags, pos + base);
            }
            phase = Phase::Word;
            word_start = pos;
        }
        if at_end {
            if word != "--" && (blank_ok || !word.is_empty()) {
                flags.push(RawWord {
                    range: TextRange::new(word_start + base, s.len() + base),
                    value: word,
                });
            }
            return (flags, s.len() + base);
        }
        let mut next = pos + width;
        match phase {
            Phase::Word => {
                if is_go_space(ch) {
                    if word == "--" {
                        return (flags, pos + base);
                    }
                    if blank_ok || !word.is_empty() {
                        flags.push(RawWord {
                            range: TextRange::new(word_start + base, pos + base),
                            value: std::mem::take(&mut word),
                        });
                    }
                    word.clear();
                    blank_ok = false;
                    phase = Phase::Spaces;
                } else if ch == '\'' || ch == '"' {
                    phase = Phase::Quote(ch);
                    blank_ok = true;
                } else if ch == escape {
                    // An escape at the very end is dropped; otherwise it keeps the next char.
                    let (escaped, w) = char_at(s, next);
                    if w > 0 {
                        word.push(escaped);
                        next += w;
                    }
                } else {
                    word.push(ch);
                }
            }
            Phase::Quote(quote) => {
                if ch == quote {
                    phase = Phase::Word;
                } else if ch == escape {
                    let (escaped, w) = char_at(s, next);
                    if w > 0 {
                        word.push(escaped);
                        next += w;
                    } else {
                        phase = Phase::Word;
                    }
                } else {
                    word.push(ch);
                }
            }
            Phase::Spaces => unreachable!("handled above"),
        }
        pos = next;
    }
}

/// `parseWords`: words split at blanks, quotes kept, escape pairs kept (ENV, LABEL, ARG).
pub fn parse_words(s: &str, base: usize, escape: char) -> Vec<RawWord> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(char),
    }
    let chars = chars_at(s);
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut word_start = 0;
    let mut blank_ok = false;
    let mut i = 0;
    loop {
        let at_end = i == chars.len();
        let (pos, ch) = if at_end { (s.len(), '\0') } else { chars[i] };
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if is_go_space(ch) {
                i += 1;
                continue;
            }
            phase = Phase::Word;
            word_start = pos;
        }
        if at_end {
            if blank_ok || !word.is_empty() {
                words.push(RawWord {
                    range: TextRange::new(word_start + base, s.len() + base),
                    value: word,
                });
            }
            break;
        }
        match phase {
            Phase::Word => {
                if is_go_space(ch) {
                    if blank_ok || !word.is_empty() {
                        words.push(RawWord {
                            range: TextRange::new(word_start + base, pos + base),
                            value: std::mem::take(&mut word),
                        });
                    }
                    word.clear();
                    blank_ok = false;
                    phase = Phase::Spaces;
                    i += 1;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    phase = Phase::Quote(ch);
                    blank_ok = true;
                }
                if ch == escape {
                    if i + 1 == chars.len() {
                        i += 1;
                        continue;
                    }
                    word.push(ch);
                    i += 1;
                    word.push(chars[i].1);
                } else {
                    word.push(ch);
                }
                i += 1;
            }
            Phase::Quote(quote) => {
                if ch == quote {
                    phase = Phase::Word;
                }
                if ch == escape && quote != '\'' {
                    if i + 1 == chars.len() {
                        phase = Phase::Word;
                        i += 1;
                        continue;
                    }
                    word.push(ch);
                    i += 1;
                    word.push(chars[i].1);
                } else {
                    word.push(ch);
                }
                i += 1;
            }
            Phase::Spaces => unreachable!("handled above"),
        }
    }
    words
}

/// `reWhitespace.Split(s, -1)`: words between runs of `[\t\v\f\r ]` (FROM, EXPOSE, COPY, ...).
/// `s` is already trimmed, so an empty `s` gives no words.
pub fn split_whitespace(s: &str, base: usize) -> Vec<RawWord> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut words = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (pos, ch) in s.char_indices() {
        if is_split_space(ch) {
            if !in_space {
                words.push(RawWord {
                    range: TextRange::new(start + base, pos + base),
                    value: s[start..pos].to_string(),
                });
                in_space = true;
            }
        } else if in_space {
            start = pos;
            in_space = false;
        }
    }
    let tail_start = if in_space { s.len() } else { start };
    words.push(RawWord {
        range: TextRange::new(tail_start + base, s.len() + base),
        value: s[tail_start..].to_string(),
    });
    words
}

/// `reWhitespace.Split(s, 2)`: the first word and the rest after the blanks that follow it.
pub fn split_first(s: &str) -> (TextRange, Option<usize>) {
    match s.char_indices().find(|&(_, c)| is_split_space(c)) {
        None => (TextRange::new(0, s.len()), None),
        Some((end, _)) => {
            let rest = s[end..]
                .char_indices()
                .find(|&(_, c)| !is_split_space(c))
                .map_or(s.len(), |(i, _)| end + i);
            (TextRange::new(0, end), Some(rest))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(words: &[RawWord]) -> Vec<&str> {
        words.iter().map(|w| w.value.as_str()).collect()
    }

    #[test]
    fn flags_stop_at_first_non_flag_and_at_double_dash() {
        let (flags, rest) = extract_flags("--a=1 --b \"x y\" foo", 0, '\\');
        assert_eq!(values(&flags), ["--a=1", "--b"]);
        assert_eq!(rest, 10);
        let (flags, rest) = extract_flags("--a=\"x y\" -- --b foo", 0, '\\');
        assert_eq!(values(&flags), ["--a=x y"]);
        assert_eq!(&"--a=\"x y\" -- --b foo"[rest..], " --b foo");
        let (flags, rest) = extract_flags("-- foo", 0, '\\');
        assert!(flags.is_empty());
        assert_eq!(rest, 2);
        let (flags, _) = extract_flags("--mount=type=cache,target=/x", 5, '\\');
        assert_eq!(flags[0].range, TextRange::new(5, 33));
    }

    #[test]
    fn words_keep_quotes_and_escapes() {
        let words = parse_words(r#"a="b c" d\ e 'f\'"#, 0, '\\');
        assert_eq!(values(&words), [r#"a="b c""#, r"d\ e", r"'f\'"]);
        assert_eq!(words[1].range, TextRange::new(8, 12));
    }

    #[test]
    fn whitespace_split_and_first() {
        let words = split_whitespace("a \t b", 3);
        assert_eq!(values(&words), ["a", "b"]);
        assert_eq!(words[1].range, TextRange::new(7, 8));
        assert_eq!(split_first("RUN  x"), (TextRange::new(0, 3), Some(5)));
        assert_eq!(split_first("RUN"), (TextRange::new(0, 3), None));
    }
}
