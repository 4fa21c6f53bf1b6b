#!/usr/bin/env bash
# A benchmark set as bench/run.sh makes it: FORMAT (csv, parquet), TRAIN
# training shards (and a tenth as many, at least one, in val and test) of
# ROWS rows, seed 11, under BENCH_DATA (default bench-data). Made when
# missing (into a temporary folder, renamed when complete); prints its path.
#
#   bench/set.sh csv 60 30000    # bench-data/r30000-s11/csv-60
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 3 ] || [[ ! $1 =~ ^(csv|parquet)$ ]] || [[ ! $2 =~ ^[1-9][0-9]*$ ]] || [[ ! $3 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: bench/set.sh csv|parquet TRAIN_SHARDS ROWS" >&2
  exit 2
fi
fmt=$1 train=$2 rows=$3
ev=$((train / 10 > 0 ? train / 10 : 1))
dir=${BENCH_DATA:-bench-data}/r$rows-s11/$fmt-$train
if [ ! -d "$dir" ]; then
  scripts/setup.sh bench >&2
  echo "bench: generating $dir" >&2
  rm -rf "$dir.partial"
  .venv/bin/python bench/gen_data.py --out "$dir.partial" --format "$fmt" --train-shards "$train" \
    --val-shards "$ev" --test-shards "$ev" --rows "$rows" --seed 11 >&2
  mv "$dir.partial" "$dir"
fi
echo "$dir"
