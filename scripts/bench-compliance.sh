#!/usr/bin/env bash
# bench-compliance.sh: the admin views benchmark of issue 11, on this
# machine, everything on loopback.
#
#   1. start a throwaway PostgreSQL on loopback (stopped and removed at exit);
#   2. scripts/benchcompliance, on a new SQLite catalog and on that
#      PostgreSQL: import UPDATES generated updates through the store, bulk
#      load COMPUTERS computers with PER reported states each (5 million rows
#      at the defaults), RebuildCompliance, ANALYZE (VACUUM ANALYZE on PostgreSQL); then the median and p95
#      of REPS calls of each view of catalog.ComplianceStore, of a 156-sized
#      SetStatuses, and of GET /api/v1/compliance/summary and
#      GET /api/v1/updates through a loopback listener.
#
# The machine's load is printed before and after: the numbers are only
# comparable at a similar load.
#
# Usage: scripts/bench-compliance.sh [UPDATES] [COMPUTERS] [PER] [REPS]
# (defaults 50000 100000 50 30). Needs PostgreSQL (scripts/ensure-postgres.sh)
# and about 3 GB of disk under $TMPDIR. Not part of make test.
set -euo pipefail
cd "$(dirname "$0")/.."

updates=${1:-50000}
computers=${2:-100000}
per=${3:-50}
reps=${4:-30}
for n in "$updates" "$computers" "$per" "$reps"; do
	case $n in '' | *[!0-9]*) echo "usage: scripts/bench-compliance.sh [UPDATES] [COMPUTERS] [PER] [REPS]" >&2; exit 2 ;; esac
done
work=$(mktemp -d "${TMPDIR:-/tmp}/wsus-bench-compliance.XXXXXX")
chmod 755 "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$pgbin" ]; then
	echo "bench-compliance: PostgreSQL not installed (scripts/ensure-postgres.sh)" >&2
	exit 1
fi
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi

cleanup() {
	"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "== machine: $(nproc) cores, $(uptime | sed 's/.*load/load/')"
echo "== building"
go build -o "$work/benchcompliance" ./scripts/benchcompliance

echo "== PostgreSQL ($("$pgbin/postgres" --version | awk '{print $3}')) on 127.0.0.1:$pgport"
install -d -m 755 "$work/pg"
[ ${#as_pg[@]} -gt 0 ] && chown postgres:postgres "$work/pg"
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -t 30 \
	-o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c shared_buffers=256MB" start >/dev/null

"$work/benchcompliance" -sqlite "$work/catalog.db" -postgres "postgres://postgres@127.0.0.1:$pgport/postgres" \
	-updates "$updates" -computers "$computers" -per "$per" -reps "$reps"
echo "== machine after: $(uptime | sed 's/.*load/load/')"
