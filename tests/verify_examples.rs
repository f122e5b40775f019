//! `dockopt verify` on every example, with Safe fixes only and with `--unsafe-fixes`: the
//! original and the fixed Dockerfile build, the smoke check passes on both, and there is no
//! unexpected difference. Needs an engine: `eval "$(tests/engine/up)"`, then
//! `cargo test -p dockopt --test verify_examples -- --ignored`. The JSON reports are kept
//! under target/tmp/verify-reports for `python3 examples/table.py --from target/tmp/verify-reports`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("example.toml").is_file())
        .collect();
    out.sort();
    assert!(
        out.len() >= 5,
        "expected at least five examples, found {}",
        out.len()
    );
    out
}

/// Empties the engine's build cache when the disk runs low (tests/engine/prune-if-low):
/// every verify builds twice without cache, and a full disk breaks builds and exports.
fn prune_if_low() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/engine/prune-if-low");
    let status = Command::new(script).status().expect("run prune-if-low");
    assert!(status.success(), "tests/engine/prune-if-low failed");
}

/// The modes the figures table shows: Safe fixes, every fix, and every fix but multi-stage
/// (what the single-stage passes, split-copy above all, do to rebuild times on their own).
const SAFE: &[&str] = &[];
const UNSAFE: &[&str] = &["--unsafe-fixes"];
const SINGLE_STAGE: &[&str] = &["--unsafe-fixes", "--ignore", "multi-stage"];

fn mode_name(extra: &[&str]) -> &'static str {
    match extra {
        [] => "safe",
        ["--unsafe-fixes"] => "unsafe",
        _ => "unsafe-single-stage",
    }
}

fn verify(example: &Path, extra: &[&str]) -> serde_json::Value {
    prune_if_low();
    let mode = mode_name(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_dockopt"))
        .args(["verify", "--json"])
        .args(extra)
        .arg(example)
        .output()
        .expect("run dockopt verify");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{} ({mode}): not JSON ({e}):\n{stdout}\n{}",
            example.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    // Keep every report: `python3 examples/table.py --from DIR` turns them into the table.
    let reports = Path::new(env!("CARGO_TARGET_TMPDIR")).join("verify-reports");
    std::fs::create_dir_all(&reports).unwrap();
    let name = example.file_name().unwrap().to_string_lossy();
    std::fs::write(
        reports.join(format!("{name}.{mode}.json")),
        stdout.as_bytes(),
    )
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{} ({mode}): verify failed:\n{report:#}",
        example.display()
    );
    report
}

fn check(example: &Path, report: &serde_json::Value) {
    let name = example.display();
    if report["changed"] == false {
        // Nothing to build: merge-runs merges only related RUNs, and an example may have
        // nothing else for the Safe fixes to do.
        assert_eq!(report["verdict"], "no-changes", "{name}: {report:#}");
        return;
    }
    for side in ["original", "fixed"] {
        assert_eq!(
            report[side]["build_ok"], true,
            "{name}: {side} did not build"
        );
        assert_eq!(
            report[side]["smoke_ok"], true,
            "{name}: {side} failed its smoke check"
        );
    }
    let unexpected = report["unexpected_differences"]
        .as_array()
        .expect("unexpected_differences");
    assert!(
        unexpected.is_empty(),
        "{name}: unexpected differences: {unexpected:#?}"
    );
}

#[test]
#[ignore = "needs a Docker engine (tests/engine/up)"]
fn every_example_verifies_with_safe_and_unsafe_fixes() {
    for example in examples() {
        let safe = verify(&example, SAFE);
        check(&example, &safe);
        let all = verify(&example, UNSAFE);
        assert_eq!(
            all["changed"],
            true,
            "{}: no Unsafe fix applies",
            example.display()
        );
        check(&example, &all);
        let applied = |rule: &str| {
            all["applied_fixes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["rule"] == rule)
                .count() as u64
        };
        // Only split-copy adds layers (the manifests' COPY), one per split.
        let layers = |r: &serde_json::Value, side: &str| r[side]["layers"].as_u64().unwrap();
        assert!(
            layers(&all, "fixed") <= layers(&all, "original") + applied("split-copy"),
            "{}: the unsafe fixes added layers",
            example.display()
        );
        // The examples whose install reads manifests get them copied first, with and without
        // multi-stage. (How much faster a rebuild after a source edit is, is a figure of the
        // table, not a timed assertion.)
        let name = example.file_name().unwrap().to_string_lossy();
        if [
            "python-web",
            "python-uv",
            "python-poetry",
            "python-pipenv",
            "node-web",
            "node-api",
            "node-yarn",
            "node-pnpm",
            "node-bun",
            "go-api",
        ]
        .contains(&name.as_ref())
        {
            assert!(
                applied("split-copy") >= 1,
                "{name}: split-copy did not apply: {:#}",
                all["applied_fixes"]
            );
            let single = verify(&example, SINGLE_STAGE);
            check(&example, &single);
            assert!(
                single["applied_fixes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["rule"] == "split-copy"),
                "{name}: split-copy did not apply without multi-stage"
            );
        }
        // Toolchain images become a build stage and a smaller runtime stage that runs as a
        // non-root user (its own or one the fix created); the smoke check above ran as it.
        if [
            "python-web",
            "python-uv",
            "python-poetry",
            "python-pipenv",
            "node-web",
            "node-api",
            "node-yarn",
            "node-pnpm",
            "node-bun",
            "node-yarn-berry",
            "go-api",
            "rust-cli",
        ]
        .contains(&name.as_ref())
        {
            assert!(
                applied("multi-stage") == 1,
                "{name}: multi-stage did not apply: {:#}",
                all["applied_fixes"]
            );
            assert!(
                all["fixed"]["size_bytes"].as_u64() < all["original"]["size_bytes"].as_u64(),
                "{name}: the multi-stage image is not smaller"
            );
            let user = all["fixed"]["user"].as_str().unwrap_or_default();
            assert!(
                !matches!(user, "" | "root" | "0" | "0:0"),
                "{name}: the fixed image runs as root"
            );
        }
        let rebuild = |side: &str| all[side]["rebuild_after_source_change_s"].as_f64();
        if let (Some(before), Some(after)) = (rebuild("original"), rebuild("fixed")) {
            eprintln!(
                "{name}: rebuild after a source edit {before:.1} s -> {after:.1} s ({:.1}x)",
                before / after.max(0.01)
            );
        }
    }
}
