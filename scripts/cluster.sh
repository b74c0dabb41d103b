#!/bin/sh
# cluster.sh: the scale-out cluster of the README ("Scale-out proof") at full
# size, on loopback: PostgreSQL, versitygw, N wsusd replicas and HAProxy in
# front, the demo catalog, and `clientsim load` through HAProxy. It is
# BenchmarkCluster of e2e/cluster_test.go (the same harness as the cluster
# test of make test, internal/testcluster) with these settings, and prints:
# delta scans/s through HAProxy with p50/p99, failed scans by kind, with
# --kill the replica killed (kill -9 a third into the load, restarted
# halfway) and what it cost, acknowledged reports checked against the store
# and lost, how long an approval on replica 1 took to reach the others, the
# CPU seconds of every process (clientsim, haproxy, each replica) and
# HAProxy's counters per replica. Everything it started is stopped at the
# end and its files removed.
#
#   scripts/cluster.sh [--replicas 1|2|3] [--clients N] [--duration 60s]
#                      [--mode delta|both|first-scan] [--install] [--kill]
#                      [--gomaxprocs N]
#
#   --replicas   wsusd replicas behind HAProxy (default 3)
#   --clients    concurrent simulated clients (default 200)
#   --duration   measured load; in delta mode after every client's first scan (default 60s)
#   --mode       clientsim load --mode (default delta: delta scans)
#   --install    clients download, install and report (ReportEventBatch);
#                without it a delta scan is SyncUpdates only
#   --kill       kill -9 the last replica mid-load, then restart it
#   --gomaxprocs GOMAXPROCS of each replica (default: Go's, every core)
#
# Every process shares this machine's cores: read the CPU line before
# reading scans/s as what a replica sustains.
set -eu

replicas=3 clients=200 duration=60s mode=delta install=false kill=false procs=0
usage() {
	sed -n '2,/^set -eu/p' "$0" | sed -n 's/^# \{0,1\}//p' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--replicas) [ $# -ge 2 ] || usage; replicas=$2; shift 2 ;;
	--clients) [ $# -ge 2 ] || usage; clients=$2; shift 2 ;;
	--duration) [ $# -ge 2 ] || usage; duration=$2; shift 2 ;;
	--mode) [ $# -ge 2 ] || usage; mode=$2; shift 2 ;;
	--install) install=true; shift ;;
	--kill) kill=true; shift ;;
	--gomaxprocs) [ $# -ge 2 ] || usage; procs=$2; shift 2 ;;
	-h | --help) usage ;;
	*) echo "cluster.sh: unknown argument $1" >&2; usage ;;
	esac
done
case $replicas in 1 | 2 | 3) ;; *) echo "cluster.sh: --replicas is 1, 2 or 3, not $replicas" >&2; exit 2 ;; esac
case $clients in '' | *[!0-9]*) echo "cluster.sh: --clients is a number, not $clients" >&2; exit 2 ;; esac
case $procs in '' | *[!0-9]*) echo "cluster.sh: --gomaxprocs is a number, not $procs" >&2; exit 2 ;; esac
if [ "$kill" = true ] && [ "$replicas" -lt 2 ]; then
	echo "cluster.sh: --kill needs at least 2 replicas (the others carry the load)" >&2
	exit 2
fi

cd "$(dirname "$0")/.."
GO=${GO:-go}
sh scripts/ensure-postgres.sh
sh scripts/ensure-versitygw.sh >/dev/null
sh scripts/ensure-haproxy.sh >/dev/null
# CI=true: a missing dependency fails instead of skipping.
exec env CI=true "$GO" test -count=1 -run '^$' -bench '^BenchmarkCluster$' -benchtime 1x -timeout 30m ./e2e -args \
	-cluster.replicas="$replicas" -cluster.clients="$clients" -cluster.duration="$duration" \
	-cluster.mode="$mode" -cluster.install="$install" -cluster.kill="$kill" -cluster.gomaxprocs="$procs"
