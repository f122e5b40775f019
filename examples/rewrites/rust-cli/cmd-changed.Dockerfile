# expect: rejected: Cmd
# Broken on purpose: the argument was lost in the move to exec form, so the container prints
# its usage and exits 2 instead of printing 1,234,567 (the smoke check passes: it replaces
# CMD).
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
COPY --from=build /usr/local/bin/rust-cli /usr/local/bin/rust-cli
CMD ["rust-cli"]
