# expect: rejected: ExposedPorts
# Broken on purpose: EXPOSE 8080 dropped (the smoke check passes).
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
CMD ["go-api"]
