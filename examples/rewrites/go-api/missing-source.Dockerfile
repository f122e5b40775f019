# expect: rejected: /usr/local/bin/go-api
# Broken on purpose: the binary is copied into the WORKDIR instead of /usr/local/bin, so the
# program the command names, /usr/local/bin/go-api, is missing and `go-api` is not on PATH (it
# builds; the smoke check fails too).
# Otherwise the same as multi-stage.Dockerfile.
FROM golang:1.22 AS build
WORKDIR /src
COPY go.mod ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -o /usr/local/bin/go-api .

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /src
COPY --from=build /usr/local/bin/go-api ./
EXPOSE 8080
CMD ["go-api"]
