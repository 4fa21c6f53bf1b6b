# shardimpute: the two commands are `make run` (serve the web app) and
# `make test` (every test). Both install what is missing first.

SHELL := /bin/bash
CARGO ?= cargo
# C code (zstd) inside wasm builds needs clang
WASM_CC := CC_wasm32_unknown_unknown=clang AR_wasm32_unknown_unknown=llvm-ar

.PHONY: test native-test lint wasm-check api-test edge-worker edge-test bench bench-browser bench-engine bench-smoke bench-memory memory-smoke help wheel python-test

help:
	@echo "make run    build and serve the web app at http://127.0.0.1:8080/"
	@echo "make dist   build the static site into dist/"
	@echo "make test   every test: fmt, clippy, docs, native tests, wasm builds, browser tests"
	@echo "make npm    the npm package: target/npm/shardimpute-<version>.tgz (npm/README.md)"
	@echo "make bench  benchmarks (CLI vs Polars vs DuckDB; see bench/README.md)"
	@echo "make bench-smoke  the benchmark on tiny sets, once: every contender runs, fill values agree"
	@echo "make bench-browser  the web app in headless Chromium (threads, single-threaded) beside the CLI"
	@echo "make bench-engine  the wasm engine alone in Node beside the CLI, one thread each"
	@echo "make bench-memory  peak memory as the shard count grows"
	@echo "make fuzz   every fuzz target for FUZZ_SECONDS (60) each (fuzz/README.md)"
	@echo "make conformance-soak  SOAK_CASES (500) random cases against the oracle, from a new seed"
	@echo "make soak-large  the web app on two CSV training shards of about 1 GB each"

## every test, as CI runs it
test: lint native-test python-test memory-smoke bench-smoke fuzz-smoke wasm-check web-test api-test edge-test npm-test

lint:
	scripts/setup.sh native
	$(CARGO) fmt --all --check
	$(CARGO) clippy -p shardimpute-core -p shardimpute -p shardimpute-python --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps -p shardimpute-core
	scripts/setup.sh web
	$(WASM_CC) CARGO_ENCODED_RUSTFLAGS= \
	  $(CARGO) clippy -p shardimpute-wasm --target wasm32-unknown-unknown --target-dir target/wasm-check -- -D warnings

native-test:
	scripts/setup.sh native
	scripts/setup.sh python
	$(CARGO) test -p shardimpute-core -p shardimpute
	$(CARGO) test -p shardimpute-wasm --lib

## the Python package (python/): one abi3 wheel, target/wheels/shardimpute-*.whl
wheel:
	scripts/setup.sh python-pkg
	rm -f target/wheels/shardimpute-*.whl
	.venv-py/bin/maturin build --release -m python/Cargo.toml --out target/wheels

## the Python package's tests (python/tests/): a dev build of the wheel in
## .venv-py, checked against the fixtures and the native binary, and on a
## local Dask cluster the tests start and stop
python-test:
	scripts/setup.sh python-pkg
	scripts/setup.sh python
	$(CARGO) build -p shardimpute
	rm -rf target/wheels-dev
	.venv-py/bin/maturin build --profile dev -m python/Cargo.toml --out target/wheels-dev
	.venv-py/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps target/wheels-dev/shardimpute-*.whl
	.venv-py/bin/python -m unittest discover -s python/tests -v

## random conformance cases against the oracle (tests/fixtures/random_cases.py),
## many, from a new seed that it prints: SOAK_CASES (default 500), SOAK_SEED
## (`make test` runs 24 from seed 1)
.PHONY: conformance-soak
conformance-soak:
	scripts/setup.sh native
	scripts/setup.sh python
	seed=$${SOAK_SEED:-$$(date +%s)}; echo "conformance-soak: seed $$seed"; \
	  SHARDIMPUTE_RANDOM_SEED=$$seed SHARDIMPUTE_RANDOM_CASES=$${SOAK_CASES:-500} \
	  $(CARGO) test -p shardimpute --test conformance random_cases

## regenerate the conformance fixtures (tests/fixtures/) with the pinned oracle
.PHONY: fixtures
fixtures:
	scripts/setup.sh python
	.venv-test/bin/python tests/fixtures/make_fixtures.py

## the JS API in Node, on the single-threaded build (web-test builds dist/)
api-test:
	test -f dist/st/shardimpute_wasm.js || $(MAKE) dist
	$(CARGO) build -p shardimpute
	node --test tests/api/
	@# the engine benchmark's smoke run: the shipped single-threaded build, once
	BENCH_REPEAT=1 node bench/engine.mjs --cli target/debug/shardimpute tests/fixtures/csv-40-shards/input

