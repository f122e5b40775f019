use dockopt_fix::{Applicability, ConfigKey, Isolation};

use super::MultiStage;
use crate::rules::test_support::{check, fixed};

fn fix(text: &str) -> String {
    fixed(&MultiStage, text)
        .unwrap_or_else(|| panic!("no fix for {text}: {:?}", check(&MultiStage, text)))
}

fn reported(text: &str, why: &str) {
    let d = check(&MultiStage, text);
    assert_eq!(d.len(), 1, "{text}");
    assert!(d[0].fix.is_none(), "{text}: has a fix");
    assert!(
        d[0].message.contains(why),
        "{text}: {} lacks {why}",
        d[0].message
    );
}

fn quiet(text: &str) {
    assert!(check(&MultiStage, text).is_empty(), "{text}");
}

const GO: &str = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN CGO_ENABLED=0 go build -o /usr/local/bin/api .\n\nEXPOSE 8080\nCMD api\n";

#[test]
fn go_builds_on_distroless_static() {
    let d = check(&MultiStage, GO);
    assert_eq!(
        d[0].message,
        "single-stage build ships the whole toolchain (golang:1.22); a runtime stage FROM \
         gcr.io/distroless/static-debian12:nonroot would carry only the artifacts; without the \
         build context dockopt cannot tell whether the program opens files at run time"
    );
    let f = d[0].fix.as_ref().unwrap();
    assert_eq!(f.applicability, Applicability::Unsafe);
    assert_eq!(f.isolation, Isolation::Alone);
    assert!(f.effect.base_image);
    assert_eq!(f.effect.paths, ["/**"]);
    // The original ran as root, the `:nonroot` runtime does not.
    assert_eq!(f.effect.config, [ConfigKey::User]);
    assert_eq!(
        f.title,
        "Build in a `build` stage and run FROM gcr.io/distroless/static-debian12:nonroot \
         with only /usr/local/bin/api"
    );
    assert_eq!(
        fix(GO),
        "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN CGO_ENABLED=0 go build -o /usr/local/bin/api .\n\nFROM gcr.io/distroless/static-debian12:nonroot\nWORKDIR /src\nCOPY --from=build /usr/local/bin/api /usr/local/bin/api\nEXPOSE 8080\nCMD [\"api\"]\n"
    );
}

#[test]
fn go_relative_output_env_cgo_and_comments() {
    let text = "# syntax=docker/dockerfile:1\nARG GO=1.22\nFROM golang:1.22-alpine AS builder\nENV CGO_ENABLED=0\nWORKDIR /app\nCOPY . .\n# the server\nRUN go build -o server ./cmd/server\n# it listens here\nEXPOSE 8080\n\n# run it\nENTRYPOINT [\"/app/server\"]\n";
    assert_eq!(
        fix(text),
        "# syntax=docker/dockerfile:1\nARG GO=1.22\nFROM golang:1.22-alpine AS builder\nENV CGO_ENABLED=0\nWORKDIR /app\nCOPY . .\n# the server\nRUN go build -o server ./cmd/server\n\nFROM gcr.io/distroless/static-debian12:nonroot\nWORKDIR /app\nCOPY --from=builder /app/server /app/server\n# it listens here\nEXPOSE 8080\n# run it\nENTRYPOINT [\"/app/server\"]\n"
    );
}

#[test]
fn python_gets_a_venv_and_runtime_libraries() {
    let text = "FROM python:3.12\n\nRUN apt-get update && apt-get install -y build-essential libpq-dev\n\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n\nEXPOSE 8000\nCMD python app.py\n";
    let d = check(&MultiStage, text);
    let f = d[0].fix.as_ref().unwrap();
    assert_eq!(
        f.title,
        "Build in a `build` stage and run FROM python:3.12-slim with only /opt/venv and /app"
    );
    assert_eq!(f.effect.config, vec![ConfigKey::Env]);
    assert_eq!(
        f.effect.summary,
        "runtime stage FROM python:3.12-slim with /opt/venv and /app from the build stage"
    );
    assert_eq!(
        fix(text),
        "FROM python:3.12 AS build\n\nRUN apt-get update && apt-get install -y build-essential libpq-dev\n\nWORKDIR /app\nRUN python -m venv /opt/venv\nENV PATH=\"/opt/venv/bin:$PATH\"\nCOPY . .\nRUN pip install -r requirements.txt\n\nFROM python:3.12-slim\nWORKDIR /app\nRUN apt-get update && apt-get install -y --no-install-recommends libpq5 && rm -rf /var/lib/apt/lists/*\nCOPY --from=build /opt/venv /opt/venv\nENV PATH=\"/opt/venv/bin:$PATH\"\nCOPY --from=build /app /app\nEXPOSE 8000\nCMD python app.py\n"
    );
}

