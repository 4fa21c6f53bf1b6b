#!/usr/bin/env bash
# The benchmark: the shardimpute CLI, Polars and DuckDB doing the same job
# (pass 1 over train, pass 2 over train/val/test) on the same data, runs
# interleaved (each repeat runs every contender on every set), median of
# BENCH_REPEAT runs each. Prints one table per set (wall s, MB/s, ms/MB,
# peak RSS, ratio to shardimpute), the cost per MB
# across the CSV sets, and the targets with PASS/FAIL. Stops with an error
# if a contender writes fewer shards or computes other fill values than
# shardimpute. See bench/README.md.
#
#   make bench                                  # every set, median of 3
#   BENCH_SETS=issue bench/run.sh               # csv-60,parquet-60,csv-100,parquet-100
#   BENCH_SETS=sweep bench/run.sh               # csv-30,csv-100,csv-300
#   BENCH_SETS=csv-60 BENCH_REPEAT=1 bench/run.sh
#   BENCH_ROWS=2000 BENCH_REPEAT=1 bench/run.sh # a quick run (its own data folder)
#   make bench-smoke                            # tiny sets, debug build, 1 run
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

ROWS=${BENCH_ROWS:-30000}
REPEAT=${BENCH_REPEAT:-3}
THREADS=${BENCH_THREADS:-2}
DUCKDB_JOBS=${BENCH_DUCKDB_JOBS:-$THREADS}
SETS=${BENCH_SETS:-all}
CONTENDERS=${BENCH_CONTENDERS:-shardimpute,polars,duckdb}
SEED=11
DATA=${BENCH_DATA:-bench-data}/r$ROWS-s$SEED
PY=.venv/bin/python
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

case "$SETS" in
  all) SETS=csv-60,parquet-60,csv-100,parquet-100,csv-30,csv-300 ;;
  issue) SETS=csv-60,parquet-60,csv-100,parquet-100 ;;
  sweep) SETS=csv-30,csv-100,csv-300 ;;
esac
IFS=, read -r -a SETS <<<"$SETS"
IFS=, read -r -a CONTENDERS <<<"$CONTENDERS"
[ "${CONTENDERS[0]}" = shardimpute ] || { echo "bench: BENCH_CONTENDERS must start with shardimpute (the reference)" >&2; exit 2; }

# a set name is FORMAT-TRAIN: TRAIN train shards, TRAIN/10 (at least 1) val
# and test shards, ROWS rows each
fmt_of() { echo "${1%-*}"; }
train_of() { echo "${1##*-}"; }
eval_of() { local t=${1##*-}; echo $((t / 10 > 0 ? t / 10 : 1)); }
for set in "${SETS[@]}"; do
  [[ $set =~ ^(csv|parquet)-[1-9][0-9]*$ ]] \
    || { echo "bench: unknown set '$set' (expected csv-N or parquet-N, or all, issue, sweep)" >&2; exit 2; }
done

shard_count() { find "$1" -path '*/model_artifacts' -prune -o -type f -name 'part-*' -print | wc -l; }

# the data, made once per set (into a temporary folder, renamed when complete)
for set in "${SETS[@]}"; do
  fmt=$(fmt_of "$set") train=$(train_of "$set") ev=$(eval_of "$set")
  if [ ! -d "$DATA/$set" ]; then
    rm -rf "$DATA/$set.partial"
    echo "bench: generating $DATA/$set ($train+$ev+$ev shards x $ROWS rows, $fmt)" >&2
    $PY bench/gen_data.py --out "$DATA/$set.partial" --format "$fmt" --train-shards "$train" \
      --val-shards "$ev" --test-shards "$ev" --rows "$ROWS" --seed "$SEED" >&2
    mv "$DATA/$set.partial" "$DATA/$set"
  fi
  n=$(shard_count "$DATA/$set")
  if [ "$n" -ne $((train + 2 * ev)) ]; then
    echo "bench: $DATA/$set has $n shards, expected $((train + 2 * ev)); remove it to regenerate" >&2
    exit 1
  fi
done

if [ -n "${BENCH_CLI:-}" ]; then
  CLI=$BENCH_CLI
elif [ "${BENCH_BUILD:-release}" = debug ]; then
  cargo build -q -p shardimpute
  CLI=target/debug/shardimpute
else
  cargo build --release -q -p shardimpute
  CLI=target/release/shardimpute
fi

# one run of contender $1 on input $2 into $OUT/run; prints `wall rss`
# (shardimpute takes more arguments after those)
run_one() {
  local contender=$1 input=$2
  shift 2
  rm -rf "$OUT/run"
  # the last run's output written back to disk first, not during this one
  # (after a large set, writeback would slow whichever contender runs next)
  sync
  case $contender in
    shardimpute)
      $PY bench/measure.py -- "$CLI" run --job-type training --input "$input" --output "$OUT/run" \
        --threads "$THREADS" --quiet "$@" ;;
    polars)
      $PY bench/measure.py -- env POLARS_MAX_THREADS="$THREADS" "$PY" bench/polars_job.py "$input" "$OUT/run" ;;
    duckdb)
      $PY bench/measure.py -- "$PY" bench/duckdb_job.py "$input" "$OUT/run" --threads "$THREADS" \
        --jobs "$DUCKDB_JOBS" ;;
    *) echo "bench: unknown contender '$contender'" >&2; return 2 ;;
  esac
}

