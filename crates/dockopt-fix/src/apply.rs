//! Applying a set of fixes to a text in one splice.
//!
//! Every edit is relative to the original text. Fixes are chosen in position order; a fix
//! that cannot go with the ones already chosen is skipped (the fix loop offers it again in
//! a later round, against the new text), never shifted.

use crate::{Edit, Fix, Isolation, TextRange};

/// The result of [`apply_fixes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The text with every applied fix spliced in.
    pub text: String,
    /// Indices (into the fixes as passed) of the applied fixes, in position order.
    pub applied: Vec<usize>,
    /// The fixes left out, with why, in the order they were considered.
    pub skipped: Vec<Skipped>,
}

impl Applied {
    /// True when no fix was applied (the text is the input, unchanged).
    pub fn is_empty(&self) -> bool {
        self.applied.is_empty()
    }
}

/// A fix [`apply_fixes`] left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Index into the fixes as passed.
    pub index: usize,
    pub reason: SkipReason,
}

/// Why [`apply_fixes`] left a fix out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// The fix changes other files ([`Fix::files`]): only the fix loop's caller writes
    /// those, and a fix with both file changes and edits is never applied.
    FileChanges,
    /// The fix has no edits.
    NoEdits,
    /// An edit is out of bounds, reversed, or splits a UTF-8 character.
    InvalidRange,
    /// Two of the fix's own edits overlap, or insert at one offset.
    SelfConflicting,
    /// The fix would replace the text with the same text.
    NoChange,
    /// An edit overlaps or touches an edit of a fix already chosen; retry in a later round.
    Conflicts,
    /// The fix must be applied alone and other fixes were chosen, or another fix was
    /// chosen alone; retry in a later round.
    Isolated,
}

impl SkipReason {
    /// True when the fix may apply in a later round, against the text this round produces.
    pub fn is_deferred(self) -> bool {
        matches!(self, Self::Conflicts | Self::Isolated)
    }
}

impl Edit {
    /// True when the edit's range is ordered, inside `text`, and on character boundaries.
    pub fn is_valid_for(&self, text: &str) -> bool {
        let TextRange { start, end } = self.range;
        start <= end && text.is_char_boundary(start) && text.is_char_boundary(end)
    }

    /// True when applying the edit to `text` changes nothing. The edit must be valid.
    fn is_noop_for(&self, text: &str) -> bool {
        text[self.range.range()] == self.replacement
    }
}

impl Fix {
    /// The fix's edits in splice order: by start, then end (an insertion before a
    /// replacement that starts where it is).
    fn sorted_edits(&self) -> Vec<&Edit> {
        let mut edits: Vec<&Edit> = self.edits.iter().collect();
        edits.sort_by_key(|e| (e.range.start, e.range.end));
        edits
    }

    /// Applies this fix alone to `text`; `None` when it is empty, invalid for the text, or
    /// self-conflicting.
    pub fn apply_to(&self, text: &str) -> Option<String> {
        let applied = apply_fixes(text, [self]);
        (!applied.is_empty()).then_some(applied.text)
    }
}

/// Why `fix` cannot be applied at all to `text`, whatever else is chosen.
fn defect(fix: &Fix, text: &str) -> Option<SkipReason> {
    if !fix.files.is_empty() {
        return Some(SkipReason::FileChanges);
    }
    if fix.edits.is_empty() {
        return Some(SkipReason::NoEdits);
    }
    if !fix.edits.iter().all(|e| e.is_valid_for(text)) {
        return Some(SkipReason::InvalidRange);
    }
    let sorted = fix.sorted_edits();
    let self_conflict = sorted.windows(2).any(|w| {
        let (a, b) = (w[0].range, w[1].range);
        a.end > b.start || (a.is_empty() && b.is_empty() && a.start == b.start)
    });
    if self_conflict {
        return Some(SkipReason::SelfConflicting);
    }
    if fix.edits.iter().all(|e| e.is_noop_for(text)) {
        return Some(SkipReason::NoChange);
    }
    None
}

