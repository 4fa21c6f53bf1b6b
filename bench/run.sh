#!/usr/bin/env bash
# The benchmark: the shardimpute CLI against DuckDB doing the same job
# (pass 1 over train, pass 2 over train/val/test), on CSV and on Parquet.
# Prints wall time, throughput (MB of input per second), peak RSS, the
# DuckDB/CLI wall ratio and whether the targets are met. See bench/README.md.
#
#   make bench                        # full size: 30+5+5 shards x 20,000 rows
#   BENCH_ROWS=2000 bench/run.sh      # a quick run (its own data folder)
#   BENCH_REPEAT=3 bench/run.sh       # best of 3 per contender
#   BENCH_BROWSER=0 bench/run.sh      # skip bench/browser.sh
#   BENCH_DUCKDB_JOBS=2 bench/run.sh  # DuckDB copies 2 shards at a time
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

ROWS=${BENCH_ROWS:-20000}
TRAIN=${BENCH_TRAIN_SHARDS:-30}
EVAL=${BENCH_EVAL_SHARDS:-5}
REPEAT=${BENCH_REPEAT:-1}
DUCKDB_JOBS=${BENCH_DUCKDB_JOBS:-1}
SEED=3
# the full-size set lives in bench-data/, other sizes in their own folder
if [ "$ROWS/$TRAIN/$EVAL" = 20000/30/5 ]; then
  DATA=${BENCH_DATA:-bench-data}
else
  DATA=${BENCH_DATA:-bench-data/r${ROWS}-t${TRAIN}-e${EVAL}}
fi
PY=.venv/bin/python
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

shard_count() { find "$1" -path '*/model_artifacts' -prune -o -type f -name 'part-*' -print | wc -l; }

# the data, made once (into a temporary folder, renamed when complete)
for fmt in csv parquet; do
  if [ ! -d "$DATA/$fmt" ]; then
    rm -rf "$DATA/$fmt.partial"
    $PY bench/gen_data.py --out "$DATA/$fmt.partial" --format "$fmt" --train-shards "$TRAIN" \
      --val-shards "$EVAL" --test-shards "$EVAL" --rows "$ROWS" --seed "$SEED" >&2
    mv "$DATA/$fmt.partial" "$DATA/$fmt"
  fi
  n=$(shard_count "$DATA/$fmt")
  if [ "$n" -ne $((TRAIN + 2 * EVAL)) ]; then
    echo "bench: $DATA/$fmt has $n shards, expected $((TRAIN + 2 * EVAL)); remove it to regenerate" >&2
    exit 1
  fi
done

cargo build --release -q -p shardimpute
CLI=target/release/shardimpute

# best of $REPEAT runs of a command into $OUT/run; sets WALL and RSS
best() {
  local wall rss
  WALL="" RSS=""
  for _ in $(seq "$REPEAT"); do
    rm -rf "$OUT/run"
    read -r wall rss <<<"$($PY bench/measure.py -- "$@")"
    if [ -z "$WALL" ] || awk -v a="$wall" -v b="$WALL" 'BEGIN { exit !(a < b) }'; then
      WALL=$wall RSS=$rss
    fi
  done
}

# every input shard must have an output shard
check_outputs() {
  local got
  got=$(shard_count "$OUT/run")
  [ "$got" -eq "$2" ] || { echo "bench: $1 wrote $got of $2 shards" >&2; exit 1; }
}

rows=()
checks=()
for fmt in csv parquet; do
  input="$DATA/$fmt"
  bytes=$(find "$input" -type f -name 'part-*' -printf '%s\n' | awk '{ s += $1 } END { print s }')
  shards=$(shard_count "$input")

  # back to back: the CLI, then DuckDB, on the same (cached) input
  best "$CLI" run --job-type training --input "$input" --output "$OUT/run" --quiet
  check_outputs shardimpute "$shards"
  cli_wall=$WALL cli_rss=$RSS
  best "$PY" bench/duckdb_job.py "$input" "$OUT/run" --jobs "$DUCKDB_JOBS"
  check_outputs DuckDB "$shards"
  duck_wall=$WALL duck_rss=$RSS

  row() {
    awk -v f="$fmt" -v t="$1" -v w="$2" -v r="$3" -v b="$bytes" -v x="$4" \
      'BEGIN { printf "%-8s %-12s %8.2f %9.1f %12.0f %12s\n", f, t, w, b / 1e6 / w, r, x }'
  }
  rows+=("$(row shardimpute "$cli_wall" "$cli_rss" "")")
  rows+=("$(row duckdb "$duck_wall" "$duck_rss" "$(awk -v d="$duck_wall" -v c="$cli_wall" 'BEGIN { printf "%.2fx", d / c }')")")

  target=$([ "$fmt" = csv ] && echo 10 || echo 3)
  checks+=("$(awk -v f="$fmt" -v c="$cli_wall" -v d="$duck_wall" -v r="$cli_rss" -v t="$target" \
    -v mb="$bytes" -v n="$shards" 'BEGIN {
      x = d / c
      printf "%-8s %2d shards %6.1f MB: CLI %5.2fx faster than DuckDB (target %2dx: %-6s)  CLI peak RSS %4.0f MB (target < 300 MB: %s)",
        f, n, mb / 1e6, x, t, (x >= t ? "met" : "MISSED"), r, (r < 300 ? "met" : "MISSED") }')")
done

printf '%-8s %-12s %8s %9s %12s %12s\n' set tool "wall s" "MB/s" "peak RSS MB" "DuckDB/CLI"
printf '%s\n' "${rows[@]}"
echo
printf '%s\n' "${checks[@]}"
echo "($(nproc) cores; best of $REPEAT; DuckDB copies $DUCKDB_JOBS shard(s) at a time; MB = 1e6 bytes of input shard files, all splits;" \
  "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- core cli Cargo.lock 2>/dev/null || echo ', core/cli modified'))"

if [ "${BENCH_BROWSER:-1}" != 0 ] && [ -x bench/browser.sh ]; then
  echo
  BENCH_DATA="$DATA" bench/browser.sh
fi
