#!/bin/sh
# hostile-bodies.sh: what hostile SOAP bodies cost a running wsusd (issue 7).
#
#   scripts/hostile-bodies.sh [CONCURRENCY] [ROUNDS]
#
# Builds wsusd, serves an empty embedded catalog on a loopback port, then
# sends ROUNDS rounds (default 5) of CONCURRENCY (default 8) simultaneous
# 8 MiB bodies of each hostile shape, and prints the server's peak RSS
# (VmHWM) and the CPU seconds one body of the once-quadratic shape (repeated
# "<CachedDriverIDs " without '>') costs it. Every request must be answered
# with a SOAP fault; the script fails otherwise. Loopback only; the server
# is stopped at the end.
set -eu
concurrency=${1:-8}
rounds=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

cd "$root"
go build -o "$work/wsusd" ./cmd/wsusd
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/wsusd" serve --listen "127.0.0.1:$port" --data "$work/data" --log-level error 2>"$work/server.log" &
pid=$!
url="http://127.0.0.1:$port/ClientWebService/client.asmx"
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done

ns=http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService
# body OP UNIT FILE: an envelope of OP padded to 8 MiB with UNIT.
body() {
	python3 - "$1" "$2" "$3" <<'EOF'
import sys
op, unit, path = sys.argv[1:]
head = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><%s xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService">' % op
tail = '</%s></s:Body></s:Envelope>' % op
n = (8 * 1024 * 1024 - len(head) - len(tail)) // len(unit)
open(path, 'w').write(head + unit * n + tail)
EOF
}
body GetConfig '<a/>' "$work/getconfig.xml"
body SyncUpdates '<a/>' "$work/sync-elements.xml"
body SyncUpdates '<CachedDriverIDs ' "$work/sync-quadratic.xml"
body SyncUpdates '<a b="" c="" d="" e="" f="" g="" h="" i=""/>' "$work/sync-attributes.xml"

# post FILE ACTION: one request; prints the fault's ErrorCode.
post() {
	if [ -n "$2" ]; then
		curl -s -H 'Content-Type: text/xml; charset=utf-8' -H "SOAPAction: \"$ns/$2\"" --data-binary @"$1" "$url"
	else
		curl -s -H 'Content-Type: text/xml; charset=utf-8' --data-binary @"$1" "$url"
	fi | sed -n 's/.*<ErrorCode>\([A-Za-z]*\)<\/ErrorCode>.*/\1/p'
	echo
}

cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
ticks=$(getconf CLK_TCK)

before=$(cpu)
code=$(post "$work/sync-quadratic.xml" SyncUpdates)
after=$(cpu)
echo "one 8 MiB body of repeated '<CachedDriverIDs ': fault $code, server CPU $(echo "$before $after $ticks" | awk '{printf "%.2f", ($2-$1)/$3}') s"

failed=0
for shape in "getconfig.xml GetConfig" "sync-elements.xml SyncUpdates" "sync-quadratic.xml SyncUpdates" "sync-attributes.xml SyncUpdates" "sync-elements.xml "; do
	set -- $shape
	file=$1 action=${2:-}
	for _ in $(seq "$rounds"); do
		senders=
		for i in $(seq "$concurrency"); do
			post "$work/$file" "$action" >"$work/code.$i" &
			senders="$senders $!"
		done
		wait $senders # not the server
		cat "$work"/code.* >>"$work/codes"
	done
	echo "$file (SOAPAction ${action:-none}): $(grep . "$work/codes" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
	if [ "$(grep -v -e InvalidParameters -e ServerBusy "$work/codes" | grep -c . || true)" -ne 0 ] || [ ! -s "$work/codes" ]; then
		failed=1
	fi
	rm -f "$work/codes"
done
echo "server peak RSS under $concurrency concurrent 8 MiB bodies: $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' "/proc/$pid/status")"
if ! curl -fs -H "SOAPAction: \"$ns/GetConfig\"" --data-binary "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><GetConfig xmlns=\"$ns\"><protocolVersion>2.90</protocolVersion></GetConfig></s:Body></s:Envelope>" "$url" >/dev/null; then
	echo "the server no longer answers GetConfig" >&2
	exit 1
fi
exit $failed