#[test]
fn node_prunes_dev_dependencies() {
    let text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\nENV NODE_ENV=production\nEXPOSE 3000\nCMD node dist/server.js\n";
    assert_eq!(
        fix(text),
        "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\nENV NODE_ENV=production\nRUN npm prune --omit=dev\n\nFROM node:22-slim\nENV NODE_ENV=production\nWORKDIR /app\nCOPY --from=build /app /app\nEXPOSE 3000\nCMD node dist/server.js\n"
    );
    let prod = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD [\"node\", \"server.js\"]\n";
    assert!(!fix(prod).contains("prune"));
}

#[test]
fn java_and_dotnet() {
    let java = "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /app\nCOPY . .\nRUN mvn -B package\nCMD [\"java\", \"-jar\", \"target/app.jar\"]\n";
    assert_eq!(
        fix(java),
        "FROM maven:3.9-eclipse-temurin-21 AS build\nWORKDIR /app\nCOPY . .\nRUN mvn -B package\n\nFROM eclipse-temurin:21-jre\nWORKDIR /app\nCOPY --from=build /app/target/app.jar /app/target/app.jar\nCMD [\"java\", \"-jar\", \"target/app.jar\"]\n"
    );
    let dotnet = "FROM mcr.microsoft.com/dotnet/sdk:8.0\nWORKDIR /src\nCOPY . .\nRUN dotnet publish -c Release -o /app\nWORKDIR /app\nENTRYPOINT [\"dotnet\", \"Api.dll\"]\n";
    assert_eq!(
        fix(dotnet),
        "FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build\nWORKDIR /src\nCOPY . .\nRUN dotnet publish -c Release -o /app\nWORKDIR /app\n\nFROM mcr.microsoft.com/dotnet/aspnet:8.0\nWORKDIR /app\nCOPY --from=build /app /app\nENTRYPOINT [\"dotnet\", \"Api.dll\"]\n"
    );
}

#[test]
fn crlf_keyword_case_and_no_final_newline() {
    assert_eq!(
        fix(
            "from golang:1.22\r\nworkdir /src\r\ncopy . .\r\nrun CGO_ENABLED=0 go build -o /out/app .\r\ncmd [\"/out/app\"]"
        ),
        "from golang:1.22 as build\r\nworkdir /src\r\ncopy . .\r\nrun CGO_ENABLED=0 go build -o /out/app .\r\n\r\nfrom gcr.io/distroless/static-debian12:nonroot\r\nworkdir /src\r\ncopy --from=build /out/app /out/app\r\ncmd [\"/out/app\"]"
    );
}

#[test]
fn user_labels_and_middle_instructions_move() {
    let text = "FROM node:22\nLABEL org.opencontainers.image.title=web\n\nWORKDIR /app\nUSER node\nCOPY . .\nRUN npm ci --omit=dev\nUSER node\nCMD [\"node\", \"x.js\"]\n";
    assert_eq!(
        fix(text),
        "FROM node:22 AS build\n\nWORKDIR /app\nUSER node\nCOPY . .\nRUN npm ci --omit=dev\n\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nLABEL org.opencontainers.image.title=web\nUSER node\nCMD [\"node\", \"x.js\"]\n"
    );
    // A USER a RUN still needs stays, and is repeated in the runtime stage.
    let text = "FROM node:22\nWORKDIR /app\nCOPY . .\nUSER node\nRUN npm ci --omit=dev\nCMD [\"node\", \"x.js\"]\n";
    assert_eq!(
        fix(text),
        "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nUSER node\nRUN npm ci --omit=dev\n\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nUSER node\nCMD [\"node\", \"x.js\"]\n"
    );
}

#[test]
fn already_multi_stage_unknown_and_runtime_images_are_quiet() {
    quiet(
        "FROM golang:1.22 AS build\nRUN CGO_ENABLED=0 go build -o /x .\nFROM scratch\nCOPY --from=build /x /x\n",
    );
    quiet("FROM example.com/toolchain:1\nRUN make\n");
    quiet("FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD python app.py\n");
    quiet("FROM debian:bookworm\nRUN make\n");
    quiet("FROM python:${PY}\nRUN pip install x\n");
    quiet("FROM node:22\nONBUILD COPY . /app\n");
    quiet(&fix(GO));
}

#[test]
fn reports_say_why() {
    for (text, why) in [
        (
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\nCMD [\"/app\"]\n",
            "the `go build` at line 4 leaves CGO_ENABLED unset (cgo on where a C compiler is), \
             and without the build context dockopt cannot tell whether the module uses cgo",
        ),
        (
            "FROM golang:1.22\nARG CGO=0\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=$CGO go build -o /app .\nCMD [\"/app\"]\n",
            "the `go build` at line 5 runs with CGO_ENABLED=$CGO; dockopt needs 0 or 1",
        ),
        (
            "FROM golang:1.22-alpine\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=1 go build -o /app .\nCMD [\"/app\"]\n",
            "the `go build` at line 4 sets CGO_ENABLED=1, so the binary links the C library \
             dynamically, and dockopt knows no runtime image with the C library of \
             golang:1.22-alpine",
        ),
        (
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build .\nCMD [\"/src/x\"]\n",
            "the `go build` at line 4 has no `-o`",
        ),
        (
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nCMD [\"/bin/other\"]\n",
            "the CMD/ENTRYPOINT does not run the binary",
        ),
        (
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /go/bin/app .\nCMD [\"app\"]\n",
            "/go/bin is not on the PATH of gcr.io/distroless/static-debian12:nonroot",
        ),
        (
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nCMD /app && echo done\n",
            "is not a plain command",
        ),
        (
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nCOPY config.yaml /etc/app/\nCMD [\"/app\"]\n",
            "the COPY at line 5 writes /etc/app/config.yaml, outside WORKDIR",
        ),
        (
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN wget -O /tmp/x https://example.com/x\nRUN CGO_ENABLED=0 go build -o /app .\nCMD [\"/app\"]\n",
            "the RUN at line 4 runs `wget`, which may create files outside WORKDIR",
        ),
        (
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app . && echo ok > /etc/built\nCMD [\"/app\"]\n",
            "writes /etc/built, outside WORKDIR",
        ),
        (
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nHEALTHCHECK CMD curl -f localhost\nCMD [\"/app\"]\n",
            "the HEALTHCHECK at line 5 needs a shell",
        ),
        (
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nEXPOSE 80\nCMD [\"/app\"]\n",
            "exposes port 80, and gcr.io/distroless/static-debian12:nonroot runs as a non-root user",
        ),
        (
            "FROM golang:1.22\nARG VERSION=1\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nLABEL version=$VERSION\nCMD [\"/app\"]\n",
            "the LABEL at line 6 uses the build argument `VERSION`",
        ),
        (
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nCMD [\"/app\", \"-config\", \"/src/config.yaml\"]\n",
            "refers to /src/config.yaml, which the runtime stage would not have",
        ),
        (
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nUSER app\nCMD [\"/app\"]\n",
            "the USER at line 5 names `app`",
        ),
        (
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go install ./cmd/app\nCMD [\"app\"]\n",
            "`go install` at line 4 puts the binary in $GOPATH/bin",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install --target /deps -r requirements.txt\nCMD python app.py\n",
            "`pip --target` (line 4) installs outside the virtual environment",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN /usr/local/bin/pip install -r requirements.txt\nCMD python app.py\n",
            "runs pip as /usr/local/bin/pip",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN poetry install\nCMD python app.py\n",
            "makes its virtual environment under poetry's cache folder, outside WORKDIR; with \
             `ENV POETRY_VIRTUALENVS_IN_PROJECT=true`",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN conda install numpy\nCMD python app.py\n",
            "only pip, uv, poetry and pipenv are supported",
        ),
        (
            "FROM python:3.12\nCOPY . /app\nRUN pip install -r /app/requirements.txt\nCMD python /app/app.py\n",
            "the stage has no WORKDIR",
        ),
        (
            "FROM python:3.12\nRUN apt-get update && apt-get install -y libfoo-dev\nWORKDIR /app\nCOPY . .\nRUN pip install .\nCMD python app.py\n",
            "dockopt does not know which runtime library libfoo-dev needs",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nHEALTHCHECK CMD curl -f http://localhost:8000/\nCMD python app.py\n",
            "the HEALTHCHECK at line 5 runs `curl`, which python:3.12-slim does not have",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"/usr/local/bin/gunicorn\", \"app:app\"]\n",
            "runs /usr/local/bin/gunicorn; in the runtime stage the packages are in /opt/venv",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN python manage.py collectstatic\nCMD python app.py\n",
            "the RUN at line 4 runs `python`",
        ),
        (
            "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN pnpm install\nCMD [\"node\", \"x.js\"]\n",
            "dockopt needs package.json, .npmrc and pnpm-workspace.yaml from the build context",
        ),
        (
            "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN bun install\nCMD [\"node\", \"x.js\"]\n",
            "runs on an image without bun of its own",
        ),
        (
            "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm install -g pm2 && npm ci\nCMD [\"pm2-runtime\", \"x.js\"]\n",
            "installs outside WORKDIR (globals live in npm's prefix)",
        ),
        (
            "FROM node:22\nWORKDIR /app\nRUN apt-get update && apt-get install -y ffmpeg\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"x.js\"]\n",
            "the build installs `ffmpeg` (apt), which node:22-slim does not have",
        ),
        (
            "FROM node:22\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"x.js\"]\n",
            "the stage has no WORKDIR",
        ),
        (
            "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /app\nCOPY . .\nRUN mvn package\nCMD java -jar target/*.jar\n",
            "is not a plain command",
        ),
        (
            "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /app\nCOPY . .\nRUN mvn package\nCMD [\"java\", \"-cp\", \"target/classes\", \"Main\"]\n",
            "does not run `java -jar PATH`",
        ),
        (
            "FROM mcr.microsoft.com/dotnet/sdk:8.0\nWORKDIR /src\nCOPY . .\nRUN dotnet publish -c Release\nENTRYPOINT [\"dotnet\", \"Api.dll\"]\n",
            "has no `-o`",
        ),
        (
            "FROM ruby:3.3\nWORKDIR /app\nCOPY . .\nRUN bundle install\nCMD [\"ruby\", \"app.rb\"]\n",
            "dockopt does not know what a ruby build produces",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nUSER nobody\nRUN pip install -r requirements.txt\nCMD python app.py\n",
            "pip runs as USER nobody (line 5), who could not write the virtual environment",
        ),
        (
            "FROM python:3.12\nENV PATH=/usr/local/bin:/usr/bin:/bin\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD python app.py\n",
            "the ENV at line 2 sets PATH without $PATH",
        ),
        (
            "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nUSER node\nRUN npm run build\nCMD [\"node\", \"x.js\"]\n",
            "`npm prune --omit=dev` would run as node at the end of the build stage, but the install at line 4 ran as root",
        ),
        (
            "FROM golang:1.22\nSHELL [\"/bin/bash\", \"-c\"]\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\nCMD [\"/app\"]\n",
            "the SHELL at line 2",
        ),
    ] {
        reported(text, why);
    }
}

#[test]
fn rust_without_context_reports() {
    reported(
        "FROM rust:1\nWORKDIR /app\nCOPY . .\nRUN cargo build --release --bin cli\nCMD [\"/app/target/release/cli\"]\n",
        "needs the build context to read Cargo.toml",
    );
    reported(
        "FROM rust:1\nWORKDIR /app\nCOPY . .\nRUN cargo build\nCMD [\"/app/target/debug/cli\"]\n",
        "is not a release build",
    );
}

/// A build context in a temp folder, removed on drop.
struct Context(std::path::PathBuf);

impl Context {
    fn new(files: &[(&str, &[u8])]) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dockopt-multi-stage-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, bytes) in files {
            let full = dir.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, bytes).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn check(&self, text: &str) -> Vec<dockopt_fix::Diagnostic> {
        let context = crate::BuildContext::new(&self.0);
        let file = dockopt_syntax::parse(text);
        crate::Rule::check(
            &MultiStage,
            &crate::CheckContext {
                file: &file,
                knowledge: crate::Knowledge::get(),
                build_context: Some(&context),
                options: &crate::RuleOptions::default(),
                target: &crate::TargetFacts::default(),
            },
        )
    }

    /// The message and the fixed text (None when it only reports).
    fn fix(&self, text: &str) -> (String, Option<String>) {
        let d = self.check(text);
        assert_eq!(d.len(), 1, "{text}: {d:?}");
        let fixed = d[0].fix.as_ref().map(|fix| {
            let mut out = text.to_string();
            for edit in fix.edits.iter().rev() {
                out.replace_range(edit.range.range(), &edit.replacement);
            }
            out
        });
        (d[0].message.clone(), fixed)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const GO_MOD: &[u8] = b"module example.com/app\n\ngo 1.22\n";
const GO_MAIN: &[u8] = b"package main\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n)\n\n// import \"C\" in a comment is no import.\nfunc main() { fmt.Println(\"C\"); http.ListenAndServe(\":8080\", nil) }\n";
const SEED: &str =
    "FROM golang:1.22\nWORKDIR /app\nCOPY . .\nRUN go build -o app .\nCMD [\"./app\"]\n";

#[test]
fn go_without_cgo_builds_static_with_cgo_off_on_the_command() {
    let ctx = Context::new(&[
        ("go.mod", GO_MOD),
        ("main.go", GO_MAIN),
        // Tests are not built; testdata is not either.
        ("main_test.go", b"package main\nimport \"C\"\n"),
        ("testdata/x.go", b"package x\nimport \"C\"\n"),
    ]);
    let (message, fixed) = ctx.fix(SEED);
    assert!(
        message.contains(
            "the `go build` at line 4 gets CGO_ENABLED=0 for a static binary: no Go file of \
             the build context imports \"C\""
        ),
        "{message}"
    );
    assert_eq!(
        fixed.unwrap(),
        "FROM golang:1.22 AS build\nWORKDIR /app\nCOPY . .\nRUN CGO_ENABLED=0 go build -o app .\n\nFROM gcr.io/distroless/static-debian12:nonroot\nWORKDIR /app\nCOPY --from=build /app/app /app/app\nCMD [\"./app\"]\n"
    );
    // verify accepts other bytes of that program only because the fix declares it.
    let d = ctx.check(SEED);
    let effect = &d[0].fix.as_ref().unwrap().effect;
    assert_eq!(effect.rebuilt, ["/app/app"]);
    // After `cd` and other assignments too, and only on the build command.
    let text = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go mod download && cd cmd && GOOS=linux go build -o /out/app .\nCMD [\"/out/app\"]\n";
    let ctx = Context::new(&[("go.mod", GO_MOD), ("cmd/main.go", GO_MAIN)]);
    let fixed = ctx.fix(text).1.unwrap();
    assert!(
        fixed.contains(
            "RUN go mod download && cd cmd && CGO_ENABLED=0 GOOS=linux go build -o /out/app .\n"
        ),
        "{fixed}"
    );
    assert!(!fixed.contains("ENV CGO_ENABLED"), "{fixed}");
}

#[test]
fn go_with_cgo_runs_on_a_runtime_with_glibc() {
    let runtime = "FROM gcr.io/distroless/base-debian12:nonroot\n";
    for (path, text) in [
        (
            "native.go",
            "package main\n\n/*\n#include <stdint.h>\n*/\nimport \"C\"\n",
        ),
        (
            "native.go",
            "package main\n\nimport (\n\t\"fmt\"\n\t// the C side\n\t\"C\"\n)\n",
        ),
        // Vendored packages are built into the binary.
        ("vendor/github.com/x/y/y.go", "package y\nimport `C`\n"),
    ] {
        let ctx = Context::new(&[
            ("go.mod", GO_MOD),
            ("main.go", GO_MAIN),
            (path, text.as_bytes()),
        ]);
        let (message, fixed) = ctx.fix(SEED);
        let fixed = fixed.unwrap_or_else(|| panic!("{path}: {message}"));
        assert!(fixed.contains(runtime), "{fixed}");
        assert!(fixed.contains("RUN go build -o app ."), "{fixed}");
        assert!(
            message.contains(&format!("{path}:")) && message.contains("imports \"C\" (cgo)"),
            "{message}"
        );
        assert!(message.contains("a runtime stage FROM gcr.io/distroless/base-debian12:nonroot"));
    }
    // A module known to need cgo, outside the context.
    let go_mod = "module example.com/app\n\ngo 1.22\n\nrequire (\n\tgithub.com/mattn/go-sqlite3 v1.14.22\n)\n";
    let ctx = Context::new(&[("go.mod", go_mod.as_bytes()), ("main.go", GO_MAIN)]);
    let (message, fixed) = ctx.fix(SEED);
    assert!(fixed.unwrap().contains(runtime));
    assert!(
        message.contains("go.mod requires github.com/mattn/go-sqlite3, which needs cgo"),
        "{message}"
    );
    // Vendored, the module's files speak for it.
    let ctx = Context::new(&[
        ("go.mod", go_mod.as_bytes()),
        ("main.go", GO_MAIN),
        (
            "vendor/modules.txt",
            b"# github.com/mattn/go-sqlite3 v1.14.22\n",
        ),
    ]);
    assert!(ctx.fix(SEED).1.unwrap().contains("CGO_ENABLED=0 go build"));
    // A file dockopt cannot read may import "C": the runtime with glibc is the safe one.
    let ctx = Context::new(&[
        ("go.mod", GO_MOD),
        ("main.go", GO_MAIN),
        ("odd.go", b"package main\nimport \"C\"\n\xff\xfe"),
    ]);
    let (message, fixed) = ctx.fix(SEED);
    assert!(fixed.unwrap().contains(runtime));
    assert!(message.contains("could not read odd.go"), "{message}");
    // CGO_ENABLED=1 needs no context.
    let text = "FROM golang:1.22-bookworm\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=1 go build -o /app .\nCMD [\"/app\"]\n";
    assert!(fix(text).contains(runtime));
    // No runtime for a build image whose C library dockopt cannot match.
    for base in ["golang:1.22-alpine", "golang:1.25", "golang:1.24-trixie"] {
        let ctx = Context::new(&[
            ("go.mod", GO_MOD),
            ("main.go", b"package main\nimport \"C\"\n"),
        ]);
        let (message, fixed) = ctx.fix(&SEED.replace("golang:1.22", base));
        assert!(fixed.is_none(), "{base}");
        assert!(
            message.contains("knows no runtime image with the C library"),
            "{message}"
        );
    }
}

#[test]
fn go_copies_the_files_it_opens_at_run_time() {
    let main = br#"package main

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"os"
)

//go:embed assets
var assets embed.FS

func main() {
	tmpl := template.Must(template.ParseGlob("templates/*.html"))
	sub, _ := fs.Sub(assets, "assets")
	http.Handle("/static/", http.FileServer(http.Dir("./public/")))
	http.Handle("/assets/", http.FileServer(http.FS(sub)))
	cfg, _ := os.ReadFile("config/app")
	_, _, _ = tmpl, cfg, "internal"
	_ = "go.mod"
	_ = "secrets/token"
}
"#;
    let ctx = Context::new(&[
        ("go.mod", GO_MOD),
        ("main.go", main),
        ("main_test.go", b"package main\nvar _ = \"fixtures\"\n"),
        ("fixtures/a.json", b"{}"),
        ("templates/index.html", b"<p>hi</p>"),
        ("public/app.css", b"body{}"),
        ("assets/logo.svg", b"<svg/>"),
        ("config/app.yaml", b"port: 8080\n"),
        ("internal/db/db.go", b"package db\n"),
        ("secrets/token", b"x"),
        (".dockerignore", b"secrets\n"),
    ]);
    let text = "FROM golang:1.22\nWORKDIR /srv/app\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /usr/local/bin/app .\nCMD [\"app\"]\n";
    let (message, fixed) = ctx.fix(text);
    assert_eq!(
        fixed.unwrap(),
        "FROM golang:1.22 AS build\nWORKDIR /srv/app\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /usr/local/bin/app .\n\nFROM gcr.io/distroless/static-debian12:nonroot\nWORKDIR /srv/app\nCOPY --from=build /usr/local/bin/app /usr/local/bin/app\nCOPY --from=build /srv/app/config/app.yaml /srv/app/config/app.yaml\nCOPY --from=build /srv/app/public /srv/app/public\nCOPY --from=build /srv/app/templates /srv/app/templates\nCMD [\"app\"]\n"
    );
    assert!(
        message.contains(
            "the program opens config/app.yaml, public and templates at run time (named in its \
             sources), so the runtime stage copies them too"
        ),
        "{message}"
    );
    // A path built at run time that could mean a context file nothing copies: report.
    let dynamic = b"package main\n\nimport (\n\t\"html/template\"\n\t\"os\"\n)\n\nfunc main() {\n\tdir := os.Getenv(\"VIEWS\")\n\ttemplate.Must(template.ParseGlob(dir + \"/*.html\"))\n}\n";
    let ctx = Context::new(&[
        ("go.mod", GO_MOD),
        ("main.go", dynamic),
        ("web/views/home.html", b"<p>home</p>"),
    ]);
    let (message, fixed) = ctx.fix(text);
    assert!(fixed.is_none());
    assert!(
        message.contains(
            "main.go:10 opens a path built at run time (`template.ParseGlob(dir + \"/*.html\")`); \
             dockopt cannot tell whether it means web/views/home.html"
        ),
        "{message}"
    );
    // Once a literal names the folder, what the call could mean is copied.
    let named = String::from_utf8(dynamic.to_vec()).unwrap().replace(
        "func main() {",
        "const views = \"web/views\"\n\nfunc main() {",
    );
    let ctx = Context::new(&[
        ("go.mod", GO_MOD),
        ("main.go", named.as_bytes()),
        ("web/views/home.html", b"<p>home</p>"),
    ]);
    assert!(
        ctx.fix(text)
            .1
            .unwrap()
            .contains("COPY --from=build /srv/app/web/views /srv/app/web/views\n")
    );
    // A prefix that names a folder is enough: "static/" + name.
    let prefix = b"package main\nimport \"os\"\nfunc read(name string) { os.ReadFile(\"static/\" + name) }\nfunc main() {}\n";
    let ctx = Context::new(&[
        ("go.mod", GO_MOD),
        ("main.go", prefix),
        ("static/a.txt", b"a"),
    ]);
    assert!(
        ctx.fix(text)
            .1
            .unwrap()
            .contains("COPY --from=build /srv/app/static /srv/app/static\n")
    );
    // The whole working folder.
    let whole =
        b"package main\nimport \"net/http\"\nfunc main() { http.FileServer(http.Dir(\".\")) }\n";
    let ctx = Context::new(&[("go.mod", GO_MOD), ("main.go", whole)]);
    let (message, fixed) = ctx.fix(text);
    assert!(fixed.is_none());
    assert!(
        message.contains("main.go:3 opens the whole working folder (`http.Dir(\".\")`)"),
        "{message}"
    );
}

#[test]
fn rust_and_java_copy_what_they_open_not_what_is_compiled_in() {
    let cargo = b"[package]\nname = \"web\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";
    let lock = b"version = 3\n\n[[package]]\nname = \"web\"\nversion = \"0.1.0\"\n";
    let main = br##"//! The web server.
const HELP: &str = include_str!("../help/usage.txt");

#[derive(rust_embed::RustEmbed)]
#[folder = "embedded/"]
struct Assets;

fn longest<'a>(a: &'a str, b: &'a str) -> &'a str { if a.len() > b.len() { a } else { b } }

fn main() {
    let c = 'x';
    let tera = tera::Tera::new("views/**/*").unwrap();
    let files = tower_http::services::ServeDir::new(r#"public"#);
    let raw = r"not a path";
    /* nested /* comment "static" */ still comment "static" */
    let _ = (HELP, c, tera, files, raw, longest("a", "b"));
}
"##;
    let ctx = Context::new(&[
        ("Cargo.toml", cargo),
        ("Cargo.lock", lock),
        ("src/main.rs", main),
        ("help/usage.txt", b"usage"),
        ("embedded/x.css", b"x"),
        ("views/index.html", b"<p/>"),
        ("public/robots.txt", b"User-agent: *"),
        ("static/never.txt", b"not read"),
    ]);
    let text = "FROM rust:1\nWORKDIR /app\nCOPY . .\nENV CARGO_INCREMENTAL=0 RUST_LOG=info\nRUN cargo build --release\nCMD [\"/app/target/release/web\"]\n";
    let (message, fixed) = ctx.fix(text);
    let fixed = fixed.unwrap_or_else(|| panic!("{message}"));
    assert!(
        fixed.ends_with(
            "FROM gcr.io/distroless/cc-debian12:nonroot\nENV RUST_LOG=info\nWORKDIR /app\nCOPY --from=build /app/target/release/web /app/target/release/web\nCOPY --from=build /app/public /app/public\nCOPY --from=build /app/views /app/views\nCMD [\"/app/target/release/web\"]\n"
        ),
        "{fixed}"
    );
    assert!(message.contains("leaves out ENV `CARGO_INCREMENTAL`, which only drives the build"));

    let java = br#"package com.example;
import java.nio.file.*;
class Prices {
    static final Path CSV = Paths.get("data/prices.csv");
    String template = "classpath:templates/";
    String text = """
        not/a/path
        """;
}
"#;
    let ctx = Context::new(&[
        ("pom.xml", b"<project/>"),
        ("src/main/java/com/example/Prices.java", java),
        ("src/main/resources/templates/index.html", b"<p/>"),
        ("data/prices.csv", b"sku,cents\n"),
    ]);
    let text = "FROM maven:3.9-eclipse-temurin-21\nWORKDIR /app\nCOPY . .\nRUN mvn -B package\nCMD [\"java\", \"-jar\", \"target/app.jar\"]\n";
    let fixed = ctx.fix(text).1.unwrap();
    assert!(
        fixed.contains(
            "COPY --from=build /app/target/app.jar /app/target/app.jar\nCOPY --from=build /app/data/prices.csv /app/data/prices.csv\nCMD"
        ),
        "{fixed}"
    );
}

#[test]
fn build_only_env_stays_in_the_build_stage() {
    let go = "FROM golang:1.22\nENV CGO_ENABLED=0 GOOS=linux APP_PORT=8080\nENV GOFLAGS=-mod=vendor\nENV GODEBUG=netdns=go GOMAXPROCS=2\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\nCMD [\"/app\"]\n";
    let d = check(&MultiStage, go);
    let f = d[0].fix.as_ref().unwrap();
    assert!(f.effect.config.contains(&ConfigKey::Env));
    // By name, so that verify accepts exactly these gone from the runtime; the build
    // command is not changed (CGO_ENABLED is set), so no program is declared rebuilt.
    assert_eq!(f.effect.env, ["CGO_ENABLED", "GOOS", "GOFLAGS"]);
    assert!(f.effect.rebuilt.is_empty());
    assert!(
        d[0].message.contains(
            "the runtime stage leaves out ENV `CGO_ENABLED`, `GOOS` and `GOFLAGS`, which only \
             drive the build"
        ),
        "{}",
        d[0].message
    );
    assert!(
        fix(go).ends_with(
            "FROM gcr.io/distroless/static-debian12:nonroot\nENV APP_PORT=8080\nENV GODEBUG=netdns=go GOMAXPROCS=2\nWORKDIR /src\nCOPY --from=build /app /app\nCMD [\"/app\"]\n"
        ),
        "{}",
        fix(go)
    );
    // What the runtime stage still reads stays.
    let referenced = "FROM golang:1.22\nENV CGO_ENABLED=0 GOPATH=/go\nENV PATH=$GOPATH/bin:$PATH\nWORKDIR /src\nCOPY . .\nRUN go build -o /go/bin/app .\nCMD [\"/go/bin/app\"]\n";
    assert!(
        fix(referenced).contains("\nENV GOPATH=/go\nENV PATH=$GOPATH/bin:$PATH\nWORKDIR /src\n"),
        "{}",
        fix(referenced)
    );
    // Node keeps NODE_ENV; pip's settings go.
    let node = "FROM node:22\nENV NODE_ENV=production\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD [\"node\", \"x.js\"]\n";
    assert!(fix(node).contains("FROM node:22-slim\nENV NODE_ENV=production\n"));
    let python = "FROM python:3.12\nENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1\nENV PIP_DISABLE_PIP_VERSION_CHECK=1\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD python app.py\n";
    assert!(
        fix(python).contains("FROM python:3.12-slim\nENV PYTHONUNBUFFERED=1\nWORKDIR /app\n"),
        "{}",
        fix(python)
    );
}

#[test]
fn the_source_reader_survives_odd_input() {
    use super::facts::EcosystemFacts;
    use super::sources::{Lang, Lexicon, read};
    let facts = EcosystemFacts {
        read_calls: vec!["ReadFile".into()],
        compile_time: vec!["include_str!".into()],
        ..EcosystemFacts::default()
    };
    let lexicon = Lexicon {
        facts: &facts,
        cgo_import: "C",
        embed_directive: "//go:embed",
    };
    let deep = format!("{}\"x\"{}", "(".repeat(100_000), ")".repeat(3));
    for text in [
        "\"unterminated",
        "`raw",
        "/* open comment",
        "r#\"raw",
        "'",
        "ReadFile(",
        ")))]]]}}}",
        "é = \"ünïcode/päth\"; ReadFile(\"ö\")",
        deep.as_str(),
        "\u{0}\u{1}\"\\",
    ] {
        for lang in [Lang::Go, Lang::Rust, Lang::Java] {
            let _ = read(text, lang, &lexicon);
        }
    }
    let go = read(
        "package main\n//go:embed a \"b c\" `d`\nvar x = os.ReadFile(\"conf/\" + n)\nimport \"C\"\n",
        Lang::Go,
        &lexicon,
    );
    assert_eq!(go.embeds, ["a", "b c", "d"]);
    assert_eq!(go.reads.len(), 1);
    assert!(!go.reads[0].plain);
    assert_eq!(go.reads[0].args, "\"conf/\" + n");
    assert_eq!(go.cgo_line, Some(4));
    let rust = read(
        "let s = include_str!(\"x\"); let t = 'a'; fn f<'b>() {}",
        Lang::Rust,
        &lexicon,
    );
    assert!(rust.literals[0].not_runtime);
}

#[test]
fn yarn_classic_production_installs_convert_berry_and_dev_installs_report() {
    let classic_lock: &[u8] = b"# yarn lockfile v1\n\nms@2.1.3:\n  version \"2.1.3\"\n";
    let package: &[u8] =
        br#"{"name":"app","dependencies":{"ms":"2.1.3"},"scripts":{"build":"tsc"}}"#;
    let text = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN yarn install --frozen-lockfile --production\nCMD [\"node\", \"index.js\"]\n";
    let ctx = Context::new(&[("package.json", package), ("yarn.lock", classic_lock)]);
    assert_eq!(
        ctx.fix(text).1.unwrap(),
        "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN yarn install --frozen-lockfile --production\n\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"node\", \"index.js\"]\n"
    );
    // NODE_ENV=production makes Yarn classic skip devDependencies too.
    let with_env = "FROM node:22\nENV NODE_ENV=production\nWORKDIR /app\nCOPY . .\nRUN yarn\nCMD [\"node\", \"index.js\"]\n";
    assert!(ctx.fix(with_env).1.is_some());

    // An install with devDependencies: Yarn classic reinstalls production dependencies
    // only at the end of the build stage, from its cache.
    let dev = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN yarn install --frozen-lockfile\nRUN yarn build\nCMD [\"node\", \"index.js\"]\n";
    assert_eq!(
        ctx.fix(dev).1.unwrap(),
        "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN yarn install --frozen-lockfile\nRUN yarn build\nRUN yarn install --production --frozen-lockfile --ignore-scripts --prefer-offline\n\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"node\", \"index.js\"]\n"
    );
    // Not frozen: the lock the reinstall reads may not be the one the install wrote.
    let (message, fixed) = ctx.fix(&dev.replace(" --frozen-lockfile", ""));
    assert!(
        fixed.is_none() && message.contains("with `--frozen-lockfile`"),
        "{message}"
    );
    // A build that writes into node_modules would lose it to the reinstall.
    let prisma = dev.replace("yarn build", "npx prisma generate");
    let (message, fixed) = ctx.fix(&prisma);
    assert!(
        fixed.is_none() && message.contains("relinks node_modules"),
        "{message}"
    );
    // The user's own production reinstall is the prune: nothing is added.
    let pruned = dev.replace(
        "RUN yarn build\n",
        "RUN yarn build && yarn install --production --frozen-lockfile\n",
    );
    assert!(!ctx.fix(&pruned).1.unwrap().contains("--prefer-offline"));
    // .yarnrc moving node_modules elsewhere.
    let moved = Context::new(&[
        ("package.json", package),
        ("yarn.lock", classic_lock),
        (".yarnrc", b"--modules-folder /opt/modules\n".as_slice()),
    ]);
    let (message, fixed) = moved.fix(dev);
    assert!(
        fixed.is_none() && message.contains("`--modules-folder`"),
        "{message}"
    );
    let (message, fixed) =
        ctx.fix(&text.replace("yarn install", "yarn global add pm2 && yarn install"));
    assert!(
        fixed.is_none() && message.contains("`yarn global`"),
        "{message}"
    );

    let berry_lock: &[u8] = b"__metadata:\n  version: 8\n";
    for (files, why) in [
        (
            vec![
                ("package.json", package),
                ("yarn.lock", classic_lock),
                (".yarnrc.yml", b"nodeLinker: pnp\n".as_slice()),
            ],
            ".yarnrc.yml",
        ),
        (
            vec![
                (
                    "package.json",
                    br#"{"packageManager":"yarn@4.5.0"}"#.as_slice(),
                ),
                ("yarn.lock", classic_lock),
            ],
            "packageManager yarn@4.5.0",
        ),
        (
            vec![("package.json", package), ("yarn.lock", berry_lock)],
            "berry's format",
        ),
    ] {
        let (message, fixed) = Context::new(&files).fix(text);
        assert!(fixed.is_none() && message.contains(why), "{message}");
    }
    // Without the context it cannot tell classic from berry.
    reported(text, "may be Yarn berry");
}

const BERRY_PACKAGE: &[u8] = br#"{"name":"shelf","dependencies":{"ms":"2.1.3"},"devDependencies":{"typescript":"5.6.3"},"scripts":{"build":"tsc"},"packageManager":"yarn@4.18.1"}"#;
const BERRY_LOCK: &[u8] = b"__metadata:\n  version: 10\n  cacheKey: 10c0\n";
const BERRY: &str = "FROM node:22\nRUN corepack enable\nWORKDIR /app\nCOPY package.json yarn.lock .yarnrc.yml ./\nRUN yarn install --immutable\nCOPY . .\nRUN yarn build\nCMD [\"node\", \"dist/server.js\"]\n";

fn berry_context(package: &[u8], yarnrc: &[u8], extra: &[(&str, &[u8])]) -> Context {
    let mut files = vec![
        ("package.json", package),
        ("yarn.lock", BERRY_LOCK),
        (".yarnrc.yml", yarnrc),
    ];
    files.extend_from_slice(extra);
    Context::new(&files)
}

#[test]
fn yarn_berry_with_node_modules_converts_with_workspaces_focus() {
    let ctx = berry_context(BERRY_PACKAGE, b"nodeLinker: node-modules\n", &[]);
    assert_eq!(
        ctx.fix(BERRY).1.unwrap(),
        "FROM node:22 AS build\nRUN corepack enable\nWORKDIR /app\nCOPY package.json yarn.lock .yarnrc.yml ./\nRUN yarn install --immutable\nCOPY . .\nRUN yarn build\nRUN yarn workspaces focus --production\n\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"node\", \"dist/server.js\"]\n"
    );
    // The prune runs with the install's mounts: it finds the packages in the cache.
    let mounted = BERRY.replace(
        "RUN yarn install",
        "RUN --mount=type=cache,target=/root/.yarn/berry/cache yarn install",
    );
    assert!(ctx.fix(&mounted).1.unwrap().contains(
        "RUN --mount=type=cache,target=/root/.yarn/berry/cache yarn workspaces focus --production\n"
    ));
    // The user's own focus is the prune.
    let focused = BERRY.replace(
        "RUN yarn build\n",
        "RUN yarn build && yarn workspaces focus --production\n",
    );
    assert_eq!(ctx.fix(&focused).1.unwrap().matches("focus").count(), 1);
    // Yarn 3 from a committed release, with and without the workspace-tools plugin.
    let release = b"nodeLinker: node-modules\nyarnPath: .yarn/releases/yarn-3.6.4.cjs\n";
    let package3 = br#"{"name":"shelf","dependencies":{"ms":"2.1.3"},"scripts":{"build":"tsc"}}"#;
    let without_corepack = BERRY.replace("RUN corepack enable\n", "");
    let (message, fixed) = berry_context(package3, release, &[]).fix(&without_corepack);
    assert!(
        fixed.is_none() && message.contains("yarnPath .yarn/releases/yarn-3.6.4.cjs"),
        "{message}"
    );
    let plugin = b"nodeLinker: node-modules\nyarnPath: .yarn/releases/yarn-3.6.4.cjs\nplugins:\n  - path: .yarn/plugins/@yarnpkg/plugin-workspace-tools.cjs\n";
    let (message, fixed) = berry_context(package3, plugin, &[]).fix(&without_corepack);
    assert!(fixed.is_some(), "{message}");
}

#[test]
fn yarn_berry_reports_what_it_cannot_prune() {
    let node_modules = b"nodeLinker: node-modules\n".as_slice();
    let ctx = berry_context(BERRY_PACKAGE, node_modules, &[]);
    let cases: Vec<(Context, String, &str)> = vec![
        // Plug'n'Play: no node_modules (berry's default linker).
        (
            berry_context(BERRY_PACKAGE, b"enableTelemetry: false\n", &[]),
            BERRY.to_string(),
            "no `nodeLinker`, so Plug'n'Play",
        ),
        (
            berry_context(BERRY_PACKAGE, b"nodeLinker: pnp\n", &[]),
            BERRY.to_string(),
            "`nodeLinker: pnp`",
        ),
        // No corepack and no yarnPath: the image's `yarn` is Yarn classic.
        (
            berry_context(BERRY_PACKAGE, node_modules, &[]),
            BERRY.replace("RUN corepack enable\n", ""),
            "may be the image's Yarn classic",
        ),
        // Not immutable: the lock may change, and the source COPY puts the old one back.
        (
            berry_context(BERRY_PACKAGE, node_modules, &[]),
            BERRY.replace(" --immutable", ""),
            "with `--immutable`",
        ),
        // The install before the lock is COPYed.
        (
            berry_context(BERRY_PACKAGE, node_modules, &[]),
            BERRY.replace(
                "COPY package.json yarn.lock .yarnrc.yml ./\n",
                "COPY package.json .yarnrc.yml ./\n",
            ),
            "before the lock file is COPYed",
        ),
        // The project's install hook would run again without its devDependencies.
        (
            berry_context(
                br#"{"scripts":{"postinstall":"husky"},"packageManager":"yarn@4.18.1"}"#,
                node_modules,
                &[],
            ),
            BERRY.to_string(),
            "`postinstall` script",
        ),
        // Workspaces.
        (
            berry_context(
                br#"{"workspaces":["packages/*"],"packageManager":"yarn@4.18.1"}"#,
                node_modules,
                &[],
            ),
            BERRY.to_string(),
            "declares workspaces",
        ),
        // Another subcommand that changes the project.
        (
            berry_context(BERRY_PACKAGE, node_modules, &[]),
            BERRY.replace("RUN yarn build", "RUN yarn add left-pad"),
            "`yarn add`",
        ),
    ];
    for (context, text, why) in cases {
        let (message, fixed) = context.fix(&text);
        assert!(fixed.is_none() && message.contains(why), "{why}: {message}");
    }
    // The check still converts the plain case with the same context.
    assert!(ctx.fix(BERRY).1.is_some());
}

const UV_PROJECT: &[u8] = b"[project]\nname = \"app\"\nversion = \"0.1.0\"\nrequires-python = \">=3.11\"\ndependencies = [\"humanize==4.11.0\"]\n\n[dependency-groups]\ndev = [\"pytest\"]\n";
const UV: &str = "FROM python:3.12\nRUN pip install uv\nWORKDIR /app\nCOPY . .\nRUN uv sync --frozen --no-dev\nENV PATH=\"/app/.venv/bin:$PATH\"\nCMD [\"python\", \"app.py\"]\n";

#[test]
fn uv_sync_converts_with_the_project_venv_in_the_workdir() {
    let ctx = Context::new(&[
        ("pyproject.toml", UV_PROJECT),
        ("uv.lock", b"version = 1\n"),
    ]);
    let d = ctx.check(UV);
    let f = d[0].fix.as_ref().expect("a fix");
    assert_eq!(
        f.title,
        "Build in a `build` stage and run FROM python:3.12-slim with only /app"
    );
    // uv stays a build tool: no /opt/venv, no uv in the runtime stage.
    assert_eq!(
        ctx.fix(UV).1.unwrap(),
        "FROM python:3.12 AS build\nRUN pip install uv\nWORKDIR /app\nCOPY . .\nRUN uv sync --frozen --no-dev\nENV PATH=\"/app/.venv/bin:$PATH\"\n\nFROM python:3.12-slim\nENV PATH=\"/app/.venv/bin:$PATH\"\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"python\", \"app.py\"]\n"
    );
    // The manifests copied first, then the rest; `--locked`; `pip install -U pip uv`.
    let split = "FROM python:3.12\nRUN pip install --upgrade pip uv==0.5.1\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\nRUN uv sync --locked --no-default-groups\nCOPY . .\nCMD [\".venv/bin/python\", \"app.py\"]\n";
    assert!(ctx.fix(split).1.is_some(), "{:?}", ctx.fix(split).0);
    // `--only-group` installs no default group; a project without groups needs no flag.
    let only = UV.replace("--no-dev", "--only-group prod");
    assert!(ctx.fix(&only).1.is_some(), "{}", ctx.fix(&only).0);
    let plain = Context::new(&[(
        "pyproject.toml",
        b"[project]\nname = \"app\"\nrequires-python = \">=3.10,<4\"\n".as_slice(),
    )]);
    assert!(plain.fix(&UV.replace(" --no-dev", "")).1.is_some());
    // An environment moved out of the WORKDIR is copied on its own.
    let moved = UV.replace(
        "WORKDIR /app\n",
        "ENV UV_PROJECT_ENVIRONMENT=/opt/venv PATH=\"/opt/venv/bin:$PATH\"\nWORKDIR /app\n",
    );
    let (message, fixed) = ctx.fix(&moved);
    let fixed = fixed.unwrap_or_else(|| panic!("{message}"));
    assert!(
        fixed.contains("COPY --from=build /opt/venv /opt/venv\n")
            && fixed.contains("\nFROM python:3.12-slim\nENV PATH=\"/opt/venv/bin:$PATH\"\n"),
        "{fixed}"
    );
    // A forbidden download needs no version check.
    let newer = Context::new(&[(
        "pyproject.toml",
        b"[project]\nname = \"app\"\nrequires-python = \">=3.13\"\n".as_slice(),
    )]);
    let never = UV.replace("RUN uv sync", "ENV UV_PYTHON_DOWNLOADS=never\nRUN uv sync");
    let (message, fixed) = newer.fix(&never);
    assert!(fixed.is_some(), "{message}");
    assert!(
        message.contains("leaves out ENV `UV_PYTHON_DOWNLOADS`"),
        "{message}"
    );
}

#[test]
fn uv_reports_say_what_would_make_it_convertible() {
    let ctx = Context::new(&[("pyproject.toml", UV_PROJECT)]);
    let cases: Vec<(String, &str)> = vec![
        (
            UV.replace(" --no-dev", ""),
            "the `uv sync` at line 5 installs the dependency group `dev`; the runtime stage \
             would carry it (`--no-dev`",
        ),
        (
            UV.replace("--no-dev", "--no-default-groups --group dev"),
            "installs the dependency group `dev`",
        ),
        (
            UV.replace("--no-dev", "--all-groups"),
            "installs the dependency group `dev`",
        ),
        (
            UV.replace(
                "uv sync --frozen --no-dev",
                "uv pip install --system -r requirements.txt",
            ),
            "`uv pip` at line 5 installs into the system site-packages of the build image, which \
             the runtime stage would not get; install into a virtual environment",
        ),
        (
            UV.replace(
                "uv sync --frozen --no-dev",
                "UV_SYSTEM_PYTHON=1 uv pip install -r r.txt",
            ),
            "installs into the system site-packages",
        ),
        (
            UV.replace(
                "uv sync --frozen --no-dev",
                "uv pip install -r requirements.txt",
            ),
            "`uv pip` at line 5: dockopt converts only `uv sync` of a uv project",
        ),
        (
            UV.replace(
                "CMD [\"python\", \"app.py\"]",
                "CMD [\"uv\", \"run\", \"app.py\"]",
            ),
            "the CMD at line 7 runs `uv`, a build tool the runtime stage does not have",
        ),
        (
            UV.replace("CMD [\"python\", \"app.py\"]", "CMD uv run --frozen app.py"),
            "runs `uv`, a build tool",
        ),
        (
            UV.replace("--no-dev", "--no-dev --project sub"),
            "has `--project`, which dockopt does not follow",
        ),
        (
            UV.replace("--no-dev", "--no-dev --python 3.13"),
            "has `--python`, which dockopt does not follow",
        ),
        (
            UV.replace(
                "WORKDIR /app\n",
                "ENV UV_PROJECT_ENVIRONMENT=/usr/local\nWORKDIR /app\n",
            ),
            "installs into /usr/local, the image's own folders",
        ),
        (
            UV.replace(
                "RUN uv sync",
                "RUN pip install -r requirements.txt\nRUN uv sync",
            ),
            "the stage installs packages both with pip (line 5) and with uv (line 6)",
        ),
        (
            UV.replace("FROM python:3.12", "FROM python:3-slim-bookworm")
                .replace("python:3-slim", "python:3"),
            "the image tag `3-bookworm` names no Python version",
        ),
    ];
    for (text, why) in cases {
        let (message, fixed) = ctx.fix(&text);
        assert!(fixed.is_none(), "{text}: converted");
        assert!(message.contains(why), "{text}: {message} lacks {why}");
    }
    // The project's Python must be the image's, or uv downloads one the runtime lacks.
    for (files, why) in [
        (
            vec![(
                "pyproject.toml",
                b"[project]\nname = \"app\"\nrequires-python = \">=3.13\"\n".as_slice(),
            )],
            "Python 3.12 of the image is not known to satisfy requires-python `>=3.13`; the \
             `uv sync` at line 5 may download a Python the runtime stage would lack (set \
             UV_PYTHON_DOWNLOADS=never to forbid it)",
        ),
        (
            vec![
                ("pyproject.toml", b"[project]\nname = \"app\"\n".as_slice()),
                (".python-version", b"3.13\n"),
            ],
            "the project's .python-version (3.13) is not known to match Python 3.12",
        ),
        (
            vec![(
                "pyproject.toml",
                b"[project]\nname = \"app\"\n[tool.uv]\ndev-dependencies = [\"pytest\"]\n"
                    .as_slice(),
            )],
            "installs the dependency group `dev`",
        ),
        (
            vec![(
                "pyproject.toml",
                b"[project]\nname = \"app\"\n[dependency-groups]\nlint = [\"ruff\"]\n[tool.uv]\ndefault-groups = \"all\"\n"
                    .as_slice(),
            )],
            "installs the dependency group `lint`",
        ),
        (
            vec![("pyproject.toml", b"not toml [".as_slice())],
            "dockopt needs pyproject.toml from the build context (COPYed into /app)",
        ),
    ] {
        // `uv sync` without flags installs the default groups.
        let (message, fixed) = Context::new(&files).fix(&UV.replace(" --no-dev", ""));
        assert!(fixed.is_none() && message.contains(why), "{message} lacks {why}");
    }
    // Without the build context nothing is known about the project.
    reported(UV, "dockopt needs pyproject.toml from the build context");
}

const POETRY_PROJECT: &[u8] = b"[tool.poetry]\nname = \"app\"\nversion = \"0.1.0\"\n\n[tool.poetry.dependencies]\npython = \"^3.11\"\nhumanize = \"4.11.0\"\n\n[tool.poetry.group.dev.dependencies]\npytest = \"*\"\n\n[tool.poetry.group.docs]\noptional = true\n\n[tool.poetry.group.docs.dependencies]\nmkdocs = \"*\"\n";
const POETRY: &str = "FROM python:3.12\nENV POETRY_VIRTUALENVS_IN_PROJECT=true\nRUN pip install poetry==1.8.3\nWORKDIR /app\nCOPY . .\nRUN poetry install --only main --no-root\nENV PATH=\"/app/.venv/bin:$PATH\"\nCMD [\"python\", \"app.py\"]\n";

#[test]
fn poetry_in_project_venv_converts() {
    let ctx = Context::new(&[("pyproject.toml", POETRY_PROJECT), ("poetry.lock", b"")]);
    let (message, fixed) = ctx.fix(POETRY);
    assert_eq!(
        fixed.unwrap_or_else(|| panic!("{message}")),
        "FROM python:3.12 AS build\nENV POETRY_VIRTUALENVS_IN_PROJECT=true\nRUN pip install poetry==1.8.3\nWORKDIR /app\nCOPY . .\nRUN poetry install --only main --no-root\nENV PATH=\"/app/.venv/bin:$PATH\"\n\nFROM python:3.12-slim\nENV PATH=\"/app/.venv/bin:$PATH\"\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"python\", \"app.py\"]\n"
    );
    assert!(
        message.contains("leaves out ENV `POETRY_VIRTUALENVS_IN_PROJECT`"),
        "{message}"
    );
    // `--without dev` (the optional docs group is not installed by default), `poetry
    // config`, poetry.toml, `pip install -U pip poetry` before it.
    for text in [
        POETRY.replace("--only main", "--without dev"),
        POETRY.replace("--only main", "--without=dev,test"),
        POETRY
            .replace("ENV POETRY_VIRTUALENVS_IN_PROJECT=true\n", "")
            .replace(
                "RUN poetry install",
                "RUN poetry config virtualenvs.in-project true && poetry install",
            ),
        POETRY.replace(
            "RUN pip install poetry==1.8.3",
            "RUN pip install -U pip \"poetry>=1.8\"",
        ),
    ] {
        let (message, fixed) = ctx.fix(&text);
        assert!(fixed.is_some(), "{text}: {message}");
    }
    let local = Context::new(&[
        ("pyproject.toml", POETRY_PROJECT),
        ("poetry.toml", b"[virtualenvs]\nin-project = true\n"),
    ]);
    let text = POETRY.replace("ENV POETRY_VIRTUALENVS_IN_PROJECT=true\n", "");
    assert!(local.fix(&text).1.is_some(), "{}", local.fix(&text).0);
    // `--only main` needs no pyproject.toml.
    let d = check(&MultiStage, POETRY);
    assert!(d[0].fix.is_some(), "{}", d[0].message);
}

#[test]
fn poetry_reports_say_what_would_make_it_convertible() {
    let ctx = Context::new(&[("pyproject.toml", POETRY_PROJECT)]);
    let cases: Vec<(String, &str)> = vec![
        (
            POETRY.replace("ENV POETRY_VIRTUALENVS_IN_PROJECT=true\n", ""),
            "the `poetry install` at line 5 makes its virtual environment under poetry's cache \
             folder, outside WORKDIR; with `ENV POETRY_VIRTUALENVS_IN_PROJECT=true` (and no \
             POETRY_VIRTUALENVS_CREATE=false) it would make `.venv` in the project",
        ),
        (
            POETRY.replace(
                "POETRY_VIRTUALENVS_IN_PROJECT=true",
                "POETRY_VIRTUALENVS_CREATE=false",
            ),
            "the `poetry install` at line 6 installs into the system site-packages of the build \
             image (virtualenvs.create false)",
        ),
        (
            POETRY.replace(
                "RUN poetry install",
                "RUN poetry config virtualenvs.create false && poetry install",
            ),
            "installs into the system site-packages",
        ),
        (
            POETRY.replace("=true", "=false"),
            "makes its virtual environment under poetry's cache folder",
        ),
        (
            POETRY.replace(" --only main", ""),
            "the `poetry install` at line 6 installs the dependency group `dev`; the runtime \
             stage would carry it (`--only main` or `--without dev`",
        ),
        (
            POETRY.replace("--only main", "--without dev --with docs"),
            "installs the dependency group `docs`",
        ),
        (
            POETRY.replace(
                "CMD [\"python\", \"app.py\"]",
                "CMD poetry run python app.py",
            ),
            "the CMD at line 8 runs `poetry`, a build tool the runtime stage does not have",
        ),
        (
            POETRY.replace(
                "poetry install --only main --no-root",
                "poetry export -o r.txt",
            ),
            "`poetry export` at line 6: dockopt converts only `poetry install`",
        ),
        (
            POETRY.replace(
                "poetry install",
                "poetry config cache-dir /cache && poetry install",
            ),
            "the `poetry config` at line 6 sets something dockopt does not follow",
        ),
        (
            POETRY.replace("--only main", "--only main -C sub"),
            "has `-C`, which dockopt does not follow",
        ),
    ];
    for (text, why) in cases {
        let (message, fixed) = ctx.fix(&text);
        assert!(fixed.is_none(), "{text}: converted");
        assert!(message.contains(why), "{text}: {message} lacks {why}");
    }
    reported(
        &POETRY.replace("--only main", "--without dev"),
        "dockopt needs pyproject.toml from the build context (COPYed into /app) to tell whether \
         the `poetry install` at line 6 installs dev dependencies (`--only main` needs none)",
    );
}

const PIP_USER: &str = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install --user -r requirements.txt\nCMD python app.py\n";

#[test]
fn pip_user_copies_the_user_base_where_any_user_reads_it() {
    // Root's user base is in /root (0700): the runtime stage puts it in a neutral folder
    // and points PYTHONUSERBASE at it.
    let d = check(&MultiStage, PIP_USER);
    let f = d[0]
        .fix
        .as_ref()
        .unwrap_or_else(|| panic!("{}", d[0].message));
    assert_eq!(
        f.title,
        "Build in a `build` stage and run FROM python:3.12-slim with only /root/.local (as \
         /opt/python-userbase) and /app"
    );
    assert!(f.effect.config.contains(&ConfigKey::Env));
    assert!(
        d[0].message.contains(
            "the runtime stage copies the user base /root/.local of `pip install --user` to \
             /opt/python-userbase and sets PYTHONUSERBASE to it"
        ),
        "{}",
        d[0].message
    );
    assert_eq!(
        fix(PIP_USER),
        "FROM python:3.12 AS build\nWORKDIR /app\nCOPY . .\nRUN pip install --user -r requirements.txt\n\nFROM python:3.12-slim\nWORKDIR /app\nCOPY --from=build /root/.local /opt/python-userbase\nENV PYTHONUSERBASE=/opt/python-userbase\nCOPY --from=build /app /app\nCMD python app.py\n"
    );
    // The user base's bin on PATH stays on PATH; packaging tools upgraded beside it stay in
    // the build stage (no /opt/venv).
    let path = "FROM python:3.12\nRUN pip install --upgrade pip setuptools\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --user --no-cache-dir -r requirements.txt\nENV PATH=/root/.local/bin:$PATH\nCOPY . .\nCMD [\"gunicorn\", \"app:app\"]\n";
    assert_eq!(
        fix(path),
        "FROM python:3.12 AS build\nRUN pip install --upgrade pip setuptools\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --user --no-cache-dir -r requirements.txt\nENV PATH=/root/.local/bin:$PATH\nCOPY . .\n\nFROM python:3.12-slim\nENV PATH=/root/.local/bin:$PATH\nWORKDIR /app\nCOPY --from=build /root/.local /opt/python-userbase\nENV PYTHONUSERBASE=/opt/python-userbase PATH=\"/opt/python-userbase/bin:$PATH\"\nCOPY --from=build /app /app\nCMD [\"gunicorn\", \"app:app\"]\n"
    );
    // A user base set by ENV outside any home stays where it is; the ENV goes along.
    let own = "FROM python:3.12\nENV PYTHONUSERBASE=/opt/deps\nWORKDIR /app\nCOPY . .\nRUN python -m pip install --user -r requirements.txt\nCMD python app.py\n";
    assert_eq!(
        fix(own),
        "FROM python:3.12 AS build\nENV PYTHONUSERBASE=/opt/deps\nWORKDIR /app\nCOPY . .\nRUN python -m pip install --user -r requirements.txt\n\nFROM python:3.12-slim\nENV PYTHONUSERBASE=/opt/deps\nWORKDIR /app\nCOPY --from=build /opt/deps /opt/deps\nCOPY --from=build /app /app\nCMD python app.py\n"
    );
    // ENV HOME moves the default user base.
    let home = PIP_USER.replace("WORKDIR /app\n", "ENV HOME=/home/svc\nWORKDIR /app\n");
    assert!(
        fix(&home).contains("COPY --from=build /home/svc/.local /opt/python-userbase\n"),
        "{}",
        fix(&home)
    );
}

#[test]
fn pip_user_reports_say_what_would_make_it_sure() {
    for (text, why) in [
        (
            PIP_USER.replace(
                "RUN pip install --user",
                "RUN pip install gunicorn\nRUN pip install --user",
            ),
            "the stage installs packages both with pip into the system site-packages (line 4) \
             and with `pip install --user` (line 5)",
        ),
        (
            PIP_USER.replace("FROM python:3.12", "FROM python:3"),
            "the image tag `3` names no Python version (3.X), so the runtime image may run \
             another Python",
        ),
        (
            PIP_USER.replace("WORKDIR /app\n", "USER 1000\nWORKDIR /app\n"),
            "runs as USER 1000, whose home (and so its user base) dockopt cannot be sure of; \
             `ENV PYTHONUSERBASE=/path` before it would make it sure",
        ),
        (
            PIP_USER.replace("RUN pip", "RUN PYTHONUSERBASE=/deps pip"),
            "sets PYTHONUSERBASE for itself only",
        ),
        (
            PIP_USER.replace("WORKDIR /app\n", "ENV PYTHONUSERBASE=/usr/local\nWORKDIR /app\n"),
            "installs into /usr/local, the image's own folders",
        ),
        (
            PIP_USER.replace("CMD python app.py", "CMD [\"/root/.local/bin/gunicorn\", \"app:app\"]"),
            "runs /root/.local/bin/gunicorn; in the runtime stage the user base /root/.local is \
             in /opt/python-userbase",
        ),
        (
            PIP_USER.replace(
                "RUN pip install --user -r requirements.txt",
                "ENV PYTHONUSERBASE=/opt/a\nRUN pip install --user -r a.txt\nENV PYTHONUSERBASE=/opt/b\nRUN pip install --user -r b.txt",
            ),
            "install into two user bases (/opt/a and /opt/b)",
        ),
    ] {
        reported(&text, why);
    }
}

const PIPFILE: &[u8] = b"[[source]]\nurl = \"https://pypi.org/simple\"\nverify_ssl = true\nname = \"pypi\"\n\n[packages]\npython-slugify = \"==8.0.4\"\n\n[dev-packages]\npytest = \"==8.3.4\"\n";
const PIPENV_SYSTEM: &str = "FROM python:3.12\nRUN pip install pipenv\nWORKDIR /app\nCOPY . .\nRUN pipenv install --deploy --system\nEXPOSE 8000\nCMD python app.py\n";
const PIPENV_PROJECT: &str = "FROM python:3.12\nENV PIPENV_VENV_IN_PROJECT=1\nRUN pip install pipenv\nWORKDIR /app\nCOPY Pipfile Pipfile.lock ./\nRUN pipenv sync\nCOPY . .\nENV PATH=\"/app/.venv/bin:$PATH\"\nCMD [\"python\", \"app.py\"]\n";

#[test]
fn pipenv_system_installs_go_into_the_venv_and_project_venvs_with_the_workdir() {
    // `--system` installs into the first python3 on PATH: the venv the fix makes, before
    // pipenv itself is installed (the original's interpreter sees pipenv too).
    assert_eq!(
        fix(PIPENV_SYSTEM),
        "FROM python:3.12 AS build\nRUN python -m venv /opt/venv\nENV PATH=\"/opt/venv/bin:$PATH\"\nRUN pip install pipenv\nWORKDIR /app\nCOPY . .\nRUN pipenv install --deploy --system\n\nFROM python:3.12-slim\nWORKDIR /app\nCOPY --from=build /opt/venv /opt/venv\nENV PATH=\"/opt/venv/bin:$PATH\"\nCOPY --from=build /app /app\nEXPOSE 8000\nCMD python app.py\n"
    );
    assert!(fix(&PIPENV_SYSTEM.replace("install --deploy", "sync")).contains("/opt/venv"));
    // The in-project venv goes with the WORKDIR; pipenv stays in the build stage.
    let ctx = Context::new(&[("Pipfile", PIPFILE), ("Pipfile.lock", b"{}")]);
    let (message, fixed) = ctx.fix(PIPENV_PROJECT);
    assert_eq!(
        fixed.unwrap_or_else(|| panic!("{message}")),
        "FROM python:3.12 AS build\nENV PIPENV_VENV_IN_PROJECT=1\nRUN pip install pipenv\nWORKDIR /app\nCOPY Pipfile Pipfile.lock ./\nRUN pipenv sync\nCOPY . .\nENV PATH=\"/app/.venv/bin:$PATH\"\n\nFROM python:3.12-slim\nENV PATH=\"/app/.venv/bin:$PATH\"\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"python\", \"app.py\"]\n"
    );
    assert!(
        message.contains("leaves out ENV `PIPENV_VENV_IN_PROJECT`"),
        "{message}"
    );
    for value in ["true", "yes", "ON"] {
        let text = PIPENV_PROJECT.replace("=1", &format!("={value}"));
        assert!(ctx.fix(&text).1.is_some(), "{value}");
    }
    // Dev packages the original has stay, and the message says so.
    for text in [
        PIPENV_PROJECT.replace("pipenv sync", "pipenv sync --dev"),
        PIPENV_SYSTEM.replace("--system", "--system -d"),
        PIPENV_SYSTEM.replace("RUN pipenv", "ENV PIPENV_DEV=1\nRUN pipenv"),
    ] {
        let (message, fixed) = ctx.fix(&text);
        assert!(fixed.is_some(), "{text}: {message}");
        assert!(
            message.contains("the runtime stage keeps the dev packages the pipenv install at line"),
            "{message}"
        );
    }
    assert!(!ctx.fix(PIPENV_PROJECT).0.contains("dev packages"));
}

#[test]
fn pipenv_reports_say_what_would_make_it_convertible() {
    let ctx = Context::new(&[("Pipfile", PIPFILE)]);
    let cases: Vec<(String, &str)> = vec![
        (
            PIPENV_PROJECT.replace("ENV PIPENV_VENV_IN_PROJECT=1\n", ""),
            "the `pipenv sync` at line 5 makes its virtual environment under \
             ~/.local/share/virtualenvs in a folder named after a hash of the project path",
        ),
        (
            PIPENV_PROJECT.replace("=1", "=0"),
            "with `ENV PIPENV_VENV_IN_PROJECT=1` it would make `.venv` in the project",
        ),
        (
            PIPENV_PROJECT.replace("=1", "=maybe"),
            "runs with PIPENV_VENV_IN_PROJECT=maybe, which dockopt does not read as true or false",
        ),
        (
            PIPENV_PROJECT.replace(
                "CMD [\"python\", \"app.py\"]",
                "CMD [\"pipenv\", \"run\", \"python\", \"app.py\"]",
            ),
            "the CMD at line 9 runs `pipenv`, a build tool the runtime stage does not have",
        ),
        (
            PIPENV_SYSTEM.replace("CMD python app.py", "CMD pipenv run python app.py"),
            "runs `pipenv`, a build tool",
        ),
        (
            PIPENV_PROJECT.replace("pipenv sync", "pipenv sync --python 3.11"),
            "the `pipenv sync` at line 6 has `--python`, which dockopt does not follow",
        ),
        (
            PIPENV_PROJECT.replace("pipenv sync", "pipenv install --site-packages"),
            "has `--site-packages`, which dockopt does not follow",
        ),
        (
            PIPENV_SYSTEM.replace("RUN pipenv", "ENV PIPENV_PIPFILE=/src/Pipfile\nRUN pipenv"),
            "runs with PIPENV_PIPFILE set, which makes pipenv use another project",
        ),
        (
            PIPENV_PROJECT.replace("pipenv sync", "pipenv sync && pipenv check"),
            "`pipenv check` at line 6: dockopt converts only `pipenv install` and `pipenv sync`",
        ),
        (
            PIPENV_PROJECT.replace(
                "RUN pipenv sync",
                "RUN pip install gunicorn\nRUN pipenv sync",
            ),
            "the stage installs packages both with pip (line 6) and with pipenv (line 7)",
        ),
        (
            PIPENV_SYSTEM.replace("RUN pipenv", "USER nobody\nRUN pipenv"),
            "pipenv runs as USER nobody (line 6), who could not write the virtual environment \
             /opt/venv",
        ),
    ];
    for (text, why) in cases {
        let (message, fixed) = ctx.fix(&text);
        assert!(fixed.is_none(), "{text}: converted");
        assert!(message.contains(why), "{text}: {message} lacks {why}");
    }
    // The project folder (and so `.venv`) is where the Pipfile is: the context must show it.
    reported(
        PIPENV_PROJECT,
        "dockopt needs the Pipfile from the build context (COPYed into /app) to tell the \
         project folder the `pipenv sync` at line 6 makes its `.venv` in",
    );
    let (message, fixed) = Context::new(&[("app.py", b"")]).fix(PIPENV_PROJECT);
    assert!(
        fixed.is_none() && message.contains("dockopt needs the Pipfile"),
        "{message}"
    );
}

#[test]
fn pipenv_and_pip_user_on_runtime_images_or_in_two_stages_are_quiet() {
    // The slim image is a runtime already; a build that is already split is left alone.
    quiet(&PIP_USER.replace("python:3.12", "python:3.12-slim"));
    quiet(&PIPENV_SYSTEM.replace("python:3.12", "python:3.12-slim"));
    quiet(
        "FROM python:3.12 AS build\nRUN pip install pipenv\nWORKDIR /app\nCOPY . .\nRUN pipenv install --deploy --system\n\nFROM python:3.12-slim\nCOPY --from=build /usr/local /usr/local\nCOPY --from=build /app /app\nCMD python app.py\n",
    );
    quiet(
        "FROM python:3.12 AS build\nRUN pip install --user -r requirements.txt\n\nFROM python:3.12-slim\nCOPY --from=build /root/.local /root/.local\nCMD python -m app\n",
    );
}

const PNPM_PACKAGE: &[u8] = br#"{"name":"app","packageManager":"pnpm@9.8.0","scripts":{"start":"node index.js","build":"node build.js"},"dependencies":{"express":"4.21.2"},"devDependencies":{"prettier":"3.4.2"}}"#;
const PNPM_LOCK: &[u8] = b"lockfileVersion: '9.0'\n";
const PNPM: &str = "FROM node:22\nRUN npm install -g pnpm@9.8.0\nWORKDIR /app\nCOPY . .\nRUN pnpm install --frozen-lockfile --prod\nEXPOSE 3000\nCMD node index.js\n";

fn pnpm_context(extra: &[(&str, &[u8])]) -> Context {
    let mut files = vec![
        ("package.json", PNPM_PACKAGE),
        ("pnpm-lock.yaml", PNPM_LOCK),
    ];
    files.extend_from_slice(extra);
    Context::new(&files)
}

#[test]
fn pnpm_production_installs_convert_without_pnpm_in_the_runtime() {
    let ctx = pnpm_context(&[]);
    let (message, fixed) = ctx.fix(PNPM);
    assert_eq!(
        fixed.as_deref(),
        Some(
            "FROM node:22 AS build\nRUN npm install -g pnpm@9.8.0\nWORKDIR /app\nCOPY . .\nRUN pnpm install --frozen-lockfile --prod\n\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nEXPOSE 3000\nCMD node index.js\n"
        ),
        "{message}"
    );
    // -P, NODE_ENV=production (ENV, on the command, exported) leave devDependencies out
    // too: no prune.
    for text in [
        PNPM.replace("--prod", "-P"),
        PNPM.replace(" --prod", "")
            .replace("WORKDIR", "ENV NODE_ENV=production\nWORKDIR"),
        PNPM.replace(
            "RUN pnpm install --frozen-lockfile --prod",
            "RUN NODE_ENV=production pnpm install --frozen-lockfile",
        ),
        PNPM.replace(
            "RUN pnpm install --frozen-lockfile --prod",
            "RUN export NODE_ENV=production && pnpm i --frozen-lockfile",
        ),
    ] {
        let fixed = ctx.fix(&text).1.unwrap_or_else(|| panic!("{text}"));
        assert!(!fixed.contains("prune"), "{fixed}");
        assert!(fixed.contains("FROM node:22-slim\n"), "{fixed}");
    }
    // corepack instead of npm -g; .npmrc settings that stay in the project.
    let ctx = pnpm_context(&[(
        ".npmrc",
        b"# settings\nnode-linker=hoisted\nshamefully-hoist=true\nvirtual-store-dir=node_modules/.vs\nstore-dir=/pnpm/store\n",
    )]);
    let corepack = PNPM.replace(
        "npm install -g pnpm@9.8.0",
        "corepack enable && corepack prepare pnpm@9.8.0 --activate",
    );
    assert!(ctx.fix(&corepack).1.is_some(), "{}", ctx.fix(&corepack).0);
}

#[test]
fn pnpm_dev_installs_prune_at_the_end_of_the_build_stage() {
    let ctx = pnpm_context(&[]);
    let text = "FROM node:22\nRUN npm i -g pnpm\nWORKDIR /app\nCOPY package.json pnpm-lock.yaml ./\nRUN pnpm install --frozen-lockfile\nCOPY . .\nRUN pnpm run build\nCMD [\"node\", \"dist/server.js\"]\n";
    assert_eq!(
        ctx.fix(text).1.unwrap(),
        "FROM node:22 AS build\nRUN npm i -g pnpm\nWORKDIR /app\nCOPY package.json pnpm-lock.yaml ./\nRUN pnpm install --frozen-lockfile\nCOPY . .\nRUN pnpm run build\nRUN pnpm prune --prod\n\nFROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"node\", \"dist/server.js\"]\n"
    );
    // A script by name (`pnpm build`) is a build step too; the build's own prune makes ours
    // unneeded.
    let own = text.replace("RUN pnpm run build", "RUN pnpm build && pnpm prune --prod");
    assert!(
        !ctx.fix(&own)
            .1
            .unwrap()
            .contains("RUN pnpm prune --prod\n\n")
    );
    // `pnpm add` installs the whole lock file, devDependencies included.
    let add = text.replace("pnpm install --frozen-lockfile", "pnpm add -P dayjs");
    assert!(ctx.fix(&add).1.unwrap().contains("RUN pnpm prune --prod\n"));
    // The prune runs as the user that installed.
    let user = text.replace("RUN pnpm run build", "USER node\nRUN pnpm run build");
    let (message, fixed) = ctx.fix(&user);
    assert!(
        fixed.is_none() && message.contains("`pnpm prune --prod` would run as node"),
        "{message}"
    );
}

#[test]
fn pnpm_reports_say_what_would_make_it_convertible() {
    let ctx = pnpm_context(&[]);
    for (text, why) in [
        // The runtime has no pnpm.
        (
            PNPM.replace("CMD node index.js", "CMD pnpm start"),
            "the CMD at line 7 runs `pnpm`, which node:22-slim does not have (the build stage gets it from `npm install -g pnpm@9.8.0` at line 2)",
        ),
        (
            PNPM.replace(
                "CMD node index.js",
                "CMD [\"sh\", \"-c\", \"pnpm exec node index.js\"]",
            ),
            "runs `pnpm`",
        ),
        (
            PNPM.replace("npm install -g pnpm@9.8.0", "corepack enable")
                .replace("CMD node index.js", "CMD yarn start"),
            "runs `yarn`, which after `corepack enable` is the version package.json's packageManager names",
        ),
        // Global installs.
        (
            PNPM.replace("npm install -g pnpm@9.8.0", "npm install -g pnpm pm2"),
            "installs outside WORKDIR (globals live in npm's prefix)",
        ),
        (
            PNPM.replace("--prod", "--prod && pnpm add -g pm2"),
            "the `pnpm -g` at line 5 installs outside WORKDIR",
        ),
        // Workspaces and other folders.
        (
            PNPM.replace("--prod", "--prod --filter api"),
            "works on a pnpm workspace",
        ),
        (
            PNPM.replace("--prod", "--prod -r"),
            "works on a pnpm workspace",
        ),
        (
            PNPM.replace("pnpm install", "pnpm -C api install"),
            "works on a project in another folder",
        ),
        (
            PNPM.replace("RUN pnpm", "RUN cd api && pnpm"),
            "runs in /app/api, not in the WORKDIR",
        ),
        // Dev-only installs, unknown subcommands, corepack running pnpm, npx pnpm.
        (
            PNPM.replace("--prod", "--dev"),
            "installs devDependencies only",
        ),
        (
            PNPM.replace(
                "pnpm install --frozen-lockfile --prod",
                "pnpm deploy --prod out",
            ),
            "`pnpm deploy` at line 5",
        ),
        (
            PNPM.replace("pnpm install", "corepack pnpm install"),
            "`corepack pnpm` at line 5",
        ),
        (
            PNPM.replace("pnpm install", "npx pnpm install"),
            "runs `npx pnpm`",
        ),
        // Settings that keep packages outside the WORKDIR.
        (
            PNPM.replace("--prod", "--prod --virtual-store-dir=/pnpm/vs"),
            "--virtual-store-dir sets pnpm's virtual-store-dir to /pnpm/vs",
        ),
        (
            PNPM.replace("WORKDIR", "ENV npm_config_node_linker=pnp\nWORKDIR"),
            "ENV npm_config_node_linker sets pnpm's node-linker to pnp",
        ),
        // Mixed managers.
        (
            PNPM.replace("--prod", "--prod && npm ci"),
            "installs with pnpm (line 5) and npm (line 5)",
        ),
    ] {
        let (message, fixed) = ctx.fix(&text);
        assert!(
            fixed.is_none() && message.contains(why),
            "{text}\n{message}"
        );
    }
    for (files, why) in [
        (
            vec![(".npmrc", b"virtual-store-dir=../vs\n".as_slice())],
            ".npmrc (`virtual-store-dir=../vs`) sets pnpm's virtual-store-dir to ../vs",
        ),
        (
            vec![(".npmrc", b"node-linker = pnp\n".as_slice())],
            "sets pnpm's node-linker to pnp: the packages stay in pnpm's store",
        ),
        (
            vec![(".npmrc", b"enable-global-virtual-store=true\n".as_slice())],
            "enable-global-virtual-store",
        ),
        (
            vec![(
                "pnpm-workspace.yaml",
                b"packages:\n  - 'packages/*'\n".as_slice(),
            )],
            "the build context has pnpm-workspace.yaml",
        ),
    ] {
        let (message, fixed) = pnpm_context(&files).fix(PNPM);
        assert!(fixed.is_none() && message.contains(why), "{message}");
    }
    // The project's own install scripts may write anywhere.
    let scripted: &[u8] = br#"{"name":"app","scripts":{"postinstall":"node setup.js"},"dependencies":{"express":"4.21.2"}}"#;
    let (message, fixed) = Context::new(&[("package.json", scripted)]).fix(PNPM);
    assert!(
        fixed.is_none() && message.contains("package.json has a `postinstall` script"),
        "{message}"
    );
    let yarn_project: &[u8] = br#"{"name":"app","packageManager":"yarn@1.22.19"}"#;
    let (message, fixed) = Context::new(&[("package.json", yarn_project)]).fix(PNPM);
    assert!(
        fixed.is_none() && message.contains("packageManager is yarn@1.22.19"),
        "{message}"
    );
    // Without the context it cannot see .npmrc or a workspace.
    reported(
        PNPM,
        "dockopt needs package.json, .npmrc and pnpm-workspace.yaml",
    );
}

const DEV_PACKAGE: &[u8] = br#"{
  "name": "api",
  "scripts": {
    "start": "nodemon server.js",
    "serve": "node server.js",
    "dev": "npm run watch",
    "watch": "cross-env NODE_ENV=development sh -c 'nodemon server.js'",
    "prod": "npm run serve",
    "prelaunch": "ts-node scripts/check.ts",
    "launch": "node server.js",
    "loop": "npm run loop"
  },
  "dependencies": { "express": "4.21.2", "cross-env": "7.0.3", "pino": "9.5.0" },
  "devDependencies": {
    "nodemon": "3.1.9", "ts-node": "10.9.2", "typescript": "5.7.3", "dotenv": "16.4.7",
    "tsx": "4.19.2"
  }
}"#;
const NPM_DEV: &str =
    "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\nEXPOSE 3000\nCMD node server.js\n";

fn dev_context(extra: &[(&str, &[u8])]) -> Context {
    let mut files = vec![
        ("package.json", DEV_PACKAGE),
        ("package-lock.json", b"{}".as_slice()),
        (
            "server.js",
            b"require('express')().listen(3000);\n".as_slice(),
        ),
    ];
    files.extend_from_slice(extra);
    Context::new(&files)
}

/// The report for the Dockerfile `NPM_DEV` with `CMD node server.js` replaced.
fn dev_report(ctx: &Context, run: &str) -> String {
    let text = NPM_DEV.replace("CMD node server.js", run);
    let (message, fixed) = ctx.fix(&text);
    assert!(fixed.is_none(), "{text}: converted ({message})");
    message
}

#[test]
fn node_runtime_commands_that_need_dev_dependencies_report() {
    let ctx = dev_context(&[]);
    let prune = "a devDependency that `npm prune --omit=dev` at the end of the build stage \
                 would remove; move it to dependencies or start the app with node";
    for (run, why) in [
        // Binaries of node_modules/.bin, by path.
        (
            "CMD [\"node_modules/.bin/nodemon\", \"server.js\"]",
            "the CMD at line 6 runs `node_modules/.bin/nodemon`, and nodemon is ",
        ),
        (
            "CMD [\"./node_modules/.bin/ts-node\", \"src/index.ts\"]",
            "runs `./node_modules/.bin/ts-node`, and ts-node is ",
        ),
        (
            "CMD /app/node_modules/.bin/nodemon server.js",
            "runs `/app/node_modules/.bin/nodemon`, and nodemon is ",
        ),
        // Modules node loads first.
        (
            "CMD [\"node\", \"-r\", \"ts-node/register\", \"src/index.ts\"]",
            "loads `ts-node/register` (`-r`), and ts-node is ",
        ),
        (
            "CMD [\"node\", \"--require\", \"dotenv/config\", \"server.js\"]",
            "loads `dotenv/config` (`--require`), and dotenv is ",
        ),
        (
            "CMD node --require=dotenv/config server.js",
            "loads `dotenv/config` (`--require`), and dotenv is ",
        ),
        (
            "CMD [\"node\", \"--loader\", \"ts-node/esm\", \"src/index.ts\"]",
            "loads `ts-node/esm` (`--loader`), and ts-node is ",
        ),
        (
            "CMD [\"node\", \"--experimental-loader=ts-node/esm\", \"src/index.ts\"]",
            "loads `ts-node/esm` (`--experimental-loader`), and ts-node is ",
        ),
        (
            "CMD [\"node\", \"--import\", \"tsx\", \"src/index.ts\"]",
            "loads `tsx` (`--import`), and tsx is ",
        ),
        (
            "CMD node -r ./node_modules/dotenv/config server.js",
            "runs `./node_modules/dotenv/config`, and dotenv is ",
        ),
        // node's options alone: the images' entrypoint runs node with them.
        (
            "CMD [\"-r\", \"ts-node/register\", \"src/index.ts\"]",
            "loads `ts-node/register` (`-r`), and ts-node is ",
        ),
        // A package's file by path, in any argument.
        (
            "CMD [\"node\", \"node_modules/ts-node/dist/bin.js\", \"src/index.ts\"]",
            "runs `node_modules/ts-node/dist/bin.js`, and ts-node is ",
        ),
        // npx and npm exec resolve from node_modules/.bin.
        (
            "CMD [\"npx\", \"nodemon\", \"server.js\"]",
            "runs `npx nodemon`, and nodemon is ",
        ),
        (
            "CMD npx --yes ts-node@10 src/index.ts",
            "runs `npx ts-node@10`, and ts-node is ",
        ),
        (
            "CMD [\"npm\", \"exec\", \"--\", \"nodemon\", \"server.js\"]",
            "runs `npx nodemon`, and nodemon is ",
        ),
        // Scripts: their programs, the scripts they run, and pre/post scripts.
        (
            "CMD npm start",
            "runs the npm script `start`, which runs `nodemon`, and nodemon is ",
        ),
        (
            "CMD [\"npm\", \"run\", \"dev\"]",
            "runs the npm script `dev`, which runs the npm script `watch`, which runs `nodemon`, and nodemon is ",
        ),
        (
            "CMD npm run launch",
            "runs the npm script `prelaunch`, which runs `ts-node`, and ts-node is ",
        ),
        // Shells, HEALTHCHECK, ENTRYPOINT with CMD, NODE_OPTIONS.
        (
            "CMD [\"sh\", \"-c\", \"exec node -r ts-node/register src/index.ts\"]",
            "loads `ts-node/register` (`-r`), and ts-node is ",
        ),
        (
            "CMD node server.js\nHEALTHCHECK CMD node_modules/.bin/ts-node scripts/health.ts",
            "the HEALTHCHECK at line 7 runs `node_modules/.bin/ts-node`, and ts-node is ",
        ),
        (
            "HEALTHCHECK CMD [\"npx\", \"ts-node\", \"scripts/health.ts\"]\nCMD node server.js",
            "the HEALTHCHECK at line 6 runs `npx ts-node`, and ts-node is ",
        ),
        (
            "ENTRYPOINT [\"node\"]\nCMD [\"-r\", \"dotenv/config\", \"server.js\"]",
            "loads `dotenv/config` (`-r`), and dotenv is ",
        ),
        (
            "ENTRYPOINT [\"npm\", \"run\"]\nCMD [\"start\"]",
            "runs the npm script `start`, which runs `nodemon`, and nodemon is ",
        ),
        (
            "ENV NODE_OPTIONS=\"--require ts-node/register\"\nCMD [\"node\", \"src/index.ts\"]",
            "has NODE_OPTIONS, which loads `ts-node/register` (`--require`), and ts-node is ",
        ),
    ] {
        let message = dev_report(&ctx, run);
        assert!(message.contains(why), "{run}: {message}");
        assert!(message.ends_with(prune), "{run}: {message}");
    }
    // Binaries by other names and packages package.json does not list: dockopt cannot tell.
    for (run, why) in [
        (
            "CMD [\"node_modules/.bin/tsc\", \"-w\"]",
            "dockopt cannot tell which package provides `tsc`",
        ),
        (
            "CMD [\"node\", \"-r\", \"source-map-support/register\", \"server.js\"]",
            "package.json does not list source-map-support as a dependency",
        ),
        ("CMD npm run loop", "scripts run scripts more than 8 deep"),
        (
            "CMD [\"npx\", \"esbuild\", \"--watch\"]",
            "runs `npx esbuild`, which is not a production dependency",
        ),
    ] {
        let message = dev_report(&ctx, run);
        assert!(message.contains(why), "{run}: {message}");
    }
    // With the package's own package.json in the context, its `bin` names the binary.
    let with_modules = dev_context(&[(
        "node_modules/typescript/package.json",
        br#"{"name":"typescript","bin":{"tsc":"./bin/tsc","tsserver":"./bin/tsserver"}}"#,
    )]);
    let message = dev_report(&with_modules, "CMD [\"node_modules/.bin/tsc\", \"-w\"]");
    assert!(
        message.contains("runs `node_modules/.bin/tsc`, and typescript is a devDependency"),
        "{message}"
    );
    // Without the build context, a command that may need a devDependency is reported.
    reported(
        &NPM_DEV.replace(
            "CMD node server.js",
            "CMD [\"node\", \"-r\", \"ts-node/register\", \"src/index.ts\"]",
        ),
        "dockopt needs package.json from the build context to tell whether it needs \
         devDependencies",
    );
}

#[test]
fn node_runtime_commands_without_dev_dependencies_convert() {
    let ctx = dev_context(&[]);
    for run in [
        // The devDependencies are there, but nothing the runtime runs uses them.
        "CMD node server.js",
        "CMD [\"node\", \"server.js\"]",
        "CMD [\"npm\", \"run\", \"prod\"]",
        // Production dependencies, node's own modules, files of the project.
        "CMD [\"node\", \"-r\", \"pino\", \"--import\", \"./instrument.mjs\", \"server.js\"]",
        "CMD [\"node\", \"--require\", \"node:util\", \"server.js\"]",
        "CMD [\"node_modules/.bin/cross-env\", \"NODE_ENV=production\", \"node\", \"server.js\"]",
        // npm's own files in the image's global node_modules.
        "CMD [\"node\", \"/usr/local/lib/node_modules/npm/bin/npm-cli.js\", \"run\", \"serve\"]",
        "CMD node server.js\nHEALTHCHECK CMD node -e \"require('http').get('http://localhost:3000')\"",
    ] {
        let text = NPM_DEV.replace("CMD node server.js", run);
        let (message, fixed) = ctx.fix(&text);
        let fixed = fixed.unwrap_or_else(|| panic!("{run}: {message}"));
        assert!(
            fixed.contains("RUN npm prune --omit=dev\n\nFROM node:22-slim\n"),
            "{fixed}"
        );
    }
}

#[test]
fn pnpm_and_yarn_runtime_commands_that_need_dev_dependencies_report() {
    // pnpm: the prune the build stage would end with.
    let ctx = pnpm_context(&[]);
    let text = PNPM.replace(" --prod", "").replace(
        "CMD node index.js",
        "CMD [\"node_modules/.bin/prettier\", \"--check\", \".\"]",
    );
    let (message, fixed) = ctx.fix(&text);
    assert!(
        fixed.is_none()
            && message.contains(
                "runs `node_modules/.bin/prettier`, and prettier is a devDependency that `pnpm \
                 prune --prod` at the end of the build stage would remove"
            ),
        "{message}"
    );
    // Yarn classic installs production dependencies only: `yarn X` runs the script X or the
    // binary X.
    let ctx = Context::new(&[
        ("package.json", DEV_PACKAGE),
        ("yarn.lock", b"# yarn lockfile v1\n"),
    ]);
    let yarn = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN yarn install --frozen-lockfile --production\nCMD yarn start\n";
    let (message, fixed) = ctx.fix(yarn);
    assert!(
        fixed.is_none()
            && message.contains(
                "runs the yarn script `start`, which runs `nodemon`, and nodemon is a \
                 devDependency that the install leaves out of node_modules"
            ),
        "{message}"
    );
    let (message, fixed) = ctx.fix(&yarn.replace("yarn start", "yarn ts-node src/index.ts"));
    assert!(
        fixed.is_none() && message.contains("runs `yarn ts-node`, and ts-node is a devDependency"),
        "{message}"
    );
    assert!(
        ctx.fix(&yarn.replace("yarn start", "yarn serve"))
            .1
            .is_some()
    );
}

const BUN_PACKAGE: &[u8] = br#"{"name":"app","scripts":{"start":"bun run index.ts","dev":"bun --watch index.ts","lint":"eslint ."},"dependencies":{"hono":"4.6.14"},"devDependencies":{"@types/bun":"1.1.14","eslint":"9.17.0"}}"#;
const BUN_LOCK: &[u8] = b"{\n  \"lockfileVersion\": 1,\n}\n";
const BUN: &str = "FROM oven/bun:1.4.5\nWORKDIR /app\nCOPY package.json bun.lock ./\nRUN bun install --frozen-lockfile\nCOPY . .\nEXPOSE 3000\nCMD [\"bun\", \"run\", \"index.ts\"]\n";

fn bun_context(extra: &[(&str, &[u8])]) -> Context {
    let mut files = vec![("package.json", BUN_PACKAGE), ("bun.lock", BUN_LOCK)];
    files.extend_from_slice(extra);
    Context::new(&files)
}

fn bun_reported(ctx: &Context, text: &str, why: &str) {
    let (message, fixed) = ctx.fix(text);
    assert!(fixed.is_none(), "{text}: fixed as {fixed:?}");
    assert!(message.contains(why), "{text}: {message} lacks {why}");
}

#[test]
fn bun_dev_installs_prune_when_the_tag_has_bun_prune() {
    let ctx = bun_context(&[]);
    assert_eq!(
        ctx.fix(BUN).1.as_deref(),
        Some(
            "FROM oven/bun:1.4.5 AS build\nWORKDIR /app\nCOPY package.json bun.lock ./\nRUN bun install --frozen-lockfile\nCOPY . .\nRUN bun prune --production\n\nFROM oven/bun:1.4.5-slim\nWORKDIR /app\nCOPY --from=build /app /app\nEXPOSE 3000\nCMD [\"bun\", \"run\", \"index.ts\"]\n"
        ),
        "{}",
        ctx.fix(BUN).0
    );
    // 1.4 is 1.4.0 or later; `-debian` keeps the version for the twin.
    let fixed = ctx.fix(&BUN.replace("1.4.5", "1.4-debian")).1.unwrap();
    assert!(fixed.contains("RUN bun prune --production\n"), "{fixed}");
    assert!(fixed.contains("FROM oven/bun:1.4-slim\n"), "{fixed}");
    // `bun ci`, `bun i` and a script (`bun start`) at run time.
    for text in [
        BUN.replace("bun install --frozen-lockfile", "bun ci"),
        BUN.replace("bun install --frozen-lockfile", "bun i --frozen-lockfile"),
        BUN.replace("[\"bun\", \"run\", \"index.ts\"]", "bun start"),
        BUN.replace(
            "[\"bun\", \"run\", \"index.ts\"]",
            "[\"bun\", \"--smol\", \"run\", \"start\"]",
        ),
    ] {
        let fixed = ctx
            .fix(&text)
            .1
            .unwrap_or_else(|| panic!("{text}: {}", ctx.fix(&text).0));
        assert!(fixed.contains("RUN bun prune --production\n"), "{fixed}");
    }
    // An install that may update the lock: the prune after the source COPY would read the
    // context's stale one.
    bun_reported(
        &ctx,
        &BUN.replace("bun install --frozen-lockfile", "bun i"),
        "may update the lock file",
    );
}

#[test]
fn bun_production_installs_need_no_prune() {
    let ctx = bun_context(&[]);
    for flag in ["--production", "-p"] {
        let text = BUN.replace("--frozen-lockfile", &format!("--frozen-lockfile {flag}"));
        let fixed = ctx.fix(&text).1.unwrap();
        assert!(!fixed.contains("prune"), "{fixed}");
        assert!(!fixed.contains("rm -rf"), "{fixed}");
    }
    // NODE_ENV=production and --omit=dev (ignored before bun 1.1.45) do not count.
    let env = BUN.replace("WORKDIR", "ENV NODE_ENV=production\nWORKDIR");
    assert!(
        ctx.fix(&env)
            .1
            .unwrap()
            .contains("RUN bun prune --production\n")
    );
    let omit = BUN.replace("--frozen-lockfile", "--frozen-lockfile --omit=dev");
    assert!(
        ctx.fix(&omit)
            .1
            .unwrap()
            .contains("RUN bun prune --production\n")
    );
    // The build's own prune.
    let own = BUN.replace("COPY . .\n", "COPY . .\nRUN bun prune --production\n");
    assert_eq!(
        ctx.fix(&own).1.unwrap().matches("bun prune").count(),
        1,
        "the build's own prune is enough"
    );
}

#[test]
fn bun_before_prune_reinstalls_production_dependencies() {
    let ctx = bun_context(&[]);
    for tag in ["1", "1.3.14", "1.1.38", "latest"] {
        let text = BUN.replace("1.4.5", tag);
        let (message, fixed) = ctx.fix(&text);
        let fixed = fixed.unwrap_or_else(|| panic!("{message}"));
        assert!(
            fixed.contains(
                "RUN rm -rf node_modules && bun install --frozen-lockfile --production\n\n"
            ),
            "{fixed}"
        );
        let twin = if tag == "latest" {
            "slim".to_string()
        } else {
            format!("{tag}-slim")
        };
        assert!(
            fixed.contains(&format!("FROM oven/bun:{twin}\n")),
            "{fixed}"
        );
    }
    // The reinstall keeps the install's mounts (its cache, its registry secret).
    let mounted = BUN.replace("1.4.5", "1").replace(
        "RUN bun install",
        "RUN --mount=type=cache,target=/root/.bun/install/cache --mount=type=secret,id=npmrc,target=/app/.npmrc bun install",
    );
    assert!(ctx.fix(&mounted).1.unwrap().contains(
        "RUN --mount=type=cache,target=/root/.bun/install/cache --mount=type=secret,id=npmrc,target=/app/.npmrc rm -rf node_modules && bun install --frozen-lockfile --production\n"
    ));
    // A build that writes into node_modules (prisma, also through a script) would lose it.
    let prisma = BUN
        .replace("1.4.5", "1")
        .replace("COPY . .\n", "COPY . .\nRUN bunx prisma generate\n");
    bun_reported(
        &ctx,
        &prisma,
        "runs `prisma`, which may write into node_modules",
    );
    let ctx2 = bun_context(&[(
        "package.json",
        br#"{"name":"app","scripts":{"build":"prisma generate && bun build index.ts --outdir dist"},"dependencies":{"hono":"4.6.14"},"devDependencies":{"prisma":"6.1.0"}}"#,
    )]);
    let script = BUN
        .replace("1.4.5", "1")
        .replace("COPY . .\n", "COPY . .\nRUN bun run build\n");
    bun_reported(&ctx2, &script, "runs `prisma`");
    // With bun prune, the same build converts.
    let pinned = script.replace("oven/bun:1\n", "oven/bun:1.4\n");
    assert!(ctx2.fix(&pinned).1.is_some(), "{}", ctx2.fix(&pinned).0);
}

#[test]
fn bun_reports_what_it_cannot_follow() {
    let ctx = bun_context(&[]);
    let cases = [
        (
            BUN.replace("bun install --frozen-lockfile", "bun add zod"),
            "changes package.json and the lock file",
        ),
        (
            BUN.replace("bun install --frozen-lockfile", "bun remove hono"),
            "changes package.json",
        ),
        (
            BUN.replace("bun install --frozen-lockfile", "bun update"),
            "changes package.json",
        ),
        (
            BUN.replace("bun install --frozen-lockfile", "bun install zod"),
            "adds packages",
        ),
        (
            BUN.replace("bun install --frozen-lockfile", "bun install --omit dev"),
            "adds packages",
        ),
        (
            BUN.replace("bun install --frozen-lockfile", "bun add -g typescript"),
            "installs outside WORKDIR",
        ),
        (
            BUN.replace("bun install --frozen-lockfile", "bun install -g typescript"),
            "installs outside WORKDIR",
        ),
        (
            BUN.replace("bun install --frozen-lockfile", "bun install --filter app"),
            "another project or a workspace",
        ),
        (
            BUN.replace(
                "bun install --frozen-lockfile",
                "bun install --backend=symlink",
            ),
            "link into bun's cache",
        ),
        (
            BUN.replace("WORKDIR /app", "ENV BUN_INSTALL=/opt/bun\nWORKDIR /app"),
            "BUN_INSTALL is /opt/bun",
        ),
        (
            BUN.replace(
                "RUN bun install",
                "RUN BUN_INSTALL_GLOBAL_DIR=/g bun install",
            ),
            "BUN_INSTALL_GLOBAL_DIR is /g",
        ),
        (
            BUN.replace(
                "RUN bun install --frozen-lockfile",
                "RUN cd /tmp && bun install",
            ),
            "runs in /tmp, not in the WORKDIR",
        ),
        (
            BUN.replace(
                "RUN bun install --frozen-lockfile",
                "RUN npm ci && bun install",
            ),
            "dockopt converts a project installed by one package manager",
        ),
        (
            BUN.replace(
                "COPY . .\n",
                "COPY . .\nRUN bun build index.ts --outfile /usr/local/bin/app --compile\n",
            ),
            "outside WORKDIR",
        ),
        // At run time: devDependencies through bun run, bunx, bun x, --preload, scripts.
        (
            BUN.replace(
                "[\"bun\", \"run\", \"index.ts\"]",
                "[\"bunx\", \"eslint\", \".\"]",
            ),
            "eslint is a devDependency",
        ),
        (
            BUN.replace("[\"bun\", \"run\", \"index.ts\"]", "bun x eslint ."),
            "eslint is a devDependency",
        ),
        (
            BUN.replace("[\"bun\", \"run\", \"index.ts\"]", "bun run lint"),
            "eslint is a devDependency",
        ),
        (
            BUN.replace("[\"bun\", \"run\", \"index.ts\"]", "bun eslint ."),
            "eslint is a devDependency",
        ),
        (
            BUN.replace(
                "[\"bun\", \"run\", \"index.ts\"]",
                "[\"bun\", \"--preload\", \"@types/bun\", \"index.ts\"]",
            ),
            "@types/bun is a devDependency",
        ),
        (
            BUN.replace(
                "[\"bun\", \"run\", \"index.ts\"]",
                "bun -r=@types/bun/x index.ts",
            ),
            "@types/bun is a devDependency",
        ),
        (
            BUN.replace(
                "[\"bun\", \"run\", \"index.ts\"]",
                "bun --cwd /srv run start",
            ),
            "another project",
        ),
        (
            BUN.replace(
                "[\"bun\", \"run\", \"index.ts\"]",
                "bun --frobnicate index.ts",
            ),
            "an option dockopt does not know",
        ),
    ];
    for (text, why) in &cases {
        bun_reported(&ctx, text, why);
    }
    // bunfig.toml preloads a devDependency before every run.
    let preload = bun_context(&[("bunfig.toml", b"preload = [\"eslint/register\"]\n")]);
    bun_reported(&preload, BUN, "eslint is a devDependency");
    // Workspaces, install scripts, another packageManager, no lock file, no context.
    for (package, why) in [
        (
            &br#"{"name":"root","workspaces":["packages/*"]}"#[..],
            "package.json has `workspaces`",
        ),
        (
            br#"{"name":"app","scripts":{"postinstall":"node x.js"}}"#,
            "`postinstall` script",
        ),
        (
            br#"{"name":"app","packageManager":"pnpm@9.8.0"}"#,
            "packageManager is pnpm@9.8.0",
        ),
    ] {
        let ctx = bun_context(&[("package.json", package)]);
        bun_reported(&ctx, BUN, why);
    }
    let no_lock = Context::new(&[("package.json", BUN_PACKAGE)]);
    bun_reported(
        &no_lock,
        BUN,
        "the build context has no bun.lock or bun.lockb",
    );
    let ignored = bun_context(&[(".dockerignore", b"bun.lock\n")]);
    bun_reported(
        &ignored,
        BUN,
        "the build context has no bun.lock or bun.lockb",
    );
    let lockb = Context::new(&[
        ("package.json", BUN_PACKAGE),
        ("bun.lockb", b"\x00\x01binary"),
    ]);
    assert!(lockb.fix(BUN).1.is_some(), "{}", lockb.fix(BUN).0);
    reported(BUN, "dockopt needs package.json and bun.lock or bun.lockb");
    // Alpine, slim and distroless bun images are no build images.
    for tag in ["1-alpine", "1-slim", "distroless"] {
        quiet(&BUN.replace("1.4.5", tag));
    }
}
