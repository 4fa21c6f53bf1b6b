// One timed run of the web app on a dataset folder, in headless Chromium:
// pick the folder, run pass 1 + pass 2 (the zip streamed to OPFS), and print
// the wall seconds from the click on Run to the element's `done` event, timed
// in the page. Used by bench/browser.sh.
//
//   node bench/browser-run.mjs --input bench-data/csv --mode threads|single [--threads N] [--runs N] [--cpu]
//
// --cpu (Linux) also prints, after each run, the CPU seconds Chromium's
// threads used during it, by process type and thread name (from /proc,
// sampled every 250 ms, so a thread that ends with the run counts too),
// and their minor page faults (fresh memory: each costs the kernel a few
// microseconds). The page's workers are told apart: `worker:coordinator`
// (web/worker.js: reads the files, copies them into wasm memory and the
// zip's chunks out of it), `worker:pool` (the engine's threads),
// `worker:writer` (web/writer.js, started by the run). Of the others,
// `browser:ThreadPoolForeg` is mostly the reading of the picked files,
// `renderer:ThreadPoolForeg` V8's background compiles and garbage
// collection, `renderer:main` the page itself.

import fs from 'node:fs';
import path from 'node:path';
import { finalStatus, launchProfile, openApp, serveDist } from '../tests/browser/helpers.mjs';

const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const input = path.resolve(arg('--input') ?? 'bench-data/csv');
const mode = arg('--mode') ?? 'threads';
const jobType = arg('--job-type') ?? 'training';
const threads = arg('--threads');
// runs one after another in the same page (the first one is what a user
// opening the app sees; later ones find the engine compiled and its memory
// grown)
const runs = Number(arg('--runs') ?? 1);
const cpu = args.includes('--cpu');

/**
 * CPU ticks and minor page faults so far of every Chromium thread, by
 * `pid/tid`, with a name `type:thread`.
 */
function chromiumThreads() {
  const threads = new Map();
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('chrom')) continue;
      const type = cmd.match(/--type=([a-z-]+)/)?.[1] ?? 'browser';
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = tid === pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        // minflt, utime and stime: fields 10, 14 and 15, counted after the name
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        threads.set(`${pid}/${tid}`, {
          name: `${type}:${name}`,
          ticks: Number(fields[11]) + Number(fields[12]),
          faults: Number(fields[7]),
        });
      }
    } catch {
      // a process or thread that ended meanwhile
    }
  }
  return threads;
}

/**
 * The role of a page's worker thread: the run starts the zip's writer; of
 * the workers already there, the coordinator is the first (it starts the
 * engine's pool).
 */
function roles(before) {
  const isWorker = (name) => name === 'renderer:DedicatedWorker';
  const tid = (key) => Number(key.split('/')[1]);
  const old = [...before].filter(([, t]) => isWorker(t.name)).map(([key]) => key);
  const coordinator = old.sort((a, b) => tid(a) - tid(b))[0];
  return (key, name) => {
    if (!isWorker(name)) return name;
    if (!before.has(key)) return 'worker:writer';
    return key === coordinator ? 'worker:coordinator' : 'worker:pool';
  };
}

/**
 * Two lines: "cpu TOTAL s: name=seconds ..." of the CPU used between two
 * `chromiumThreads()` (ticks are 1/100 s: USER_HZ on Linux), and "minor
 * faults TOTAL: name=count ...", largest first.
 */
function cpuBetween(before, after) {
  const role = roles(before);
  const cpu = new Map();
  const faults = new Map();
  for (const [key, { name, ticks, faults: f }] of after) {
    const r = role(key, name);
    cpu.set(r, (cpu.get(r) ?? 0) + ticks - (before.get(key)?.ticks ?? 0));
    faults.set(r, (faults.get(r) ?? 0) + f - (before.get(key)?.faults ?? 0));
  }
  const line = (by, label, unit, show) => {
    const total = [...by.values()].reduce((a, b) => a + b, 0);
    const parts = [...by].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).slice(0, 8);
    return `${label} ${show(total)}${unit}: ${parts.map(([n, v]) => `${n}=${show(v)}`).join(' ')}`;
  };
  const seconds = (t) => (t / 100).toFixed(2);
  return `${line(cpu, 'cpu', ' s', seconds)}\n  ${line(faults, 'minor faults', '', String)}`;
}

const server = await serveDist(mode === 'threads');
// a normal on-disk profile, as a user's browser has (see launchProfile)
const browser = await launchProfile();
try {
  const page = await openApp(browser, threads && mode === 'threads' ? `${server.url}?threads=${threads}` : server.url);
  const shown = await page.getByTestId('mode').textContent();
  if ((mode === 'threads') !== shown.startsWith('threads')) throw new Error(`page mode is "${shown}", wanted ${mode}`);
  await page.getByTestId('input-folder').setInputFiles(input);
  await page.getByTestId('status').filter({ hasText: /^(Ready|error)/ }).waitFor({ timeout: 120_000 });
  await page.getByTestId('job-type').selectOption(jobType);
  // timed in the page, from the click to the element's `done` (or
  // `error`) event: polling the status from here would add up to half a
  // second of the poll's interval to every run
  for (let run = 0; run < runs; run++) {
    const timed = page.evaluate(
      () =>
        new Promise((resolve) => {
          const host = document.querySelector('shard-impute');
          let start = null;
          const run = host.shadowRoot.querySelector('[data-testid="run"]');
          run.addEventListener('click', () => (start = performance.now()), { capture: true, once: true });
          const end = () => resolve((performance.now() - start) / 1000);
          host.addEventListener('done', end, { once: true });
          host.addEventListener('error', end, { once: true });
        }),
    );
    const before = cpu ? chromiumThreads() : null;
    // threads that end during the run (the zip's writer ends with it) are
    // seen by sampling: each thread's last ticks are kept
    const seen = new Map();
    const sample = () => {
      for (const [key, t] of chromiumThreads()) seen.set(key, t);
    };
    const sampler = cpu ? setInterval(sample, 250) : null;
    await page.getByTestId('run').click();
    // the status wait keeps its timeout: a run that never ends fails
    const [wall, status] = await Promise.all([timed, finalStatus(page, 3_600_000)]);
    if (!status.startsWith('done')) throw new Error(status);
    // "wall mode status", one line a run
    console.log(`${wall.toFixed(3)}\t${shown}\t${status}`);
    if (cpu) {
      clearInterval(sampler);
      sample();
      console.log(`  ${cpuBetween(before, seen)}`);
    }
  }
} finally {
  await browser.close();
  await server.close();
}
