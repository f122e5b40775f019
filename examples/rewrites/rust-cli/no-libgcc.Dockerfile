# expect: rejected: libgcc_s.so.1
# Broken on purpose: the runtime is distroless base (glibc, no libgcc), but a Rust binary also
# needs libgcc_s.so.1 (unwinding): it builds, and the binary cannot start (the smoke check fails
# too).
# Otherwise the same as multi-stage.Dockerfile.
FROM rust:1 AS build
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/app/target \
    cargo build --release \
 && cp target/release/rust-cli /usr/local/bin/rust-cli

FROM gcr.io/distroless/base-debian12:nonroot
WORKDIR /app
COPY --from=build /usr/local/bin/rust-cli /usr/local/bin/rust-cli
CMD ["rust-cli", "1234567"]
