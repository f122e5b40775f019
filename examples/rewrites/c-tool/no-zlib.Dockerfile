# expect: rejected: libz.so.1
# Broken on purpose: the runtime is distroless base (glibc, no zlib), but gzcrc links
# libz.so.1: it builds, and the binary cannot start (the smoke check fails too).
# Otherwise the same as multi-stage.Dockerfile.
FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make \
 && make check \
 && make install

FROM gcr.io/distroless/base-debian12
WORKDIR /src
COPY --from=build /usr/local/bin/gzcrc /usr/local/bin/gzcrc
USER 10001:10001
CMD ["gzcrc", "/etc/os-release"]