/// Chooses the fixes that can go together and splices their edits into `text` in one pass.
///
/// Fixes are considered by the start of their first edit; ties keep the order given (so
/// pass them in rule order). A fix is skipped when it changes other files ([`Fix::files`]),
/// when it is empty, invalid for the text (out of
/// bounds, off a character boundary), self-conflicting, a no-op, when one of its edits
/// conflicts with ([`Edit::conflicts_with`]) an edit already chosen, or when it is
/// [`Isolation::Alone`] and something else was chosen before it. Once an `Alone` fix is
/// chosen, nothing else is. Edits are relative to `text` and never shifted.
pub fn apply_fixes<'a>(text: &str, fixes: impl IntoIterator<Item = &'a Fix>) -> Applied {
    let fixes: Vec<&Fix> = fixes.into_iter().collect();
    let mut order: Vec<usize> = (0..fixes.len()).collect();
    order.sort_by_key(|&i| fixes[i].edits.iter().map(|e| e.range.start).min());

    let mut applied = Vec::new();
    let mut skipped = Vec::new();
    let mut chosen: Vec<&Edit> = Vec::new();
    let mut alone_chosen = false;
    for index in order {
        let fix = fixes[index];
        let reason = if let Some(reason) = defect(fix, text) {
            Some(reason)
        } else if alone_chosen || (fix.isolation == Isolation::Alone && !applied.is_empty()) {
            Some(SkipReason::Isolated)
        } else if fix
            .edits
            .iter()
            .any(|e| chosen.iter().any(|c| c.conflicts_with(e)))
        {
            Some(SkipReason::Conflicts)
        } else {
            None
        };
        if let Some(reason) = reason {
            skipped.push(Skipped { index, reason });
            continue;
        }
        chosen.extend(fix.sorted_edits());
        applied.push(index);
        alone_chosen = fix.isolation == Isolation::Alone;
    }

    // Edits of different fixes never touch, and each fix's edits are in splice order, so a
    // stable sort by (start, end) gives one left-to-right pass.
    chosen.sort_by_key(|e| (e.range.start, e.range.end));
    let growth: usize = chosen.iter().map(|e| e.replacement.len()).sum();
    let mut out = String::with_capacity(text.len() + growth);
    let mut cursor = 0;
    for edit in chosen {
        debug_assert!(cursor <= edit.range.start);
        out.push_str(&text[cursor..edit.range.start]);
        out.push_str(&edit.replacement);
        cursor = edit.range.end;
    }
    out.push_str(&text[cursor..]);
    Applied {
        text: out,
        applied,
        skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(title: &str, edits: Vec<Edit>) -> Fix {
        Fix::safe(title, edits)
    }

    fn alone(title: &str, edits: Vec<Edit>) -> Fix {
        let mut f = fix(title, edits);
        f.isolation = Isolation::Alone;
        f
    }

    fn range(start: usize, end: usize) -> TextRange {
        TextRange::new(start, end)
    }

    fn reasons(applied: &Applied) -> Vec<(usize, SkipReason)> {
        applied
            .skipped
            .iter()
            .map(|s| (s.index, s.reason))
            .collect()
    }

    #[test]
    fn nothing_to_apply_keeps_the_text() {
        let applied = apply_fixes("FROM a\n", []);
        assert_eq!(applied.text, "FROM a\n");
        assert!(applied.is_empty());
        assert!(applied.skipped.is_empty());
    }

    #[test]
    fn disjoint_fixes_apply_in_one_pass_relative_to_the_original() {
        let text = "FROM a\nRUN x\nRUN y\n";
        // Given out of position order: the second fix grows the text before the first one,
        // yet both use offsets of the original text.
        let fixes = [
            fix("y->yy", vec![Edit::replace(range(17, 18), "yy")]),
            fix("a->alpine", vec![Edit::replace(range(5, 6), "alpine")]),
            fix("x->", vec![Edit::delete(range(11, 12))]),
        ];
        let applied = apply_fixes(text, &fixes);
        assert_eq!(applied.text, "FROM alpine\nRUN \nRUN yy\n");
        assert_eq!(applied.applied, vec![1, 2, 0]);
    }

    #[test]
    fn overlapping_fix_is_skipped_and_deferred() {
        let text = "RUN a && b\n";
        let fixes = [
            fix("first", vec![Edit::replace(range(4, 10), "c")]),
            fix("second", vec![Edit::replace(range(9, 10), "d")]),
        ];
        let applied = apply_fixes(text, &fixes);
        assert_eq!(applied.text, "RUN c\n");
        assert_eq!(applied.applied, vec![0]);
        assert_eq!(reasons(&applied), vec![(1, SkipReason::Conflicts)]);
        assert!(SkipReason::Conflicts.is_deferred());
    }

    #[test]
    fn touching_edits_conflict_but_a_gap_of_one_byte_does_not() {
        let text = "abcdef";
        let touching = [
            fix("1", vec![Edit::replace(range(0, 2), "X")]),
            fix("2", vec![Edit::replace(range(2, 4), "Y")]),
        ];
        let applied = apply_fixes(text, &touching);
        assert_eq!(applied.text, "Xcdef");
        assert_eq!(reasons(&applied), vec![(1, SkipReason::Conflicts)]);

        let gap = [
            fix("1", vec![Edit::replace(range(0, 2), "X")]),
            fix("2", vec![Edit::replace(range(3, 4), "Y")]),
        ];
        assert_eq!(apply_fixes(text, &gap).text, "XcYef");
    }

    #[test]
    fn insertions_at_one_offset_from_two_fixes_conflict_first_wins() {
        let text = "FROM a\n";
        let fixes = [
            fix("one", vec![Edit::insert(7, "RUN 1\n")]),
            fix("two", vec![Edit::insert(7, "RUN 2\n")]),
        ];
        let applied = apply_fixes(text, &fixes);
        assert_eq!(applied.text, "FROM a\nRUN 1\n");
        assert_eq!(reasons(&applied), vec![(1, SkipReason::Conflicts)]);
    }

    #[test]
    fn adjacent_insertions_at_neighbouring_offsets_both_apply() {
        let text = "ab";
        let fixes = [
            fix("at 0", vec![Edit::insert(0, "<")]),
            fix("at 1", vec![Edit::insert(1, "|")]),
            fix("at 2", vec![Edit::insert(2, ">")]),
        ];
        let applied = apply_fixes(text, &fixes);
        assert_eq!(applied.text, "<a|b>");
        assert_eq!(applied.applied, vec![0, 1, 2]);
    }

    #[test]
    fn a_fix_may_insert_where_its_own_replacement_starts_or_ends() {
        let text = "RUN a\n";
        // Given unsorted on purpose (the fields are public); the splice order is by range.
        let f = Fix {
            title: "wrap".into(),
            edits: vec![
                Edit::insert(5, ")"),
                Edit::replace(range(4, 5), "b"),
                Edit::insert(4, "("),
            ],
            applicability: crate::Applicability::Safe,
            isolation: Isolation::Shared,
            effect: crate::DeclaredEffect::none(),
            files: Vec::new(),
            removes: Vec::new(),
        };
        assert_eq!(apply_fixes(text, [&f]).text, "RUN (b)\n");
    }

    #[test]
    fn deletions_including_whole_lines_and_the_whole_text() {
        let text = "FROM a\nRUN x\nRUN y\n";
        let fixes = [
            fix("drop line 2", vec![Edit::delete(range(7, 13))]),
            fix("drop y", vec![Edit::delete(range(17, 18))]),
        ];
        assert_eq!(apply_fixes(text, &fixes).text, "FROM a\nRUN \n");
        let all = fix("all", vec![Edit::delete(range(0, text.len()))]);
        assert_eq!(apply_fixes(text, [&all]).text, "");
    }

    #[test]
    fn self_conflicting_fix_is_never_applied() {
        let text = "abcdef";
        let fixes = [
            fix(
                "overlap",
                vec![Edit::delete(range(0, 3)), Edit::delete(range(2, 4))],
            ),
            fix(
                "two inserts",
                vec![Edit::insert(5, "a"), Edit::insert(5, "b")],
            ),
            fix("fine", vec![Edit::insert(6, "!")]),
        ];
        let applied = apply_fixes(text, &fixes);
        assert_eq!(applied.text, "abcdef!");
        assert_eq!(
            reasons(&applied),
            vec![
                (0, SkipReason::SelfConflicting),
                (1, SkipReason::SelfConflicting)
            ]
        );
    }

    #[test]
    fn out_of_bounds_or_reversed_edit_skips_its_fix_without_panicking() {
        let text = "FROM a\n";
        let reversed = Fix {
            edits: vec![Edit {
                range: TextRange { start: 3, end: 1 },
                replacement: String::new(),
            }],
            ..fix("reversed", vec![])
        };
        let fixes = [
            fix(
                "past the end",
                vec![Edit::insert(0, "# x\n"), Edit::insert(8, "!")],
            ),
            fix("far past", vec![Edit::replace(range(100, 200), "!")]),
            reversed,
            fix("at the end is fine", vec![Edit::insert(7, "RUN b\n")]),
        ];
        let applied = apply_fixes(text, &fixes);
        assert_eq!(applied.text, "FROM a\nRUN b\n");
        assert_eq!(applied.applied, vec![3]);
        assert!(
            applied
                .skipped
                .iter()
                .all(|s| s.reason == SkipReason::InvalidRange)
        );
        assert_eq!(applied.skipped.len(), 3);
    }

    #[test]
    fn multibyte_text_edits_on_char_boundaries_only() {
        // "é" is 2 bytes, "日" 3, "🐳" 4.
        let text = "LABEL é=日🐳\n";
        let e = text.find('é').unwrap();
        let nichi = text.find('日').unwrap();
        let whale = text.find('🐳').unwrap();
        let fixes = [
            fix("split é", vec![Edit::insert(e + 1, "x")]),
            fix("split 🐳", vec![Edit::delete(range(whale, whale + 2))]),
            fix(
                "日 -> 月",
                vec![Edit::replace(range(nichi, nichi + 3), "月")],
            ),
            fix(
                "🐳 -> whale",
                vec![Edit::replace(range(whale, whale + 4), "whale")],
            ),
        ];
        let applied = apply_fixes(text, &fixes);
        assert_eq!(applied.text, "LABEL é=月🐳\n");
        assert_eq!(applied.applied, vec![2]);
        // 月 ends where 🐳 starts: the two replacements touch, so the whale waits.
        assert_eq!(
            reasons(&applied),
            vec![
                (0, SkipReason::InvalidRange),
                (1, SkipReason::InvalidRange),
                (3, SkipReason::Conflicts)
            ]
        );
        let empty = apply_fixes(&applied.text, [&fix("nothing", vec![])]);
        assert_eq!(empty.skipped[0].reason, SkipReason::NoEdits);
    }

    #[test]
    fn alone_fix_goes_alone() {
        let text = "abcdef";
        // Alone first in position: chosen, then nothing else.
        let fixes = [
            alone("restructure", vec![Edit::replace(range(0, 1), "A")]),
            fix("later", vec![Edit::replace(range(4, 5), "E")]),
        ];
        let applied = apply_fixes(text, &fixes);
        assert_eq!(applied.text, "Abcdef");
        assert_eq!(reasons(&applied), vec![(1, SkipReason::Isolated)]);

        // Alone after a shared fix: deferred, the shared fix goes.
        let fixes = [
            fix("earlier", vec![Edit::replace(range(0, 1), "A")]),
            alone("restructure", vec![Edit::replace(range(4, 5), "E")]),
            fix("later", vec![Edit::replace(range(5, 6), "F")]),
        ];
        let applied = apply_fixes(text, &fixes);
        assert_eq!(applied.text, "AbcdeF");
        assert_eq!(applied.applied, vec![0, 2]);
        assert_eq!(reasons(&applied), vec![(1, SkipReason::Isolated)]);

        // An invalid fix before the Alone one does not count as chosen.
        let fixes = [
            fix("broken", vec![Edit::insert(99, "!")]),
            alone("restructure", vec![Edit::replace(range(4, 5), "E")]),
        ];
        assert_eq!(apply_fixes(text, &fixes).text, "abcdEf");
    }

    #[test]
    fn ties_keep_the_given_order() {
        let text = "abc";
        let fixes = [
            fix("rule one", vec![Edit::replace(range(1, 2), "1")]),
            fix("rule two", vec![Edit::replace(range(1, 3), "2")]),
        ];
        assert_eq!(apply_fixes(text, &fixes).text, "a1c");
        let swapped = [fixes[1].clone(), fixes[0].clone()];
        assert_eq!(apply_fixes(text, &swapped).text, "a2");
    }

    #[test]
    fn noop_fix_is_skipped() {
        let text = "abc";
        let fixes = [fix("same", vec![Edit::replace(range(0, 1), "a")])];
        let applied = apply_fixes(text, &fixes);
        assert!(applied.is_empty());
        assert_eq!(applied.skipped[0].reason, SkipReason::NoChange);
        assert_eq!(fixes[0].apply_to(text), None);
        assert_eq!(
            fix("b", vec![Edit::replace(range(0, 1), "b")]).apply_to(text),
            Some("bbc".to_owned())
        );
    }

    #[test]
    fn fixes_with_file_changes_are_never_spliced() {
        let text = "FROM a\n";
        let change = crate::FileChange::create("ctx/.dockerignore", "node_modules\n");
        let fixes = [
            fix("ignore", vec![]).with_file_change(change.clone()),
            fix("both", vec![Edit::insert(7, "RUN b\n")]).with_file_change(change),
            fix("plain", vec![Edit::insert(0, "# x\n")]),
        ];
        assert!(fixes[0].is_file_change());
        assert!(!fixes[1].is_file_change());
        let applied = apply_fixes(text, &fixes);
        assert_eq!(applied.text, "# x\nFROM a\n");
        assert_eq!(applied.applied, vec![2]);
        let mut reasons = reasons(&applied);
        reasons.sort_by_key(|&(i, _)| i);
        assert_eq!(
            reasons,
            vec![(0, SkipReason::FileChanges), (1, SkipReason::FileChanges)]
        );
        assert_eq!(fixes[1].apply_to(text), None);
    }
}
