// Runs the sample dataset in the web app (headless Chromium, 1280 wide,
// threaded build) and saves a screenshot of the page.
//
//   node tests/browser/screenshot.mjs [out.png]     (after make dist)

import path from 'node:path';
import { finalStatus, launch, openApp, root, serveDist } from './helpers.mjs';

const out = process.argv[2] ?? path.join(root, 'docs/screenshot.png');
const server = await serveDist(true);
const browser = await launch();
try {
  const page = await openApp(browser, server.url);
  await page.getByTestId('sample').click();
  const status = await finalStatus(page);
  if (!status.startsWith('done')) throw new Error(`the sample run failed: ${status}`);
  await page.getByTestId('download').waitFor({ state: 'visible' });
  await page.screenshot({ path: out, fullPage: true });
  if (page.problems.length) throw new Error(`console errors: ${page.problems.join('; ')}`);
  console.log(`saved ${out}: ${status}`);
} finally {
  await browser.close();
  await server.close();
}
