// The npm package as a user gets it: `make npm`'s tarball installed into an
// empty project in a temporary folder (nothing read from the repository's
// paths), then
//
// * its bin runs every conformance case under Node: the output is byte for
//   byte the native CLI's (but for the run's time in the reports), and the
//   CLI's own conformance test (cli/tests/conformance.rs: expected answers,
//   threads, TSV/gzip/Parquet variants) passes with the bin in its place;
//   the command line (help, errors, exit codes) is the native one's;
// * the same under Deno (from npm, pinned) for four cases;
// * its JavaScript API runs a job under Node, and under Deno;
// * its smallest wasm is at most 1.5 MB brotli.
//
//   make npm-test     (builds the package, the native CLI, the tools)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { untimed } from '../untimed.mjs';
import { tree } from '../files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'tests/fixtures');
const native = process.env.SHARDIMPUTE_CLI ?? path.join(root, 'target/debug/shardimpute');
const deno = path.join(root, 'target/js-tools/node_modules/.bin/deno');
const MAX_BROTLI = 1_500_000;
const CASES = fs.readdirSync(fixtures).filter((n) => fs.existsSync(path.join(fixtures, n, 'job_type.txt'))).sort();
// the conformance test wants at least four cases
const DENO_CASES = ['csv-defaults', 'csv-inference', 'parquet-defaults', 'tsv-defaults'];

let project; // the temporary project the tarball is installed into
let pkg; // node_modules/shardimpute in it
let bin; // node_modules/.bin/shardimpute
let denoBin; // a script running the bin under Deno

function tmpdir(what) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `shardimpute-npm-${what}-`));
}

before(() => {
  const dir = path.join(root, 'target/npm');
  const tgz = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^shardimpute-.*\.tgz$/.test(f)) : [];
  assert.equal(tgz.length, 1, `one shardimpute-*.tgz in ${dir} (run make npm), found ${tgz}`);
  assert.ok(fs.existsSync(native), `${native} is missing: cargo build -p shardimpute`);
  assert.ok(fs.existsSync(deno), `${deno} is missing: scripts/setup.sh web`);
  project = tmpdir('project');
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // the tarball is copied out first: the project never names the repository
  fs.copyFileSync(path.join(dir, tgz[0]), path.join(project, tgz[0]));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', `./${tgz[0]}`], { cwd: project, stdio: 'inherit' });
  pkg = path.join(project, 'node_modules/shardimpute');
  bin = path.join(project, 'node_modules/.bin/shardimpute');
  assert.ok(fs.realpathSync(bin).startsWith(fs.realpathSync(pkg)), `${bin} is the package's`);
  denoBin = path.join(project, 'shardimpute-deno');
  fs.writeFileSync(denoBin, `#!/bin/sh\nexec '${deno}' run -A '${fs.realpathSync(bin)}' "$@"\n`, { mode: 0o755 });
});

after(() => {
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

/** A case's settings as environment variables, over a clean environment. */
function caseEnv(dir) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
    !/(_STRATEGY|^COLUMN_STRATEGY_.*|^LABEL_FIELD|^EXCLUDE_COLUMNS|_CONSTANT_VALUE|^NA_VALUES|^RENAME_DOTS|^AUTO_DETECT_CATEGORICAL|^CATEGORICAL_UNIQUE_RATIO_THRESHOLD|^VALIDATE_FILL_VALUES)$/.test(k)));
  for (const line of fs.readFileSync(path.join(dir, 'env.txt'), 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i).trim()] = line.slice(i + 1);
  }
  return env;
}

/** Runs `program` on a case (from `cwd`, with relative paths); its output tree, stdout and stderr. */
function runCase(program, name, cwd) {
  const dir = path.join(fixtures, name);
  const job = fs.readFileSync(path.join(dir, 'job_type.txt'), 'utf8').trim();
  const out = tmpdir('out');
  const args = ['run', '--job-type', job, '--input', path.relative(cwd, path.join(dir, 'input')),
    '--output', path.relative(cwd, out)];
  if (job !== 'training') args.push('--artifacts-in', path.relative(cwd, path.join(dir, 'artifacts_in')));
  const r = spawnSync(program, args, { cwd, env: caseEnv(dir), encoding: 'utf8' });
  assert.equal(r.status, 0, `${program} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  const files = tree(out);
  fs.rmSync(out, { recursive: true, force: true });
  // the summary line names the output folder, a new one each run
  return { files, stdout: r.stdout.replaceAll(path.relative(cwd, out), 'OUT'), stderr: r.stderr };
}

/** Asserts two output trees hold the same files with the same bytes (the run's time aside). */
function assertSameTree(got, want, what) {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${what}: the same files`);
  assert.ok(want.size > 3, `${what}: shards and artifacts written`);
  for (const [p, bytes] of want) {
    assert.ok(untimed(p, got.get(p)).equals(untimed(p, bytes)), `${what}: ${p} differs from the native CLI's`);
  }
}

