#!/usr/bin/env bash
# Builds the npm package `shardimpute` into target/npm/shardimpute-<version>.tgz
# (`npm pack` of target/npm/package/): the sources in npm/, the web app's
# two wasm builds from dist/ (threaded in wasm/mt/, single-threaded in
# wasm/st/; run `make dist` first) and the native CLI built for WASI in
# wasm/cli/ (the package's bin). `make npm` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

WASI_TOOLCHAIN=$(sed -n 's/^WASI_TOOLCHAIN=//p' scripts/setup.sh)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
[ -n "$version" ] || { echo "npm-pack: no version in Cargo.toml's [workspace.package]" >&2; exit 1; }
for f in dist/shardimpute_wasm.js dist/shardimpute_wasm_bg.wasm dist/st/shardimpute_wasm.js \
  dist/st/shardimpute_wasm_bg.wasm; do
  [ -f "$f" ] || { echo "npm-pack: $f missing: run make dist" >&2; exit 1; }
done

# the CLI for WASI: zstd's C code needs clang and wasi-libc's headers
CC_wasm32_wasip1=clang AR_wasm32_wasip1=llvm-ar CFLAGS_wasm32_wasip1="-isystem /usr/include/wasm32-wasi" \
  nice cargo "+$WASI_TOOLCHAIN" build --release -p shardimpute --target wasm32-wasip1 \
  --target-dir target/wasi
cli_wasm=target/wasi/wasm32-wasip1/release/shardimpute.wasm

stage=target/npm/package
rm -rf "$stage"
mkdir -p "$stage/wasm/mt" "$stage/wasm/st" "$stage/wasm/cli"
cp -r npm/. "$stage/"
cp dist/shardimpute_wasm.js dist/shardimpute_wasm_bg.wasm dist/shardimpute_wasm.d.ts "$stage/wasm/mt/"
cp -r dist/snippets "$stage/wasm/mt/"
cp dist/st/shardimpute_wasm.js dist/st/shardimpute_wasm_bg.wasm dist/st/shardimpute_wasm.d.ts "$stage/wasm/st/"
cp "$cli_wasm" "$stage/wasm/cli/shardimpute.wasm"
# the CLI is built for speed (the release profile); only stripped here
scripts/wasm-opt.sh "$stage/wasm/cli/shardimpute.wasm" -O0
# the package's version is the workspace's
node -e '
  const fs = require("fs"), p = process.argv[1];
  const pkg = JSON.parse(fs.readFileSync(p, "utf8"));
  pkg.version = process.argv[2];
  fs.writeFileSync(p, JSON.stringify(pkg, null, 2) + "\n");
' "$stage/package.json" "$version"
rm -f target/npm/shardimpute-*.tgz
(cd "$stage" && npm pack --silent --pack-destination ..) >/dev/null
echo "target/npm/shardimpute-$version.tgz"
node scripts/wasm-sizes.mjs "$stage/wasm"
