#!/usr/bin/env bash
# bench-steady.sh: the end-to-end steady-state benchmark of issue 8, on this
# machine, everything on loopback.
#
#   1. install wrk (Debian package) when missing;
#   2. serve as `make run` does, in a temporary --data folder on a free
#      port: embedded SQLite store, demo catalog imported, the local update
#      approved for "All Computers";
#   3. record a delta SyncUpdates (scripts/steadybench record: one simulated
#      agent logs in, scans until it holds the catalog, then scans again:
#      that software SyncUpdates, answered with no NewUpdates and no
#      ChangedUpdates, is the recorded request, with the cookie of the
#      previous answer) and the server's answer to it;
#   4. serve that answer from a bare net/http handler (steadybench bare:
#      same bytes, same headers, any POST);
#   5. wrk posts the recorded request with CONNECTIONS connections, 2
#      threads, DURATION each: wsusd, bare, wsusd, bare (interleaved, so a
#      shared machine's load hits both alike); a Lua response hook counts
#      the answers that are not HTTP 200: any of them, or a socket error,
#      fails the run.
#
# Every run prints its rate and the server process's CPU a request; the
# last line compares the means of the two runs of each:
#   steady-state SyncUpdates: wsusd 4,120/s, bare 12,300/s: 33.5 % of bare
#
# Usage: scripts/bench-steady.sh [DURATION] [CONNECTIONS] (defaults 20s 64).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-20s}
conns=${2:-64}
case $duration in *[0-9]) duration=${duration}s ;; esac # wrk reads a bare number as seconds
case $duration in [0-9]*[smh]) ;; *) echo "usage: scripts/bench-steady.sh [DURATION] [CONNECTIONS]" >&2; exit 2 ;; esac
case $conns in '' | *[!0-9]*) echo "usage: scripts/bench-steady.sh [DURATION] [CONNECTIONS]" >&2; exit 2 ;; esac

# The embedded store and nothing else: no PostgreSQL, S3 or keys from the
# caller's environment.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^WSUS_' || true)

if ! command -v wrk >/dev/null 2>&1; then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
	echo "bench-steady: installing wrk with apt-get (once) ..." >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null ||
		{ $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/wsus-bench-steady.XXXXXX")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wsusd_port=$(free_port)
bare_port=$(free_port)

pids=()
wrk_pid=""
cleanup() {
	local rc=$?
	for p in $wrk_pid "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in $wrk_pid "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "$rc" -ne 0 ] && [ -s "$work/wsusd.log" ]; then
		echo "bench-steady: the end of wsusd's log:" >&2
		tail -n 20 "$work/wsusd.log" >&2
	fi
	rm -rf "$work"
}
trap cleanup EXIT

