#!/usr/bin/env bash
# bench-50k.sh: the catalog benchmark of issue 3, end to end on this machine.
#
#   1. start a throwaway PostgreSQL on loopback (stopped and removed at exit);
#   2. generate a 50,000-update catalog (clientsim gencatalog, fixed seed);
#   3. time `wsusd import --approve "All Computers"` into PostgreSQL;
#   4. serve it with wsusd (PostgreSQL catalog) on loopback;
#   5. clientsim load: one client's first scan alone, then 200 concurrent
#      clients (first scans, then delta scans), with the server's RSS.
#
# Usage: scripts/bench-50k.sh [UPDATES] [CLIENTS] [DURATION]
# (defaults 50000 200 60s). Needs PostgreSQL (scripts/ensure-postgres.sh) and
# about 1 GB of disk under $TMPDIR. Only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."

updates=${1:-50000}
clients=${2:-200}
duration=${3:-60s}
work=$(mktemp -d "${TMPDIR:-/tmp}/wsus-bench.XXXXXX")
chmod 755 "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
httpport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi

wsusd_pid=""
cleanup() {
	[ -n "$wsusd_pid" ] && kill "$wsusd_pid" 2>/dev/null && wait "$wsusd_pid" 2>/dev/null || true
	"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "== building"
make -s build

echo "== PostgreSQL on 127.0.0.1:$pgport"
install -d -m 755 "$work/pg"
[ ${#as_pg[@]} -gt 0 ] && chown postgres:postgres "$work/pg"
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -t 30 \
	-o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c shared_buffers=256MB" start >/dev/null
export WSUS_DATABASE_URL="postgres://postgres@127.0.0.1:$pgport/postgres"
export WSUS_DATA="$work/data"

echo "== generating $updates updates"
/usr/bin/time -f "generate: %e s, max RSS %M KB" bin/clientsim gencatalog --updates "$updates" --seed 1 --out "$work/catalog" >/dev/null

echo "== importing into PostgreSQL"
/usr/bin/time -f "import: %e s, max RSS %M KB" bin/wsusd import --log-level warn --approve "All Computers" "$work/catalog"

echo "== serving on 127.0.0.1:$httpport"
bin/wsusd serve --log-level warn --listen "127.0.0.1:$httpport" &
wsusd_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$httpport/healthz" >/dev/null && break; sleep 0.1; done

server=http://127.0.0.1:$httpport
echo "== one client's first scan, alone (3 scans)"
bin/clientsim load --server "$server" --clients 1 --mode first-scan --iterations 3 --server-pid "$wsusd_pid"
echo "== $clients clients: first scans, then delta scans for $duration"
bin/clientsim load --server "$server" --clients "$clients" --mode delta --duration "$duration" --server-pid "$wsusd_pid"