# the string columns of a run's imputation_summary.json ($1) with distinct
# values in at least a tenth of the $2 training rows, as "name<TAB>distinct"
# lines: the high-cardinality text whose counts peak memory grows with
high_cardinality() {
  $PY - "$1" "$2" <<'PY'
import json, sys
summary, rows = json.load(open(sys.argv[1])), int(sys.argv[2])
for c in summary["columns"]:
    if c["distinct"] is not None and c["distinct"] * 10 >= rows:
        print(c["name"], c["distinct"], sep="\t")
PY
}

median() { tr ' ' '\n' | sort -g | awk 'NF { v[n++] = $1 } END { print (n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) }'; }
largest() { tr ' ' '\n' | sort -g | tail -1; }

declare -A WALLS RSSES MB SHARDS HIGH EXCLUDED RSS_WITHOUT
for set in "${SETS[@]}"; do
  SHARDS[$set]=$(shard_count "$DATA/$set")
  MB[$set]=$(find "$DATA/$set" -type f -name 'part-*' -printf '%s\n' | awk '{ s += $1 } END { printf "%.3f", s / 1e6 }')
done
# a repeat runs every set, so each set's median sees the same phases of a
# shared machine (a slow minute would otherwise fall on one set and skew
# the cost per MB across sets)
for r in $(seq "$REPEAT"); do
  for set in "${SETS[@]}"; do
    input="$DATA/$set"
    for c in "${CONTENDERS[@]}"; do
      # stderr kept aside (shardimpute warns about the all-missing column
      # on every run), shown if the run fails
      out=$(run_one "$c" "$input" 2>"$OUT/stderr") \
        || { cat "$OUT/stderr" >&2; echo "bench: $c failed on $set" >&2; exit 1; }
      read -r wall rss <<<"$out"
      got=$(shard_count "$OUT/run")
      [ "$got" -eq "${SHARDS[$set]}" ] || { echo "bench: $c wrote $got of ${SHARDS[$set]} shards of $set" >&2; exit 1; }
      if [ "$r" = 1 ]; then
        if [ "$c" = shardimpute ]; then
          rm -rf "$OUT/ref" && mkdir "$OUT/ref"
          cp "$OUT/run/model_artifacts/impute_dict.json" "$OUT/run/model_artifacts/imputation_summary.json" "$OUT/ref/"
          HIGH[$set]=$(high_cardinality "$OUT/ref/imputation_summary.json" $(($(train_of "$set") * ROWS)))
        else
          $PY bench/check_fills.py "$OUT/ref" "$OUT/run/model_artifacts/impute_dict.json" --name "$c" --set "$set" >&2
        fi
      fi
      WALLS[$set:$c]+="$wall "
      RSSES[$set:$c]+="$rss "
    done
  done
