//! The `dockopt` binary end to end: exit codes, messages, and output that scripts read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dockopt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dockopt"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run dockopt")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn snapshot(name: &str, value: &str) {
    insta::with_settings!({
        snapshot_path => "../snapshots/cli",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, value);
    });
}

#[test]
fn roundtrip_of_the_fixtures_is_identical() {
    let out = dockopt(&["debug", "roundtrip", "crates/dockopt-syntax/tests/fixtures"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let last = stdout(&out).lines().last().unwrap_or_default().to_string();
    let count = std::fs::read_dir(repo().join("crates/dockopt-syntax/tests/fixtures"))
        .unwrap()
        .count();
    assert_eq!(last, format!("{count} files, {count} identical, 0 differ"));
}

#[test]
fn roundtrip_reports_unreadable_files_with_exit_2() {
    let dir = tempdir("roundtrip");
    std::fs::write(dir.join("Dockerfile"), "FROM a\n").unwrap();
    std::fs::write(dir.join("bad.Dockerfile"), b"FROM a\nRUN \xff\xfe\n").unwrap();
    let out = dockopt(&["debug", "roundtrip", dir.to_str().unwrap(), "/no/such/path"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("bad.Dockerfile:2:5: not valid UTF-8"), "{err}");
    assert!(
        err.contains("/no/such/path: no such file or folder"),
        "{err}"
    );
    assert!(
        stdout(&out).ends_with("2 files, 1 identical, 0 differ, 1 unreadable\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn dump_prints_buildkit_format_and_rejects_with_file_line() {
    let dir = tempdir("dump");
    let good = dir.join("Dockerfile");
    std::fs::write(
        &good,
        "FROM alpine AS base\nRUN --mount=type=cache,target=/x echo hi\n",
    )
    .unwrap();
    let out = dockopt(&["debug", "dump", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "(from \"alpine\" \"AS\" \"base\")\n(run [\"--mount=type=cache,target=/x\"] \"echo hi\")\n"
    );
    let bad = dir.join("bad.Dockerfile");
    std::fs::write(&bad, "FROM alpine\n\nENV ONLY_A_NAME\n").unwrap();
    let out = dockopt(&["debug", "dump", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("bad.Dockerfile:3:5: error: ENV must have two arguments"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_file_is_exit_2_with_a_clear_message() {
    let out = dockopt(&["debug", "tree", "no-such-Dockerfile"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: no-such-Dockerfile: no such file or folder\n"
    );
}

#[test]
fn shell_of_the_python_example() {
    let out = dockopt(&["debug", "shell", "examples/python-web/Dockerfile"]);
    assert_eq!(out.status.code(), Some(0));
    snapshot("debug-shell-python-web", &stdout(&out));
}

#[test]
fn help_lists_the_debug_commands() {
    let out = dockopt(&["debug", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    for command in ["dump", "roundtrip", "tree", "shell"] {
        assert!(stdout(&out).contains(command), "{command}");
    }
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dockopt-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn rules_table_and_rule_docs() {
    let out = dockopt(&["rules"]);
    assert_eq!(out.status.code(), Some(0));
    let table = stdout(&out);
    for name in [
        "add-to-copy",
        "exec-form",
        "keyword-casing",
        "legacy-key-value",
        "maintainer-to-label",
        "latest-tag",
        "secret-in-env",
        "apt-get-upgrade",
    ] {
        assert!(
            table.lines().any(|l| l.starts_with(name)),
            "{name} missing from\n{table}"
        );
    }
    let out = dockopt(&["rule", "add-to-copy"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("## Fix safety"));
    let out = dockopt(&["rule", "copy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean: add-to-copy"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_exit_codes_and_formats() {
    let dir = tempdir("check");
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM python:3.12-slim\nADD app.py /app/\nUSER nobody\nCMD python -m app\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("clean")).unwrap();
    std::fs::write(
        dir.join("clean/Dockerfile"),
        "FROM python:3.12-slim\nCOPY app.py /app/\nUSER nobody\nCMD [\"python\", \"-m\", \"app\"]\n",
    )
    .unwrap();
    let root = dir.to_str().unwrap();

    let out = dockopt(&["check", &format!("{root}/clean")]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("All checks passed (1 file)."));

    let out = dockopt(&["check", root]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "Dockerfile:2:1: add-to-copy: ADD of local files: COPY says what happens [*]"
        ),
        "{text}"
    );
    assert!(text.contains("Dockerfile:4:1: exec-form:"), "{text}");
    assert!(text.contains("2 | ADD app.py /app/\n  | ^^^\n"), "{text}");
    assert!(text.ends_with("Found 2 problems in 1 of 2 files ([*] 1 fixable with `dockopt fix`, 1 more with `dockopt fix --unsafe-fixes`).\n"), "{text}");

    let out = dockopt(&["check", "--output-format", "json", root]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["version"], 1);
    assert_eq!(json["files"], 2);
    let first = &json["diagnostics"][0];
    assert_eq!(first["rule"], "add-to-copy");
    assert_eq!(first["start"]["line"], 2);
    assert_eq!(first["fix"]["applicability"], "safe");
    assert_eq!(first["fix"]["edits"][0]["replacement"], "COPY");
    // Changes to other files (a .dockerignore): none for an edit of the Dockerfile.
    assert_eq!(first["fix"]["files"], serde_json::json!([]));

    let out = dockopt(&[
        "check",
        "--output-format",
        "github",
        "--select",
        "exec-form",
        root,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("::warning file="),
        "{}",
        stdout(&out)
    );
    assert_eq!(stdout(&out).lines().count(), 1);

    let out = dockopt(&["check", "--ignore", "no-such-rule", root]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown rule no-such-rule"));

    let out = dockopt(&["check", &format!("{root}/missing")]);
    assert_eq!(out.status.code(), Some(2));
}

fn git_in(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn fix_refuses_uncommitted_files_unless_allowed() {
    let dir = tempdir("dirty");
    let file = dir.join("Dockerfile");
    std::fs::write(&file, "FROM python:3.12-slim\nADD app.py /app/\n").unwrap();
    git_in(&dir, &["init", "-q", "."]);
    git_in(&dir, &["add", "Dockerfile"]);
    git_in(&dir, &["commit", "-q", "-m", "init"]);
    std::fs::write(&file, "FROM python:3.12-slim\nADD app.py /srv/\n").unwrap();
    let path = file.to_str().unwrap();

    let out = dockopt(&["fix", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("has uncommitted changes; commit or stash them first, or pass --allow-dirty"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "FROM python:3.12-slim\nADD app.py /srv/\n"
    );

    let out = dockopt(&["fix", "--allow-dirty", path]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "FROM python:3.12-slim\nCOPY app.py /srv/\n"
    );
    assert!(
        stdout(&out).contains("Fixed 1 problem in 1 file; 0 remaining."),
        "{}",
        stdout(&out)
    );

    git_in(&dir, &["commit", "-q", "-am", "fixed"]);
    let out = dockopt(&["fix", "--dry-run", path]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).is_empty());
}

#[test]
fn fix_from_stdin_writes_the_fixed_text() {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_dockopt"))
        .args(["fix", "--stdin-filename", "svc/Dockerfile"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from python\r\nadd app.py /app/\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "FROM python\r\nCOPY app.py /app/\r\n");
    assert!(
        stderr(&out).contains("svc/Dockerfile:1:6: latest-tag:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn config_files_are_found_upward_and_validated() {
    let dir = tempdir("config");
    std::fs::create_dir_all(dir.join("svc/legacy")).unwrap();
    std::fs::create_dir_all(dir.join("other")).unwrap();
    let naive = "FROM python\nENV A 1\nCMD python -m app\n";
    for sub in ["svc", "svc/legacy", "other"] {
        std::fs::write(dir.join(sub).join("Dockerfile"), naive).unwrap();
    }
    std::fs::write(
        dir.join("svc/dockopt.toml"),
        "ignore = [\"latest-tag\"]\nextend-safe-fixes = [\"exec-form\"]\n\n[per-file-ignores]\n\"legacy/**\" = [\"legacy-key-value\"]\n",
    )
    .unwrap();
    let rules_in = |out: &Output| -> Vec<String> {
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                format!(
                    "{}:{}",
                    d["file"]
                        .as_str()
                        .unwrap()
                        .rsplit_once(dir.file_name().unwrap().to_str().unwrap())
                        .unwrap()
                        .1,
                    d["rule"].as_str().unwrap()
                )
            })
            .collect()
    };
    let out = dockopt(&["check", "--output-format", "json", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        rules_in(&out),
        [
            "/other/Dockerfile:multi-stage",
            "/other/Dockerfile:latest-tag",
            "/other/Dockerfile:legacy-key-value",
            "/other/Dockerfile:exec-form",
            "/other/Dockerfile:non-root-user",
            "/svc/Dockerfile:multi-stage",
            "/svc/Dockerfile:legacy-key-value",
            "/svc/Dockerfile:exec-form",
            "/svc/Dockerfile:non-root-user",
            "/svc/legacy/Dockerfile:multi-stage",
            "/svc/legacy/Dockerfile:exec-form",
            "/svc/legacy/Dockerfile:non-root-user",
        ]
    );
    // extend-safe-fixes makes exec-form's fix Safe under svc/, so plain `fix` applies it there.
    let out = dockopt(&[
        "fix",
        "--dry-run",
        "--select",
        "exec-form",
        dir.to_str().unwrap(),
    ]);
    let diff = stdout(&out);
    assert!(
        diff.contains("svc/Dockerfile") && diff.contains("svc/legacy/Dockerfile"),
        "{diff}"
    );
    assert!(!diff.contains("other/Dockerfile"), "{diff}");

    std::fs::write(
        dir.join("svc/dockopt.toml"),
        "ignore = [\"latest-tag\"]\nselcet = [\"exec-form\"]\n",
    )
    .unwrap();
    let out = dockopt(&["check", dir.join("svc").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("svc/dockopt.toml:2:1: unknown field `selcet`"),
        "{}",
        stderr(&out)
    );

    std::fs::write(
        dir.join("svc/dockopt.toml"),
        "ignore = []\n\n[rules.secret-in-env]\nallow = \"X\"\n",
    )
    .unwrap();
    let out = dockopt(&["check", dir.join("svc").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "svc/dockopt.toml:3:1: [rules.secret-in-env]: `allow` must be a list of strings"
        ),
        "{}",
        stderr(&out)
    );

    std::fs::write(dir.join("svc/dockopt.toml"), "ignore = [\"latest-tags\"]\n").unwrap();
    let out = dockopt(&["check", dir.join("svc").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("svc/dockopt.toml:1:1: unknown rule latest-tags"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn context_flag_lets_add_to_copy_look_at_sources() {
    let dir = tempdir("context");
    std::fs::create_dir_all(dir.join("docker")).unwrap();
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(
        dir.join("docker/Dockerfile"),
        "FROM python:3.12\nADD data /srv/data\n",
    )
    .unwrap();
    std::fs::write(dir.join("app/data"), "plain text, not an archive\n").unwrap();
    let dockerfile = dir.join("docker/Dockerfile");
    let dockerfile = dockerfile.to_str().unwrap();

    // Default context (the Dockerfile's folder) has no `data`: the fix stays Unsafe.
    let out = dockopt(&["fix", "--dry-run", dockerfile]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let app = dir.join("app");
    let out = dockopt(&[
        "fix",
        "--dry-run",
        "--context",
        app.to_str().unwrap(),
        dockerfile,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("+COPY data /srv/data"),
        "{}",
        stdout(&out)
    );

    let out = dockopt(&[
        "check",
        "--context",
        dir.join("nope").to_str().unwrap(),
        dockerfile,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--context"), "{}", stderr(&out));
}

#[test]
fn check_and_dry_run_snapshots_on_a_naive_dockerfile() {
    let dir = tempdir("snap");
    std::fs::write(
        dir.join("Dockerfile"),
        "from python\nMAINTAINER Jane <jane@example.com>\nENV PYTHONUNBUFFERED 1\nADD requirements.txt app.py /app/\nRUN apt-get update && apt-get -y upgrade\nENV DB_PASSWORD=hunter2\nCMD python -m app\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_dockopt"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            out.status.code().unwrap_or(-1),
            stdout(&out),
            stderr(&out)
        )
    };
    snapshot("check-naive", &run(&["check", "Dockerfile"]));
    snapshot(
        "fix-dry-run-naive",
        &run(&["fix", "--dry-run", "Dockerfile"]),
    );
    snapshot(
        "fix-dry-run-unsafe-naive",
        &run(&["fix", "--dry-run", "--unsafe-fixes", "Dockerfile"]),
    );
}

/// A small Node project in a git repository, committed, with no .dockerignore.
fn node_project(name: &str) -> PathBuf {
    let dir = tempdir(name);
    std::fs::write(
        dir.join("package.json"),
        r#"{"name":"app","version":"1.0.0","dependencies":{"express":"4.19.2"}}"#,
    )
    .unwrap();
    std::fs::write(dir.join("package-lock.json"), "{}\n").unwrap();
    std::fs::write(dir.join("server.js"), "console.log(1)\n").unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD [\"node\", \"server.js\"]\n",
    )
    .unwrap();
    git_in(&dir, &["init", "-q", "."]);
    git_in(&dir, &["add", "-A"]);
    git_in(&dir, &["commit", "-q", "-m", "init"]);
    dir
}

#[test]
fn split_copy_and_a_new_dockerignore_as_diff_patch_and_write() {
    let dir = node_project("split");
    let dockerfile = dir.join("Dockerfile");
    let path = "Dockerfile";
    // Run in the project, as people do: the patch's paths are relative to it.
    let dockopt = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dockopt"))
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("run dockopt")
    };

    let out = dockopt(&[
        "fix",
        "--dry-run",
        "--unsafe-fixes",
        "--select",
        "split-copy,dockerignore",
        path,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let diff = stdout(&out);
    assert!(
        diff.contains("-COPY . .\n+COPY package.json package-lock.json ./\n RUN npm ci --omit=dev\n+COPY . .\n"),
        "{diff}"
    );
    assert!(
        diff.contains("new file mode 100644\n--- /dev/null\n"),
        "{diff}"
    );
    assert!(diff.contains("+**/node_modules\n"), "{diff}");
    assert!(
        stderr(&out).contains("Would apply 2 fixes in 2 files."),
        "{}",
        stderr(&out)
    );
    // Nothing written by --dry-run.
    assert!(!dir.join(".dockerignore").exists());

    // The patch creates the file with `git apply`, and equals what `fix` writes.
    let patch = dir.join("fix.patch");
    let out = dockopt(&[
        "fix",
        "--unsafe-fixes",
        "--select",
        "split-copy,dockerignore",
        "--patch",
        "fix.patch",
        path,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let applied = Command::new("git")
        .current_dir(&dir)
        .args(["apply", "fix.patch"])
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let ignore = std::fs::read_to_string(dir.join(".dockerignore")).unwrap();
    let patched = std::fs::read_to_string(&dockerfile).unwrap();
    assert!(
        ignore.contains("\n.git\n.env\n**/node_modules\n"),
        "{ignore}"
    );
    // Nothing the Dockerfile copies is excluded: the manifests are still in the context.
    for line in ignore.lines() {
        assert!(
            !matches!(line, "package.json" | "package-lock.json" | "server.js"),
            "{ignore}"
        );
    }
    git_in(&dir, &["checkout", "--", "Dockerfile"]);
    std::fs::remove_file(dir.join(".dockerignore")).unwrap();
    std::fs::remove_file(&patch).unwrap();

    let out = dockopt(&[
        "fix",
        "--unsafe-fixes",
        "--select",
        "split-copy,dockerignore",
        path,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&dockerfile).unwrap(), patched);
    assert_eq!(
        std::fs::read_to_string(dir.join(".dockerignore")).unwrap(),
        ignore
    );

    // Fixed: a second run finds nothing (the new .dockerignore is uncommitted, hence the flag).
    let out = dockopt(&[
        "fix",
        "--dry-run",
        "--unsafe-fixes",
        "--allow-dirty",
        "--select",
        "split-copy,dockerignore",
        path,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn split_copy_reports_why_it_does_not_fix() {
    let dir = node_project("split-report");
    std::fs::write(
        dir.join("package.json"),
        r#"{"name":"app","scripts":{"postinstall":"node gen.js"}}"#,
    )
    .unwrap();
    let out = dockopt(&[
        "check",
        "--select",
        "split-copy",
        dir.join("Dockerfile").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("dockopt does not split it because package.json has a `postinstall` script"),
        "{text}"
    );
}
