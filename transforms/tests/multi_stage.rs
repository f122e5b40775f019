//! multi-stage on real small build contexts made in a temp folder (Rust reads Cargo.toml
//! and Cargo.lock), and the whole rule set converging on the examples' Dockerfiles.

use std::fmt::Write as _;
use std::path::Path;

use dockopt_fix::{Diagnostic, FixOptions, assert_idempotent, fix_loop};
use dockopt_transforms::{BuildContext, Selection, all_rules, check_file_in};

mod common;
use common::TempDir as Dir;

fn check(dir: &Path, text: &str) -> Vec<Diagnostic> {
    let context = BuildContext::new(dir);
    let file = dockopt_syntax::parse(text);
    check_file_in(&file, &Selection::only(&["multi-stage"]), Some(&context))
}

/// The text after the fix loop with `rules` (Unsafe fixes on), checked idempotent.
fn fixed_with(rules: &[&str], dir: &Path, text: &str) -> String {
    let context = BuildContext::new(dir);
    let selection = Selection::only(rules);
    let check = |f: &dockopt_syntax::Dockerfile| check_file_in(f, &selection, Some(&context));
    let options = FixOptions::new(true);
    let outcome = fix_loop(text, &options, &check);
    assert!(outcome.refused.is_none(), "{:?}", outcome.refused);
    assert_idempotent(&outcome.text, &options, &check);
    outcome.text
}

fn fixed(dir: &Path, text: &str) -> String {
    fixed_with(&["multi-stage"], dir, text)
}

fn reported(dir: &Path, text: &str, why: &str) {
    let d = check(dir, text);
    assert_eq!(d.len(), 1, "{text}: {d:?}");
    assert!(d[0].fix.is_none(), "{text}: has a fix");
    assert!(
        d[0].message.contains(why),
        "{text}: {} lacks {why}",
        d[0].message
    );
}

const CARGO_TOML: &str = "[package]\nname = \"grep-lite\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nregex = \"1\"\n";

fn cargo_lock(crates: &[&str]) -> String {
    let mut out =
        String::from("version = 3\n\n[[package]]\nname = \"grep-lite\"\nversion = \"0.1.0\"\n");
    for name in crates {
        let _ = write!(
            out,
            "\n[[package]]\nname = \"{name}\"\nversion = \"1.0.0\"\n"
        );
    }
    out
}

fn rust_app(name: &str, crates: &[&str]) -> Dir {
    let dir = Dir::new(name);
    dir.file("Cargo.toml", CARGO_TOML)
        .file("Cargo.lock", &cargo_lock(crates))
        .file("src/main.rs", "fn main() {}\n");
    dir
}

const RUST: &str = "FROM rust:1.80\nWORKDIR /usr/src/app\nCOPY . .\n# Build it.\nRUN cargo build --release --locked\n\n# Run it.\nCMD [\"/usr/src/app/target/release/grep-lite\", \"--help\"]\n";

#[test]
fn rust_binary_from_cargo_toml_on_distroless_cc() {
    let dir = rust_app("rust", &["regex", "memchr", "linux-raw-sys"]);
    let d = check(&dir.0, RUST);
    assert_eq!(
        d[0].fix.as_ref().unwrap().title,
        "Build in a `build` stage and run FROM gcr.io/distroless/cc-debian12:nonroot with only \
         /usr/src/app/target/release/grep-lite"
    );
    assert_eq!(
        fixed(&dir.0, RUST),
        "FROM rust:1.80 AS build\nWORKDIR /usr/src/app\nCOPY . .\n# Build it.\nRUN cargo build --release --locked\n\nFROM gcr.io/distroless/cc-debian12:nonroot\nWORKDIR /usr/src/app\nCOPY --from=build /usr/src/app/target/release/grep-lite /usr/src/app/target/release/grep-lite\n# Run it.\nCMD [\"/usr/src/app/target/release/grep-lite\", \"--help\"]\n"
    );
}

