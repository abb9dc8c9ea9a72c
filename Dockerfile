# syntax=docker/dockerfile:1
# The tasuki App server as a container image:
#
#   docker build -t tasuki --build-arg VERSION=$(cat VERSION) .
#   docker run -p 8080:8080 -e TASUKI_... tasuki            # app serve
#   docker run --rm -e TASUKI_DATABASE_URL=... tasuki migrate
#
# The final image is FROM scratch: one static binary (CGO_ENABLED=0; the
# SQLite driver is pure Go), CA certificates to reach GitHub over TLS, time
# zone data, and the user nonroot (65532), without a shell or package
# manager. scripts/ociimage assembles the same layout without Docker
# (docs/operations.md), and deploy/ runs it as user 65532.
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS TARGETARCH
ARG VERSION=devel
ARG COMMIT=""
ARG DATE=""
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/tasuki-sre/tasuki/internal/version.version=${VERSION} -X github.com/tasuki-sre/tasuki/internal/version.commit=${COMMIT} -X github.com/tasuki-sre/tasuki/internal/version.date=${DATE}" \
      -o /out/app ./cmd/app
# The root filesystem of the final stage, laid out here because scratch has
# no shell to do it in.
RUN set -eu; \
    mkdir -p /rootfs/etc/ssl/certs /rootfs/usr/share /rootfs/usr/local/bin /rootfs/home/nonroot /rootfs/tmp; \
    cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/; \
    cp -R /usr/share/zoneinfo /rootfs/usr/share/; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >/rootfs/etc/passwd; \
    printf 'root:x:0:\nnonroot:x:65532:\n' >/rootfs/etc/group; \
    chown 65532:65532 /rootfs/home/nonroot; \
    chmod 1777 /rootfs/tmp; \
    cp /out/app /rootfs/usr/local/bin/app

FROM scratch
COPY --from=build /rootfs/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    ZONEINFO=/usr/share/zoneinfo
USER 65532:65532
WORKDIR /home/nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/app"]
CMD ["serve"]
