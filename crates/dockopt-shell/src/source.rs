//! The clean shell text of one RUN instruction and its map back to the Dockerfile.

use std::ops::Range;

/// One piece of the shell text, as the Dockerfile parser hands it over.
///
/// The clean text is the concatenation of all pieces, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Bytes `range` of the file, copied verbatim into the clean text.
    File(Range<usize>),
    /// Text that is not in the file (e.g. a `"\n"` joining a heredoc body, which Docker adds);
    /// maps to the zero-width file position `anchor`.
    Synthetic {
        /// The text to insert.
        text: &'a str,
        /// The file position the text stands for.
        anchor: usize,
    },
}

/// Where the bytes of one segment of the clean text come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// Copied from the file, starting at this file offset.
    File(usize),
    /// Synthetic text standing at this zero-width file position.
    Synthetic(usize),
}

/// One non-empty piece after normalisation: clean bytes `clean` come from `origin`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Segment {
    clean: Range<usize>,
    origin: Origin,
}

impl Segment {
    /// The file range this segment covers (empty for synthetic text).
    fn file(&self) -> Range<usize> {
        match self.origin {
            Origin::File(start) => start..start + self.clean.len(),
            Origin::Synthetic(anchor) => anchor..anchor,
        }
    }

    /// File offset of the clean offset `clean`, which must lie in `self.clean` (inclusive end).
    fn map(&self, clean: usize) -> usize {
        match self.origin {
            Origin::File(start) => start + (clean - self.clean.start),
            Origin::Synthetic(anchor) => anchor,
        }
    }
}

/// The shell string Docker hands to `/bin/sh -c`, plus a map from its byte offsets back to
/// the Dockerfile.
///
/// Offsets in the clean text are called *clean* offsets; offsets in the Dockerfile are *file*
/// offsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellSource {
    text: String,
    /// Non-empty segments in clean order; they tile `0..text.len()` without gaps.
    segments: Vec<Segment>,
}

