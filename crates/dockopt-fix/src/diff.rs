//! Unified diffs and patches that `git apply` accepts.
//!
//! Lines are split after each `\n` and keep their own endings, so a CRLF line is written
//! with its `\r\n`, and a BOM is just bytes of the first line. A last line without a `\n`
//! is followed by `\ No newline at end of file`, on whichever side (or both) it occurs, as
//! git writes it.

use std::fmt::Write as _;

use std::time::{Duration, Instant};

use similar::algorithms::{Capture, Replace};
use similar::{Algorithm, DiffOp, DiffTag};

/// The label of a missing side: the old side of a new file, the new side of a deleted one.
pub const DEV_NULL: &str = "/dev/null";

/// Lines of context around each change, as `git diff` uses.
pub const DEFAULT_CONTEXT: usize = 3;

const NO_NEWLINE: &str = "\\ No newline at end of file\n";

/// A git-style unified diff of `old` to `new`, or the empty string when they are equal.
///
/// Labels are the names git would print: `a/<path>` and `b/<path>`, relative to the
/// repository root, so that `git apply` run there accepts the diff. An `old_label` of
/// [`DEV_NULL`] makes it a new file (`new file mode 100644`); a `new_label` of
/// [`DEV_NULL`], a deleted one (`deleted file mode 100644`). Names with characters git
/// quotes (control characters, `"`, `\`) are C-quoted as git does.
pub fn unified_diff(
    old: &str,
    new: &str,
    old_label: &str,
    new_label: &str,
    context: usize,
) -> String {
    let is_new = old_label == DEV_NULL;
    let is_deleted = new_label == DEV_NULL && !is_new;
    if old == new && !is_new && !is_deleted {
        return String::new();
    }
    let git_old = if is_new {
        format!("a/{}", new_label.strip_prefix("b/").unwrap_or(new_label))
    } else {
        old_label.to_owned()
    };
    let git_new = if is_deleted {
        format!("b/{}", old_label.strip_prefix("a/").unwrap_or(old_label))
    } else {
        new_label.to_owned()
    };

    let mut out = String::new();
    let _ = writeln!(out, "diff --git {} {}", quote(&git_old), quote(&git_new));
    if is_new {
        out.push_str("new file mode 100644\n");
    } else if is_deleted {
        out.push_str("deleted file mode 100644\n");
    }
    if old == new {
        // An empty file created or deleted: git writes the header alone.
        return out;
    }
    let _ = writeln!(out, "--- {}", file_label(old_label));
    let _ = writeln!(out, "+++ {}", file_label(new_label));

    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    for group in similar::group_diff_ops(line_ops(&old_lines, &new_lines), context) {
        write_hunk(&mut out, &group, &old_lines, &new_lines);
    }
    out
}

/// How long Myers may search for a shortest diff before settling for a longer one.
const DIFF_DEADLINE: Duration = Duration::from_secs(1);

/// The line operations turning `old` into `new`, with consistent positions.
///
/// similar 2.7's compaction step (which makes diffs read better) can leave a `Delete` or
/// `Insert` with a stale cursor on the other side (mitsuhiko/similar#78; fixed in 3.1.1),
/// which would give a hunk header whose counts do not match its lines, a patch git calls
/// corrupt. So positions are recomputed from the lengths, in order, and every `Equal` run
/// is checked; if that fails the uncompacted diff is used, and as a last resort one
/// replacement of the whole text (still a correct patch).
fn line_ops(old: &[&str], new: &[&str]) -> Vec<DiffOp> {
    let deadline = Some(Instant::now() + DIFF_DEADLINE);
    let compacted = similar::capture_diff_slices_deadline(Algorithm::Myers, old, new, deadline);
    if let Some(ops) = normalized(&compacted, old, new) {
        return ops;
    }
    let mut hook = Replace::new(Capture::new());
    let raw = match similar::algorithms::diff_slices_deadline(
        Algorithm::Myers,
        &mut hook,
        old,
        new,
        deadline,
    ) {
        Ok(()) => hook.into_inner().into_ops(),
        Err(never) => match never {},
    };
    if let Some(ops) = normalized(&raw, old, new) {
        return ops;
    }
    let (old_len, new_len) = (old.len(), new.len());
    match (old_len, new_len) {
        (0, 0) => Vec::new(),
        (0, _) => vec![DiffOp::Insert {
            old_index: 0,
            new_index: 0,
            new_len,
        }],
        (_, 0) => vec![DiffOp::Delete {
            old_index: 0,
            old_len,
            new_index: 0,
        }],
        _ => vec![DiffOp::Replace {
            old_index: 0,
            old_len,
            new_index: 0,
            new_len,
        }],
    }
}

