//! From a parsed Dockerfile instruction to its shell script.

use dockopt_syntax::{Instruction, ShellPiece};

use crate::{Piece, Script, ShellSource, parse};

/// The script `/bin/sh -c` runs for a shell-form RUN (and CMD, ENTRYPOINT, HEALTHCHECK CMD),
/// with ranges into the Dockerfile. `None` for exec form and instructions without a command.
pub fn parse_instruction(instruction: Instruction<'_>) -> Option<Script> {
    let pieces = instruction.shell_pieces()?;
    let pieces: Vec<Piece<'_>> = pieces
        .iter()
        .map(|piece| match piece {
            ShellPiece::File(range) => Piece::File(range.range()),
            ShellPiece::Synthetic { text, anchor } => Piece::Synthetic {
                text,
                anchor: *anchor,
            },
        })
        .collect();
    Some(parse(ShellSource::from_pieces(
        instruction.file().text(),
        &pieces,
    )))
}

#[cfg(test)]
mod tests {
    use super::parse_instruction;

    #[test]
    fn run_through_continuation_and_comment_maps_to_the_file() {
        let text = "FROM debian\nRUN apt-get update \\\n    # refresh first\n    && apt-get install -y \\\n       curl\n";
        let file = dockopt_syntax::parse(text);
        let script = parse_instruction(file.instruction(1).unwrap()).unwrap();
        assert!(!script.is_opaque());
        assert!(script.is_and_chain());
        let commands = script.commands();
        assert_eq!(commands.len(), 2);
        assert_eq!(&text[commands[0].span.file.clone()], "apt-get update");
        assert_eq!(
            &text[commands[1].span.file.clone()],
            "apt-get install -y \\\n       curl"
        );
        assert_eq!(
            script.slice(&commands[1].span),
            "apt-get install -y        curl"
        );
        assert!(commands[1].has_flag("-y"));
    }

    #[test]
    fn heredoc_run_scripts() {
        let text = "FROM debian\nRUN <<EOF\nset -e\napt-get update\nEOF\nRUN cat <<EOT > /x && echo ok\nhi\nEOT\nCMD [\"x\"]\n";
        let file = dockopt_syntax::parse(text);
        let lone = parse_instruction(file.instruction(1).unwrap()).unwrap();
        let names: Vec<_> = lone
            .commands()
            .iter()
            .map(|c| c.name_value().unwrap_or_default().to_string())
            .collect();
        assert_eq!(names, ["set", "apt-get"]);
        let reconstituted = parse_instruction(file.instruction(2).unwrap()).unwrap();
        assert!(!reconstituted.is_opaque(), "{}", reconstituted.text());
        assert_eq!(reconstituted.commands().len(), 2);
        assert!(parse_instruction(file.instruction(3).unwrap()).is_none());
    }
}