/** The summary line without its time and speed. */
const untimedSummary = (s) => s.replace(/, [\d.]+ s(, [\d.]+ [KMG]?B\/s)?;/, ', T;');

test('the package: name, version, exports, types, both wasm builds and the CLI', () => {
  const meta = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8'));
  const cargo = fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8').match(/^version = "(.*)"$/m)[1];
  assert.equal(meta.name, 'shardimpute');
  assert.equal(meta.version, cargo);
  assert.equal(meta.type, 'module');
  assert.deepEqual(Object.keys(meta.exports['.']), ['types', 'browser', 'worker', 'deno', 'node', 'default']);
  for (const f of ['index.js', 'node.js', 'index.d.ts', 'README.md', 'bin/shardimpute.mjs', 'wasm/cli/shardimpute.wasm',
    'wasm/mt/shardimpute_wasm.js', 'wasm/mt/shardimpute_wasm_bg.wasm', 'wasm/st/shardimpute_wasm.js',
    'wasm/st/shardimpute_wasm_bg.wasm', 'wasm/st/shardimpute_wasm.d.ts']) {
    assert.ok(fs.existsSync(path.join(pkg, f)), `${f} in the package`);
  }
  // the threaded build's worker helper, where its glue imports it from
  const glue = fs.readFileSync(path.join(pkg, 'wasm/mt/shardimpute_wasm.js'), 'utf8');
  const helper = glue.match(/from '\.\/(snippets\/[^']+)'/)?.[1];
  assert.ok(helper && fs.existsSync(path.join(pkg, 'wasm/mt', helper)), `the threaded glue's ${helper} is in the package`);
  // every export of the engine is re-exported by the entry points
  const engine = [...fs.readFileSync(path.join(pkg, 'wasm/st/shardimpute_wasm.js'), 'utf8')
    .matchAll(/^export (?:function|class) (\w+)/gm)].map((m) => m[1]).sort();
  const entry = fs.readFileSync(path.join(pkg, 'index.js'), 'utf8');
  for (const name of engine) assert.match(entry, new RegExp(`export let ${name};`), `index.js exports ${name}`);
});

test(`the smallest wasm in the package is at most ${MAX_BROTLI} bytes brotli`, () => {
  const r = spawnSync('node', [path.join(root, 'scripts/wasm-sizes.mjs'), '--max-brotli', String(MAX_BROTLI),
    path.join(pkg, 'wasm')], { encoding: 'utf8' });
  process.stdout.write(r.stdout);
  assert.equal(r.status, 0, r.stderr);
});

for (const name of CASES) {
  test(`${name}: the bin under Node writes the native CLI's bytes`, () => {
    const got = runCase(bin, name, project);
    const want = runCase(native, name, project);
    assertSameTree(got.files, want.files, name);
    assert.equal(untimedSummary(got.stdout), untimedSummary(want.stdout));
    assert.equal(got.stderr, want.stderr);
  });
}

for (const name of DENO_CASES) {
  test(`${name}: the bin under Deno writes the native CLI's bytes`, () => {
    const got = runCase(denoBin, name, project);
    const want = runCase(native, name, project);
    assertSameTree(got.files, want.files, `${name} (Deno)`);
    assert.equal(untimedSummary(got.stdout), untimedSummary(want.stdout));
    assert.equal(got.stderr, want.stderr);
  });
}

