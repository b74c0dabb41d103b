# The wsus container image: wsusd, wsusctl and clientsim, static binaries on
# a distroless base, running as a non-root user.
#
#   docker build --build-arg VERSION=1.2.0 --build-arg COMMIT=$(git rev-parse HEAD) -t wsus:1.2.0 .
#   docker run -p 8530:8530 -v wsus-data:/var/lib/wsus wsus:1.2.0
#
# This image was not built where it was written (no container engine there);
# deploy/packaging_test.go checks what can be checked without one: the build
# command below gives static ELF files, agrees with the Makefile's, and the
# final stage runs as a non-root user.

# Build stage: the Go release of go.mod.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X wsus/internal/version.version=$VERSION -X wsus/internal/version.commit=$COMMIT" -o /out/ ./cmd/wsusd ./cmd/wsusctl ./cmd/clientsim
# The data directory, owned by the user the final stage runs as: a new
# volume mounted there starts with this owner.
RUN mkdir -p /out/data

# Final stage: CA certificates, time zones and /etc/passwd with nonroot
# (65532); no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/wsusd /out/wsusctl /out/clientsim /usr/local/bin/
COPY --from=build --chown=65532:65532 /out/data /var/lib/wsus
USER 65532:65532
# 8530: HTTP (clients, content, admin API unless --admin-listen);
# 8531: HTTPS when --tls-listen, --tls-cert and --tls-key are given.
EXPOSE 8530 8531
VOLUME /var/lib/wsus
# No HEALTHCHECK: distroless has no shell or curl to run one, and wsusd has
# no probe subcommand. Orchestrators probe over HTTP instead: /healthz
# (alive) and /readyz (stores reachable), as deploy/kubernetes/wsusd.yaml
# and HAProxy (scripts/cluster.sh) do.
ENTRYPOINT ["/usr/local/bin/wsusd"]
CMD ["serve", "--listen", "0.0.0.0:8530", "--data", "/var/lib/wsus"]
