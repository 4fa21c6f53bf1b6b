# The web app (included by the Makefile).
#
#   make dist      dist/ (threaded build, needs COOP/COEP) + dist/st/ (single-threaded)
#   make run       build, then serve dist/ at http://127.0.0.1:8080/ with COOP/COEP
#   make web-test  browser tests in headless Chromium (tests/browser/)
#   make soak-large  the web app on two training shards of about 1 GB
#   make screenshot  docs/screenshot.png (after make dist)

WASM_TARGET := wasm32-unknown-unknown
WEB_HOST ?= 127.0.0.1
WEB_PORT ?= 8080

# Threaded build: shared memory (rustflags in .cargo/config.toml), std rebuilt
# with atomics, and zstd's C code compiled with atomics too. Its own target
# dir, so it never fights native builds over flags or locks.
WASM_MT_ENV := $(WASM_CC) CFLAGS_wasm32_unknown_unknown="-matomics -mbulk-memory" \
  CARGO_UNSTABLE_BUILD_STD=panic_abort,std CARGO_TARGET_DIR=target/wasm-mt
# Single-threaded build: the same crate without those flags, built for
# size (the npm package's smallest wasm): the wasm-size profile (Cargo.toml),
# no file/line in panic messages, then wasm-opt -Oz. With `simd128` (every
# runtime the package supports has wasm SIMD): smaller and faster than
# without (README, "Sizes"). CARGO_ENCODED_RUSTFLAGS (flags separated by
# the 0x1f byte) replaces the threaded flags
# (CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS would be merged with them).
FLAG_SEP := $(shell printf '\037')
WASM_ST_ENV := $(WASM_CC) CARGO_ENCODED_RUSTFLAGS='-Zlocation-detail=none$(FLAG_SEP)-Ctarget-feature=+simd128'
WASM_ST_DIR := target/wasm-st
WASM_ST_PROFILE := wasm-size

.PHONY: dist run web-test soak-large screenshot

dist:
	scripts/setup.sh web
	$(WASM_MT_ENV) trunk build --release
	@# trunk names the files after the package (shardimpute-wasm); use the
	@# module name wasm-bindgen gives them, as dist/st/ has
	cd dist && for f in shardimpute-wasm*; do mv "$$f" "$${f/shardimpute-wasm/shardimpute_wasm}"; done \
	  && sed -i 's/shardimpute-wasm_bg\.wasm/shardimpute_wasm_bg.wasm/g' shardimpute_wasm.js
	$(WASM_ST_ENV) $(CARGO) build --profile $(WASM_ST_PROFILE) -p shardimpute-wasm --target $(WASM_TARGET) --target-dir $(WASM_ST_DIR)
	wasm-bindgen --target web --out-dir dist/st \
	  $(WASM_ST_DIR)/$(WASM_TARGET)/$(WASM_ST_PROFILE)/shardimpute_wasm.wasm
	scripts/wasm-opt.sh dist/st/shardimpute_wasm_bg.wasm

run:
	$(MAKE) dist
	@echo "serving dist/ at http://$(WEB_HOST):$(WEB_PORT)/ (Ctrl-C stops)"
	node web/serve.mjs dist --host $(WEB_HOST) --port $(WEB_PORT)

web-test:
	scripts/setup.sh browser
	scripts/setup.sh python
	$(MAKE) dist
	$(CARGO) build -p shardimpute
	node --test --test-concurrency=1 tests/browser/
	@# the browser benchmark's smoke run: every mode on a tiny set, once
	BENCH_REPEAT=1 BENCH_CLI=target/debug/shardimpute bench/browser.sh tests/fixtures/csv-40-shards/input
	@# the large-shards soak's smoke run: the same checks on shards of 3 MB
	scripts/setup.sh bench
	LARGE_SHARD_BYTES=3000000 node tests/browser/large-shards.mjs "$$(bench/set.sh csv 10 300)"

## the web app (threads) on two CSV training shards of about 1 GB each
## (tests/browser/large-shards.mjs; LARGE_SHARD_BYTES sets their size)
soak-large:
	scripts/setup.sh browser
	scripts/setup.sh bench
	$(MAKE) dist
	$(CARGO) build --release -p shardimpute
	SHARDIMPUTE_CLI=target/release/shardimpute node tests/browser/large-shards.mjs "$$(bench/set.sh csv 30 30000)"

# docs/screenshot.png: the page after a run on the sample dataset
screenshot:
	scripts/setup.sh browser
	node tests/browser/screenshot.mjs docs/screenshot.png