## the edge worker (examples/edge-worker/): the single-threaded build beside it
edge-worker:
	test -f dist/st/shardimpute_wasm.js || $(MAKE) dist
	mkdir -p examples/edge-worker/build
	cp dist/st/shardimpute_wasm.js dist/st/shardimpute_wasm_bg.wasm examples/edge-worker/build/

## the edge worker end to end under workerd (the pinned npm package)
edge-test: edge-worker
	scripts/setup.sh edge
	$(CARGO) build -p shardimpute
	node --test tests/edge/

## core must build for wasm32 from the same source
wasm-check:
	scripts/setup.sh web
	$(WASM_CC) CARGO_ENCODED_RUSTFLAGS= \
	  $(CARGO) build -p shardimpute-core --target wasm32-unknown-unknown --target-dir target/wasm-check

bench:
	scripts/setup.sh bench
	bench/run.sh

## the web app in headless Chromium, threaded and single-threaded, beside the CLI
bench-browser:
	scripts/setup.sh bench
	bench/browser.sh

## the engine alone in Node (bench/engine.mjs): a single-threaded wasm build
## tuned for speed (opt-level 3, simd128; target/wasm-speed/pkg), beside the
## CLI on one thread, on the CSV and Parquet 60+6+6 sets
bench-engine:
	scripts/setup.sh web
	$(WASM_CC) CARGO_ENCODED_RUSTFLAGS=-Ctarget-feature=+simd128 \
	  $(CARGO) build --release -p shardimpute-wasm --target wasm32-unknown-unknown --target-dir target/wasm-speed
	wasm-bindgen --target web --out-dir target/wasm-speed/pkg \
	  target/wasm-speed/wasm32-unknown-unknown/release/shardimpute_wasm.wasm
	$(CARGO) build --release -p shardimpute
	node bench/engine.mjs --wasm target/wasm-speed/pkg --cli target/release/shardimpute \
	  "$$(bench/set.sh csv 60 30000)" "$$(bench/set.sh parquet 60 30000)"

## every contender end to end on tiny sets (debug build, one run): checks
## that they write every shard and compute shardimpute's fill values
bench-smoke:
	scripts/setup.sh bench
	BENCH_BUILD=debug BENCH_ROWS=300 BENCH_REPEAT=1 BENCH_SETS=csv-10,csv-20,parquet-10 bench/run.sh

## fuzzing (fuzz/README.md): every target for FUZZ_SECONDS each, keeping
## what it finds in fuzz/corpus/; crashes land in fuzz/artifacts/
FUZZ_TARGETS := csv_fill gzip parquet pickle dict_json settings columns zip
FUZZ_SECONDS ?= 60
# optimized, with AddressSanitizer (a cold build is slow: arrow/parquet)
FUZZ_BUILD ?= -O
.PHONY: fuzz fuzz-seed fuzz-smoke
fuzz-seed:
	scripts/setup.sh fuzz
	fuzz/seed.sh

fuzz: fuzz-seed
	cd fuzz && $(CARGO) fuzz build $(FUZZ_BUILD)
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  nice $(CARGO) fuzz run $(FUZZ_BUILD) $$t -- -max_total_time=$(FUZZ_SECONDS) -timeout=30 \
	    || exit 1; \
	done

## each target a few seconds from a fixed seed, on a throwaway copy of the
## seed corpus (fuzz/corpus/ stays as it is). Built unoptimized with debug
## assertions (overflow checks) and no sanitizer: a quarter of the CPU time
## of FUZZ_BUILD's cold build; the targets' Rust code needs no ASan to
## find panics.
FUZZ_SMOKE_BUILD ?= --dev --sanitizer none
FUZZ_SMOKE_SECONDS ?= 5
fuzz-smoke: fuzz-seed
	cd fuzz && $(CARGO) fuzz build $(FUZZ_SMOKE_BUILD)
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  rm -rf target/smoke/$$t && mkdir -p target/smoke/$$t && \
	  $(CARGO) fuzz run $(FUZZ_SMOKE_BUILD) $$t target/smoke/$$t corpus/$$t -- \
	    -seed=1 -max_total_time=$(FUZZ_SMOKE_SECONDS) -timeout=30 -print_final_stats=1 \
	    || exit 1; \
	done

## peak memory at 16 and 76 train shards (and every column on 30+5+5)
bench-memory:
	scripts/setup.sh python
	bench/memory.sh

## the same on small shards, with the debug build
memory-smoke:
	scripts/setup.sh python
	MEMORY_ROWS=500 MEMORY_BUILD=debug bench/memory.sh

include web.mk
include npm.mk
