//! The comparison of two images read from hand-made tar streams (no engine).

use std::collections::BTreeMap;

use serde_json::json;

use super::elf::build::{Spec, elf};
use super::fs::tests::tar;
use super::*;

fn facts(config: &Value) -> ImageFacts {
    image_facts_json(config)
}

fn image_facts_json(config: &Value) -> ImageFacts {
    let text = json!([{ "Id": "sha256:x", "Size": 1, "RootFS": {"Layers": []}, "Config": config }]);
    super::super::inspect::image_facts(&text.to_string()).unwrap()
}

fn side(
    label: &'static str,
    config: &Value,
    entries: &[(&str, &[u8])],
    python: Option<PythonEnv>,
) -> Side {
    let config = Config::from_facts(&facts(config));
    let wants = |p: &str| {
        if p.starts_with("/etc/ld.so.conf") {
            Some(1 << 16)
        } else {
            node::wants(p)
        }
    };
    let fs = ImageFs::read(&tar(entries)[..], &wants).unwrap();
    let command = Resolver::new(
        &fs,
        config.env.get("PATH").map(String::as_str),
        &config.workdir,
    )
    .resolve(&config.argv);
    Side {
        label,
        tag: label.into(),
        config,
        fs,
        command,
        python: python.map(|p| (p.interpreter.clone(), Ok(p))),
        ruby: None,
        node_version: None,
        steps: Vec::new(),
    }
}

fn lib(soname: &str, needed: &[&str]) -> Vec<u8> {
    elf(&Spec {
        soname: Some(soname),
        needed,
        ..Spec::x86_64()
    })
}

fn py(interpreter: &str, site: &str, packages: &[(&str, &str)]) -> PythonEnv {
    PythonEnv {
        interpreter: interpreter.into(),
        version: "3.11.2".into(),
        path: vec![String::new(), "/usr/lib/python3.11".into(), site.into()],
        packages: packages
            .iter()
            .map(|(n, v)| {
                (
                    python::normalize_name(n),
                    ((*n).into(), (*v).into(), site.into()),
                )
            })
            .collect(),
    }
}

fn run(a: &Side, b: &mut Side) -> ProbeReport {
    let mut report = ProbeReport::default();
    compare_sides(&Docker::new(), a, b, &mut report);
    report
}

#[test]
fn the_config_gives_argv_env_and_workdir() {
    let c = Config::from_facts(&facts(&json!({
        "Entrypoint": ["docker-entrypoint.sh"], "Cmd": ["node", "x.js"],
        "Env": ["PATH=/usr/bin", "A=b=c"], "WorkingDir": "app/"})));
    assert_eq!(c.argv, ["docker-entrypoint.sh", "node", "x.js"]);
    assert_eq!(c.env["A"], "b=c");
    assert_eq!(c.workdir, "/app");
    assert_eq!(Config::from_facts(&facts(&json!({}))).workdir, "/");
}

#[test]
fn a_library_missing_only_in_the_new_image_is_named_with_its_file() {
    let ext = elf(&Spec {
        needed: &["libpq.so.5", "libc.so.6"],
        ..Spec::x86_64()
    });
    let python = elf(&Spec {
        interp: Some("/lib64/ld-linux-x86-64.so.2"),
        needed: &["libc.so.6", "libgone.so.1"],
        ..Spec::x86_64()
    });
    let libc = lib("libc.so.6", &[]);
    let pq = lib("libpq.so.5", &["libldap.so.2"]);
    let ldap = lib("libldap.so.2", &[]);
    let config = json!({"Cmd": ["/bin/sh", "-c", "python app.py"], "WorkingDir": "/app",
        "Env": ["PATH=/opt/venv/bin:/usr/bin:/bin"]});
    let common: Vec<(&str, &[u8])> = vec![
        ("usr/bin/python3.11", &python),
        ("usr/bin/python", b"->python3.11"),
        ("bin/sh", b"elf"),
        ("lib64/ld-linux-x86-64.so.2", b"loader"),
        ("usr/lib/x86_64-linux-gnu/libc.so.6", &libc),
        ("app/app.py", b"import psycopg2"),
    ];
    let mut original = common.clone();
    original.extend([
        (
            "usr/local/lib/python3.11/dist-packages/psycopg2/_psycopg.so",
            ext.as_slice(),
        ),
        ("usr/lib/x86_64-linux-gnu/libpq.so.5", &pq),
        ("usr/lib/x86_64-linux-gnu/libldap.so.2", &ldap),
    ]);
    let a = side(
        "original",
        &config,
        &original,
        Some(py(
            "/usr/bin/python",
            "/usr/local/lib/python3.11/dist-packages",
            &[("psycopg2", "2.9.10")],
        )),
    );
    assert_eq!(
        a.command.runtimes,
        [Runtime::Python {
            interpreter: "/usr/bin/python".into()
        }]
    );

    // The venv moved the extension; libpq5 kept but its libldap dropped.
    let mut fixed = common.clone();
    fixed.extend([
        ("opt/venv/bin/python", b"->/usr/bin/python3.11".as_slice()),
        (
            "opt/venv/lib/python3.11/site-packages/psycopg2/_psycopg.so",
            &ext,
        ),
        ("usr/lib/x86_64-linux-gnu/libpq.so.5", &pq),
    ]);
    let venv = "/opt/venv/lib/python3.11/site-packages";
    let mut b = side(
        "fixed",
        &config,
        &fixed,
        Some(py("/opt/venv/bin/python", venv, &[("psycopg2", "2.9.10")])),
    );
    let report = run(&a, &mut b);
    assert_eq!(
        report.findings,
        [Finding {
            kind: FindingKind::Library,
            subject: format!("{venv}/psycopg2/_psycopg.so"),
            original: Some("/usr/lib/x86_64-linux-gnu/libldap.so.2".into()),
            fixed: None,
            detail: "needs libldap.so.2 (through libpq.so.5), not found in the image".into(),
        }]
    );
    assert_eq!(
        report.covered,
        [venv, "/usr/local/lib/python3.11/dist-packages"]
    );
    assert!(
        report.notes.iter().any(
            |n| n.contains("libgone.so.1 (needed by /usr/bin/python3.11)") && n.contains("both")
        ),
        "a library missing in both images is a note: {:?}",
        report.notes
    );

    // The same without libpq at all: the direct need is named.
    let mut fixed = common.clone();
    fixed.push(("opt/venv/bin/python", b"->/usr/bin/python3.11"));
    fixed.push((
        "opt/venv/lib/python3.11/site-packages/psycopg2/_psycopg.so",
        &ext,
    ));
    let mut b = side(
        "fixed",
        &config,
        &fixed,
        Some(py("/opt/venv/bin/python", venv, &[("psycopg2", "2.9.9")])),
    );
    let report = run(&a, &mut b);
    let got: Vec<(FindingKind, &str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.kind, f.subject.as_str(), f.detail.as_str()))
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].1, "psycopg2");
    assert_eq!(report.findings[0].fixed.as_deref(), Some("2.9.9"));
    assert_eq!(
        got[1],
        (
            FindingKind::Library,
            &*format!("{venv}/psycopg2/_psycopg.so"),
            "needs libpq.so.5, not found in the image"
        )
    );
}

