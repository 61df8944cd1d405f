# syntax=docker/dockerfile:1
# Images of the studio-operator. Static binaries (CGO_ENABLED=0: SQLite is pure Go) on
# distroless static, running as the nonroot user (65532).
#
#   docker build -t ghcr.io/studio-operator/manager:latest .                            # the operator (default)
#   docker build --target studio-store -t ghcr.io/studio-operator/studio-store:latest .  # the user store
#
# Without Docker, `make images` builds the same layout (binary at /manager or
# /studio-store, user 65532:65532, CA certificates, the same labels) as reproducible
# OCI archives in bin/images/ (hack/images). Pass the labels here with
#   --build-arg VERSION=$(git describe --tags --always) --build-arg REVISION=$(git rev-parse HEAD)
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Dependencies first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS TARGETARCH
ARG VERSION=dev
# The build flags of hack/images (BuildFlags): no build path, no VCS stamp, the version
# stamped into studio-store.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false \
      -ldflags="-s -w -X github.com/studio-operator/studio-operator/internal/buildinfo.Version=${VERSION}" \
      -o /out/ ./cmd/manager ./cmd/studio-store

FROM gcr.io/distroless/static:nonroot AS base
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.source=https://github.com/studio-operator/studio-operator \
      org.opencontainers.image.version=${VERSION} \
      org.opencontainers.image.revision=${REVISION}
USER 65532:65532

FROM base AS studio-store
LABEL org.opencontainers.image.title=studio-store
COPY --from=build /out/studio-store /studio-store
EXPOSE 8080
ENTRYPOINT ["/studio-store"]
CMD ["serve"]

# Last stage: what `docker build` produces without --target.
FROM base AS manager
LABEL org.opencontainers.image.title=manager
COPY --from=build /out/manager /manager
ENTRYPOINT ["/manager"]
