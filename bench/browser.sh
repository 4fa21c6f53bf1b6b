#!/usr/bin/env bash
# Browser benchmark: the web app in headless Chromium, threaded (served with
# COOP/COEP) and single-threaded (without), on bench-data/csv and
# bench-data/parquet, next to the native CLI timed here on the same input.
# Prints wall seconds and MB/s (input bytes / wall) per mode and set.
#
#   bench/browser.sh                     # after bench/run.sh made bench-data/
#   BENCH_DATA=bench-data/small bench/browser.sh
#   BENCH_BROWSER_CSV=DIR BENCH_BROWSER_PARQUET=DIR bench/browser.sh
#                                        # other inputs (bench/run.sh does this)
#
# Needs `make dist` (built here if dist/ is missing) and Chromium +
# playwright-core (scripts/setup.sh browser).
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${BENCH_DATA:-bench-data}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

scripts/setup.sh browser >&2
[ -f dist/index.html ] && [ -f dist/st/shardimpute_wasm.js ] || make dist >&2
cargo build --release -q -p shardimpute
CLI=target/release/shardimpute

now() { date +%s.%N; }

printf '%-8s %-28s %8s %9s\n' set run "wall s" "MB/s"
for fmt in csv parquet; do
  var=BENCH_BROWSER_${fmt^^}
  input=${!var:-$DATA/$fmt}
  if [ ! -d "$input" ]; then
    echo "browser bench: $input missing (bench/run.sh creates it), skipped" >&2
    continue
  fi
  bytes=$(find "$input" -type f -name 'part-*' -printf '%s\n' | awk '{ s += $1 } END { print s }')
  row() { awk -v f="$fmt" -v r="$1" -v w="$2" -v b="$bytes" 'BEGIN { printf "%-8s %-28s %8.2f %9.1f\n", f, r, w, b / 1e6 / w }'; }

  rm -rf "$OUT/cli"
  t0=$(now)
  "$CLI" run --job-type training --input "$input" --output "$OUT/cli" --quiet 2>"$OUT/cli.err" \
    || { cat "$OUT/cli.err" >&2; exit 1; }
  row "native CLI ($(nproc) cores)" "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')"

  for mode in threads single; do
    line=$(node bench/browser-run.mjs --input "$input" --mode "$mode")
    wall=${line%%$'\t'*}
    shown=$(cut -f2 <<<"$line")
    row "browser, $shown" "$wall"
  done
done
