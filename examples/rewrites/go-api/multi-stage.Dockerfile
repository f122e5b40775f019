# expect: equivalent
# A hand-written multi-stage rewrite of ../Dockerfile. The binary is built as before (the same
# path, flags and CGO_ENABLED=0, so it is the same static binary) with the module and build
# caches in cache mounts; the runtime is distroless static, which holds no shell and no
# toolchain, only the binary at the path the original's PATH finds it. The command is in exec
# form (no /bin/sh there). Same WORKDIR and EXPOSE; runs as distroless's nonroot user.
FROM golang:1.22 AS build
WORKDIR /src
COPY go.mod ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -o /usr/local/bin/go-api .

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /src
COPY --from=build /usr/local/bin/go-api /usr/local/bin/go-api
EXPOSE 8080
CMD ["go-api"]
