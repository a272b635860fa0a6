#!/usr/bin/env bash
# bench/plugins.sh: throughput of the filter example plugin in each SDK
# language (and the hand-written WAT plugin) through the sluice host, in
# rows/s and as a ratio to a native Go implementation of the same filter.
#
#   bench/plugins.sh [-benchtime 2s] [-count 1]
#
# It runs BenchmarkFilter of plugins/conformance (bench_test.go: pages of
# 1000 rows of 10 mixed columns, `n == 0` on an int column, half the rows
# kept) and prints a Markdown table. The raw `go test` output is kept in
# $TMPDIR/sluice-bench-plugins.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCHTIME=2s
COUNT=1
while [ $# -gt 0 ]; do
  case "$1" in
    -benchtime) BENCHTIME=$2; shift 2 ;;
    -count) COUNT=$2; shift 2 ;;
    -h|-help|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "plugins.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
RAW="${TMPDIR:-/tmp}/sluice-bench-plugins.txt"
cd "$ROOT"
echo "bench/plugins.sh: go test -run '^\$' -bench '^BenchmarkFilter\$' -benchtime $BENCHTIME -count $COUNT ./plugins/conformance" >&2
go test -run '^$' -bench '^BenchmarkFilter$' -benchtime "$BENCHTIME" -count "$COUNT" ./plugins/conformance | tee "$RAW" >&2

# Average the rows/s of each sub-benchmark over -count runs, then print the
# table with each language's ratio to native.
awk '
  /^BenchmarkFilter\// {
    name = $1; sub(/^BenchmarkFilter\//, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 2; i < NF; i++) {
      if ($(i+1) == "rows/s") { rows[name] += $i; n[name]++ }
      if ($(i+1) == "ns/row") { nsrow[name] += $i }
    }
    if (!(name in seen)) { seen[name] = 1; order[++k] = name }
  }
  END {
    if (!("native" in n)) { print "plugins.sh: no native result" > "/dev/stderr"; exit 1 }
    native = rows["native"] / n["native"]
    printf "| plugin | rows/s | ns/row | ratio to native |\n|---|---:|---:|---:|\n"
    for (j = 1; j <= k; j++) {
      name = order[j]
      r = rows[name] / n[name]
      printf "| %s | %.0f | %.1f | %.4f (1/%.0f) |\n", name, r, nsrow[name] / n[name], r / native, native / r
    }
  }' "$RAW"
