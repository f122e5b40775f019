//! `--color auto|always|never`: ANSI colour for people, none for pipes and files.

use std::io::IsTerminal as _;

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug)]
pub enum Style {
    Bold,
    Red,
    Green,
    Yellow,
    Cyan,
}

/// Paints text when colour is on.
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    on: bool,
}

impl Palette {
    pub fn new(choice: ColorChoice) -> Self {
        let on = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
        Self { on }
    }

    pub fn paint(self, style: Style, text: &str) -> String {
        if !self.on || text.is_empty() {
            return text.to_string();
        }
        let code = match style {
            Style::Bold => "1",
            Style::Red => "31",
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Cyan => "36",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// A unified diff with `+`/`-` lines, hunk headers and file headers coloured.
    pub fn diff(self, diff: &str) -> String {
        if !self.on {
            return diff.to_string();
        }
        diff.split_inclusive('\n')
            .map(|line| {
                let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
                let style = if body.starts_with("+++")
                    || body.starts_with("---")
                    || body.starts_with("diff --git")
                {
                    Some(Style::Bold)
                } else if body.starts_with('+') {
                    Some(Style::Green)
                } else if body.starts_with('-') {
                    Some(Style::Red)
                } else if body.starts_with("@@") {
                    Some(Style::Cyan)
                } else {
                    None
                };
                style.map_or_else(
                    || line.to_string(),
                    |s| format!("{}{end}", self.paint(s, body)),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{ColorChoice, Palette, Style};

    #[test]
    fn never_means_plain_and_always_means_ansi() {
        assert_eq!(Palette::new(ColorChoice::Never).paint(Style::Red, "x"), "x");
        assert_eq!(
            Palette::new(ColorChoice::Always).paint(Style::Red, "x"),
            "\x1b[31mx\x1b[0m"
        );
        let diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n";
        let painted = Palette::new(ColorChoice::Always).diff(diff);
        assert!(painted.contains("\x1b[32m+new\x1b[0m\n"));
        assert!(painted.ends_with(" same\n"));
        assert_eq!(Palette::new(ColorChoice::Never).diff(diff), diff);
    }
}