#[test]
fn rust_follows_cp_install_bin_and_target() {
    let dir = rust_app("rust-cp", &["regex"]);
    let text = "FROM rust:1\nWORKDIR /app\nCOPY Cargo.toml Cargo.lock ./\nCOPY src ./src\nRUN cargo build --release --bin grep-lite --target x86_64-unknown-linux-gnu && \\\n    install -m 0755 target/x86_64-unknown-linux-gnu/release/grep-lite /usr/local/bin/\nCMD grep-lite\n";
    assert_eq!(
        fixed(&dir.0, text),
        "FROM rust:1 AS build\nWORKDIR /app\nCOPY Cargo.toml Cargo.lock ./\nCOPY src ./src\nRUN cargo build --release --bin grep-lite --target x86_64-unknown-linux-gnu && \\\n    install -m 0755 target/x86_64-unknown-linux-gnu/release/grep-lite /usr/local/bin/\n\nFROM gcr.io/distroless/cc-debian12:nonroot\nWORKDIR /app\nCOPY --from=build /usr/local/bin/grep-lite /usr/local/bin/grep-lite\nCMD [\"grep-lite\"]\n"
    );
    // cargo install --path . puts it in /usr/local/cargo/bin, which only a full path reaches.
    let text = "FROM rust:1\nWORKDIR /app\nCOPY . .\nRUN cargo install --path . --locked\nCMD [\"/usr/local/cargo/bin/grep-lite\"]\n";
    assert!(fixed(&dir.0, text).contains(
        "COPY --from=build /usr/local/cargo/bin/grep-lite /usr/local/cargo/bin/grep-lite\n"
    ));
    reported(
        &dir.0,
        "FROM rust:1\nWORKDIR /app\nCOPY . .\nRUN cargo install --path .\nCMD [\"grep-lite\"]\n",
        "/usr/local/cargo/bin is not on the PATH of gcr.io/distroless/cc-debian12:nonroot",
    );
}

#[test]
fn rust_reports_system_libraries_and_unclear_binaries() {
    let openssl = rust_app("openssl", &["openssl-sys", "openssl"]);
    reported(
        &openssl.0,
        RUST,
        "Cargo.lock has openssl-sys, which links a system library dynamically unless it is vendored",
    );
    let vendored = rust_app("vendored", &["openssl-sys", "openssl-src"]);
    assert!(check(&vendored.0, RUST)[0].fix.is_some());
    let sqlite = rust_app("sqlite", &["libsqlite3-sys"]);
    reported(&sqlite.0, RUST, "unless its `bundled` feature is on");
    sqlite.file(
        "Cargo.toml",
        &format!("{CARGO_TOML}rusqlite = {{ version = \"0.31\", features = [\"bundled\"] }}\n"),
    );
    assert!(check(&sqlite.0, RUST)[0].fix.is_some());
    let pq = rust_app("pq", &["pq-sys"]);
    reported(
        &pq.0,
        RUST,
        "Cargo.lock has pq-sys, which may link a system library",
    );
    let no_lock = Dir::new("nolock");
    no_lock.file("Cargo.toml", CARGO_TOML);
    reported(&no_lock.0, RUST, "the build context has no Cargo.lock");
    let bins = rust_app("bins", &[]);
    bins.file("src/bin/other.rs", "fn main() {}\n");
    reported(&bins.0, RUST, "Cargo.toml has several binaries");
    let dir = rust_app("misc", &[]);
    reported(
        &dir.0,
        "FROM rust:1\nWORKDIR /app\nCOPY src ./src\nRUN cargo build --release\nCMD [\"/app/target/release/grep-lite\"]\n",
        "dockopt cannot tell which Cargo.toml the build in /app reads",
    );
    reported(
        &dir.0,
        "FROM rust:1\nRUN apt-get update && apt-get install -y libssl-dev\nWORKDIR /app\nCOPY . .\nRUN cargo build --release\nCMD [\"/app/target/release/grep-lite\"]\n",
        "the build installs `libssl-dev` (apt), which gcr.io/distroless/cc-debian12:nonroot does not have",
    );
}

