//! split-copy and dockerignore on real small build contexts made in a temp folder: what is
//! copied first, when the rule only reports (and why), layering by git history, and the
//! whole rule set converging on the result.

use std::path::Path;

use dockopt_fix::{Diagnostic, FixOptions, assert_idempotent, fix_loop};
use dockopt_transforms::{BuildContext, Selection, all_rules, check_file_in};

mod common;
use common::{TempDir as Dir, git};

fn check(rule: &str, dir: &Path, text: &str) -> Vec<Diagnostic> {
    let context = BuildContext::new(dir);
    let file = dockopt_syntax::parse(text);
    check_file_in(&file, &Selection::only(&[rule]), Some(&context))
}

/// The text after the split-copy fix loop (Unsafe fixes on), checked idempotent.
fn fixed(dir: &Path, text: &str) -> String {
    let context = BuildContext::new(dir);
    let selection = Selection::only(&["split-copy"]);
    let check = |f: &dockopt_syntax::Dockerfile| check_file_in(f, &selection, Some(&context));
    let options = FixOptions::new(true);
    let outcome = fix_loop(text, &options, &check);
    assert!(outcome.refused.is_none(), "{:?}", outcome.refused);
    assert_idempotent(&outcome.text, &options, &check);
    outcome.text
}

fn node_app(dir: &Dir) {
    dir.file(
        "package.json",
        r#"{"name":"app","version":"1.0.0","scripts":{"build":"node build.js"},"dependencies":{"express":"4.19.2"}}"#,
    )
    .file("package-lock.json", "{}")
    .file("build.js", "console.log(1)\n")
    .file("src/server.js", "console.log(2)\n");
}

