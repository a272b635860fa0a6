#!/usr/bin/env bash
# bench/verify.sh: the cost of `sluice verify` against a plain scan of the
# same table, measured side by side in one run on the local node.
#
#   bench/verify.sh [--rows N] [--rounds R] [--shards S]
#
# It loads demo.events (N rows, default 100000; skipped when loaded), then
# in each of R rounds (default 3) runs, one after the other:
#   scan:   sluice run   S processes (-shard i/S, JOB_COMPLETION_INDEX-free),
#           no plugin, a JSONL file sink, checkpoints and leases in Cassandra
#   verify: sluice verify, S processes (-part auto/S): the checkpoints and a
#           re-read of every range, split over the processes as the scan was
# and prints the median wall time of each and their ratio. Both page with
# the same page size, splits and concurrency.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROWS=100000
ROUNDS=3
SHARDS=2
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --shards) SHARDS=$2; shift 2 ;;
    -h|-help|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "verify.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
scripts/cassandra start >&2
go build -o .cache/bench/bin/sluice ./cmd/sluice
go run ./internal/cmd/demoload -rows "$ROWS" >&2
BIN=$ROOT/.cache/bench/bin/sluice
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cat > "$DIR/bench.toml" <<TOML
[cassandra]
hosts = ["127.0.0.1:9042"]
keyspace = "demo"
consistency = "ONE"
[runtime]
progress = "off"
log_level = "warn"
[checkpoint]
store = "cassandra"
keyspace = "demo"
table = "bench_verify_checkpoints"
interval = "5s"
lease_ttl = "10s"
[[stream]]
name = "bench-verify"
shard = "auto/$SHARDS"
  [stream.source]
  table = "events"
  page_size = 5000
  splits = 32
  concurrency = 4
  [[stream.sink]]
  type = "file"
  format = "jsonl"
  path = "out/{shard}.jsonl"
TOML
now() { date +%s.%N; }
scan=() verify=()
for r in $(seq "$ROUNDS"); do
  t0=$(now)
  pids=()
  for i in $(seq 0 $((SHARDS - 1))); do
    JOB_COMPLETION_INDEX=$i "$BIN" run -config "$DIR/bench.toml" 2>"$DIR/run-$i.log" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { cat "$DIR"/run-*.log >&2; exit 1; }; done
  t1=$(now)
  pids=()
  for i in $(seq 0 $((SHARDS - 1))); do
    JOB_COMPLETION_INDEX=$i "$BIN" verify -config "$DIR/bench.toml" -part "auto/$SHARDS" >"$DIR/verify-$i.out" 2>"$DIR/verify-$i.log" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { cat "$DIR"/verify-*.out "$DIR"/verify-*.log >&2; exit 1; }; done
  t2=$(now)
  scan+=("$(echo "$t1 - $t0" | bc)") verify+=("$(echo "$t2 - $t1" | bc)")
  echo "round $r: scan ${scan[-1]}s, verify ${verify[-1]}s" >&2
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ms=$(median "${scan[@]}") mv=$(median "${verify[@]}")
echo "| rows | shards | scan (median of $ROUNDS) | verify (median) | verify / scan |"
echo "|---:|---:|---:|---:|---:|"
printf '| %d | %d | %.2f s | %.2f s | %.2f |\n' "$ROWS" "$SHARDS" "$ms" "$mv" "$(echo "$mv / $ms" | bc -l)"
grep -h -E 'differ|cover' "$DIR"/verify-*.out >&2
