#!/usr/bin/env node
// `shardimpute` on the wasm engine: the native command line itself,
// compiled for WASI (wasm/cli/shardimpute.wasm) and run with `node:wasi`
// under Node >= 20 or Deno 2 (`deno run -A`). The same commands, flags,
// environment variables, exit codes and output bytes as the native CLI;
// it runs on one thread (WASI has none to spare).
import process from 'node:process';
import { readFile } from 'node:fs/promises';

const WASM = new URL('../wasm/cli/shardimpute.wasm', import.meta.url);

/** Node's one-time "WASI is experimental" warning says nothing to our users. */
function quietWasiWarning() {
  const emit = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
    if (type === 'ExperimentalWarning' && String(warning?.message ?? warning).includes('WASI')) return;
    return emit.call(this, warning, ...rest);
  };
}

async function main() {
  const major = Number(process.versions.node?.split('.')[0]);
  if (!process.versions.deno && major < 20) {
    throw new Error(`needs Node 20 or later (this is Node ${process.versions.node})`);
  }
  quietWasiWarning();
  const { WASI } = await import('node:wasi');
  const module = await WebAssembly.compile(await readFile(WASM));
  const wasi = new WASI({
    version: 'preview1',
    args: ['shardimpute', ...process.argv.slice(2)],
    env: {
      ...process.env,
      // the CLI enters PWD first, so relative paths mean what they mean here
      PWD: process.cwd(),
      // whether to draw a progress bar: WASI cannot tell a pipe from a terminal
      SHARDIMPUTE_STDERR_TTY: process.stderr.isTTY ? '1' : '0',
    },
    // the whole file system, under the same paths
    preopens: { '/': '/' },
    returnOnExit: true,
  });
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  return wasi.start(instance);
}

main().then(
  (code) => process.exit(code ?? 0),
  (e) => {
    process.stderr.write(`shardimpute: error: ${e?.message ?? e}\n`);
    process.exit(1);
  },
);
