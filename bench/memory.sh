#!/usr/bin/env bash
# Peak memory of a whole training job as the number of shards grows.
#
# Runs the release CLI (2 threads) on bench/gen_data.py's data at two shard
# counts (16 and 76 train shards of MEMORY_ROWS rows, 2+2 eval shards),
# without the high-cardinality text column, then on the 30+5+5 set with
# every column, and prints peak RSS (median of 3 runs) and the 76/16 ratio. Pass 1 must not
# grow with the shard count (target: ratio <= 1.25; every column < 300 MB).
#
#   bench/memory.sh                      full size (20,000 rows a shard)
#   MEMORY_ROWS=500 MEMORY_BUILD=debug bench/memory.sh   a quick smoke run (make test)
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${MEMORY_ROWS:-20000}
DATA=${BENCH_DATA:-bench-data}/memory-r$ROWS
PY=.venv-test/bin/python
[ -x "$PY" ] || scripts/setup.sh python
if [ "${MEMORY_BUILD:-release}" = debug ]; then
  cargo build -q -p shardimpute
  BIN=target/debug/shardimpute
else
  cargo build --release -q -p shardimpute
  BIN=target/release/shardimpute
fi

make_set() { # name train eval
  local out="$DATA/$1"
  if [ ! -d "$out" ]; then
    $PY bench/gen_data.py --out "$out.partial" --format csv --train-shards "$2" \
      --val-shards "$3" --test-shards "$3" --rows "$ROWS" --seed 11 >/dev/null
    mv "$out.partial" "$out"
  fi
}

peak() { # name [VAR=value ...]: prints the median of 3 runs' peak RSS in MB
  local set=$1
  shift
  local out
  out=$(mktemp -d)
  for run in 1 2 3; do
    env "$@" $PY bench/measure.py -- "$BIN" run --job-type training --input "$DATA/$set" \
      --output "$out/$run" --threads 2 --quiet 2>/dev/null | awk '{print $2}'
  done | sort -n | sed -n 2p
  rm -rf "$out"
}

make_set t16 16 2
make_set t76 76 2
make_set t30 30 5
small=$(peak t16 EXCLUDE_COLUMNS=text_free)
large=$(peak t76 EXCLUDE_COLUMNS=text_free)
all=$(peak t30)
ratio=$(awk -v a="$large" -v b="$small" 'BEGIN { printf "%.2f", a / b }')
printf '%-44s %10s\n' "set ($ROWS rows a shard, 2 threads)" "peak MB"
printf '%-44s %10s\n' "16 train shards, text_free excluded" "$small"
printf '%-44s %10s\n' "76 train shards, text_free excluded" "$large"
printf '%-44s %10s\n' "30+5+5 shards, every column" "$all"
printf '%-44s %10s\n' "ratio 76 / 16 (target <= 1.25)" "$ratio"
awk -v r="$ratio" -v a="$all" -v rows="$ROWS" 'BEGIN {
  bad = 0
  if (r > 1.25) { print "memory: FAIL: peak memory grows with the shard count"; bad = 1 }
  if (rows >= 20000 && a >= 300) { print "memory: FAIL: every column needs 300 MB or more"; bad = 1 }
  exit bad }'