const NODE: &str = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\nCMD [\"node\", \"dist/server.js\"]\n";

#[test]
fn node_manifests_first_source_after() {
    let dir = Dir::new("node");
    node_app(&dir);
    assert_eq!(
        fixed(&dir.0, NODE),
        "FROM node:22\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\nCMD [\"node\", \"dist/server.js\"]\n"
    );
}

#[test]
fn commands_after_the_install_move_with_the_source() {
    let dir = Dir::new("tail");
    node_app(&dir);
    let text = "FROM node:22\nWORKDIR /app\nCOPY --link . .\nRUN --mount=type=cache,target=/root/.npm npm ci \\\n    && npm run build\n";
    assert_eq!(
        fixed(&dir.0, text),
        "FROM node:22\nWORKDIR /app\nCOPY --link package.json package-lock.json ./\nRUN --mount=type=cache,target=/root/.npm npm ci\nCOPY --link . .\nRUN --mount=type=cache,target=/root/.npm npm run build\n"
    );
}

#[test]
fn host_node_modules_blocks_the_split() {
    let dir = Dir::new("modules");
    node_app(&dir);
    dir.file("node_modules/express/index.js", "x\n");
    let d = check("split-copy", &dir.0, NODE);
    assert_eq!(d.len(), 1);
    assert!(d[0].fix.is_none());
    assert!(
        d[0].message.contains("holds node_modules"),
        "{}",
        d[0].message
    );
    // Once .dockerignore keeps it out, the split is safe.
    dir.file(".dockerignore", "node_modules\n");
    let d = check("split-copy", &dir.0, NODE);
    assert!(d[0].fix.is_some(), "{}", d[0].message);
}

#[test]
fn lifecycle_scripts_and_local_dependencies_are_reported() {
    let dir = Dir::new("scripts");
    dir.file(
        "package.json",
        r#"{"name":"a","scripts":{"postinstall":"node patch.js"}}"#,
    );
    let d = check("split-copy", &dir.0, NODE);
    assert!(d[0].fix.is_none());
    assert!(
        d[0].message.contains("`postinstall` script"),
        "{}",
        d[0].message
    );
    let ignoring = NODE.replace("npm ci", "npm ci --ignore-scripts");
    assert!(check("split-copy", &dir.0, &ignoring)[0].fix.is_some());

    dir.file(
        "package.json",
        r#"{"name":"a","dependencies":{"lib":"file:./lib"}}"#,
    );
    let d = check("split-copy", &dir.0, NODE);
    assert!(
        d[0].message.contains("by local path (`file:./lib`)"),
        "{}",
        d[0].message
    );
}

#[test]
fn workspace_members_keep_their_folders() {
    let dir = Dir::new("workspaces");
    dir.file(
        "package.json",
        r#"{"name":"root","private":true,"workspaces":["packages/*"]}"#,
    )
    .file("package-lock.json", "{}")
    .file("packages/api/package.json", r#"{"name":"api"}"#)
    .file("packages/api/index.js", "1\n")
    .file("packages/web/package.json", r#"{"name":"web"}"#)
    .file("tools/package.json", r#"{"name":"not-a-member"}"#);
    let out = fixed(&dir.0, NODE);
    assert!(
        out.contains("COPY package.json package-lock.json ./\nCOPY packages/api/package.json ./packages/api/\nCOPY packages/web/package.json ./packages/web/\nRUN npm ci\nCOPY . .\n"),
        "{out}"
    );
    assert!(!out.contains("tools/"), "{out}");
}

#[test]
fn pip_follows_includes_and_refuses_local_installs() {
    let dir = Dir::new("pip");
    dir.file("requirements.txt", "-r req/base.txt\nflask==3.0.3\n")
        .file("req/base.txt", "-c constraints.txt\nrequests\n")
        .file("req/constraints.txt", "urllib3<3\n")
        .file("app.py", "print(1)\n");
    let text = "FROM python:3.12\nWORKDIR /srv\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n";
    let out = fixed(&dir.0, text);
    assert!(
        out.contains("COPY requirements.txt ./\nCOPY req/base.txt req/constraints.txt ./req/\nRUN pip install -r requirements.txt\nCOPY . .\n"),
        "{out}"
    );

    dir.file("req/base.txt", "-e .\n");
    let d = check("split-copy", &dir.0, text);
    assert!(d[0].fix.is_none());
    assert!(d[0].message.contains("editable mode"), "{}", d[0].message);

    let d = check(
        "split-copy",
        &dir.0,
        &text.replace("-r requirements.txt", "."),
    );
    assert!(d[0].message.contains("local path"), "{}", d[0].message);

    // Packages from a folder of the source, by the stage's variables or a file: URL.
    dir.file("req/base.txt", "requests\n")
        .write("wheels/acme_billing-1.4.0-py3-none-any.whl", b"PK\x03\x04");
    let env = |line: &str| text.replace("COPY . .", &format!("{line}\nCOPY . ."));
    let d = check("split-copy", &dir.0, &env("ENV PIP_FIND_LINKS=/srv/wheels"));
    assert!(
        d[0].message
            .contains("reads wheels/ (`PIP_FIND_LINKS=/srv/wheels`)"),
        "{}",
        d[0].message
    );
    let d = check(
        "split-copy",
        &dir.0,
        &text.replace("-r req", "--find-links file:///srv/wheels -r req"),
    );
    assert!(d[0].fix.is_none(), "{}", d[0].message);
    let uv = text.replace("pip install", "uv pip install --system");
    let d = check(
        "split-copy",
        &dir.0,
        &env("ENV UV_FIND_LINKS=wheels").replace("pip install", "uv pip install --system"),
    );
    assert!(
        d[0].message.contains("`UV_FIND_LINKS=wheels`"),
        "{}",
        d[0].message
    );
    assert!(
        fixed(
            &dir.0,
            &env("ENV PIP_INDEX_URL=https://pypi.corp.example/simple")
        )
        .contains("RUN pip install -r requirements.txt\nCOPY . .\n")
    );
    assert!(check("split-copy", &dir.0, &uv)[0].fix.is_some());
}

#[test]
fn excluded_or_missing_manifests_are_reported() {
    let dir = Dir::new("missing");
    dir.file("app.py", "1\n")
        .file("requirements.txt", "flask\n")
        .file(".dockerignore", "requirements.txt\n");
    let text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n";
    let d = check("split-copy", &dir.0, text);
    assert!(d[0].fix.is_none());
    assert!(
        d[0].message
            .contains("requirements.txt is not in the build context (.dockerignore excludes it)"),
        "{}",
        d[0].message
    );
    // An ignored optional manifest is simply not copied.
    let dir = Dir::new("optional");
    node_app(&dir);
    dir.file(".dockerignore", "package-lock.json\n");
    assert!(fixed(&dir.0, NODE).contains("COPY package.json ./\nRUN npm ci\n"));
}

#[test]
fn poetry_installs_the_dependencies_first_and_go_needs_no_local_replace() {
    let dir = Dir::new("poetry");
    dir.file("pyproject.toml", "[tool.poetry]\nname = \"x\"\n")
        .file("poetry.lock", "")
        .file("x/__init__.py", "");
    let text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN poetry install --only main\n";
    // The project itself is installed again after the source.
    assert_eq!(
        fixed(&dir.0, text),
        "FROM python:3.12\nWORKDIR /app\nCOPY pyproject.toml poetry.lock ./\nRUN poetry install --only main --no-root\nCOPY . .\nRUN poetry install --only main\n"
    );
    let out = fixed(
        &dir.0,
        &text.replace("poetry install", "poetry install --no-root"),
    );
    assert!(
        out.contains(
            "COPY pyproject.toml poetry.lock ./\nRUN poetry install --no-root --only main\nCOPY . .\n"
        ),
        "{out}"
    );
    // --only-root installs the project alone: from the source.
    let d = check(
        "split-copy",
        &dir.0,
        &text.replace("--only main", "--only-root"),
    );
    assert!(d[0].fix.is_none());
    // A path dependency is installed with the dependencies.
    dir.file(
        "pyproject.toml",
        "[tool.poetry]\nname = \"x\"\n\n[tool.poetry.dependencies]\nlib = { path = \"lib\", develop = true }\n",
    );
    let d = check("split-copy", &dir.0, text);
    assert!(d[0].fix.is_none());
    assert!(d[0].message.contains("`lib`"), "{}", d[0].message);

    let dir = Dir::new("go");
    dir.file(
        "go.mod",
        "module x\n\ngo 1.22\n\nreplace example.com/lib => ../lib\n",
    )
    .file("main.go", "package main\n");
    let text = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go mod download\n";
    let d = check("split-copy", &dir.0, text);
    assert!(
        d[0].message.contains("local folder ../lib"),
        "{}",
        d[0].message
    );
    dir.file("go.mod", "module x\n\ngo 1.22\n")
        .file("go.sum", "");
    assert!(fixed(&dir.0, text).contains("COPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\n"));
}

#[test]
fn the_install_must_run_where_the_source_lands() {
    let dir = Dir::new("cwd");
    node_app(&dir);
    let text = "FROM node:22\nWORKDIR /app\nCOPY . /srv\nRUN npm ci\n";
    let d = check("split-copy", &dir.0, text);
    assert!(d[0].fix.is_none());
    assert!(
        d[0].message.contains("does not run in /srv"),
        "{}",
        d[0].message
    );
    // `COPY . /app` with the install in /app is fine, and keeps its destination.
    let out = fixed(&dir.0, &text.replace("/srv", "/app"));
    assert!(
        out.contains("COPY package.json package-lock.json /app/\nRUN npm ci\nCOPY . /app\n"),
        "{out}"
    );
}

#[test]
fn rarely_changed_assets_get_an_earlier_layer() {
    let dir = Dir::new("assets");
    if !git(&dir.0, &["init", "-q"]) {
        eprintln!("git is not available; skipping");
        return;
    }
    dir.big("assets/video.bin", 6 << 20)
        .file("assets/logo.svg", "<svg/>\n")
        .file("src/app.py", "print(0)\n")
        .file("requirements.txt", "flask\n");
    assert!(git(&dir.0, &["add", "-A"]));
    assert!(git(&dir.0, &["commit", "-q", "-m", "initial"]));
    for n in 1..=11 {
        dir.file("src/app.py", &format!("print({n})\n"));
        assert!(git(&dir.0, &["commit", "-qam", &format!("change {n}")]));
    }
    let text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"src/app.py\"]\n";
    let d = check("split-copy", &dir.0, text);
    assert_eq!(d.len(), 1, "{d:?}");
    let out = fixed(&dir.0, text);
    assert_eq!(
        out,
        "# syntax=docker/dockerfile:1\nFROM python:3.12\nWORKDIR /app\nCOPY requirements.txt ./\nRUN pip install -r requirements.txt\nCOPY assets ./assets/\nCOPY --exclude=assets . .\nCMD [\"python\", \"src/app.py\"]\n"
    );
    // The diagnostic states the figures.
    let after_split =
        "FROM python:3.12\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"src/app.py\"]\n";
    let d = check("split-copy", &dir.0, after_split);
    assert!(
        d[0].message
            .contains("assets/ (6.0 MiB, changed in 1 of 12 commits)"),
        "{}",
        d[0].message
    );
    // A file that pins an older frontend gets a report, not a fix.
    let pinned = format!("# syntax=docker/dockerfile:1.4\n{after_split}");
    let d = check("split-copy", &dir.0, &pinned);
    assert!(d[0].fix.is_none());
    assert!(
        d[0].message.contains("needs docker/dockerfile:1.19"),
        "{}",
        d[0].message
    );
    // Outside git (no history), nothing is layered.
    std::fs::remove_dir_all(dir.0.join(".git")).unwrap();
    assert!(check("split-copy", &dir.0, after_split).is_empty());
}

#[test]
fn all_rules_together_converge_on_a_naive_node_dockerfile() {
    let dir = Dir::new("all");
    node_app(&dir);
    dir.file(
        ".dockerignore",
        ".git\n.env\nnode_modules\nnpm-debug.log*\n.npm\ncoverage\n",
    );
    let context = BuildContext::new(&dir.0);
    let names: Vec<&str> = all_rules().iter().map(|r| r.meta().name).collect();
    let selection = Selection::only(&names);
    let check = |f: &dockopt_syntax::Dockerfile| check_file_in(f, &selection, Some(&context));
    let text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\nCMD node dist/server.js\n";
    let options = FixOptions::new(true);
    let outcome = assert_idempotent(text, &options, &check);
    let out = outcome.text;
    let manifests = out.find(" package.json package-lock.json ./").expect(&out);
    let install = out.find("npm ci").expect(&out);
    let source = out.find(" . .\n").expect(&out);
    let build = out.find("npm run build").expect(&out);
    assert!(
        manifests < install && install < source && source < build,
        "{out}"
    );
}

#[test]
fn dockerignore_stays_quiet_when_covered_and_keeps_what_the_build_needs() {
    let dir = Dir::new("ignore-covered");
    node_app(&dir);
    let text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n";
    // Everything the Node ecosystem wants ignored is there: no diagnostic.
    dir.file(
        ".dockerignore",
        ".git\n.env\n**/node_modules\nnpm-debug.log*\ncoverage\n",
    );
    assert!(check("dockerignore", &dir.0, text).is_empty());

    // A RUN that calls git keeps .git out of the proposal.
    dir.file(
        ".dockerignore",
        ".env\n**/node_modules\nnpm-debug.log*\ncoverage\n",
    );
    let with_git = text.replace("RUN npm ci", "RUN npm ci && git rev-parse HEAD > /rev");
    assert!(check("dockerignore", &dir.0, &with_git).is_empty());
    let d = check("dockerignore", &dir.0, text);
    assert_eq!(d.len(), 1);
    assert!(
        d[0].message.contains("does not exclude .git,"),
        "{}",
        d[0].message
    );

    // An exception the user wrote wins: coverage is re-included on purpose.
    dir.file(
        ".dockerignore",
        ".git\n.env\n**/node_modules\nnpm-debug.log*\n!coverage\n",
    );
    assert!(check("dockerignore", &dir.0, text).is_empty());

    // Only Dockerfiles that copy the whole context are concerned.
    std::fs::remove_file(dir.0.join(".dockerignore")).unwrap();
    let named = "FROM node:22\nWORKDIR /app\nCOPY package.json server.js ./\nRUN npm ci\n";
    assert!(check("dockerignore", &dir.0, named).is_empty());
}

#[test]
fn system_packages_go_before_the_source() {
    let dir = Dir::new("c-project");
    dir.file("Makefile", "all:\n\tcc -o tool main.c\n")
        .file("main.c", "int main(void) { return 0; }\n");
    let text = "FROM debian:bookworm\nCOPY . /src\nWORKDIR /src\nRUN apt-get update\nRUN apt-get install -y build-essential zlib1g-dev\nRUN make\nCMD [\"/src/tool\"]\n";
    assert_eq!(
        fixed(&dir.0, text),
        "FROM debian:bookworm\nWORKDIR /src\nRUN apt-get update\nRUN apt-get install -y build-essential zlib1g-dev\nCOPY . /src\nRUN make\nCMD [\"/src/tool\"]\n"
    );
    // A package from the context, or a RUN that may read the source first: left alone.
    for quiet in [
        "FROM debian:bookworm\nCOPY . /src\nWORKDIR /src\nRUN apt-get install -y ./tool.deb\nRUN make\n",
        "FROM debian:bookworm\nCOPY . /src\nWORKDIR /src\nRUN ./configure\nRUN apt-get install -y gcc\nRUN make\n",
        "FROM debian:bookworm\nCOPY . /src\nWORKDIR /src\nRUN make\n",
    ] {
        let d = check("split-copy", &dir.0, quiet);
        assert!(d.iter().all(|d| d.fix.is_none()), "{quiet}: {d:?}");
    }
}

fn uv_app(dir: &Dir) {
    dir.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\ndynamic = [\"version\"]\ndependencies = [\"humanize==4.11.0\"]\n\n[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n\n[tool.hatch.version]\npath = \"src/app/__init__.py\"\n",
    )
    .file("uv.lock", "version = 1\n")
    .file(".python-version", "3.11\n")
    .file("src/app/__init__.py", "__version__ = \"1.0\"\n");
}

#[test]
fn uv_sync_installs_the_dependencies_first_then_the_project() {
    let dir = Dir::new("uv");
    uv_app(&dir);
    let text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev \\\n    && python -m compileall -q src\nCMD [\"python\", \"-m\", \"app\"]\n";
    assert_eq!(
        fixed(&dir.0, text),
        "FROM python:3.12\nWORKDIR /app\nCOPY pyproject.toml uv.lock .python-version ./\nRUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev --no-install-project\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev \\\n    && python -m compileall -q src\nCMD [\"python\", \"-m\", \"app\"]\n"
    );
    // Installs before the project's stay in the first RUN; its cache cleanup runs with it.
    let chained = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install uv && uv sync --locked && uv cache clean\n";
    assert_eq!(
        fixed(&dir.0, chained),
        "FROM python:3.12\nWORKDIR /app\nCOPY pyproject.toml uv.lock .python-version ./\nRUN pip install uv && uv sync --locked --no-install-project && uv cache clean\nCOPY . .\nRUN uv sync --locked && uv cache clean\n"
    );
}

#[test]
fn uv_sync_is_reported_when_the_first_run_could_need_the_source() {
    let dir = Dir::new("uv-reports");
    uv_app(&dir);
    let text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN uv sync --frozen\n";
    let message = |text: &str| {
        let d = check("split-copy", &dir.0, text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].fix.is_none(), "{}", d[0].message);
        d[0].message.clone()
    };
    // Something else would run twice, or without the shell state it had.
    let m = message(&text.replace(
        "uv sync --frozen",
        "uv sync --frozen && mkdir -p /data && uv sync --frozen",
    ));
    assert!(m.contains("`mkdir`"), "{m}");
    let m = message(&text.replace("uv sync", "export UV_COMPILE_BYTECODE=1 && uv sync"));
    assert!(
        m.contains("without the `export UV_COMPILE_BYTECODE=1`"),
        "{m}"
    );
    let m = message(&text.replace("--frozen", "--frozen --script tool.py"));
    assert!(m.contains("`uv sync --script`"), "{m}");
    // Dynamic dependencies: fine with --frozen, reported with --locked.
    dir.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1\"\ndynamic = [\"dependencies\"]\n",
    );
    assert!(check("split-copy", &dir.0, text)[0].fix.is_some());
    let m = message(&text.replace("--frozen", "--locked"));
    assert!(m.contains("`dependencies` dynamic"), "{m}");
    // A workspace, a local source.
    dir.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1\"\n\n[tool.uv.workspace]\nmembers = [\"libs/*\"]\n",
    );
    assert!(message(text).contains("workspace"));
    dir.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1\"\n\n[tool.uv.sources]\nlib = { path = \"libs/lib\" }\n",
    );
    assert!(message(text).contains("path = \"libs/lib\""));
    // Without uv.lock in the context the first run would resolve anew.
    dir.file(
        "pyproject.toml",
        "[project]\nname = \"app\"\nversion = \"1\"\n",
    )
    .file(".dockerignore", "uv.lock\n");
    let m = message(&text.replace(" --frozen", ""));
    assert!(
        m.contains("uv.lock is not in the build context (.dockerignore excludes it)"),
        "{m}"
    );
    // A .venv in the context would be copied over the installed one.
    std::fs::remove_file(dir.0.join(".dockerignore")).unwrap();
    dir.file(".venv/pyvenv.cfg", "home = /usr\n");
    assert!(message(text).contains("holds .venv"));
}

/// The report of split-copy for `text`: one diagnostic, no fix.
fn report_of(dir: &Path, text: &str) -> String {
    let d = check("split-copy", dir, text);
    assert_eq!(d.len(), 1, "{text}: {d:?}");
    assert!(d[0].fix.is_none(), "{text}: {}", d[0].message);
    d[0].message.clone()
}

/// A uv project that vendors a private wheel in wheels/: an install that reads packages
/// from there would fail before the source COPY (checked on uv 0.13: "Failed to read
/// `--find-links` directory"), so split-copy reports. A URL, or a place outside the copied
/// source, keeps splitting.
#[test]
fn uv_sync_reading_a_folder_of_the_source_is_reported() {
    let dir = Dir::new("uv-wheels");
    uv_app(&dir);
    dir.write("wheels/acme_billing-1.4.0-py3-none-any.whl", b"PK\x03\x04");
    let base = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN uv sync --locked\n";
    let with = |flags: &str| base.replace("--locked", &format!("--locked {flags}"));
    for (flags, shown) in [
        ("--find-links wheels", "`--find-links wheels`"),
        ("--find-links=wheels", "`--find-links wheels`"),
        ("--find-links=./wheels", "`--find-links ./wheels`"),
        ("-f wheels", "`-f wheels`"),
        ("-f /app/wheels", "`-f /app/wheels`"),
        (
            "--index-url file:///app/wheels",
            "`--index-url file:///app/wheels`",
        ),
        ("-i wheels", "`-i wheels`"),
        ("--extra-index-url ./wheels", "`--extra-index-url ./wheels`"),
        ("--index vendored=./wheels", "`--index vendored=./wheels`"),
        ("--default-index=wheels", "`--default-index wheels`"),
    ] {
        let m = report_of(&dir.0, &with(flags));
        assert!(m.contains("reads wheels/"), "{flags}: {m}");
        assert!(m.contains(shown), "{flags}: {m}");
        assert!(
            m.contains("copy wheels/ with the manifests"),
            "{flags}: {m}"
        );
    }
    // An install of the dependencies alone is no different: the manifests go first.
    let m = report_of(&dir.0, &with("--no-install-project --find-links wheels"));
    assert!(m.contains("reads wheels/"), "{m}");
    // `--find-links .` reads the whole source.
    assert!(report_of(&dir.0, &with("-f .")).contains("reads the whole source"));
    // A value dockopt cannot read may be a folder of the source.
    let m = report_of(&dir.0, &with("--find-links \"$WHEELS\""));
    assert!(m.contains("from a variable"), "{m}");

    // URLs keep splitting, with the flags in both runs.
    let url = with(
        "--find-links https://download.pytorch.org/whl/cpu --index corp=https://pypi.corp.example/simple",
    );
    assert_eq!(
        fixed(&dir.0, &url),
        "FROM python:3.12\nWORKDIR /app\nCOPY pyproject.toml uv.lock .python-version ./\nRUN uv sync --locked --find-links https://download.pytorch.org/whl/cpu --index corp=https://pypi.corp.example/simple --no-install-project\nCOPY . .\nRUN uv sync --locked --find-links https://download.pytorch.org/whl/cpu --index corp=https://pypi.corp.example/simple\n"
    );
    // So do places outside the copied source (there before the COPY as after it), and
    // places the context does not have.
    for flags in [
        "--index-url file:///srv/pypi",
        "-f /wheels",
        "--find-links dist",
    ] {
        let out = fixed(&dir.0, &with(flags));
        assert!(
            out.contains(&format!(
                "--no-install-project\nCOPY . .\nRUN uv sync --locked {flags}\n"
            )),
            "{flags}: {out}"
        );
    }
    // A config file of the context that the manifests COPY takes is fine; another is read
    // before the source COPY.
    dir.file("uv.toml", "compile-bytecode = true\n")
        .file("ci/uv-docker.toml", "compile-bytecode = true\n");
    assert!(
        fixed(&dir.0, &with("--config-file uv.toml")).contains("--no-install-project\nCOPY . .\n")
    );
    let m = report_of(&dir.0, &with("--config-file ci/uv-docker.toml"));
    assert!(
        m.contains("reads ci/uv-docker.toml (`--config-file ci/uv-docker.toml`)"),
        "{m}"
    );
}

#[test]
fn uv_settings_of_the_context_and_the_stage_are_read() {
    let dir = Dir::new("uv-wheel-settings");
    uv_app(&dir);
    dir.write("wheels/acme_billing-1.4.0-py3-none-any.whl", b"PK\x03\x04");
    let text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN uv sync --locked\n";
    // uv.toml (copied with the manifests, but not the folder it names).
    dir.file("uv.toml", "find-links = [\"wheels\"]\n");
    let m = report_of(&dir.0, text);
    assert!(
        m.contains("reads wheels/ (`wheels` in uv.toml, find-links)"),
        "{m}"
    );
    dir.file(
        "uv.toml",
        "[[index]]\nname = \"vendored\"\nurl = \"./wheels\"\nformat = \"flat\"\n",
    );
    assert!(report_of(&dir.0, text).contains("`./wheels` in uv.toml, index.*.url"));
    dir.file(
        "uv.toml",
        "index-url = \"https://pypi.corp.example/simple\"\n",
    );
    assert!(
        fixed(&dir.0, text).contains("COPY pyproject.toml uv.lock .python-version uv.toml ./\n")
    );
    std::fs::remove_file(dir.0.join("uv.toml")).unwrap();
    // pyproject.toml's [tool.uv].
    let pyproject = std::fs::read_to_string(dir.0.join("pyproject.toml")).unwrap();
    dir.file(
        "pyproject.toml",
        &format!("{pyproject}\n[tool.uv]\nfind-links = [\"./wheels\"]\n"),
    );
    assert!(report_of(&dir.0, text).contains("`./wheels` in pyproject.toml, tool.uv.find-links"));
    dir.file("pyproject.toml", &pyproject);
    // The lock: a package found through find-links is locked from that folder, and even
    // `uv sync --frozen` reads it from there.
    dir.file(
        "uv.lock",
        "version = 1\n\n[[package]]\nname = \"acme-billing\"\nversion = \"1.4.0\"\nsource = { registry = \"wheels\" }\nwheels = [\n    { path = \"acme_billing-1.4.0-py3-none-any.whl\" },\n]\n",
    );
    let m = report_of(&dir.0, &text.replace("--locked", "--frozen"));
    assert!(
        m.contains("reads wheels/ (`wheels` in uv.lock, package.*.source.registry)"),
        "{m}"
    );
    dir.file("uv.lock", "version = 1\n");

    // The stage's ENV and ARG, and assignments before the command.
    let env = |line: &str| text.replace("COPY . .", &format!("{line}\nCOPY . ."));
    let m = report_of(&dir.0, &env("ENV UV_FIND_LINKS=/app/wheels"));
    assert!(
        m.contains("reads wheels/ (`UV_FIND_LINKS=/app/wheels`)"),
        "{m}"
    );
    let m = report_of(
        &dir.0,
        &env("ENV UV_INDEX=\"corp=https://pypi.corp.example/simple vendored=wheels\""),
    );
    assert!(m.contains("`UV_INDEX=vendored=wheels`"), "{m}");
    assert!(report_of(&dir.0, &env("ARG UV_EXTRA_INDEX_URL=./wheels")).contains("reads wheels/"));
    // An ARG without a default is set with --build-arg: unknown.
    assert!(report_of(&dir.0, &env("ARG UV_INDEX_URL")).contains("from a variable"));
    // Set before the COPY, or in the stage it is built FROM.
    let m = report_of(
        &dir.0,
        "FROM python:3.12 AS base\nENV UV_FIND_LINKS=wheels\nFROM base\nWORKDIR /app\nCOPY . .\nRUN uv sync --locked\n",
    );
    assert!(m.contains("`UV_FIND_LINKS=wheels`"), "{m}");
    let m = report_of(
        &dir.0,
        &text.replace("RUN uv", "RUN UV_FIND_LINKS=wheels uv"),
    );
    assert!(m.contains("`UV_FIND_LINKS=wheels`"), "{m}");
    // The command's own assignment wins over the stage's.
    let out = fixed(
        &dir.0,
        &env("ENV UV_FIND_LINKS=wheels")
            .replace("RUN uv", "RUN UV_FIND_LINKS=https://wheels.example/ uv"),
    );
    assert!(out.contains("--no-install-project\nCOPY . .\n"), "{out}");
    // A folder outside the copied source is there before the COPY as well.
    let outside = "FROM python:3.12\nCOPY wheels /wheels\nENV UV_FIND_LINKS=/wheels\nWORKDIR /app\nCOPY . .\nRUN uv sync --locked\n";
    assert!(fixed(&dir.0, outside).contains(
        "COPY pyproject.toml uv.lock .python-version ./\nRUN uv sync --locked --no-install-project\nCOPY . .\nRUN uv sync --locked\n"
    ));
    // pip's variables mean nothing to uv.
    assert!(
        check("split-copy", &dir.0, &env("ENV PIP_FIND_LINKS=wheels"))[0]
            .fix
            .is_some()
    );
}

#[test]
fn poetry_sources_from_the_context_are_reported() {
    let dir = Dir::new("poetry-wheels");
    dir.file("pyproject.toml", "[tool.poetry]\nname = \"x\"\n\n[[tool.poetry.source]]\nname = \"vendored\"\nurl = \"wheels\"\npriority = \"explicit\"\n")
        .file("poetry.lock", "")
        .file("x/__init__.py", "")
        .write("wheels/acme_billing-1.4.0-py3-none-any.whl", b"PK\x03\x04");
    let text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN poetry install --only main\n";
    let m = report_of(&dir.0, text);
    assert!(
        m.contains("reads wheels/ (`wheels` in pyproject.toml, tool.poetry.source.*.url)"),
        "{m}"
    );
    dir.file("pyproject.toml", "[tool.poetry]\nname = \"x\"\n\n[[tool.poetry.source]]\nname = \"corp\"\nurl = \"https://pypi.corp.example/simple\"\n")
        .file(
            "poetry.lock",
            "[[package]]\nname = \"acme-billing\"\nversion = \"1.4.0\"\n\n[package.source]\ntype = \"file\"\nurl = \"wheels/acme_billing-1.4.0-py3-none-any.whl\"\n",
        );
    let m = report_of(&dir.0, text);
    assert!(
        m.contains("reads wheels/acme_billing-1.4.0-py3-none-any.whl ("),
        "{m}"
    );
    dir.file("poetry.lock", "");
    assert!(fixed(&dir.0, text).contains("RUN poetry install --only main --no-root\nCOPY . .\n"));
}

/// split-stage-copy copies a pnpm project's node_modules on its own, but never a
/// workspace's (npm, Yarn or pnpm): its members have node_modules of their own.
#[test]
fn split_stage_copy_takes_pnpm_and_leaves_workspaces_alone() {
    let text = "FROM node:22 AS build\nWORKDIR /app\nCOPY package.json pnpm-lock.yaml ./\nRUN pnpm install --frozen-lockfile --prod\nCOPY . .\n\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"node\", \"index.js\"]\n";
    let dir = Dir::new("ssc-pnpm");
    dir.file(
        "package.json",
        r#"{"name":"notes","dependencies":{"express":"4.21.2"}}"#,
    )
    .file("pnpm-lock.yaml", "lockfileVersion: '9.0'\n")
    .file("index.js", "require('express')\n");
    let found = check("split-stage-copy", &dir.0, text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].fix.is_some());

    let pnpm_workspace = Dir::new("ssc-pnpm-ws");
    pnpm_workspace
        .file(
            "package.json",
            r#"{"name":"mono","dependencies":{"express":"4.21.2"}}"#,
        )
        .file("pnpm-lock.yaml", "lockfileVersion: '9.0'\n")
        .file("pnpm-workspace.yaml", "packages:\n  - 'packages/*'\n");
    assert!(check("split-stage-copy", &pnpm_workspace.0, text).is_empty());

    let npm_workspace = Dir::new("ssc-npm-ws");
    npm_workspace
        .file(
            "package.json",
            r#"{"name":"mono","workspaces":["packages/*"],"dependencies":{"express":"4.21.2"}}"#,
        )
        .file("package-lock.json", "{}");
    let npm = text
        .replace("pnpm-lock.yaml", "package-lock.json")
        .replace("pnpm install --frozen-lockfile --prod", "npm ci --omit=dev");
    assert!(check("split-stage-copy", &npm_workspace.0, &npm).is_empty());
}

