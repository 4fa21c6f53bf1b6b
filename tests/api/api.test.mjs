// The JavaScript API of shardimpute-wasm, used as a host page would use it
// (without our UI), run in Node on the single-threaded build in dist/st/.
// Its outputs must be byte-identical to the native CLI's for the same input
// (but for the run's time in the reports), and agree with what the tests
// read themselves: the fixtures' expected files, the input bytes, Python's
// csv, gzip, pickle and pyarrow.
//
//   node --test tests/api/
//
// Needs `make dist` (for dist/st/), `cargo build -p shardimpute` and the
// pinned .venv-test Python (scripts/setup.sh python).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { untimed } from '../untimed.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'tests/fixtures');
const wasmJs = process.env.SHARDIMPUTE_WASM_JS ?? path.join(root, 'dist/st/shardimpute_wasm.js');
const cli = process.env.SHARDIMPUTE_CLI ?? path.join(root, 'target/debug/shardimpute');
const python = path.join(root, '.venv-test/bin/python');
/** The artifacts every run writes, in write order (after the carried files). */
const OURS = ['impute_dict.pkl', 'impute_dict.json', 'imputation_summary.json', 'imputation_report.json',
  'imputation_summary.txt'];
/** The keys of imputation_report.json. */
const REPORT_KEYS = ['timestamp', 'missing_value_analysis', 'validation_report', 'imputation_summary',
  'quality_metrics', 'recommendations'];

