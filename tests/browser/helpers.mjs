// Shared helpers of the browser tests: a static server for dist/ (with or
// without COOP/COEP), headless Debian Chromium through playwright-core, the
// page driven only through its data-testid hooks, a zip reader, the native
// CLI, and the conformance fixtures' comparison rule.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { serve } from '../../web/serve.mjs';
import { tree } from '../files.mjs';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const dist = process.env.SHARDIMPUTE_DIST ?? path.join(root, 'dist');
export const fixtures = path.join(root, 'tests/fixtures');
export const cliPath = process.env.SHARDIMPUTE_CLI ?? path.join(root, 'target/debug/shardimpute');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Chromium flags that work headless as root on Debian. */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // more flags, space-separated: e.g. --js-flags=--perf-basic-prof to
  // profile wasm with perf
  ...(process.env.SHARDIMPUTE_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean),
];

export function launch() {
  assert.ok(fs.existsSync(chromiumPath), `${chromiumPath} not found: run scripts/setup.sh browser`);
  return chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
}

/**
 * Chromium with a normal, on-disk profile (in a new temporary folder) rather
 * than the tests' incognito-like contexts: where a user's Origin Private
 * File System lives on disk. (In an incognito context Chromium keeps OPFS
 * in memory behind a round trip per write, several times slower.) Resolves
 * to a browser-like object for `openApp`, whose `close()` also removes the
 * profile.
 */
export async function launchProfile() {
  assert.ok(fs.existsSync(chromiumPath), `${chromiumPath} not found: run scripts/setup.sh browser`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardimpute-profile-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: chromiumPath,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
  return {
    newContext: async () => context,
    close: async () => {
      await context.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Serves dist/; `isolate` adds COOP/COEP (the threaded build). */
export function serveDist(isolate) {
  assert.ok(fs.existsSync(path.join(dist, 'index.html')), `${dist}/index.html missing: run make dist`);
  assert.ok(fs.existsSync(path.join(dist, 'st/shardimpute_wasm.js')), `${dist}/st missing: run make dist`);
  return serve(dist, { isolate });
}

/**
 * Serves dist/ (with COOP/COEP when `isolate`) and starts Chromium for the
 * tests of the enclosing `describe`; `app.open()` gives a fresh page.
 */
export function useApp(isolate) {
  const app = {
    server: null,
    browser: null,
    /** A fresh page at `where` (a path under dist/, default the app). */
    open: (where = '') => openApp(app.browser, new URL(where, app.server.url).href),
  };
  before(async () => {
    app.server = await serveDist(isolate);
    app.browser = await launch();
  });
  after(async () => {
    await app.browser?.close();
    await app.server?.close();
  });
  return app;
}

/**
 * A page on the served app with console errors and uncaught exceptions
 * collected in `page.problems` (tests assert it stays empty).
 */
export async function openApp(browser, url) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.getByTestId('mode').filter({ hasText: /threads: \d+|single-threaded/ }).waitFor({ timeout: 60_000 });
  return page;
}

/** The final status: waits until it says done, error or cancelled. */
export async function finalStatus(page, timeout = 120_000) {
  const status = page.getByTestId('status');
  await status.filter({ hasText: /^(done|error|cancelled)/ }).waitFor({ timeout });
  return status.textContent();
}

/**
 * Runs a job through the hooks: folder input, job type, artifacts, env
 * settings, run. Resolves to the final status text.
 */
export async function runJob(page, { input, jobType, artifacts, env }) {
  await page.getByTestId('input-folder').setInputFiles(input);
  await page.getByTestId('status').filter({ hasText: /^(Ready|error)/ }).waitFor();
  await page.getByTestId('job-type').selectOption(jobType);
  if (artifacts) await page.getByTestId('artifacts').setInputFiles(artifacts);
  if (env && env.trim()) {
    await page.locator('details').filter({ has: page.getByTestId('env') }).locator('summary').click();
    await page.getByTestId('env').fill(env);
    await page.getByTestId('apply-env').click();
    await page.getByTestId('status').filter({ hasText: /^Settings read/ }).waitFor();
  }
  await page.getByTestId('run').click();
  return finalStatus(page);
}

/** Clicks the download link; resolves to the zip's bytes. */
export async function downloadZip(page) {
  const link = page.getByTestId('download');
  await link.waitFor({ state: 'visible' });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const file = path.join(tmpdir(), download.suggestedFilename());
  await download.saveAs(file);
  const bytes = fs.readFileSync(file);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return bytes;
}

export function tmpdir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'shardimpute-browser-'));
}

