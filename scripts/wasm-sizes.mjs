#!/usr/bin/env node
// Prints the raw, gzip (level 9) and brotli (quality 11) size of each wasm
// module under the given folders (default: the npm package's build in
// target/npm/package/wasm). With --max-brotli BYTES, fails unless the
// smallest module is at most that many bytes brotli-compressed.
//
//   node scripts/wasm-sizes.mjs [--max-brotli 1500000] [DIR...]
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const args = process.argv.slice(2);
let max = null;
const dirs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--max-brotli') max = Number(args[++i]);
  else dirs.push(args[i]);
}
if (max !== null && !(max > 0)) {
  console.error('wasm-sizes: --max-brotli needs a number of bytes');
  process.exit(2);
}
if (dirs.length === 0) dirs.push('target/npm/package/wasm');

const files = [];
const walk = (d) => {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.wasm')) files.push(p);
  }
};
for (const d of dirs) {
  if (!fs.existsSync(d)) {
    console.error(`wasm-sizes: ${d}: no such folder`);
    process.exit(1);
  }
  walk(d);
}
if (files.length === 0) {
  console.error(`wasm-sizes: no .wasm under ${dirs.join(', ')}`);
  process.exit(1);
}

const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;
const rows = files.sort().map((f) => {
  const bytes = fs.readFileSync(f);
  const gzip = zlib.gzipSync(bytes, { level: 9 }).length;
  const brotli = zlib.brotliCompressSync(bytes, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }).length;
  return { f, raw: bytes.length, gzip, brotli };
});
console.log('| module | raw | gzip | brotli |\n|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.f} | ${mb(r.raw)} | ${mb(r.gzip)} | ${mb(r.brotli)} |`);
if (max !== null) {
  const smallest = rows.reduce((a, b) => (b.brotli < a.brotli ? b : a));
  if (smallest.brotli > max) {
    console.error(`wasm-sizes: the smallest module, ${smallest.f}, is ${smallest.brotli} bytes brotli: more than ${max}`);
    process.exit(1);
  }
  console.log(`smallest: ${smallest.f}, ${smallest.brotli} bytes brotli (at most ${max})`);
}
