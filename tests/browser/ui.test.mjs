// The page's own features: the sample dataset, the column table and chart
// after pass 1, editing a fill value and re-running pass 2, a split folder
// picked directly, model_artifacts/ inside the dataset folder, files
// flagged as ignored, and the column names shown before a run (CSV, gzip
// CSV, Parquet), the engine's warm-up at start, how often progress is
// shown, a folder of thousands of shards handed to the worker in parts, and
// a job type chosen while a folder is listed.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  OUR_ARTIFACTS, PUBLISHED, assertPublished, downloadZip, finalStatus, fixture, pythonWithPyarrow, readCsv, readZip,
  runJob, tmpdir, useApp,
} from './helpers.mjs';

const temps = [];
function tmp() {
  const d = tmpdir();
  temps.push(d);
  return d;
}
after(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

describe('the web app', () => {
  const app = useApp(true);

  test('the sample dataset runs end to end; the table and chart show pass 1', async () => {
    const page = await app.open();
    await page.getByTestId('sample').click();
    const status = await finalStatus(page);
    assert.match(status, /^done: 6 shards, 720 rows \(rows in = rows out\)/);
    const manifest = JSON.parse(fs.readFileSync(new URL('../../web/sample/manifest.json', import.meta.url)));
    const zip = readZip(await downloadZip(page));
    const shards = [...zip.keys()].filter((p) => !p.startsWith('model_artifacts/') && !p.startsWith('_'));
    assert.deepEqual(shards.sort(), [...manifest.files].sort());
    assert.ok(zip.has('_SUCCESS') && zip.has('_shardimpute_manifest.json'), 'a complete output\'s marker and manifest');
    // one table row and one bar per column of the sample
    const header = readCsv(fs.readFileSync(new URL('../../web/sample/train/part-00000.csv', import.meta.url), 'utf8')).header;
    assert.equal(await page.locator('#columns tbody tr').count(), header.length);
    assert.equal(await page.locator('#chart rect.bar').count(), header.length);
    const row = page.locator('#columns tbody tr').filter({ has: page.locator('th', { hasText: /^num_normal/ }) });
    assert.match(await row.textContent(), /numerical/);
    assert.match(await row.textContent(), /mean/);
    const dict = JSON.parse(zip.get('model_artifacts/impute_dict.json').toString());
    assert.equal(await page.getByLabel('fill value for num_normal').inputValue(), String(dict.num_normal));
    assert.equal(await page.getByLabel('fill value for cat_small').inputValue(), dict.cat_small);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('edited fill values are used by a re-run of pass 2; a bad one is refused', async () => {
    const page = await app.open();
    assert.match(await runJob(page, fixture('csv-defaults')), /^done: /);
    const before = readZip(await downloadZip(page));
    const dictBefore = JSON.parse(before.get('model_artifacts/impute_dict.json').toString());
    await page.getByLabel('fill value for num_normal').fill('12345.5');
    await page.getByLabel('fill value for cat_small').fill('EDITED');
    await page.getByTestId('refill').click();
    assert.match(await finalStatus(page), /^done: /);
    const zip = readZip(await downloadZip(page));
    const dict = JSON.parse(zip.get('model_artifacts/impute_dict.json').toString());
    assert.equal(dict.num_normal, 12345.5);
    assert.equal(dict.cat_small, 'EDITED');
    // every cell of num_normal missing in the input now holds the edited value
    const input = readCsv(fs.readFileSync(path.join(fixture('csv-defaults').input, 'val/part-00000.csv'), 'utf8'));
    const val = readCsv(zip.get('val/part-00000.csv').toString());
    const j = input.header.indexOf('num_normal');
    const gaps = input.rows.map((r, i) => [r, i]).filter(([r]) => r[j] === null).map(([, i]) => i);
    assert.ok(gaps.length > 0);
    for (const i of gaps) {
      assert.equal(val.rows[i][j], '12345.5');
      assert.equal(Number(readCsv(before.get('val/part-00000.csv').toString()).rows[i][j]), dictBefore.num_normal);
    }
    assert.ok(zip.get('train/part-00000.csv').toString().includes('EDITED'));
    // a number column refuses text
    await page.getByLabel('fill value for num_normal').fill('lots');
    await page.getByTestId('refill').click();
    assert.match(await finalStatus(page), /^error: .*not a valid fill value for column `num_normal`/);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('a split folder picked directly is read as that split; the job type follows', async () => {
    const c = fixture('csv-inference');
    const page = await app.open();
    await page.getByTestId('input-folder').setInputFiles(path.join(c.input, 'validation'));
    await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor();
    assert.equal(await page.getByTestId('job-type').inputValue(), 'validation');
    assert.match(await page.locator('#listing').textContent(), /split folder `validation\/`/);
    await page.getByTestId('artifacts').setInputFiles(c.artifacts);
    await page.getByTestId('run').click();
    assert.match(await finalStatus(page), /^done: 2 shards/);
    const zip = readZip(await downloadZip(page));
    assert.deepEqual([...zip.keys()].sort(), [
      ...OUR_ARTIFACTS.map((n) => `model_artifacts/${n}`), 'validation/part-00000.csv', 'validation/part-00001.csv',
      ...PUBLISHED,
    ].sort());
    assertPublished(zip);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('model_artifacts/ in the dataset folder gives the fill values; its other files are carried', async () => {
    const c = fixture('csv-inference');
    const ds = path.join(tmp(), 'dataset');
    fs.cpSync(c.input, ds, { recursive: true });
    fs.mkdirSync(path.join(ds, 'model_artifacts'));
    fs.copyFileSync(c.artifacts, path.join(ds, 'model_artifacts/impute_dict.pkl'));
    fs.writeFileSync(path.join(ds, 'model_artifacts/scaler_params.json'), '{"mean": 1.5}\n');
    // a training run's reports there too: written anew, not carried
    const stale = ['imputation_summary.json', 'imputation_report.json', 'imputation_summary.txt'];
    for (const n of stale) fs.writeFileSync(path.join(ds, 'model_artifacts', n), 'STALE');
    const page = await app.open();
    // the job type follows the layout: validation/ only
    await page.getByTestId('input-folder').setInputFiles(ds);
    await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor();
    assert.equal(await page.getByTestId('job-type').inputValue(), 'validation');
    const info = await page.locator('#artifacts-info').textContent();
    for (const n of ['impute_dict.pkl', 'scaler_params.json']) assert.ok(info.includes(n), info);
    await page.getByTestId('run').click();
    assert.match(await finalStatus(page), /^done: /);
    const zip = readZip(await downloadZip(page));
    assert.equal(zip.get('model_artifacts/scaler_params.json').toString(), '{"mean": 1.5}\n');
    assert.deepEqual([...zip.keys()].filter((p) => p.startsWith('model_artifacts/')).sort(),
      [...OUR_ARTIFACTS, 'scaler_params.json'].map((n) => `model_artifacts/${n}`).sort());
    for (const n of stale) assert.notEqual(zip.get(`model_artifacts/${n}`).toString(), 'STALE', n);
    assert.equal(JSON.parse(zip.get('model_artifacts/imputation_report.json').toString()).job_type, 'validation');
    assert.ok(zip.has('validation/part-00001.csv'));
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('files that are not shards are flagged as ignored and listed in the summary', async () => {
    const ds = path.join(tmp(), 'input');
    fs.cpSync(fixture('csv-defaults').input, ds, { recursive: true });
    fs.writeFileSync(path.join(ds, 'train/notes.txt'), 'hello');
    fs.writeFileSync(path.join(ds, 'README.md'), '# data');
    const page = await app.open();
    await page.getByTestId('input-folder').setInputFiles(ds);
    await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor();
    const listing = page.locator('#listing');
    assert.match(await listing.textContent(), /2 file\(s\) will be ignored/);
    await listing.locator('.ignored summary').click();
    assert.deepEqual(await listing.locator('.ignored li').allTextContents(), ['README.md', 'train/notes.txt']);
    assert.match(await listing.textContent(), /train\/ — 4 shards/);
    assert.equal(await page.getByLabel('Label column (never imputed)').inputValue(), 'target');
    await page.getByTestId('run').click();
    assert.match(await finalStatus(page), /^done: 7 shards/);
    const zip = readZip(await downloadZip(page));
    const summary = JSON.parse(zip.get('model_artifacts/imputation_summary.json').toString());
    assert.deepEqual(summary.ignored_files, ['train/notes.txt']);
    assert.ok(!zip.has('train/notes.txt'));
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('a folder dropped on the page is read like a picked one', async () => {
    const page = await app.open();
    // a drop event carrying a directory entry tree built from the sample's files
    await page.evaluate(async () => {
      const manifest = await (await fetch('./sample/manifest.json')).json();
      const root = { name: 'dropped', isFile: false, isDirectory: true, children: new Map() };
      for (const p of manifest.files) {
        const parts = p.split('/');
        let dir = root;
        for (const d of parts.slice(0, -1)) {
          if (!dir.children.has(d)) dir.children.set(d, { name: d, isFile: false, isDirectory: true, children: new Map() });
          dir = dir.children.get(d);
        }
        const file = new File([await (await fetch(`./sample/${p}`)).blob()], parts.at(-1));
        dir.children.set(file.name, { name: file.name, isFile: true, isDirectory: false, file: (ok) => ok(file) });
      }
      const withReader = (e) => {
        if (e.isFile) return e;
        let done = false;
        return {
          ...e,
          createReader: () => ({
            readEntries: (ok) => {
              ok(done ? [] : [...e.children.values()].map(withReader));
              done = true;
            },
          }),
        };
      };
      const entry = withReader(root);
      const drop = new Event('drop', { bubbles: true, cancelable: true });
      Object.defineProperty(drop, 'dataTransfer', { value: { items: [{ webkitGetAsEntry: () => entry }] } });
      // the drop zone is inside the element's (open) shadow root
      document.querySelector('shard-impute').shadowRoot.getElementById('drop').dispatchEvent(drop);
    });
    await page.getByTestId('status').filter({ hasText: /^Ready: 6 shards/ }).waitFor();
    assert.match(await page.locator('#listing').textContent(), /train\/ — 4 shards/);
    await page.getByTestId('run').click();
    assert.match(await finalStatus(page), /^done: 6 shards, 720 rows/);
    const zip = readZip(await downloadZip(page));
    assert.ok(zip.has('val/part-00000.csv'));
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('settings from the table: an excluded column and a per-column strategy', async () => {
    const page = await app.open();
    await page.getByTestId('input-folder').setInputFiles(fixture('csv-defaults').input);
    await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor();
    await page.getByLabel('exclude num_normal').check();
    await page.getByLabel('strategy for num_skewed').selectOption('median');
    assert.equal(await page.locator('#exclude-columns').inputValue(), 'num_normal');
    await page.getByTestId('run').click();
    assert.match(await finalStatus(page), /^done: /);
    const row = (name) => page.locator('#columns tbody tr').filter({ has: page.locator('th', { hasText: new RegExp(`^${name}`) }) });
    assert.match(await row('num_normal').textContent(), /excluded/);
    assert.match(await row('num_skewed').textContent(), /median/);
    const zip = readZip(await downloadZip(page));
    const dict = JSON.parse(zip.get('model_artifacts/impute_dict.json').toString());
    assert.ok(!('num_normal' in dict));
    const summary = JSON.parse(zip.get('model_artifacts/imputation_summary.json').toString());
    assert.deepEqual(summary.settings.exclude_columns, ['num_normal']);
    assert.deepEqual(summary.settings.column_strategies, [['num_skewed', 'median']]);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test("the column table lists the first shard's columns before a run: CSV, gzip CSV, Parquet", async () => {
    const py = pythonWithPyarrow();
    const script = String.raw`
import csv, gzip, io, json, sys
import pyarrow.parquet as pq
p = sys.argv[1]
if p.endswith('.parquet'):
    print(json.dumps(pq.read_schema(p).names))
else:
    raw = gzip.open(p, 'rb').read() if p.endswith('.gz') else open(p, 'rb').read()
    print(json.dumps(next(csv.reader(io.StringIO(raw.decode('utf-8-sig'), newline='')))))
`;
    for (const name of ['csv-defaults', 'csvgz-defaults', 'parquet-defaults']) {
      const page = await app.open();
      const c = fixture(name);
      const train = path.join(c.input, 'train');
      const first = path.join(train, fs.readdirSync(train).sort()[0]);
      const want = JSON.parse(execFileSync(py, ['-c', script, first]).toString());
      assert.ok(want.length > 1, `${name}: the test read a header`);
      await page.getByTestId('input-folder').setInputFiles(c.input);
      await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor();
      const names = await page.locator('#columns tbody tr th').evaluateAll((ths) => ths.map((th) => th.firstChild.textContent));
      assert.deepEqual(names, want, name);
      // the label column is suggested from those names
      assert.equal(await page.getByLabel('Label column (never imputed)').inputValue(), 'target');
      assert.deepEqual(page.problems, []);
      await page.context().close();
    }
  });

  test('column and file names holding HTML are shown as text, never run', async () => {
    const dir = tmpdir();
    temps.push(dir);
    const evil = '<img src=x onerror="window.pwned=1">';
    const text = `id,target,${evil.replaceAll('"', '""').replace(/^/, '"').concat('"')}\n1,0,2.5\n2,1,\n`;
    for (const split of ['train', 'val', 'test']) {
      fs.mkdirSync(path.join(dir, split), { recursive: true });
      fs.writeFileSync(path.join(dir, split, 'part-00000.csv'), text);
    }
    fs.writeFileSync(path.join(dir, 'train', '<b onmouseover="window.pwned=2">notes<i>.txt'), 'x');
    const page = await app.open();
    assert.match(await runJob(page, { input: dir, jobType: 'training' }), /^done: /);
    // the name appears literally in the table and the ignored-files list
    const row = page.locator('#columns tbody tr').filter({ has: page.locator('th', { hasText: evil }) });
    assert.equal(await row.count(), 1);
    assert.equal(await page.locator('#columns img').count(), 0, 'no element made from a column name');
    assert.match(await page.locator('details.ignored').textContent(), /<b onmouseover="window\.pwned=2">notes<i>\.txt/);
    assert.equal(await page.locator('details.ignored b').count(), 0, 'no element made from a file name');
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    const zip = readZip(await downloadZip(page));
    const dict = JSON.parse(zip.get('model_artifacts/impute_dict.json').toString());
    assert.deepEqual(Object.keys(dict), [evil]);
    assert.deepEqual(page.problems.filter((p) => !/\/x\b|404/.test(p)), []);
    await page.context().close();
  });
  test('the engine warms up on warm-up/ at start; without it, or with a damaged file, the page still runs', async () => {
    // a page on the app whose requests for `file` get `reply`, with every
    // console message (the worker's included) collected
    const openWith = async (file, reply) => {
      const context = await app.browser.newContext();
      const page = await context.newPage();
      const messages = [];
      page.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
      if (file) await page.route(`**/warm-up/${file}`, reply);
      await page.goto(app.server.url);
      await page.getByTestId('mode').filter({ hasText: /threads: \d+/ }).waitFor({ timeout: 60_000 });
      return { page, messages };
    };
    const runSample = async (page) => {
      await page.getByTestId('sample').click();
      assert.match(await finalStatus(page), /^done: 6 shards, 720 rows \(rows in = rows out\)/);
    };
    const warmUp = (messages) => messages.filter((m) => /warm-up/.test(m));

    // a run waits for the warm-up, so its messages are in by the end
    const served = await openWith(null);
    await runSample(served.page);
    assert.deepEqual(warmUp(served.messages), [], 'both warm-up files run without a word');
    await served.page.context().close();

    const missing = await openWith('part.csv', (route) => route.fulfill({ status: 404, body: 'gone' }));
    await runSample(missing.page);
    assert.deepEqual(warmUp(missing.messages), ['warning: engine warm-up skipped: cannot load ./warm-up/part.csv: HTTP 404']);
    await missing.page.context().close();

    // the engine itself reads the file: damaged Parquet is its error
    const damaged = await openWith('part.parquet', (route) => route.fulfill({ status: 200, body: Buffer.from('PAR1 not a parquet file PAR1') }));
    await runSample(damaged.page);
    const [message, ...more] = warmUp(damaged.messages);
    assert.match(message, /^error: engine warm-up failed on part\.parquet: train\/part-\d{5}\.parquet: /);
    assert.deepEqual(more, []);
    await damaged.page.context().close();
  });
});

describe('the web app, single-threaded', () => {
  const app = useApp(false);

  test('progress is shown at most every 250 ms, every event still reaches the host, and the last status stays', async () => {
    // many small shards: the single-threaded engine sends progress far
    // more often than every 250 ms
    const dir = path.join(tmp(), 'input');
    fs.cpSync(fixture('csv-defaults').input, dir, { recursive: true });
    for (let i = 10; i < 400; i++) {
      fs.copyFileSync(path.join(dir, 'train/part-00000.csv'), path.join(dir, `train/part-${String(i).padStart(5, '0')}.csv`));
    }
    const page = await app.open();
    assert.match(await page.getByTestId('mode').textContent(), /^single-threaded/);
    await page.getByTestId('input-folder').setInputFiles(dir);
    await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor();
    await page.evaluate(() => {
      window.shown = [];
      window.events = [];
      const e = document.querySelector('shard-impute');
      const status = e.shadowRoot.querySelector('[data-testid="status"]');
      // stamp each change as it is made: a MutationObserver runs at the end
      // of the task, which on a busy machine can be ms after the change
      const text = Object.getOwnPropertyDescriptor(Node.prototype, 'textContent');
      Object.defineProperty(status, 'textContent', {
        configurable: true,
        get() { return text.get.call(this); },
        set(v) {
          window.shown.push({ at: performance.now(), text: String(v) });
          text.set.call(this, v);
        },
      });
      e.addEventListener('progress', ({ detail }) => window.events.push({ at: performance.now(), ...detail }));
    });
    await page.getByTestId('run').click();
    assert.match(await finalStatus(page), /^done: /);
    await page.waitForTimeout(600);
    const { shown, events } = await page.evaluate(() => ({ shown: window.shown, events: window.events }));

    // the host got every shard's progress: both passes count up to their totals
    for (const [pass, total] of [['fit', 394], ['fill', 397]]) {
      const p = events.filter((x) => x.pass === pass);
      assert.equal(p.at(-1).shardsDone, total, pass);
    }
    const progress = shown.filter((s) => /^pass [12] /.test(s.text));
    assert.ok(progress.length >= 2, `progress shown ${progress.length} times`);
    // the engine sent events closer together than that (else this test shows nothing)
    const gaps = (xs) => xs.slice(1).map((x, i) => x.at - xs[i].at);
    assert.ok(Math.min(...gaps(events)) < 100, `events ${Math.min(...gaps(events)).toFixed(0)} ms apart at least`);
    assert.ok(events.length > progress.length, `${events.length} events, shown ${progress.length} times`);
    // a timer may fire a few ms early against performance.now()
    assert.ok(Math.min(...gaps(progress)) >= 245, `shown ${Math.min(...gaps(progress)).toFixed(0)} ms apart`);
    // nothing waiting overwrote the result
    assert.match(shown.at(-1).text, /^done: /);
    assert.match(await page.getByTestId('status').textContent(), /^done: /);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('a folder of 3,000 shards reaches the worker in parts, the page stays responsive, and every shard runs', async () => {
    const dir = tmp();
    const shard = (split, i, text) => {
      fs.mkdirSync(path.join(dir, split), { recursive: true });
      fs.writeFileSync(path.join(dir, split, `part-${String(i).padStart(5, '0')}.csv`), text);
    };
    // a third of the training shards' `v` missing, and val's and test's
    for (let i = 0; i < 3000; i++) shard('train', i, `id,target,v\n${i},0,${i % 3 ? 'a' : ''}\n`);
    shard('val', 0, 'id,target,v\n3000,1,\n');
    shard('test', 0, 'id,target,v\n3001,0,\n');
    const page = await app.open();
    await page.evaluate(() => {
      window.statuses = [];
      const root = document.querySelector('shard-impute').shadowRoot;
      const status = root.querySelector('[data-testid=status]');
      new MutationObserver(() => window.statuses.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
      // the longest the page's thread is held from the pick on: timer
      // ticks from the change event (before the page's own listener) on
      window.longest = 0;
      root.addEventListener('change', () => {
        window.picked = performance.now();
        let last = window.picked;
        const tick = () => {
          const now = performance.now();
          window.longest = Math.max(window.longest, now - last);
          last = now;
          if (!window.listed) setTimeout(tick, 0);
        };
        setTimeout(tick, 0);
      }, { capture: true });
    });
    await page.getByTestId('input-folder').setInputFiles(dir);
    await page.getByTestId('status').filter({ hasText: /^(Ready|error)/ }).waitFor();
    const { statuses, longest, listing } = await page.evaluate(() => {
      window.listed = true;
      return { statuses: window.statuses, longest: window.longest, listing: performance.now() - window.picked };
    });
    assert.match(statuses.at(-1), /^Ready: 3002 shards\./);
    // parts of 256 files: the status counts them
    assert.ok(statuses.includes('reading the folder: 256 of 3,002 files…'), statuses.join(' | '));
    assert.ok(statuses.includes('reading the folder: 2,816 of 3,002 files…'), statuses.join(' | '));
    // the page's thread is never held for the whole listing (one message of
    // every file held it for all of it: about 0.3 ms a file)
    assert.ok(longest < listing / 3, `the page held for ${longest} ms in a listing of ${listing} ms`);
    // every file arrived: every shard runs, each with its row
    await page.getByTestId('run').click();
    assert.match(await finalStatus(page), /^done: 3002 shards, 3,002 rows \(rows in = rows out\), 1,002 cells filled/);
    // another folder picked while this one is still being handed over:
    // the page lists and runs the other one alone
    await page.getByTestId('input-folder').setInputFiles(dir);
    await page.getByTestId('status').filter({ hasText: /^reading the folder/ }).waitFor();
    // no run of the folder before it while this one is handed over
    assert.equal(await page.getByTestId('run').isDisabled(), true);
    await page.getByTestId('input-folder').setInputFiles(fixture('csv-defaults').input);
    await page.getByTestId('status').filter({ hasText: /^(Ready|error)/ }).waitFor();
    assert.match(await page.getByTestId('status').textContent(), /^Ready: 7 shards\./);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the first folder's listing would have ended
    assert.match(await page.getByTestId('status').textContent(), /^Ready: 7 shards\./);
    await page.getByTestId('run').click();
    assert.match(await finalStatus(page), /^done: 7 shards, 2,800 rows \(rows in = rows out\)/);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
  test('a job type chosen while the worker lists a folder is the one listed', async () => {
    // a folder that fits a training job (train/, val/, test/: 7 shards)
    // and a validation job (validation/: 1 shard)
    const dir = path.join(tmp(), 'input');
    fs.cpSync(fixture('csv-defaults').input, dir, { recursive: true });
    fs.mkdirSync(path.join(dir, 'validation'));
    fs.copyFileSync(path.join(dir, 'val/part-00000.csv'), path.join(dir, 'validation/part-00000.csv'));
    const page = await app.open();
    // the job type changes as soon as the page has asked for the listing,
    // before the answer comes back
    await page.evaluate(() => {
      const post = Worker.prototype.postMessage;
      Worker.prototype.postMessage = function (message, ...rest) {
        post.call(this, message, ...rest);
        if (message?.type === 'scan' && !window.changed) {
          window.changed = true;
          const select = document.querySelector('shard-impute').shadowRoot.querySelector('[data-testid=job-type]');
          select.value = 'validation';
          select.dispatchEvent(new Event('change'));
        }
      };
    });
    await page.getByTestId('input-folder').setInputFiles(dir);
    await page.getByTestId('status').filter({ hasText: /^(Ready|error)/ }).waitFor();
    assert.equal(await page.evaluate(() => window.changed), true);
    // listed for validation, not for training
    assert.equal(await page.getByTestId('job-type').inputValue(), 'validation');
    assert.match(await page.getByTestId('status').textContent(), /^Ready: 1 shard\./);
    assert.doesNotMatch(await page.locator('#listing').textContent(), /Job type set to/);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
});
