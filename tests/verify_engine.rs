//! `dockopt verify` on a real Docker engine: a naive Dockerfile (separate apt RUNs, a
//! shell-form CMD) verified with Safe fixes only and with --unsafe-fixes. Both images
//! build, every difference is declared by a fix, the layer count goes down, the smoke
//! check passes, the touched source file comes back byte for byte, and no image is left.
//!
//! Needs an engine, so the test is ignored by default:
//! `eval "$(tests/engine/up)" && cargo test -p dockopt --test verify_engine -- --ignored --nocapture`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Fails with a clear message when no engine answers.
fn require_engine() {
    let out = Command::new("/usr/bin/docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output();
    let ok = out.as_ref().is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "no Docker engine answers: run `eval \"$(tests/engine/up)\"` first"
    );
}

const DOCKERFILE: &str = "FROM debian:bookworm-slim
RUN apt-get update
RUN apt-get install -y --no-install-recommends curl
RUN rm -rf /var/lib/apt/lists/*
COPY app.sh /app/app.sh
CMD sh /app/app.sh
";

const APP: &str = "echo verify-ok\ncurl --version | head -n 1\n";

const EXAMPLE: &str = "smoke = []
smoke_expect = \"verify-ok\"
source_file = \"app.sh\"
comment = \"#\"
";

fn context() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dockopt-verify-engine-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(dir.join("app.sh"), APP).unwrap();
    std::fs::write(dir.join("example.toml"), EXAMPLE).unwrap();
    dir
}

/// `dockopt verify DIR --json EXTRA...`: (exit code, report, stderr).
fn verify(dir: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dockopt"))
        .arg("verify")
        .arg(dir)
        .arg("--json")
        .args(extra)
        .output()
        .expect("run dockopt");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    (out.status.code(), report, stderr)
}

fn image_exists(tag: &str) -> bool {
    Command::new("/usr/bin/docker")
        .args(["image", "inspect", tag])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn check(dir: &Path, extra: &[&str], rules: &[&str]) -> Value {
    let (code, report, stderr) = verify(dir, extra);
    eprintln!("--- dockopt verify {extra:?}: exit {code:?}\n{stderr}");
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    let pretty = serde_json::to_string_pretty(&report).unwrap();
    assert_eq!(code, Some(0), "{pretty}");
    assert_eq!(report["verdict"], "ok", "{pretty}");
    for side in ["original", "fixed"] {
        let s = &report[side];
        assert_eq!(s["build_ok"], true, "{side}: {pretty}");
        assert_eq!(s["smoke_ok"], true, "{side}: {pretty}");
        assert!(s["build_s"].as_f64().unwrap() > 0.0, "{pretty}");
        assert!(s["size_bytes"].as_u64().unwrap() > 0, "{pretty}");
        assert!(
            s["rebuild_after_source_change_s"].as_f64().is_some(),
            "{pretty}"
        );
        assert!(s["rebuild_after_manifest_change_s"].is_null(), "{pretty}");
        assert!(
            !image_exists(s["tag"].as_str().unwrap()),
            "{side} image left behind"
        );
    }
    assert_eq!(
        report["unexpected_differences"],
        serde_json::json!([]),
        "{pretty}"
    );
    let before = report["original"]["layers"].as_u64().unwrap();
    let after = report["fixed"]["layers"].as_u64().unwrap();
    assert!(after < before, "layers {before} -> {after}: {pretty}");
    let applied: Vec<&str> = report["applied_fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for rule in rules {
        assert!(applied.contains(rule), "{rule} not applied: {applied:?}");
    }
    // The user's files are as they were.
    assert_eq!(
        std::fs::read_to_string(dir.join("Dockerfile")).unwrap(),
        DOCKERFILE
    );
    assert_eq!(std::fs::read_to_string(dir.join("app.sh")).unwrap(), APP);
    report
}

#[test]
#[ignore = "needs a Docker engine (tests/engine/up)"]
fn verify_proves_safe_and_unsafe_fixes_of_a_naive_dockerfile() {
    require_engine();
    let dir = context();

    let safe = check(&dir, &[], &["merge-runs"]);
    assert!(
        safe["applied_fixes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["applicability"] == "safe"),
        "{safe}"
    );

    let unsafe_fixes = check(
        &dir,
        &["--unsafe-fixes"],
        &["cache-mounts", "exec-form", "non-root-user"],
    );
    // exec-form changes Cmd, as it declares.
    assert_eq!(
        unsafe_fixes["expected_differences"]["by_rule"]["exec-form"], 1,
        "{unsafe_fixes}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const APP_DOCKERFILE: &str = "FROM debian:bookworm-slim
WORKDIR /app
COPY app.sh ./
ENV MODE=prod
EXPOSE 8080
CMD sh app.sh
";

/// A multi-stage rewrite of APP_DOCKERFILE that keeps the application: same files, ENV,
/// EXPOSE and command (in exec form), a non-root user.
const GOOD_REWRITE: &str = "FROM debian:bookworm-slim AS build
WORKDIR /app
COPY app.sh ./

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 app
WORKDIR /app
COPY --from=build /app /app
ENV MODE=prod
EXPOSE 8080
USER app
CMD [\"sh\", \"app.sh\"]
";

/// Broken on purpose: the script is not copied, MODE has another value, EXPOSE is gone.
const BAD_REWRITE: &str = "FROM debian:bookworm-slim AS build
WORKDIR /app
COPY app.sh ./

FROM debian:bookworm-slim
WORKDIR /app
ENV MODE=dev
CMD [\"sh\", \"app.sh\"]
";

#[test]
#[ignore = "needs a Docker engine (tests/engine/up)"]
fn against_accepts_an_equivalent_rewrite_and_names_the_culprits_of_a_broken_one() {
    require_engine();
    let dir = std::env::temp_dir().join(format!("dockopt-verify-against-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rewrites")).unwrap();
    std::fs::write(dir.join("Dockerfile"), APP_DOCKERFILE).unwrap();
    std::fs::write(dir.join("app.sh"), APP).unwrap();
    std::fs::write(dir.join("example.toml"), EXAMPLE).unwrap();
    std::fs::write(dir.join("rewrites/good.Dockerfile"), GOOD_REWRITE).unwrap();
    std::fs::write(dir.join("rewrites/bad.Dockerfile"), BAD_REWRITE).unwrap();
    // The rewrites folder is part of the context: keep it out, as a user would.
    std::fs::write(dir.join(".dockerignore"), "rewrites\n").unwrap();

    let good = dir.join("rewrites/good.Dockerfile");
    let (code, report, stderr) = verify(&dir, &["--against", good.to_str().unwrap()]);
    let pretty = serde_json::to_string_pretty(&report).unwrap();
    eprintln!("{stderr}\n{pretty}");
    assert_eq!(code, Some(0), "{pretty}");
    assert_eq!(report["verdict"], "ok");
    assert_eq!(report["against"], good.to_str().unwrap());
    assert_eq!(report["applied_fixes"], serde_json::json!([]));
    let app = &report["app_check"];
    assert_eq!(app["workdir"], "/app", "{pretty}");
    assert_eq!(
        app["named_files"],
        serde_json::json!(["/app/app.sh"]),
        "{pretty}"
    );
    // What the app checks add to the run. The probes read the files in verify's own
    // export pass; for a shell-script app they run no interpreter, so their own time can
    // round to 0.00 s: present, not positive.
    assert!(app["seconds"].as_f64().unwrap() >= 0.0, "{pretty}");
    assert!(app["probe_seconds"].as_f64().unwrap() >= 0.0, "{pretty}");
    assert!(
        app["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("root to non-root")),
        "{pretty}"
    );
    assert_eq!(report["fixed"]["smoke_ok"], true);

    let bad = dir.join("rewrites/bad.Dockerfile");
    let (code, report, _) = verify(&dir, &["--against", bad.to_str().unwrap()]);
    let pretty = serde_json::to_string_pretty(&report).unwrap();
    eprintln!("{pretty}");
    assert_eq!(code, Some(1), "{pretty}");
    assert_eq!(report["verdict"], "unexpected-differences", "{pretty}");
    let unexpected = report["unexpected_differences"].as_array().unwrap();
    let find = |kind: &str, field: &str, value: &str| {
        unexpected
            .iter()
            .find(|d| d["kind"] == kind && d[field] == value)
            .unwrap_or_else(|| panic!("no {kind} {field}={value}: {pretty}"))
    };
    let script = find("path", "path", "/app/app.sh");
    assert_eq!(script["change"], "removed");
    let mode = find("config", "key", "MODE");
    assert_eq!(
        (&mode["original"], &mode["fixed"]),
        (&"prod".into(), &"dev".into())
    );
    let ports = find("config", "config", "ExposedPorts");
    assert!(
        ports["what"].as_str().unwrap().contains("8080/tcp missing"),
        "{ports}"
    );
    assert_eq!(report["fixed"]["smoke_ok"], false);
    assert_eq!(
        std::fs::read_to_string(dir.join("Dockerfile")).unwrap(),
        APP_DOCKERFILE
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `pip install --user` as root: the packages in /root/.local (0700 parent), the console
/// script on PATH through `/root/.local/bin`.
const PIP_USER_DOCKERFILE: &str = "FROM python:3.11
WORKDIR /app
COPY . .
RUN pip install --user -r requirements.txt
ENV PATH=/root/.local/bin:$PATH
CMD python app.py
";

/// Imports python-slugify and runs its `slugify` console script found on PATH.
const PIP_USER_APP: &str = r#"import shutil
import subprocess
import sys

import slugify

if __name__ == "__main__":
    text = "Héllo Wörld"
    via_import = slugify.slugify(text)
    script = shutil.which("slugify")
    via_script = subprocess.run([script, text], capture_output=True, text=True, check=True).stdout.strip()
    ok = via_import == via_script == "hello-world"
    print(f"self-test {'ok' if ok else 'FAILED'}: {via_import} {via_script} (python-slugify {slugify.__version__})")
    sys.exit(0 if ok else 1)
"#;

/// multi-stage moves root's user base to a folder the non-root user (which non-root-user
/// adds) can read, with PYTHONUSERBASE and its bin on PATH: the app check (the Python probe
/// runs the interpreter the command uses, as the image's user) and the smoke test pass.
/// Needs PyPI (python-slugify 8.0.4, text-unidecode 1.3).
#[test]
#[ignore = "needs a Docker engine (tests/engine/up) and PyPI"]
fn pip_user_install_converts_to_a_runtime_stage_a_non_root_user_can_read() {
    require_engine();
    let dir = std::env::temp_dir().join(format!("dockopt-verify-pip-user-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), PIP_USER_DOCKERFILE).unwrap();
    std::fs::write(dir.join("app.py"), PIP_USER_APP).unwrap();
    std::fs::write(
        dir.join("requirements.txt"),
        "python-slugify==8.0.4\ntext-unidecode==1.3\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("example.toml"),
        "smoke = [\"python\", \"app.py\"]\nsmoke_expect = \"self-test ok: hello-world hello-world (python-slugify 8.0.4)\"\nsource_file = \"app.py\"\nmanifest_file = \"requirements.txt\"\ncomment = \"#\"\n",
    )
    .unwrap();
    let (code, report, stderr) = verify(&dir, &["--unsafe-fixes"]);
    let pretty = serde_json::to_string_pretty(&report).unwrap();
    eprintln!("--- exit {code:?}\n{stderr}\n{pretty}");
    assert_eq!(code, Some(0), "{pretty}");
    assert_eq!(report["verdict"], "ok", "{pretty}");
    assert_eq!(
        report["unexpected_differences"],
        serde_json::json!([]),
        "{pretty}"
    );
    let applied: Vec<&str> = report["applied_fixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for rule in ["multi-stage", "non-root-user"] {
        assert!(applied.contains(&rule), "{rule} not applied: {applied:?}");
    }
    let user = report["fixed"]["user"].as_str().unwrap_or_default();
    assert!(!matches!(user, "" | "root" | "0"), "{pretty}");
    assert!(
        report["fixed"]["size_bytes"].as_u64() < report["original"]["size_bytes"].as_u64(),
        "{pretty}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
