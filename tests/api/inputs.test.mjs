// The JavaScript API's inputs beyond Blobs and its zip output: shards as
// URLs (fetched from a local HTTP server here, as from object storage),
// ReadableStreams, async iterables and bytes, and the zip of every output
// written to a WritableStream. The outputs are compared with the native
// CLI's, file by file (Python's zipfile reads the zip), and with the
// fixtures' expected fill values; reads are counted to show that shards
// are read a few at a time.
//
//   node --test tests/api/      (after make dist and cargo build -p shardimpute)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { untimed } from '../untimed.mjs';
import { list, tree } from '../files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'tests/fixtures');
const wasmJs = process.env.SHARDIMPUTE_WASM_JS ?? path.join(root, 'dist/st/shardimpute_wasm.js');
const cli = process.env.SHARDIMPUTE_CLI ?? path.join(root, 'target/debug/shardimpute');

let w;
let server;
let base;
/** Requests the server answered, by path. */
const served = [];

before(async () => {
  assert.ok(fs.existsSync(wasmJs), `${wasmJs} is missing: run make dist`);
  assert.ok(fs.existsSync(cli), `${cli} is missing: run cargo build -p shardimpute`);
  w = await import(pathToFileURL(wasmJs).href);
  await w.default({ module_or_path: fs.readFileSync(wasmJs.replace(/\.js$/, '_bg.wasm')) });
  // the fixtures folder over HTTP; anything else is a 404
  server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = path.join(fixtures, rel);
    served.push(rel);
    if (!file.startsWith(fixtures + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${server.address().port}/`;
});

after(() => server?.close());

function caseInfo(name) {
  const dir = path.join(fixtures, name);
  return {
    name,
    dir,
    input: path.join(dir, 'input'),
    env: fs.readFileSync(path.join(dir, 'env.txt'), 'utf8'),
    job: fs.readFileSync(path.join(dir, 'job_type.txt'), 'utf8').trim(),
  };
}

function tmpdir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'shardimpute-inputs-'));
}

/** The native CLI's output folder for a case, by path (manifest and _SUCCESS included). */
function runCli(c) {
  const out = tmpdir();
  const args = ['run', '--job-type', c.job, '--input', c.input, '--output', out, '--quiet'];
  if (c.job !== 'training') args.push('--artifacts-in', path.join(c.dir, 'artifacts_in'));
  const env = { ...process.env };
  for (const line of c.env.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i).trim()] = line.slice(i + 1);
  }
  execFileSync(cli, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const files = tree(out);
  fs.rmSync(out, { recursive: true, force: true });
  return files;
}

/**
 * A WritableStream collecting what is written; `slow` delays each write,
 * `take` takes each chunk's buffer (detaching it), as the web app's writer does.
 */
function collector(slow = 0, take = false) {
  const chunks = [];
  // where each chunk's view starts in its buffer
  const offsets = [];
  let writing = 0;
  let most = 0;
  const stream = new WritableStream({
    async write(chunk) {
      writing++;
      most = Math.max(most, writing);
      if (slow) await new Promise((ok) => setTimeout(ok, slow));
      offsets.push(chunk.byteOffset);
      chunks.push(Buffer.from(take ? structuredClone(chunk, { transfer: [chunk.buffer] }) : chunk));
      writing--;
    },
  });
  return {
    stream,
    bytes: () => Buffer.concat(chunks),
    most: () => most,
    sizes: () => chunks.map((c) => c.length),
    offsets: () => offsets,
  };
}

/**
 * A zip's entries as Python's zipfile reads them (CRCs checked): `names`
 * in archive order, `files` by path.
 */
function pythonZip(bytes) {
  const dir = tmpdir();
  fs.writeFileSync(path.join(dir, 'out.zip'), bytes);
  const script = 'import sys, zipfile, json\n'
    + 'z = zipfile.ZipFile(sys.argv[1])\n'
    + 'assert z.testzip() is None\n'
    + 'z.extractall(sys.argv[2])\n'
    + 'print(json.dumps(z.namelist()))';
  const names = JSON.parse(execFileSync('python3', ['-c', script, path.join(dir, 'out.zip'), path.join(dir, 'x')]).toString());
  const files = tree(path.join(dir, 'x'));
  fs.rmSync(dir, { recursive: true, force: true });
  return { names, files };
}

function assertSameAsCli(got, want) {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'the same files');
  for (const [p, bytes] of want) assert.ok(untimed(p, got.get(p)).equals(untimed(p, bytes)), `${p} differs from the CLI's`);
}

/** Runs a case with the given inputs; the zip written to a WritableStream. */
async function runToZip(c, files, artifacts, slow = 0) {
  const job = new w.Job(c.job, w.settingsFromEnv(c.env), files);
  if (c.job === 'training') await job.fit();
  else await job.addArtifacts(artifacts);
  const out = collector(slow);
  const summary = await job.fill({ zip: out.stream });
  job.free();
  return { zip: pythonZip(out.bytes()), summary, most: out.most() };
}

const CASES = ['csv-defaults', 'parquet-defaults', 'csvgz-defaults', 'csv-inference'];

for (const name of CASES) {
  test(`${name}: shards and artifacts as URLs, the zip to a WritableStream: the CLI's files`, async () => {
    const c = caseInfo(name);
    const rel = path.relative(fixtures, c.input);
    const files = list(c.input).map((p) => ({ path: p, url: new URL(`${rel}/${p}`, base) }));
    const artifactsDir = path.join(c.dir, 'artifacts_in');
    const artifacts = fs.existsSync(artifactsDir)
      ? fs.readdirSync(artifactsDir).sort().map((n) => ({ name: n, url: `${base}${name}/artifacts_in/${n}` }))
      : [];
    const { zip, summary } = await runToZip(c, files, artifacts, 2);
    // a complete output: the manifest, then _SUCCESS, last
    assert.deepEqual(zip.names.slice(-2), ['_shardimpute_manifest.json', '_SUCCESS']);
    assertSameAsCli(zip.files, runCli(c));
    assert.equal(summary.rows_in_equals_rows_out, true);
    const expected = path.join(c.dir, 'expected/impute_dict.json');
    if (fs.existsSync(expected)) {
      assert.deepEqual(JSON.parse(zip.files.get('model_artifacts/impute_dict.json')), JSON.parse(fs.readFileSync(expected)));
    }
  });
}

/**
 * A dataset whose outputs are larger than a zip chunk: a training split of
 * three ~0.9 MB CSV shards, a validation and a test shard, in a new folder
 * `dir`; `input` is its input folder and `files` its shards as Blobs.
 */
function bigShards() {
  const dir = tmpdir();
  const input = path.join(dir, 'input');
  const shard = (seed, rows) => {
    const lines = ['id,x,city,target'];
    for (let i = 0; i < rows; i++) {
      const n = (i * 7919 + seed * 104729) % 1000003;
      const x = n % 7 === 0 ? '' : String((n % 10007) / 8);
      const city = n % 5 === 0 ? '' : ['Lyon', 'Oslo', 'Quito', 'Accra'][n % 4];
      lines.push(`${seed * rows + i},${x},${city},${n % 2}`);
    }
    return `${lines.join('\n')}\n`;
  };
  for (const [split, k, seed] of [['train', 0, 0], ['train', 1, 1], ['train', 2, 2], ['val', 0, 8], ['test', 0, 9]]) {
    fs.mkdirSync(path.join(input, split), { recursive: true });
    fs.writeFileSync(path.join(input, split, `part-0000${k}.csv`), shard(seed, 40000));
  }
  const files = list(input).map((p) => ({ path: p, file: new Blob([fs.readFileSync(path.join(input, p))]) }));
  return { dir, input, files };
}

test('shards larger than a zip chunk: entries span chunks (each taken by the reader), the zip is whole and the CLI\'s files', { timeout: 120_000 }, async () => {
  const { dir, input, files } = bigShards();
  const job = new w.Job('training', undefined, files);
  const out = collector(0, true);
  let summary;
  let zip;
  try {
    await job.fit();
    summary = await job.fill({ zip: out.stream });
    zip = pythonZip(out.bytes());
    assertSameAsCli(zip.files, runCli({ job: 'training', input, env: '', dir }));
  } finally {
    job.free();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(summary.rows_in_equals_rows_out, true);
  // outputs larger than a chunk were cut across chunks of 512 KiB (less
  // the view's start in its buffer, below)
  const big = [...zip.files].filter(([p, b]) => p.endsWith('.csv') && b.length > 512 * 1024);
  assert.equal(big.length, 5, 'every output shard is larger than a chunk');
  const sizes = out.sizes();
  const offsets = out.offsets();
  assert.ok(sizes.every((n, i) => offsets[i] + n <= 512 * 1024), `no chunk over 512 KiB: ${Math.max(...sizes)}`);
  assert.ok(sizes.filter((n, i) => offsets[i] + n === 512 * 1024).length >= 5, `full chunks: ${sizes.join(' ')}`);
  // each chunk's view starts in its buffer where its first byte's place in
  // the zip is past a multiple of 8 (so the engine copies out of wasm
  // memory 8 bytes at a time); some do not start at 0
  let at = 0;
  sizes.forEach((n, i) => {
    assert.equal(offsets[i], at % 8, `chunk ${i} at ${at} of the zip starts at ${offsets[i]} in its buffer`);
    at += n;
  });
  assert.ok(offsets.some((o) => o > 0), `offsets: ${offsets.join(' ')}`);
  // and every entry's data starts at a multiple of 8 in the zip (local
  // headers one after another, each followed by its data)
  const bytes = out.bytes();
  let entries = 0;
  for (let p = 0; bytes.readUInt32LE(p) === 0x04034b50; entries++) {
    const nameLen = bytes.readUInt16LE(p + 26);
    const name = bytes.toString('utf8', p + 30, p + 30 + nameLen);
    const start = p + 30 + nameLen + bytes.readUInt16LE(p + 28);
    assert.equal(start % 8, 0, `${name}'s data starts at ${start}`);
    p = start + zip.files.get(name).length;
  }
  assert.equal(entries, zip.names.length, 'every entry was walked');
});

test('spareChunks: chunks given back are written into again, every byte over; the zip is the CLI\'s files', { timeout: 120_000 }, async () => {
  const { dir, input, files } = bigShards();
  // what no chunk may take: too small, not bytes, detached
  const detached = new Uint8Array(1 << 20);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  const spare = [detached, 'not bytes', new Uint8Array(16)];
  const seen = new Set(); // every buffer written to the stream
  let reused = 0;
  const chunks = [];
  const stream = new WritableStream({
    write(chunk) {
      if (seen.has(chunk.buffer)) reused++;
      seen.add(chunk.buffer);
      chunks.push(Buffer.from(chunk)); // a copy: the chunk is given back below
      // the reader is done with it: scribbled over, then given back whole,
      // so a byte the engine did not write again would show in the zip
      new Uint8Array(chunk.buffer).fill(0xa5);
      spare.push(new Uint8Array(chunk.buffer));
    },
  });
  const job = new w.Job('training', undefined, files);
  let summary;
  let zip;
  try {
    await job.fit();
    summary = await job.fill({ zip: stream, spareChunks: spare });
    zip = pythonZip(Buffer.concat(chunks));
    assertSameAsCli(zip.files, runCli({ job: 'training', input, env: '', dir }));
  } finally {
    job.free();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(summary.rows_in_equals_rows_out, true);
  // one buffer served every chunk after the first, the engine taking back
  // each one as soon as it was given
  assert.ok(chunks.length > 10, `chunks: ${chunks.length}`);
  assert.equal(reused, chunks.length - 1);
  assert.equal(seen.size, 1);
});

test('ReadableStreams, async iterables and bytes give the CLI\'s output; reads are a few at a time', async () => {
  const c = caseInfo('csv-defaults');
  let open = 0;
  let most = 0;
  const opened = [];
  const kinds = [
    // a function returning a ReadableStream in small chunks
    (bytes) => () => new ReadableStream({
      start(ctl) {
        for (let i = 0; i < bytes.length; i += 1000) ctl.enqueue(bytes.subarray(i, i + 1000));
        ctl.close();
      },
    }),
    // an async generator function (an async iterable each time it is called)
    (bytes) => async function* chunks() {
      yield bytes.subarray(0, 7);
      yield bytes.subarray(7);
    },
    // bytes, as a Uint8Array and as an ArrayBuffer
    (bytes) => new Uint8Array(bytes),
    (bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
  ];
  const files = list(c.input).map((p, i) => {
    const bytes = fs.readFileSync(path.join(c.input, p));
    const source = kinds[i % kinds.length](bytes);
    if (typeof source !== 'function') return { path: p, file: source };
    // counts the reads in flight: from opened until the engine read the end
    const counted = (...args) => {
      opened.push(p);
      open++;
      most = Math.max(most, open);
      const s = source(...args);
      if (s instanceof ReadableStream) return s.pipeThrough(new TransformStream({ flush() { open--; } }));
      return (async function* whole() {
        yield* s;
        open--;
      }());
    };
    return { path: p, file: counted };
  });
  const job = new w.Job(c.job, w.settingsFromEnv(c.env), files);
  assert.equal(job.dataset.splits[0].shards[2].size, fs.statSync(path.join(c.input, 'train/part-00002.csv')).size,
    'bytes give their size');
  await job.fit();
  const out = new Map();
  await job.fill({ onShard: (p, b) => out.set(p, Buffer.from(b)) });
  for (const [n, b] of Object.entries(job.artifacts())) out.set(`model_artifacts/${n}`, Buffer.from(b));
  const want = runCli(c);
  want.delete('_SUCCESS');
  want.delete('_shardimpute_manifest.json');
  assertSameAsCli(out, want);
  // the single-threaded build reads one shard ahead of the one it runs
  assert.ok(most <= 2, `${most} reads at once`);
  assert.ok(opened.length > 0);
});

test('a stream given as it is is read once; a second pass says which shard and what to give', async () => {
  const c = caseInfo('csv-defaults');
  const files = list(c.input).map((p) => ({ path: p, file: fs.createReadStream(path.join(c.input, p)) }));
  const job = new w.Job(c.job, w.settingsFromEnv(c.env), files);
  await job.fit(); // a Node stream is an async iterable of Buffers
  const e = await job.fill().then(() => assert.fail('resolved'), (x) => x);
  assert.equal(e.kind, 'io');
  assert.match(e.message, /^train\/part-00000\.csv: cannot read the file: this stream was already read; give a function/);
});

test('keepForFill: pass 2 reuses what pass 1 read, up to the budget; the output is the CLI\'s', async () => {
  const c = caseInfo('csv-defaults');
  const want = runCli(c);
  want.delete('_SUCCESS');
  want.delete('_shardimpute_manifest.json');
  const train = list(c.input).filter((p) => p.startsWith('train/'));
  const sizes = train.map((p) => fs.statSync(path.join(c.input, p)).size);
  // every training shard kept; a budget that holds only the first one;
  // budgets that are no number of bytes keep nothing
  for (const [budget, keptCount] of [[1e9, train.length], [sizes[0], 1], [Number.NaN, 0], [-1, 0]]) {
    const reads = new Map();
    const files = list(c.input).map((p) => ({
      path: p,
      file: () => {
        reads.set(p, (reads.get(p) ?? 0) + 1);
        return new Uint8Array(fs.readFileSync(path.join(c.input, p)));
      },
    }));
    const job = new w.Job(c.job, w.settingsFromEnv(c.env), files);
    await job.fit({ keepForFill: budget });
    const out = new Map();
    await job.fill({ onShard: (p, b) => out.set(p, Buffer.from(b)) });
    for (const [n, b] of Object.entries(job.artifacts())) out.set(`model_artifacts/${n}`, Buffer.from(b));
    assertSameAsCli(out, want);
    const twice = train.filter((p) => reads.get(p) === 2);
    assert.equal(train.length - twice.length, keptCount, `budget ${budget}: ${JSON.stringify([...reads])}`);
    assert.ok(train.every((p) => reads.get(p) >= 1));
    // kept bytes serve one pass 2: a second one reads every shard again
    // (and, with a budget, fills the training shards by the missing cells
    // pass 1 kept): the same files
    const again = new Map();
    await job.fill({ onShard: (p, b) => again.set(p, Buffer.from(b)) });
    for (const [n, b] of Object.entries(job.artifacts())) again.set(`model_artifacts/${n}`, Buffer.from(b));
    assertSameAsCli(again, want);
    assert.ok(train.every((p) => reads.get(p) === (twice.includes(p) ? 3 : 2)), JSON.stringify([...reads]));
    job.free();
  }
  // a stream given as it is serves both passes when pass 1 keeps it
  const streams = list(c.input).map((p) => ({ path: p, file: fs.createReadStream(path.join(c.input, p)) }));
  const job = new w.Job(c.job, w.settingsFromEnv(c.env), streams);
  await job.fit({ keepForFill: 1e9 });
  const out = new Map();
  await job.fill({ onShard: (p, b) => out.set(p, Buffer.from(b)) });
  for (const [n, b] of Object.entries(job.artifacts())) out.set(`model_artifacts/${n}`, Buffer.from(b));
  assertSameAsCli(out, want);
  job.free();
});

test('a URL that fails names the shard and the HTTP status (kind io); a bad zip stream is aborted', async () => {
  const c = caseInfo('csv-defaults');
  const files = list(c.input).map((p) => ({ path: p, url: `${base}csv-defaults/input/${p}` }));
  files[5].url = `${base}nowhere/${files[5].path}`;
  const job = new w.Job(c.job, w.settingsFromEnv(c.env), files);
  await job.fit();
  let aborted = null;
  const stream = new WritableStream({ write() {}, abort(reason) { aborted = reason; } });
  const e = await job.fill({ zip: stream }).then(() => assert.fail('resolved'), (x) => x);
  assert.equal(e.kind, 'io');
  assert.equal(e.message, `${files[5].path}: cannot read the file: HTTP 404 from ${files[5].url}`);
  assert.equal(aborted, e, 'the zip stream is aborted with the error');
  assert.ok(served.includes(`/nowhere/${files[5].path}`));
});

test('ZipReader reads our zip and a deflated one; a damaged entry is named (kind zip)', async () => {
  const c = caseInfo('csv-defaults');
  const z = new w.ZipWriter();
  const parts = [];
  for (const p of list(c.input)) parts.push(z.add(p, fs.readFileSync(path.join(c.input, p))));
  parts.push(z.finish());
  const r = new w.ZipReader(Buffer.concat(parts));
  const names = r.entries().map((e) => e.path);
  assert.deepEqual(names, [...list(c.input), '_shardimpute_manifest.json', '_SUCCESS']);
  for (const p of list(c.input)) assert.ok(Buffer.from(r.read(p)).equals(fs.readFileSync(path.join(c.input, p))), p);
  // deflated by Python's zipfile, inside a top folder
  const dir = tmpdir();
  execFileSync('python3', ['-c', 'import sys, zipfile, os\n'
    + 'with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:\n'
    + '    for d, _, fs in os.walk(sys.argv[1]):\n'
    + '        for f in fs: z.write(os.path.join(d, f), os.path.join("data", os.path.relpath(os.path.join(d, f), sys.argv[1])))',
  c.input, path.join(dir, 'in.zip')]);
  const deflated = fs.readFileSync(path.join(dir, 'in.zip'));
  const d = new w.ZipReader(deflated);
  for (const p of list(c.input)) assert.ok(Buffer.from(d.read(`data/${p}`)).equals(fs.readFileSync(path.join(c.input, p))), p);
  // one flipped byte in an entry's data
  const at = deflated.indexOf('data/train/part-00001.csv') + 'data/train/part-00001.csv'.length + 20;
  deflated[at] ^= 0xff;
  const e = (() => {
    try {
      new w.ZipReader(deflated).read('data/train/part-00001.csv');
    } catch (x) {
      return x;
    }
    return assert.fail('read a damaged entry');
  })();
  assert.equal(e.kind, 'zip');
  assert.match(e.message, /^data\/train\/part-00001\.csv: invalid zip: /);
  fs.rmSync(dir, { recursive: true, force: true });
});