/// split-stage-copy copies poetry's venv on its own only where the install surely made it
/// in the working folder (in-project by ENV) from a lock in the context.
#[test]
fn split_stage_copy_takes_poetrys_in_project_venv_only() {
    let text = "FROM python:3.12 AS build\nENV POETRY_VIRTUALENVS_IN_PROJECT=true\nRUN pip install poetry==1.8.5\nWORKDIR /app\nCOPY pyproject.toml poetry.lock ./\nRUN poetry install --only main --no-root\nCOPY . .\n\nFROM python:3.12-slim\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"/app/.venv/bin/python\", \"app.py\"]\n";
    let dir = Dir::new("ssc-poetry");
    dir.file(
        "pyproject.toml",
        "[tool.poetry]\nname = \"a\"\nversion = \"0.1.0\"\npackage-mode = false\n\n[tool.poetry.dependencies]\npython = \"^3.11\"\nnum2words = \"0.5.14\"\n",
    )
    .file("poetry.lock", "# locked\n")
    .file("app.py", "import num2words\n");
    let found = check("split-stage-copy", &dir.0, text);
    assert_eq!(found.len(), 1, "{found:?}");
    // The venv elsewhere (poetry's cache folder): nothing to copy from /app/.venv.
    let cached = text.replace("ENV POETRY_VIRTUALENVS_IN_PROJECT=true\n", "");
    assert!(check("split-stage-copy", &dir.0, &cached).is_empty());
    // The project's own install after the manifests: not only the venv.
    let rooted = text.replace(" --no-root", "");
    assert!(check("split-stage-copy", &dir.0, &rooted).is_empty());
    // No lock in the context: the install would write one.
    let unlocked = Dir::new("ssc-poetry-nolock");
    unlocked
        .file("pyproject.toml", "[tool.poetry]\nname = \"a\"\n")
        .file("app.py", "\n");
    assert!(check("split-stage-copy", &unlocked.0, text).is_empty());
}

