//! merge-runs on a real Docker engine: the original and the merged Dockerfile build images
//! whose files are identical, and a failing RUN still fails the merged build.
//!
//! Needs an engine, so the tests are ignored by default:
//! `eval "$(tests/engine/up)" && cargo test -p dockopt --test engine_merge_runs -- --ignored`.

use std::path::Path;
use std::process::Command;

fn docker(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new("/usr/bin/docker")
        .args(args)
        .current_dir(dir)
        .env("DOCKER_BUILDKIT", "1")
        .output()
        .expect("run /usr/bin/docker")
}

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

/// `dockopt fix --select merge-runs` of `text` with `only-related = false` (every pair it
/// can merge), through the real binary.
fn merged(dir: &Path, text: &str) -> String {
    std::fs::write(dir.join("Dockerfile"), text).unwrap();
    std::fs::write(
        dir.join("dockopt.toml"),
        "[rules.merge-runs]\nonly-related = false\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dockopt"))
        .args([
            "fix",
            "--select",
            "merge-runs",
            "--allow-dirty",
            "Dockerfile",
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.join("Dockerfile")).unwrap()
}

fn build(dir: &Path, dockerfile: &str, tag: &str) -> Result<(), String> {
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    let out = docker(&["build", "--network=host", "-q", "-t", tag, "."], dir);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

const STATE_TRAPS: &str = "FROM debian:bookworm-slim
WORKDIR /work
RUN cd /tmp && pwd > /work/a.txt
RUN pwd > /work/b.txt
RUN export GREETING=hello; echo \"$GREETING\" > /work/c.txt
RUN echo \"${GREETING:-unset}\" > /work/d.txt
RUN false || echo recovered > /work/e.txt
RUN umask 077; touch /work/f.txt
RUN touch /work/g.txt && stat -c %a /work/f.txt /work/g.txt > /work/modes.txt
RUN X=1; echo \"x=$X\" > /work/h.txt
RUN echo \"x=${X:-unset}\" > /work/i.txt
RUN f() { echo inside; }; f > /work/j.txt
RUN (type f >/dev/null 2>&1 && echo leaked || echo clean) > /work/k.txt
RUN set -e; exit 0
RUN echo after-exit > /work/l.txt
RUN for i in 1 2; do echo $i; done > /work/m.txt
RUN echo \"i=${i:-unset}\" > /work/n.txt
RUN echo one > /work/o.txt # a trailing comment
RUN echo two > /work/p.txt
RUN command cd /tmp; builtin cd /; pwd > /work/q.txt
RUN pwd > /work/r.txt
RUN echo three > /work/s.txt
RUN set -eux; echo four > /work/t.txt # note
";

#[test]
#[ignore = "needs a Docker engine (tests/engine/up)"]
fn merged_runs_build_the_same_files_and_fail_the_same_way() {
    require_engine();
    let dir = std::env::temp_dir().join(format!("dockopt-engine-merge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let after = merged(&dir, STATE_TRAPS);
    assert!(
        after.matches("RUN ").count() < 4,
        "merge-runs did not merge:\n{after}"
    );
    build(&dir, STATE_TRAPS, "dockopt-test/merge-original").unwrap();
    build(&dir, &after, "dockopt-test/merge-merged").unwrap();
    let dump = |tag: &str| {
        let out = docker(
            &[
                "run",
                "--rm",
                "--network=none",
                tag,
                "sh",
                "-c",
                "cd /work && for f in *; do echo \"== $f\"; cat \"$f\"; done",
            ],
            &dir,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let original = dump("dockopt-test/merge-original");
    assert!(
        original.contains("== d.txt\nunset\n")
            && original.contains("== k.txt\nclean\n")
            && original.contains("== p.txt\ntwo\n")
            && original.contains("== r.txt\n/work\n")
            && original.contains("== t.txt\nfour\n"),
        "{original}"
    );
    assert_eq!(
        dump("dockopt-test/merge-merged"),
        original,
        "merged Dockerfile:\n{after}"
    );

    let failing = "FROM debian:bookworm-slim\nRUN true\nRUN false\nRUN echo never > /never\n";
    let after = merged(&dir, failing);
    assert!(!after.contains("RUN false"), "not merged:\n{after}");
    assert!(build(&dir, failing, "dockopt-test/fail-original").is_err());
    assert!(
        build(&dir, &after, "dockopt-test/fail-merged").is_err(),
        "merged build succeeded:\n{after}"
    );

    // Official-image style: `set -e` stops the build at a failed checksum. On the left of
    // `&&` it would not, so merge-runs leaves the pair apart and the build still fails.
    let errexit =
        "FROM debian:bookworm-slim\nRUN set -eux; false; echo on > /on\nRUN touch /next\n";
    let after = merged(&dir, errexit);
    assert!(build(&dir, errexit, "dockopt-test/errexit-original").is_err());
    assert!(
        build(&dir, &after, "dockopt-test/errexit-fixed").is_err(),
        "the fixed build succeeded:\n{after}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `dockopt fix --unsafe-fixes` of `text` (every rule), through the real binary.
fn fixed_unsafe(dir: &Path, text: &str) -> String {
    std::fs::write(dir.join("Dockerfile"), text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dockopt"))
        .args(["fix", "--unsafe-fixes", "--allow-dirty", "Dockerfile"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.join("Dockerfile")).unwrap()
}

const SEED_APT_PIP: &str = "FROM python:3.12-slim
RUN apt-get update
RUN apt-get install -y --no-install-recommends curl
RUN rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir six
CMD python -c \"import six; print(six.__version__)\"
";

#[test]
#[ignore = "needs a Docker engine (tests/engine/up)"]
fn run_passes_output_builds_and_runs_on_a_real_engine() {
    require_engine();
    let dir = std::env::temp_dir().join(format!("dockopt-engine-runs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let after = fixed_unsafe(&dir, SEED_APT_PIP);
    for expected in [
        "--mount=type=cache,target=/var/cache/apt,sharing=locked",
        "--mount=type=cache,target=/var/lib/apt,sharing=locked",
        "rm -f /etc/apt/apt.conf.d/docker-clean",
        "--mount=type=cache,target=/root/.cache/pip",
        "CMD [\"python\", \"-c\", \"import six; print(six.__version__)\"]",
    ] {
        assert!(after.contains(expected), "missing {expected} in:\n{after}");
    }
    assert!(!after.contains("--no-cache-dir"), "{after}");
    build(&dir, SEED_APT_PIP, "dockopt-test/runs-original").unwrap();
    build(&dir, &after, "dockopt-test/runs-fixed")
        .unwrap_or_else(|e| panic!("fixed build failed: {e}\n{after}"));
    let run = |tag: &str, args: &[&str]| {
        let mut all = vec!["run", "--rm", "--network=none", tag];
        all.extend_from_slice(args);
        let out = docker(&all, &dir);
        assert!(
            out.status.success(),
            "{tag}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        run("dockopt-test/runs-fixed", &[]),
        run("dockopt-test/runs-original", &[])
    );
    assert!(run("dockopt-test/runs-fixed", &["curl", "--version"]).starts_with("curl "));
    // The caches stayed out of the image, and so did the package lists and downloaded .debs.
    let leftovers = run(
        "dockopt-test/runs-fixed",
        &[
            "sh",
            "-c",
            "find /var/lib/apt/lists /var/cache/apt /root/.cache -type f \\( -name '*Packages*' -o -name '*.deb' -o -path '*/pip/*' \\) 2>/dev/null | wc -l",
        ],
    );
    assert_eq!(leftovers.trim(), "0", "{leftovers}");
    let _ = std::fs::remove_dir_all(&dir);
}