/** Runs the CLI's conformance test with `program` in place of the native binary. */
function conformance(program, fixturesDir) {
  const env = { ...process.env, SHARDIMPUTE_BIN: program };
  if (fixturesDir) env.SHARDIMPUTE_FIXTURES = fixturesDir;
  const r = spawnSync('cargo', ['test', '-q', '-p', 'shardimpute', '--test', 'conformance'],
    { cwd: root, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, `conformance with ${program}:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /test result: ok\. [1-9]\d* passed; 0 failed; 0 ignored/);
}

test('every conformance case through the bin under Node matches the expected answers', () => {
  conformance(bin);
});

test(`${DENO_CASES.join(', ')} through the bin under Deno match the expected answers`, () => {
  const dir = tmpdir('fixtures');
  for (const name of DENO_CASES) fs.symlinkSync(path.join(fixtures, name), path.join(dir, name));
  try {
    conformance(denoBin, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the command line: help, version, errors and exit codes are the native CLI\'s', () => {
  const missing = path.join(tmpdir('missing'), 'nothing-here');
  const out = path.join(os.tmpdir(), `shardimpute-npm-never-${process.pid}`);
  const calls = [
    [['--help'], 0],
    [['run', '--help'], 0],
    [['--version'], 0],
    [[], 2],
    [['--bogus'], 2],
    [['run', '--job-type', 'nope', '--input', 'x', '--output', 'y'], 2],
    [['run', '--job-type', 'validation', '--input', 'x', '--output', out], 1],
    [['run', '--job-type', 'training', '--input', missing, '--output', out], 1],
    [['fit', '--input', path.join(fixtures, 'csv-defaults/input'), '--artifacts-out', out], 0],
  ];
  for (const [args, code] of calls) {
    const runs = [bin, native].map((p) => {
      fs.rmSync(out, { recursive: true, force: true });
      return spawnSync(p, args, { cwd: project, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    });
    const [got, want] = runs;
    const what = `shardimpute ${args.join(' ')}`;
    assert.equal(want.status, code, `${what}: the native CLI exits ${want.status}`);
    assert.equal(got.status, want.status, `${what}: exit code`);
    assert.equal(untimedSummary(got.stdout), untimedSummary(want.stdout), `${what}: stdout`);
    assert.equal(got.stderr, want.stderr, `${what}: stderr`);
    if (code === 1) assert.equal(got.stderr.trim().split('\n').length, 1, `${what}: a one-line error`);
  }
  fs.rmSync(out, { recursive: true, force: true });
  fs.rmSync(path.dirname(missing), { recursive: true, force: true });
});

/** A module in the project that runs csv-defaults through the API and prints its outputs' sizes. */
const API_SCRIPT = `
import { init, Job, settingsFromEnv, defaultSettings } from 'shardimpute';
import fs from 'node:fs';
import path from 'node:path';
const dir = process.argv[2];
const api = await init();
if (api.Job !== Job) throw new Error('the named exports are not bound to the loaded build');
const files = [];
for (const split of fs.readdirSync(path.join(dir, 'input')).sort()) {
  for (const f of fs.readdirSync(path.join(dir, 'input', split)).sort()) {
    files.push({ path: split + '/' + f, file: new Blob([fs.readFileSync(path.join(dir, 'input', split, f))]) });
  }
}
const job = new Job('training', settingsFromEnv(fs.readFileSync(path.join(dir, 'env.txt'), 'utf8')), files);
await job.fit();
const out = {};
await job.fill({ onShard: (p, bytes) => { out[p] = Buffer.from(bytes).toString('base64'); } });
for (const [n, bytes] of Object.entries(job.artifacts())) out['model_artifacts/' + n] = Buffer.from(bytes).toString('base64');
console.log(JSON.stringify({ label: defaultSettings().labelField, out }));
`;

function checkApiRun(stdout, what) {
  const { label, out } = JSON.parse(stdout);
  assert.equal(label, 'target');
  const want = runCase(native, 'csv-defaults', project).files;
  want.delete('_SUCCESS');
  want.delete('_shardimpute_manifest.json');
  assertSameTree(new Map(Object.entries(out).map(([p, b]) => [p, Buffer.from(b, 'base64')])), want, what);
}

test('the JavaScript API under Node (the package\'s node entry) writes the native CLI\'s bytes', () => {
  const script = path.join(project, 'api.mjs');
  fs.writeFileSync(script, API_SCRIPT);
  const r = spawnSync('node', [script, path.join(fixtures, 'csv-defaults')], { cwd: project, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  checkApiRun(r.stdout, 'API under Node');
});

test('the JavaScript API under Deno (the package\'s default entry) writes the native CLI\'s bytes', () => {
  const script = path.join(project, 'api-deno.mjs');
  fs.writeFileSync(script, `import process from 'node:process';\nimport { Buffer } from 'node:buffer';\n${API_SCRIPT}`);
  const r = spawnSync(deno, ['run', '-A', script, path.join(fixtures, 'csv-defaults')],
    { cwd: project, encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  checkApiRun(r.stdout, 'API under Deno');
});

test('the types: a TypeScript user of the package type-checks (deno check)', () => {
  const file = path.join(project, 'user.ts');
  fs.writeFileSync(file, `
import { init, Job, type Settings, type Plan, type InitOptions } from 'shardimpute';
const options: InitOptions = { threads: false };
await init(options);
const settings: Settings = { labelField: 'y', defaultNumericalStrategy: 'median' };
const job = new Job('training', settings, [{ path: 'train/a.csv', file: new Blob(['a,y\\n1,2\\n']) }]);
const plan: Plan = await job.fit({});
console.log(plan.columns.length);
`);
  const r = spawnSync(deno, ['check', file], { cwd: project, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  // and a wrong use is an error
  fs.writeFileSync(file, `import { init } from 'shardimpute';\nawait init({ threads: 'many' });\n`);
  const bad = spawnSync(deno, ['check', file], { cwd: project, encoding: 'utf8' });
  assert.notEqual(bad.status, 0, 'init({ threads: "many" }) type-checks');
});
