// Shared by the JS API tests and the browser tests.
import assert from 'node:assert/strict';
import path from 'node:path';

/**
 * An output file with the run's time in the reports blanked: two runs on
 * the same data differ only there (imputation_report.json's `timestamp`,
 * imputation_summary.txt's `time:` line).
 */
export function untimed(p, bytes) {
  const name = path.basename(p);
  if (name === 'imputation_report.json') {
    const { timestamp } = JSON.parse(bytes.toString());
    assert.match(timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, `${p}: timestamp`);
    return Buffer.from(bytes.toString().replace(`"timestamp": "${timestamp}"`, '"timestamp": ""'));
  }
  if (name === 'imputation_summary.txt') return Buffer.from(bytes.toString().replace(/^time: \S+$/m, 'time:'));
  return bytes;
}