wait_http() { # URL: wait until something answers
	for _ in $(seq 1 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" != 000 ] && return 0
		sleep 0.1
	done
	echo "bench-steady: nothing answers at $1" >&2
	return 1
}

echo "== building"
make -s build
go build -o "$work/steadybench" ./scripts/steadybench

echo "== make run's catalog in $work/data, serving on 127.0.0.1:$wsusd_port"
bin/wsusd import --data "$work/data" --log-level warn testdata/catalog/microsoft
bin/wsusd import --data "$work/data" --log-level warn --approve "All Computers" testdata/catalog/local
bin/wsusd serve --data "$work/data" --listen "127.0.0.1:$wsusd_port" 2>"$work/wsusd.log" &
wsusd_pid=$!
pids+=($wsusd_pid)
wait_http "http://127.0.0.1:$wsusd_port/healthz"

echo "== recording a delta SyncUpdates"
# The cookie must outlive the four runs (its expiry is fixed at GetCookie).
secs=$(awk -v d="$duration" 'BEGIN { n = d + 0; u = substr(d, length(d)); print n * (u == "h" ? 3600 : u == "m" ? 60 : 1) }')
"$work/steadybench" record -server "http://127.0.0.1:$wsusd_port" -out "$work/rec" -valid-for "$((4 * secs + 120))s"
soapaction=$(cat "$work/rec/soapaction")

echo "== bare handler on 127.0.0.1:$bare_port"
"$work/steadybench" bare -listen "127.0.0.1:$bare_port" -dir "$work/rec" 2>"$work/bare.log" &
bare_pid=$!
pids+=($bare_pid)
wait_http "http://127.0.0.1:$bare_port/"

wsusd_url="http://127.0.0.1:$wsusd_port/ClientWebService/client.asmx"
bare_url="http://127.0.0.1:$bare_port/ClientWebService/client.asmx"
post() { # URL OUT: post the recorded request once; prints the HTTP status
	curl -s -o "$2" -w '%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' -H "SOAPAction: $soapaction" \
		--data-binary "@$work/rec/request.xml" "$1"
}
check() { # NAME URL: the answer must be a 200 delta of the recorded answer's size
	local status size want
	status=$(post "$2" "$work/check.xml")
	size=$(wc -c <"$work/check.xml")
	want=$(wc -c <"$work/rec/response.xml")
	if [ "$status" != 200 ] || ! grep -q '<SyncUpdatesResult>' "$work/check.xml" || grep -q 'UpdateInfo>' "$work/check.xml" ||
		[ "$size" != "$want" ]; then
		echo "bench-steady: $1 answered HTTP $status, $size bytes (recorded: $want), not a delta:" >&2
		head -c 600 "$work/check.xml" >&2
		echo >&2
		exit 1
	fi
	echo "$1: HTTP $status, $size bytes, no UpdateInfo"
}
check wsusd "$wsusd_url"
check bare "$bare_url"

cat >"$work/post.lua" <<EOF
wrk.method = "POST"
local f = assert(io.open("$work/rec/request.xml", "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.headers["SOAPAction"] = [[$soapaction]]

-- Every thread counts the answers that are not HTTP 200; done sums them.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non200 = 0 end
function response(status, headers, body) if status ~= 200 then non200 = non200 + 1 end end
function done(summary, latency, requests)
	local n = 0
	for _, t in ipairs(threads) do n = n + t:get("non200") end
	io.write(string.format("non-200 answers: %d\n", n))
end
EOF

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system clock ticks
hz=$(getconf CLK_TCK)

echo "== wrk: POST the recorded request, $conns connections, 2 threads, $duration each (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
results=()
for round in 1 2; do
	for target in wsusd bare; do
		case $target in
		wsusd) url=$wsusd_url pid=$wsusd_pid ;;
		bare) url=$bare_url pid=$bare_pid ;;
		esac
		c0=$(cpu "$pid")
		wrk -t2 -c "$conns" -d "$duration" -s "$work/post.lua" "$url" >"$work/wrk.out" &
		wrk_pid=$! # in the background, so that a signal to this script reaches cleanup at once
		wait "$wrk_pid"
		wrk_pid=""
		c1=$(cpu "$pid")
		rate=$(awk '/^Requests\/sec:/ { print $2 }' "$work/wrk.out")
		total=$(awk '/requests in/ { print $1 }' "$work/wrk.out")
		non200=$(awk '/^non-200 answers:/ { print $NF }' "$work/wrk.out")
		sockerr=$(sed -n 's/.*Socket errors: //p' "$work/wrk.out")
		latency=$(awk '$1 == "Latency" { print "avg " $2 ", max " $4 }' "$work/wrk.out")
		awk -v r="$rate" -v n="$total" -v c=$((c1 - c0)) -v hz="$hz" -v l="$latency" -v t="$target" -v round="$round" \
			'BEGIN { printf "round %d, %-5s: %.0f requests/s (%d requests; latency %s; server CPU %.1f s, %.0f µs a request)\n", round, t, r, n, l, c/hz, 1e6*c/hz/n }'
		if [ "$non200" != 0 ] || [ -n "$sockerr" ]; then
			echo "bench-steady: $target: ${non200:-an unknown number of} answers not HTTP 200; socket errors: ${sockerr:-none}" >&2
			cat "$work/wrk.out" >&2
			exit 1
		fi
		results+=("$target $rate $total $((c1 - c0))")
	done
done
check wsusd "$wsusd_url" >/dev/null # the cookie outlived the runs
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# The rates are the means of the two runs of each. CPU a request (server
# process only) depends less on what else runs on the machine.
printf '%s\n' "${results[@]}" | awk -v hz="$hz" '
	function group(x,   s) { s = sprintf("%.0f", x); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); return s }
	{ sum[$1] += $2; n[$1]++; reqs[$1] += $3; ticks[$1] += $4 }
	END {
		wc = 1e6 * ticks["wsusd"] / hz / reqs["wsusd"]; bc = 1e6 * ticks["bare"] / hz / reqs["bare"]
		printf "server CPU a request: wsusd %.0f µs, bare %.0f µs: wsusd costs %.1f times bare\n", wc, bc, wc / bc
		w = sum["wsusd"] / n["wsusd"]; b = sum["bare"] / n["bare"]
		printf "steady-state SyncUpdates: wsusd %s/s, bare %s/s: %.1f %% of bare\n", group(w), group(b), 100 * w / b
	}'
