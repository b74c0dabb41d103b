#!/usr/bin/env bash
# bench-sync.sh: the metadata synchronization figures of issue 9, end to end
# on this machine, everything on loopback:
#
#   1. build wsusd and clientsim into a temporary folder;
#   2. generate an UPDATES-document catalog (clientsim gencatalog, seed 1,
#      metadata only: no payloads);
#   3. upstream A: `wsusd import` it into A's own store, then `wsusd serve`
#      (the upstream role, soap/serversync) on a free loopback port;
#   4. downstream B: a fresh database in a throwaway PostgreSQL; time a full
#      `wsusd sync --content never` of every product and classification from A
#      under /usr/bin/time -v (wall time, max RSS);
#   5. change CHANGED updates upstream: new revisions (RevisionNumber 300,
#      description marked revised) of CHANGED top-level bundles that have
#      only their first revision, imported into A while it serves;
#   6. time the incremental `wsusd sync` the same way.
#
# Targets of the issue: full sync of 50,000 updates under 100 s (at least
# 500 revisions/s) with the sync process under 512 MiB RSS; incremental
# sync after 100 changes under 10 s.
#
# Usage: scripts/bench-sync.sh [UPDATES] [CHANGED]
# (defaults 50000 and 100; also WSUS_BENCH_SYNC_UPDATES and
# WSUS_BENCH_SYNC_CHANGED). WSUS_BENCH_SYNC_UPSTREAM=postgres puts A's
# catalog in a second database of the same PostgreSQL instead of the
# embedded store (the default). WSUS_BENCH_SYNC_KEEP=1 keeps the temporary
# folder (logs, catalog) and prints where it is. Needs PostgreSQL
# (scripts/ensure-postgres.sh), GNU time (Debian package time) and about
# 1 GB of disk under $TMPDIR for 50,000 updates.
set -euo pipefail
cd "$(dirname "$0")/.."

updates=${1:-${WSUS_BENCH_SYNC_UPDATES:-50000}}
changed=${2:-${WSUS_BENCH_SYNC_CHANGED:-100}}
upstore=${WSUS_BENCH_SYNC_UPSTREAM:-embedded}
case "$upstore" in embedded | postgres) ;; *)
	echo "bench-sync: WSUS_BENCH_SYNC_UPSTREAM=$upstore: want embedded or postgres" >&2
	exit 2
	;;
esac
if [ ! -x /usr/bin/time ]; then
	echo "bench-sync: /usr/bin/time (GNU time) not found: apt-get install time" >&2
	exit 1
fi
sh scripts/ensure-postgres.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/wsus-bench-sync.XXXXXX")
chmod 755 "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pgport=$(freeport)
port=$(freeport)
as_pg=()
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi

