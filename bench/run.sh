#!/usr/bin/env bash
# The benchmark: the shardimpute CLI against DuckDB doing the same job
# (pass 1 over train, pass 2 over train/val/test), on CSV and on Parquet.
# Prints wall time, throughput (MB of input per second) and peak RSS, and
# the ratios the targets are stated in. See bench/README.md.
#
#   make bench                       # full size: 30+5+5 shards x 20,000 rows
#   BENCH_ROWS=2000 BENCH_DATA=bench-data/small bench/run.sh   # a quick run
#   BENCH_REPEAT=3 bench/run.sh      # best of 3 per contender
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${BENCH_ROWS:-20000}
TRAIN=${BENCH_TRAIN_SHARDS:-30}
EVAL=${BENCH_EVAL_SHARDS:-5}
REPEAT=${BENCH_REPEAT:-1}
DATA=${BENCH_DATA:-bench-data}
PY=.venv/bin/python
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

for fmt in csv parquet; do
  if [ ! -d "$DATA/$fmt" ]; then
    $PY bench/gen_data.py --out "$DATA/$fmt" --format "$fmt" --train-shards "$TRAIN" \
      --val-shards "$EVAL" --test-shards "$EVAL" --rows "$ROWS" --seed 3 >&2
  fi
done
cargo build --release -q -p shardimpute
CLI=target/release/shardimpute

# best of $REPEAT runs: prints "wall rss"
best() {
  local best="" line
  for _ in $(seq "$REPEAT"); do
    rm -rf "$OUT/run"
    line=$($PY bench/measure.py -- "$@")
    if [ -z "$best" ] || awk -v a="${line% *}" -v b="${best% *}" 'BEGIN { exit !(a < b) }'; then
      best=$line
    fi
  done
  echo "$best"
}

count_outputs() { find "$OUT/run" -path '*/model_artifacts' -prune -o -type f -name 'part-*' -print | wc -l; }

printf '%-8s %-12s %8s %9s %10s\n' set tool "wall s" "MB/s" "peak MB"
summary=()
for fmt in csv parquet; do
  input="$DATA/$fmt"
  bytes=$(find "$input" -type f -name 'part-*' -printf '%s\n' | awk '{ s += $1 } END { print s }')
  shards=$(find "$input" -type f -name 'part-*' | wc -l)
  read -r cli_wall cli_rss < <(best "$CLI" run --job-type training --input "$input" --output "$OUT/run" --quiet)
  [ "$(count_outputs)" -eq "$shards" ] || { echo "bench: the CLI wrote $(count_outputs) of $shards shards" >&2; exit 1; }
  read -r duck_wall duck_rss < <(best "$PY" bench/duckdb_job.py "$input" "$OUT/run")
  [ "$(count_outputs)" -eq "$shards" ] || { echo "bench: DuckDB wrote $(count_outputs) of $shards shards" >&2; exit 1; }
  for row in "shardimpute $cli_wall $cli_rss" "duckdb $duck_wall $duck_rss"; do
    read -r tool wall rss <<<"$row"
    awk -v f="$fmt" -v t="$tool" -v w="$wall" -v r="$rss" -v b="$bytes" \
      'BEGIN { printf "%-8s %-12s %8.2f %9.1f %10.0f\n", f, t, w, b / 1e6 / w, r }'
  done
  target=$([ "$fmt" = csv ] && echo 10 || echo 3)
  summary+=("$(awk -v f="$fmt" -v c="$cli_wall" -v d="$duck_wall" -v r="$cli_rss" -v t="$target" -v mb="$bytes" -v n="$shards" \
    'BEGIN { x = d / c; printf "%s (%d shards, %.1f MB): shardimpute is %.1fx faster than DuckDB (target %dx: %s); peak RSS %.0f MB (target < 300: %s)",
      f, n, mb / 1e6, x, t, (x >= t ? "met" : "MISSED"), r, (r < 300 ? "met" : "MISSED") }')")
done
echo
printf '%s\n' "${summary[@]}"
echo "($(nproc) cores; best of $REPEAT; input MB = 1e6 bytes of shard files, all splits)"

if [ -x bench/browser.sh ]; then
  echo
  BENCH_DATA="$DATA" bench/browser.sh
fi
