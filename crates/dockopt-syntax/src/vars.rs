//! Variable references in instruction text: `$NAME`, `${NAME}`, `${NAME:-default}`, ...

use crate::text::TextRange;

/// A reference to a build argument or environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarRef {
    pub name: String,
    /// The whole reference, `$` to the end (`}` included when braced), in the file.
    pub range: TextRange,
    pub braced: bool,
    /// What follows the name inside braces (`:-default`, `/a/b`), if anything.
    pub modifier: Option<String>,
}

/// Scans `text[span]` for references outside single quotes, honouring the escape character,
/// and reports each with its range in `text`'s coordinates.
pub(crate) fn scan(text: &str, span: TextRange, escape: char, report: &mut dyn FnMut(VarRef)) {
    let s = &text[span.range()];
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let at = |i: usize| chars.get(i).map_or(s.len(), |&(p, _)| p);
    let mut i = 0;
    let mut in_single = false;
    let mut in_double = false;
    while i < chars.len() {
        let c = chars[i].1;
        if in_single {
            in_single = c != '\'';
            i += 1;
            continue;
        }
        if c == escape {
            i += 2;
            continue;
        }
        match c {
            '\'' if !in_double => in_single = true,
            '"' => in_double = !in_double,
            '$' => {
                if let Some((mut var, next)) = reference(&chars, i) {
                    var.range = TextRange::new(span.start + at(i), span.start + at(next));
                    report(var);
                    i = next;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The reference starting at `chars[start]` (a `$`), and the index after it.
fn reference(chars: &[(usize, char)], start: usize) -> Option<(VarRef, usize)> {
    let mut i = start + 1;
    let braced = chars.get(i)?.1 == '{';
    if braced {
        i += 1;
    }
    let name_start = i;
    while chars.get(i).is_some_and(|&(_, c)| is_name_char(c)) {
        i += 1;
    }
    if i == name_start {
        return None;
    }
    let name: String = chars[name_start..i].iter().map(|&(_, c)| c).collect();
    let mut modifier = None;
    if braced {
        let modifier_start = i;
        let mut depth = 1;
        while let Some(&(_, c)) = chars.get(i) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if i >= chars.len() {
            return None; // unterminated `${`
        }
        if i > modifier_start {
            modifier = Some(chars[modifier_start..i].iter().map(|&(_, c)| c).collect());
        }
        i += 1;
    }
    Some((
        VarRef {
            name,
            range: TextRange::default(),
            braced,
            modifier,
        },
        i,
    ))
}
