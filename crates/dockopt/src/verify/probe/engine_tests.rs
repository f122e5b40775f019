//! The probes on a real engine: hand-written rewrites of the examples, correct and broken.
//! Needs the test engine, so every test is ignored by default:
//! `eval "$(tests/engine/up)" && cargo test -p dockopt --bin dockopt verify::probe::engine_tests -- --ignored --skip probe_pair --nocapture --test-threads 1`
//! (.ci/run does).
//!
//! `DOCKOPT_PROBE_PAIR=ORIGINAL_TAG,FIXED_TAG` with `probe_pair` compares two existing
//! images and prints the report (for figures); without the variable it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::super::docker::Docker;
use super::super::inspect::{ImageFacts, image_facts};
use super::super::progress::Progress;
use super::{FindingKind, ImageFs, ProbeReport, ProbeTarget, compare_images, fs_visitor};

fn docker_cli() -> Command {
    let mut c = Command::new(Docker::new().bin());
    c.env("DOCKER_BUILDKIT", "1");
    c
}

fn require_engine() {
    let ok = docker_cli()
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "no Docker engine answers: run `eval \"$(tests/engine/up)\"` first"
    );
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Images built by one test, removed when it ends.
struct Images(Vec<String>);

impl Images {
    /// Builds `dockerfile` (text) with `context`; returns the tag.
    fn build(&mut self, name: &str, dockerfile: &str, context: &Path) -> String {
        let tag = format!("dockopt-probe-test/{name}:{}", std::process::id());
        let file = std::env::temp_dir().join(format!(
            "dockopt-probe-{name}-{}.Dockerfile",
            std::process::id()
        ));
        std::fs::write(&file, dockerfile).unwrap();
        let out = docker_cli()
            .args(["build", "--network=host", "-q", "-t", &tag, "-f"])
            .arg(&file)
            .arg(context)
            .stdin(Stdio::null())
            .output()
            .expect("run docker build");
        let _ = std::fs::remove_file(&file);
        assert!(
            out.status.success(),
            "building {name} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.0.push(tag.clone());
        tag
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = docker_cli().arg("rmi").args(&self.0).output();
        }
    }
}

fn facts(tag: &str) -> ImageFacts {
    image_facts(&Docker::new().inspect(tag).unwrap()).unwrap()
}

/// The probes' view of an image's files, read the way verify reads them (one export).
fn image_fs(tag: &str) -> ImageFs {
    let docker = Docker::new();
    let id = docker.create(tag).unwrap();
    let mut visitor = fs_visitor();
    let listing = docker.export_listing(&id, &mut Progress::new(0), &mut visitor);
    docker.remove_containers(&[id]);
    listing.unwrap();
    visitor.finish()
}

fn compare(original: &str, fixed: &str) -> ProbeReport {
    let (fa, fb) = (facts(original), facts(fixed));
    let report = compare_images(
        &Docker::new(),
        ProbeTarget {
            tag: original,
            facts: &fa,
            fs: image_fs(original),
        },
        ProbeTarget {
            tag: fixed,
            facts: &fb,
            fs: image_fs(fixed),
        },
    )
    .unwrap();
    eprintln!("== {original} -> {fixed}: {:.1} s", report.seconds);
    for (step, s) in &report.steps {
        eprintln!("   step {step}: {s:.2} s");
    }
    for f in &report.findings {
        eprintln!(
            "   finding {} {}: {:?} -> {:?}: {}",
            f.kind.name(),
            f.subject,
            f.original,
            f.fixed,
            f.detail
        );
    }
    for c in &report.covered {
        eprintln!("   covered {c}");
    }
    for n in &report.notes {
        eprintln!("   note {n}");
    }
    report
}

fn library_findings(report: &ProbeReport) -> Vec<(&str, &str)> {
    report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Library)
        .map(|f| (f.subject.as_str(), f.detail.as_str()))
        .collect()
}

const PY_BUILD: &str = "FROM python:3.12 AS build
RUN apt-get update && apt-get install -y build-essential libpq-dev
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
";

fn py_runtime(pip: &str, libpq: bool) -> String {
    format!(
        "{PY_BUILD}RUN {pip}
FROM python:3.12-slim
{}COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY . .
EXPOSE 8000
CMD python app.py
",
        if libpq {
            "RUN apt-get update && apt-get install -y --no-install-recommends libpq5 && rm -rf /var/lib/apt/lists/*\n"
        } else {
            ""
        }
    )
}

#[test]
#[ignore = "needs the test engine (tests/engine/up)"]
fn python_web_runtime_stages() {
    require_engine();
    let context = examples().join("python-web");
    let original = std::fs::read_to_string(context.join("Dockerfile")).unwrap();
    let mut images = Images(Vec::new());
    let orig = images.build("py-original", &original, &context);
    let pip = "pip install -r /tmp/requirements.txt";
    let good = images.build("py-venv-libpq5", &py_runtime(pip, true), &context);
    let no_libpq = images.build("py-venv-no-libpq5", &py_runtime(pip, false), &context);
    let old = images.build(
        "py-venv-psycopg2-2.9.9",
        &py_runtime("pip install psycopg2==2.9.9", true),
        &context,
    );

    let report = compare(&orig, &good);
    assert_eq!(report.findings, [], "a correct runtime stage");
    assert!(
        report
            .covered
            .iter()
            .any(|c| c == "/opt/venv/lib/python3.11/site-packages"),
        "{:?}",
        report.covered
    );
    assert!(
        report
            .covered
            .iter()
            .any(|c| c == "/usr/local/lib/python3.11/dist-packages"),
        "{:?}",
        report.covered
    );

    let report = compare(&orig, &no_libpq);
    let libs = library_findings(&report);
    assert!(
        libs.contains(&(
            "/opt/venv/lib/python3.11/site-packages/psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so",
            "needs libpq.so.5, not found in the image"
        )),
        "{libs:?}"
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.kind == FindingKind::Library),
        "packages are the same"
    );

    let report = compare(&orig, &old);
    let packages: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.kind,
                f.subject.as_str(),
                f.original.as_deref(),
                f.fixed.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        packages,
        [(
            FindingKind::Package,
            "psycopg2",
            Some("2.9.10"),
            Some("2.9.9")
        )]
    );
}

