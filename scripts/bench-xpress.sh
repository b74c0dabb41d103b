#!/usr/bin/env bash
# bench-xpress.sh: what Xpress answers cost and save (issue 10), on this
# machine, everything on loopback.
#
#   1. build wsusd, clientsim and steadybench into a temporary folder;
#   2. generate a catalog of UPDATES updates (clientsim gencatalog, seed 1)
#      and import it into the embedded store, approved for "All Computers"
#      (UPDATES "demo": make run's catalog instead);
#   3. serve it; one first scan to warm the catalog snapshot;
#   4. first scans: `clientsim load --clients 1 --mode first-scan
#      --iterations SCANS --wire-bytes`, without and with --identity, twice
#      each, interleaved; the bytes on the clients' connections and the
#      server's CPU time (utime + stime of /proc/PID/stat) around each run,
#      divided by SCANS;
#   5. delta SyncUpdates: steadybench records one (a client that holds the
#      catalog scans again: no NewUpdates, no ChangedUpdates), then wrk posts
#      it with CONNECTIONS connections for DURATION (10 s timeout), with
#      and without Accept-Encoding: xpress, twice each, interleaved; rate
#      and server CPU a request.
#
# Usage: scripts/bench-xpress.sh [UPDATES] [SCANS] [DURATION] [CONNECTIONS]
# (defaults 50000 10 20s 16). Needs wrk (Debian package) and about 1 GB under
# $TMPDIR; the import of 50,000 updates takes a minute or two.
set -euo pipefail
cd "$(dirname "$0")/.."

updates=${1:-50000}
scans=${2:-10}
duration=${3:-20s}
conns=${4:-16}
case $duration in *[0-9]) duration=${duration}s ;; esac

