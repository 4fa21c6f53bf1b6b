#!/usr/bin/env bash
# Installs what building and testing shardimpute needs, skipping whatever is
# already present. Safe to run again: a second run takes a few seconds.
#
#   scripts/setup.sh native   Rust toolchain (pinned nightly), wasm32 target
#   scripts/setup.sh web      + trunk, wasm-bindgen-cli, clang/lld, and Deno and
#                             binaryen (wasm-opt) from npm, pinned, in target/js-tools/
#   scripts/setup.sh browser  + Chromium and playwright-core for browser tests
#   scripts/setup.sh bench    + a Python venv with numpy, pandas, pyarrow, duckdb
#                             and polars (pinned)
#   scripts/setup.sh fuzz     + cargo-fuzz (the fuzz targets in fuzz/)
#   scripts/setup.sh edge     workerd (Cloudflare's runtime, pinned npm package)
#                             in examples/edge-worker/node_modules/
#   scripts/setup.sh npm      + the npm package's CLI for WASI: a Rust toolchain
#                             with wasm32-wasip1, and wasi-libc's C headers
#   scripts/setup.sh python   .venv-test/: pinned numpy, pandas, pyarrow for the
#                             test oracle (tests/fixtures/) and the output checks
#   scripts/setup.sh python-pkg  .venv-py/: pinned maturin, dask[distributed],
#                             pyarrow, fsspec for building and testing the
#                             Python package (python/)
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLCHAIN=nightly-2026-05-20
TRUNK_VERSION=0.22.1
WASM_BINDGEN_VERSION=0.2.130
PLAYWRIGHT_VERSION=1.65.1
# the edge worker's runtime; also pinned in examples/edge-worker/package.json
WORKERD_VERSION=1.20261117.1
CARGO_FUZZ_VERSION=0.13.2
# the test oracle's Python packages: exact pins, so `make fixtures` and the
# output checks read and write the same bytes everywhere
PY_TEST_PINS=(numpy==2.2.6 pandas==2.2.3 pyarrow==26.0.1)
# the Python package's build tool and its distributed engine: exact pins
PY_PKG_PINS=(maturin==1.16.0 dask==2026.8.0 distributed==2026.8.0 pyarrow==26.0.1 fsspec==2026.9.0)
# the CLI for WASI (the npm package's bin): the pinned nightly has no
# wasm32-wasip1 standard library on rustup's server, this stable one has
WASI_TOOLCHAIN=1.95.0
DENO_VERSION=2.9.6
BINARYEN_VERSION=132.0.0
JS_TOOLS=target/js-tools
# the benchmark's Polars contender: pinned, so results compare across runs
POLARS_VERSION=2.1.0

say() { printf 'setup: %s\n' "$*" >&2; }

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt-get install ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

native() {
  if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
    say "installing Rust $TOOLCHAIN"
    rustup toolchain install "$TOOLCHAIN" --profile minimal
  fi
  local have
  have=$(rustup component list --toolchain "$TOOLCHAIN" --installed 2>/dev/null)
  for c in rust-src rustfmt clippy; do
    grep -q "^$c" <<<"$have" || rustup component add --toolchain "$TOOLCHAIN" "$c"
  done
  rustup target list --toolchain "$TOOLCHAIN" --installed | grep -q wasm32-unknown-unknown \
    || rustup target add --toolchain "$TOOLCHAIN" wasm32-unknown-unknown
}

web() {
  native
  if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    say "installing trunk $TRUNK_VERSION (takes a while once)"
    cargo "+$TOOLCHAIN" install trunk --version "$TRUNK_VERSION" --locked
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (takes a while once)"
    # no --locked: its lock file pins a crate version the registry lacks
    cargo "+$TOOLCHAIN" install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
  apt_install clang lld
  js_tools
}

# Deno and binaryen's wasm-opt from npm, pinned, in target/js-tools/
js_tools() {
  local bin=$JS_TOOLS/node_modules/.bin
  if [ "$("$bin/deno" --version 2>/dev/null | head -1 | cut -d' ' -f1-2)" != "deno $DENO_VERSION" ] \
    || [ "$("$bin/wasm-opt" --version 2>/dev/null)" != "wasm-opt version ${BINARYEN_VERSION%%.*} (version_${BINARYEN_VERSION%%.*})" ]; then
    say "npm install deno@$DENO_VERSION binaryen@$BINARYEN_VERSION into $JS_TOOLS"
    mkdir -p "$JS_TOOLS"
    [ -f "$JS_TOOLS/package.json" ] || echo '{ "private": true }' >"$JS_TOOLS/package.json"
    (cd "$JS_TOOLS" && npm install --no-audit --no-fund --silent --save-exact \
      "deno@$DENO_VERSION" "binaryen@$BINARYEN_VERSION")
  fi
}

