// Out of memory in the threaded page. A copy of dist/ whose WebAssembly
// memory may grow to 96 MiB instead of 4 GiB (the one change: the
// `maximum` of the shared memory its module creates), and two training
// shards that need more: of 30 MB, whose outputs run out of memory on the
// thread pool (pass 2), and of 60 MB, which run out as the worker running
// the job copies them in (pass 1). Either run must end with an error of
// kind `memory` that says so, not hang; the page then starts a new engine,
// which runs the next job. A re-run of pass 2 that runs out (its edited
// fill value too long for the memory) leaves no pass 2 to re-run.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { serve } from '../../web/serve.mjs';
import { dist, finalStatus, fixture, launch, openApp, runJob, tmpdir } from './helpers.mjs';

const MAX_PAGES = 1536; // 96 MiB in 64 KiB pages

describe('out of memory (threaded build, memory capped at 96 MiB)', () => {
  const work = tmpdir();
  let server;
  let browser;

  /** csv-defaults with two training shards of `bytes` (its training rows, repeated). */
  function input(bytes) {
    const dir = path.join(work, `input-${bytes}`);
    fs.cpSync(fixture('csv-defaults').input, dir, { recursive: true });
    const train = path.join(dir, 'train');
    const texts = fs.readdirSync(train).sort().map((f) => fs.readFileSync(path.join(train, f), 'utf8'));
    for (const f of fs.readdirSync(train)) fs.rmSync(path.join(train, f));
    const [header] = texts[0].split('\n');
    const body = texts.map((t) => t.slice(t.indexOf('\n') + 1).replace(/\n?$/, '\n')).join('');
    const big = `${header}\n${body.repeat(Math.ceil(bytes / body.length))}`;
    for (const name of ['part-00000.csv', 'part-00001.csv']) fs.writeFileSync(path.join(train, name), big);
    return dir;
  }

  before(async () => {
    const copy = path.join(work, 'dist');
    fs.cpSync(dist, copy, { recursive: true });
    const glue = path.join(copy, 'shardimpute_wasm.js');
    const js = fs.readFileSync(glue, 'utf8');
    const capped = js.replace(/(new WebAssembly\.Memory\(\{initial:\d+,maximum:)65536(,shared:true\}\))/, `$1${MAX_PAGES}$2`);
    assert.notEqual(capped, js, 'the threaded module creates its shared memory with maximum:65536');
    fs.writeFileSync(glue, capped);
    server = await serve(copy, { isolate: true });
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  for (const [bytes, where] of [[30e6, 'on the thread pool'], [60e6, 'in the worker running the job']]) {
    test(`out of memory ${where}: the run fails with kind memory, the page starts a new engine, and the next job runs`, async () => {
      const folder = input(bytes);
      const page = await openApp(browser, server.url);
      assert.match(await page.getByTestId('mode').textContent(), /^threads: \d+/);
      const kind = page.evaluate(
        () => new Promise((resolve) => {
          document.querySelector('shard-impute').addEventListener('error', (e) => resolve(e.detail.kind), { once: true });
        }),
      );
      const status = await runJob(page, { input: folder, jobType: 'training' });
      assert.match(status, /^error: out of memory: the engine could not get \d+ more bytes/);
      assert.match(status, /The page has started it again: the folder is still loaded\.$/);
      assert.equal(await kind, 'memory');
      assert.equal(await page.getByTestId('download').isVisible(), false);
      // the new engine has the picked folder (Run again: the same error, not
      // a missing dataset), and runs a small dataset to the end
      await page.getByTestId('run').click();
      assert.match(await finalStatus(page), /^error: out of memory: .* started it again/);
      const next = await runJob(page, { input: fixture('csv-defaults').input, jobType: 'training' });
      assert.match(next, /^done: .* \(rows in = rows out\)/);
      await page.context().close();
    });
  }

  test('out of memory in a re-run of pass 2: the page starts a new engine, without a pass 2 to re-run', async () => {
    // 4 MB training shards run; every missing cat_tie cell (a fifth) then
    // filled with 16,000 characters needs about 100 MB more a shard
    const folder = input(4e6);
    const page = await openApp(browser, server.url);
    assert.match(await runJob(page, { input: folder, jobType: 'training' }), /^done: .* \(rows in = rows out\)/);
    assert.equal(await page.getByTestId('refill').isDisabled(), false);
    await page.getByLabel('fill value for cat_tie').fill('x'.repeat(16_000));
    await page.getByTestId('refill').click();
    const status = await finalStatus(page);
    assert.match(status, /^error: out of memory: the engine could not get \d+ more bytes/);
    assert.match(status, /The page has started it again: the folder is still loaded\.$/);
    // the job (its fill values) went with the old engine: nothing to re-run
    assert.equal(await page.getByTestId('refill').isDisabled(), true);
    assert.equal(await page.getByTestId('download').isVisible(), false);
    // the new engine runs the folder from pass 1
    await page.getByTestId('run').click();
    assert.match(await finalStatus(page), /^done: .* \(rows in = rows out\)/);
    assert.equal(await page.getByTestId('refill').isDisabled(), false);
    await page.context().close();
  });
});