/// The examples' Dockerfiles with every rule: two stages, the expected runtime image.
#[test]
fn whole_rule_set_converges_on_the_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let names: Vec<&str> = all_rules().iter().map(|r| r.meta().name).collect();
    for (example, runtime) in [
        ("go-api", "gcr.io/distroless/static-debian12:nonroot"),
        ("python-web", "python:3.12-slim"),
        ("python-uv", "python:3.12-slim"),
        ("python-poetry", "python:3.12-slim"),
        ("python-pipenv", "python:3.11-slim"),
        ("node-web", "node:22-slim"),
        ("node-api", "node:22-slim"),
        ("node-pnpm", "node:22-slim"),
        ("rust-cli", "gcr.io/distroless/cc-debian12:nonroot"),
    ] {
        let dir = root.join(example);
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let out = fixed_with(&names, &dir, &text);
        let file = dockopt_syntax::parse(&out);
        let stages = file.stages();
        // node-web's build stage becomes base, dev-deps, prod-deps and build
        // (split-stage-copy); the others keep two stages.
        let expected = if example == "node-web" { 5 } else { 2 };
        assert_eq!(stages.len(), expected, "{example}:\n{out}");
        assert_eq!(stages[expected - 2].name(), Some("build"), "{example}");
        assert_eq!(
            stages[expected - 1].base(),
            Some(runtime),
            "{example}:\n{out}"
        );
        assert!(
            out.contains("COPY --from=build") || out.contains("--from=build "),
            "{example}:\n{out}"
        );
        // The rule is quiet on its own output.
        assert!(check(&dir, &out).is_empty(), "{example}");
        match example {
            "python-web" => {
                assert!(
                    out.contains("install -y --no-install-recommends libpq5"),
                    "{out}"
                );
                assert!(
                    out.contains(
                        "RUN python -m venv /opt/venv\nENV PATH=\"/opt/venv/bin:$PATH\"\n"
                    )
                );
                assert!(out.contains("--from=build /opt/venv /opt/venv\n"));
            }
            // uv's own venv in the WORKDIR; uv stays in the build stage.
            "python-uv" => {
                assert!(!out.contains("/opt/venv"), "{out}");
                let runtime = out.split("\nFROM python:3.12-slim\n").nth(1).unwrap();
                assert!(runtime.contains("COPY --from=build /app /app\n"), "{out}");
                assert!(!runtime.contains("uv"), "{out}");
            }
            // `pipenv install --system` installs into the venv made before pipenv itself.
            "python-pipenv" => {
                assert!(
                    out.contains(
                        "RUN python -m venv /opt/venv\nENV PATH=\"/opt/venv/bin:$PATH\"\n"
                    ),
                    "{out}"
                );
                let runtime = out.split("\nFROM python:3.11-slim\n").nth(1).unwrap();
                assert!(
                    runtime.contains("--from=build /opt/venv /opt/venv\n"),
                    "{out}"
                );
                assert!(!runtime.contains("pipenv"), "{out}");
            }
            "node-web" => assert!(
                out.contains("FROM dev-deps AS prod-deps\nRUN npm prune --omit=dev\n")
                    && out.contains(
                        "RUN --mount=type=bind,from=dev-deps,source=/app/node_modules,\
                         target=/app/node_modules,rw npm run build\n"
                    )
                    && out.contains(
                        "COPY --from=prod-deps /app/node_modules /app/node_modules\n\
                         COPY --from=build /app /app\n"
                    ),
                "{out}"
            ),
            "node-api" => assert!(!out.contains("prune"), "{out}"),
            // The in-project venv on its own, then the source from the context.
            "python-poetry" => assert!(
                out.contains("COPY --from=build /app/.venv /app/.venv\nCOPY . .\n"),
                "{out}"
            ),
            // pnpm stays in the build stage: the runtime runs node.
            "node-pnpm" => {
                assert!(!out.contains("prune"), "{out}");
                let runtime = out.split("\nFROM node:22-slim\n").nth(1).unwrap();
                assert!(!runtime.contains("pnpm"), "{out}");
            }
            "go-api" => assert!(out.contains("CMD [\"go-api\"]\n"), "{out}"),
            "rust-cli" => assert!(
                out.contains("COPY --from=build /usr/local/bin/rust-cli /usr/local/bin/rust-cli\n"),
                "{out}"
            ),
            _ => {}
        }
    }
}

