# The npm package (included by the Makefile; npm/README.md is its README).
#
#   make npm       target/npm/shardimpute-<version>.tgz: both wasm builds of
#                  dist/, the CLI for WASI (the bin), the sources in npm/
#   make npm-test  installs that tarball into an empty project and runs the
#                  conformance cases through it (tests/npm/)
#   make wasm-sizes  raw/gzip/brotli size of each wasm in the package

.PHONY: npm npm-test wasm-sizes

npm: dist
	scripts/setup.sh npm
	scripts/npm-pack.sh

npm-test: npm
	scripts/setup.sh python
	$(CARGO) build -p shardimpute
	node --test --test-concurrency=1 tests/npm/

wasm-sizes:
	node scripts/wasm-sizes.mjs --max-brotli 1500000 target/npm/package/wasm