/**
 * The entries of a zip (stored entries only, zip64 aware), each checked
 * against its CRC-32: Map of path to Buffer, in archive order.
 */
export function readZip(buf) {
  const out = new Map();
  for (const [name, { offset, size, crc }] of zipIndex(buf.length, (at, n) => buf.subarray(at, at + n))) {
    const data = buf.subarray(offset, offset + size);
    assert.equal(zlib.crc32(data) >>> 0, crc, `zip: ${name}: CRC-32 mismatch`);
    out.set(name, data);
  }
  return out;
}

/**
 * Where a zip's stored entries are: Map of path to { offset, size, crc } of
 * their data, in archive order (zip64 aware). `read(at, n)` gives the n
 * bytes at `at` of the `size` bytes of the zip (a zip too large for one
 * Buffer can be read from its file).
 */
export function zipIndex(size, read) {
  const tailStart = Math.max(0, size - 65_600);
  const tail = read(tailStart, size - tailStart);
  const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd >= 0, 'zip: no end of central directory');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    const loc = eocd - 20;
    assert.equal(tail.readUInt32LE(loc), 0x07064b50, 'zip: zip64 locator missing');
    const z = read(Number(tail.readBigUInt64LE(loc + 8)), 56);
    count = Number(z.readBigUInt64LE(32));
    cdSize = Number(z.readBigUInt64LE(40));
    cdOffset = Number(z.readBigUInt64LE(48));
  }
  const cd = read(cdOffset, cdSize);
  const out = new Map();
  let p = 0;
  for (let i = 0; i < count; i++) {
    assert.equal(cd.readUInt32LE(p), 0x02014b50, 'zip: bad central directory entry');
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
    let length = cd.readUInt32LE(p + 20);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let local = cd.readUInt32LE(p + 42);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extra field: sizes and offset that did not fit
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e < end) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 1) {
        let q = e + 4;
        const next = () => Number(cd.readBigUInt64LE((q += 8) - 8));
        if (cd.readUInt32LE(p + 24) === 0xffffffff) next(); // uncompressed size
        if (length === 0xffffffff) length = next();
        if (local === 0xffffffff) local = next();
      }
      e += 4 + len;
    }
    assert.equal(method, 0, `zip: ${name} is not stored`);
    const head = read(local, 30);
    assert.equal(head.readUInt32LE(0), 0x04034b50, `zip: ${name}: bad local header`);
    assert.ok(!out.has(name), `zip: ${name} twice`);
    out.set(name, { offset: local + 30 + head.readUInt16LE(26) + head.readUInt16LE(28), size: length, crc });
    p = end + commentLen;
  }
  return out;
}

export { tree };

/** A case (its folder, env text and job type): a fixture's name, or the folder of another case (a random one). */
export function fixture(name) {
  const dir = path.isAbsolute(name) ? name : path.join(fixtures, name);
  return {
    name: path.basename(dir),
    dir,
    input: path.join(dir, 'input'),
    env: fs.readFileSync(path.join(dir, 'env.txt'), 'utf8'),
    jobType: fs.readFileSync(path.join(dir, 'job_type.txt'), 'utf8').trim(),
    artifacts: fs.existsSync(path.join(dir, 'artifacts_in/impute_dict.pkl'))
      ? path.join(dir, 'artifacts_in/impute_dict.pkl')
      : undefined,
  };
}

/**
 * Runs the native CLI on a fixture (its env.txt as the environment, a clean
 * environment otherwise); resolves to its output files by path.
 */
export function runCli(c) {
  assert.ok(fs.existsSync(cliPath), `${cliPath} missing: cargo build -p shardimpute`);
  const out = tmpdir();
  const args = ['run', '--job-type', c.jobType, '--input', c.input, '--output', out, '--quiet'];
  if (c.artifacts) args.push('--artifacts-in', path.dirname(c.artifacts));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
    !/(_STRATEGY|^COLUMN_STRATEGY_.*|^LABEL_FIELD|^EXCLUDE_COLUMNS|_CONSTANT_VALUE|^NA_VALUES|^RENAME_DOTS|^AUTO_DETECT_CATEGORICAL|^CATEGORICAL_UNIQUE_RATIO_THRESHOLD|^VALIDATE_FILL_VALUES|^RAYON_NUM_THREADS)$/.test(k)));
  for (const line of c.env.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i).trim()] = line.slice(i + 1);
  }
  execFileSync(cliPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const files = tree(out);
  fs.rmSync(out, { recursive: true, force: true });
  return files;
}

export { untimed } from '../untimed.mjs';

