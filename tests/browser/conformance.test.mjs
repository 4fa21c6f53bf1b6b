// The conformance fixtures through the web app, in headless Chromium: once
// served WITH COOP/COEP (cross-origin isolated: the threaded build) and once
// WITHOUT (the single-threaded build). The page is driven only through its
// data-testid hooks; the zip it hands out is checked against the expected
// answers the way the CLI's conformance test checks its output, and its
// reports (imputation_report.json, imputation_summary.txt) against the
// expected fill values and the input as pandas reads it.
//
//   node --test tests/browser/      (after make dist)

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import {
  OUR_ARTIFACTS, PUBLISHED, REPORT_KEYS, assertPicklesEqual, assertPublished, assertTablesMatch, downloadZip, fixture,
  fixtures, pythonWithPyarrow, tmpdir,
  readCsv, readParquet, readZip, runJob, useApp,
} from './helpers.mjs';

// the Parquet cells are read with pyarrow: no pyarrow is a failure, not a skip
const pyarrow = pythonWithPyarrow();
// and random cases (tests/fixtures/random_cases.py: other data, formats
// and settings, expected answers from the same oracle):
// SHARDIMPUTE_BROWSER_RANDOM_CASES of them (default 4) from seed
// SHARDIMPUTE_RANDOM_SEED (default 1)
const RANDOM_CASES = Number(process.env.SHARDIMPUTE_BROWSER_RANDOM_CASES ?? 4);
const RANDOM_SEED = Number(process.env.SHARDIMPUTE_RANDOM_SEED ?? 1);
const randomRoot = tmpdir();
after(() => fs.rmSync(randomRoot, { recursive: true, force: true }));
execFileSync(pyarrow, [path.join(fixtures, 'random_cases.py'), '--out', randomRoot, '--seed', String(RANDOM_SEED),
  '--count', String(RANDOM_CASES)], { stdio: ['ignore', 'ignore', 'pipe'] });
const CASES = ['csv-defaults', 'parquet-defaults', 'csv-inference',
  ...Array.from({ length: RANDOM_CASES }, (_, k) => path.join(randomRoot, `random-${RANDOM_SEED}-${k}`))];

/**
 * Rows and missing cells per column of each split of a case's input, as
 * pandas reads it (the oracle's reading: the case's NA strings; Parquet
 * nulls and NaN).
 */
function pandasMissing(c) {
  const script = `
import json, os, sys
from pathlib import Path
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[3])
import oracle
env = oracle.load_env(sys.argv[2])
out = {}
for split in sorted(os.listdir(sys.argv[1])):
    rows, missing = 0, {}
    for f in sorted(os.listdir(os.path.join(sys.argv[1], split))):
        df = oracle.read_shard(Path(sys.argv[1], split, f), env)
        rows += len(df)
        for c, n in df.isna().sum().items():
            missing[c] = missing.get(c, 0) + int(n)
    out[split] = {'rows': rows, 'missing': missing}
print(json.dumps(out))
# skip interpreter teardown: pyarrow's thread pool can abort it
# ("terminate called without an active exception") on a busy machine
sys.stdout.flush()
os._exit(0)
`;
  return JSON.parse(execFileSync(pyarrow, ['-c', script, c.input, path.join(c.dir, 'env.txt'), fixtures]).toString());
}

/** The fill values a fixture expects: its expected impute_dict.json, or the pickle it gives, as Python loads it. */
function expectedDict(c) {
  const json = path.join(c.dir, 'expected/impute_dict.json');
  if (fs.existsSync(json)) return JSON.parse(fs.readFileSync(json, 'utf8'));
  const script = 'import json, pickle, sys; print(json.dumps(pickle.load(open(sys.argv[1], "rb"))))';
  return JSON.parse(execFileSync(pyarrow, ['-c', script, c.artifacts]).toString());
}

