//! Every rule against its fixtures (`fixtures/<rule>/fires.Dockerfile` and
//! `does-not-fire.Dockerfile`): the first must fire, the second must not; the rule alone is
//! run through the real fix loop (Unsafe fixes included), which must converge without new
//! syntax errors, and fixing the result again must change nothing. Diagnostics and the diff
//! are snapshots under snapshots/transforms/.

use std::fmt::Write as _;
use std::path::Path;

use dockopt_fix::{FixOptions, assert_idempotent, fix_loop, unified_diff};
use dockopt_transforms::{Selection, all_rules, check_file};

fn report(rule: &str, name: &str, text: &str) -> (usize, String) {
    let selection = Selection::only(&[rule]);
    let file = dockopt_syntax::parse(text);
    let diagnostics = check_file(&file, &selection);
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
    let check = |f: &dockopt_syntax::Dockerfile| check_file(f, &selection);
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
        let (count, fired) = report(name, "fires", &fires);
        assert!(count > 0, "{name}: fires.Dockerfile does not fire");
        let (count, silent) = report(name, "does-not-fire", &quiet);
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