let w;
before(async () => {
  assert.ok(fs.existsSync(wasmJs), `${wasmJs} is missing: run make dist`);
  assert.ok(fs.existsSync(cli), `${cli} is missing: run cargo build -p shardimpute`);
  assert.ok(fs.existsSync(python), `${python} is missing: run scripts/setup.sh python`);
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

/** The files of a folder as `[{ name, file: Blob }]` (an artifacts folder). */
function artifactFiles(dir) {
  return fs.readdirSync(dir).sort().map((name) => ({ name, file: new Blob([fs.readFileSync(path.join(dir, name))]) }));
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

/** What a promise rejects with (fails when it resolves). */
async function rejection(promise) {
  return promise.then(() => assert.fail('expected a rejection'), (e) => e);
}

/** What a call throws (fails when it returns). */
function thrown(f) {
  try {
    f();
  } catch (e) {
    return e;
  }
  return assert.fail('expected an exception');
}

/** Runs Python code of the pinned venv with `args`; its stdout as JSON. */
function pythonJson(script, args) {
  return JSON.parse(execFileSync(python, ['-c', script, ...args], { maxBuffer: 1 << 26 }).toString());
}


/** A case: a fixture's name, or the folder of a random case. */
function caseInfo(name) {
  const dir = path.isAbsolute(name) ? name : path.join(fixtures, name);
  return {
    dir,
    env: fs.readFileSync(path.join(dir, 'env.txt'), 'utf8'),
    job: fs.readFileSync(path.join(dir, 'job_type.txt'), 'utf8').trim(),
  };
}

/**
 * Runs a whole job through the API; returns the output files by path.
 * `keepForFill`: as the web app runs it (pass 1's shards and missing cells
 * kept for pass 2).
 */
async function runApi(name, { keepForFill = 0 } = {}) {
  const c = caseInfo(name);
  const job = new w.Job(c.job, w.settingsFromEnv(c.env), shardFiles(path.join(c.dir, 'input')));
  const progress = [];
  if (c.job === 'training') {
    const plan = await job.fit({ onProgress: (p) => progress.push(p), keepForFill });
    assert.ok(plan.columns.length > 0);
  } else {
    await job.addArtifacts(artifactFiles(path.join(c.dir, 'artifacts_in')));
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

// Random cases (tests/fixtures/random_cases.py; expected answers from the
// pandas oracle), run as the web app runs a job: SHARDIMPUTE_API_RANDOM_CASES
// of them (default 12) from seed SHARDIMPUTE_RANDOM_SEED (default 1)
const RANDOM_CASES = Number(process.env.SHARDIMPUTE_API_RANDOM_CASES ?? 12);
const RANDOM_SEED = Number(process.env.SHARDIMPUTE_RANDOM_SEED ?? 1);
const randomRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'shardimpute-api-random-'));
after(() => fs.rmSync(randomRoot, { recursive: true, force: true }));
// (without the venv, before() fails saying what to install)
if (RANDOM_CASES > 0 && fs.existsSync(python)) {
  execFileSync(python, [path.join(fixtures, 'random_cases.py'), '--out', randomRoot, '--seed', String(RANDOM_SEED),
    '--count', String(RANDOM_CASES)], { stdio: ['ignore', 'ignore', 'pipe'] });
}
const cases = [
  ...fs.readdirSync(fixtures).filter((n) => fs.existsSync(path.join(fixtures, n, 'job_type.txt'))),
  ...Array.from({ length: RANDOM_CASES }, (_, k) => path.join(randomRoot, `random-${RANDOM_SEED}-${k}`)),
];

for (const name of cases) {
  const random = path.isAbsolute(name);
  test(`${path.basename(name)}: the API's output is byte-identical to the CLI's and has the expected fill values`, async () => {
    const { out, progress, summary } = await runApi(name, { keepForFill: random ? 256 << 20 : 0 });
    const want = runCli(name);
    // the CLI's folder also holds its manifest (listing the API's files,
    // with their sizes) and _SUCCESS
    assert.equal(want.get('_SUCCESS')?.length, 0);
    const manifest = JSON.parse(want.get('_shardimpute_manifest.json').toString());
    assert.deepEqual(manifest.files.map((f) => [f.path, f.bytes]).sort(),
      [...out].map(([p, b]) => [p, b.length]).sort());
    want.delete('_SUCCESS');
    want.delete('_shardimpute_manifest.json');
    assert.deepEqual([...out.keys()].sort(), [...want.keys()].sort());
    for (const [p, bytes] of want) {
      assert.ok(untimed(p, out.get(p)).equals(untimed(p, bytes)), `${p} differs from the CLI's`);
    }
    // the fill values are the fixture's expected ones, to the bit
    const expected = path.join(caseInfo(name).dir, 'expected/impute_dict.json');
    if (fs.existsSync(expected)) {
      const got = JSON.parse(out.get('model_artifacts/impute_dict.json').toString());
      const dict = JSON.parse(fs.readFileSync(expected, 'utf8'));
      assert.deepEqual(Object.keys(got), Object.keys(dict));
      for (const [k, v] of Object.entries(dict)) assert.ok(Object.is(got[k], v), `${k}: got ${got[k]}, want ${v}`);
    }
    const fills = progress.filter((p) => p.pass === 'fill');
    assert.equal(fills.at(-1).shardsDone, fills.at(-1).shardsTotal);
    assert.equal(fills.at(-1).bytesDone, fills.at(-1).bytesTotal);
    assert.equal(summary.rows_in_equals_rows_out, true);
    assert.equal(summary.job_type, caseInfo(name).job);
  });
}

test('settings from env text, and bad settings are errors', () => {
  const s = w.settingsFromEnv('LABEL_FIELD=y\nEXCLUDE_COLUMNS=a,b\nCOLUMN_STRATEGY_age=median\n');
  assert.equal(s.labelField, 'y');
  assert.deepEqual(s.excludeColumns, ['a', 'b']);
  assert.deepEqual(s.columnStrategies, [['age', 'median']]);
  assert.equal(w.defaultSettings().labelField, 'target');
  const e = thrown(() => w.settingsFromEnv('CATEGORICAL_UNIQUE_RATIO_THRESHOLD=lots'));
  assert.match(e.message, /CATEGORICAL_UNIQUE_RATIO_THRESHOLD/);
  assert.equal(e.kind, 'settings');
});

test('settings objects: a number constant, validated strategies and names (kind settings)', () => {
  const files = shardFiles(path.join(fixtures, 'csv-defaults/input'));
  const job = new w.Job('training', { numericalConstantValue: 7.5, defaultNumericalStrategy: 'constant' }, files);
  assert.equal(job.settings.numericalConstantValue, 7.5);
  assert.equal(job.settings.defaultNumericalStrategy, 'constant');
  assert.equal(new w.Job('training', { numericalConstantValue: '2.25' }, files).settings.numericalConstantValue, 2.25);
  for (const bad of [{ defaultNumericalStrategy: 'average' }, { labelFeild: 'y' }, { numericalConstantValue: 'lots' }]) {
    const e = thrown(() => new w.Job('training', bad, files));
    assert.ok(e instanceof Error);
    assert.equal(e.kind, 'settings', `${JSON.stringify(bad)}: ${e.message}`);
  }
});

test('layout problems throw from the constructor', () => {
  const files = shardFiles(path.join(fixtures, 'csv-defaults/input')).filter((f) => !f.path.startsWith('val/'));
  assert.throws(() => new w.Job('training', {}, files), /split folder `val\/` not found/);
  assert.throws(() => new w.Job('training', {}, [{ path: 'train/part-00000.csv' }]), /no `file` \(Blob, bytes, stream\) or `url`/);
  assert.throws(() => new w.Job('predicting', {}, files), /unknown job type/);
});

test('a layout error has kind layout', () => {
  const files = shardFiles(path.join(fixtures, 'csv-defaults/input')).filter((f) => !f.path.startsWith('val/'));
  const e = thrown(() => new w.Job('training', {}, files));
  assert.ok(e instanceof Error);
  assert.equal(e.kind, 'layout');
  assert.match(e.message, /val\//);
  // a split folder without shards too
  const empty = shardFiles(path.join(fixtures, 'csv-defaults/input')).filter((f) => !f.path.startsWith('test/'));
  empty.push({ path: 'test/notes.txt', file: new Blob(['hi']) });
  assert.equal(thrown(() => new w.Job('training', {}, empty)).kind, 'layout');
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

/** The header of each file: Python's csv (and gzip) modules, or pyarrow's Parquet schema. */
function headersByPython(files) {
  const script = String.raw`
import csv, gzip, io, json, sys
import pyarrow.parquet as pq
out = []
for p in sys.argv[1:]:
    if p.endswith('.parquet'):
        out.append(pq.read_schema(p).names)
        continue
    raw = gzip.open(p, 'rb').read() if p.endswith('.gz') else open(p, 'rb').read()
    text = io.StringIO(raw.decode('utf-8-sig'), newline='')
    out.append(next(csv.reader(text, delimiter='\t' if '.tsv' in p else ',')))
print(json.dumps(out))
`;
  return pythonJson(script, files);
}

test("columns() gives the first shard's header: CSV, gzip CSV, TSV, Parquet", async () => {
  const cases = ['csv-defaults', 'csvgz-defaults', 'tsv-defaults', 'parquet-defaults'];
  const firsts = cases.map((name) => {
    const train = path.join(fixtures, name, 'input/train');
    return path.join(train, fs.readdirSync(train).sort()[0]);
  });
  const want = headersByPython(firsts);
  for (const [i, name] of cases.entries()) {
    const job = new w.Job('training', {}, shardFiles(path.join(fixtures, name, 'input')));
    assert.equal(job.dataset.splits[0].shards[0].path, `train/${path.basename(firsts[i])}`);
    assert.ok(want[i].length > 1, `${name}: the test read a header`);
    assert.deepEqual(await job.columns(), want[i], name);
  }
});

test('columns() reads quoted header fields (a comma, a doubled quote, a BOM)', async () => {
  const header = '\ufeffid,"a, b","say ""hi""",target\r\n';
  const files = ['train', 'val', 'test'].map((s) => ({ path: `${s}/part-00000.csv`, file: new Blob([`${header}1,2,3,4\n`]) }));
  const dir = tmpdir();
  fs.writeFileSync(path.join(dir, 'h.csv'), header);
  const [want] = headersByPython([path.join(dir, 'h.csv')]);
  fs.rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(want, ['id', 'a, b', 'say "hi"', 'target']);
  assert.deepEqual(await new w.Job('training', {}, files).columns(), want);
});

test('a bad shard rejects with the CLI message naming the file and line', async () => {
  const tmp = tmpdir();
  const dir = path.join(tmp, 'input'); // the CLI's output goes beside it, not inside
  fs.cpSync(path.join(fixtures, 'csv-defaults/input'), dir, { recursive: true });
  const bad = path.join(dir, 'val/part-00001.csv');
  fs.appendFileSync(bad, 'only,three,fields\n');
  const job = new w.Job('training', {}, shardFiles(dir));
  await job.fit();
  const written = [];
  const err = await job.fill({ onShard: (p) => written.push(p) }).then(() => null, (e) => e);
  assert.ok(err instanceof Error, 'fill must reject');
  assert.equal(err.kind, 'csv');
  assert.match(err.message, /val\/part-00001\.csv/);
  assert.match(err.message, /line \d+/);
  assert.ok(!written.includes('val/part-00001.csv'));
  const r = spawnSync(cli, ['run', '--job-type', 'training', '--input', dir, '--output', path.join(tmp, 'out'), '--quiet']);
  assert.notEqual(r.status, 0);
  assert.ok(r.stderr.toString().trim().endsWith(err.message), `CLI: ${r.stderr}\nAPI: ${err.message}`);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a shard of 2 GiB or more is refused before any read, with kind memory; the engine goes on', async () => {
  const dir = path.join(fixtures, 'csv-defaults/input');
  const files = shardFiles(dir);
  const big = 'train/part-00001.csv';
  let fetched = 0;
  const huge = files.map((f) => (f.path === big
    ? { path: big, url: 'http://127.0.0.1:9/never', size: 2 ** 31, init: { signal: AbortSignal.timeout(1) } }
    : f));
  const realFetch = globalThis.fetch;
  globalThis.fetch = (...args) => {
    fetched++;
    return realFetch(...args);
  };
  try {
    const job = new w.Job('training', {}, huge);
    for (let i = 0; i < 2; i++) {
      const err = await job.fit().then(() => null, (e) => e);
      assert.ok(err instanceof Error, 'fit must reject');
      assert.equal(err.kind, 'memory');
      assert.match(err.message, /^train\/part-00001\.csv: 2147483648 bytes, more than the engine can hold/);
    }
    assert.equal(fetched, 0);
    assert.equal(w.engineStopped(), null);
    job.free();
  } finally {
    globalThis.fetch = realFetch;
  }
  // the same engine runs the next job
  const plan = await new w.Job('training', {}, files).fit();
  assert.ok(plan.columns.length > 0);
});

test('an aborted signal cancels the pass between shards, with kind cancelled', async () => {
  const job = new w.Job('training', {}, shardFiles(path.join(fixtures, 'csv-defaults/input')));
  const ctl = new AbortController();
  const seen = [];
  const err = await job
    .fit({ signal: ctl.signal, onProgress: (p) => { seen.push(p.shardsDone); ctl.abort(); } })
    .then(() => null, (e) => e);
  assert.ok(err instanceof Error);
  assert.equal(err.kind, 'cancelled');
  assert.match(err.message, /cancelled/);
  assert.deepEqual(seen, [1]);
  assert.equal(job.plan, null);
  // the job is usable again after a cancelled pass
  const plan = await job.fit();
  assert.ok(plan.columns.length > 0);
});

test('a signal aborted before pass 2 cancels it with kind cancelled; the job then fills', async () => {
  const job = new w.Job('training', {}, shardFiles(path.join(fixtures, 'csv-defaults/input')));
  await job.fit();
  const ctl = new AbortController();
  ctl.abort();
  const written = [];
  const err = await rejection(job.fill({ signal: ctl.signal, onShard: (p) => written.push(p) }));
  assert.equal(err.kind, 'cancelled');
  assert.deepEqual(written, []);
  const summary = await job.fill();
  assert.equal(summary.rows_in_equals_rows_out, true);
});

test('a second pass while one runs is refused (kind state)', async () => {
  const job = new w.Job('training', {}, shardFiles(path.join(fixtures, 'csv-defaults/input')));
  const first = job.fit();
  const err = await rejection(job.fit());
  assert.match(err.message, /pass 1 is already running/);
  assert.equal(err.kind, 'state');
  await first;
});

test('edited fill values are used by the next pass 2 and saved', async () => {
  const job = new w.Job('training', {}, shardFiles(path.join(fixtures, 'csv-defaults/input')));
  const plan = await job.fit();
  const num = plan.columns.find((c) => c.type === 'numerical' && c.fillValue !== null && c.missingCount > 0);
  const txt = plan.columns.find((c) => c.type !== 'numerical' && typeof c.fillValue === 'string' && c.missingCount > 0);
  assert.throws(() => job.setFillValue(num.name, 'not a number'), /not a valid fill value/);
  assert.equal(thrown(() => job.setFillValue(num.name, 'not a number')).kind, 'fill_value');
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

test('addArtifacts on a training job carries a non-dict file first, bytes unchanged', async () => {
  const bytes = Buffer.from('{"mean": 1.5, "note": "caf\u00e9"}\n');
  const job = new w.Job('training', {}, shardFiles(path.join(fixtures, 'csv-defaults/input')));
  await job.addArtifacts([{ name: 'scaler_params.json', file: new Blob([bytes]) }]);
  await job.fit();
  await job.fill();
  const artifacts = job.artifacts();
  assert.deepEqual(Object.keys(artifacts), ['scaler_params.json', ...OURS]);
  assert.ok(Buffer.from(artifacts['scaler_params.json']).equals(bytes));
  // the fill values are pass 1's: the fixture's expected ones
  const want = JSON.parse(fs.readFileSync(path.join(fixtures, 'csv-defaults/expected/impute_dict.json'), 'utf8'));
  assert.deepEqual(JSON.parse(Buffer.from(artifacts['impute_dict.json']).toString()), want);
});

test('addArtifacts on a validation job: the dict is read, other files carried; no dict is kind artifact', async () => {
  const files = shardFiles(path.join(fixtures, 'csv-inference/input'));
  const pklPath = path.join(fixtures, 'csv-inference/artifacts_in/impute_dict.pkl');
  const pkl = fs.readFileSync(pklPath);
  const extra = Buffer.from([0, 1, 2, 254, 255]);

  const none = new w.Job('validation', {}, files);
  const err = await rejection(none.addArtifacts([{ name: 'scaler.bin', file: new Blob([extra]) }]));
  assert.ok(err instanceof Error);
  assert.equal(err.kind, 'artifact');
  assert.match(err.message, /impute_dict\.pkl/);
  assert.equal(none.fillValues, null);
  assert.equal((await rejection(none.addArtifacts([]))).kind, 'artifact');
  // exact names only: a name that merely ends in .pkl is not the dict
  const near = new w.Job('validation', {}, files);
  assert.equal((await rejection(near.addArtifacts([{ name: 'my_dict.pkl', file: new Blob([pkl]) }]))).kind, 'artifact');

  const job = new w.Job('validation', {}, files);
  await job.addArtifacts([
    { name: 'scaler.bin', file: new Blob([extra]) },
    { name: 'impute_dict.pkl', file: new Blob([pkl]) },
  ]);
  // the fill values are the pickle's, as Python's pickle reads it
  const fromPython = pythonJson('import json, pickle, sys; print(json.dumps(pickle.load(open(sys.argv[1], "rb"))))', [pklPath]);
  assert.deepEqual(job.fillValues, fromPython);
  await job.fill();
  const artifacts = job.artifacts();
  assert.deepEqual(Object.keys(artifacts), ['scaler.bin', ...OURS]);
  assert.ok(Buffer.from(artifacts['scaler.bin']).equals(extra));
});

/** Rows and missing cells per column of each split, counted with Python's csv module and pandas' NA strings. */
function countMissing(input) {
  const script = `
import csv, json, os, sys
NA = {'', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>',
      'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null'}
out = {}
for split in sorted(os.listdir(sys.argv[1])):
    counts, rows = {}, 0
    for f in sorted(os.listdir(os.path.join(sys.argv[1], split))):
        r = csv.reader(open(os.path.join(sys.argv[1], split, f), newline='', encoding='utf-8-sig'))
        header = next(r)
        for h in header:
            counts.setdefault(h, 0)
        for row in r:
            rows += 1
            for h, v in zip(header, row):
                counts[h] += v in NA
    out[split] = {'rows': rows, 'missing': counts}
print(json.dumps(out))
`;
  return pythonJson(script, [input]);
}

test('imputation_report.json and imputation_summary.txt agree with the input and the expected fill values', async () => {
  const name = 'csv-defaults';
  const { out } = await runApi(name);
  const report = JSON.parse(out.get('model_artifacts/imputation_report.json').toString());
  for (const k of REPORT_KEYS) assert.ok(k in report, `the report has ${k}`);
  const counted = countMissing(path.join(fixtures, name, 'input'));
  const analysis = report.missing_value_analysis;
  assert.deepEqual(Object.keys(analysis).sort(), Object.keys(counted.train.missing).sort());
  for (const [col, n] of Object.entries(counted.train.missing)) {
    assert.equal(analysis[col].missing_count, n, `${col}: missing in train`);
  }
  const dict = JSON.parse(fs.readFileSync(path.join(fixtures, name, 'expected/impute_dict.json'), 'utf8'));
  assert.deepEqual(Object.keys(report.imputation_summary), Object.keys(dict));
  for (const [col, v] of Object.entries(dict)) {
    const entry = report.imputation_summary[col];
    // the report spells a boolean fill value as JSON does; impute_dict.json as Python's str()
    const got = typeof entry.fill_value === 'boolean' ? (entry.fill_value ? 'True' : 'False') : entry.fill_value;
    assert.ok(Object.is(got, v), `${col}: fill value ${entry.fill_value}, want ${v}`);
    for (const split of Object.keys(counted)) {
      assert.equal(entry.cells_filled[split], counted[split].missing[col], `${col}: cells filled in ${split}`);
    }
  }
  for (const [split, { rows }] of Object.entries(counted)) {
    assert.equal(report.validation_report.splits[split].rows_in, rows, `${split}: rows in`);
    assert.equal(report.validation_report.splits[split].rows_out, rows, `${split}: rows out`);
  }
  assert.equal(report.validation_report.rows_in_equals_rows_out, true);
  assert.equal(report.quality_metrics.total_columns_imputed, Object.keys(dict).length);
  assert.ok(Array.isArray(report.recommendations));
  const text = out.get('model_artifacts/imputation_summary.txt').toString();
  const rows = Object.values(counted).reduce((n, s) => n + s.rows, 0);
  assert.match(text, new RegExp(`rows: ${rows}, rows in = rows out: yes`));
  assert.match(text, new RegExp(`^columns imputed: ${Object.keys(dict).length}$`, 'm'));
  assert.match(text, /^job type: training$/m);
  const summary = JSON.parse(out.get('model_artifacts/imputation_summary.json').toString());
  assert.equal(summary.job_type, 'training');
  assert.equal(summary.settings.label_field, 'target');
});

test('non-training jobs need saved fill values; unsafe pickles are refused', async () => {
  const files = shardFiles(path.join(fixtures, 'csv-inference/input'));
  const job = new w.Job('validation', {}, files);
  await assert.rejects(job.fill({}), /needs saved fill values|no fill values/);
  await assert.rejects(job.fit({}), /only in a training job/);
  // pickle of os.system('true'): a global and a reduce
  const evil = Buffer.from('8004951f000000000000008c05706f736978948c0673797374656d9493948c047472756594859452942e', 'hex');
  const e = thrown(() => job.setArtifacts('impute_dict.pkl', evil));
  assert.match(e.message, /impute_dict\.pkl/);
  assert.equal(e.kind, 'artifact');
  assert.throws(() => job.setArtifacts('impute_dict.json', Buffer.from('[1,2]')), /impute_dict\.json/);
  const err = await rejection(job.addArtifacts([{ name: 'impute_dict.pkl', file: new Blob([evil]) }]));
  assert.equal(err.kind, 'artifact');
  assert.match(err.message, /impute_dict\.pkl/);
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
  // the entries, then the manifest and _SUCCESS of a published output
  assert.deepEqual(Object.keys(got).sort(), [...out.keys(), '_SUCCESS', '_shardimpute_manifest.json'].sort());
  for (const [p, bytes] of out) assert.equal(got[p], createHash('sha256').update(bytes).digest('hex'), p);
  assert.equal(got._SUCCESS, createHash('sha256').digest('hex'), '_SUCCESS is empty');
  const manifest = JSON.parse(execFileSync('python3', [
    '-c', 'import sys, zipfile\nsys.stdout.write(zipfile.ZipFile(sys.argv[1]).read("_shardimpute_manifest.json").decode())', file,
  ]).toString());
  assert.deepEqual(manifest.files, [...out].map(([p, b]) => ({ path: p, bytes: b.length }))
    .sort((a, b) => (a.path < b.path ? -1 : 1)));
  fs.rmSync(dir, { recursive: true, force: true });
});
