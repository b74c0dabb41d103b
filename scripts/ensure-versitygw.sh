#!/bin/sh
# ensure-versitygw.sh: build the S3-compatible test server the storage tests
# run against (versitygw, pinned; see internal/tests3) once, into a cache
# directory reused by every later run, and print its path. Silent (apart from
# the path) when it is built already. The first build takes about 90 s.
#
#   WSUS_VERSITYGW   use this binary instead (nothing is built)
#   WSUS_TOOLS_DIR   cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/wsus/tools)
set -eu

VERSION=v1.8.0 # keep in step with internal/tests3.Version

if [ -n "${WSUS_VERSITYGW:-}" ]; then
	[ -x "$WSUS_VERSITYGW" ] || { echo "ensure-versitygw: WSUS_VERSITYGW=$WSUS_VERSITYGW is not an executable" >&2; exit 1; }
	echo "$WSUS_VERSITYGW"
	exit 0
fi

tools=${WSUS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wsus/tools}
dir="$tools/versitygw-$VERSION"
bin="$dir/versitygw"
if [ ! -x "$bin" ]; then
	echo "ensure-versitygw: building versitygw $VERSION into $dir (once, about 90 s) ..." >&2
	mkdir -p "$dir"
	tmp=$(mktemp -d "$dir/.build-XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# Outside any module, so that the repository's go.mod is not involved.
	(cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod "${GO:-go}" install "github.com/versity/versitygw/cmd/versitygw@$VERSION")
	mv "$tmp/versitygw" "$bin" # atomic: a concurrent run sees all or nothing
fi
echo "$bin"