done

# the memory target holds without high-cardinality text: a set with such
# columns runs once more with them excluded (never imputed, never counted)
for set in "${SETS[@]}"; do
  [ -n "${HIGH[$set]:-}" ] || continue
  EXCLUDED[$set]=$(cut -f1 <<<"${HIGH[$set]}" | paste -s -d,)
  out=$(run_one shardimpute "$DATA/$set" --exclude-columns "${EXCLUDED[$set]}" 2>"$OUT/stderr") \
    || { cat "$OUT/stderr" >&2; echo "bench: shardimpute failed on $set without ${EXCLUDED[$set]}" >&2; exit 1; }
  read -r _ RSS_WITHOUT[$set] <<<"$out"
  [ -n "${RSS_WITHOUT[$set]}" ] || { cat "$OUT/stderr" >&2; echo "bench: no peak RSS for $set without ${EXCLUDED[$set]}" >&2; exit 1; }
done

# medians (wall) and the largest peak RSS of the runs
declare -A WALL RSS
for set in "${SETS[@]}"; do
  for c in "${CONTENDERS[@]}"; do
    WALL[$set:$c]=$(median <<<"${WALLS[$set:$c]}")
    RSS[$set:$c]=$(largest <<<"${RSSES[$set:$c]}")
  done
done

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- core cli Cargo.lock 2>/dev/null || echo ', core/cli modified')"
echo "# $(nproc) cores, $THREADS threads per contender, DuckDB copies $DUCKDB_JOBS shard(s) at a time;" \
  "median of $REPEAT (peak RSS: largest of $REPEAT); MB = 1e6 bytes of input shard files, all splits;" \
  "shardimpute ${BENCH_CLI:-${BENCH_BUILD:-release} build, commit $commit};" \
  "polars $($PY -c 'import polars; print(polars.__version__)'), duckdb $($PY -c 'import duckdb; print(duckdb.__version__)')"
for set in "${SETS[@]}"; do
  fmt=$(fmt_of "$set") train=$(train_of "$set") ev=$(eval_of "$set")
  echo
  printf '%s: %s, %d+%d+%d shards x %d rows, %.1f MB\n' "$set" "$fmt" "$train" "$ev" "$ev" "$ROWS" "${MB[$set]}"
  printf '%-12s %8s %9s %8s %12s %8s\n' contender "wall s" "MB/s" "ms/MB" "peak RSS MB" ratio
  for c in "${CONTENDERS[@]}"; do
    awk -v c="$c" -v w="${WALL[$set:$c]}" -v r="${RSS[$set:$c]}" -v mb="${MB[$set]}" -v ref="${WALL[$set:shardimpute]}" \
      'BEGIN { printf "%-12s %8.2f %9.1f %8.2f %12.0f %7.2fx\n", c, w, mb / w, 1000 * w / mb, r, w / ref }'
  done
done

