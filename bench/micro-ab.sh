#!/usr/bin/env bash
# bench/micro-ab.sh: the JSON/CSV rendering micro-benchmarks (abi's
# AppendJSONCell and AppendJSONRowWide, internal/sink's Render*Wide) of a
# base commit against the working tree, side by side in one run.
#
#   bench/micro-ab.sh [--base REV] [--rounds R] [--out DIR] [--callgrind]
#
# It builds the test binaries of both (the base from a temporary git
# worktree), then runs them interleaved, base then new, R times (default 8),
# and prints benchstat's comparison (golang.org/x/perf/cmd/benchstat,
# installed by scripts/install-deps). Interleaving spreads the load of a
# shared machine over both sides; the figures are ratios, not absolutes.
# These are micro-benchmarks of rendering alone, not bench/run's
# end-to-end CPU per row. With --callgrind it also counts the instructions
# per row of BenchmarkRenderJSONLWide and BenchmarkAppendJSONRowWide under
# valgrind, which the machine's load does not move: each binary runs at two
# iteration counts and the difference is divided by the difference in rows
# (so building the page is not counted).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE=HEAD
ROUNDS=8
OUT=
CALLGRIND=
while [ $# -gt 0 ]; do
  case "$1" in
    --base) BASE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --callgrind) CALLGRIND=1; shift ;;
    -h|-help|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "micro-ab.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
BENCHSTAT=$(command -v benchstat || echo "$(go env GOPATH)/bin/benchstat")
[ -x "$BENCHSTAT" ] || { echo "micro-ab.sh: benchstat not found (run scripts/install-deps)" >&2; exit 1; }
WT=$(mktemp -d)
trap 'git worktree remove --force "$WT" >/dev/null 2>&1 || true' EXIT
git worktree add --detach "$WT" "$BASE" >/dev/null 2>&1
(cd "$WT" && go test -c -o "$OUT/abi.base" ./abi && go test -c -o "$OUT/sink.base" ./internal/sink)
go test -c -o "$OUT/abi.new" ./abi
go test -c -o "$OUT/sink.new" ./internal/sink
rm -f "$OUT"/{abi,sink}.{base,new}.txt
for r in $(seq "$ROUNDS"); do
  echo "round $r/$ROUNDS" >&2
  for v in base new; do
    "$OUT/abi.$v" -test.run '^$' -test.bench 'AppendJSONCell|AppendJSONRowWide' -test.benchtime 200ms >>"$OUT/abi.$v.txt"
    "$OUT/sink.$v" -test.run '^$' -test.bench 'Render(JSONL|CSV)Wide' -test.benchtime 1s >>"$OUT/sink.$v.txt"
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BENCHSTAT" -filter '.unit:sec/op' "$OUT/abi.base.txt" "$OUT/abi.new.txt"
"$BENCHSTAT" -filter '.unit:(sec/op OR sec/row)' "$OUT/sink.base.txt" "$OUT/sink.new.txt"
if [ -n "$CALLGRIND" ]; then
  # Go's preemption signals upset callgrind: no async preemption, one P.
  ir() { # binary bench iterations -> instructions of the whole run
    GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      "$1" -test.run '^$' -test.bench "$2" -test.benchtime "$3x" 2>&1 >/dev/null | sed -n 's/.*Collected : //p'
  }
  # package:benchmark:rows per op:iterations low:high (enough rows in the
  # difference that the runtime's own background work is lost in it)
  for spec in "sink:^BenchmarkRenderJSONLWide\$:5000:5:25" "abi:^BenchmarkAppendJSONRowWide\$:1:1000:21000"; do
    IFS=: read -r pkg bench rows n1 n2 <<<"$spec"
    for v in base new; do
      lo=$(ir "$OUT/$pkg.$v" "$bench" "$n1") hi=$(ir "$OUT/$pkg.$v" "$bench" "$n2")
      echo "$pkg $bench $v: $(( (hi - lo) / (n2 - n1) / rows )) instructions per row"
    done
  done
fi
echo "raw results in $OUT" >&2
