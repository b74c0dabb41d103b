#!/usr/bin/env bash
# bench-fleet.sh: how many computers one node serves (issue 12), on this
# machine, everything on loopback.
#
#   1. build wsusd and clientsim;
#   2. generate a catalog (clientsim gencatalog, FLEET_UPDATES updates, seed 1)
#      and import it with its top-level updates approved for All Computers,
#      into the embedded store or (FLEET_STORE=postgres) a throwaway
#      PostgreSQL on loopback, as bench-50k.sh starts it;
#   3. serve it with one `wsusd serve` (cookie key in <data>/cookie.key);
#   4. for each N: unapprove the FLEET_PATCH newest top-level software
#      updates (so that there is something to approve); give the store the
#      N computers and the statuses of their previous reports (FLEET_PREP);
#      then run `clientsim load --arrival --patch-tuesday --fleet N`: it
#      approves those updates through the admin API, and sends
#      the scans of N computers that all scan within FLEET_WINDOW (2 h:
#      N / 7200 scans/s) for DURATION; it prints p99, errors and the CPU of
#      the generator and of the server;
#   5. `search`: N doubles from N0 until a run fails (scan p99 >= 1 s, a
#      failed or dropped scan, or a computer missing an approved update),
#      then bisects twice between the last N that passed and the first that
#      failed; the last line is the largest N that passed.
#
# Usage: scripts/bench-fleet.sh run [N] [DURATION]       (default 100000 3m)
#        scripts/bench-fleet.sh search [N0] [DURATION]   (default 100000 3m)
# Environment: FLEET_UPDATES (default 2000: each computer then caches 1,938
# revision ids and is offered 300 updates; the captured native agent sent
# 1,116 ids),
# FLEET_PATCH (updates approved on Patch Tuesday, default 10), FLEET_WINDOW
# (default 2h), FLEET_STORE (embedded or postgres), FLEET_PREP (seed: the
# reference computer's rows copied to the fleet's by scripts/fleetseed, the
# statuses of its previous report to those that scan in the run; all: every
# computer registered through RegisterComputer, about 500/s on the embedded
# store, each then sending its first status report in the run; arriving:
# only those that scan registered so), FLEET_MAX_N (search bound, default 4000000),
# FLEET_STEADY=1 (no Patch Tuesday: the steady-state rate N / (0.9 x 22 h)),
# FLEET_PERF=1 (record the server with perf during a run and print its top
# functions), FLEET_JSON_DIR (keep each run's JSON report there),
# FLEET_REPLICAS=K (with FLEET_STORE=postgres: K `wsusd serve` replicas
# sharing the catalog, the cookie key and the admin token, behind HAProxy
# (roundrobin, health checks on /readyz); the scans go through HAProxy and
# the server CPU reported is the first replica's only; each replica keeps
# its own filesystem content store, as the fleet run downloads nothing).
#
# The machine may be shared: the load average is printed with every run.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
n0=${2:-100000}
duration=${3:-3m}
updates=${FLEET_UPDATES:-2000}
prep=${FLEET_PREP:-seed}
patch=${FLEET_PATCH:-10}
window=${FLEET_WINDOW:-2h}
store=${FLEET_STORE:-embedded}
max_n=${FLEET_MAX_N:-4000000}
case $mode in run | search) ;; *) echo "usage: scripts/bench-fleet.sh run|search [N] [DURATION]" >&2; exit 2 ;; esac
case $n0 in '' | *[!0-9]*) echo "bench-fleet: N must be a number" >&2; exit 2 ;; esac
case $store in embedded | postgres) ;; *) echo "bench-fleet: FLEET_STORE is embedded or postgres" >&2; exit 2 ;; esac
replicas=${FLEET_REPLICAS:-1}
if [ "$replicas" -gt 1 ] && [ "$store" != postgres ]; then
	echo "bench-fleet: FLEET_REPLICAS needs FLEET_STORE=postgres (the replicas share one catalog)" >&2
	exit 2
fi
case $prep in seed | all | arriving) ;; *) echo "bench-fleet: FLEET_PREP is seed, all or arriving" >&2; exit 2 ;; esac
# The window in seconds (a Go duration of h, m and s).
window_s=$(python3 -c 'import re,sys; m={"h":3600,"m":60,"s":1}; print(sum(int(v)*m[u] for v,u in re.findall(r"(\d+)([hms])", sys.argv[1])) or 1)' "$window")

# Only what this script sets: no WSUS_* from the caller's environment.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^WSUS_' || true)

work=$(mktemp -d "${TMPDIR:-/tmp}/wsus-bench-fleet.XXXXXX")
chmod 755 "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
server=http://127.0.0.1:$port
token=bench-fleet-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
as_pg=()
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi

wsusd_pid=""
other_pids=()
cleanup() {
	local rc=$?
	for pid in "${other_pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
	if [ -n "$wsusd_pid" ]; then kill "$wsusd_pid" 2>/dev/null || true; wait "$wsusd_pid" 2>/dev/null || true; fi
	if [ "$store" = postgres ] && [ -d "$work/pg/data" ]; then
		"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
	fi
	if [ "$rc" -ne 0 ] && [ -s "$work/wsusd.log" ]; then
		echo "bench-fleet: the end of wsusd's log:" >&2
		tail -n 20 "$work/wsusd.log" >&2
	fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "== building"
go build -o "$work/bin/wsusd" ./cmd/wsusd
go build -o "$work/bin/clientsim" ./cmd/clientsim
go build -o "$work/bin/fleetseed" ./scripts/fleetseed
export WSUS_DATA="$work/data"

if [ "$store" = postgres ]; then
	scripts/ensure-postgres.sh
	pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	pgport=$(free_port)
	echo "== PostgreSQL on 127.0.0.1:$pgport"
	install -d -m 755 "$work/pg"
	[ ${#as_pg[@]} -gt 0 ] && chown postgres:postgres "$work/pg"
	# PostgreSQL's durable defaults (fsync, synchronous_commit): an
	# acknowledged report is on disk, as with the embedded store.
	"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null
	"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -t 30 \
		-o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c shared_buffers=256MB" start >/dev/null
	export WSUS_DATABASE_URL="postgres://postgres@127.0.0.1:$pgport/postgres"
fi

echo "== generating $updates updates, importing them ($store store)"
"$work/bin/clientsim" gencatalog --updates "$updates" --seed 1 --out "$work/catalog" >/dev/null
"$work/bin/wsusd" import --log-level warn --approve "All Computers" "$work/catalog"

if [ "$replicas" -le 1 ]; then
	echo "== serving on $server"
	"$work/bin/wsusd" serve --log-level warn --listen "127.0.0.1:$port" --admin-token "$token" >"$work/wsusd.log" 2>&1 &
	wsusd_pid=$!
	for _ in $(seq 1 300); do curl -fs "$server/healthz" >/dev/null && break; sleep 0.1; done
	curl -fs "$server/healthz" >/dev/null || { echo "bench-fleet: wsusd does not answer" >&2; exit 1; }
else
	# K replicas over the one catalog, one cookie key (the fleet run seals
	# its computers' old cookies with it), HAProxy in front on $port.
	sh scripts/ensure-haproxy.sh >/dev/null
	mkdir -p "$WSUS_DATA"
	od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$WSUS_DATA/cookie.key"
	backends=""
	for i in $(seq 1 "$replicas"); do
		rport=$(free_port)
		"$work/bin/wsusd" serve --log-level warn --listen "127.0.0.1:$rport" --admin-token "$token" \
			--data "$work/replica-$i" --cookie-key-file "$WSUS_DATA/cookie.key" >"$work/wsusd-$i.log" 2>&1 &
		if [ "$i" -eq 1 ]; then wsusd_pid=$!; else other_pids+=($!); fi
		for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$rport/readyz" >/dev/null && break; sleep 0.1; done
		curl -fs "http://127.0.0.1:$rport/readyz" >/dev/null || { echo "bench-fleet: replica $i does not answer" >&2; cat "$work/wsusd-$i.log" >&2; exit 1; }
		backends="$backends	server r$i 127.0.0.1:$rport check inter 500 fall 2 rise 1
"
	done
	cat >"$work/haproxy.cfg" <<-EOF
		global
		    maxconn 4000
		defaults
		    mode http
		    timeout connect 5s
		    timeout client 120s
		    timeout server 120s
		    timeout http-request 120s
		    timeout http-keep-alive 120s
		    retries 3
		    option redispatch 1
		    retry-on conn-failure empty-response response-timeout
		frontend fleet
		    bind 127.0.0.1:$port
		    default_backend replicas
		backend replicas
		    balance roundrobin
		    option httpchk GET /readyz
		$backends
	EOF
	haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
	other_pids+=($!)
	for _ in $(seq 1 100); do curl -fs "$server/readyz" >/dev/null && break; sleep 0.1; done
	curl -fs "$server/readyz" >/dev/null || { echo "bench-fleet: HAProxy does not answer" >&2; cat "$work/haproxy.log" >&2; exit 1; }
	echo "== serving on $server: HAProxy over $replicas replicas"
fi

# withhold: unapprove the $patch newest approved top-level software updates,
# for the next Patch Tuesday to approve.
withhold() {
	curl -fsS -H "Authorization: Bearer $token" \
		"$server/api/v1/updates?type=software&approved=true&declined=false&superseded=false&sort=released&order=desc&limit=$patch" |
		python3 -c 'import json,sys; [print(u["update_id"]) for u in json.load(sys.stdin)["updates"]]' |
		while read -r id; do
			curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
				-d "{\"update_id\":\"$id\",\"action\":\"NotApproved\"}" "$server/api/v1/approvals"
		done
}

registered=0
# step N: one Patch Tuesday run at N computers; prints one result line and
# succeeds when the run met the target.
step() {
	local n=$1 json=$work/fleet-$1.json rc=0
	if [ "${FLEET_STEADY:-}" = 1 ]; then
		echo "== N=$n: steady state, every 0.9 x 22 h ($(awk "BEGIN{printf \"%.1f\", $n / 71280}") scans/s) for $duration; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	else
		withhold
		echo "== N=$n: Patch Tuesday, window $window ($(awk "BEGIN{printf \"%.1f\", $n / $window_s}") scans/s) for $duration; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	fi
	local fleet=(--server "$server" --fleet "$n" --duration "$duration" --cookie-key-file "$WSUS_DATA/cookie.key")
	local shape=(-window "$window")
	if [ "${FLEET_STEADY:-}" = 1 ]; then
		shape=(-patch-tuesday=false)
	else
		fleet+=(--window "$window" --patch-tuesday --patch-updates "$patch" --admin-token "$token")
	fi
	local register=(--register "$prep" --registered "$registered")
	if [ "$prep" = seed ]; then
		# The reference computer's first scan and report, then its rows
		# copied to the fleet's computers (scripts/fleetseed).
		"$work/bin/clientsim" load --arrival "${fleet[@]}" --register none --prepare-only >/dev/null 2>"$work/prepare.txt" ||
			{ cat "$work/prepare.txt" >&2; return 1; }
		local target=(-sqlite "$WSUS_DATA/catalog.db")
		[ "$store" = postgres ] && target=(-postgres "$WSUS_DATABASE_URL")
		"$work/bin/fleetseed" "${target[@]}" -rebuild=false -fleet "$n" -registered "$registered" -duration "$duration" "${shape[@]}" || return 1
		register=(--register none)
	fi
	"$work/bin/clientsim" load --arrival "${fleet[@]}" "${register[@]}" --server-pid "$wsusd_pid" --json >"$json" 2>"$work/fleet.txt" || rc=$?
	grep -v '^time=' "$work/fleet.txt" || true
	[ -n "${FLEET_JSON_DIR:-}" ] && cp "$json" "$FLEET_JSON_DIR/" || true
	if [ ! -s "$json" ]; then
		echo "bench-fleet: N=$n: no report (exit $rc)" >&2
		return 1
	fi
	[ "$prep" = arriving ] || registered=$((n > registered ? n : registered))
	python3 - "$json" <<-'EOF'
		import json, sys
		r = json.load(open(sys.argv[1]))
		ms = lambda ns: f"{ns/1e6:.0f} ms" if ns >= 1e7 else f"{ns/1e6:.1f} ms"
		pt = r.get("patch_tuesday") or {}
		ok = (not r["interrupted"] and r["failed"] == 0 and r["reports_failed"] == 0 and r["dropped"] == 0 and r["completed"] > 0
		      and r["latency"]["p99_ns"] < 1e9 and pt.get("scans_missing_new", 0) == 0)
		print(f"RESULT N={r['computers']} rate={r['rate_per_second']:.1f}/s completed={r['completed']} failed={r['failed']} "
		      f"dropped={r['dropped']} reports_failed={r['reports_failed']} p50={ms(r['latency']['p50_ns'])} p99={ms(r['latency']['p99_ns'])} "
		      f"p99(1st half)={ms(r['first_half']['p99_ns'])} p99(2nd half)={ms(r['second_half']['p99_ns'])} "
		      f"report_p99={ms(r['report_latency']['p99_ns'])} calls/s={r['soap_calls_per_second']:.0f} generator={r['generator_cores']:.2f} cores "
		      f"server={r['server_cores']:.2f} cores ({ms(r['server_cpu_per_scan_ns'])} a scan) {'PASS' if ok else 'FAIL'}")
		sys.exit(0 if ok else 1)
	EOF
}

if [ "$mode" = run ]; then
	if [ "${FLEET_PERF:-}" = 1 ]; then
		# A CPU profile of the server for the whole step (no pprof endpoint:
		# perf samples the process, Go binaries carry their symbols).
		perf record -F 199 -g -p "$wsusd_pid" -o "$work/perf.data" >/dev/null 2>&1 &
		perf_pid=$!
	fi
	rc=0
	step "$n0" || rc=$?
	if [ "${FLEET_PERF:-}" = 1 ]; then
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" 2>/dev/null || true
		echo "== the server's top functions (perf, self time)"
		perf report -i "$work/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -25 || true
	fi
	exit "$rc"
fi

best=0
fail=0
n=$n0
while [ "$n" -le "$max_n" ]; do
	if step "$n"; then best=$n; n=$((n * 2)); else fail=$n; break; fi
done
for _ in 1 2; do
	[ "$fail" -gt 0 ] && [ "$best" -gt 0 ] || break
	mid=$(((best + fail) / 2))
	[ $((fail - best)) -gt $((best / 10)) ] || break
	if step "$mid"; then best=$mid; else fail=$mid; fi
done
echo "largest N that passed: $best (first that failed: ${fail:-none}; window $window, duration $duration, $updates updates, $store store)"