npm_tools() {
  web
  if ! rustup target list --toolchain "$WASI_TOOLCHAIN" --installed 2>/dev/null | grep -q '^wasm32-wasip1$'; then
    say "installing Rust $WASI_TOOLCHAIN with wasm32-wasip1"
    rustup toolchain install "$WASI_TOOLCHAIN" --profile minimal --target wasm32-wasip1
  fi
  # C headers for zstd's C code built for WASI
  apt_install wasi-libc
}

fuzz() {
  native
  if [ "$(cargo "+$TOOLCHAIN" fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION (takes a while once)"
    cargo "+$TOOLCHAIN" install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  fi
}

browser() {
  apt_install chromium
  if [ ! -d tests/browser/node_modules/playwright-core ]; then
    say "npm install playwright-core@$PLAYWRIGHT_VERSION"
    (cd tests/browser && npm install --no-audit --no-fund --silent)
  fi
}

edge() {
  local dir=examples/edge-worker
  # quick when present: the pinned version is installed and runs
  if [ "$(node -p "require('./$dir/node_modules/workerd/package.json').version" 2>/dev/null)" != "$WORKERD_VERSION" ] \
    || ! "$dir/node_modules/.bin/workerd" --version >/dev/null 2>&1; then
    say "npm install workerd@$WORKERD_VERSION (in $dir)"
    (cd "$dir" && npm install --no-audit --no-fund --silent)
  fi
}

bench() {
  local py=.venv/bin/python
  if [ ! -x "$py" ] || ! "$py" -c 'import numpy, pandas, pyarrow, duckdb' 2>/dev/null; then
    say "creating .venv with numpy, pandas<3, pyarrow, duckdb"
    [ -x "$py" ] || python3 -m venv .venv
    "$py" -m pip install -q --disable-pip-version-check 'numpy' 'pandas<3' 'pyarrow' 'duckdb'
  fi
  # quick when present: the pinned polars imports
  local check="import polars, sys; sys.exit(polars.__version__ != '$POLARS_VERSION')"
  if ! "$py" -c "$check" 2>/dev/null; then
    say "installing polars==$POLARS_VERSION into .venv"
    "$py" -m pip install -q --disable-pip-version-check "polars==$POLARS_VERSION"
    "$py" -c "$check" || { say ".venv: polars $POLARS_VERSION does not import"; exit 1; }
  fi
}

python_test() {
  local py=.venv-test/bin/python want check
  want=$(printf '%s ' "${PY_TEST_PINS[@]}")
  # quick when present: the pinned versions import
  check="import numpy, pandas, pyarrow, sys; sys.exit(0 if ' '.join(f'{m.__name__}=={m.__version__}' for m in (numpy, pandas, pyarrow)) == '${want% }' else 1)"
  if [ -x "$py" ] && "$py" -c "$check" 2>/dev/null; then
    return 0
  fi
  say "creating .venv-test with ${PY_TEST_PINS[*]}"
  [ -x "$py" ] || python3 -m venv .venv-test
  "$py" -m pip install -q --disable-pip-version-check "${PY_TEST_PINS[@]}"
  "$py" -c "$check" || { say ".venv-test: ${PY_TEST_PINS[*]} do not import"; exit 1; }
}

python_pkg() {
  local py=.venv-py/bin/python want check
  want=$(printf '%s ' "${PY_PKG_PINS[@]}")
  # quick when present: the pinned versions are installed
  check="import importlib.metadata as m, sys; want='${want% }'.split(); sys.exit(0 if all(m.version(p.split('==')[0]) == p.split('==')[1] for p in want) else 1)"
  if [ -x "$py" ] && "$py" -c "$check" 2>/dev/null; then
    return 0
  fi
  say "creating .venv-py with ${PY_PKG_PINS[*]}"
  [ -x "$py" ] || python3 -m venv .venv-py
  "$py" -m pip install -q --disable-pip-version-check "${PY_PKG_PINS[@]}"
  "$py" -c "$check" || { say ".venv-py: ${PY_PKG_PINS[*]} are not all installed"; exit 1; }
}

case "${1:-native}" in
  native) native ;;
  web) web ;;
  browser) web; browser ;;
  bench) native; bench ;;
  fuzz) fuzz ;;
  python) python_test ;;
  edge) edge ;;
  python-pkg) native; python_pkg ;;
  npm) npm_tools ;;
  *) say "unknown target: $1"; exit 2 ;;
esac
