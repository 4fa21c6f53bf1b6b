// Failures through the page: a bad shard is named in the status (with the
// CLI's message), a non-training job without fill values, an unsafe pickle,
// and cancelling a run (told apart from errors by the error's kind, not its
// text). Then: the main thread stays responsive while a larger dataset runs.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  cliPath, downloadZip, finalStatus, fixture, readZip, runJob, tmpdir, useApp,
} from './helpers.mjs';

/** A copy of a fixture's input folder, to break or grow. */
function copyInput(name) {
  const dir = path.join(tmpdir(), 'input');
  fs.cpSync(fixture(name).input, dir, { recursive: true });
  return dir;
}

/** csv-defaults with `copies` training shards (copies of its own), for slower runs. */
function bigInput(copies) {
  const dir = copyInput('csv-defaults');
  const train = path.join(dir, 'train');
  const originals = fs.readdirSync(train).sort().map((f) => fs.readFileSync(path.join(train, f)));
  for (let i = originals.length; i < copies; i++) {
    fs.writeFileSync(path.join(train, `part-${String(i).padStart(5, '0')}.csv`), originals[i % originals.length]);
  }
  return dir;
}

const cleanup = [];

for (const isolated of [true, false]) {
  describe(isolated ? 'threaded build' : 'single-threaded build', () => {
    const app = useApp(isolated);
    after(() => {
      for (const d of cleanup.splice(0)) fs.rmSync(path.dirname(d), { recursive: true, force: true });
    });

    test('a ragged CSV row: the status names the shard and line, as the CLI does', async () => {
      const input = copyInput('csv-defaults');
      cleanup.push(input);
      fs.appendFileSync(path.join(input, 'val/part-00001.csv'), 'only,three,fields\n');
      const page = await app.open();
      const status = await runJob(page, { input, jobType: 'training' });
      assert.match(status, /^error: /);
      assert.match(status, /val\/part-00001\.csv/);
      assert.match(status, /line \d+/);
      assert.equal(await page.getByTestId('download').isVisible(), false);
      const cli = spawnSync(cliPath, ['run', '--job-type', 'training', '--input', input,
        '--output', path.join(path.dirname(input), 'out'), '--quiet']);
      assert.equal(cli.status, 1);
      assert.ok(cli.stderr.toString().trim().endsWith(status.replace(/^error: /, '')),
        `CLI: ${cli.stderr}\npage: ${status}`);
      assert.deepEqual(page.problems, []);
      await page.context().close();
    });

    test('an error whose message says "cancelled" is an error, not a cancel', async () => {
      const input = copyInput('csv-defaults');
      cleanup.push(input);
      const header = fs.readFileSync(path.join(input, 'val/part-00000.csv'), 'utf8').split('\n')[0];
      fs.writeFileSync(path.join(input, 'val/part-00002-cancelled.csv'), `${header}\nonly,three,fields\n`);
      const page = await app.open();
      const status = await runJob(page, { input, jobType: 'training' });
      assert.match(status, /^error: .*val\/part-00002-cancelled\.csv/);
      assert.equal(await page.getByTestId('status').getAttribute('class'), 'error');
      assert.deepEqual(page.problems, []);
      await page.context().close();
    });

    test('a corrupt Parquet training shard fails pass 1, naming the shard', async () => {
      const input = copyInput('parquet-defaults');
      cleanup.push(input);
      fs.writeFileSync(path.join(input, 'train/part-00002.parquet'), 'this is not parquet');
      const page = await app.open();
      const status = await runJob(page, { input, jobType: 'training' });
      assert.match(status, /^error: .*train\/part-00002\.parquet/);
      assert.equal(await page.getByTestId('download').isVisible(), false);
      assert.deepEqual(page.problems, []);
      await page.context().close();
    });

    test('a validation job without saved fill values, and an unsafe pickle, are clear errors', async () => {
      const c = fixture('csv-inference');
      const page = await app.open();
      let status = await runJob(page, { input: c.input, jobType: 'validation' });
      assert.match(status, /^error: .*needs saved fill values/);
      // artifacts without impute_dict.pkl or impute_dict.json: the same error
      const only = path.join(tmpdir(), 'scaler_params.json');
      cleanup.push(path.join(path.dirname(only), 'x'));
      fs.writeFileSync(only, '{"mean": 1.5}\n');
      await page.getByTestId('artifacts').setInputFiles(only);
      await page.getByTestId('run').click();
      status = await finalStatus(page);
      assert.match(status, /^error: .*needs saved fill values.*impute_dict\.pkl/);
      assert.equal(await page.getByTestId('download').isVisible(), false);
      // pickle of os.system('true'): a global and a reduce; never executed
      const dir = tmpdir();
      cleanup.push(path.join(dir, 'x'));
      const evil = path.join(dir, 'impute_dict.pkl');
      fs.writeFileSync(evil, Buffer.from('8004951f000000000000008c05706f736978948c0673797374656d9493948c047472756594859452942e', 'hex'));
      await page.getByTestId('artifacts').setInputFiles(evil);
      await page.getByTestId('run').click();
      status = await finalStatus(page);
      assert.match(status, /^error: .*impute_dict\.pkl/);
      assert.equal(await page.getByTestId('download').isVisible(), false);
      // a memo bomb: one 4 MB string, memoized, then fetched 200,000 times
      // (4.4 MB of pickle that would ask for 800 GB): refused, the page usable
      const bomb = [Buffer.from([0x80, 4, 0x7d, 0x58]), Buffer.alloc(4)];
      bomb[1].writeUInt32LE(4 << 20);
      bomb.push(Buffer.alloc(4 << 20, 0x61), Buffer.from([0x94]));
      bomb.push(Buffer.alloc(2 * 200000, Buffer.from([0x68, 0])), Buffer.from('.'));
      const bombDir = tmpdir();
      cleanup.push(path.join(bombDir, 'x'));
      const bombFile = path.join(bombDir, 'impute_dict.pkl');
      fs.writeFileSync(bombFile, Buffer.concat(bomb));
      await page.getByTestId('artifacts').setInputFiles(bombFile);
      await page.getByTestId('run').click();
      status = await finalStatus(page);
      assert.match(status, /^error: .*impute_dict\.pkl.*memo GETs copy more than/);
      assert.doesNotMatch(status, /borrowed/);
      assert.equal(await page.getByTestId('download').isVisible(), false);
      // the right pickle then works on the same page
      await page.getByTestId('artifacts').setInputFiles(c.artifacts);
      await page.getByTestId('run').click();
      assert.match(await finalStatus(page), /^done: /);
      assert.deepEqual(page.problems, []);
      await page.context().close();
    });

    test('cancel stops a run between shards; the next run completes', async () => {
      const input = bigInput(500);
      cleanup.push(input);
      const page = await app.open();
      await page.getByTestId('input-folder').setInputFiles(input);
      await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor();
      await page.getByTestId('run').click();
      await page.getByTestId('status').filter({ hasText: /shards/ }).filter({ hasText: /^pass/ }).waitFor();
      await page.getByTestId('cancel').click();
      const status = await finalStatus(page);
      assert.match(status, /^cancelled: /);
      assert.notEqual(await page.getByTestId('status').getAttribute('class'), 'error');
      assert.equal(await page.getByTestId('download').isVisible(), false);
      assert.equal(await page.getByTestId('run').isEnabled(), true);
      await page.getByTestId('run').click();
      assert.match(await finalStatus(page, 300_000), /^done: 503 shards/);
      assert.deepEqual(page.problems, []);
      await page.context().close();
    });

    test('browser storage that fills up fails the run clearly; no partial zip is offered or kept', async () => {
      const input = bigInput(500);
      cleanup.push(input);
      const page = await app.open();
      const cdp = await page.context().newCDPSession(page);
      const origin = new URL(page.url()).origin;
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 256 * 1024 });
      await page.getByTestId('input-folder').setInputFiles(input);
      await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor();
      await page.getByTestId('run').click();
      const status = await finalStatus(page, 300_000);
      assert.match(status, /^error: .*browser storage/);
      assert.equal(await page.getByTestId('download').isVisible(), false);
      const left = await page.evaluate(async () => {
        const names = [];
        for await (const name of (await navigator.storage.getDirectory()).keys()) names.push(name);
        return names;
      });
      assert.deepEqual(left.filter((n) => n.endsWith('.zip')), [], 'the partial zip is removed');
      // with the quota back, the same page completes the run
      await cdp.send('Storage.overrideQuotaForOrigin', { origin });
      await page.getByTestId('run').click();
      assert.match(await finalStatus(page, 300_000), /^done: 503 shards/);
      assert.deepEqual(page.problems.filter((p) => !/storage|quota/i.test(p)), []);
      await page.context().close();
    });

    if (isolated) {
      test('the main thread never blocks while a run goes on', async () => {
        const input = bigInput(500);
        cleanup.push(input);
        const page = await app.open();
        await page.getByTestId('input-folder').setInputFiles(input);
        await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor();
        // the longest gap between 20 ms timer ticks during the run
        await page.evaluate(() => {
          window.maxGap = 0;
          let last = performance.now();
          window.ticker = setInterval(() => {
            const now = performance.now();
            window.maxGap = Math.max(window.maxGap, now - last);
            last = now;
          }, 20);
        });
        const t0 = Date.now();
        await page.getByTestId('run').click();
        assert.match(await finalStatus(page, 300_000), /^done: 503 shards/);
        const took = Date.now() - t0;
        const gap = await page.evaluate(() => {
          clearInterval(window.ticker);
          return window.maxGap;
        });
        assert.ok(took > 500, `the run took ${took} ms: too short to tell`);
        assert.ok(gap < 250, `the main thread stalled for ${gap.toFixed(0)} ms`);
        const zip = readZip(await downloadZip(page));
        assert.equal([...zip.keys()].filter((p) => p.startsWith('train/')).length, 500);
        assert.deepEqual(page.problems, []);
        await page.context().close();
      });
    }
  });
}
