# expect: equivalent
# A hand-written multi-stage rewrite of ../Dockerfile. The binary is built as before (same
# image, folder and `cargo build --release`, so the same binary) with the crates.io registry
# (under CARGO_HOME=/usr/local/cargo) and target/ in cache mounts; the runtime is distroless
# cc (glibc and libgcc_s, which a Rust binary links, and nothing else), with the binary at the
# path the original's PATH finds it. The command is in exec form (no /bin/sh there). Same
# WORKDIR; runs as distroless's nonroot user.
FROM rust:1 AS build
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/app/target \
    cargo build --release \
 && cp target/release/rust-cli /usr/local/bin/rust-cli

FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /app
COPY --from=build /usr/local/bin/rust-cli /usr/local/bin/rust-cli
CMD ["rust-cli", "1234567"]
