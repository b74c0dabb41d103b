#!/usr/bin/env bash
# bench-content.sh: the content benchmark of issue 4, end to end on this
# machine, everything on loopback.
#
#   1. start versitygw (scripts/ensure-versitygw.sh builds it once) with its
#      posix backend in a temporary directory and random credentials;
#   2. write an update whose payload is SIZE random bytes, and time
#      `wsusd import` storing it in S3 (streamed multipart, digests checked);
#   3. serve with wsusd (S3 store), plus a second replica in presign mode
#      whose redirect gives a presigned URL of the same object;
#   4. 1 MiB ranged GET throughput (scripts/rangebench: shuffled 1 MiB
#      ranges, CONNS keep-alive connections, DURATION each) directly from
#      versitygw (the presigned URL), through wsusd, and via the presign
#      replica's 302 (the client follows it to S3 on every request),
#      alternating, twice, with the ratios and the CPU each process used;
#   5. clientsim load: CLIENTS simulated Windows clients at once, each
#      scanning and downloading the payload in shuffled 1 MiB ranges (4 at
#      a time) and verifying it, with wsusd's peak RSS (VmHWM).
#
# Usage: scripts/bench-content.sh [SIZE] [CLIENTS] [DURATION] [CONNS]
# (defaults 600000000 50 20s 8). Needs about SIZE × (CLIENTS + 2) bytes of
# disk under $TMPDIR: every simulated client assembles its own copy.
set -euo pipefail
cd "$(dirname "$0")/.."

size=${1:-600000000}
clients=${2:-50}
duration=${3:-20s}
conns=${4:-8}
work=$(mktemp -d "${TMPDIR:-/tmp}/wsus-bench-content.XXXXXX")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
s3port=$(free_port)
httpport=$(free_port)
presignport=$(free_port)

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

