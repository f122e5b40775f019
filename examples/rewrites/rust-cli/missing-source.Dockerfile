# expect: rejected: /usr/local/bin/rust-cli
# Broken on purpose: the binary is copied into the WORKDIR instead of /usr/local/bin, so the
# program the command names, /usr/local/bin/rust-cli, is missing and `rust-cli` is not on PATH
# (it builds; the smoke check fails too).
# Otherwise the same as multi-stage.Dockerfile.
FROM rust:1 AS build
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/app/target \
    cargo build --release \
 && cp target/release/rust-cli /usr/local/bin/rust-cli

FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /app
COPY --from=build /usr/local/bin/rust-cli ./
CMD ["rust-cli", "1234567"]
