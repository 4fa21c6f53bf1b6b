// <shard-impute>: the whole shardimpute UI as one custom element (no
// framework): folder pick/drop, job type, settings, the columns table and
// missing-% chart, run/cancel, download. Our web app is one host of it
// (index.html); any page can be another (examples/embed/).
//
//   <script type="module" src="element.js"></script>
//   <shard-impute></shard-impute>
//   or: import { mount } from './element.js'; mount(div, { threads: 2 });
//
// Attributes (read when the element is first connected): `sample` shows
// "Try the sample dataset" (sample/ beside worker.js); `threads="N"` caps
// the thread pool; `worker="URL"` loads another coordinator worker
// (default: worker.js beside this file, same origin as the page).
//
// Events, on the element, with the data the JavaScript API gives:
//   dataset   { jobType, dataset: Dataset, columns: string[] | null }
//   plan      { plan: Plan | null, fillValues }   (after pass 1, or saved values)
//   progress  Progress                            (after each batch of shards)
//   done      { summary, plan, fillValues, file } (file: the zip, a File)
//   error     { message, kind }                   (kind: err.kind, e.g. 'cancelled')
//
// Every wasm call runs in the coordinator worker (worker.js); this thread
// only sends messages and renders, so it never blocks. The UI lives in an
// open shadow root: the host's styles and ids never meet ours.

const SVG = 'http://www.w3.org/2000/svg';
const STRATEGIES = ['mean', 'median', 'mode', 'constant', 'empty'];
/** The least time between two progress updates of the page (`showProgress`). */
const PROGRESS_SHOW_MS = 250;
/** Picked files in one message to the worker (`listFiles`): about 0.1 s of the page's thread. */
const FILES_PER_MESSAGE = 256;

