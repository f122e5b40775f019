# expect: rejected: Cmd
# Broken on purpose: the self-test command pasted into CMD, so the container checks itself and
# exits instead of serving on 8080 (the smoke check passes: it replaces CMD).
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
COPY --from=build /usr/local/bin/go-api /usr/local/bin/go-api
EXPOSE 8080
CMD ["go-api", "-self-test"]
