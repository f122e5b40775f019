//! Every rule that rewrites shell text, alone and all together, over realistic Dockerfiles
//! whose RUNs have hard shapes (`fixtures/shell-shapes/`: trailing comments, comment lines
//! inside continuations, `;`, `||`, pipes, subshells, `set -eux`, heredocs, CRLF with a
//! backtick escape, Windows). The fix loop, with its semantic guard, must not refuse, and
//! fixing again must change nothing. The diffs of the default Safe fixes, of every fix, and
//! of merge-runs merging every pair it can are snapshots under
//! snapshots/transforms/shell-shapes, for people to review.

use std::fmt::Write as _;
use std::path::Path;

use dockopt_fix::{FixOptions, assert_idempotent, fix_loop, unified_diff};
use dockopt_transforms::{RuleOptions, Selection, check_file};

/// The rules whose fixes edit RUN bodies.
const SHELL_RULES: &[&str] = &[
    "merge-runs",
    "apt-get-yes",
    "apt-no-install-recommends",
    "apt-lists-cleanup",
    "pip-no-cache",
    "apk-no-cache",
    "npm-cache-clean",
    "cache-mounts",
    "split-copy",
    "multi-stage",
    "non-root-user",
];

fn merge_everything() -> Selection {
    let table: toml::Table = toml::from_str("only-related = false").unwrap();
    Selection::only(&["merge-runs"])
        .with_options(RuleOptions::new([("merge-runs".to_string(), table)].into()).unwrap())
}

/// Fixes `text` with `selection`; panics when the loop refuses or is not idempotent.
fn fixed(name: &str, mode: &str, text: &str, selection: &Selection, unsafe_fixes: bool) -> String {
    let options = FixOptions::new(unsafe_fixes);
    let check = |f: &dockopt_syntax::Dockerfile| check_file(f, selection);
    let outcome = fix_loop(text, &options, &check);
    if let Some(refusal) = &outcome.refused {
        panic!("{name} ({mode}): the fix loop refused: {refusal}");
    }
    assert_idempotent(&outcome.text, &options, &check);
    outcome.text
}

#[test]
fn shell_rewriting_rules_keep_every_command_on_realistic_shapes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shell-shapes");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".Dockerfile"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "shell-shapes fixtures are missing");
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        for rule in SHELL_RULES {
            fixed(&name, rule, &text, &Selection::only(&[rule]), true);
        }
        let mut report = String::new();
        for (mode, selection, unsafe_fixes) in [
            ("default Safe fixes", Selection::defaults(), false),
            ("--unsafe-fixes", Selection::defaults(), true),
            (
                "merge-runs, only-related = false",
                merge_everything(),
                false,
            ),
        ] {
            let after = fixed(&name, mode, &text, &selection, unsafe_fixes);
            let _ = write!(
                report,
                "## {mode}\n{}\n",
                unified_diff(&text, &after, "a/Dockerfile", "b/Dockerfile", 2)
            );
        }
        let snapshot = name.trim_end_matches(".Dockerfile").to_string();
        insta::with_settings!({
            snapshot_path => "../../snapshots/transforms/shell-shapes",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(snapshot, report);
        });
    }
}
