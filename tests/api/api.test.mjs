// The JavaScript API of shardimpute-wasm, used as a host page would use it
// (without our UI), run in Node on the single-threaded build in dist/st/.
// Its outputs must be byte-identical to the native CLI's for the same input.
//
//   node --test tests/api/
//
// Needs `make dist` (for dist/st/) and `cargo build -p shardimpute`.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'tests/fixtures');
const wasmJs = process.env.SHARDIMPUTE_WASM_JS ?? path.join(root, 'dist/st/shardimpute_wasm.js');
const cli = process.env.SHARDIMPUTE_CLI ?? path.join(root, 'target/debug/shardimpute');

let w;
before(async () => {
  assert.ok(fs.existsSync(wasmJs), `${wasmJs} is missing: run make dist`);
  assert.ok(fs.existsSync(cli), `${cli} is missing: run cargo build -p shardimpute`);
  w = await import(pathToFileURL(wasmJs).href);
  await w.default({ module_or_path: fs.readFileSync(wasmJs.replace(/\.js$/, '_bg.wasm')) });
});

/** Every file under `dir` as `{ path, file: Blob }`, paths relative to `dir`. */
function shardFiles(dir) {
  const out = [];
  const walk = (d, rel) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p, r);
      else out.push({ path: r, file: new Blob([fs.readFileSync(p)]) });
    }
  };
  walk(dir, '');
  return out;
}

/** Every file under `dir` as a map of relative path to bytes. */
function tree(dir) {
  const out = new Map();
  for (const { path: p } of shardFiles(dir)) out.set(p, fs.readFileSync(path.join(dir, p)));
  return out;
}

function tmpdir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'shardimpute-api-'));
}

function caseInfo(name) {
  const dir = path.join(fixtures, name);
  return {
    dir,
    env: fs.readFileSync(path.join(dir, 'env.txt'), 'utf8'),
    job: fs.readFileSync(path.join(dir, 'job_type.txt'), 'utf8').trim(),
  };
}

/** Runs a whole job through the API; returns the output files by path. */
async function runApi(name) {
  const c = caseInfo(name);
  const job = new w.Job(c.job, w.settingsFromEnv(c.env), shardFiles(path.join(c.dir, 'input')));
  const progress = [];
  if (c.job === 'training') {
    const plan = await job.fit({ onProgress: (p) => progress.push(p) });
    assert.ok(plan.columns.length > 0);
  } else {
    const pkl = fs.readFileSync(path.join(c.dir, 'artifacts_in/impute_dict.pkl'));
    job.setArtifacts('impute_dict.pkl', pkl);
  }
  const out = new Map();
  const summary = await job.fill({
    onShard: (p, bytes) => {
      assert.ok(!out.has(p), `${p} written twice`);
      out.set(p, Buffer.from(bytes));
    },
    onProgress: (p) => progress.push(p),
  });
  for (const [n, bytes] of Object.entries(job.artifacts())) out.set(`model_artifacts/${n}`, Buffer.from(bytes));
  return { out, progress, summary, job };
}

/** Runs the same job with the native CLI; returns its output files by path. */
function runCli(name) {
  const c = caseInfo(name);
  const outDir = tmpdir();
  const args = ['run', '--job-type', c.job, '--input', path.join(c.dir, 'input'), '--output', outDir, '--quiet'];
  if (c.job !== 'training') args.push('--artifacts-in', path.join(c.dir, 'artifacts_in'));
  const env = { ...process.env };
  for (const line of c.env.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i).trim()] = line.slice(i + 1);
  }
  execFileSync(cli, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const files = tree(outDir);
  fs.rmSync(outDir, { recursive: true, force: true });
  return files;
}

