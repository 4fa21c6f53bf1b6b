// The conformance fixtures through the web app, in headless Chromium: once
// served WITH COOP/COEP (cross-origin isolated: the threaded build) and once
// WITHOUT (the single-threaded build). The page is driven only through its
// data-testid hooks; the zip it hands out is checked against the expected
// answers the way the CLI's conformance test checks its output.
//
//   node --test tests/browser/      (after make dist)

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  assertPicklesEqual, assertTablesMatch, downloadZip, fixture, pythonWithPyarrow, readCsv,
  readParquet, readZip, runJob, useApp,
} from './helpers.mjs';

const CASES = ['csv-defaults', 'parquet-defaults', 'csv-inference'];
// the Parquet cells are read with pyarrow: no pyarrow is a failure, not a skip
const pyarrow = pythonWithPyarrow();

/** Checks a zip from the page against a fixture's expected answers. */
function checkExpected(t, c, zip) {
  const expected = path.join(c.dir, 'expected');
  const artifact = (n) => zip.get(`model_artifacts/${n}`);
  for (const n of ['impute_dict.pkl', 'impute_dict.json', 'imputation_summary.json']) {
    assert.ok(artifact(n), `the zip has model_artifacts/${n}`);
  }

  // every input shard comes back, under the same split and name
  const inputs = [];
  for (const split of fs.readdirSync(c.input)) {
    for (const f of fs.readdirSync(path.join(c.input, split))) inputs.push(`${split}/${f}`);
  }
  const shards = [...zip.keys()].filter((p) => !p.startsWith('model_artifacts/'));
  assert.deepEqual(shards.sort(), inputs.sort());

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
      tables = names.map((n) => readCsv(zip.get(n).toString('utf8'), n.includes('.tsv') ? '\t' : ','));
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
      test(`${name}: the zip matches the expected answers`, async (t) => {
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
