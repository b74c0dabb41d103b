#!/usr/bin/env bash
# bench-content-sync.sh: the content sync figure of issue 9, on this machine,
# everything on loopback: content download through the sync job's
# Downloader (sync/download) into the filesystem blob store against a plain
# HTTP download of the same files from the same upstream, same run,
# interleaved. The issue asks the Downloader for at least 0.8 of the plain
# download's throughput.
#
# It runs BenchmarkDownloadVsPlainHTTP (sync/download/bench_test.go): an
# httptest upstream serves FILES files of MIB MiB (random bytes, held in
# memory); each round downloads all of them four ways, in rotating order,
# PARALLEL at once, with sync(2) between steps (untimed):
#   plain         http.Get + io.Copy to a file, SHA-1 hashed, no fsync
#   plain-fsync   the same plus fsync of each file (the durability Put gives)
#   plain-verify  the same plus SHA-256 (the digests Put checks)
#   sync          Downloader.Download into storage.FS (SHA-1 and SHA-256
#                 verified, fsync, rename)
# and prints the throughputs, the ratios of sync to each over the whole run
# and the medians of the rounds' ratios. sync/plain is the issue's figure;
# the other two tell how much of the gap is durability and verification.
#
# Usage: scripts/bench-content-sync.sh [FILES] [MIB] [ROUNDS] [PARALLEL] [DIR]
# (defaults 64 8 6 4 and the test's temporary directory; DIR=/dev/shm takes
# the disk out of the figure). Needs FILES × MIB MiB of memory for the
# upstream and as much disk under DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

files=${1:-64}
mib=${2:-8}
rounds=${3:-6}
parallel=${4:-4}
dir=${5:-}

echo "== $files files of $mib MiB, $rounds rounds, $parallel at once, dir ${dir:-(go test temporary directory)}"
out=$(WSUS_BENCH_FILES=$files WSUS_BENCH_FILE_MIB=$mib WSUS_BENCH_PARALLEL=$parallel WSUS_BENCH_DIR=$dir \
	go test -run '^$' -bench '^BenchmarkDownloadVsPlainHTTP$' -benchtime "${rounds}x" -count 1 ./sync/download)
echo "$out" | grep -E '^(goos|goarch|cpu|Benchmark)'
line=$(echo "$out" | grep '^BenchmarkDownloadVsPlainHTTP')
metric() { echo "$line" | awk -v unit="$1" '{for (i = 2; i <= NF; i++) if ($i == unit) print $(i-1)}'; }
echo
for step in plain plain-fsync plain-verify sync; do
	printf '%-13s %8s MB/s\n' "$step" "$(metric "$step-MB/s")"
done
for step in plain plain-fsync plain-verify; do
	printf 'sync/%-13s %s (median of rounds %s)\n' "$step" "$(metric "sync/$step")" "$(metric "median-sync/$step")"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
