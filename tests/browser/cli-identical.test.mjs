// The zip the page hands out holds, file by file, exactly the bytes the
// native CLI writes for the same input and settings (but for the run's time
// in the reports): every fixture in the threaded build, and the training
// cases in the single-threaded one too. Settings from a fixture's env.txt go
// through the page's env textarea. (conformance.test.mjs checks the output
// against the fixtures' expected answers.)

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  downloadZip, finalStatus, fixture, fixtures, readZip, runCli, runJob, untimed, useApp,
} from './helpers.mjs';

const ALL = fs.readdirSync(fixtures).filter((n) => fs.existsSync(`${fixtures}/${n}/job_type.txt`)).sort();

function assertSameFiles(zip, cli) {
  assert.deepEqual([...zip.keys()].sort(), [...cli.keys()].sort(), 'the same files');
  for (const [p, bytes] of cli) {
    assert.ok(untimed(p, zip.get(p)).equals(untimed(p, bytes)),
      `${p} differs from the CLI's (${zip.get(p).length} vs ${bytes.length} bytes)`);
  }
}

for (const isolated of [true, false]) {
  describe(isolated ? 'threaded build' : 'single-threaded build', () => {
    const app = useApp(isolated);

    const cases = isolated ? ALL : ALL.filter((n) => fixture(n).jobType === 'training');
    for (const name of cases) {
      test(`${name}: byte-identical to the CLI, file by file`, async () => {
        assert.ok(ALL.length >= 4, 'the fixtures are there');
        const c = fixture(name);
        const page = await app.open();
        assert.match(await runJob(page, c), /^done: /);
        const zip = readZip(await downloadZip(page));
        assertSameFiles(zip, runCli(c));
        assert.deepEqual(page.problems, []);
        await page.context().close();
      });
    }

    if (isolated) {
      test('settings made in the form give the CLI\'s bytes for the same settings', async () => {
        const c = { ...fixture('csv-defaults'), env: 'DEFAULT_NUMERICAL_STRATEGY=median\nEXCLUDE_COLUMNS=id\nLABEL_FIELD=target\n' };
        const page = await app.open();
        await page.getByTestId('input-folder').setInputFiles(c.input);
        await page.getByTestId('status').filter({ hasText: /^Ready/ }).waitFor();
        await page.getByLabel('Numerical columns').selectOption('median');
        await page.getByLabel('Excluded columns (comma-separated)').fill('id');
        await page.getByLabel('Excluded columns (comma-separated)').press('Tab');
        await page.getByLabel('Label column (never imputed)').fill('target');
        await page.getByLabel('Label column (never imputed)').press('Tab');
        await page.getByTestId('run').click();
        assert.match(await finalStatus(page), /^done: /);
        const zip = readZip(await downloadZip(page));
        const summary = JSON.parse(zip.get('model_artifacts/imputation_summary.json').toString());
        assert.deepEqual(summary.settings.exclude_columns, ['id']);
        assert.equal(summary.settings.default_numerical_strategy, 'median');
        assertSameFiles(zip, runCli(c));
        assert.deepEqual(page.problems, []);
        await page.context().close();
      });
    }
  });
}
