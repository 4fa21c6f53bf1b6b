// The edge worker (examples/edge-worker/) under workerd, started from the
// pinned npm package: a zip of a dataset folder in, the zip of the imputed
// shards and artifacts out; shard URLs in (a local HTTP server here); both
// compared file by file with the native CLI's output folder (Python's
// zipfile reads the zip). Then a dataset larger than the runtime's 128 MB
// memory limit, given as URLs: the output is checked against the CLI and
// workerd's peak RSS and the engine's wasm memory are measured.
//
//   make edge-test      (builds dist/st/ and the CLI first)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { untimed } from '../untimed.mjs';
import { list, tree } from '../files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'tests/fixtures');
const edge = path.join(root, 'examples/edge-worker');
const workerdBin = path.join(edge, 'node_modules/.bin/workerd');
const cli = process.env.SHARDIMPUTE_CLI ?? path.join(root, 'target/debug/shardimpute');
/** The big dataset's train shards and bytes per shard (> 128 MB in all). */
const BIG_SHARDS = Number(process.env.EDGE_BIG_SHARDS ?? 40);
const BIG_SHARD_BYTES = 4e6;

let workerd;
let workerdUrl;
let files; // the static server for shards
const temps = [];

function tmpdir() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shardimpute-edge-'));
  temps.push(d);
  return d;
}

