// examples/embed/: a host page using the <shard-impute> element. Its events
// carry the data the JavaScript API gives (dataset, plan, progress, done,
// error), and the zip it downloads is the CLI's, byte for byte, and holds
// the fixture's expected fill values.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  assertPublished, downloadZip, finalStatus, fixture, readZip, runCli, tmpdir, untimed, useApp,
} from './helpers.mjs';

/** Records every event of the page's element in `window.seen` (a File as its name and size). */
async function record(page) {
  await page.evaluate(() => {
    window.seen = [];
    const e = document.querySelector('shard-impute');
    for (const type of ['dataset', 'plan', 'progress', 'done', 'error']) {
      e.addEventListener(type, ({ detail }) => {
        const file = detail?.file instanceof File ? { name: detail.file.name, size: detail.file.size } : undefined;
        window.seen.push({ type, detail: JSON.parse(JSON.stringify({ ...detail, file })) });
      });
    }
  });
}

describe('the element in a host page (examples/embed/)', () => {
  const app = useApp(true);
  const open = async () => {
    const page = await app.open('embed/');
    await record(page);
    return page;
  };

  test('events carry the API\'s data; the downloaded zip is the CLI\'s', async () => {
    const c = fixture('csv-defaults');
    const page = await open();
    await page.getByTestId('input-folder').setInputFiles(c.input);
    await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor();
    await page.getByTestId('run').click();
    assert.match(await finalStatus(page), /^done: /);
    const bytes = await downloadZip(page);
    const zip = readZip(bytes);
    const seen = await page.evaluate(() => window.seen);
    const of = (type) => seen.filter((e) => e.type === type).map((e) => e.detail);

    // dataset: the splits and shards of the input folder
    const [dataset] = of('dataset');
    assert.equal(dataset.jobType, 'training');
    const want = Object.fromEntries(['train', 'val', 'test'].map((s) => [s, fs.readdirSync(path.join(c.input, s)).sort()]));
    assert.deepEqual(Object.fromEntries(dataset.dataset.splits.map((s) => [s.name, s.shards.map((x) => x.name)])), want);
    for (const s of dataset.dataset.splits) {
      for (const x of s.shards) assert.equal(x.size, fs.statSync(path.join(c.input, x.path)).size, x.path);
    }
    const header = fs.readFileSync(path.join(c.input, 'train/part-00000.csv'), 'utf8').split('\n')[0].split(',');
    assert.deepEqual(dataset.columns, header);

    // plan: one per run, the fill values the zip's dict holds and the fixture expects
    const [plan] = of('plan');
    const dict = JSON.parse(zip.get('model_artifacts/impute_dict.json').toString());
    assert.deepEqual(dict, JSON.parse(fs.readFileSync(path.join(c.dir, 'expected/impute_dict.json'), 'utf8')));
    // the API gives a boolean mode as a boolean; the JSON keeps it as the data spells it
    const text = (d) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? 'True' : 'False') : v]));
    assert.deepEqual(text(plan.fillValues), dict);
    assert.deepEqual(plan.plan.columns.filter((x) => x.fillValue !== null).map((x) => [x.name, x.fillValue]),
      Object.entries(plan.fillValues));

    // progress: pass 1 over the 4 train shards, then pass 2 over all 7, counting up
    const progress = of('progress');
    for (const pass of ['fit', 'fill']) {
      const p = progress.filter((x) => x.pass === pass);
      assert.ok(p.length > 0, `${pass} progress`);
      assert.equal(p.at(-1).shardsDone, pass === 'fit' ? 4 : 7);
      assert.equal(p.at(-1).shardsTotal, pass === 'fit' ? 4 : 7);
      assert.ok(p.every((x, i) => i === 0 || x.shardsDone >= p[i - 1].shardsDone));
    }
    assert.ok(progress.findIndex((x) => x.pass === 'fill') > progress.findLastIndex((x) => x.pass === 'fit'));

    // done: the summary written into the zip, and the zip itself
    const [done] = of('done');
    const summary = JSON.parse(zip.get('model_artifacts/imputation_summary.json').toString());
    assert.deepEqual(done.summary.splits, summary.splits);
    assert.equal(done.file.size, bytes.length);
    assert.deepEqual(of('error'), []);
    assert.deepEqual(seen.map((e) => e.type).filter((t, i, a) => t !== a[i - 1]),
      ['dataset', 'progress', 'plan', 'progress', 'done']);

    // the zip: every file the CLI writes, the same bytes, a complete output
    const cli = runCli(c);
    assert.deepEqual([...zip.keys()].sort(), [...cli.keys()].sort());
    for (const [p, bytes] of cli) assert.ok(untimed(p, zip.get(p)).equals(untimed(p, bytes)), `${p} differs from the CLI's`);
    assertPublished(zip);
    // the host's own view was built from the events
    assert.match(await page.locator('#host-dataset').textContent(), /^training job; shards: train: 4, val: 2, test: 1$/);
    assert.equal(await page.locator('#host-columns tr').count(), plan.plan.columns.length);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('a bad shard and a cancel fire `error` with the API\'s message and kind', async () => {
    const dir = path.join(tmpdir(), 'input');
    fs.cpSync(fixture('csv-defaults').input, dir, { recursive: true });
    fs.appendFileSync(path.join(dir, 'train/part-00002.csv'), '1,2\n');
    const page = await open();
    await page.getByTestId('input-folder').setInputFiles(dir);
    await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor();
    await page.getByTestId('run').click();
    const status = await finalStatus(page);
    assert.match(status, /^error: train\/part-00002\.csv: line \d+: invalid CSV/);
    // no progress waiting to be shown replaces the error (250 ms at most)
    await page.waitForTimeout(400);
    assert.equal(await page.getByTestId('status').textContent(), status);
    const errors = (await page.evaluate(() => window.seen)).filter((e) => e.type === 'error').map((e) => e.detail);
    assert.deepEqual(errors, [{ message: status.replace(/^error: /, ''), kind: 'csv' }]);
    assert.equal(await page.getByTestId('download').isVisible(), false);
    // cancelled from the host, through the element's method, on enough
    // shards that the run is still going when the first progress comes
    fs.rmSync(path.join(dir, 'train/part-00002.csv'));
    for (let i = 10; i < 300; i++) fs.copyFileSync(path.join(dir, 'train/part-00000.csv'), path.join(dir, `train/part-${String(i).padStart(5, '0')}.csv`));
    await page.getByTestId('input-folder').setInputFiles(dir);
    await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor();
    await page.evaluate(() => {
      const e = document.querySelector('shard-impute');
      e.addEventListener('progress', () => e.cancel(), { once: true });
      e.run();
    });
    const cancelled = await finalStatus(page);
    assert.match(cancelled, /^cancelled/);
    await page.waitForTimeout(400);
    assert.equal(await page.getByTestId('status').textContent(), cancelled);
    const last = (await page.evaluate(() => window.seen)).at(-1);
    assert.deepEqual(last, { type: 'error', detail: { message: 'cancelled', kind: 'cancelled' } });
    assert.deepEqual(page.problems, []);
    await page.context().close();
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });
});