/** The artifacts every run writes into model_artifacts/. */
export const OUR_ARTIFACTS = ['impute_dict.pkl', 'impute_dict.json', 'imputation_summary.json',
  'imputation_report.json', 'imputation_summary.txt'];

/** The files that end the zip of a complete output, as in a CLI output folder. */
export const PUBLISHED = ['_SUCCESS', '_shardimpute_manifest.json'];

/**
 * Checks that a zip ends like a complete output: an empty _SUCCESS, and a
 * manifest listing every other entry with its size, read from the zip.
 */
export function assertPublished(zip) {
  assert.equal(zip.get('_SUCCESS')?.length, 0, '_SUCCESS is there and empty');
  const manifest = JSON.parse(zip.get('_shardimpute_manifest.json').toString());
  const entries = [...zip].filter(([p]) => !PUBLISHED.includes(p)).map(([p, b]) => [p, b.length]);
  assert.deepEqual(manifest.files.map((f) => [f.path, f.bytes]).sort(), entries.sort());
}

/** The keys of imputation_report.json. */
export const REPORT_KEYS = ['timestamp', 'missing_value_analysis', 'validation_report', 'imputation_summary',
  'quality_metrics', 'recommendations'];

// ---------------------------------------------------------------- the fixtures' rule

/** pandas' default NA strings (shardimpute-core's DEFAULT_NA_VALUES). */
export const NA = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan',
  '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);

/** CSV text (RFC 4180) into { header, rows } of cells, null = missing. */
export function readCsv(text, delimiter = ',') {
  const records = [];
  let fields = [];
  let field = '';
  let quoted = false;
  // nothing on this line yet: a blank line is no record (pandas skips them)
  let blank = true;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c !== '\n' && c !== '\r') blank = false;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += text[i++];
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (!blank) {
        fields.push(field);
        records.push(fields);
      }
      fields = [];
      field = '';
      blank = true;
    } else field += c;
  }
  if (field !== '' || fields.length) {
    fields.push(field);
    records.push(fields);
  }
  const [header, ...rows] = records;
  return { header, rows: rows.map((r) => r.map((x) => (NA.has(x) ? null : x))) };
}

const NUMBER = /^\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)\s*$/i;

function asNumber(s) {
  if (!NUMBER.test(s)) return undefined;
  const t = s.trim().toLowerCase().replace(/^([+-]?)inf(inity)?$/, '$1Infinity');
  return Number(t);
}

/**
 * The fixtures' rule: equal text, or both missing, or both numbers equal as
 * float64, where the text we kept may read (correctly, or as pandas reads
 * it) to the double the expected file spells.
 */
export function cellsMatch(got, want) {
  if (got === null || want === null) return got === want;
  if (got === want) return true;
  const w = asNumber(want);
  if (w === undefined) return false;
  return asNumber(got) === w || pandasNumber(got) === w;
}

const POW10 = Array.from({ length: 309 }, (_, i) => Number(`1e${i}`));

/**
 * pandas' `precise_xstrtod` (its CSV reader's number parser, not always
 * correctly rounded), as shardimpute-core's pandas_num module does it;
 * undefined when it is not a number there.
 */
export function pandasNumber(text) {
  const s = text;
  const n = s.length;
  const isSpace = (c) => ' \t\n\r\v\f'.includes(c);
  const isDigit = (c) => c >= '0' && c <= '9';
  let p = 0;
  while (p < n && isSpace(s[p])) p++;
  let negative = false;
  if (p < n && (s[p] === '-' || s[p] === '+')) negative = s[p++] === '-';
  let int = 0;
  let number = 0;
  let exponent = 0;
  let digits = 0;
  let decimals = 0;
  const push = (d) => {
    if (digits < 15) {
      int = int * 10 + d; // exact: below 2^53
      if (digits === 14) number = int;
    } else number = number * 10 + d;
    digits++;
  };
  for (; p < n && isDigit(s[p]); p++) {
    if (digits < 17) push(s.charCodeAt(p) - 48);
    else exponent++;
  }
  if (p < n && s[p] === '.') {
    p++;
    for (; digits < 17 && p < n && isDigit(s[p]); p++, decimals++) push(s.charCodeAt(p) - 48);
    if (digits >= 17) while (p < n && isDigit(s[p])) p++;
    exponent -= decimals;
  }
  if (digits === 0) return undefined;
  if (digits < 15) number = int;
  if (negative) number = -number;
  if (p < n && (s[p] === 'e' || s[p] === 'E')) {
    const ePos = p++;
    let negExp = false;
    if (p < n && (s[p] === '-' || s[p] === '+')) negExp = s[p++] === '-';
    let eDigits = 0;
    let e = 0;
    for (; eDigits < 17 && p < n && isDigit(s[p]); p++, eDigits++) e = e * 10 + (s.charCodeAt(p) - 48);
    if (eDigits === 0) p = ePos;
    else exponent += negExp ? -e : e;
  }
  if (exponent > 308) return undefined;
  if (exponent > 0) number *= POW10[exponent];
  else if (exponent < -308) {
    if (exponent < -616) number = 0;
    else number = number / POW10[-308 - exponent] / POW10[308];
  } else number /= POW10[-exponent];
  if (!Number.isFinite(number)) return undefined;
  while (p < n && isSpace(s[p])) p++;
  return p === n ? number : undefined;
}