/// `ops` with their positions recomputed by walking both sides in order; `None` unless
/// they cover both texts exactly and every `Equal` run really is equal.
fn normalized<T: PartialEq>(ops: &[DiffOp], old: &[T], new: &[T]) -> Option<Vec<DiffOp>> {
    let (mut o, mut n) = (0, 0);
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        let (old_len, new_len) = (old_range.len(), new_range.len());
        let (old_index, new_index) = (o, n);
        out.push(match tag {
            DiffTag::Equal => {
                let same = old.get(o..o + old_len)? == new.get(n..n + old_len)?;
                if !same || old_len != new_len {
                    return None;
                }
                DiffOp::Equal {
                    old_index,
                    new_index,
                    len: old_len,
                }
            }
            DiffTag::Delete => DiffOp::Delete {
                old_index,
                old_len,
                new_index,
            },
            DiffTag::Insert => DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            },
            DiffTag::Replace => DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            },
        });
        o += old_len;
        n += new_len;
    }
    (o == old.len() && n == new.len()).then_some(out)
}

/// One hunk: its `@@` header and lines.
fn write_hunk(out: &mut String, group: &[DiffOp], old_lines: &[&str], new_lines: &[&str]) {
    let (Some(first), Some(last)) = (group.first(), group.last()) else {
        return;
    };
    let old_range = first.old_range().start..last.old_range().end;
    let new_range = first.new_range().start..last.new_range().end;
    let _ = writeln!(
        out,
        "@@ -{} +{} @@",
        hunk_range(old_range.start, old_range.len()),
        hunk_range(new_range.start, new_range.len())
    );
    for op in group {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => write_lines(out, ' ', &old_lines[old_range]),
            DiffTag::Delete => write_lines(out, '-', &old_lines[old_range]),
            DiffTag::Insert => write_lines(out, '+', &new_lines[new_range]),
            DiffTag::Replace => {
                write_lines(out, '-', &old_lines[old_range]);
                write_lines(out, '+', &new_lines[new_range]);
            }
        }
    }
}

/// `start,len` as in a hunk header: 1-based, `,len` left out when it is 1, and for an
/// empty range the line before it (0 at the top of the file).
fn hunk_range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

fn write_lines(out: &mut String, prefix: char, lines: &[&str]) {
    for line in lines {
        out.push(prefix);
        out.push_str(line);
        if !line.ends_with('\n') {
            out.push('\n');
            out.push_str(NO_NEWLINE);
        }
    }
}

/// A `---`/`+++` name: quoted if needed, with the tab git adds after a name with a space
/// (so that readers can tell the name from a timestamp).
fn file_label(label: &str) -> String {
    if label == DEV_NULL {
        return label.to_owned();
    }
    let tab = if label.contains(' ') { "\t" } else { "" };
    format!("{}{tab}", quote(label))
}

/// `name`, C-quoted as git quotes path names when it holds control characters, `"` or `\`.
/// Other bytes, spaces and UTF-8 included, are left as they are (git reads them either way).
fn quote(name: &str) -> String {
    let needs = name
        .chars()
        .any(|c| c == '"' || c == '\\' || c.is_ascii_control());
    if !needs {
        return name.to_owned();
    }
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\{:03o}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One file of a [`patch_files`] patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatchFile<'a> {
    /// Relative to the repository root, `/`-separated; a leading `./` is dropped.
    pub path: &'a str,
    /// The text before; `None` for a file the patch creates.
    pub old: Option<&'a str>,
    /// The text after.
    pub new: &'a str,
}

