#!/bin/sh
# fuzz.sh: run every fuzz target of the module, one after the other.
#
#   scripts/fuzz.sh                 each target for $FUZZTIME (default 10m)
#   FUZZTIME=20s scripts/fuzz.sh    a short pass over all of them
#   FUZZ_MATCH=Range scripts/fuzz.sh  only the targets whose name or package matches
#
# Targets are found by grepping the *_test.go files for "func FuzzX(". Each
# runs as `go test -run '^$' -fuzz '^FuzzX$' -fuzztime $FUZZTIME ./pkg`,
# with its output in fuzz-logs/<pkg>.<FuzzX>.log. FUZZPARALLEL sets the
# number of fuzzing workers (go test -parallel; default GOMAXPROCS), and
# FUZZMINIMIZETIME how long a new interesting or failing input may be
# minimized (default 10s: the targets behind a store run a few hundred
# inputs a second, and go test's default of 60s would spend short runs
# minimizing).
#
# A target that fails has its failing input written by go test to
# <pkg>/testdata/fuzz/<FuzzX>/, where it stays as a regression case that
# plain `go test` (make test) runs from then on. The script prints, per
# target, the executions counted and whether it failed, and exits 1 when
# any target failed (a crasher, a broken seed, or a build error).
set -u

cd "$(dirname "$0")/.." || exit 2
FUZZTIME=${FUZZTIME:-10m}
FUZZ_MATCH=${FUZZ_MATCH:-}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-10s}
GO=${GO:-go}
LOGS=fuzz-logs
mkdir -p "$LOGS"

# "pkgdir FuzzName" lines, sorted.
targets=$(grep -rE --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*\(' . 2>/dev/null |
	grep -v -e '^\./fuzz-logs/' -e '/testdata/' |
	sed -E 's|^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($|\1 \2|; s|^\./[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($|. \1|' |
	sort -u)
if [ -n "$FUZZ_MATCH" ]; then
	targets=$(printf '%s\n' "$targets" | grep -E -- "$FUZZ_MATCH")
fi
if [ -z "$targets" ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 2
fi

parallel=""
if [ -n "${FUZZPARALLEL:-}" ]; then
	parallel="-parallel $FUZZPARALLEL"
fi

count=$(printf '%s\n' "$targets" | wc -l | tr -d ' ')
echo "fuzz: $count targets, $FUZZTIME each; logs in $LOGS/"
failed=0
summary=""
tab=$(printf '\t')
while IFS=' ' read -r dir name; do
	log="$LOGS/$(printf '%s' "$dir" | tr '/' '_').$name.log"
	printf 'fuzz: %-32s %-28s ' "$name" "./$dir"
	# shellcheck disable=SC2086 # $parallel is empty or two words
	$GO test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" $parallel "./$dir" >"$log" 2>&1
	rc=$?
	# The last progress line: "fuzz: elapsed: 20s, execs: 12345 (617/sec), ...".
	execs=$(grep -E '^fuzz: elapsed: .*, execs: [0-9]+' "$log" | tail -n 1 | sed -E 's/.*, execs: ([0-9]+).*/\1/')
	execs=${execs:-0}
	if [ "$rc" -eq 0 ]; then
		status=ok
	else
		failed=$((failed + 1))
		input=$(grep -E 'Failing input written to ' "$log" | tail -n 1 | sed -E 's/.*Failing input written to //')
		if [ -n "$input" ]; then
			status="FAILED: crasher $dir/$input"
		elif grep -q 'failure while testing seed corpus entry' "$log"; then
			status="FAILED: seed corpus entry $(grep -E 'failure while testing seed corpus entry' "$log" | head -n 1 | sed -E 's/.*entry: //')"
		else
			status="FAILED (exit $rc; see $log)"
		fi
	fi
	echo "execs $execs  $status"
	summary="$summary$name$tab./$dir$tab$execs$tab$status
"
done <<EOF
$targets
EOF

echo
echo "fuzz: summary ($FUZZTIME per target)"
printf '%s' "$summary" | awk -F '\t' '{ printf "  %-32s %-28s %12s  %s\n", $1, $2, $3, $4 }'
if [ "$failed" -gt 0 ]; then
	echo "fuzz: $failed of $count targets failed; failing inputs stay under <pkg>/testdata/fuzz/ as regression cases"
	exit 1
fi
echo "fuzz: all $count targets passed"
