# expect: rejected: ld-linux
# Broken on purpose: CGO_ENABLED=0 dropped. golang has gcc, so cgo is on and the net package
# makes the binary dynamically linked: it needs the loader /lib64/ld-linux-x86-64.so.2 and
# libc.so.6, which the static distroless runtime lacks. It builds, and the binary cannot start
# ("exec /usr/local/bin/go-api: no such file or directory"; the smoke check fails too).
# Otherwise the same as multi-stage.Dockerfile.
FROM golang:1.22 AS build
WORKDIR /src
COPY go.mod ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -o /usr/local/bin/go-api .

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /src
COPY --from=build /usr/local/bin/go-api /usr/local/bin/go-api
EXPOSE 8080
CMD ["go-api"]