export function assertTablesMatch(got, want, what) {
  assert.deepEqual(got.header, want.header, `${what}: header`);
  assert.equal(got.rows.length, want.rows.length, `${what}: row count`);
  let cells = 0;
  got.rows.forEach((row, i) => {
    assert.equal(row.length, want.header.length, `${what}: row ${i} has ${row.length} cells`);
    row.forEach((cell, j) => {
      const w = want.rows[i][j];
      if (!cellsMatch(cell, w)) {
        assert.fail(`${what}: row ${i}, column \`${want.header[j]}\`: got ${JSON.stringify(cell)}, want ${JSON.stringify(w)}`);
      }
      cells++;
    });
  });
  return cells;
}

/**
 * The tests' Python, with pyarrow (for reading Parquet output): the pinned
 * .venv-test/bin/python of `scripts/setup.sh python`. Throws, saying what to
 * run, when it is missing or cannot import pyarrow: no check is skipped.
 */
export function pythonWithPyarrow() {
  const py = path.join(root, '.venv-test/bin/python');
  try {
    execFileSync(py, ['-c', 'import pyarrow'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new Error(`${py} cannot import pyarrow, which reading Parquet output needs: `
      + `run scripts/setup.sh python (${e.stderr?.toString().trim() || e.message})`);
  }
  return py;
}

/** Cells of Parquet files (bools as True/False, NA-like text missing), via pyarrow. */
export function readParquet(py, buffers) {
  const dir = tmpdir();
  const paths = buffers.map((b, i) => {
    const p = path.join(dir, `${i}.parquet`);
    fs.writeFileSync(p, b);
    return p;
  });
  const script = `
import json, sys, pyarrow.parquet as pq
out = []
for p in sys.argv[1:]:
    t = pq.read_table(p)
    cols = t.column_names
    rows = []
    for r in t.to_pylist():
        cells = []
        for c in cols:
            v = r[c]
            if v is None or (isinstance(v, float) and v != v):
                cells.append(None)
            elif isinstance(v, bool):
                cells.append('True' if v else 'False')
            elif isinstance(v, float):
                cells.append(repr(v))
            else:
                cells.append(str(v))
        rows.append(cells)
    out.append({'header': cols, 'rows': rows})
print(json.dumps(out))
`;
  const tables = JSON.parse(execFileSync(py, ['-c', script, ...paths], { maxBuffer: 1 << 28 }).toString());
  fs.rmSync(dir, { recursive: true, force: true });
  return tables.map((t) => ({ header: t.header, rows: t.rows.map((r) => r.map((x) => (x !== null && NA.has(x) ? null : x))) }));
}

/** Asserts pickle.load of two pickles gives equal dicts (keys, order, types, float bits). */
export function assertPicklesEqual(gotBytes, wantPath) {
  const dir = tmpdir();
  const got = path.join(dir, 'got.pkl');
  fs.writeFileSync(got, gotBytes);
  const script = `
import pickle, sys, struct
a = pickle.load(open(sys.argv[1], 'rb'))
b = pickle.load(open(sys.argv[2], 'rb'))
assert type(a) is dict, type(a)
assert list(a) == list(b), (list(a), list(b))
for k in b:
    x, y = a[k], b[k]
    assert type(x) is type(y), (k, x, y)
    if isinstance(y, float):
        assert struct.pack('<d', x) == struct.pack('<d', y) or (x != x and y != y), (k, x, y)
    else:
        assert x == y, (k, x, y)
print('ok', len(b))
`;
  try {
    const out = execFileSync('python3', ['-c', script, got, wantPath], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    assert.match(out, /^ok \d+/);
    return Number(out.split(' ')[1]);
  } catch (e) {
    assert.fail(`pickles differ: ${e.stderr?.toString() ?? e.message}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
