#!/bin/sh
# ensure-haproxy.sh: make sure HAProxy, the load balancer the cluster test
# (e2e/cluster_test.go, internal/testcluster) and scripts/cluster.sh put in
# front of the wsusd replicas, is installed. When it is not, installs
# Debian's haproxy package with apt-get. Idempotent; prints the version
# (one line) either way.
#
#   WSUS_HAPROXY   use this binary instead (nothing is installed)
set -eu

if [ -n "${WSUS_HAPROXY:-}" ]; then
	[ -x "$WSUS_HAPROXY" ] || { echo "ensure-haproxy: WSUS_HAPROXY=$WSUS_HAPROXY is not an executable" >&2; exit 1; }
	"$WSUS_HAPROXY" -v | head -n 1
	exit 0
fi

have_haproxy() {
	command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]
}

if ! have_haproxy; then
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "ensure-haproxy: haproxy not found and no apt-get here: install HAProxy (2.0 or later), or set WSUS_HAPROXY" >&2
		exit 1
	fi
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "ensure-haproxy: haproxy not found; installing it needs root (apt-get install haproxy)" >&2
			exit 1
		fi
		sudo=sudo
	fi
	echo "ensure-haproxy: installing HAProxy with apt-get (once) ..." >&2
	$sudo apt-get update -qq
	# The package's own service is not wanted: the tests start HAProxy themselves.
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null
	if ! have_haproxy; then
		echo "ensure-haproxy: apt-get installed haproxy, but the haproxy program is still not found" >&2
		exit 1
	fi
fi
bin=$(command -v haproxy 2>/dev/null || echo /usr/sbin/haproxy)
"$bin" -v | head -n 1