wait_http() { # URL: wait until something answers
	for _ in $(seq 1 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" != 000 ] && return 0
		sleep 0.1
	done
	echo "bench-content: nothing answers at $1" >&2
	return 1
}

echo "== building"
make -s build
go build -o "$work/rangebench" ./scripts/rangebench
vgw=$(sh scripts/ensure-versitygw.sh)

echo "== versitygw on 127.0.0.1:$s3port"
mkdir -p "$work/s3"
export AWS_ACCESS_KEY_ID="bench$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export AWS_SECRET_ACCESS_KEY="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ROOT_ACCESS_KEY=$AWS_ACCESS_KEY_ID ROOT_SECRET_KEY=$AWS_SECRET_ACCESS_KEY \
	"$vgw" --port "127.0.0.1:$s3port" --keep-alive --quiet posix "$work/s3" >"$work/versitygw.log" 2>&1 &
vgw_pid=$!
pids+=($vgw_pid)
wait_http "http://127.0.0.1:$s3port/"

export WSUS_DATA="$work/data"
export WSUS_S3_ENDPOINT="http://127.0.0.1:$s3port"
export WSUS_S3_BUCKET=wsus-bench
export WSUS_S3_REGION=us-east-1
export WSUS_S3_PREFIX=content
export WSUS_S3_PATH_STYLE=true

echo "== writing a $size-byte payload and its update"
mkdir -p "$work/catalog/bench"
cp testdata/catalog/microsoft/*.xml "$work/catalog/"
payload="$work/catalog/bench/bench-payload.bin"
head -c "$size" /dev/urandom >"$payload"
sha1=$(openssl dgst -sha1 -binary "$payload" | base64)
sha256=$(openssl dgst -sha256 -binary "$payload" | base64)
sha1hex=$(openssl dgst -sha1 -r "$payload" | cut -c1-40 | tr a-f A-F)
sed -e "s|7f3c1e52-9a4d-4b8e-a1c6-2d5e8f90b3a7|b3c0e5a1-0000-4000-8000-00000000be4c|" \
	-e "s|9Go4qNHQgxPpELEivkb89CzOwqc=|$sha1|" \
	-e "s|jRgy6wv38zwLProjSrDQ6wpiBfEujGoUo0SnUP4/ePU=|$sha256|" \
	-e "s|3080000|$size|g" \
	-e "s|wsus-demo-payload.bin|bench-payload.bin|g" \
	-e "s|payload-100|bench-payload|" \
	-e "s|wsus demo update (download only)|content benchmark update|" \
	testdata/catalog/local/update-software-local-demo-7f3c1e52-r100.xml >"$work/catalog/bench/update.xml"

echo "== importing into S3 (streamed, multipart, SHA-1 and SHA-256 checked)"
/usr/bin/time -f "import: %e s, max RSS %M KB" bin/wsusd import --log-level warn --approve "All Computers" "$work/catalog"
rm -f "$payload" # the clients' copies need the disk

echo "== serving on 127.0.0.1:$httpport (and a presign replica on :$presignport)"
bin/wsusd serve --log-level warn --listen "127.0.0.1:$httpport" &
wsusd_pid=$!
pids+=($wsusd_pid)
bin/wsusd serve --log-level warn --listen "127.0.0.1:$presignport" --content-redirect presign &
presign_pid=$!
pids+=($presign_pid)
wait_http "http://127.0.0.1:$httpport/healthz"
wait_http "http://127.0.0.1:$presignport/healthz"
path="/Content/${sha1hex:38:2}/$sha1hex.bin"
through="http://127.0.0.1:$httpport$path"
direct=$(curl -s -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$presignport$path")
case "$direct" in "http://127.0.0.1:$s3port/"*) ;; *) echo "bench-content: no presigned URL: $direct" >&2; exit 1 ;; esac

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system clock ticks
hz=$(getconf CLK_TCK)

echo "== 1 MiB ranged GETs, $conns connections, $duration each: directly from S3, through wsusd, and via wsusd's 302 to a presigned URL"
results=()
for round in 1 2; do
	for target in direct through redirect; do
		server_pid=$wsusd_pid
		case $target in
		direct) url=$direct ;;
		through) url=$through ;;
		redirect) url="http://127.0.0.1:$presignport$path" server_pid=$presign_pid ;;
		esac
		v0=$(cpu "$vgw_pid"); w0=$(cpu "$server_pid")
		line=$(/usr/bin/time -f "%U %S" -o "$work/client.time" "$work/rangebench" -url "$url" -conns "$conns" -duration "$duration")
		v1=$(cpu "$vgw_pid"); w1=$(cpu "$server_pid")
		echo "round $round, $target: $line"
		awk -v v=$((v1 - v0)) -v w=$((w1 - w0)) -v hz="$hz" '{ printf "    CPU seconds: versitygw %.1f, wsusd %.1f, client %.1f\n", v/hz, w/hz, $1 + $2 }' "$work/client.time"
		results+=("$target $(echo "$line" | sed -n 's/.*: \([0-9.]*\) MiB\/s.*/\1/p')")
	done
done
printf '%s\n' "${results[@]}" | awk '
	{ sum[$1] += $2; n[$1]++ }
	END {
		d = sum["direct"]/n["direct"]; w = sum["through"]/n["through"]; r = sum["redirect"]/n["redirect"]
		printf "throughput (means of %d runs): direct %.1f MiB/s; through wsusd %.1f MiB/s, ratio %.2f; wsusd redirecting to S3 %.1f MiB/s, ratio %.2f\n", n["direct"], d, w, w/d, r, r/d
	}'
grep -E 'VmRSS|VmHWM' "/proc/$wsusd_pid/status" | tr -s ' \t' ' ' | paste -sd ' ' | sed 's/^/wsusd after the throughput runs: /'

echo "== $clients clients, each downloading the $size-byte payload in shuffled 1 MiB ranges (fresh wsusd)"
kill "$wsusd_pid"
wait "$wsusd_pid" 2>/dev/null || true
bin/wsusd serve --log-level warn --listen "127.0.0.1:$httpport" &
wsusd_pid=$!
pids+=($wsusd_pid)
wait_http "http://127.0.0.1:$httpport/healthz"
TMPDIR="$work" /usr/bin/time -f "clientsim load: %e s" bin/clientsim load --server "http://127.0.0.1:$httpport" \
	--clients "$clients" --mode first-scan --iterations 1 --downloads --duration 60m --request-timeout 120s \
	--server-pid "$wsusd_pid"
