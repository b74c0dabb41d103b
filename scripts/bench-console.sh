#!/usr/bin/env bash
# bench-console.sh: the web console's time to first render at the scale of
# issue 13 (50,000 updates, 100,000 computers), measured in a real headless
# Chromium, everything on loopback.
#
#   1. scripts/benchcompliance -seed-only seeds a data directory's
#      catalog.db: UPDATES generated updates imported through the store,
#      COMPUTERS computers with PER reported states each (5 million rows at
#      the defaults), RebuildCompliance, ANALYZE;
#   2. go test ./e2e -run TestConsoleRenderTiming -console.data DIR builds
#      wsusd, serves that directory, signs in to the console in Chromium and
#      loads the overview and the updates page REPS times each (after one
#      warm-up load), printing the medians of what the browser measured:
#      first byte, DOMContentLoaded and first contentful paint (Navigation
#      and Paint Timing), in ms from the navigation's start.
#
# Seeding takes minutes; BENCH_CONSOLE_DATA=DIR keeps the seeded directory
# there, and a later run with the same DIR (its catalog.db present) times it
# again without seeding. Without it the directory is temporary and removed.
# The machine's load is printed before and after: the numbers are only
# comparable at a similar load.
#
# Usage: scripts/bench-console.sh [UPDATES] [COMPUTERS] [PER] [REPS]
# (defaults 50000 100000 50 5). Needs Chromium (scripts/ensure-chromium.sh)
# and about 3 GB of disk. Not part of make test.
set -euo pipefail
cd "$(dirname "$0")/.."

updates=${1:-50000}
computers=${2:-100000}
per=${3:-50}
reps=${4:-5}
for n in "$updates" "$computers" "$per" "$reps"; do
	case $n in '' | *[!0-9]*) echo "usage: scripts/bench-console.sh [UPDATES] [COMPUTERS] [PER] [REPS]" >&2; exit 2 ;; esac
done
sh scripts/ensure-chromium.sh

if [ -n "${BENCH_CONSOLE_DATA:-}" ]; then
	data=$BENCH_CONSOLE_DATA
	mkdir -p "$data"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/wsus-bench-console.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	data=$work/data
	mkdir -p "$data"
fi

echo "== machine: $(nproc) cores, $(uptime | sed 's/.*load/load/')"
if [ -e "$data/catalog.db" ]; then
	echo "== $data/catalog.db is there: timing it as it is (remove it to seed again)"
else
	echo "== seeding $data/catalog.db: $updates updates, $computers computers, $per states each"
	go run ./scripts/benchcompliance -seed-only -sqlite "$data/catalog.db" \
		-updates "$updates" -computers "$computers" -per "$per"
fi

echo "== wsusd serve over $data, the console in headless Chromium, $reps loads of each page"
# -v prints the test's log lines: the catalog's size and one line per page.
log=$(mktemp "${TMPDIR:-/tmp}/wsus-bench-console-log.XXXXXX")
if ! go test ./e2e -run '^TestConsoleRenderTiming$' -count=1 -v -timeout 30m \
	-console.data "$data" -console.reps "$reps" >"$log" 2>&1; then
	cat "$log" >&2
	rm -f "$log"
	exit 1
fi
grep -E 'render timing|first contentful paint' "$log" | sed 's/^ *console_test.go:[0-9]*: //'
rm -f "$log"
echo "== machine after: $(uptime | sed 's/.*load/load/')"
