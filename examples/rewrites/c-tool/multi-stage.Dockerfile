# expect: equivalent
# A hand-written multi-stage rewrite of ../Dockerfile. gzcrc is built, checked and installed as
# before (same image, folder, make targets and compiler, so the same binary) in a build stage
# with apt's lists removed in the same layer; the runtime is debian:bookworm-slim, whose base
# system already carries the two libraries gzcrc links (libz.so.1 from zlib1g, libc.so.6), with
# the binary at the path the original's PATH finds it and no toolchain. Same WORKDIR and
# command (in exec form); runs as an unprivileged user.
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
COPY --from=build /usr/local/bin/gzcrc /usr/local/bin/gzcrc
USER 10001:10001
CMD ["gzcrc", "/etc/os-release"]