/** The element: starts its worker and UI when first connected. */
export class ShardImpute extends HTMLElement {
  connectedCallback() {
    if (this.ui) return;
    const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${CSS}</style>${TEMPLATE}`;
    this.ui = start(root, this, {
      sample: this.hasAttribute('sample'),
      threads: this.getAttribute('threads'),
      worker: this.getAttribute('worker'),
    });
  }

  /** Loads a dataset the host already has: `[{ path, file }]`, paths relative to the dataset folder. */
  load(files) {
    return this.ui?.load(files);
  }

  /** Runs pass 1 and pass 2 on the loaded dataset (as the Run button does). */
  run() {
    return this.ui?.run();
  }

  /** Cancels the run in progress (an `error` event with kind 'cancelled' follows). */
  cancel() {
    this.ui?.cancel();
  }
}

/**
 * Adds a `<shard-impute>` to `target`. `options`: `sample` (bool),
 * `threads` (number), `worker` (URL). Returns the element: listen for its
 * events.
 */
export function mount(target, options = {}) {
  const e = document.createElement('shard-impute');
  if (options.sample) e.setAttribute('sample', '');
  if (options.threads) e.setAttribute('threads', String(options.threads));
  if (options.worker) e.setAttribute('worker', String(options.worker));
  target.append(e);
  return e;
}

/** The UI inside `root` (the shadow root), its events dispatched on `host`. */
function start(root, host, options) {
  const $ = (id) => root.getElementById(id);
  const emit = (name, detail) => host.dispatchEvent(new CustomEvent(name, { detail }));

  // -------------------------------------------------------------- worker

  const url = new URL(options.worker || './worker.js', options.worker ? document.baseURI : import.meta.url);
  if (options.threads) url.searchParams.set('threads', options.threads);
  let worker = null;
  const pending = new Map();
  let nextId = 1;
  startWorker();

  /** Sends a request to the worker; resolves to its result. */
  function call(type, args) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, type, args });
    });
  }

  function startWorker() {
    worker = new Worker(url, { type: 'module' });
    worker.onmessage = ({ data }) => {
      if (data.type === 'progress') return onProgress(data.progress);
      if (data.type === 'plan') return onPlan(data.plan, data.fillValues);
      const p = pending.get(data.id);
      if (!p) return;
      pending.delete(data.id);
      if ('error' in data) {
        p.reject(Object.assign(new Error(data.error), { kind: data.kind ?? null, stopped: !!data.stopped }));
      } else p.resolve(data.result);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      $('mode').textContent = 'failed to start';
      fail(`the worker failed to start: ${e.message || 'see the browser console'}`);
    };
  }

  /**
   * A new worker for one whose engine stopped (out of memory, or a bug):
   * the dataset is listed in it again, so the page can run at once.
   */
  async function restartWorker() {
    worker.terminate();
    state.ranOnce = false; // the job went with the worker: no pass 2 to re-run
    for (const p of pending.values()) p.reject(new Error('the engine was restarted'));
    pending.clear();
    startWorker();
    await call('info');
    if (Array.isArray(state.files)) await listFiles(state.files);
    else if (state.files === 'sample') await call('sample');
  }

  // ---------------------------------------------------------------- state

  const state = {
    settings: null, // the Settings object the next run uses (the form edits it)
    files: null, // the dataset: [{ path, file }] (or 'sample')
    rootName: '',
    datasetArtifacts: [], // top-level files of model_artifacts/ in the dataset
    pickedArtifacts: [], // files from the artifacts inputs
    listing: null, // the worker's describe() result
    listings: 0, // listings started (scan): only the latest one is shown
    scanning: false, // a listing is going on
    columns: [], // column names (header, then pass 1)
    plan: null, // pass 1's plan, or null
    fillValues: null, // { column: value } of the last run
    shownValues: {}, // the fill values' text as shown
    edits: {}, // { column: text } fill values edited since
    busy: false,
    ranOnce: false,
    downloadUrl: null,
    pass: null, // { name, start } of the pass in progress
    lastEvent: 0, // time of the last progress event
    progressShown: 0, // when the status line last showed progress
    progressTimer: 0, // the progress waiting to be shown (showProgress)
    runStart: 0,
  };

  // ---------------------------------------------------------------- start

  init();

  async function init() {
    wireInputs();
    $('sample').hidden = !options.sample;
    try {
      const info = await call('info');
      $('mode').textContent = info.threaded ? `threads: ${info.threads}` : 'single-threaded';
      $('mode').title = info.threaded
        ? 'cross-origin isolated: shards run in parallel on Web Workers'
        : 'not cross-origin isolated (no COOP/COEP headers): one thread';
      state.settings = info.defaults;
      renderSettings();
      setStatus('Choose a dataset folder, or try the sample dataset.');
    } catch (e) {
      $('mode').textContent = 'failed to load';
      fail(`cannot load the engine: ${e.message}`, e.kind);
    }
    updateButtons();
  }

  function wireInputs() {
    $('input-folder').addEventListener('change', (e) => {
      const list = [...e.target.files].map((file) => ({ rel: file.webkitRelativePath || file.name, file }));
      if (list.length) loadFolder(list);
    });
    const drop = $('drop');
    drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', async (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      if (state.busy) return;
      const entries = [...e.dataTransfer.items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
      try {
        const list = await readEntries(entries);
        if (list.length) loadFolder(list, entries.length === 1 && entries[0].isDirectory ? null : '');
        else fail('nothing to read in what was dropped');
      } catch (err) {
        fail(`cannot read the dropped folder: ${err.message}`);
      }
    });
    $('sample').addEventListener('click', runSample);
    $('job-type').addEventListener('change', relist);
    $('artifacts').addEventListener('change', (e) => {
      state.pickedArtifacts = [...e.target.files].map((file) => ({ name: file.name, file }));
      $('artifacts-folder').value = '';
      renderArtifacts();
    });
    $('artifacts-folder').addEventListener('change', (e) => {
      // top-level files of the picked folder, as the CLI's --artifacts-in
      state.pickedArtifacts = [...e.target.files]
        .filter((f) => f.webkitRelativePath.split('/').length === 2)
        .map((file) => ({ name: file.name, file }));
      $('artifacts').value = '';
      renderArtifacts();
    });
    $('settings-form').addEventListener('change', readSettingsForm);
    $('settings-form').addEventListener('submit', (e) => e.preventDefault());
    $('apply-env').addEventListener('click', applyEnv);
    $('run').addEventListener('click', run);
    $('refill').addEventListener('click', refill);
    $('cancel').addEventListener('click', () => {
      call('cancel').catch(() => {});
      setStatus('cancelling after the shards in progress…');
    });
  }

  // ---------------------------------------------------------------- folders

  /**
   * Files under dropped FileSystemEntries, paths including the entry names,
   * in the entries' order. The entries of a directory are read at once (each
   * `file()` asks the browser), not one after another.
   */
  async function readEntries(entries) {
    const walk = async (entry, prefix) => {
      const rel = prefix + entry.name;
      if (entry.isFile) return [{ rel, file: await new Promise((ok, fail) => entry.file(ok, fail)) }];
      const reader = entry.createReader();
      const out = [];
      for (;;) {
        const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const files of await Promise.all(batch.map((e) => walk(e, `${rel}/`)))) out.push(...files);
      }
      return out;
    };
    return (await Promise.all(entries.map((e) => walk(e, '')))).flat();
  }

  /**
   * A picked or dropped folder. `list` paths start with the folder's name,
   * unless `bare` ('' : several items dropped, paths are already relative).
   * The folder is the dataset folder, or a split folder (shards directly in
   * it: its name is the split).
   */
  async function loadFolder(list, bare = null) {
    let rootName = '';
    let files = list.map(({ rel, file }) => ({ path: rel, file }));
    if (bare === null) {
      rootName = list[0].rel.split('/')[0];
      files = files.map((f) => ({ ...f, path: f.path.split('/').slice(1).join('/') }));
    }
    const isArtifact = (p) => p.startsWith('model_artifacts/');
    state.datasetArtifacts = files
      .filter((f) => isArtifact(f.path) && f.path.split('/').length === 2)
      .map((f) => ({ name: f.file.name, file: f.file }));
    files = files.filter((f) => !isArtifact(f.path));
    let note = '';
    if (rootName && files.length && files.every((f) => !f.path.includes('/'))) {
      files = files.map((f) => ({ ...f, path: `${rootName}/${f.path}` }));
      note = `Read as the split folder \`${rootName}/\`.`;
      const job = { validation: 'validation', testing: 'testing', calibration: 'calibration' }[rootName];
      if (job) $('job-type').value = job;
    }
    state.files = files;
    state.rootName = rootName;
    await scan((current) => listFiles(files, current), note);
  }

  async function runSample() {
    state.rootName = 'sample';
    state.datasetArtifacts = [];
    state.files = 'sample';
    $('job-type').value = 'training';
    const ok = await scan(() => call('sample'), 'The built-in sample dataset: 4 training shards, 1 validation, 1 test (CSV).');
    if (ok) run();
  }

  /**
   * Hands a dataset's files to the worker, then has it list them; resolves
   * to the listing. The files go in parts of FILES_PER_MESSAGE: the
   * browser registers each picked file as it first leaves the page (about
   * 0.3 ms a file, on the page's thread), so 10,000 files in one message
   * would freeze the page for seconds. The listing is for the job type
   * chosen by then. Resolves to null, having stopped, once `current()` is
   * false (another folder was picked meanwhile).
   */
  async function listFiles(files, current = () => true) {
    // a first part even for no files: it starts the worker's new dataset
    for (let k = 0; k === 0 || k < files.length; k += FILES_PER_MESSAGE) {
      if (!current()) return null;
      if (k > 0) setStatus(`reading the folder: ${k.toLocaleString('en')} of ${files.length.toLocaleString('en')} files…`);
      await call('files', { files: files.slice(k, k + FILES_PER_MESSAGE), first: k === 0 });
    }
    return current() ? call('scan', { jobType: $('job-type').value }) : null;
  }

  /**
   * Lists a dataset (`list(current)`: the worker's listing, `current()`
   * false once a newer listing started); renders it, unless a newer
   * listing started meanwhile. Resolves to success.
   */
  async function scan(list, note = '') {
    const mine = ++state.listings;
    const current = () => mine === state.listings;
    state.scanning = true;
    resetResults();
    // no run of the last folder while the worker is given the next one
    state.listing = null;
    updateButtons();
    setStatus('reading the folder…');
    try {
      let r = await list(current);
      // a job type chosen after the listing was asked for: list for it
      while (current() && r.asked !== $('job-type').value) {
        r = await call('relist', { jobType: $('job-type').value });
      }
      if (!current()) return false;
      showListing(r, note);
      if (!r.dataset) {
        fail(r.error, 'layout');
        return false;
      }
      setStatus(`Ready: ${plural(shardCount(r.dataset), 'shard')}. Check the settings, then run.`);
      return true;
    } catch (e) {
      if (current()) fail(e.message, e.kind);
      return false;
    } finally {
      if (current()) state.scanning = false;
      updateButtons();
    }
  }

  async function relist() {
    renderArtifacts();
    // a listing going on lists for the job type chosen when it ends
    if (!state.files || state.scanning) return;
    resetResults();
    try {
      const r = await call('relist', { jobType: $('job-type').value });
      showListing(r, '');
      if (r.dataset) setStatus(`Ready: ${plural(shardCount(r.dataset), 'shard')}.`);
      else fail(r.error, 'layout');
    } catch (e) {
      fail(e.message, e.kind);
    }
    updateButtons();
  }

  function shardCount(dataset) {
    return dataset.splits.reduce((n, s) => n + s.shards.length, 0);
  }

  function showListing(r, note) {
    state.listing = r.dataset ? r : null;
    const box = $('listing');
    box.replaceChildren();
    const notes = [note];
    if (r.dataset && r.jobType !== $('job-type').value) {
      notes.push(`Job type set to ${r.jobType}: the folder does not fit a ${$('job-type').value} job (${r.error}).`);
      $('job-type').value = r.jobType;
    }
    for (const n of notes.filter(Boolean)) box.append(el('p', { class: 'note' }, n));
    renderArtifacts();
    if (!r.dataset) {
      box.append(el('p', { class: 'error' }, r.error));
      return;
    }
    for (const split of r.dataset.splits) {
      const bytes = split.shards.reduce((n, s) => n + s.size, 0);
      const details = el('details', { open: split.shards.length <= 8 ? '' : null });
      details.append(el('summary', {}, `${split.name}/ — ${plural(split.shards.length, 'shard')}, ${formatBytes(bytes)}`));
      const table = el('table', { class: 'shards' });
      table.append(el('thead', {}, el('tr', {}, el('th', {}, 'shard'), el('th', {}, 'format'), el('th', { class: 'num' }, 'size'))));
      const body = el('tbody');
      for (const s of split.shards) {
        body.append(el('tr', {}, el('td', {}, s.name), el('td', {}, s.format), el('td', { class: 'num' }, formatBytes(s.size))));
      }
      table.append(body);
      details.append(table);
      box.append(details);
    }
    // files the job will not read: in a split folder but not a shard, or elsewhere
    const used = new Set(r.dataset.splits.flatMap((s) => s.shards.map((x) => x.path)));
    const ignored = new Set(r.dataset.ignored);
    if (Array.isArray(state.files)) {
      for (const f of state.files) if (!used.has(f.path)) ignored.add(f.path);
    }
    if (ignored.size) {
      const d = el('details', { class: 'ignored' });
      d.append(el('summary', {}, `⚠ ${ignored.size} file(s) will be ignored`));
      d.append(el('ul', {}, ...[...ignored].sort().map((p) => el('li', {}, p))));
      box.append(d);
    }
    state.columns = r.columns ?? [];
    suggestLabel();
    renderColumns();
    emit('dataset', { jobType: r.jobType, dataset: r.dataset, columns: r.columns ?? null });
  }

  /** Suggests the label column from the header: keep it if present, else `target`/`label`. */
  function suggestLabel() {
    const cols = state.columns;
    $('column-names').replaceChildren(...cols.map((c) => el('option', { value: c })));
    if (!cols.length || cols.includes(state.settings.labelField)) return;
    const guess = ['target', 'label', 'y', 'class'].find((c) => cols.includes(c));
    if (guess) {
      state.settings.labelField = guess;
      renderSettings();
    }
  }

  // ---------------------------------------------------------------- artifacts

  /** The artifacts files for a non-training job (the engine picks the fill values among them). */
  function artifactFiles() {
    return state.pickedArtifacts.length ? state.pickedArtifacts : state.datasetArtifacts;
  }

  function renderArtifacts() {
    const training = $('job-type').value === 'training';
    $('artifacts-box').hidden = training;
    if (training) return;
    const names = artifactFiles().map((f) => f.name);
    const from = state.pickedArtifacts.length ? '' : ' (model_artifacts/ in the dataset folder)';
    $('artifacts-info').textContent = names.length
      ? `Artifacts${from}: ${names.join(', ')}.`
      : 'Give the artifacts saved by the training job (impute_dict.pkl or impute_dict.json).';
    $('artifacts-info').className = names.length ? 'note' : 'warn';
  }

  // ---------------------------------------------------------------- settings

  const FORM = {
    labelField: ['label-field', 'text'],
    defaultNumericalStrategy: ['default-numerical', 'text'],
    defaultCategoricalStrategy: ['default-categorical', 'text'],
    defaultTextStrategy: ['default-text', 'text'],
    numericalConstantValue: ['numerical-constant', 'text'],
    categoricalConstantValue: ['categorical-constant', 'text'],
    textConstantValue: ['text-constant', 'text'],
    autoDetectCategorical: ['auto-detect', 'bool'],
    categoricalUniqueRatioThreshold: ['ratio-threshold', 'number'],
    validateFillValues: ['validate-fill', 'bool'],
    excludeColumns: ['exclude-columns', 'list'],
    naValues: ['na-values', 'list'],
    renameDots: ['rename-dots', 'bool'],
  };

  function renderSettings() {
    const s = state.settings;
    for (const [key, [id, kind]] of Object.entries(FORM)) {
      const input = $(id);
      if (kind === 'bool') input.checked = !!s[key];
      else if (kind === 'list') input.value = (s[key] ?? []).filter(Boolean).join(',');
      else input.value = s[key] ?? '';
    }
    const known = new Set(state.columns);
    const extra = (s.columnStrategies ?? []).filter(([c]) => !known.has(c));
    $('extra-strategies').textContent = extra.length
      ? `Also per column: ${extra.map(([c, v]) => `${c}=${v}`).join(', ')}`
      : '';
    renderColumns();
  }

  /** The form (and the column table) into state.settings. */
  function readSettingsForm(e) {
    const s = state.settings;
    const t = e?.target;
    if (!s || !t) return;
    // controls in the column table update the settings in place (no re-render: keeps focus)
    if (t.dataset.exclude !== undefined) {
      const set = new Set(s.excludeColumns);
      if (t.checked) set.add(t.dataset.exclude);
      else set.delete(t.dataset.exclude);
      s.excludeColumns = [...set];
      $('exclude-columns').value = s.excludeColumns.join(',');
    } else if (t.dataset.strategy !== undefined) {
      const col = t.dataset.strategy;
      s.columnStrategies = (s.columnStrategies ?? []).filter(([c]) => c !== col);
      if (t.value) s.columnStrategies.push([col, t.value]);
    } else if (t.dataset.fill !== undefined) {
      const col = t.dataset.fill;
      if (t.value !== state.shownValues[col]) state.edits[col] = t.value;
      else delete state.edits[col];
      t.classList.toggle('edited', col in state.edits);
    } else {
      // one setting of the form: only that one changes
      const entry = Object.entries(FORM).find(([, [id]]) => id === t.id);
      if (!entry) return;
      const [key, [, kind]] = entry;
      if (kind === 'bool') s[key] = t.checked;
      else if (kind === 'number') s[key] = Number(t.value);
      else if (kind === 'list') {
        const list = t.value.split(',').map((x) => x.trim()).filter(Boolean);
        // the empty field (always missing) is not shown in the list; keep it
        s[key] = key === 'naValues' && s.naValues.includes('') ? ['', ...list] : list;
      } else s[key] = t.value;
      renderSettings();
    }
  }

  async function applyEnv() {
    try {
      state.settings = await call('envSettings', { text: $('env').value });
      renderSettings();
      setStatus('Settings read from the environment lines.');
    } catch (e) {
      fail(e.message, e.kind);
    }
  }

  // ---------------------------------------------------------------- column table and chart

  function renderColumns() {
    const s = state.settings;
    const body = $('columns').tBodies[0];
    const byName = new Map((state.plan?.columns ?? []).map((c) => [c.name, c]));
    const names = state.plan ? state.plan.columns.map((c) => c.name) : state.columns.slice();
    for (const c of Object.keys(state.fillValues ?? {})) if (!names.includes(c)) names.push(c);
    $('columns-empty').hidden = names.length > 0;
    if (!s) return;
    const overrides = new Map(s.columnStrategies ?? []);
    const rows = names.map((name) => {
      const c = byName.get(name);
      const override = overrides.get(name);
      const choices = override && !STRATEGIES.includes(override) ? [...STRATEGIES, override] : STRATEGIES;
      const select = el('select', { 'data-strategy': name, 'aria-label': `strategy for ${name}` },
        el('option', { value: '' }, 'default'), ...choices.map((v) => el('option', { value: v }, v)));
      select.value = override ?? '';
      const exclude = el('input', { type: 'checkbox', 'data-exclude': name, 'aria-label': `exclude ${name}` });
      exclude.checked = s.excludeColumns.includes(name);
      const has = state.fillValues && name in state.fillValues;
      const fill = has
        ? el('input', {
          type: 'text', 'data-fill': name, value: state.edits[name] ?? state.shownValues[name],
          class: name in state.edits ? 'edited' : null, 'aria-label': `fill value for ${name}`, size: 24,
        })
        : el('span', { class: 'muted' }, c?.skipped ?? '—');
      const label = name === s.labelField ? el('span', { class: 'tag' }, 'label') : '';
      return el('tr', {},
        el('th', { scope: 'row' }, name, ' ', label),
        el('td', {}, c?.type ?? '—'),
        el('td', { class: 'num' }, c ? `${c.missingPct.toFixed(1)}%` : '—'),
        el('td', {}, select),
        el('td', { class: 'center' }, exclude),
        el('td', {}, c?.strategy ?? (has && !state.plan ? 'saved' : '—')),
        el('td', {}, fill));
    });
    body.replaceChildren(...rows);
    renderChart();
  }

  /** Missing % per column as a plain SVG bar chart. */
  function renderChart() {
    const svg = $('chart');
    const cols = state.plan?.columns ?? [];
    svg.replaceChildren();
    svg.parentElement.hidden = cols.length === 0;
    if (!cols.length) return;
    const row = 20;
    const left = 170;
    const width = 640;
    const barMax = width - left - 60;
    svg.setAttribute('viewBox', `0 0 ${width} ${cols.length * row + 24}`);
    svg.append(svgEl('title', {}, 'Missing values per column in the training split (%)'));
    for (const [tick, x] of [0, 25, 50, 75, 100].map((t) => [t, left + (barMax * t) / 100])) {
      svg.append(svgEl('line', { x1: x, x2: x, y1: 0, y2: cols.length * row, class: 'grid' }));
      svg.append(svgEl('text', { x, y: cols.length * row + 16, class: 'tick' }, `${tick}%`));
    }
    cols.forEach((c, i) => {
      const y = i * row;
      const name = c.name.length > 24 ? `${c.name.slice(0, 23)}…` : c.name;
      svg.append(svgEl('text', { x: left - 8, y: y + 14, class: 'name' }, name));
      svg.append(svgEl('rect', {
        x: left, y: y + 4, height: row - 8, width: Math.max((barMax * c.missingPct) / 100, c.missingCount ? 1 : 0),
        class: c.fillValue === null ? 'bar skipped' : 'bar',
      }, svgEl('title', {}, `${c.name}: ${c.missingPct.toFixed(2)}% missing (${c.missingCount})`)));
      svg.append(svgEl('text', { x: left + (barMax * c.missingPct) / 100 + 6, y: y + 14, class: 'value' }, `${c.missingPct.toFixed(1)}%`));
    });
  }

  function formatValue(v) {
    if (v === true) return 'True';
    if (v === false) return 'False';
    return String(v);
  }

  function onPlan(plan, fillValues) {
    if (plan) state.plan = plan;
    state.fillValues = fillValues;
    state.shownValues = Object.fromEntries(Object.entries(fillValues ?? {}).map(([k, v]) => [k, formatValue(v)]));
    state.edits = {};
    const warnings = plan?.warnings ?? [];
    $('warnings').replaceChildren(...warnings.map((w) => el('li', {}, w)));
    renderColumns();
    emit('plan', { plan: plan ?? null, fillValues: fillValues ?? null });
  }

  // ---------------------------------------------------------------- running

  async function run() {
    if (!state.files || state.busy) return;
    const jobType = $('job-type').value;
    const artifacts = jobType === 'training' ? [] : artifactFiles();
    resetResults();
    await runPass('run', { jobType, settings: state.settings, artifacts });
  }

  async function refill() {
    if (state.busy || !state.ranOnce) return;
    await runPass('refill', { edits: Object.entries(state.edits) });
  }

  async function runPass(type, args) {
    state.busy = true;
    hideDownload();
    updateButtons();
    state.pass = null;
    state.runStart = performance.now();
    state.progressShown = 0;
    $('bar').value = 0;
    $('bar').hidden = false;
    setStatus(type === 'refill' ? 'pass 2 with the edited fill values…' : 'starting…');
    try {
      const r = await call(type, args);
      state.ranOnce = true;
      const secs = (performance.now() - state.runStart) / 1000;
      showDownload(r.file, r.inMemory);
      const splits = r.summary.splits ?? [];
      const rows = splits.reduce((n, s) => n + s.rows, 0);
      const cells = splits.reduce((n, s) => n + s.cells_filled, 0);
      const shards = splits.reduce((n, s) => n + s.shards.length, 0);
      const check = r.summary.rows_in_equals_rows_out ? 'rows in = rows out' : 'ROW COUNT MISMATCH';
      setStatus(`done: ${plural(shards, 'shard')}, ${plural(rows, 'row', rows.toLocaleString('en'))} (${check}), `
        + `${plural(cells, 'cell', cells.toLocaleString('en'))} filled in ${secs.toFixed(2)} s. Zip: ${formatBytes(r.file.size)}.`, 'ok');
      $('bar').value = 1;
      emit('done', { summary: r.summary, plan: r.plan ?? null, fillValues: r.fillValues ?? null, file: r.file });
    } catch (e) {
      $('bar').hidden = true;
      if (e.kind === 'cancelled') {
        setStatus(`cancelled: ${e.message}`);
        emit('error', { message: e.message, kind: e.kind });
      } else if (e.stopped) {
        setStatus('the engine stopped: starting it again…');
        let again = 'The page has started it again: the folder is still loaded.';
        await restartWorker().catch((err) => {
          again = `Starting it again failed (${err.message}): reload the page.`;
        });
        fail(`${e.message} ${again}`, e.kind);
      } else fail(e.message, e.kind);
    } finally {
      state.busy = false;
      updateButtons();
    }
  }

  function onProgress(p) {
    const now = performance.now();
    // a pass starts when the previous one ended (its last progress event)
    if (!state.pass || state.pass.name !== p.pass) state.pass = { name: p.pass, start: state.pass ? state.lastEvent : state.runStart };
    state.lastEvent = now;
    const secs = Math.max((now - state.pass.start) / 1000, 1e-3);
    const rate = p.bytesDone / secs;
    const eta = rate > 0 ? (p.bytesTotal - p.bytesDone) / rate : 0;
    const label = p.pass === 'fit' ? 'pass 1 (statistics on train)' : 'pass 2 (filling every shard)';
    const bar = p.bytesTotal ? p.bytesDone / p.bytesTotal : p.shardsDone / Math.max(p.shardsTotal, 1);
    showProgress(bar, `${label}: ${p.shardsDone}/${p.shardsTotal} shards · ${(rate / 1e6).toFixed(1)} MB/s · `
      + `${Math.round(p.rowsDone / secs).toLocaleString('en')} rows/s · ETA ${eta.toFixed(0)} s`);
    emit('progress', p);
  }

  /**
   * Shows a run's progress in the bar and the status line, at most every
   * PROGRESS_SHOW_MS: each change costs the page a frame (style, layout,
   * paint, and a hit test under the pointer), a few ms of the main thread
   * that the run's own threads need, and the single-threaded engine sends
   * one event per shard. The latest one waits for its turn; any other
   * status replaces it (`setStatus`).
   */
  function showProgress(bar, text) {
    clearTimeout(state.progressTimer);
    const show = () => {
      $('bar').value = bar;
      setStatus(text);
      // stamped once shown, so the next change comes at least
      // PROGRESS_SHOW_MS after this one, however long showing it took
      state.progressShown = performance.now();
    };
    const wait = state.progressShown + PROGRESS_SHOW_MS - performance.now();
    if (wait <= 0) show();
    // whole milliseconds up: a timer's delay is cut to them
    else state.progressTimer = setTimeout(show, Math.ceil(wait));
  }

  // ---------------------------------------------------------------- results

  function resetResults() {
    state.plan = null;
    state.fillValues = null;
    state.shownValues = {};
    state.edits = {};
    state.ranOnce = false;
    $('warnings').replaceChildren();
    hideDownload();
    renderColumns();
  }

  function showDownload(file, inMemory) {
    const a = $('download');
    state.downloadUrl = URL.createObjectURL(file);
    a.href = state.downloadUrl;
    const base = state.rootName && state.rootName !== 'input' ? state.rootName : 'dataset';
    a.download = `${base}-${$('job-type').value}-imputed.zip`;
    a.textContent = `Download ${a.download} (${formatBytes(file.size)})`;
    a.hidden = false;
    $('memory-note').hidden = !inMemory;
  }

  function hideDownload() {
    const a = $('download');
    a.hidden = true;
    a.removeAttribute('href');
    if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
    state.downloadUrl = null;
    $('memory-note').hidden = true;
  }

  function updateButtons() {
    const ready = !!state.settings && !!state.listing;
    $('run').disabled = state.busy || !ready;
    $('refill').disabled = state.busy || !state.ranOnce;
    $('cancel').disabled = !state.busy;
    $('sample').disabled = state.busy || !state.settings;
    $('input-folder').disabled = state.busy;
  }

  function setStatus(text, kind = '') {
    clearTimeout(state.progressTimer);
    const s = $('status');
    s.textContent = text;
    s.className = kind;
  }

  /** Shows an error and tells the host (`error` event: `{ message, kind }`). */
  function fail(message, kind = null) {
    setStatus(`error: ${message}`, 'error');
    emit('error', { message, kind: kind ?? null });
  }

  // ---------------------------------------------------------------- helpers

  /** `n word(s)`; `shown` is how n is written (default: plainly). */
  function plural(n, word, shown = String(n)) {
    return `${shown} ${word}${n === 1 ? '' : 's'}`;
  }

  function formatBytes(n) {
    if (n < 1e3) return `${n} B`;
    if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
    if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
    return `${(n / 1e9).toFixed(2)} GB`;
  }

  /** A DOM element with attributes (null: left out) and children. */
  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) e.setAttribute(k, v);
    e.append(...children);
    return e;
  }

  function svgEl(tag, attrs = {}, ...children) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    e.append(...children);
    return e;
  }

  return {
    load: (files) => loadFolder(files.map(({ path, file }) => ({ rel: path, file })), ''),
    run,
    cancel: () => {
      if (state.busy) $('cancel').click();
    },
  };
}

