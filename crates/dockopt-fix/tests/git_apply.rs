//! Generated diffs and patches fed to the real `git apply` in a temporary repository.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use dockopt_fix::{DEV_NULL, PatchFile, patch, patch_files, unified_diff};
use proptest::prelude::*;

/// A fresh `git init` in the system temp folder, removed on drop.
struct TempRepo {
    dir: PathBuf,
}

impl TempRepo {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dockopt-fix-git-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let repo = Self { dir };
        let out = repo.git(&["init", "-q"]);
        assert!(out.status.success(), "git init: {out:?}");
        repo
    }

    /// Runs git in the repository, ignoring the user's and the system's configuration
    /// (core.autocrlf and apply.whitespace there would change what is tested).
    fn git(&self, args: &[&str]) -> Output {
        Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", &self.dir)
            .env("LC_ALL", "C")
            .output()
            .expect("git runs")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn write(&self, rel: &str, content: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        fs::read(self.path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    /// `git apply --check` then `git apply` of `patch`; the error says what git said.
    fn apply(&self, patch: &str) -> Result<(), String> {
        let patch_file = self.dir.join(".git").join("test.patch");
        fs::write(&patch_file, patch).unwrap();
        let patch_arg = patch_file.to_str().unwrap();
        for args in [&["apply", "--check", patch_arg][..], &["apply", patch_arg]] {
            let out = self.git(args);
            if !out.status.success() {
                return Err(format!(
                    "git {args:?} failed: {}\n--- patch ---\n{patch}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        Ok(())
    }
}

impl Drop for TempRepo {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Writes `old` at `path`, applies the diff of `old` to `new`, and checks the bytes.
fn assert_applies(path: &str, old: &str, new: &str) {
    let repo = TempRepo::new();
    repo.write(path, old);
    let diff = unified_diff(old, new, &format!("a/{path}"), &format!("b/{path}"), 3);
    assert!(!diff.is_empty());
    repo.apply(&diff).unwrap();
    assert_eq!(
        String::from_utf8(repo.read(path)).unwrap(),
        new,
        "diff was:\n{diff}"
    );
}

#[test]
fn git_is_available() {
    let out = Command::new("git")
        .arg("--version")
        .output()
        .expect("git is installed");
    assert!(out.status.success());
}

#[test]
fn simple_change() {
    assert_applies(
        "Dockerfile",
        "FROM debian\nRUN apt-get update\nRUN apt-get install curl\nCMD [\"curl\"]\n",
        "FROM debian\nRUN apt-get update && apt-get install -y curl\nCMD [\"curl\"]\n",
    );
}

#[test]
fn crlf_file() {
    let old = "FROM debian\r\nRUN a\r\nRUN b\r\nCMD c\r\n";
    let new = "FROM debian\r\nRUN a && \\\r\n    b\r\nCMD c\r\n";
    assert_applies("Dockerfile", old, new);
    // Mixed endings, and a change of ending alone.
    assert_applies("Dockerfile", "a\r\nb\nc\r\n", "a\r\nb\r\nc\r\n");
}

#[test]
fn bom_file() {
    let old = "\u{feff}FROM debian\nRUN a\n";
    assert_applies("Dockerfile", old, "\u{feff}FROM debian:12\nRUN a\n");
    // The BOM itself removed or added.
    assert_applies("Dockerfile", old, "FROM debian\nRUN a\n");
    assert_applies("Dockerfile", "FROM debian\r\n", "\u{feff}FROM debian\r\n");
}

#[test]
fn no_final_newline_on_old_new_or_both() {
    let with = "FROM a\nRUN b\nCMD c\n";
    let without = "FROM a\nRUN b\nCMD c";
    assert_applies("Dockerfile", without, with);
    assert_applies("Dockerfile", with, without);
    assert_applies("Dockerfile", without, "FROM a\nRUN b\nCMD d");
    // Unchanged last line without newline as context, change above it.
    assert_applies("Dockerfile", without, "FROM z\nRUN b\nCMD c");
    // CRLF without a final newline, and a last line ending in a bare CR.
    assert_applies("Dockerfile", "FROM a\r\nRUN b", "FROM a\r\nRUN c");
    assert_applies("Dockerfile", "FROM a\r\nRUN b\r", "FROM a\r\nRUN b\r\n");
}

#[test]
fn new_file_from_dev_null() {
    let repo = TempRepo::new();
    let new = "FROM scratch\r\nCOPY x /\r\n";
    let diff = unified_diff("", new, DEV_NULL, "b/sub/dir/Dockerfile", 3);
    assert!(
        diff.contains("new file mode 100644\n--- /dev/null\n"),
        "{diff}"
    );
    repo.apply(&diff).unwrap();
    assert_eq!(repo.read("sub/dir/Dockerfile"), new.as_bytes());

    // A new file without a final newline, and an empty new file.
    let diff = unified_diff("", "FROM a", DEV_NULL, "b/second", 3);
    repo.apply(&diff).unwrap();
    assert_eq!(repo.read("second"), b"FROM a");
    let diff = unified_diff("", "", DEV_NULL, "b/empty", 3);
    repo.apply(&diff).unwrap();
    assert_eq!(repo.read("empty"), b"");
}

#[test]
fn deleted_file() {
    let repo = TempRepo::new();
    repo.write("gone", "FROM a\nRUN b");
    repo.apply(&unified_diff("FROM a\nRUN b", "", "a/gone", DEV_NULL, 3))
        .unwrap();
    assert!(!repo.path("gone").exists());
}

#[test]
fn several_hunks() {
    let old = (1..=40).fold(String::new(), |mut s, i| {
        let _ = writeln!(s, "RUN step {i}");
        s
    });
    let new = old
        .replace("RUN step 2\n", "RUN step two\n")
        .replace("RUN step 20\n", "")
        .replace("RUN step 28\n", "RUN step 28\nRUN step 28b\n")
        .replace("RUN step 40\n", "RUN step 40");
    let diff = unified_diff(&old, &new, "a/Dockerfile", "b/Dockerfile", 3);
    assert_eq!(diff.matches("\n@@ ").count(), 4, "{diff}");
    assert_applies("Dockerfile", &old, &new);
}

#[test]
fn file_emptied_but_kept() {
    let repo = TempRepo::new();
    repo.write("Dockerfile", "FROM a\nRUN b\n");
    repo.apply(&unified_diff(
        "FROM a\nRUN b\n",
        "",
        "a/Dockerfile",
        "b/Dockerfile",
        3,
    ))
    .unwrap();
    assert_eq!(repo.read("Dockerfile"), b"");
    // And filled again from empty (an existing empty file, not a new one).
    repo.apply(&unified_diff(
        "",
        "FROM c\n",
        "a/Dockerfile",
        "b/Dockerfile",
        3,
    ))
    .unwrap();
    assert_eq!(repo.read("Dockerfile"), b"FROM c\n");
}

#[test]
fn runs_of_blank_lines_with_one_line_of_context() {
    // Found by the proptest below: similar 2.7 misplaced a cursor here and git called the
    // patch corrupt.
    let repo = TempRepo::new();
    let old = "\n\r\n\n\n\n";
    let new = "\r\na\n\r\n\n\n\n";
    repo.write("Dockerfile", old);
    repo.apply(&unified_diff(old, new, "a/Dockerfile", "b/Dockerfile", 1))
        .unwrap();
    assert_eq!(repo.read("Dockerfile"), new.as_bytes());
}

#[test]
fn lines_that_look_like_patch_syntax() {
    let old = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n\\ No newline at end of file\ndiff --git a b\n";
    let new = "-- a/x\n+++ b/x\n@@ -2 +2 @@\n\\ No newline\ndiff --git a b";
    assert_applies("Dockerfile", old, new);
}

#[test]
fn multi_file_patch_from_the_repository_root() {
    let repo = TempRepo::new();
    let files = [
        ("Dockerfile", "FROM a\nRUN b\n", "FROM a\nRUN c\n"),
        ("same/Dockerfile", "FROM s\n", "FROM s\n"),
        (
            "svc/api/Dockerfile.prod",
            "FROM x\r\nRUN y",
            "FROM x\r\nRUN z",
        ),
        (
            "with space/Dockerfile",
            "\u{feff}FROM é\n",
            "\u{feff}FROM ü\n",
        ),
        ("tab\there/Containerfile", "FROM q\n", "FROM r\n"),
    ];
    for (path, old, _) in &files {
        repo.write(path, old);
    }
    let p = patch(&files);
    assert_eq!(p.matches("diff --git ").count(), 4, "{p}");
    repo.apply(&p).unwrap();
    for (path, _, new) in &files {
        assert_eq!(repo.read(path), new.as_bytes(), "{path}");
    }
}

#[test]
fn patch_with_dot_slash_paths() {
    let repo = TempRepo::new();
    repo.write("Dockerfile", "FROM a\n");
    repo.apply(&patch(&[("./Dockerfile", "FROM a\n", "FROM b\n")]))
        .unwrap();
    assert_eq!(repo.read("Dockerfile"), b"FROM b\n");
}

/// True (with a note) when there is no git to test against.
fn git_missing() -> bool {
    let ok = Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("git is not installed; skipping");
    }
    !ok
}

#[test]
fn patch_that_fixes_a_dockerfile_and_creates_its_dockerignore() {
    if git_missing() {
        return;
    }
    let repo = TempRepo::new();
    let dockerfile = (
        "app/Dockerfile",
        "FROM a\nCOPY . .\n",
        "FROM a\nCOPY . /app\n",
    );
    repo.write(dockerfile.0, dockerfile.1);
    let ignore = "node_modules\n.git\n";
    let p = patch_files(&[
        PatchFile {
            path: dockerfile.0,
            old: Some(dockerfile.1),
            new: dockerfile.2,
        },
        PatchFile {
            path: "./app/.dockerignore",
            old: None,
            new: ignore,
        },
    ]);
    assert!(
        p.contains("new file mode 100644\n--- /dev/null\n+++ b/app/.dockerignore\n"),
        "{p}"
    );
    repo.apply(&p).unwrap();
    assert_eq!(repo.read(dockerfile.0), dockerfile.2.as_bytes());
    assert_eq!(repo.read("app/.dockerignore"), ignore.as_bytes());

    // The same patch again: git refuses to create a file that exists.
    repo.write(dockerfile.0, dockerfile.1);
    assert!(repo.apply(&p).is_err());
}

#[test]
fn patch_that_extends_an_existing_dockerignore() {
    if git_missing() {
        return;
    }
    let repo = TempRepo::new();
    let old = "# build output\ntarget\n*.log";
    let new = "# build output\ntarget\n*.log\nnode_modules\n.git\n";
    repo.write(".dockerignore", old);
    let p = patch_files(&[PatchFile {
        path: ".dockerignore",
        old: Some(old),
        new,
    }]);
    assert!(!p.contains("new file mode"), "{p}");
    repo.apply(&p).unwrap();
    assert_eq!(repo.read(".dockerignore"), new.as_bytes());
}

/// A line: its content (from characters that stress the patch format) and its ending.
fn line() -> impl Strategy<Value = String> {
    let chars = prop::sample::select(vec![
        'a', 'b', ' ', '-', '+', '\\', '@', '\t', '\r', 'é', '🐳', '\u{feff}',
    ]);
    (prop::collection::vec(chars, 0..6), any::<bool>()).prop_map(|(chars, crlf)| {
        let mut s: String = chars.into_iter().collect();
        s.push_str(if crlf { "\r\n" } else { "\n" });
        s
    })
}

/// Lines joined, the last one's ending dropped unless `final_newline`.
fn join(lines: &[String], final_newline: bool) -> String {
    let mut text = lines.concat();
    if !final_newline {
        if text.ends_with("\r\n") {
            text.truncate(text.len() - 2);
        } else if text.ends_with('\n') {
            text.pop();
        }
    }
    text
}

#[derive(Clone, Debug)]
enum LineEdit {
    Insert(usize, String),
    Delete(usize),
    Replace(usize, String),
}

fn line_edit() -> impl Strategy<Value = LineEdit> {
    prop_oneof![
        (any::<usize>(), line()).prop_map(|(i, l)| LineEdit::Insert(i, l)),
        any::<usize>().prop_map(LineEdit::Delete),
        (any::<usize>(), line()).prop_map(|(i, l)| LineEdit::Replace(i, l)),
    ]
}

fn edit_lines(mut lines: Vec<String>, edits: &[LineEdit]) -> Vec<String> {
    for edit in edits {
        match edit {
            LineEdit::Insert(i, l) => {
                let at = i % (lines.len() + 1);
                lines.insert(at, l.clone());
            }
            LineEdit::Delete(i) if !lines.is_empty() => {
                let at = i % lines.len();
                lines.remove(at);
            }
            LineEdit::Replace(i, l) if !lines.is_empty() => {
                let at = i % lines.len();
                lines[at].clone_from(l);
            }
            LineEdit::Delete(_) | LineEdit::Replace(..) => {}
        }
    }
    lines
}

proptest! {
    // Each case runs git twice: keep the count small.
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn git_apply_turns_old_into_new(
        old_lines in prop::collection::vec(line(), 0..12),
        old_final in any::<bool>(),
        edits in prop::collection::vec(line_edit(), 1..5),
        new_final in any::<bool>(),
        context in 1usize..=3,
    ) {
        let old = join(&old_lines, old_final);
        let new = join(&edit_lines(old_lines, &edits), new_final);
        let diff = unified_diff(&old, &new, "a/Dockerfile", "b/Dockerfile", context);
        prop_assert_eq!(diff.is_empty(), old == new);
        if old != new {
            let repo = TempRepo::new();
            repo.write("Dockerfile", &old);
            if let Err(e) = repo.apply(&diff) {
                return Err(TestCaseError::fail(e));
            }
            let got = String::from_utf8(repo.read("Dockerfile")).unwrap();
            prop_assert_eq!(got, new, "diff was:\n{}", diff);
        }
    }
}

#[test]
fn temp_repos_are_removed() {
    let dir: PathBuf = {
        let repo = TempRepo::new();
        assert!(Path::new(&repo.dir).join(".git").is_dir());
        repo.dir.clone()
    };
    assert!(!dir.exists());
}
