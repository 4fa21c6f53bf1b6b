// The engine alone in Node: pass 1 (`Job.fit`) and pass 2 (`Job.fill`,
// each output shard counted, then dropped) of a training job through the
// JavaScript API, single-threaded, median of BENCH_REPEAT runs. No page,
// no storage, no zip: what the wasm build itself costs. With `--cli`, the
// native CLI's `fit` and `fill` on one thread run interleaved with it, and
// the ratio of the two is printed.
//
//   node bench/engine.mjs [--wasm DIR] [--cli PATH] DATASET...
//
// DIR is a `wasm-bindgen --target web` output (shardimpute_wasm.js and
// shardimpute_wasm_bg.wasm): dist/st/ by default (the size-tuned build the
// npm package runs in Node); `make bench-engine` builds one tuned for
// speed (opt-level 3, simd128) and runs this on the 60+6+6 sets.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
let wasmDir = 'dist/st';
let cli = null;
const inputs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--wasm') wasmDir = args[++i];
  else if (args[i] === '--cli') cli = args[++i];
  else inputs.push(args[i]);
}
const repeat = Number(process.env.BENCH_REPEAT ?? 3);
if (inputs.length === 0 || !(repeat >= 1)) {
  console.error('usage: node bench/engine.mjs [--wasm DIR] [--cli PATH] DATASET...  (BENCH_REPEAT=N)');
  process.exit(2);
}

const api = await import(pathToFileURL(path.resolve(wasmDir, 'shardimpute_wasm.js')).href);
await api.default({ module_or_path: fs.readFileSync(path.resolve(wasmDir, 'shardimpute_wasm_bg.wasm')) });

/** Every shard of a dataset folder, as the API takes them (artifacts left out). */
async function shardsOf(dir) {
  const files = [];
  for (const split of fs.readdirSync(dir).sort()) {
    const at = path.join(dir, split);
    if (split === 'model_artifacts' || !fs.statSync(at).isDirectory()) continue;
    for (const name of fs.readdirSync(at).sort()) {
      if (name.startsWith('part-')) files.push({ path: `${split}/${name}`, file: await fs.openAsBlob(path.join(at, name)) });
    }
  }
  return files;
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const n = v.length;
  return n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
};
const seconds = (t0) => (performance.now() - t0) / 1000;

/** One engine run: { fit, fill } seconds; every shard must come out, with bytes. */
async function engineRun(files) {
  const job = new api.Job('training', undefined, files);
  try {
    let t0 = performance.now();
    await job.fit();
    const fit = seconds(t0);
    let shards = 0;
    let bytes = 0;
    t0 = performance.now();
    await job.fill({
      onShard: (_path, b) => {
        shards += 1;
        bytes += b.length;
      },
    });
    const fill = seconds(t0);
    if (shards !== files.length || bytes === 0) {
      throw new Error(`pass 2 gave ${shards} shards (${bytes} bytes) for ${files.length} inputs`);
    }
    return { fit, fill };
  } finally {
    job.free();
  }
}

/** One native run, one thread: { fit, fill } seconds. */
function nativeRun(dir, scratch) {
  const run = (argv) => {
    const t0 = performance.now();
    execFileSync(cli, [...argv, '--threads', '1', '--quiet', '--overwrite'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return seconds(t0);
  };
  const artifacts = path.join(scratch, 'artifacts');
  const fit = run(['fit', '--input', dir, '--artifacts-out', artifacts]);
  const fill = run(['fill', '--input', dir, '--output', path.join(scratch, 'out'),
    '--impute-dict', path.join(artifacts, 'impute_dict.pkl')]);
  return { fit, fill };
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'shardimpute-engine-bench-'));
try {
  console.log(`engine: ${wasmDir}, single-threaded, median of ${repeat}`);
  console.log(`${'set'.padEnd(34)} ${'run'.padEnd(14)} ${'pass 1 s'.padStart(9)} ${'pass 2 s'.padStart(9)} ${'MB/s'.padStart(7)}`);
  for (const dir of inputs) {
    if (!fs.existsSync(dir)) {
      throw new Error(`${dir}: no such folder (make the benchmark sets with make bench, or bench/gen_data.py)`);
    }
    const files = await shardsOf(dir);
    const mb = files.reduce((s, f) => s + f.file.size, 0) / 1e6;
    const runs = { wasm: [], native: [] };
    for (let i = 0; i < repeat; i++) {
      runs.wasm.push(await engineRun(files));
      if (cli) runs.native.push(nativeRun(dir, scratch));
    }
    const name = `${path.basename(path.dirname(path.resolve(dir)))}/${path.basename(dir)}`;
    const med = {};
    for (const [label, rs] of Object.entries(runs)) {
      if (rs.length === 0) continue;
      med[label] = { fit: median(rs.map((r) => r.fit)), fill: median(rs.map((r) => r.fill)) };
      const { fit, fill } = med[label];
      console.log(`${name.padEnd(34)} ${label.padEnd(14)} ${fit.toFixed(2).padStart(9)} ${fill.toFixed(2).padStart(9)} ${(mb / (fit + fill)).toFixed(1).padStart(7)}`);
    }
    if (med.native) {
      const r = (k) => (med.wasm[k] / med.native[k]).toFixed(2);
      console.log(`${name.padEnd(34)} wasm / native: pass 1 ${r('fit')}x, pass 2 ${r('fill')}x`);
    }
  }
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