for (const name of fs.readdirSync(fixtures).filter((n) => fs.existsSync(path.join(fixtures, n, 'job_type.txt')))) {
  test(`${name}: the API's output is byte-identical to the CLI's`, async () => {
    const { out, progress, summary } = await runApi(name);
    const want = runCli(name);
    // the CLI copies --artifacts-in into the output; a host page does that itself
    for (const p of want.keys()) {
      if (!out.has(p) && p.startsWith('model_artifacts/') && !p.match(/impute_dict\.(pkl|json)$|imputation_summary\.json$/)) {
        want.delete(p);
      }
    }
    assert.deepEqual([...out.keys()].sort(), [...want.keys()].sort());
    for (const [p, bytes] of want) assert.ok(out.get(p).equals(bytes), `${p} differs from the CLI's`);
    const fills = progress.filter((p) => p.pass === 'fill');
    assert.equal(fills.at(-1).shardsDone, fills.at(-1).shardsTotal);
    assert.equal(fills.at(-1).bytesDone, fills.at(-1).bytesTotal);
    assert.equal(summary.rows_in_equals_rows_out, true);
  });
}

test('settings from env text, and bad settings are errors', () => {
  const s = w.settingsFromEnv('LABEL_FIELD=y\nEXCLUDE_COLUMNS=a,b\nCOLUMN_STRATEGY_age=median\n');
  assert.equal(s.labelField, 'y');
  assert.deepEqual(s.excludeColumns, ['a', 'b']);
  assert.deepEqual(s.columnStrategies, [['age', 'median']]);
  assert.equal(w.defaultSettings().labelField, 'target');
  assert.throws(() => w.settingsFromEnv('CATEGORICAL_UNIQUE_RATIO_THRESHOLD=lots'), /CATEGORICAL_UNIQUE_RATIO_THRESHOLD/);
});

test('layout problems throw from the constructor', () => {
  const files = shardFiles(path.join(fixtures, 'csv-defaults/input')).filter((f) => !f.path.startsWith('val/'));
  assert.throws(() => new w.Job('training', {}, files), /split folder `val\/` not found/);
  assert.throws(() => new w.Job('training', {}, [{ path: 'train/part-00000.csv' }]), /no `file` Blob/);
  assert.throws(() => new w.Job('predicting', {}, files), /unknown job type/);
});

test('the dataset lists shards and ignored files', () => {
  const files = shardFiles(path.join(fixtures, 'csv-defaults/input'));
  files.push({ path: 'train/notes.txt', file: new Blob(['hi']) });
  const job = new w.Job('training', undefined, files);
  const d = job.dataset;
  assert.deepEqual(d.splits.map((s) => s.name), ['train', 'val', 'test']);
  assert.equal(d.splits[0].shards[0].path, 'train/part-00000.csv');
  assert.equal(d.splits[0].shards[0].format, 'csv');
  assert.equal(d.splits[0].shards[0].size, files.find((f) => f.path === 'train/part-00000.csv').file.size);
  assert.deepEqual(d.ignored, ['train/notes.txt']);
});

test('a bad shard rejects with the CLI message naming the file and line', async () => {
  const dir = tmpdir();
  fs.cpSync(path.join(fixtures, 'csv-defaults/input'), dir, { recursive: true });
  const bad = path.join(dir, 'val/part-00001.csv');
  fs.appendFileSync(bad, 'only,three,fields\n');
  const job = new w.Job('training', {}, shardFiles(dir));
  await job.fit();
  const written = [];
  const err = await job.fill({ onShard: (p) => written.push(p) }).then(() => null, (e) => e);
  assert.ok(err instanceof Error, 'fill must reject');
  assert.match(err.message, /val\/part-00001\.csv/);
  assert.match(err.message, /line \d+/);
  assert.ok(!written.includes('val/part-00001.csv'));
  const r = spawnSync(cli, ['run', '--job-type', 'training', '--input', dir, '--output', path.join(dir, 'out'), '--quiet']);
  assert.notEqual(r.status, 0);
  assert.ok(r.stderr.toString().trim().endsWith(err.message), `CLI: ${r.stderr}\nAPI: ${err.message}`);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an aborted signal cancels the pass between shards', async () => {
  const job = new w.Job('training', {}, shardFiles(path.join(fixtures, 'csv-defaults/input')));
  const ctl = new AbortController();
  const seen = [];
  const err = await job
    .fit({ signal: ctl.signal, onProgress: (p) => { seen.push(p.shardsDone); ctl.abort(); } })
    .then(() => null, (e) => e);
  assert.ok(err instanceof Error);
  assert.match(err.message, /cancelled/);
  assert.deepEqual(seen, [1]);
  assert.equal(job.plan, null);
  // the job is usable again after a cancelled pass
  const plan = await job.fit();
  assert.ok(plan.columns.length > 0);
});