function freePort() {
  return new Promise((ok) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Serves `dirs` (name -> folder) over HTTP at /<name>/...; anything else is a 404. */
function serveFolders(dirs) {
  const server = http.createServer((req, res) => {
    const [, name, ...rest] = decodeURIComponent(new URL(req.url, 'http://x').pathname).split('/');
    const dir = dirs[name];
    const file = dir && path.join(dir, ...rest);
    if (!file || !file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${server.address().port}/` })));
}

before(async () => {
  assert.ok(fs.existsSync(workerdBin), `${workerdBin} is missing: run scripts/setup.sh edge`);
  assert.ok(fs.existsSync(path.join(edge, 'build/shardimpute_wasm_bg.wasm')), 'examples/edge-worker/build/ is missing: run make edge-worker');
  assert.ok(fs.existsSync(cli), `${cli} is missing: run cargo build -p shardimpute`);
  const port = await freePort();
  workerdUrl = `http://127.0.0.1:${port}/`;
  workerd = spawn(workerdBin, ['serve', path.join(edge, 'config.capnp'), '--socket-addr', `http=127.0.0.1:${port}`],
    { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(workerdUrl)).ok) break;
    } catch {
      // not listening yet
    }
    assert.ok(i < 100 && workerd.exitCode === null, 'workerd did not start');
    await new Promise((ok) => setTimeout(ok, 100));
  }
  files = await serveFolders({ fixtures });
});

after(async () => {
  workerd?.kill();
  files?.server.close();
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

function caseInfo(name) {
  const dir = path.join(fixtures, name);
  return {
    name,
    dir,
    input: path.join(dir, 'input'),
    env: fs.readFileSync(path.join(dir, 'env.txt'), 'utf8'),
    job: fs.readFileSync(path.join(dir, 'job_type.txt'), 'utf8').trim(),
    artifacts: fs.existsSync(path.join(dir, 'artifacts_in')) ? path.join(dir, 'artifacts_in') : null,
  };
}

function envVars(text) {
  return text.split('\n').map((l) => l.trim()).filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

/** The native CLI's output folder for an input, by path (manifest and _SUCCESS included). */
function runCli(c, input = c.input) {
  const out = tmpdir();
  const args = ['run', '--job-type', c.job, '--input', input, '--output', out, '--quiet'];
  if (c.artifacts) args.push('--artifacts-in', c.artifacts);
  execFileSync(cli, args, { env: { ...process.env, ...Object.fromEntries(envVars(c.env)) }, stdio: ['ignore', 'ignore', 'pipe'] });
  const files = tree(out);
  fs.rmSync(out, { recursive: true, force: true });
  return files;
}

/** A zip file's entries as Python's zipfile reads them (CRCs checked): names in order, files by path. */
function pythonZip(zipPath) {
  const dir = tmpdir();
  const script = 'import sys, zipfile, json\n'
    + 'z = zipfile.ZipFile(sys.argv[1])\n'
    + 'assert z.testzip() is None\n'
    + 'z.extractall(sys.argv[2])\n'
    + 'print(json.dumps(z.namelist()))';
  const names = JSON.parse(execFileSync('python3', ['-c', script, zipPath, dir]).toString());
  return { names, files: tree(dir) };
}

function assertSameAsCli(zip, want) {
  // a complete output: the manifest, then _SUCCESS, last
  assert.deepEqual(zip.names.slice(-2), ['_shardimpute_manifest.json', '_SUCCESS']);
  assert.deepEqual([...zip.files.keys()].sort(), [...want.keys()].sort(), 'the same files');
  for (const [p, bytes] of want) assert.ok(untimed(p, zip.files.get(p)).equals(untimed(p, bytes)), `${p} differs from the CLI's`);
}

/** POSTs to the worker; the response saved to a file. */
async function post(query, body, type) {
  const r = await fetch(`${workerdUrl}?${new URLSearchParams(query)}`, { method: 'POST', body, headers: { 'Content-Type': type } });
  const file = path.join(tmpdir(), 'out.zip');
  fs.writeFileSync(file, Buffer.from(await r.arrayBuffer()));
  return { status: r.status, type: r.headers.get('content-type'), file };
}

for (const name of ['csv-defaults', 'parquet-defaults', 'csv-inference']) {
  test(`${name}: a zip of the folder in (deflated, in a top folder), the CLI's files out`, async () => {
    const c = caseInfo(name);
    // the dataset folder as a user zips it; a saved artifacts folder inside it
    const dir = tmpdir();
    const ds = path.join(dir, 'my-dataset');
    fs.cpSync(c.input, ds, { recursive: true });
    if (c.artifacts) fs.cpSync(c.artifacts, path.join(ds, 'model_artifacts'), { recursive: true });
    execFileSync('python3', ['-c', 'import os, sys, zipfile\n'
      + 'with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:\n'
      + '    for d, _, fs in os.walk(sys.argv[1]):\n'
      + '        for f in sorted(fs): z.write(os.path.join(d, f), os.path.relpath(os.path.join(d, f), os.path.dirname(sys.argv[1])))',
    ds, path.join(dir, 'in.zip')]);
    const r = await post([['jobType', c.job], ...envVars(c.env)], fs.readFileSync(path.join(dir, 'in.zip')), 'application/zip');
    assert.equal(r.status, 200, fs.readFileSync(r.file, 'utf8').slice(0, 300));
    assert.equal(r.type, 'application/zip');
    assertSameAsCli(pythonZip(r.file), runCli(c));
  });
}

for (const name of ['csv-defaults', 'csvgz-defaults', 'csv-inference']) {
  test(`${name}: shard URLs in, the CLI's files out`, async () => {
    const c = caseInfo(name);
    const rel = path.relative(fixtures, c.dir);
    const body = {
      jobType: c.job,
      env: c.env,
      files: list(c.input).map((p) => ({ path: p, url: `${files.url}fixtures/${rel}/input/${p}` })),
      artifacts: c.artifacts ? list(c.artifacts).map((n) => ({ name: n, url: `${files.url}fixtures/${rel}/artifacts_in/${n}` })) : [],
    };
    const r = await post([], JSON.stringify(body), 'application/json');
    assert.equal(r.status, 200, fs.readFileSync(r.file, 'utf8').slice(0, 300));
    assertSameAsCli(pythonZip(r.file), runCli(c));
  });
}

test('errors before the zip starts are JSON naming the file; a bad shard in pass 2 aborts the response', async () => {
  const c = caseInfo('csv-defaults');
  const url = (p) => `${files.url}fixtures/csv-defaults/input/${p}`;
  const paths = list(c.input);
  // a missing shard in pass 1: 502, the shard and the HTTP status named
  let r = await fetch(workerdUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ files: paths.map((p) => ({ path: p, url: p === 'train/part-00001.csv' ? `${files.url}nowhere` : url(p) })) }) });
  assert.equal(r.status, 502);
  assert.deepEqual(await r.json(), { error: `train/part-00001.csv: cannot read the file: HTTP 404 from ${files.url}nowhere`, kind: 'io' });
  // not a zip
  r = await fetch(workerdUrl, { method: 'POST', body: 'hello' });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).kind, 'zip');
  // a val shard missing: pass 1 passes, pass 2 fails after the zip started
  r = await fetch(workerdUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ files: paths.map((p) => ({ path: p, url: p.startsWith('val/') ? `${files.url}nowhere` : url(p) })) }) });
  assert.equal(r.status, 200);
  await assert.rejects(r.arrayBuffer(), 'the transfer fails: no complete zip');
});

