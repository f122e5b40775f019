# expect: rejected: Cmd
# Broken on purpose: the classic exec-form slip, the whole command line in one string, so the
# container tries to run a program called "gzcrc /etc/os-release" and fails (the smoke check
# passes: it replaces CMD).
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
COPY --from=build /usr/local/bin/gzcrc /usr/local/bin/gzcrc
USER 10001:10001
CMD ["gzcrc /etc/os-release"]
