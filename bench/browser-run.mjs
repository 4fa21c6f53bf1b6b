// One timed run of the web app on a dataset folder, in headless Chromium:
// pick the folder, run pass 1 + pass 2 (the zip streamed to OPFS), and print
// the wall seconds from the click on Run to the element's `done` event, timed
// in the page. Used by bench/browser.sh.
//
//   node bench/browser-run.mjs --input bench-data/csv --mode threads|single [--threads N] [--runs N]

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
    await page.getByTestId('run').click();
    // the status wait keeps its timeout: a run that never ends fails
    const [wall, status] = await Promise.all([timed, finalStatus(page, 3_600_000)]);
    if (!status.startsWith('done')) throw new Error(status);
    // "wall mode status", one line a run
    console.log(`${wall.toFixed(3)}\t${shown}\t${status}`);
  }
} finally {
  await browser.close();
  await server.close();
}