#[test]
#[ignore = "needs the test engine (tests/engine/up)"]
fn go_binary_with_cgo_on_distroless() {
    require_engine();
    let context = examples().join("go-api");
    let original = std::fs::read_to_string(context.join("Dockerfile")).unwrap();
    let mut images = Images(Vec::new());
    let orig = images.build("go-original", &original, &context);
    let stage = |cgo: u8, runtime: &str| {
        format!(
            "FROM golang:1.22 AS build
WORKDIR /src
COPY go.mod main.go ./
RUN CGO_ENABLED={cgo} go build -o /out/go-api .
FROM gcr.io/distroless/{runtime}
COPY --from=build /out/go-api /usr/local/bin/go-api
EXPOSE 8080
CMD [\"go-api\"]
"
        )
    };
    let cgo_static = images.build("go-cgo-static", &stage(1, "static-debian12"), &context);
    let cgo_base = images.build("go-cgo-base", &stage(1, "base-debian12"), &context);
    let static_static = images.build("go-static-static", &stage(0, "static-debian12"), &context);

    let report = compare(&orig, &cgo_static);
    let libs = library_findings(&report);
    assert!(
        libs.iter()
            .any(|(file, detail)| *file == "/usr/local/bin/go-api"
                && detail.contains("needs its loader /lib64/ld-linux-x86-64.so.2")
                && detail.contains("cgo")),
        "{libs:?}"
    );
    assert!(
        libs.iter()
            .any(|(file, detail)| *file == "/usr/local/bin/go-api"
                && detail.starts_with("needs libc.so.6")),
        "{libs:?}"
    );
    assert_eq!(compare(&orig, &cgo_base).findings, []);
    assert_eq!(compare(&orig, &static_static).findings, []);
}

#[test]
#[ignore = "needs the test engine (tests/engine/up)"]
fn node_web_pruned_and_broken() {
    require_engine();
    let context = examples().join("node-web");
    let original = std::fs::read_to_string(context.join("Dockerfile")).unwrap();
    let mut images = Images(Vec::new());
    let orig = images.build("node-original", &original, &context);
    let runtime = |extra: &str| {
        format!(
            "FROM node:22 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev
FROM node:22-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
{extra}ENV NODE_ENV=production
EXPOSE 3000
CMD node dist/server.js
"
        )
    };
    let pruned = images.build("node-pruned", &runtime(""), &context);
    let broken = images.build(
        "node-broken",
        &runtime(
            "RUN rm -rf node_modules/pretty-bytes && sed -i 's/\"version\": \"4.21.2\"/\"version\": \"4.21.1\"/' node_modules/express/package.json\n",
        ),
        &context,
    );

    let report = compare(&orig, &pruned);
    assert_eq!(report.findings, [], "dev dependencies pruned on purpose");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("not production dependencies")),
        "{:?}",
        report.notes
    );
    assert!(report.covered.contains(&"/app/node_modules".to_string()));

    let report = compare(&orig, &broken);
    let mut got: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.subject.as_str(),
                f.original.as_deref(),
                f.fixed.as_deref(),
            )
        })
        .collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            ("express", Some("4.21.2"), Some("4.21.1")),
            ("pretty-bytes", Some("5.6.0"), None)
        ]
    );
}

#[test]
#[ignore = "needs the test engine (tests/engine/up)"]
fn ruby_gems_from_debian() {
    require_engine();
    let context = std::env::temp_dir().join(format!("dockopt-probe-ruby-{}", std::process::id()));
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("app.rb"),
        "require 'rack'\nputs Rack.release\n",
    )
    .unwrap();
    let image = |gems: &str| {
        format!(
            "FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ruby {gems} && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY app.rb .
CMD [\"ruby\", \"app.rb\"]
"
        )
    };
    let mut images = Images(Vec::new());
    let orig = images.build("ruby-rack", &image("ruby-rack"), &context);
    let without = images.build("ruby-no-rack", &image(""), &context);
    let _ = std::fs::remove_dir_all(&context);
    assert_eq!(compare(&orig, &orig).findings, []);
    let report = compare(&orig, &without);
    let got: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.subject.as_str(), f.fixed.as_deref()))
        .collect();
    assert!(got.contains(&("rack", None)), "{got:?}");
}

#[test]
#[ignore = "compares DOCKOPT_PROBE_PAIR=ORIGINAL,FIXED and prints the report"]
fn probe_pair() {
    // Run on purpose only: without the pair it fails rather than report ok having done nothing.
    let pair = std::env::var("DOCKOPT_PROBE_PAIR")
        .expect("set DOCKOPT_PROBE_PAIR=ORIGINAL_TAG,FIXED_TAG to compare two images");
    require_engine();
    let (a, b) = pair.split_once(',').expect("two tags, comma-separated");
    compare(a, b);
}