impl ShellSource {
    /// Builds the clean text from `pieces` of `file`.
    ///
    /// Never panics: file ranges are clamped to the file and shrunk to character boundaries,
    /// and empty pieces are dropped.
    pub fn from_pieces(file: &str, pieces: &[Piece<'_>]) -> Self {
        let mut text = String::with_capacity(
            pieces
                .iter()
                .map(|p| match p {
                    Piece::File(r) => r.end.saturating_sub(r.start),
                    Piece::Synthetic { text, .. } => text.len(),
                })
                .sum::<usize>()
                .min(file.len().saturating_add(4096)),
        );
        let mut segments = Vec::with_capacity(pieces.len());
        for piece in pieces {
            let start = text.len();
            let origin = match piece {
                Piece::File(range) => {
                    let range = char_range(file, range);
                    text.push_str(&file[range.clone()]);
                    Origin::File(range.start)
                }
                Piece::Synthetic {
                    text: extra,
                    anchor,
                } => {
                    text.push_str(extra);
                    Origin::Synthetic(*anchor)
                }
            };
            if text.len() > start {
                segments.push(Segment {
                    clean: start..text.len(),
                    origin,
                });
            }
        }
        Self { text, segments }
    }

    /// A source whose clean text is all of `text`, which is also the "file".
    ///
    /// Handy for tests and for shell text that does not come from a Dockerfile.
    pub fn from_text(text: &str) -> Self {
        Self::from_pieces(text, &[Piece::File(0..text.len())])
    }

    /// The clean shell string.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Length of the clean text in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether the clean text is empty.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The file offset of clean offset `clean`, read as the *start* of something: an offset
    /// at the boundary between two pieces maps to the start of the later piece.
    ///
    /// Offsets past the end are clamped; the end of the text maps to the end of the last
    /// piece (0 when there are no pieces).
    pub fn file_offset(&self, clean: usize) -> usize {
        let clean = clean.min(self.text.len());
        let idx = self.segments.partition_point(|s| s.clean.end <= clean);
        match self.segments.get(idx) {
            Some(seg) => seg.map(clean),
            None => self.segments.last().map_or(0, |s| s.map(s.clean.end)),
        }
    }

    /// The file offset of clean offset `clean`, read as the *end* of something: an offset at
    /// the boundary between two pieces maps to the end of the earlier piece.
    pub fn file_end_offset(&self, clean: usize) -> usize {
        let clean = clean.min(self.text.len());
        let idx = self.segments.partition_point(|s| s.clean.end < clean);
        match self.segments.get(idx) {
            Some(seg) if seg.clean.start < clean => seg.map(clean),
            _ => self.file_offset(clean),
        }
    }

    /// Maps a clean range to the file range from its first to its last byte (covering any
    /// gaps such as escaped newlines or comment lines in between).
    ///
    /// A range that ends at the end of one piece maps to the end of that piece in the file,
    /// not the start of the next; an empty range maps to an empty range at
    /// [`file_offset`](Self::file_offset).
    pub fn file_range(&self, clean: Range<usize>) -> Range<usize> {
        let start = self.file_offset(clean.start);
        if clean.start >= clean.end {
            return start..start;
        }
        let end = self.file_end_offset(clean.end);
        start..end.max(start)
    }

    /// The clean range that maps to file range `file`, where one exists.
    ///
    /// A start must lie inside a piece or at the end of one; an end must lie inside a piece
    /// (inclusive of its end) or at the start of one. Synthetic pieces answer for their anchor
    /// when no file piece does. Returns `None` when an end falls in a gap that is not at a
    /// piece boundary, or when the range would be reversed.
    pub fn clean_range(&self, file: Range<usize>) -> Option<Range<usize>> {
        if file.start > file.end {
            return None;
        }
        let start = self.clean_start_of(file.start)?;
        if file.start == file.end {
            return Some(start..start);
        }
        let end = self.clean_end_of(file.end)?;
        (start <= end).then_some(start..end)
    }

    /// Clean offset for a file offset read as a start.
    fn clean_start_of(&self, pos: usize) -> Option<usize> {
        let files = || {
            self.segments
                .iter()
                .filter(|s| matches!(s.origin, Origin::File(_)))
        };
        if let Some(seg) = files().find(|s| s.file().contains(&pos)) {
            return Some(seg.clean.start + (pos - seg.file().start));
        }
        if let Some(seg) = files().find(|s| s.file().end == pos) {
            return Some(seg.clean.end);
        }
        self.synthetic_at(pos).map(|s| s.clean.start)
    }

    /// Clean offset for a file offset read as an end.
    fn clean_end_of(&self, pos: usize) -> Option<usize> {
        let files = || {
            self.segments
                .iter()
                .filter(|s| matches!(s.origin, Origin::File(_)))
        };
        if let Some(seg) = files().find(|s| {
            let f = s.file();
            f.start < pos && pos <= f.end
        }) {
            return Some(seg.clean.start + (pos - seg.file().start));
        }
        if let Some(seg) = files().find(|s| s.file().start == pos) {
            return Some(seg.clean.start);
        }
        self.synthetic_at(pos).map(|s| s.clean.end)
    }

    fn synthetic_at(&self, pos: usize) -> Option<&Segment> {
        self.segments
            .iter()
            .find(|s| s.origin == Origin::Synthetic(pos))
    }

    /// The clean ranges of the pieces, in order (empty pieces dropped).
    pub fn piece_ranges(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.segments.iter().map(|s| s.clean.clone())
    }
}

/// Clamps `range` to `text` and shrinks it to character boundaries.
fn char_range(text: &str, range: &Range<usize>) -> Range<usize> {
    let mut end = range.end.min(text.len());
    let mut start = range.start.min(end);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    while end > start && !text.is_char_boundary(end) {
        end -= 1;
    }
    start..end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Docker example: a continuation with a comment line in between.
    const FILE: &str = "RUN apt-get update \\\n    # comment\n    && apt-get install -y curl\n";

    fn example() -> ShellSource {
        let first = FILE.find("apt-get").unwrap();
        let first_end = FILE.find('\\').unwrap();
        let second = FILE.find("    &&").unwrap();
        let second_end = FILE.len() - 1;
        ShellSource::from_pieces(
            FILE,
            &[
                Piece::File(first..first_end),
                Piece::File(second..second_end),
            ],
        )
    }

    #[test]
    fn joins_pieces_like_docker() {
        let src = example();
        assert_eq!(src.text(), "apt-get update     && apt-get install -y curl");
        assert_eq!(src.piece_ranges().collect::<Vec<_>>(), vec![0..15, 15..45]);
    }

    #[test]
    fn maps_ranges_inside_pieces() {
        let src = example();
        let clean = src.text().find("apt-get install").unwrap()..src.text().len();
        let file = src.file_range(clean.clone());
        assert_eq!(&FILE[file.clone()], "apt-get install -y curl");
        assert_eq!(src.clean_range(file), Some(clean));
    }

    #[test]
    fn range_across_gap_covers_the_gap() {
        let src = example();
        let file = src.file_range(0..src.len());
        assert_eq!(&FILE[file.clone()], &FILE[4..FILE.len() - 1]);
        assert_eq!(src.clean_range(file), Some(0..src.len()));
    }

    #[test]
    fn end_at_piece_boundary_maps_to_end_of_earlier_piece() {
        let src = example();
        // "apt-get update " ends exactly at the end of the first piece.
        let file = src.file_range(0..15);
        assert_eq!(&FILE[file.clone()], "apt-get update ");
        assert_eq!(file.end, FILE.find('\\').unwrap());
        // As a start, the same clean offset maps to the start of the second piece.
        assert_eq!(src.file_offset(15), FILE.find("    &&").unwrap());
        assert_eq!(src.file_end_offset(15), FILE.find('\\').unwrap());
        assert_eq!(src.clean_range(file), Some(0..15));
    }

    #[test]
    fn offsets_in_gaps_are_not_invertible() {
        let src = example();
        let comment = FILE.find("# comment").unwrap();
        assert_eq!(src.clean_range(comment..comment + 3), None);
        assert_eq!(src.clean_range(4..comment), None);
        // The start of the gap is the end of the first piece, hence a boundary.
        let gap_start = FILE.find('\\').unwrap();
        assert_eq!(src.clean_range(gap_start..gap_start + 1), None);
        assert_eq!(src.clean_range(gap_start..FILE.len() - 1), Some(15..45));
        // The end of the gap is the start of the second piece.
        let gap_end = FILE.find("    &&").unwrap();
        assert_eq!(src.clean_range(4..gap_end), Some(0..15));
        // Reversed ranges have no inverse.
        assert_eq!(src.clean_range(Range { start: 10, end: 5 }), None);
    }

    #[test]
    fn synthetic_pieces_map_to_their_anchor() {
        let file = "RUN cat <<EOF > /x\nhello\nEOF\n";
        let line_end = file.find('\n').unwrap();
        let body = line_end + 1;
        let src = ShellSource::from_pieces(
            file,
            &[
                Piece::File(4..line_end),
                Piece::Synthetic {
                    text: "\n",
                    anchor: line_end,
                },
                Piece::File(body..file.len() - 1),
            ],
        );
        assert_eq!(src.text(), "cat <<EOF > /x\nhello\nEOF");
        let nl = src.text().find('\n').unwrap();
        assert_eq!(src.file_range(nl..nl + 1), line_end..line_end);
        assert_eq!(src.file_offset(nl), line_end);
        // A range starting on the synthetic newline starts at its anchor.
        let r = src.file_range(nl..src.len());
        assert_eq!(r, line_end..file.len() - 1);
        assert_eq!(&file[r.clone()], "\nhello\nEOF");
        let hello = src.text().find("hello").unwrap();
        assert_eq!(&file[src.file_range(hello..hello + 5)], "hello");
        assert_eq!(
            src.clean_range(src.file_range(hello..hello + 5)),
            Some(hello..hello + 5)
        );
    }

    #[test]
    fn synthetic_only_anchor_is_invertible() {
        let src = ShellSource::from_pieces(
            "xyz",
            &[Piece::Synthetic {
                text: "echo hi",
                anchor: 2,
            }],
        );
        assert_eq!(src.text(), "echo hi");
        assert_eq!(src.file_range(0..4), 2..2);
        assert_eq!(src.file_offset(7), 2);
        assert_eq!(src.clean_range(2..2), Some(0..0));
        assert_eq!(src.clean_range(1..2), None);
    }

    #[test]
    fn empty_sources_and_empty_ranges() {
        let src = ShellSource::from_pieces("abc", &[]);
        assert!(src.is_empty());
        assert_eq!(src.file_offset(0), 0);
        assert_eq!(src.file_offset(99), 0);
        assert_eq!(src.file_range(0..0), 0..0);
        assert_eq!(src.clean_range(0..0), None);

        let src = example();
        let boundary_start = FILE.find("    &&").unwrap();
        assert_eq!(src.file_range(15..15), boundary_start..boundary_start);
        assert_eq!(src.file_range(99..120), FILE.len() - 1..FILE.len() - 1);
        assert_eq!(src.file_offset(src.len()), FILE.len() - 1);
    }

    #[test]
    fn bad_ranges_are_clamped_not_panicking() {
        let file = "é¬x";
        let src = ShellSource::from_pieces(
            file,
            &[
                Piece::File(1..3),
                Piece::File(3..100),
                Piece::File(Range { start: 7, end: 2 }),
                Piece::File(0..0),
                Piece::Synthetic {
                    text: "",
                    anchor: 1,
                },
            ],
        );
        // 1..3 shrinks to 2..2 (empty, dropped); 3..100 becomes 4..5 ("x").
        assert_eq!(src.text(), "x");
        assert_eq!(src.file_range(0..1), 4..5);
        assert_eq!(src.piece_ranges().count(), 1);
    }

    #[test]
    fn adjacent_pieces_round_trip() {
        let file = "abcdef";
        let src = ShellSource::from_pieces(file, &[Piece::File(0..3), Piece::File(3..6)]);
        for start in 0..=6 {
            for end in start + 1..=6 {
                let f = src.file_range(start..end);
                assert_eq!(f, start..end);
                assert_eq!(src.clean_range(f), Some(start..end));
            }
        }
    }
}
