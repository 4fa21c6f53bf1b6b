#!/usr/bin/env bash
# Browser benchmark: the web app in headless Chromium (a normal on-disk
# profile), threaded (served with COOP/COEP) and single-threaded (without),
# next to the native CLI on the same input, runs interleaved, median of
# BENCH_REPEAT. Prints wall seconds and MB/s (input bytes / wall) per mode
# and set, then the targets: threads at least 1.6x faster than
# single-threaded, and within 2x of the native CLI's wall time.
#
#   make bench-browser                   # csv-60, parquet-60 (30,000 rows)
#                                        # and csv-1000 (1,000 rows): many
#                                        # small shards; made when missing
#   bench/browser.sh DIR...              # any dataset folders
#   BENCH_REPEAT=1 bench/browser.sh DIR  # one run each
#   BENCH_CLI=target/debug/shardimpute   # another CLI build (default: release)
#
# Needs `make dist` (built here if dist/ is missing), Chromium +
# playwright-core (scripts/setup.sh browser) and, to make the default sets,
# the bench venv (scripts/setup.sh bench).
set -euo pipefail
cd "$(dirname "$0")/.."

REPEAT=${BENCH_REPEAT:-3}
THREADS=${BENCH_THREADS:-2}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

if [ $# -gt 0 ]; then
  INPUTS=("$@")
else
  # made when missing, as bench/run.sh makes its sets
  INPUTS=("$(bench/set.sh csv 60 30000)" "$(bench/set.sh parquet 60 30000)" "$(bench/set.sh csv 1000 1000)")
fi

scripts/setup.sh browser >&2
[ -f dist/index.html ] && [ -f dist/st/shardimpute_wasm.js ] || make dist >&2
if [ -n "${BENCH_CLI:-}" ]; then
  CLI=$BENCH_CLI
else
  cargo build --release -q -p shardimpute
  CLI=target/release/shardimpute
fi

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# one run of mode $1 on input $2: prints wall seconds
run() {
  if [ "$1" = native ]; then
    rm -rf "$OUT/cli"
    local t0
    t0=$(now)
    "$CLI" run --job-type training --input "$2" --output "$OUT/cli" --threads "$THREADS" --quiet 2>"$OUT/cli.err" \
      || { cat "$OUT/cli.err" >&2; exit 1; }
    awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }'
  else
    local line
    line=$(node bench/browser-run.mjs --input "$2" --mode "$1" --threads "$THREADS")
    echo "${line%%$'\t'*}"
  fi
}

verdict() { awk -v x="$1" -v t="$3" -v op="$2" 'BEGIN { ok = (op == ">=") ? x >= t : x <= t; print ok ? "PASS" : "FAIL" }'; }

printf '%-34s %-26s %8s %9s\n' set run "wall s" "MB/s"
summary=()
for input in "${INPUTS[@]}"; do
  [ -d "$input" ] || { echo "browser bench: $input: no such folder" >&2; exit 1; }
  bytes=$(find "$input" -type f -name 'part-*' -printf '%s\n' | awk '{ s += $1 } END { print s }')
  name=$(basename "$(dirname "$input")")/$(basename "$input")
  declare -A walls=()
  for ((i = 0; i < REPEAT; i++)); do
    for mode in native threads single; do
      walls[$mode]+="$(run "$mode" "$input") "
    done
  done
  declare -A med=()
  for mode in native threads single; do
    med[$mode]=$(tr ' ' '\n' <<<"${walls[$mode]}" | grep . | median)
    label=$mode
    [ "$mode" = native ] && label="native CLI ($THREADS threads)"
    [ "$mode" = threads ] && label="browser, $THREADS threads"
    [ "$mode" = single ] && label="browser, single-threaded"
    awk -v s="$name" -v r="$label" -v w="${med[$mode]}" -v b="$bytes" \
      'BEGIN { printf "%-34s %-26s %8.2f %9.1f\n", s, r, w, b / 1e6 / w }'
  done
  gain=$(awk -v a="${med[single]}" -v b="${med[threads]}" 'BEGIN { printf "%.2f", a / b }')
  slow=$(awk -v a="${med[threads]}" -v b="${med[native]}" 'BEGIN { printf "%.2f", a / b }')
  summary+=("$(printf '%-34s threads %sx faster than single (>= 1.6x: %s); %sx native (<= 2x: %s)' \
    "$name" "$gain" "$(verdict "$gain" ">=" 1.6)" "$slow" "$(verdict "$slow" "<=" 2)")")
  unset walls med
done
echo
printf '%s\n' "${summary[@]}"