#[test]
fn a_dynamic_binary_on_a_static_runtime_lacks_its_loader() {
    let cgo = elf(&Spec {
        interp: Some("/lib64/ld-linux-x86-64.so.2"),
        needed: &["libc.so.6"],
        ..Spec::x86_64()
    });
    let libc = lib("libc.so.6", &[]);
    let config = json!({"Cmd": ["go-api"]});
    let a = side(
        "original",
        &config,
        &[
            ("usr/local/bin/go-api", &cgo),
            ("lib64/ld-linux-x86-64.so.2", b"loader"),
            ("lib/x86_64-linux-gnu/libc.so.6", &libc),
        ],
        None,
    );
    let mut b = side(
        "fixed",
        &config,
        &[("usr/local/bin/go-api", &cgo), ("etc/passwd", b"root")],
        None,
    );
    let report = run(&a, &mut b);
    let details: Vec<&str> = report.findings.iter().map(|f| f.detail.as_str()).collect();
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(
        details[0].starts_with("needs its loader /lib64/ld-linux-x86-64.so.2")
            && details[0].contains("cgo")
    );
    assert_eq!(details[1], "needs libc.so.6, not found in the image");
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.subject == "/usr/local/bin/go-api")
    );

    // A static binary needs nothing.
    let mut static_exe = elf(&Spec::x86_64());
    static_exe[56] = 0;
    let a = side(
        "original",
        &config,
        &[("usr/local/bin/go-api", &static_exe)],
        None,
    );
    let mut b = side(
        "fixed",
        &config,
        &[("usr/local/bin/go-api", &static_exe)],
        None,
    );
    assert_eq!(run(&a, &mut b).findings, []);
}

#[test]
fn node_dev_dependencies_pruned_pass_and_are_covered() {
    let pkg = |n: &str, v: &str, deps: &[&str]| {
        let deps: BTreeMap<&str, &str> = deps.iter().map(|d| (*d, "*")).collect();
        json!({"name": n, "version": v, "dependencies": deps}).to_string()
    };
    let manifest =
        json!({"name": "app", "dependencies": {"express": "4"}, "devDependencies": {"jest": "29"}})
            .to_string();
    let express = pkg("express", "4.21.2", &[]);
    let jest = pkg("jest", "29.7.0", &[]);
    let config = json!({"Cmd": ["/bin/sh", "-c", "node dist/server.js"], "WorkingDir": "/app"});
    let base: Vec<(&str, &[u8])> = vec![
        ("usr/bin/node", b"elf"),
        ("bin/sh", b"elf"),
        ("app/package.json", manifest.as_bytes()),
        ("app/dist/server.js", b""),
        ("app/node_modules/express/package.json", express.as_bytes()),
    ];
    let mut with_dev = base.clone();
    with_dev.push(("app/node_modules/jest/package.json", jest.as_bytes()));
    let a = side("original", &config, &with_dev, None);
    let mut b = side("fixed", &config, &base, None);
    let report = run(&a, &mut b);
    assert_eq!(report.findings, []);
    assert_eq!(report.covered, ["/app/node_modules"]);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("1 installed package")),
        "{:?}",
        report.notes
    );
    // The other way round: express missing.
    let mut b = side("fixed", &config, &base[..4], None);
    let report = run(&a, &mut b);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].subject, "express");
}

#[test]
fn counterparts_by_path_workdir_package_and_name() {
    let entry = (ElfInfo::default(), Closure::default());
    let original: BTreeMap<String, (ElfInfo, Closure)> = [
        "/usr/local/lib/python3.11/dist-packages/psycopg2/_psycopg.so",
        "/app/bin/tool",
        "/usr/local/bin/go-api",
    ]
    .into_iter()
    .map(|p| (p.to_string(), entry.clone()))
    .collect();
    let found = |p: &str, wd: &str| counterpart(p, &original, "/app", wd).is_some();
    assert!(found("/usr/local/bin/go-api", "/"));
    assert!(found("/srv/bin/tool", "/srv"));
    assert!(found(
        "/opt/venv/lib/python3.11/site-packages/psycopg2/_psycopg.so",
        "/"
    ));
    assert!(found("/go-api", "/"));
    assert!(!found("/other", "/"));
}
