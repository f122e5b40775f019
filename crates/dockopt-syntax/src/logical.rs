//! The logical line: the text Docker sees for one instruction after it drops line
//! continuations, comment lines and empty lines, with a map back to file offsets.

use crate::text::TextRange;

/// One instruction's joined text and where each piece of it lies in the file.
#[derive(Clone, Debug, Default)]
pub struct LogicalLine {
    text: String,
    /// `(logical_start, file_start)` of each piece, in order; a piece ends where the next begins.
    pieces: Vec<(usize, usize)>,
}

impl LogicalLine {
    pub(crate) fn push(&mut self, file_start: usize, piece: &str) {
        if piece.is_empty() {
            return;
        }
        self.pieces.push((self.text.len(), file_start));
        self.text.push_str(piece);
    }

    /// The joined text, as BuildKit builds it before splitting the instruction.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn piece_end(&self, index: usize) -> usize {
        self.pieces
            .get(index + 1)
            .map_or(self.text.len(), |&(start, _)| start)
    }

    /// The file offset of logical offset `at`. An offset at the end of a piece maps to the
    /// end of that piece when `prefer_end` is set, else to the start of the next one.
    fn file_offset(&self, at: usize, prefer_end: bool) -> usize {
        if self.pieces.is_empty() {
            return 0;
        }
        let index = match self.pieces.binary_search_by(|&(start, _)| start.cmp(&at)) {
            Ok(i) if prefer_end && i > 0 => i - 1,
            Ok(i) => i,
            Err(next) => next.saturating_sub(1),
        };
        let (logical_start, file_start) = self.pieces[index];
        file_start + at.min(self.piece_end(index)).saturating_sub(logical_start)
    }

    /// The file range of a logical range. A range that crosses pieces covers the gaps
    /// (continuations, comment lines) between them.
    pub fn file_range(&self, logical: TextRange) -> TextRange {
        if logical.is_empty() {
            let at = self.file_offset(logical.start, true);
            return TextRange::empty(at);
        }
        TextRange::new(
            self.file_offset(logical.start, false),
            self.file_offset(logical.end, true),
        )
    }

    /// The file ranges that make up a logical range, one per piece it touches.
    pub fn file_pieces(&self, logical: TextRange) -> Vec<TextRange> {
        let mut out = Vec::new();
        for (index, &(start, file_start)) in self.pieces.iter().enumerate() {
            let end = self.piece_end(index);
            let lo = logical.start.max(start);
            let hi = logical.end.min(end);
            if lo < hi {
                out.push(TextRange::new(
                    file_start + (lo - start),
                    file_start + (hi - start),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_across_pieces() {
        // file: "RUN a \\\n  b\n" -> pieces "RUN a " at 0 and "  b" at 8
        let mut line = LogicalLine::default();
        line.push(0, "RUN a ");
        line.push(8, "  b");
        assert_eq!(line.text(), "RUN a   b");
        assert_eq!(line.file_range(TextRange::new(4, 5)), TextRange::new(4, 5));
        assert_eq!(
            line.file_range(TextRange::new(8, 9)),
            TextRange::new(10, 11)
        );
        // a range ending exactly at a piece boundary stays in the first piece
        assert_eq!(line.file_range(TextRange::new(4, 6)), TextRange::new(4, 6));
        // a range crossing the boundary covers the gap
        assert_eq!(line.file_range(TextRange::new(4, 9)), TextRange::new(4, 11));
        assert_eq!(
            line.file_pieces(TextRange::new(4, 9)),
            vec![TextRange::new(4, 6), TextRange::new(8, 11)]
        );
        assert_eq!(line.file_range(TextRange::empty(6)), TextRange::empty(6));
    }
}
