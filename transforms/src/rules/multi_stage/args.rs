//! Reading a command's words: literal values, operands, and the values of options.

use dockopt_shell::Word;

/// A word's literal value, unless it may expand to something else (variables, globs, `~`).
pub(super) fn literal(word: &Word) -> Option<&str> {
    word.value()
        .filter(|_| !word.has_pattern() && !word.has_tilde())
}

/// A command's operands and options: options in `valued` take the next word as their
/// value. After `--` everything is an operand; a word that is not literal is an operand.
pub(super) fn parse_args<'c>(
    args: &'c [Word],
    valued: &[&str],
) -> (Vec<&'c Word>, Vec<(&'c str, Option<&'c Word>)>) {
    let mut operands = Vec::new();
    let mut options = Vec::new();
    let mut dashes = false;
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        i += 1;
        if dashes {
            operands.push(word);
            continue;
        }
        match word.value() {
            Some("--") => dashes = true,
            Some(v) if v.len() > 1 && v.starts_with('-') => {
                if valued.contains(&v) {
                    options.push((v, args.get(i)));
                    i += 1;
                } else {
                    options.push((v, None));
                }
            }
            _ => operands.push(word),
        }
    }
    (operands, options)
}

/// An option's value in a command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Opt<'c> {
    Absent,
    /// Given, with a value that is not literal (or missing).
    Unreadable,
    Value(&'c str),
}

/// The value of option `names` (`-o X`, `-o=X`, `--output X`, `--output=X`) in `args`.
pub(super) fn option_value<'c>(args: &'c [Word], names: &[&str]) -> Opt<'c> {
    let found = |v: Option<&'c str>| v.map_or(Opt::Unreadable, Opt::Value);
    for (i, word) in args.iter().enumerate() {
        let Some(v) = word.value() else {
            continue;
        };
        if v == "--" {
            break;
        }
        for name in names {
            if v == *name {
                return found(args.get(i + 1).and_then(literal));
            }
            if let Some(value) = v
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix('=').or_else(|| r.strip_prefix(':')))
            {
                return found((!value.contains('$')).then_some(value));
            }
        }
    }
    Opt::Absent
}
