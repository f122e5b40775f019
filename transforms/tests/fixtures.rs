//! Every rule against its fixtures (`fixtures/<rule>/fires.Dockerfile` and
//! `does-not-fire.Dockerfile`): the first must fire, the second must not; the rule alone is
//! run through the real fix loop (Unsafe fixes included), which must converge without new
//! syntax errors, and fixing the result again must change nothing. Diagnostics and the diff
//! are snapshots under snapshots/transforms/. A rule that reads the build context gets
//! `fixtures/<rule>/context/` when that folder exists.

use std::fmt::Write as _;
use std::path::Path;

use dockopt_fix::{FixOptions, PatchFile, assert_idempotent, fix_loop, patch_files, unified_diff};
use dockopt_transforms::{BuildContext, Selection, all_rules, check_file_in};

fn report(rule: &str, name: &str, text: &str, context: Option<&BuildContext>) -> (usize, String) {
    let selection = Selection::only(&[rule]);
    let file = dockopt_syntax::parse(text);
    let diagnostics = check_file_in(&file, &selection, context);
    let mut out = String::new();
    for d in &diagnostics {
        let at = file.line_col(d.range.start);
        let _ = write!(out, "{at}: {}", d.message);
        if let Some(fix) = &d.fix {
            let _ = write!(
                out,
                "\n    fix ({}): {}",
                fix.applicability.name(),
                fix.title
            );
        }
        out.push('\n');
    }
    let options = FixOptions::new(true);
    let check = |f: &dockopt_syntax::Dockerfile| check_file_in(f, &selection, context);
    let outcome = fix_loop(text, &options, &check);
    assert!(
        outcome.refused.is_none(),
        "{rule}/{name}: fix loop refused: {:?}",
        outcome.refused
    );
    assert_idempotent(&outcome.text, &options, &check);
    let _ = write!(
        out,
        "\ndiff (--unsafe-fixes):\n{}",
        unified_diff(text, &outcome.text, "a/Dockerfile", "b/Dockerfile", 3)
    );
    for applied in &outcome.file_changes {
        let change = &applied.change;
        let name = change.path.file_name().unwrap().to_string_lossy();
        let _ = write!(
            out,
            "{}",
            patch_files(&[PatchFile {
                path: &name,
                old: change.original.as_deref(),
                new: &change.text,
            }])
        );
    }
    (diagnostics.len(), out)
}

#[test]
fn every_rule_has_fixtures_that_fire_and_that_must_not() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for rule in all_rules() {
        let name = rule.meta().name;
        let dir = root.join(name);
        let fires = std::fs::read_to_string(dir.join("fires.Dockerfile"))
            .unwrap_or_else(|_| panic!("{name}: fixtures/{name}/fires.Dockerfile is missing"));
        let quiet =
            std::fs::read_to_string(dir.join("does-not-fire.Dockerfile")).unwrap_or_else(|_| {
                panic!("{name}: fixtures/{name}/does-not-fire.Dockerfile is missing")
            });
        let context_dir = dir.join("context");
        let context = context_dir
            .is_dir()
            .then(|| BuildContext::new(&context_dir));
        let (count, fired) = report(name, "fires", &fires, context.as_ref());
        assert!(count > 0, "{name}: fires.Dockerfile does not fire");
        let (count, silent) = report(name, "does-not-fire", &quiet, context.as_ref());
        assert_eq!(
            count, 0,
            "{name}: does-not-fire.Dockerfile fires:\n{silent}"
        );
        insta::with_settings!({
            snapshot_path => "../../snapshots/transforms",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, fired);
        });
    }
}

/// Project fixtures: `fixtures/<rule>/<project>/Dockerfile`, a Dockerfile as a real
/// project writes it, run through the rule alone like the files above; each is a snapshot
/// `<rule>@<project>`.
#[test]
fn project_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for rule in all_rules() {
        let name = rule.meta().name;
        let Ok(entries) = std::fs::read_dir(root.join(name)) else {
            continue;
        };
        let mut projects: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("Dockerfile").is_file())
            .collect();
        projects.sort();
        for project in projects {
            let text = std::fs::read_to_string(project.join("Dockerfile")).unwrap();
            let context = project.join("context");
            let context = context.is_dir().then(|| BuildContext::new(&context));
            let label = project.file_name().unwrap().to_string_lossy();
            let (count, fired) = report(name, &label, &text, context.as_ref());
            assert!(
                count > 0,
                "{name}/{label}: the project fixture does not fire"
            );
            insta::with_settings!({
                snapshot_path => "../../snapshots/transforms",
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(format!("{name}@{label}"), fired);
            });
        }
    }
}