test('a second pass while one runs is refused', async () => {
  const job = new w.Job('training', {}, shardFiles(path.join(fixtures, 'csv-defaults/input')));
  const first = job.fit();
  await assert.rejects(job.fit(), /already running/);
  await first;
});

test('edited fill values are used by the next pass 2 and saved', async () => {
  const job = new w.Job('training', {}, shardFiles(path.join(fixtures, 'csv-defaults/input')));
  const plan = await job.fit();
  const num = plan.columns.find((c) => c.type === 'numerical' && c.fillValue !== null && c.missingCount > 0);
  const txt = plan.columns.find((c) => c.type !== 'numerical' && typeof c.fillValue === 'string' && c.missingCount > 0);
  assert.throws(() => job.setFillValue(num.name, 'not a number'), /not a valid fill value/);
  assert.throws(() => job.setFillValue('no such column', '1'), /no fill value/);
  job.setFillValue(num.name, '12345.5');
  job.setFillValue(txt.name, 'EDITED');
  assert.equal(job.fillValues[num.name], 12345.5);
  assert.equal(job.plan.columns.find((c) => c.name === num.name).fillValue, 12345.5);
  let text = '';
  await job.fill({ onShard: (p, b) => { if (p.startsWith('train/')) text += Buffer.from(b).toString(); } });
  assert.match(text, /12345\.5/);
  assert.match(text, /EDITED/);
  const dict = JSON.parse(Buffer.from(job.artifacts()['impute_dict.json']).toString());
  assert.equal(dict[num.name], 12345.5);
  assert.equal(dict[txt.name], 'EDITED');
});

test('non-training jobs need saved fill values; unsafe pickles are refused', async () => {
  const files = shardFiles(path.join(fixtures, 'csv-inference/input'));
  const job = new w.Job('validation', {}, files);
  await assert.rejects(job.fill({}), /needs saved fill values/);
  await assert.rejects(job.fit({}), /only in a training job/);
  // pickle of os.system('true'): a global and a reduce
  const evil = Buffer.from('8004951f000000000000008c05706f736978948c0673797374656d9493948c047472756594859452942e', 'hex');
  assert.throws(() => job.setArtifacts('impute_dict.pkl', evil), /impute_dict\.pkl/);
  assert.throws(() => job.setArtifacts('impute_dict.json', Buffer.from('[1,2]')), /impute_dict\.json/);
});

test('ZipWriter output is read back by Python zipfile', async () => {
  const { out } = await runApi('parquet-defaults');
  const zip = new w.ZipWriter();
  const parts = [];
  for (const [p, bytes] of out) parts.push(zip.add(p, bytes));
  assert.equal(zip.length, parts.reduce((n, b) => n + b.length, 0));
  parts.push(zip.finish());
  assert.throws(() => zip.finish(), /already finished/);
  const dir = tmpdir();
  const file = path.join(dir, 'out.zip');
  fs.writeFileSync(file, Buffer.concat(parts));
  const listing = execFileSync('python3', [
    '-c',
    'import sys, zipfile, json, hashlib\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}))',
    file,
  ]).toString();
  const got = JSON.parse(listing);
  const { createHash } = await import('node:crypto');
  assert.deepEqual(Object.keys(got).sort(), [...out.keys()].sort());
  for (const [p, bytes] of out) assert.equal(got[p], createHash('sha256').update(bytes).digest('hex'), p);
  fs.rmSync(dir, { recursive: true, force: true });
});
