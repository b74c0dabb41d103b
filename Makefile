# wsus: a WSUS-compatible update server.
#
#   make run    build, load the demo catalog into ./data and serve on 127.0.0.1:8530
#   make test   vet, staticcheck and every test
#
# Both honour the WSUS_* environment variables the binaries read (see README.md).

GO          ?= go
BIN         ?= bin
# Pinned tool versions: never @latest in anything CI runs.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build run test vet lint bench fuzz clean

all: build

# Release builds: static binaries (CGO_ENABLED=0), no local paths
# (-trimpath), no symbol tables (-s -w), the build identity of
# internal/version (`wsusd version`). The Dockerfile builds with the same
# flags; deploy/packaging_test.go compares the two. VERSION defaults to
# `git describe --tags --always --dirty` (dev outside a git work tree),
# COMMIT to the work tree's commit; an empty COMMIT lets Go stamp it
# (unless GOFLAGS has -buildvcs=false).
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS     ?= -s -w -X wsus/internal/version.version=$(VERSION) -X wsus/internal/version.commit=$(COMMIT)

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

# The demo catalog: real Microsoft metadata samples, plus one locally published
# update (with its payload) approved for "All Computers". Importing is idempotent.
run: build
	$(BIN)/wsusd import testdata/catalog/microsoft
	$(BIN)/wsusd import --approve "All Computers" testdata/catalog/local
	exec $(BIN)/wsusd serve

# The PostgreSQL store's tests start a throwaway PostgreSQL (internal/testpg):
# install it first when missing. The storage tests run against a real
# S3-compatible server, versitygw (internal/tests3), pinned in
# scripts/ensure-versitygw.sh: built once into the user cache (about a minute
# the first time). The cluster test (e2e/cluster_test.go) puts HAProxy in
# front of three wsusd replicas: Debian's haproxy package, installed when
# missing. The console's browser tests (e2e/console_test.go) drive a headless
# Chromium: Debian's chromium package, installed when missing. CI=true makes
# those tests fail, not skip, without them.
test: vet lint
	sh scripts/ensure-postgres.sh
	sh scripts/ensure-versitygw.sh >/dev/null
	sh scripts/ensure-haproxy.sh >/dev/null
	sh scripts/ensure-chromium.sh >/dev/null
	$(GO) test -count=1 ./...

vet:
	$(GO) vet ./...

lint:
	$(GO) run $(STATICCHECK) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Every fuzz target of the module in turn, FUZZTIME each (logs in fuzz-logs/;
# see scripts/fuzz.sh). make test runs their seed corpora.
FUZZTIME ?= 10m
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) sh scripts/fuzz.sh

clean:
	rm -rf $(BIN)