/// CRLF survives the whole rule set; comments stay with what they describe.
#[test]
fn crlf_and_comments_survive_every_rule() {
    let dir = Dir::new("crlf");
    dir.file("go.mod", "module example.com/api\n\ngo 1.22\n")
        .file("main.go", "package main\n\nfunc main() {}\n");
    let text = "FROM golang:1.22\r\n# Sources.\r\nWORKDIR /src\r\nCOPY . .\r\nRUN CGO_ENABLED=0 go build -o /usr/local/bin/api .\r\n# Port.\r\nEXPOSE 8080\r\nCMD api\r\n";
    let names: Vec<&str> = all_rules().iter().map(|r| r.meta().name).collect();
    let out = fixed_with(&names, &dir.0, text);
    assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
    assert!(out.contains("# Sources.\r\nWORKDIR /src\r\n"), "{out:?}");
    assert!(
        out.ends_with("FROM gcr.io/distroless/static-debian12:nonroot\r\nWORKDIR /src\r\nCOPY --from=build /usr/local/bin/api /usr/local/bin/api\r\n# Port.\r\nEXPOSE 8080\r\nCMD [\"api\"]\r\n"),
        "{out:?}"
    );
}

#[test]
fn node_npm_scripts_must_not_need_dev_dependencies() {
    let dir = Dir::new("npm-start");
    dir.file(
        "package.json",
        r#"{"name":"api","scripts":{"start":"node server.js","dev":"nodemon server.js"},"dependencies":{"express":"4"},"devDependencies":{"nodemon":"3"}}"#,
    )
    .file("package-lock.json", "{}")
    .file("server.js", "");
    let start = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD [\"npm\", \"start\"]\n";
    assert!(fixed(&dir.0, start).ends_with(
        "RUN npm prune --omit=dev\n\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"npm\", \"start\"]\n"
    ));
    reported(
        &dir.0,
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD npm run dev\n",
        "runs the npm script `dev`, which runs `nodemon`, and nodemon is a devDependency that \
         `npm prune --omit=dev` at the end of the build stage would remove",
    );
    reported(
        &dir.0,
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD [\"npx\", \"nodemon\", \"server.js\"]\n",
        "runs `npx nodemon`, and nodemon is a devDependency",
    );
}

/// An Express + TypeScript API run with ts-node, a devDependency: the prune multi-stage
/// would add removes it, so the rule reports; once the image compiles and runs node, it
/// converts.
#[test]
fn express_typescript_api_run_by_ts_node_is_reported() {
    let dir = Dir::new("ts-node-api");
    dir.file(
        "package.json",
        r#"{
  "name": "orders-api",
  "version": "0.3.0",
  "private": true,
  "main": "dist/index.js",
  "scripts": {
    "build": "tsc -p tsconfig.json",
    "start": "ts-node --transpile-only src/index.ts",
    "start:prod": "node dist/index.js",
    "dev": "nodemon --watch src --ext ts --exec ts-node src/index.ts"
  },
  "dependencies": {
    "cors": "2.8.5",
    "express": "4.21.2",
    "zod": "3.24.1"
  },
  "devDependencies": {
    "@types/cors": "2.8.17",
    "@types/express": "4.17.21",
    "@types/node": "20.17.10",
    "nodemon": "3.1.9",
    "ts-node": "10.9.2",
    "typescript": "5.7.3"
  }
}
"#,
    )
    .file(
        "package-lock.json",
        r#"{"name":"orders-api","version":"0.3.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"orders-api","version":"0.3.0"}}}"#,
    )
    .file(
        "tsconfig.json",
        r#"{"compilerOptions":{"target":"ES2022","module":"commonjs","outDir":"dist","rootDir":"src","strict":true,"esModuleInterop":true}}"#,
    )
    .file(".dockerignore", "node_modules\ndist\n.git\n")
    .file(
        "src/index.ts",
        "import express from \"express\";\nimport cors from \"cors\";\nimport { orders } from \"./routes/orders\";\n\nconst app = express();\napp.use(cors());\napp.use(express.json());\napp.use(\"/orders\", orders);\napp.get(\"/healthz\", (_req, res) => res.send(\"ok\"));\napp.listen(Number(process.env.PORT ?? 3000));\n",
    )
    .file(
        "src/routes/orders.ts",
        "import { Router } from \"express\";\nimport { z } from \"zod\";\n\nexport const orders = Router();\nconst Order = z.object({ sku: z.string(), qty: z.number().int().positive() });\norders.post(\"/\", (req, res) => res.status(201).json(Order.parse(req.body)));\n",
    );
    let text = "FROM node:20\n\nWORKDIR /usr/src/app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n\nENV PORT=3000\nEXPOSE 3000\nCMD [\"./node_modules/.bin/ts-node\", \"src/index.ts\"]\n";
    reported(
        &dir.0,
        text,
        "the CMD at line 10 runs `./node_modules/.bin/ts-node`, and ts-node is a devDependency \
         that `npm prune --omit=dev` at the end of the build stage would remove; move it to \
         dependencies or start the app with node",
    );
    for cmd in [
        "CMD [\"npm\", \"start\"]",
        "CMD [\"node\", \"-r\", \"ts-node/register\", \"src/index.ts\"]",
        "CMD npx ts-node src/index.ts",
        "CMD [\"npm\", \"run\", \"dev\"]",
    ] {
        let text = text.replace(
            "CMD [\"./node_modules/.bin/ts-node\", \"src/index.ts\"]",
            cmd,
        );
        reported(
            &dir.0,
            &text,
            "is a devDependency that `npm prune --omit=dev`",
        );
    }
    // Compiled in the build stage and run with node: the runtime needs no devDependency.
    let compiled = text
        .replace("COPY . .\n", "COPY . .\nRUN npm run build\n")
        .replace(
            "CMD [\"./node_modules/.bin/ts-node\", \"src/index.ts\"]",
            "CMD [\"npm\", \"run\", \"start:prod\"]",
        );
    assert!(fixed(&dir.0, &compiled).ends_with(
        "RUN npm prune --omit=dev\n\nFROM node:20-slim\nENV PORT=3000\nWORKDIR /usr/src/app\nCOPY --from=build /usr/src/app /usr/src/app\nEXPOSE 3000\nCMD [\"npm\", \"run\", \"start:prod\"]\n"
    ), "{}", fixed(&dir.0, &compiled));
}

/// A Hono app on bun, with the text bun.lock that bun 1.4.5 wrote for this package.json
/// (hono, and @types/bun as a devDependency).
const BUN_LOCK: &str = r#"{
  "lockfileVersion": 2,
  "configVersion": 1,
  "workspaces": {
    "": {
      "name": "app",
      "dependencies": {
        "hono": "4.6.14",
      },
      "devDependencies": {
        "@types/bun": "1.1.14",
      },
    },
  },
  "packages": {
    "@types/bun": ["@types/bun@1.1.14", "", { "dependencies": { "bun-types": "1.1.37" } }, "sha512-opVYiFGtO2af0dnWBdZWlioLBoxSdDO5qokaazLhq8XQtGZbY4pY3/JxY8Zdf/hEwGubbp7ErZXoN1+h2yesxA=="],

    "@types/node": ["@types/node@20.12.14", "", { "dependencies": { "undici-types": "~5.26.4" } }, "sha512-scnD59RpYD91xngrQQLGkE+6UrHUPzeKZWhhjBSa3HSkwjbQc38+q3RoIVEwxQGRw3M+j5hpNAM+lgV3cVormg=="],

    "@types/ws": ["@types/ws@8.5.14", "", { "dependencies": { "@types/node": "*" } }, "sha512-bd/YFLW+URhBzMXurx7lWByOu+xzU9+kb3RboOteXYDfW+tr+JZa99OyNmPINEGB/ahzKrEuc8rcv4gnpJmxTw=="],

    "bun-types": ["bun-types@1.1.37", "", { "dependencies": { "@types/node": "~20.12.8", "@types/ws": "~8.5.10" } }, "sha512-C65lv6eBr3LPJWFZ2gswyrGZ82ljnH8flVE03xeXxKhi2ZGtFiO4isRKTKnitbSqtRAcaqYSR6djt1whI66AbA=="],

    "hono": ["hono@4.6.14", "", {}, "sha512-j4VkyUp2xazGJ8eCCLN1Vm/bxdvm/j5ZuU9AIjLu9vapn2M44p9L3Ktr9Vnb2RN2QtcR/wVjZVMlT5k7GJQgPw=="],

    "undici-types": ["undici-types@5.26.5", "", {}, "sha512-JlCMO+ehdEIKqlFxk6IfVoAUVmgz7cU7zD/h9XZ0qzeosSHmUJVOzSQvvYSYWXkFXC+IfLKSIffhv0sVZup6pA=="],
  }
}
"#;