# cost per MB across the CSV sets, smallest to largest
csv_sets=()
for set in "${SETS[@]}"; do [ "$(fmt_of "$set")" = csv ] && csv_sets+=("$(train_of "$set") $set"); done
mapfile -t csv_sets < <(printf '%s\n' "${csv_sets[@]}" | sort -n -u | awk 'NF { print $2 }')
if [ ${#csv_sets[@]} -ge 2 ]; then
  echo
  echo "CSV cost per MB (ms/MB, median wall / input MB) as the set grows"
  printf '%-12s %9s' set MB
  printf ' %12s' "${CONTENDERS[@]}"
  echo
  for set in "${csv_sets[@]}"; do
    printf '%-12s %9.1f' "$set" "${MB[$set]}"
    for c in "${CONTENDERS[@]}"; do
      awk -v w="${WALL[$set:$c]}" -v mb="${MB[$set]}" 'BEGIN { printf " %12.2f", 1000 * w / mb }'
    done
    echo
  done
fi

# the targets (they do not change the exit code)
echo
if [ -z "${BENCH_CLI:-}" ] && [ "${BENCH_BUILD:-release}" = debug ]; then
  echo "targets (debug build: a smoke run, not a measurement)"
else
  echo "targets"
fi
verdict() { awk -v x="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == ">=" ? x >= t : op == "<" ? x < t : x <= t); printf "%s", (ok ? "PASS" : "FAIL") }'; }
has() { [[ " ${CONTENDERS[*]} " == *" $1 "* ]]; }
for set in "${SETS[@]}"; do
  fmt=$(fmt_of "$set")
  for c in polars duckdb; do
    has "$c" || continue
    if [ "$fmt" = csv ]; then t=$([ $c = polars ] && echo 3 || echo 5); else t=$([ $c = polars ] && echo 1.5 || echo 2.5); fi
    x=$(awk -v a="${WALL[$set:$c]}" -v b="${WALL[$set:shardimpute]}" 'BEGIN { printf "%.2f", a / b }')
    printf '%-12s shardimpute %5.2fx faster than %-6s (target >= %sx)  %s\n' "$set" "$x" "$c" "$t" "$(verdict "$x" ">=" "$t")"
  done
  r=${RSS[$set:shardimpute]}
  if [ -z "${HIGH[$set]:-}" ]; then
    printf '%-12s shardimpute peak RSS %4.0f MB          (target < 300 MB)  %s\n' "$set" "$r" "$(verdict "$r" "<" 300)"
  else
    # with high-cardinality text the peak grows with its distinct values
    # (README, "Memory"): the target is the run without those columns
    w=${RSS_WITHOUT[$set]}
    printf '%-12s shardimpute peak RSS %4.0f MB without %s (%4.0f MB with it) (target < 300 MB)  %s\n' \
      "$set" "$w" "${EXCLUDED[$set]}" "$r" "$(verdict "$w" "<" 300)"
    awk -F '\t' -v set="$set" '{ printf "%-12s   high-cardinality text: %s, %d distinct values in training\n", set, $1, $2 }' <<<"${HIGH[$set]}"
  fi
done
if [ ${#csv_sets[@]} -ge 2 ]; then
  small=${csv_sets[0]} large=${csv_sets[-1]}
  x=$(awk -v a="${WALL[$small:shardimpute]}" -v ma="${MB[$small]}" -v b="${WALL[$large:shardimpute]}" -v mb="${MB[$large]}" \
    'BEGIN { p = a / ma; q = b / mb; printf "%.2f", (p > q ? p / q : q / p) }')
  printf '%-12s shardimpute ms/MB differ %.2fx between %s and %s (target <= 1.3x)  %s\n' \
    "CSV sweep" "$x" "$small" "$large" "$(verdict "$x" "<=" 1.3)"
else
  echo "CSV sweep    not measured (needs two CSV sets, e.g. BENCH_SETS=sweep)"
fi

if [ "${BENCH_BROWSER:-0}" != 0 ] && [ -x bench/browser.sh ]; then
  echo
  csv=$(printf '%s\n' "${SETS[@]}" | grep -m1 '^csv-' || true)
  pq=$(printf '%s\n' "${SETS[@]}" | grep -m1 '^parquet-' || true)
  inputs=()
  [ -n "$csv" ] && inputs+=("$DATA/$csv")
  [ -n "$pq" ] && inputs+=("$DATA/$pq")
  [ ${#inputs[@]} -gt 0 ] && BENCH_REPEAT=$REPEAT BENCH_THREADS=$THREADS bench/browser.sh "${inputs[@]}"
fi