/** workerd's resident memory now and at its peak (VmRSS, VmHWM), in MB. */
function workerdMemory() {
  const status = fs.readFileSync(`/proc/${workerd.pid}/status`, 'utf8');
  const kb = (k) => Number(status.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))[1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** A training dataset of `n` CSV shards of about `bytes` each (and 2 val, 1 test), with gaps. */
function bigDataset(n, bytes) {
  const dir = path.join(tmpdir(), 'big');
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
  const shard = (file) => {
    const lines = ['id,num_a,num_b,cat,text,target'];
    let size = 0;
    for (let i = 0; size < bytes; i++) {
      const gap = (x) => (rand() < 0.1 ? '' : x);
      const line = [i, gap((rand() * 1000).toFixed(3)), gap(Math.floor(rand() * 100)), gap(words[Math.floor(rand() * 8)]),
        gap(`${words[i % 8]} ${words[(i * 7) % 8]} note ${Math.floor(rand() * 5000)}`), i % 2].join(',');
      lines.push(line);
      size += line.length + 1;
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
  };
  shard(path.join(dir, 'train/part-00000.csv'));
  // the same rows in every train shard keep generating quick; the mode and mean see them all
  for (let i = 1; i < n; i++) fs.copyFileSync(path.join(dir, 'train/part-00000.csv'), path.join(dir, `train/part-${String(i).padStart(5, '0')}.csv`));
  for (const p of ['val/part-00000.csv', 'val/part-00001.csv', 'test/part-00000.csv']) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.copyFileSync(path.join(dir, 'train/part-00000.csv'), path.join(dir, p));
  }
  return dir;
}

/**
 * Runs a training job on a generated dataset of `n` train shards given as
 * URLs, streaming the zip to disk; its input size, the zip, and workerd's
 * memory before and after.
 */
async function runBig(n) {
  const input = bigDataset(n, BIG_SHARD_BYTES);
  const big = await serveFolders({ big: input });
  try {
    const paths = list(input);
    const total = paths.reduce((k, p) => k + fs.statSync(path.join(input, p)).size, 0);
    const before = workerdMemory();
    const body = { jobType: 'training', env: 'EXCLUDE_COLUMNS=id', files: paths.map((p) => ({ path: p, url: `${big.url}big/${p}` })) };
    const r = await fetch(workerdUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 200);
    const out = path.join(tmpdir(), 'out.zip');
    const fd = fs.openSync(out, 'w');
    let zipBytes = 0;
    for await (const chunk of r.body) {
      fs.writeSync(fd, chunk);
      zipBytes += chunk.length;
    }
    fs.closeSync(fd);
    const after = workerdMemory();
    const { wasmMemoryBytes } = await (await fetch(`${workerdUrl}stats`)).json();
    const mb = (k) => (k / 2 ** 20).toFixed(1);
    console.log(`edge memory: input ${mb(total)} MB in ${paths.length} shards, zip ${mb(zipBytes)} MB; `
      + `workerd RSS ${before.rss.toFixed(1)} MB before, peak ${after.peak.toFixed(1)} MB (VmHWM); `
      + `engine wasm memory ${mb(wasmMemoryBytes)} MB`);
    return { input, out, total, before, after, wasmMemoryBytes };
  } finally {
    big.server.close();
  }
}

test('datasets larger than 128 MB as URLs: the CLI\'s output, in memory that does not grow with the input', async () => {
  // the second run follows the first at once (a pause may let workerd drop
  // the kept-alive connection)
  const first = await runBig(BIG_SHARDS);
  const second = await runBig(2 * BIG_SHARDS);
  assert.ok(first.total > 128 * 2 ** 20, `${first.total} bytes of input`);
  // the engine's memory (all of the isolate's wasm) stays far under the
  // limit, and workerd's peak RSS does not grow with the input
  assert.deepEqual(pythonZip(second.out).names.slice(-2), ['_shardimpute_manifest.json', '_SUCCESS']);
  for (const run of [first, second]) assert.ok(run.wasmMemoryBytes < 64 * 2 ** 20, `wasm memory ${run.wasmMemoryBytes} bytes`);
  assert.ok(second.after.peak - first.after.peak < 32,
    `workerd peak RSS ${first.after.peak} MB at ${first.total} bytes of input, ${second.after.peak} MB at ${second.total}`);
  fs.rmSync(path.dirname(second.input), { recursive: true, force: true });
  // the same files as the CLI's (compared by hash: the zip is large)
  const got = pythonZip(first.out);
  const want = runCli({ job: 'training', env: 'EXCLUDE_COLUMNS=id', artifacts: null }, first.input);
  assert.deepEqual(got.names.slice(-2), ['_shardimpute_manifest.json', '_SUCCESS']);
  assert.deepEqual([...got.files.keys()].sort(), [...want.keys()].sort());
  const hash = (b) => crypto.createHash('sha256').update(b).digest('hex');
  for (const [p, bytes] of want) assert.equal(hash(untimed(p, got.files.get(p))), hash(untimed(p, bytes)), `${p} differs from the CLI's`);
  assert.ok(first.after.peak - first.before.rss < 128, `workerd grew by ${first.after.peak - first.before.rss} MB`);
});