fn bun_app(name: &str) -> Dir {
    let dir = Dir::new(name);
    dir.file(
        "package.json",
        r#"{ "name": "app", "version": "1.0.0", "scripts": { "start": "bun run index.ts", "typecheck": "tsc --noEmit" }, "dependencies": { "hono": "4.6.14" }, "devDependencies": { "@types/bun": "1.1.14" } }"#,
    )
    .file("bun.lock", BUN_LOCK)
    .file(
        "index.ts",
        "import { Hono } from \"hono\";\nconst app = new Hono();\napp.get(\"/\", (c) => c.text(\"ok\"));\nexport default { port: 3000, fetch: app.fetch };\n",
    )
    .file(".dockerignore", "node_modules\n");
    dir
}

#[test]
fn bun_app_prunes_or_reinstalls_by_the_tag_bun_version() {
    let dir = bun_app("bun-hono");
    let text = "FROM oven/bun:1.4.5\nWORKDIR /usr/src/app\nCOPY package.json bun.lock ./\nRUN bun install --frozen-lockfile\nCOPY . .\nEXPOSE 3000\nCMD [\"bun\", \"run\", \"start\"]\n";
    assert_eq!(
        fixed(&dir.0, text),
        "FROM oven/bun:1.4.5 AS build\nWORKDIR /usr/src/app\nCOPY package.json bun.lock ./\nRUN bun install --frozen-lockfile\nCOPY . .\nRUN bun prune --production\n\nFROM oven/bun:1.4.5-slim\nWORKDIR /usr/src/app\nCOPY --from=build /usr/src/app /usr/src/app\nEXPOSE 3000\nCMD [\"bun\", \"run\", \"start\"]\n"
    );
    // `oven/bun:1` may be a bun without `bun prune` (before 1.4.0): reinstall instead.
    let floating = text.replace("oven/bun:1.4.5", "oven/bun:1");
    assert!(fixed(&dir.0, &floating).contains(
        "RUN rm -rf node_modules && bun install --frozen-lockfile --production\n\nFROM oven/bun:1-slim\n"
    ));
    // The whole rule set converges, and non-root-user picks the image's `bun` user.
    let all = fixed_with(&["multi-stage", "non-root-user"], &dir.0, text);
    assert!(all.contains("FROM oven/bun:1.4.5-slim\n"), "{all}");
    assert!(all.contains("USER bun"), "{all}");
    assert!(!all.contains("useradd"), "{all}");
    // A devDependency at run time is reported.
    reported(
        &dir.0,
        &text.replace("[\"bun\", \"run\", \"start\"]", "bun run typecheck"),
        "runs the bun script `typecheck`, which runs `tsc`",
    );
}

