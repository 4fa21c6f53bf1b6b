#!/usr/bin/env bash
# Runs binaryen's wasm-opt (the pinned npm build in target/js-tools/, see
# scripts/setup.sh web) on a wasm module in place: by default `-Oz` (size),
# or the passes given. Debug info and the producers section are always
# stripped. The result is cached by the input's hash and the passes: an
# unchanged build costs nothing.
#
#   scripts/wasm-opt.sh FILE.wasm [PASSES...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
wasm_opt="$root/target/js-tools/node_modules/.bin/wasm-opt"
file=$1
shift
passes=("${@:--Oz}")
[ -x "$wasm_opt" ] || { echo "wasm-opt.sh: $wasm_opt missing: run scripts/setup.sh web" >&2; exit 1; }
[ -f "$file" ] || { echo "wasm-opt.sh: $file: no such file" >&2; exit 1; }
cache="$root/target/wasm-opt-cache"
mkdir -p "$cache"
key=$( (sha256sum "$file" | cut -c1-64; echo "${passes[*]}") | sha256sum | cut -c1-64)
if [ ! -f "$cache/$key.wasm" ]; then
  # the features rustc's wasm32 targets emit, and `simd128` where a build
  # asks for it; nothing new is introduced
  nice "$wasm_opt" "${passes[@]}" --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd \
    "$file" -o "$cache/$key.$$.tmp"
  mv "$cache/$key.$$.tmp" "$cache/$key.wasm"
fi
cp "$cache/$key.wasm" "$file"