// ---------------------------------------------------------------- markup and style

const TEMPLATE = `
<p class="mode-line">Engine: <span id="mode" data-testid="mode">loading…</span></p>
<section aria-labelledby="h-dataset">
  <h2 id="h-dataset">1. Dataset</h2>
  <div id="drop" class="drop">
    <p>Drop a dataset folder here (holding <code>train/ val/ test/</code>, or the job's split folder), or a split folder itself.</p>
    <p>
      <label class="button">Choose a folder…
        <input id="input-folder" data-testid="input-folder" type="file" webkitdirectory multiple class="visually-hidden">
      </label>
      <button id="sample" data-testid="sample" type="button" disabled>Try the sample dataset</button>
    </p>
  </div>
  <div id="listing" aria-live="polite"></div>
</section>

<section aria-labelledby="h-job">
  <h2 id="h-job">2. Job</h2>
  <p>
    <label for="job-type">Job type</label>
    <select id="job-type" data-testid="job-type">
      <option value="training">training (pass 1 on train/, then fill train/ val/ test/)</option>
      <option value="validation">validation (fill validation/ with saved values)</option>
      <option value="testing">testing (fill testing/ with saved values)</option>
      <option value="calibration">calibration (fill calibration/ with saved values)</option>
    </select>
  </p>
  <div id="artifacts-box" hidden>
    <p>
      <label for="artifacts">Saved fill values: <code>impute_dict.pkl</code> or <code>impute_dict.json</code> (other files given here are carried into the zip)</label><br>
      <input id="artifacts" data-testid="artifacts" type="file" multiple>
    </p>
    <p>
      <label for="artifacts-folder">…or the training job's <code>model_artifacts/</code> folder</label><br>
      <input id="artifacts-folder" data-testid="artifacts-folder" type="file" webkitdirectory multiple>
    </p>
    <p id="artifacts-info" class="note"></p>
  </div>
</section>

<section aria-labelledby="h-settings">
  <h2 id="h-settings">3. Settings</h2>
  <form id="settings-form">
    <div class="grid">
      <label for="label-field">Label column (never imputed)</label>
      <input id="label-field" list="column-names" autocomplete="off">
      <datalist id="column-names"></datalist>

      <label for="exclude-columns">Excluded columns (comma-separated)</label>
      <input id="exclude-columns" autocomplete="off">

      <label for="default-numerical">Numerical columns</label>
      <span>
        <select id="default-numerical"><option>mean</option><option>median</option><option>constant</option></select>
        <label for="numerical-constant">constant</label> <input id="numerical-constant" size="8">
      </span>

      <label for="default-categorical">Categorical columns</label>
      <span>
        <select id="default-categorical"><option>mode</option><option>constant</option></select>
        <label for="categorical-constant">constant</label> <input id="categorical-constant" size="8">
      </span>

      <label for="default-text">Text columns</label>
      <span>
        <select id="default-text"><option>mode</option><option>constant</option><option>empty</option></select>
        <label for="text-constant">constant</label> <input id="text-constant" size="8">
      </span>
    </div>

    <details>
      <summary>More settings, or paste the Python step's environment</summary>
      <div class="grid">
        <label for="auto-detect">Detect categorical string columns</label>
        <input id="auto-detect" type="checkbox">

        <label for="ratio-threshold">Categorical if distinct / non-missing below</label>
        <input id="ratio-threshold" type="number" step="0.01" min="0" max="1">

        <label for="validate-fill">Validate fill values (no constant that reads back as missing)</label>
        <input id="validate-fill" type="checkbox">

        <label for="na-values">Texts that mean missing in CSV/TSV (comma-separated)</label>
        <input id="na-values">

        <label for="rename-dots">Write <code>__DOT__</code> in column names as <code>.</code></label>
        <input id="rename-dots" type="checkbox">
      </div>
      <p>
        <label for="env">Environment lines (<code>LABEL_FIELD=…</code>, <code>EXCLUDE_COLUMNS=…</code>, <code>COLUMN_STRATEGY_&lt;column&gt;=…</code>, …): they replace every setting above.</label><br>
        <textarea id="env" data-testid="env" rows="4" cols="60" spellcheck="false" placeholder="DEFAULT_NUMERICAL_STRATEGY=median&#10;EXCLUDE_COLUMNS=id"></textarea><br>
        <button id="apply-env" data-testid="apply-env" type="button">Apply these settings</button>
      </p>
    </details>

    <h3>Columns</h3>
    <p id="extra-strategies" class="note"></p>
    <p id="columns-empty" class="muted">The columns appear here when a dataset is chosen (Parquet: after pass 1).</p>
    <div class="table-wrap">
      <table id="columns" class="columns">
        <thead>
          <tr>
            <th scope="col">column</th><th scope="col">type</th><th scope="col" class="num">missing</th>
            <th scope="col">strategy override</th><th scope="col">exclude</th><th scope="col">used</th><th scope="col">fill value</th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
    </div>
    <figure class="chart" hidden>
      <svg id="chart" role="img" aria-labelledby="chart-caption" preserveAspectRatio="xMinYMin meet"></svg>
      <figcaption id="chart-caption">Missing values per column in the training split</figcaption>
    </figure>
    <ul id="warnings" class="warnings"></ul>
  </form>
</section>

<section aria-labelledby="h-run">
  <h2 id="h-run">4. Run</h2>
  <p class="buttons">
    <button id="run" data-testid="run" type="button" class="primary" disabled>Run pass 1 + pass 2</button>
    <button id="refill" data-testid="refill" type="button" disabled>Re-run pass 2 with the edited fill values</button>
    <button id="cancel" data-testid="cancel" type="button" disabled>Cancel</button>
  </p>
  <progress id="bar" max="1" value="0" hidden aria-label="progress"></progress>
  <p id="status" data-testid="status" role="status" aria-live="polite"></p>
  <p><a id="download" data-testid="download" hidden>Download</a></p>
  <p id="memory-note" class="note" hidden>This browser has no Origin Private File System: the zip was built in memory.</p>
</section>
`;