serve_pid=""
cleanup() {
	if [ -n "$serve_pid" ]; then
		kill "$serve_pid" 2>/dev/null || true
		wait "$serve_pid" 2>/dev/null || true
	fi
	"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
	if [ "${WSUS_BENCH_SYNC_KEEP:-}" = 1 ]; then
		echo "bench-sync: kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building wsusd and clientsim into $work/bin"
go build -o "$work/bin/" ./cmd/wsusd ./cmd/clientsim
bin=$work/bin

echo "== PostgreSQL on 127.0.0.1:$pgport"
install -d -m 755 "$work/pg"
if [ ${#as_pg[@]} -gt 0 ]; then chown postgres:postgres "$work/pg"; fi
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null
# The settings of scripts/bench-50k.sh: durability off, as in a benchmark
# of the code rather than of the disk.
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -t 30 \
	-o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c shared_buffers=256MB" start >/dev/null
pgurl() { echo "postgres://postgres@127.0.0.1:$pgport/$1"; }
psqlq() { psql -X -q -t -A -h 127.0.0.1 -p "$pgport" -U postgres -d "$1" -c "$2"; }
psqlq postgres "CREATE DATABASE sync_b" >/dev/null
a_db="" pglabel="PostgreSQL"
if [ "$upstore" = postgres ]; then
	pglabel="PostgreSQL (A and B)"
	psqlq postgres "CREATE DATABASE sync_a" >/dev/null
	a_db=$(pgurl sync_a)
fi
b_db=$(pgurl sync_b)

echo "== generating $updates updates (metadata only)"
"$bin/clientsim" gencatalog --updates "$updates" --seed 1 --out "$work/catalog" | sed 's/^/   /'

echo "== upstream A ($upstore store): import"
/usr/bin/time -f "   import: %e s, max RSS %M KB" \
	"$bin/wsusd" import --log-level warn --data "$work/a" --database "$a_db" "$work/catalog"

echo "== upstream A: serving on 127.0.0.1:$port"
"$bin/wsusd" serve --log-level warn --data "$work/a" --database "$a_db" --listen "127.0.0.1:$port" \
	>"$work/a-serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 200); do
	curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
	kill -0 "$serve_pid" 2>/dev/null || { cat "$work/a-serve.log" >&2; exit 1; }
	sleep 0.1
done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null

# cpu_secs PID: user+system CPU seconds of PID and of its children it
# waited for (the postmaster reaps the backends of closed connections).
cpu_secs() {
	awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print ($12 + $13 + $14 + $15) / hz}' "/proc/$1/stat"
}
pg_pid=$(head -1 "$work/pg/data/postmaster.pid")

# timed_sync NAME: one `wsusd sync` into B under /usr/bin/time -v; sets
# secs (wall), rss_kb (max RSS) and line (the sync's summary line), and
# prints where the CPU went: the sync process, upstream A and PostgreSQL.
timed_sync() {
	local name=$1 a0 a1 p0 p1
	echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	a0=$(cpu_secs "$serve_pid") p0=$(cpu_secs "$pg_pid")
	/usr/bin/time -v -o "$work/$name.time" \
		"$bin/wsusd" sync --log-level warn --database "$b_db" --data "$work/b" \
		--upstream "http://127.0.0.1:$port" --product all --classification all --content never \
		>"$work/$name.out" 2>"$work/$name.err" || {
		cat "$work/$name.err" "$work/$name.time" >&2
		exit 1
	}
	secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$work/$name.time")
	rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/$name.time")
	sleep 0.5 # the postmaster reaps the sync's backends
	a1=$(cpu_secs "$serve_pid") p1=$(cpu_secs "$pg_pid")
	cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ {s += $2} END {print s}' "$work/$name.time")
	line=$(cat "$work/$name.out")
	echo "   $line"
	echo "   wall ${secs} s, max RSS $((rss_kb / 1024)) MiB"
	cpusplit=$(awk -v s="$cpu" -v a="$a1" -v a0="$a0" -v p="$p1" -v p0="$p0" -v w="$secs" -v n="$(nproc)" -v pl="$pglabel" \
		'BEGIN {a -= a0; p -= p0; printf "CPU s: sync %.1f, upstream A %.1f, %s %.1f (sum %.1f of %.1f on %d CPUs)", s, a, pl, p, s + a + p, n * w, n}')
	echo "   $cpusplit"
	echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

revisions() { psqlq sync_b "SELECT count(*) FROM revision"; }

echo "== full sync into B (PostgreSQL)"
timed_sync full
full_secs=$secs full_rss=$rss_kb full_line=$line full_cpu=$cpusplit
full_revs=$(revisions)
a_revs=$(find "$work/catalog" -name '*.xml' | wc -l)
full_rate=$(awk -v n="$full_revs" -v s="$full_secs" 'BEGIN {printf "%.0f", n / s}')
echo "   B holds $full_revs revisions ($a_revs documents generated): $full_rate revisions/s"

echo "== changing $changed updates upstream (new revisions imported into A)"
mkdir "$work/changed"
# Top-level bundles with only their first revision (r200): the generator's
# second revisions are r201, so r300 is new and newest. The first
# UpdateIdentity of a document is its own; the bundled members' identities
# after it keep their revisions.
# Files are NNNNNN-KIND-ID8-rREV.xml, NNNNNN the document's number.
revised=" $(find "$work/catalog" -name '*-r201.xml' | sed -E 's/.*-([0-9a-f]{8})-r201\.xml$/\1/' | tr '\n' ' ')"
n=0
for f in "$work"/catalog/*-software-bundle-*-r200.xml; do
	[ "$n" -lt "$changed" ] || break
	id8=$(basename "$f" | sed -E 's/.*-([0-9a-f]{8})-r200\.xml$/\1/')
	case "$revised" in *" $id8 "*) continue ;; esac
	out="$work/changed/$(basename "${f%-r200.xml}")-r300.xml"
	sed -e '0,/RevisionNumber="200"/s//RevisionNumber="300"/' \
		-e 's|</upd:Description>| Revised by bench-sync.</upd:Description>|' "$f" >"$out"
	n=$((n + 1))
done
if [ "$n" -lt "$changed" ]; then
	echo "bench-sync: only $n bundles to revise (catalog too small for $changed)" >&2
	exit 1
fi
"$bin/wsusd" import --log-level warn --data "$work/a" --database "$a_db" "$work/changed"

echo "== incremental sync into B"
timed_sync incremental
inc_secs=$secs inc_rss=$rss_kb inc_line=$line inc_cpu=$cpusplit
inc_revs=$(($(revisions) - full_revs))
r300=$(psqlq sync_b "SELECT count(*) FROM revision WHERE revision_number = 300")
if [ "$inc_revs" -ne "$changed" ] || [ "$r300" -ne "$changed" ]; then
	echo "bench-sync: the incremental sync stored $inc_revs revisions ($r300 of them revision 300), want $changed" >&2
	exit 1
fi

verdict() { awk -v v="$1" -v lim="$2" -v dir="$3" 'BEGIN {ok = (dir == "<") ? v < lim : v >= lim; print ok ? "met" : "MISSED"}'; }
cat <<EOF

== summary ($(nproc) CPUs; upstream A: wsusd serve, $upstore store; B: PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}'))
full sync:        $full_revs revisions in $full_secs s = $full_rate revisions/s   (target >= 500/s, so < 100 s for 50,000: $(verdict "$full_rate" 500 ">="))
                  max RSS $((full_rss / 1024)) MiB   (target < 512 MiB: $(verdict "$full_rss" 524288 "<"))
                  $full_line
                  $full_cpu
incremental sync: $inc_revs revisions in $inc_secs s, max RSS $((inc_rss / 1024)) MiB   (target < 10 s: $(verdict "$inc_secs" 10 "<"))
                  $inc_line
                  $inc_cpu
load average now: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)
EOF
