//! `dockopt verify` without a Docker engine: bad input, no engine, nothing to verify, and
//! the documented JSON schema. (The file-system diff and the classification have their own
//! module tests; tests/verify_engine.rs runs verify on a real engine.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `dockopt verify ARGS` with an engine address that cannot answer.
fn verify(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockopt"))
        .arg("verify")
        .args(args)
        .current_dir(dir)
        .env(
            "DOCKER_HOST",
            "unix:///nonexistent/dockopt-verify-test.sock",
        )
        .output()
        .expect("run dockopt")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A fresh folder under the temp dir with these files.
fn folder(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("dockopt-verify-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (path, text) in files {
        std::fs::write(dir.join(path), text).unwrap();
    }
    dir
}

const NAIVE: &str = "FROM debian:bookworm-slim\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends curl\nRUN rm -rf /var/lib/apt/lists/*\nCMD echo hi\n";

#[test]
fn a_missing_path_or_dockerfile_is_bad_input() {
    let dir = folder("missing", &[]);
    let out = verify(&["no-such-folder"], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no-such-folder: no such file or folder"),
        "{}",
        stderr(&out)
    );

    let out = verify(&["."], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no Dockerfile there"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_rule_or_a_broken_example_toml_is_bad_input() {
    let dir = folder("badinput", &[("Dockerfile", NAIVE)]);
    let out = verify(&[".", "--select", "no-such-rule"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown rule no-such-rule"),
        "{}",
        stderr(&out)
    );

    std::fs::write(dir.join("example.toml"), "smoke = \"not a list\"\n").unwrap();
    let out = verify(&["."], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("example.toml"), "{}", stderr(&out));

    std::fs::write(dir.join("example.toml"), "source_file = \"gone.py\"\n").unwrap();
    let out = verify(&["."], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the source file to touch does not exist"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_an_engine_verify_says_how_to_start_one() {
    let dir = folder("noengine", &[("Dockerfile", NAIVE)]);
    let out = verify(&["."], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("no Docker engine answers"), "{err}");
    assert!(err.contains("tests/engine/up"), "{err}");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    // The user's files are untouched.
    assert_eq!(
        std::fs::read_to_string(dir.join("Dockerfile")).unwrap(),
        NAIVE
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn when_no_fix_applies_there_is_nothing_to_build() {
    let clean = "FROM debian:bookworm-slim\nCMD [\"echo\", \"hi\"]\n";
    let dir = folder("clean", &[("Dockerfile", clean)]);
    // No engine is needed: exit 0 although DOCKER_HOST points nowhere.
    let out = verify(&[".", "--select", "merge-runs", "--json"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["changed"], false);
    assert_eq!(v["verdict"], "no-changes");
    assert_eq!(v["applied_fixes"], serde_json::json!([]));
    assert!(v["original"].is_null() && v["fixed"].is_null());
    assert_eq!(v["exit_code"], 0);

    let out = verify(&[".", "--select", "merge-runs"], &dir);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("No fix applies"), "{}", stdout(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_dockerfile_path_and_dockerfile_flag_are_accepted() {
    let dir = folder("paths", &[("app.Dockerfile", NAIVE)]);
    let out = verify(&["app.Dockerfile"], &dir);
    assert!(
        stderr(&out).contains("no Docker engine answers"),
        "{}",
        stderr(&out)
    );
    let out = verify(&[".", "--dockerfile", "app.Dockerfile"], &dir);
    assert!(
        stderr(&out).contains("no Docker engine answers"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_documents_the_json_and_the_exit_status() {
    let out = Command::new(env!("CARGO_BIN_EXE_dockopt"))
        .args(["verify", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for needle in [
        "--json",
        "--unsafe-fixes",
        "--keep-images",
        "--touch-source",
        "--touch-manifest",
        "--context",
        "--select",
        "Exit status",
        "\"unexpected_differences\"",
        "rebuild_after_manifest_change_s",
        "cache mount target",
        "--against",
        "App-equivalence check",
        "\"kind\"",
        "\"library\"",
        "no-engine",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}

/// `verify --json ARGS`: (exit code, the one JSON object on stdout, stderr).
fn verify_json(args: &[&str], dir: &Path) -> (Option<i32>, serde_json::Value, String) {
    let mut all = args.to_vec();
    all.push("--json");
    let out = verify(&all, dir);
    let text = stdout(&out);
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not one JSON object ({e}):\n{text}\n{}", stderr(&out)));
    (out.status.code(), value, stderr(&out))
}

#[test]
fn json_is_printed_when_no_engine_answers_or_the_input_is_bad() {
    let dir = folder("json-always", &[("Dockerfile", NAIVE)]);
    let (code, v, err) = verify_json(&["."], &dir);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(v["verdict"], "no-engine", "{v}");
    assert_eq!(v["exit_code"], 2);
    assert!(
        v["messages"][0]
            .as_str()
            .unwrap()
            .contains("no Docker engine answers"),
        "{v}"
    );
    assert_eq!(v["changed"], true, "the fixes were computed: {v}");
    assert!(!v["applied_fixes"].as_array().unwrap().is_empty(), "{v}");

    for (args, needle) in [
        (vec!["no-such-folder"], "no such file or folder"),
        (
            vec![".", "--select", "no-such-rule"],
            "unknown rule no-such-rule",
        ),
        (
            vec![".", "--against", "gone.Dockerfile"],
            "gone.Dockerfile: no such file",
        ),
    ] {
        let (code, v, _) = verify_json(&args, &dir);
        assert_eq!(code, Some(2), "{args:?}");
        assert_eq!(v["verdict"], "error", "{args:?}: {v}");
        assert_eq!(v["exit_code"], 2);
        let message = v["messages"][0].as_str().unwrap();
        assert!(message.contains(needle), "{args:?}: {message}");
        assert!(v["unexpected_differences"].as_array().unwrap().is_empty());
        assert_eq!(v["compared"], false);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn against_takes_a_rewrite_and_no_fix_selection() {
    let rewrite = "FROM debian:bookworm-slim\nCMD [\"echo\", \"hi\"]\n";
    let dir = folder(
        "against",
        &[
            ("Dockerfile", NAIVE),
            ("rewrite.Dockerfile", rewrite),
            ("same.Dockerfile", NAIVE),
        ],
    );
    for flags in [
        vec!["--unsafe-fixes"],
        vec!["--select", "merge-runs"],
        vec!["--ignore", "merge-runs"],
        vec!["--extend-select", "merge-runs"],
    ] {
        let mut args = vec![".", "--against", "rewrite.Dockerfile"];
        args.extend(&flags);
        let out = verify(&args, &dir);
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        let err = stderr(&out);
        assert!(
            err.contains("--against verifies rewrite.Dockerfile as written and applies no fix")
                && err.contains(flags[0]),
            "{flags:?}: {err}"
        );
    }
    let out = verify(&[".", "--against", "."], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--against .: no such file"),
        "{}",
        stderr(&out)
    );

    // A rewrite that is the original's text: nothing to build, no engine needed.
    let (code, v, err) = verify_json(&[".", "--against", "same.Dockerfile"], &dir);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["verdict"], "no-changes");
    assert_eq!(v["against"], "same.Dockerfile");
    assert_eq!(v["applied_fixes"], serde_json::json!([]));

    // A real rewrite needs the engine: the report says what it verifies against.
    let (code, v, _) = verify_json(&[".", "--against", "rewrite.Dockerfile"], &dir);
    assert_eq!(code, Some(2));
    assert_eq!(v["verdict"], "no-engine");
    assert_eq!(v["against"], "rewrite.Dockerfile");
    assert_eq!(v["applied_fixes"], serde_json::json!([]), "no fix loop");
    let out = verify(&[".", "--against", "rewrite.Dockerfile"], &dir);
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("no Docker engine answers"));
    // The user's files are untouched.
    assert_eq!(
        std::fs::read_to_string(dir.join("Dockerfile")).unwrap(),
        NAIVE
    );
    let _ = std::fs::remove_dir_all(&dir);
}
