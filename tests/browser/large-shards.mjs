// Soak: the web app (threads) on two CSV training shards of about 1 GB
// each, the largest the engine takes a pass at in one piece of WebAssembly
// memory beside its output. Not part of `make test` (2 GB of input, a few
// minutes): `make soak-large`.
//
//   node tests/browser/large-shards.mjs SET_DIR
//
// SET_DIR is a benchmark set (bench/set.sh csv 30 30000): its training
// shards' rows, repeated, make the two large shards; one of its validation
// shards is both val/ and test/. Checks: the run ends `done` with rows in =
// rows out; every output shard in the zip has its CRC-32 and as many line
// breaks as its input, counted here; and it is byte-identical to the CLI's
// on the same folder.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import zlib from 'node:zlib';
import {
  cliPath, finalStatus, launchProfile, openApp, root, serveDist, tmpdir, zipIndex,
} from './helpers.mjs';

const set = path.resolve(process.argv[2] ?? '');
assert.ok(fs.existsSync(path.join(set, 'train')), `usage: large-shards.mjs SET_DIR (got ${set})`);
const TARGET_BYTES = Number(process.env.LARGE_SHARD_BYTES ?? 1e9);

/** Line breaks of a text (a quoted field may hold some), the header's left out. */
function lines(buf) {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  if (buf.length && buf[buf.length - 1] !== 10) n++;
  return n - 1;
}

const work = tmpdir();
const input = path.join(work, 'large');
try {
  for (const split of ['train', 'val', 'test']) fs.mkdirSync(path.join(input, split), { recursive: true });
  const trainFiles = fs.readdirSync(path.join(set, 'train')).sort().map((f) => path.join(set, 'train', f));
  const header = fs.readFileSync(trainFiles[0], 'utf8').split('\n')[0];
  const bodies = trainFiles.map((f) => {
    const b = fs.readFileSync(f);
    return b.subarray(b.indexOf(10) + 1);
  });
  for (const name of ['part-00000.csv', 'part-00001.csv']) {
    const fd = fs.openSync(path.join(input, 'train', name), 'w');
    let size = fs.writeSync(fd, `${header}\n`);
    for (let i = 0; size < TARGET_BYTES; i++) size += fs.writeSync(fd, bodies[i % bodies.length]);
    fs.closeSync(fd);
  }
  const val = fs.readdirSync(path.join(set, 'val')).sort()[0];
  fs.copyFileSync(path.join(set, 'val', val), path.join(input, 'val', 'part-00000.csv'));
  fs.copyFileSync(path.join(set, 'val', val), path.join(input, 'test', 'part-00000.csv'));

  const cliOut = path.join(work, 'cli');
  execFileSync(cliPath, ['run', '--job-type', 'training', '--input', input, '--output', cliOut, '-q'], {
    stdio: 'inherit',
  });

  const server = await serveDist(true);
  const browser = await launchProfile();
  const zipFile = path.join(work, 'out.zip');
  try {
    const page = await openApp(browser, server.url);
    assert.match(await page.getByTestId('mode').textContent(), /^threads/);
    await page.getByTestId('input-folder').setInputFiles(input);
    await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor({ timeout: 120_000 });
    const start = Date.now();
    await page.getByTestId('run').click();
    const status = await finalStatus(page, 1_800_000);
    console.log(`${((Date.now() - start) / 1000).toFixed(1)} s: ${status}`);
    assert.match(status, /^done: 4 shards, .* \(rows in = rows out\)/);
    assert.deepEqual(page.problems, []);
    const link = page.getByTestId('download');
    await link.waitFor({ state: 'visible' });
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    await download.saveAs(zipFile);
  } finally {
    await browser.close();
    await server.close();
  }
  // the zip (2.4 GB) is read from its file: a Buffer holds less than 2 GiB
  const fd = fs.openSync(zipFile, 'r');
  const read = (at, n) => {
    const b = Buffer.alloc(n);
    assert.equal(fs.readSync(fd, b, 0, n, at), n);
    return b;
  };
  const entries = zipIndex(fs.fstatSync(fd).size, read);
  for (const split of ['train', 'val', 'test']) {
    for (const name of fs.readdirSync(path.join(input, split))) {
      const rel = `${split}/${name}`;
      const entry = entries.get(rel);
      assert.ok(entry, `${rel} missing from the zip`);
      const got = read(entry.offset, entry.size);
      assert.equal(zlib.crc32(got) >>> 0, entry.crc, `${rel}: CRC-32 mismatch`);
      assert.equal(lines(got), lines(fs.readFileSync(path.join(input, rel))), `${rel}: lines out`);
      assert.ok(got.equals(fs.readFileSync(path.join(cliOut, rel))), `${rel}: not the CLI's bytes`);
      console.log(`${rel}: ${got.length} bytes, ${lines(got)} lines, as the CLI's`);
    }
  }
  fs.closeSync(fd);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`large shards: ok (${path.relative(root, set) || set})`);
