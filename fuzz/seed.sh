#!/usr/bin/env bash
# Builds the seed corpora fuzz/corpus/<target>/ from the conformance
# fixtures (tests/fixtures/) and the small hand-written seeds in
# fuzz/seeds/. Each target's leading control bytes (see the target's doc
# comment) are prepended here. Safe to run again: it only adds files, so
# what the fuzzer found is kept. fuzz/corpus/ is not committed.
set -euo pipefail
cd "$(dirname "$0")"
FIX=../tests/fixtures
OUT=corpus

# put TARGET NAME PREFIX FILE [LINES]: the file (its first LINES lines, if
# given) after the bytes PREFIX (printf escapes) as corpus/TARGET/NAME
put() {
  local target=$1 name=$2 prefix=$3 file=$4 lines=${5:-}
  mkdir -p "$OUT/$target"
  {
    printf "$prefix"
    if [ -n "$lines" ]; then head -n "$lines" "$file"; else cat "$file"; fi
  } >"$OUT/$target/$name"
}

for case_dir in "$FIX"/*/; do
  case=$(basename "$case_dir")
  # CSV/TSV text: the first 30 lines of the first train shard (keeps
  # inputs small; quoted fields across lines may be cut, which is fine)
  for f in "$case_dir"input/train/part-00000.{csv,tsv,csv.gz}; do
    [ -f "$f" ] || continue
    case $f in
      *.csv) mode=0 ;;
      *.tsv) mode=1 ;;
      *.csv.gz) mode=2
        gunzip -c "$f" >"$OUT.tmp"
        put gzip "$case.csv.gz" "" "$f"
        f=$OUT.tmp ;;
    esac
    # csv_fill: mode byte, split point, settings byte (0: defaults with
    # the `target` label; 0xc0: no label; 0x4d: median, two shards)
    put csv_fill "$case-default" "\\x0$mode\\x80\\x00" "$f" 30
    put csv_fill "$case-nolabel" "\\x0$mode\\x80\\xc0" "$f" 30
    put csv_fill "$case-shards" "\\x$(printf %x $((mode + 12)))\\x60\\x4d" "$f" 30
    # gzip: the same lines, compressed
    mkdir -p "$OUT/gzip" && head -n 30 "$f" | gzip -c >"$OUT/gzip/$case-head.csv.gz"
    # columns: mode byte (bit 3: the whole file); gzip'd as the format says
    if [ $mode = 2 ]; then
      put columns "$case-whole" "\\x0a" "$case_dir"input/train/part-00000.csv.gz
    else
      put columns "$case-part" "\\x0$mode" "$f" 5
      put columns "$case-whole" "\\x$(printf %x $((mode + 8)))" "$f" 5
    fi
    rm -f "$OUT.tmp"
  done
  for f in "$case_dir"input/train/part-00000.parquet; do
    [ -f "$f" ] || continue
    put parquet "$case" "\\x00" "$f"
    put parquet "$case-val" "\\x21" "$f"
    put columns "$case" "\\x0c" "$f"
  done
  for f in "$case_dir"expected/impute_dict.pkl "$case_dir"artifacts_in/impute_dict.pkl; do
    [ -f "$f" ] && put pickle "$case-$(basename "$(dirname "$f")")" "" "$f"
  done
  [ -f "$case_dir"expected/impute_dict.json ] && put dict_json "$case" "" "$case_dir"expected/impute_dict.json
  [ -s "$case_dir"env.txt ] && put settings "$case" "" "$case_dir"env.txt
done

# zip: each case's input folder, deflated by Python's zipfile, and stored
mkdir -p "$OUT/zip"
for case_dir in "$FIX"/*/; do
  case=$(basename "$case_dir")
  [ -f "$OUT/zip/$case-deflate.zip" ] && continue
  python3 - "$case_dir"input "$OUT/zip/$case" <<'PY'
import os, sys, zipfile
for method, tag in ((zipfile.ZIP_DEFLATED, 'deflate'), (zipfile.ZIP_STORED, 'stored')):
    with zipfile.ZipFile(f'{sys.argv[2]}-{tag}.zip', 'w', method) as z:
        for d, _, files in sorted(os.walk(sys.argv[1])):
            for f in sorted(files)[:2]:
                p = os.path.join(d, f)
                z.writestr(os.path.relpath(p, sys.argv[1]), open(p, 'rb').read()[:2000])
PY
done

# hand-written seeds: fuzz/seeds/<target>/*
for dir in seeds/*/; do
  target=$(basename "$dir")
  mkdir -p "$OUT/$target"
  cp "$dir"* "$OUT/$target/"
done

for d in "$OUT"/*/; do
  printf 'seed: %-10s %3d files\n' "$(basename "$d")" "$(ls "$d" | wc -l)" >&2
done
