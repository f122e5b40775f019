//! From a parsed Dockerfile instruction to its shell script.

use dockopt_syntax::{Instruction, ShellPiece};

use crate::{Piece, Script, ShellSource, parse};

/// The text `/bin/sh -c` receives for a shell-form RUN (and CMD, ENTRYPOINT, HEALTHCHECK
/// CMD), with its map back to the Dockerfile. `None` for exec form and instructions
/// without a command.
pub fn instruction_source(instruction: Instruction<'_>) -> Option<ShellSource> {
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
    Some(ShellSource::from_pieces(instruction.file().text(), &pieces))
}

/// The script `/bin/sh -c` runs for a shell-form RUN (and CMD, ENTRYPOINT, HEALTHCHECK CMD),
/// with ranges into the Dockerfile. `None` for exec form and instructions without a command.
pub fn parse_instruction(instruction: Instruction<'_>) -> Option<Script> {
    instruction_source(instruction).map(parse)
}