/// The prune or reinstall runs after the source COPY, which puts the context's lock and
/// package.json back (helper-24's review): the install must have used that lock. And the
/// image's entrypoint runs `bun CMD...` for a CMD that does not name bun.
#[test]
fn bun_app_is_converted_only_when_the_install_used_the_contexts_lock() {
    let dir = bun_app("bun-hono-lock");
    let text = "FROM oven/bun:1\nWORKDIR /usr/src/app\nCOPY package.json bun.lock ./\nRUN bun install --frozen-lockfile\nCOPY . .\nEXPOSE 3000\nCMD [\"bun\", \"run\", \"start\"]\n";
    assert!(fixed(&dir.0, text).contains("FROM oven/bun:1-slim\n"));
    // A plain install may update a stale lock, which the source COPY puts back: the
    // reinstall (or prune) would fail on it.
    reported(
        &dir.0,
        &text.replace("bun install --frozen-lockfile", "bun install"),
        "may update the lock file",
    );
    // No lock before the install: it resolves anew, the reinstall would take the context's.
    reported(
        &dir.0,
        &text.replace("COPY package.json bun.lock ./", "COPY package.json ./"),
        "runs before the lock file is COPYed",
    );
    // The whole context before the install carries the lock.
    let whole = text.replace("COPY package.json bun.lock ./\n", "COPY . .\n");
    assert!(fixed(&dir.0, &whole).contains("FROM oven/bun:1-slim\n"));
    // oven/bun's entrypoint would run `bun start`, `bun tsc`: not followed.
    for cmd in [
        "[\"start\"]",
        "[\"run\", \"start\"]",
        "[\"--smol\", \"start\"]",
        "[\"tsc\"]",
    ] {
        reported(
            &dir.0,
            &text.replace("[\"bun\", \"run\", \"start\"]", cmd),
            "oven/bun's entrypoint may run",
        );
    }
    // Another bunfig's preload is not read.
    for cmd in [
        "[\"bun\", \"-c\", \"bunfig.test.toml\", \"index.ts\"]",
        "[\"bun\", \"--config=./bunfig.test.toml\", \"index.ts\"]",
    ] {
        reported(
            &dir.0,
            &text.replace("[\"bun\", \"run\", \"start\"]", cmd),
            "another bunfig",
        );
    }
    // A pinned bun older than the oldest measured (1.0.x had --frozen-lockfile bugs).
    reported(
        &dir.0,
        &text.replace("oven/bun:1\n", "oven/bun:1.0.36\n"),
        "a bun older than 1.1.38",
    );
    let measured = text.replace("oven/bun:1\n", "oven/bun:1.1.38\n");
    assert!(fixed(&dir.0, &measured).contains("FROM oven/bun:1.1.38-slim\n"));
    // With an ENTRYPOINT of the Dockerfile's own, the CMD is its arguments.
    let own = text.replace(
        "CMD [\"bun\", \"run\", \"start\"]",
        "ENTRYPOINT [\"bun\", \"run\"]\nCMD [\"start\"]",
    );
    assert!(
        fixed(&dir.0, &own).contains("FROM oven/bun:1-slim\n"),
        "{own}"
    );
}
