//! BuildKit's AST dump (`parser.Node.Dump`), so the parser can be checked against the
//! `result` files of BuildKit's own parser tests.

use std::fmt::Write as _;

use crate::command::{ArgsData, CommandData};

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint`, without Unicode's table of unassigned code points: control,
/// format, private-use and separator characters (but the ASCII space) are not printable.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format = matches!(
        u,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    );
    let private_or_nonchar = matches!(u, 0xE000..=0xF8FF | 0xF_0000..=0x10_FFFF)
        || (u & 0xFFFE) == 0xFFFE
        || (0xFDD0..=0xFDEF).contains(&u);
    !format && !private_or_nonchar
}

/// One instruction in dump form, without the surrounding parentheses.
pub fn dump_command(line: &str, command: &CommandData) -> String {
    let mut out = line[command.keyword.range()].to_lowercase();
    if !command.flags.is_empty() {
        out.push_str(" [");
        for (i, flag) in command.flags.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&go_quote(&flag.value));
        }
        out.push(']');
    }
    dump_args(line, &command.args, &mut out);
    out.trim_matches(char::is_whitespace).to_string()
}

fn dump_args(line: &str, args: &ArgsData, out: &mut String) {
    let mut quoted = |value: &str| {
        out.push(' ');
        out.push_str(&go_quote(value));
    };
    match args {
        ArgsData::None => {}
        ArgsData::Ignored => quoted(""),
        ArgsData::Json(elements) => elements.iter().for_each(|e| quoted(&e.value)),
        ArgsData::Text(word) => quoted(&word.value),
        ArgsData::Words(words) => words.iter().for_each(|w| quoted(&w.value)),
        ArgsData::KeyValues(pairs) => {
            for pair in pairs {
                quoted(&pair.key.value);
                quoted(&pair.value.value);
                quoted(if pair.legacy { "" } else { "=" });
            }
        }
        ArgsData::Healthcheck { kind, command } => {
            quoted(&kind.value);
            dump_args(line, command, out);
        }
        ArgsData::Onbuild(child) => {
            out.push_str(" (");
            out.push_str(&dump_command(line, child));
            out.push(')');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("a \"b\" \\ c"), r#""a \"b\" \\ c""#);
        assert_eq!(go_quote("\t\n\u{1}\u{7f}"), r#""\t\n\x01\x7f""#);
        assert_eq!(go_quote("é\u{a0}\u{200b}😀"), "\"é\\u00a0\\u200b😀\"");
    }
}