/// A patch of several files; `git apply` run at the repository root accepts it. A file
/// with no old text is created (`--- /dev/null`, `new file mode 100644`, as git writes
/// it); unchanged existing files are left out; the result is empty when nothing changed.
pub fn patch_files(files: &[PatchFile<'_>]) -> String {
    let mut out = String::new();
    for file in files {
        let mut path = file.path;
        while let Some(rest) = path.strip_prefix("./") {
            path = rest;
        }
        let new_label = format!("b/{path}");
        let diff = match file.old {
            Some(old) => unified_diff(
                old,
                file.new,
                &format!("a/{path}"),
                &new_label,
                DEFAULT_CONTEXT,
            ),
            None => unified_diff("", file.new, DEV_NULL, &new_label, DEFAULT_CONTEXT),
        };
        out.push_str(&diff);
    }
    out
}

/// A patch of several existing files, each `(path, old, new)`: [`patch_files`] with every
/// old text given.
pub fn patch<P, O, N>(files: &[(P, O, N)]) -> String
where
    P: AsRef<str>,
    O: AsRef<str>,
    N: AsRef<str>,
{
    let files: Vec<PatchFile<'_>> = files
        .iter()
        .map(|(path, old, new)| PatchFile {
            path: path.as_ref(),
            old: Some(old.as_ref()),
            new: new.as_ref(),
        })
        .collect();
    patch_files(&files)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn equal_texts_give_nothing() {
        assert_eq!(unified_diff("a\n", "a\n", "a/x", "b/x", 3), "");
        assert_eq!(unified_diff("", "", "a/x", "b/x", 3), "");
        assert_eq!(patch::<&str, &str, &str>(&[]), "");
    }

    #[test]
    fn simple_change_matches_git_output() {
        let old = "FROM a\nRUN x\nRUN y\nCMD z\n";
        let new = "FROM a\nRUN x && y\nCMD z\n";
        assert_eq!(
            unified_diff(old, new, "a/Dockerfile", "b/Dockerfile", 3),
            "diff --git a/Dockerfile b/Dockerfile\n\
             --- a/Dockerfile\n\
             +++ b/Dockerfile\n\
             @@ -1,4 +1,3 @@\n \
             FROM a\n\
             -RUN x\n\
             -RUN y\n\
             +RUN x && y\n \
             CMD z\n"
        );
    }

    #[test]
    fn hunk_headers_follow_gnu_conventions() {
        assert_eq!(hunk_range(0, 0), "0,0");
        assert_eq!(hunk_range(4, 0), "4,0");
        assert_eq!(hunk_range(0, 1), "1");
        assert_eq!(hunk_range(9, 3), "10,3");
        // Insertion at the top with no context.
        let d = unified_diff("b\n", "a\nb\n", "a/x", "b/x", 0);
        assert!(d.ends_with("@@ -0,0 +1 @@\n+a\n"), "{d}");
    }

    #[test]
    fn missing_final_newline_is_marked_on_each_side() {
        let d = unified_diff("a\nb", "a\nb\n", "a/x", "b/x", 3);
        assert!(
            d.ends_with("@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"),
            "{d}"
        );
        let d = unified_diff("a\nb", "c\nb", "a/x", "b/x", 3);
        assert!(
            d.ends_with("-a\n+c\n b\n\\ No newline at end of file\n"),
            "{d}"
        );
    }

    #[test]
    fn crlf_lines_keep_their_ending() {
        let d = unified_diff("a\r\nb\r\n", "a\r\nc\r\n", "a/x", "b/x", 3);
        assert!(d.ends_with(" a\r\n-b\r\n+c\r\n"), "{d:?}");
    }

    #[test]
    fn new_and_deleted_files() {
        let d = unified_diff("", "FROM a\n", DEV_NULL, "b/sub/Dockerfile", 3);
        assert_eq!(
            d,
            "diff --git a/sub/Dockerfile b/sub/Dockerfile\nnew file mode 100644\n\
             --- /dev/null\n+++ b/sub/Dockerfile\n@@ -0,0 +1 @@\n+FROM a\n"
        );
        let d = unified_diff("FROM a\n", "", "a/Dockerfile", DEV_NULL, 3);
        assert_eq!(
            d,
            "diff --git a/Dockerfile b/Dockerfile\ndeleted file mode 100644\n\
             --- a/Dockerfile\n+++ /dev/null\n@@ -1 +0,0 @@\n-FROM a\n"
        );
        assert_eq!(
            unified_diff("", "", DEV_NULL, "b/empty", 3),
            "diff --git a/empty b/empty\nnew file mode 100644\n"
        );
    }

    /// Parses the hunks of a one-file diff and checks that each header's counts match its
    /// lines, as git's "corrupt patch" check does.
    fn assert_consistent_hunks(diff: &str) {
        let mut lines = diff.lines().skip_while(|l| !l.starts_with("@@")).peekable();
        while let Some(header) = lines.next() {
            let counts: Vec<usize> = header
                .trim_start_matches("@@ ")
                .trim_end_matches(" @@")
                .split(' ')
                .map(|side| {
                    side[1..]
                        .split(',')
                        .nth(1)
                        .map_or(1, |n| n.parse().unwrap())
                })
                .collect();
            let (mut old, mut new) = (0, 0);
            while let Some(line) = lines.next_if(|l| !l.starts_with("@@")) {
                match line.as_bytes().first() {
                    Some(b' ') => (old, new) = (old + 1, new + 1),
                    Some(b'-') => old += 1,
                    Some(b'+') => new += 1,
                    Some(b'\\') => {}
                    _ => panic!("unexpected line {line:?} in\n{diff}"),
                }
            }
            assert_eq!(vec![old, new], counts, "{header} in\n{diff}");
        }
    }

    #[test]
    fn stale_cursors_from_similar_compaction_are_repaired() {
        // similar 2.7.0 compacts this to a Delete whose new_index is 1 instead of 0
        // (mitsuhiko/similar#78), which made a hunk header `@@ -1,3 +2,3 @@`.
        let old = "\n\r\n\n\n\n";
        let new = "\r\na\n\r\n\n\n\n";
        let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
        let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
        let ops = line_ops(&old_lines, &new_lines);
        let (mut o, mut n) = (0, 0);
        for op in &ops {
            assert_eq!(
                (op.old_range().start, op.new_range().start),
                (o, n),
                "{ops:?}"
            );
            o = op.old_range().end;
            n = op.new_range().end;
        }
        let diff = unified_diff(old, new, "a/x", "b/x", 1);
        assert!(diff.contains("@@ -1,3 +1,4 @@\n"), "{diff}");
        assert_consistent_hunks(&diff);

        // The example of the upstream issue, on integers.
        let a = [1, 1, 0, 2];
        let b = [2, 1, 0, 0, 0, 0];
        let raw = similar::capture_diff_slices(Algorithm::Myers, &a, &b);
        let fixed = normalized(&raw, &a, &b).unwrap();
        assert!(
            fixed
                .windows(2)
                .all(|w| w[0].old_range().end == w[1].old_range().start
                    && w[0].new_range().end == w[1].new_range().start)
        );
    }

    #[test]
    fn inconsistent_ops_are_rejected_by_normalization() {
        let old = ["a\n", "b\n"];
        let new = ["a\n", "c\n"];
        // An Equal that claims b == c.
        let bad = [DiffOp::Equal {
            old_index: 0,
            new_index: 0,
            len: 2,
        }];
        assert_eq!(normalized(&bad, &old, &new), None);
        // Ops that do not cover the texts.
        let short = [DiffOp::Equal {
            old_index: 0,
            new_index: 0,
            len: 1,
        }];
        assert_eq!(normalized(&short, &old, &new), None);
    }

    /// Applies a one-file diff to `old` strictly (exact positions, every context and
    /// removed line checked), the way a patch tool without fuzz would.
    fn apply_strictly(old: &str, diff: &str) -> String {
        assert_consistent_hunks(diff);
        let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut next_old = 0; // index of the next old line not yet copied
        let body: Vec<&str> = diff.split_inclusive('\n').collect();
        let mut i = body
            .iter()
            .position(|l| l.starts_with("@@"))
            .unwrap_or(body.len());
        while i < body.len() {
            let header = body[i];
            let old_side = header.split(' ').nth(1).unwrap();
            let mut parts = old_side[1..].split(',');
            let start: usize = parts.next().unwrap().parse().unwrap();
            let len: usize = parts.next().map_or(1, |n| n.parse().unwrap());
            let first = if len == 0 { start } else { start - 1 };
            assert!(first >= next_old, "hunks out of order in\n{diff}");
            out.extend(old_lines[next_old..first].iter().copied());
            next_old = first;
            i += 1;
            // Which side the previous line went to, for a following "\ No newline".
            let mut last: Option<char> = None;
            while i < body.len() && !body[i].starts_with("@@") {
                let line = body[i];
                let (tag, content) = line.split_at(1);
                let no_newline_follows = body.get(i + 1).is_some_and(|l| l.starts_with('\\'));
                let content = if no_newline_follows {
                    content.strip_suffix('\n').unwrap()
                } else {
                    content
                };
                match tag {
                    " " | "-" => {
                        assert_eq!(old_lines.get(next_old), Some(&content), "{diff}");
                        next_old += 1;
                        if tag == " " {
                            out.push_str(content);
                        }
                    }
                    "+" => out.push_str(content),
                    "\\" => assert!(last.is_some()),
                    _ => panic!("bad line {line:?}"),
                }
                last = tag.chars().next();
                i += 1;
            }
        }
        out.extend(old_lines[next_old..].iter().copied());
        out
    }

    fn text() -> impl Strategy<Value = String> {
        let line = (
            prop::collection::vec(prop::sample::select(vec!['a', 'b', '\r', ' ', '\\']), 0..4),
            prop::sample::select(vec!["\n", "\r\n", ""]),
        )
            .prop_map(|(chars, end)| chars.into_iter().collect::<String>() + end);
        prop::collection::vec(line, 0..10).prop_map(|lines| lines.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Small alphabets make many equal lines, where similar's compaction misplaces
        /// cursors; every diff must still be consistent and reproduce `new` exactly.
        #[test]
        fn diffs_reproduce_new_exactly(old in text(), new in text(), context in 0usize..4) {
            let diff = unified_diff(&old, &new, "a/x", "b/x", context);
            prop_assert_eq!(diff.is_empty(), old == new);
            if old != new {
                prop_assert_eq!(apply_strictly(&old, &diff), new);
            }
        }
    }

    #[test]
    fn names_are_quoted_like_git() {
        assert_eq!(quote("a/plain name"), "a/plain name");
        assert_eq!(quote("a/tab\there"), "\"a/tab\\there\"");
        assert_eq!(quote("a/q\"b\\"), "\"a/q\\\"b\\\\\"");
        assert_eq!(quote("a/\x01"), "\"a/\\001\"");
        assert_eq!(file_label("a/with space"), "a/with space\t");
    }

    #[test]
    fn patch_concatenates_changed_files_with_prefixes() {
        let p = patch(&[
            ("./one", "a\n", "b\n"),
            ("same", "x\n", "x\n"),
            ("dir/two", "c\n", "d\n"),
        ]);
        assert_eq!(
            p,
            "diff --git a/one b/one\n--- a/one\n+++ b/one\n@@ -1 +1 @@\n-a\n+b\n\
             diff --git a/dir/two b/dir/two\n--- a/dir/two\n+++ b/dir/two\n@@ -1 +1 @@\n-c\n+d\n"
        );
    }

    #[test]
    fn patch_files_creates_new_files_like_git() {
        let p = patch_files(&[
            PatchFile {
                path: "./app/Dockerfile",
                old: Some("FROM a\n"),
                new: "FROM b\n",
            },
            PatchFile {
                path: "app/.dockerignore",
                old: None,
                new: "node_modules\n.git\n",
            },
            PatchFile {
                path: "same",
                old: Some("x\n"),
                new: "x\n",
            },
        ]);
        assert_eq!(
            p,
            "diff --git a/app/Dockerfile b/app/Dockerfile\n--- a/app/Dockerfile\n\
             +++ b/app/Dockerfile\n@@ -1 +1 @@\n-FROM a\n+FROM b\n\
             diff --git a/app/.dockerignore b/app/.dockerignore\nnew file mode 100644\n\
             --- /dev/null\n+++ b/app/.dockerignore\n@@ -0,0 +1,2 @@\n+node_modules\n+.git\n"
        );
        // An empty new file is still created: git writes the header alone.
        assert_eq!(
            patch_files(&[PatchFile {
                path: "e",
                old: None,
                new: ""
            }]),
            "diff --git a/e b/e\nnew file mode 100644\n"
        );
    }
}