/// A TypeScript API whose build stage installs, builds and prunes (multi-stage's npm shape).
fn ts_api(dir: &Dir, scripts: &str) {
    dir.file(
        "package.json",
        &format!(
            r#"{{"name":"ledger","scripts":{{{scripts}}},"dependencies":{{"express":"4.21.2","@prisma/client":"5.22.0"}},"devDependencies":{{"typescript":"5.7.2","prisma":"5.22.0"}}}}"#
        ),
    )
    .file("package-lock.json", "{}")
    .file("pnpm-lock.yaml", "lockfileVersion: '9.0'\n")
    .file("src/server.ts", "import express from 'express'\n")
    .file("prisma/schema.prisma", "generator client { provider = \"prisma-client-js\" }\n");
}

const TS_API: &str = "FROM node:22 AS build\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\nRUN npm prune --omit=dev\n\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"node\", \"dist/server.js\"]\n";

/// The four-stage form prunes before the build, so a build that writes into node_modules
/// (a generated Prisma client) must be seen however deep its scripts hide it, for pnpm as
/// for npm; and stages named by number would shift under the added ones.
#[test]
fn four_stage_form_reads_every_script_the_build_reaches() {
    let plain = Dir::new("ssc4-plain");
    ts_api(&plain, r#""build":"tsc -p tsconfig.json""#);
    assert_eq!(check("split-stage-copy", &plain.0, TS_API).len(), 1);

    for (label, scripts) in [
        (
            "nested",
            r#""build":"npm run generate && tsc","generate":"prisma generate""#,
        ),
        (
            "deeper",
            r#""build":"npm run compile","compile":"npm run db:client && tsc","db:client":"prisma generate""#,
        ),
        (
            "hook",
            r#""prebuild":"npm run gen","build":"tsc","gen":"prisma generate""#,
        ),
        (
            "run-all",
            r#""build":"run-s build:*","build:db":"prisma generate","build:ts":"tsc""#,
        ),
        (
            "concurrently",
            r#""build":"concurrently npm:gen npm:ts","gen":"prisma generate","ts":"tsc""#,
        ),
    ] {
        let dir = Dir::new(&format!("ssc4-{label}"));
        ts_api(&dir, scripts);
        assert!(
            check("split-stage-copy", &dir.0, TS_API).is_empty(),
            "{label}: the build reaches prisma generate"
        );
    }
    // Scripts that name each other in a loop end.
    let looped = Dir::new("ssc4-loop");
    ts_api(
        &looped,
        r#""build":"npm run a","a":"npm run b","b":"npm run a && tsc""#,
    );
    assert_eq!(check("split-stage-copy", &looped.0, TS_API).len(), 1);

    // pnpm: `pnpm build` runs the script without `run`.
    let pnpm = TS_API
        .replace("package-lock.json", "pnpm-lock.yaml")
        .replace("npm ci", "pnpm install --frozen-lockfile")
        .replace("npm run build", "pnpm build")
        .replace("npm prune --omit=dev", "pnpm prune --prod");
    assert_eq!(check("split-stage-copy", &plain.0, &pnpm).len(), 1);
    let nested = Dir::new("ssc4-pnpm-nested");
    ts_api(
        &nested,
        r#""build":"pnpm generate && tsc","generate":"prisma generate""#,
    );
    assert!(check("split-stage-copy", &nested.0, &pnpm).is_empty());
    let direct = pnpm.replace("pnpm build", "pnpm exec prisma generate && pnpm build");
    assert!(check("split-stage-copy", &plain.0, &direct).is_empty());

    // A script named by a variable cannot be read.
    let unnamed = TS_API.replace("npm run build", "npm run \"$TARGET\"");
    assert!(check("split-stage-copy", &plain.0, &unnamed).is_empty());

    // A stage named by its number: stage 0 would become `base`.
    let numbered = TS_API.replace(
        "CMD [\"node\"",
        "COPY --from=0 /app/package.json /app/package.json\nCMD [\"node\"",
    );
    assert!(check("split-stage-copy", &plain.0, &numbered).is_empty());
    let mounted = TS_API.replace(
        "WORKDIR /app\nCOPY --from=build",
        "WORKDIR /app\nRUN --mount=type=bind,from=0,source=/app,target=/x true\nCOPY --from=build",
    );
    assert!(check("split-stage-copy", &plain.0, &mounted).is_empty());
}

/// With no build step after the source, the four-stage form still keys the production
/// packages on the manifests; bun's prune for tags before 1.4 (`rm -rf node_modules &&` a
/// production reinstall) counts as a prune, and nothing looser does.
#[test]
fn four_stage_form_without_a_build_and_with_buns_reinstall() {
    let npm = Dir::new("ssc4-nobuild");
    ts_api(&npm, r#""start":"node src/server.js""#);
    let no_build = TS_API.replace("RUN npm run build\n", "");
    let found = check("split-stage-copy", &npm.0, &no_build);
    assert_eq!(found.len(), 1, "{found:?}");

    let bun = Dir::new("ssc4-bun");
    bun.file(
        "package.json",
        r#"{"name":"polls","dependencies":{"hono":"4.6.14"},"devDependencies":{"typescript":"5.9.3"}}"#,
    )
    .file("bun.lock", "{\n  \"lockfileVersion\": 1,\n}\n")
    .file("index.ts", "import { Hono } from 'hono'\n");
    let text = "FROM oven/bun:1 AS build\nWORKDIR /app\nCOPY package.json bun.lock ./\nRUN --mount=type=cache,target=/root/.bun/install/cache bun install --frozen-lockfile\nCOPY . .\nRUN --mount=type=cache,target=/root/.bun/install/cache rm -rf node_modules && bun install --frozen-lockfile --production\n\nFROM oven/bun:1-slim\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"bun\", \"index.ts\"]\n";
    assert_eq!(check("split-stage-copy", &bun.0, text).len(), 1);
    let pruned = text.replace(
        "rm -rf node_modules && bun install --frozen-lockfile --production",
        "bun prune --production",
    );
    assert_eq!(check("split-stage-copy", &bun.0, &pruned).len(), 1);
    for not_a_prune in [
        "rm -rf node_modules || bun install --frozen-lockfile --production",
        "rm -rf node_modules dist && bun install --frozen-lockfile --production",
        "rm -rf node_modules && bun install --production",
        "rm -rf node_modules && bun install --frozen-lockfile",
        "bun install --frozen-lockfile --production",
    ] {
        let other = text.replace(
            "rm -rf node_modules && bun install --frozen-lockfile --production",
            not_a_prune,
        );
        assert!(
            check("split-stage-copy", &bun.0, &other).is_empty(),
            "{not_a_prune}"
        );
    }
    let secret = text.replace(
        "RUN --mount=type=cache,target=/root/.bun/install/cache rm",
        "RUN --mount=type=secret,id=npmrc rm",
    );
    assert!(check("split-stage-copy", &bun.0, &secret).is_empty());
}

/// non-root-user leaves a Bun app alone when its source opens a bun:sqlite database: the
/// file (and its journal) would be written beside the code, in the root-owned WORKDIR.
#[test]
fn non_root_user_reports_a_bun_sqlite_database_beside_the_code() {
    let text = "FROM oven/bun:1\nWORKDIR /usr/src/app\nCOPY . .\nRUN bun install --frozen-lockfile\nCMD [\"bun\", \"run\", \"index.ts\"]\n";
    let dir = Dir::new("nru-bun-sqlite");
    dir.file("package.json", r#"{"name":"polls","dependencies":{"hono":"4.6.14"}}"#)
        .file("bun.lock", "{}\n")
        .file(
            "index.ts",
            "import { Database } from \"bun:sqlite\";\nconst db = new Database(\"polls.sqlite\", { create: true });\n",
        );
    let found = check("non-root-user", &dir.0, text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].fix.is_none(), "{found:?}");
    assert!(
        found[0].message.contains("bun:sqlite"),
        "{}",
        found[0].message
    );
    // Without the database the image's own user is taken.
    dir.file("index.ts", "export default { port: 3000 };\n");
    let found = check("non-root-user", &dir.0, text);
    assert!(found[0].fix.is_some(), "{found:?}");
}