# The embedded store and nothing else from the caller's environment.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^WSUS_' || true)
command -v wrk >/dev/null || { echo "bench-xpress: needs wrk (apt-get install wrk)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/wsus-bench-xpress.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
server=http://127.0.0.1:$port
wsusd_pid=""
wrk_pid=""
cleanup() {
	for p in $wrk_pid $wsusd_pid; do kill "$p" 2>/dev/null || true; done
	for p in $wrk_pid $wsusd_pid; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

cpu() { awk '{ print $14 + $15 }' "/proc/$wsusd_pid/stat"; } # clock ticks
hz=$(getconf CLK_TCK)

echo "== building"
go build -o "$work/wsusd" ./cmd/wsusd
go build -o "$work/clientsim" ./cmd/clientsim
go build -o "$work/steadybench" ./scripts/steadybench

if [ "$updates" = demo ]; then
	echo "== make run's catalog into the embedded store"
	"$work/wsusd" import --data "$work/data" --log-level warn testdata/catalog/microsoft
	"$work/wsusd" import --data "$work/data" --log-level warn --approve "All Computers" testdata/catalog/local
else
	echo "== $updates updates into the embedded store"
	"$work/clientsim" gencatalog --updates "$updates" --seed 1 --out "$work/catalog" >/dev/null
	/usr/bin/time -f "import: %e s" "$work/wsusd" import --data "$work/data" --log-level warn --approve "All Computers" "$work/catalog"
	rm -rf "$work/catalog"
fi

"$work/wsusd" serve --data "$work/data" --log-level warn --listen "127.0.0.1:$port" 2>"$work/wsusd.log" &
wsusd_pid=$!
for _ in $(seq 1 100); do curl -fs "$server/healthz" >/dev/null && break; sleep 0.1; done
"$work/clientsim" load --server "$server" --clients 1 --mode first-scan --iterations 1 >/dev/null 2>&1

echo "== first scans: $scans a run, one client at a time (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
results=()
for round in 1 2; do
	for enc in identity xpress; do
		flag=""
		[ "$enc" = identity ] && flag=--identity
		c0=$(cpu)
		"$work/clientsim" load --server "$server" --clients 1 --mode first-scan --iterations "$scans" --wire-bytes $flag >"$work/load.out" 2>&1 ||
			{ cat "$work/load.out" >&2; exit 1; }
		c1=$(cpu)
		read -r recv sent < <(sed -n 's/^wire bytes: \([0-9]*\) received, \([0-9]*\) sent.*/\1 \2/p' "$work/load.out")
		rounds=$(awk '$1 == "first-scan" { print $4 }' "$work/load.out")
		awk -v r="$round" -v e="$enc" -v n="$scans" -v recv="$recv" -v sent="$sent" -v c=$((c1 - c0)) -v hz="$hz" -v su="$rounds" \
			'BEGIN { printf "round %d, %-8s: a first scan (%d SyncUpdates): %.0f bytes received, %.0f sent; server CPU %.3f s\n", r, e, su / n, recv / n, sent / n, c / hz / n }'
		results+=("first $enc $recv $sent $((c1 - c0))")
	done
done

echo "== delta SyncUpdates: recording one"
"$work/steadybench" record -server "$server" -out "$work/rec" -valid-for 10m -max-installed-non-leaf 400
soapaction=$(cat "$work/rec/soapaction")
url=$server/ClientWebService/client.asmx
for enc in identity xpress; do
	ae=()
	[ "$enc" = xpress ] && ae=(-H 'Accept-Encoding: xpress')
	status=$(curl -s -o "$work/check.out" -D "$work/check.hdr" -w '%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' \
		-H "SOAPAction: $soapaction" "${ae[@]}" --data-binary "@$work/rec/request.xml" "$url")
	got=$(sed -n 's/^Content-Encoding: *\([a-z]*\).*/\1/Ip' "$work/check.hdr")
	want=""
	[ "$enc" = xpress ] && want=xpress
	if [ "$status" != 200 ] || [ "$got" != "$want" ]; then
		echo "bench-xpress: delta in $enc: HTTP $status, Content-Encoding '$got'" >&2
		exit 1
	fi
	echo "delta answer in $enc: $(wc -c <"$work/check.out") bytes (request $(wc -c <"$work/rec/request.xml") bytes)"
done

for enc in identity xpress; do
	{
		echo 'wrk.method = "POST"'
		echo "local f = assert(io.open(\"$work/rec/request.xml\", \"rb\"))"
		echo 'wrk.body = f:read("*a")'
		echo 'f:close()'
		echo 'wrk.headers["Content-Type"] = "text/xml; charset=utf-8"'
		echo "wrk.headers[\"SOAPAction\"] = [[$soapaction]]"
		[ "$enc" = xpress ] && echo 'wrk.headers["Accept-Encoding"] = "xpress"'
		echo 'local threads = {}'
		echo 'function setup(thread) table.insert(threads, thread) end'
		echo 'function init(args) non200 = 0 end'
		echo 'function response(status, headers, body) if status ~= 200 then non200 = non200 + 1 end end'
		echo 'function done(summary, latency, requests)'
		echo '	local n = 0'
		echo '	for _, t in ipairs(threads) do n = n + t:get("non200") end'
		echo '	io.write(string.format("non-200 answers: %d\n", n))'
		echo 'end'
	} >"$work/$enc.lua"
done

echo "== wrk: $conns connections, 2 threads, $duration a run (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
for round in 1 2; do
	for enc in identity xpress; do
		c0=$(cpu)
		wrk -t2 -c "$conns" -d "$duration" --timeout 10s -s "$work/$enc.lua" "$url" >"$work/wrk.out" &
		wrk_pid=$!
		wait "$wrk_pid"
		wrk_pid=""
		c1=$(cpu)
		rate=$(awk '/^Requests\/sec:/ { print $2 }' "$work/wrk.out")
		total=$(awk '/requests in/ { print $1 }' "$work/wrk.out")
		non200=$(awk '/^non-200 answers:/ { print $NF }' "$work/wrk.out")
		if [ "$non200" != 0 ] || grep -q 'Socket errors' "$work/wrk.out"; then
			echo "bench-xpress: $enc: answers not HTTP 200 or socket errors" >&2
			cat "$work/wrk.out" >&2
			exit 1
		fi
		awk -v r="$round" -v e="$enc" -v rate="$rate" -v n="$total" -v c=$((c1 - c0)) -v hz="$hz" \
			'BEGIN { printf "round %d, %-8s: %.0f delta SyncUpdates/s (%d requests; server CPU %.0f µs a request)\n", r, e, rate, n, 1e6 * c / hz / n }'
		results+=("delta $enc $rate $total $((c1 - c0))")
	done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

printf '%s\n' "${results[@]}" | awk -v hz="$hz" -v n="$scans" '
	$1 == "first" { recv[$2] += $3; sent[$2] += $4; fcpu[$2] += $5; fr[$2]++ }
	$1 == "delta" { rate[$2] += $3; reqs[$2] += $4; dcpu[$2] += $5; dr[$2]++ }
	END {
		for (e in fr) printf "first scan, %-8s: %.0f bytes received + %.0f sent; server CPU %.3f s\n", e, recv[e] / fr[e] / n, sent[e] / fr[e] / n, fcpu[e] / hz / fr[e] / n
		printf "first scan: Xpress answers are %.1f %% of identity; server CPU %+.1f %%\n", 100 * recv["xpress"] / recv["identity"], 100 * (fcpu["xpress"] / fcpu["identity"] - 1)
		for (e in dr) printf "delta SyncUpdates, %-8s: %.0f/s, server CPU %.0f µs a request\n", e, rate[e] / dr[e], 1e6 * dcpu[e] / hz / reqs[e]
	}'