const CSS = `
:host {
  --fg: #1d2330;
  --muted: #5f6878;
  --line: #d7dbe3;
  --card: #fff;
  --accent: #2a5bd7;
  --ok: #17733a;
  --error: #b3261e;
  --warn: #8a5a00;
  display: block;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg);
}
.mode-line { margin: 4px 0 12px; font-size: 0.9rem; }
#mode { font-weight: 600; }
[hidden] { display: none !important; }
section {
  background: var(--card);
  border: 1px solid var(--line);
  border-radius: 8px;
  padding: 6px 18px 14px;
  margin: 14px 0;
}
h2 { font-size: 1.15rem; margin: 10px 0; }
h3 { font-size: 1rem; margin: 14px 0 6px; }
code { font-size: 0.92em; background: #eef0f4; padding: 0 3px; border-radius: 3px; }

.drop {
  border: 2px dashed var(--line);
  border-radius: 8px;
  padding: 4px 16px;
  text-align: center;
}
.drop.over { border-color: var(--accent); background: #eef3ff; }

button, .button {
  font: inherit;
  padding: 5px 12px;
  border: 1px solid #aab2c0;
  border-radius: 5px;
  background: #fff;
  cursor: pointer;
  display: inline-block;
}
button:disabled { opacity: 0.5; cursor: default; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
.button:focus-within, button:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.visually-hidden {
  position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap;
}

.grid {
  display: grid;
  grid-template-columns: minmax(200px, max-content) 1fr;
  gap: 6px 14px;
  align-items: center;
  margin: 8px 0;
}
input:not([type=checkbox]), select, textarea { font: inherit; padding: 3px 5px; }
input[type=checkbox] { justify-self: start; }
details { margin: 8px 0; }
summary { cursor: pointer; }

table { border-collapse: collapse; font-size: 0.9rem; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); }
thead th { font-weight: 600; color: var(--muted); }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.center { text-align: center; }
.table-wrap { overflow-x: auto; }
table.columns th[scope=row] { font-weight: 500; white-space: nowrap; }
table.shards { margin: 4px 0 8px 18px; }
input.edited { background: #fff6d6; border-color: #d9a400; }
.tag { font-size: 0.75rem; background: #e3e9fb; color: var(--accent); border-radius: 3px; padding: 0 4px; }

.chart { margin: 12px 0; }
.chart svg { width: 100%; max-width: 760px; height: auto; }
.chart figcaption { color: var(--muted); font-size: 0.85rem; }
svg .bar { fill: var(--accent); }
svg .bar.skipped { fill: #a9b1bf; }
svg .grid { stroke: #e4e7ec; }
svg text { font-size: 11px; fill: var(--fg); }
svg .name { text-anchor: end; }
svg .tick { text-anchor: middle; fill: var(--muted); }
svg .value { fill: var(--muted); }

progress { width: 100%; height: 14px; }
#status { font-variant-numeric: tabular-nums; min-height: 1.4em; white-space: pre-wrap; }
#status.ok { color: var(--ok); font-weight: 600; }
#status.error, .error { color: var(--error); font-weight: 600; }
.note { color: var(--muted); }
.warn, .ignored summary, .warnings { color: var(--warn); }
.muted { color: var(--muted); }
#download {
  display: inline-block;
  padding: 6px 14px;
  border-radius: 5px;
  background: var(--ok);
  color: #fff;
  text-decoration: none;
  font-weight: 600;
}
#download[hidden] { display: none; }
.buttons button { margin-right: 6px; }
`;

// last: defining upgrades elements already in the page, which needs the above
if (!customElements.get('shard-impute')) customElements.define('shard-impute', ShardImpute);
