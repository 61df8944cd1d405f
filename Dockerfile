# syntax=docker/dockerfile:1
# Images of the studio-operator. Static binaries (CGO_ENABLED=0: SQLite is pure Go) on
# distroless static, running as the nonroot user (65532).
#
#   docker build -t ghcr.io/studio-operator/manager:latest .                            # the operator (default)
#   docker build --target studio-store -t ghcr.io/studio-operator/studio-store:latest .  # the user store
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Dependencies first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/manager ./cmd/studio-store

FROM gcr.io/distroless/static:nonroot AS studio-store
COPY --from=build /out/studio-store /studio-store
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/studio-store"]
CMD ["serve"]

# Last stage: what `docker build` produces without --target.
FROM gcr.io/distroless/static:nonroot AS manager
COPY --from=build /out/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