/** imputation_report.json and imputation_summary.txt against the input and the expected fill values. */
function checkReports(c, zip) {
  const report = JSON.parse(zip.get('model_artifacts/imputation_report.json').toString());
  for (const k of REPORT_KEYS) assert.ok(k in report, `imputation_report.json has \`${k}\``);
  assert.match(report.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(Math.abs(Date.parse(report.timestamp) - Date.now()) < 600e3, `timestamp ${report.timestamp} is now`);
  const input = pandasMissing(c);
  const dict = expectedDict(c);
  assert.deepEqual(Object.keys(report.imputation_summary), Object.keys(dict), 'imputed columns');
  for (const [col, v] of Object.entries(dict)) {
    const entry = report.imputation_summary[col];
    // the report spells a boolean fill value as JSON does; impute_dict.json as Python's str()
    const got = typeof entry.fill_value === 'boolean' ? (entry.fill_value ? 'True' : 'False') : entry.fill_value;
    assert.ok(Object.is(got, v), `report: \`${col}\` fill value ${entry.fill_value}, want ${v}`);
    for (const split of Object.keys(input)) {
      assert.equal(entry.cells_filled[split], input[split].missing[col], `report: \`${col}\` cells filled in ${split}`);
    }
  }
  if (c.jobType === 'training') {
    for (const [col, n] of Object.entries(input.train.missing)) {
      assert.equal(report.missing_value_analysis[col]?.missing_count, n, `report: \`${col}\` missing in train`);
    }
  }
  for (const [split, { rows }] of Object.entries(input)) {
    assert.equal(report.validation_report.splits[split].rows_in, rows, `report: ${split} rows in`);
    assert.equal(report.validation_report.splits[split].rows_out, rows, `report: ${split} rows out`);
  }
  assert.equal(report.validation_report.rows_in_equals_rows_out, true);
  assert.equal(report.quality_metrics.total_columns_imputed, Object.keys(dict).length);
  assert.ok(Array.isArray(report.recommendations));

  const text = zip.get('model_artifacts/imputation_summary.txt').toString();
  const rows = Object.values(input).reduce((n, x) => n + x.rows, 0);
  assert.match(text, new RegExp(`^job type: ${c.jobType}$`, 'm'));
  assert.match(text, new RegExp(`rows: ${rows}, rows in = rows out: yes$`, 'm'));
  assert.match(text, new RegExp(`^columns imputed: ${Object.keys(dict).length}$`, 'm'));
  for (const col of Object.keys(dict)) assert.ok(text.includes(`  ${col}: `), `imputation_summary.txt names \`${col}\``);
}

/** Checks a zip from the page against a fixture's expected answers. */
function checkExpected(t, c, zip) {
  const expected = path.join(c.dir, 'expected');
  const artifact = (n) => zip.get(`model_artifacts/${n}`);
  // every artifact, once (readZip refuses duplicates), and nothing else
  assert.deepEqual([...zip.keys()].filter((p) => p.startsWith('model_artifacts/')).sort(),
    OUR_ARTIFACTS.map((n) => `model_artifacts/${n}`).sort());
  checkReports(c, zip);

  // every input shard comes back, under the same split and name
  const inputs = [];
  for (const split of fs.readdirSync(c.input)) {
    for (const f of fs.readdirSync(path.join(c.input, split))) inputs.push(`${split}/${f}`);
  }
  const shards = [...zip.keys()].filter((p) => !p.startsWith('model_artifacts/') && !PUBLISHED.includes(p));
  assert.deepEqual(shards.sort(), inputs.sort());
  assertPublished(zip);

  // fill values: impute_dict.json exactly (floats to the bit), the pickle as Python loads it
  const wantJson = path.join(expected, 'impute_dict.json');
  if (fs.existsSync(wantJson)) {
    const got = JSON.parse(artifact('impute_dict.json').toString());
    const want = JSON.parse(fs.readFileSync(wantJson, 'utf8'));
    assert.deepEqual(Object.keys(got), Object.keys(want), 'impute_dict.json columns');
    for (const [k, w] of Object.entries(want)) {
      assert.ok(Object.is(got[k], w), `impute_dict.json \`${k}\`: got ${got[k]}, want ${w}`);
    }
  }
  const wantPkl = fs.existsSync(path.join(expected, 'impute_dict.pkl'))
    ? path.join(expected, 'impute_dict.pkl')
    : c.artifacts;
  assert.ok(assertPicklesEqual(artifact('impute_dict.pkl'), wantPkl) > 0);

  // every cell of every split
  let compared = 0;
  for (const f of fs.readdirSync(expected).filter((n) => n.endsWith('.csv'))) {
    const split = f.slice(0, -4);
    const want = readCsv(fs.readFileSync(path.join(expected, f), 'utf8'));
    const names = [...zip.keys()].filter((p) => p.startsWith(`${split}/`)).sort();
    assert.ok(names.length > 0, `shards of ${split}/ in the zip`);
    let tables;
    if (names.every((n) => n.endsWith('.parquet'))) {
      tables = readParquet(pyarrow, names.map((n) => zip.get(n)));
    } else {
      const text = (n) => (n.endsWith('.gz') ? zlib.gunzipSync(zip.get(n)) : zip.get(n)).toString('utf8');
      tables = names.map((n) => readCsv(text(n), n.includes('.tsv') ? '\t' : ','));
    }
    const got = { header: tables[0].header, rows: tables.flatMap((tb) => tb.rows) };
    for (const tb of tables) assert.deepEqual(tb.header, got.header, `${split}: shards agree on the header`);
    assert.ok(assertTablesMatch(got, want, `split ${split}`) > 0);
    compared++;
  }
  assert.ok(compared >= 1, 'at least one split compared');
  const summary = JSON.parse(artifact('imputation_summary.json').toString());
  assert.equal(summary.rows_in_equals_rows_out, true);
  assert.equal(summary.job_type, c.jobType);
}

for (const isolated of [true, false]) {
  describe(isolated ? 'served with COOP/COEP (threaded build)' : 'served without COOP/COEP (single-threaded build)', () => {
    const app = useApp(isolated);

    test('the page reports its mode', async () => {
      const page = await app.open();
      const mode = await page.getByTestId('mode').textContent();
      if (isolated) {
        assert.match(mode, /^threads: \d+$/);
        assert.ok(Number(mode.split(' ')[1]) >= 1);
        assert.equal(await page.evaluate(() => crossOriginIsolated), true);
      } else {
        assert.equal(mode, 'single-threaded');
        assert.equal(await page.evaluate(() => crossOriginIsolated), false);
      }
      assert.deepEqual(page.problems, []);
      await page.context().close();
    });

    for (const name of CASES) {
      test(`${path.basename(name)}: the zip matches the expected answers`, async (t) => {
        const c = fixture(name);
        const page = await app.open();
        const status = await runJob(page, c);
        assert.match(status, /^done: /);
        assert.match(status, /rows in = rows out/);
        checkExpected(t, c, readZip(await downloadZip(page)));
        assert.deepEqual(page.problems, []);
        await page.context().close();
      });
    }
  });
}
