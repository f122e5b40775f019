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
         gcr.io/distroless/static-debian12:nonroot would carry only the artifacts"
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
        "# syntax=docker/dockerfile:1\nARG GO=1.22\nFROM golang:1.22-alpine AS builder\nENV CGO_ENABLED=0\nWORKDIR /app\nCOPY . .\n# the server\nRUN go build -o server ./cmd/server\n\nFROM gcr.io/distroless/static-debian12:nonroot\nENV CGO_ENABLED=0\nWORKDIR /app\nCOPY --from=builder /app/server /app/server\n# it listens here\nEXPOSE 8080\n# run it\nENTRYPOINT [\"/app/server\"]\n"
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
            "does not set CGO_ENABLED=0: the binary may link libc dynamically",
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
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install --user -r requirements.txt\nCMD python app.py\n",
            "`pip --user` (line 4) installs outside the virtual environment",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN /usr/local/bin/pip install -r requirements.txt\nCMD python app.py\n",
            "runs pip as /usr/local/bin/pip",
        ),
        (
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN poetry install\nCMD python app.py\n",
            "only pip is supported",
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
            "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN yarn install\nCMD [\"node\", \"x.js\"]\n",
            "only npm is supported",
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
