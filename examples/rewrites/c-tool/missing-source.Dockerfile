# expect: rejected: /usr/local/bin/gzcrc
# Broken on purpose: the runtime stage copies the binary from the build folder into the WORKDIR
# instead of the installed one, so the program the command names, /usr/local/bin/gzcrc, is
# missing and `gzcrc` is not on PATH (it builds; the smoke check fails too).
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

FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
WORKDIR /src
COPY --from=build /src/gzcrc ./
USER 10001:10001
CMD ["gzcrc", "/etc/os-release"]
