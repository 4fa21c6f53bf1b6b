// The coordinator worker: every wasm call runs here, so the page's main
// thread never blocks. When the page is cross-origin isolated it loads the
// threaded build (rayon on Web Workers); otherwise the single-threaded
// build in st/. Shard bytes live only here (and in wasm memory, a few
// shards at a time); the output zip is streamed to the Origin Private File
// System as shards finish.
//
// Protocol: the page posts { id, type, args }; the worker answers
// { id, result } or { id, error, kind, stopped } (kind: the engine error's
// `err.kind`, e.g. 'cancelled', or null; stopped: the engine cannot go on,
// out of memory or a bug, and the worker must be replaced), and meanwhile posts
// { type: 'progress', progress } and { type: 'plan', plan, fillValues }.

const THREADED = self.crossOriginIsolated === true;
const JOB_TYPES = ['training', 'validation', 'testing', 'calibration'];
const OUTPUT_PREFIX = 'shardimpute-';
// training shards pass 1 keeps in memory so pass 2 need not read them again
const KEEP_FOR_FILL = 256 * 2 ** 20;
// the warm-up's shards (warm-up/ beside this file), each standing in for
// `trainShards` training shards. The browser optimizes a function once it
// has run enough: the Parquet path's per-shard and per-column code (column
// writers, schema conversions, the footer) takes about 100 shards to get
// there, so a shorter warm-up left it to the user's first run (Parquet
// 60+6+6, threads: 1.23 s against 1.11 s, 6 interleaved runs each)
const WARM_UP = [
  { name: 'part.csv', trainShards: 8 },
  { name: 'part.parquet', trainShards: 96 },
];

let api; // the wasm-bindgen module
let files = []; // the dataset: [{ path, file }], paths relative to its folder
let incoming = []; // a new dataset's files, as they arrive (`files` requests)
let job = null; // the Job of the last run, kept to re-run pass 2
let controller = null; // aborts the running pass
let lastOutput = null; // OPFS name of the last zip
let busy = false; // a run is going on

// The engine stops for good on a trap (out of memory, or a bug). On the
// thread pool the engine itself rejects the pass; on this thread the
// request fails with a bare RuntimeError, or its promise never settles
// (a trap in a promise's callback). So an uncaught error here asks the
// engine why it stopped, and the request in progress fails with that.
let engineStopped; // rejects `stops`: the engine's `Error`
const stops = new Promise((_, reject) => {
  engineStopped = reject;
});
stops.catch(() => {});
for (const type of ['error', 'unhandledrejection']) {
  self.addEventListener(type, (event) => {
    const why = stoppedError();
    if (why) {
      event.preventDefault();
      engineStopped(why);
    }
  });
}

/** The engine's error once it has stopped, else null. */
function stoppedError() {
  return api?.engineStopped?.() ?? null;
}

const ready = start();
// then the warm-up (below), in the background: requests that use the
// engine wait for it, so the page is ready at once and a folder picked
// meanwhile is listed when it ends
const warmedUp = ready.then(warmUp, () => {});

async function start() {
  api = THREADED ? await import('./shardimpute_wasm.js') : await import('./st/shardimpute_wasm.js');
  await api.default();
  if (THREADED) {
    // the page may ask for a pool size (?threads=N); default: every core
    const asked = Number(new URL(self.location.href).searchParams.get('threads'));
    await api.initThreadPool(asked >= 1 ? Math.floor(asked) : navigator.hardwareConcurrency || 2);
  }
  removeOldOutputs();
  return { threaded: THREADED, threads: api.threadCount(), defaults: api.defaultSettings() };
}

/**
 * Runs both passes once over a small built-in dataset (warm-up/: the
 * sample's training rows as one CSV and one Parquet shard), the zip
 * discarded. The browser compiles the engine's hot code with its
 * optimizing compiler only after it has run a while, on the same cores:
 * without this, the page's first run pays for that compile while it runs.
 * An embedding page that does not serve warm-up/ only loses the head
 * start (a warning); an engine error here is a bug (logged as an error).
 */
async function warmUp() {
  for (const { name, trainShards } of WARM_UP) {
    let file;
    try {
      file = await (await fetchOk(`./warm-up/${name}`)).blob();
    } catch (e) {
      console.warn(`engine warm-up skipped: ${errorText(e)}`);
      return;
    }
    const ext = name.slice(name.lastIndexOf('.'));
    const shard = (split, i) => ({ path: `${split}/part-${String(i).padStart(5, '0')}${ext}`, file });
    const shards = [...Array.from({ length: trainShards }, (_, i) => shard('train', i)), shard('val', 0), shard('test', 0)];
    let job = null;
    try {
      job = new api.Job('training', undefined, shards);
      await job.fit({ keepForFill: KEEP_FOR_FILL });
      await job.fill({ zip: new WritableStream() });
    } catch (e) {
      console.error(`engine warm-up failed on ${name}: ${errorText(e)}`);
    } finally {
      job?.free();
    }
  }
}

const handlers = {
  info: (_args, info) => info,

  /**
   * Part of a new dataset's files (`first`: its first part). The page
   * sends them in parts: the browser registers each picked file as it
   * first leaves the page, on the page's thread.
   */
  files: ({ files: part, first }) => {
    if (first) incoming = [];
    incoming.push(...part);
    return incoming.length;
  },

  /** The new dataset: the files sent since the first part. */
  scan: ({ jobType }) => {
    files = incoming;
    incoming = [];
    dropJob();
    return describe(jobType);
  },

  /** The built-in sample dataset, fetched as Blobs. */
  sample: async () => {
    const manifest = await (await fetchOk('./sample/manifest.json')).json();
    files = await Promise.all(
      manifest.files.map(async (path) => ({ path, file: await (await fetchOk(`./sample/${path}`)).blob() })),
    );
    dropJob();
    return describe('training');
  },

  /** The layout for another job type, on the same files. */
  relist: ({ jobType }) => describe(jobType),

  envSettings: ({ text }) => api.settingsFromEnv(text),

  /**
   * Pass 1 (training) or loading saved fill values, then pass 2 to a zip.
   * `artifacts` ([{ name, file }]) go to the engine as they are: it reads
   * the fill values of a non-training job from them and carries the rest.
   */
  run: async ({ jobType, settings, artifacts = [] }) => {
    dropJob();
    controller = new AbortController();
    const j = new api.Job(jobType, settings, files);
    try {
      await j.addArtifacts(artifacts);
    } catch (e) {
      j.free();
      throw e;
    }
    job = j;
    const plan = jobType === 'training'
      ? await job.fit({ onProgress: progress, signal: controller.signal, keepForFill: KEEP_FOR_FILL })
      : null;
    self.postMessage({ type: 'plan', plan, fillValues: job.fillValues });
    return fillToZip();
  },

  /** Pass 2 again with edited fill values: `edits` is [[column, text], ...]. */
  refill: async ({ edits }) => {
    if (!job) throw new Error('run the job first');
    controller = new AbortController();
    for (const [column, text] of edits) job.setFillValue(column, text);
    self.postMessage({ type: 'plan', plan: job.plan, fillValues: job.fillValues });
    return fillToZip();
  },

  cancel: () => {
    controller?.abort();
    return true;
  },
};

// requests that change the dataset or run it wait for no run in progress
const EXCLUSIVE = new Set(['files', 'scan', 'sample', 'relist', 'run', 'refill']);

self.onmessage = async ({ data: { id, type, args } }) => {
  let owner = false; // this request set `busy`
  try {
    const info = await ready;
    if (!handlers[type]) throw new Error(`unknown request ${type}`);
    if (EXCLUSIVE.has(type)) {
      if (busy) throw new Error('a run is in progress: cancel it first');
      busy = owner = true;
      await warmedUp;
    }
    const result = await Promise.race([handlers[type](args ?? {}, info), stops]);
    self.postMessage({ id, result });
  } catch (e) {
    // `stopped`: this worker's engine is done for; the page starts another
    const why = stoppedError();
    const err = why ?? e;
    self.postMessage({ id, error: errorText(err), kind: err?.kind ?? null, stopped: why !== null });
  } finally {
    if (owner) busy = false;
  }
};

function errorText(e) {
  return e instanceof Error ? e.message : String(e);
}

function progress(p) {
  self.postMessage({ type: 'progress', progress: p });
}

async function fetchOk(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`cannot load ${url}: HTTP ${r.status}`);
  return r;
}

function dropJob() {
  job?.free();
  job = null;
}

/**
 * The splits and shards of the files for `jobType`, or, when they do not
 * fit it, for the first job type they fit (the page then switches to it).
 * Also the column names of the first shard (as the engine reads them), to
 * suggest column names, and the job type asked for (`asked`).
 */
async function describe(jobType) {
  let error = null;
  for (const type of [jobType, ...JOB_TYPES.filter((t) => t !== jobType)]) {
    let j;
    try {
      j = new api.Job(type, undefined, files);
    } catch (e) {
      error ??= errorText(e);
      continue;
    }
    try {
      const dataset = j.dataset;
      // an unreadable first shard: no names here, pass 1 reports it properly
      const columns = await j.columns().catch(() => null);
      return { jobType: type, asked: jobType, dataset, columns, error: type === jobType ? null : error };
    } finally {
      j.free();
    }
  }
  return { jobType, asked: jobType, dataset: null, columns: null, error };
}

/**
 * Pass 2 over every shard, the engine writing the zip as shards finish
 * (each shard, then every artifact under model_artifacts/, carried files
 * included, then the manifest and _SUCCESS) to the output's stream.
 * Resolves to { file, summary, ... }.
 */
async function fillToZip() {
  const out = await openOutput();
  try {
    const summary = await job.fill({
      zip: new WritableStream({ write: (bytes) => out.write(bytes) }),
      spareChunks: out.spare,
      onProgress: progress,
      signal: controller.signal,
    });
    const file = await out.close();
    return { file, inMemory: out.inMemory, summary, plan: job.plan, fillValues: job.fillValues };
  } catch (e) {
    await out.discard();
    throw e;
  }
}

/**
 * Where the zip goes: a new OPFS file written by the writer worker
 * (web/writer.js) through a sync access handle, so a multi-GB zip never
 * sits in memory and writing overlaps with the next shards; or, where OPFS
 * is missing, a Blob in memory. The previous run's zip is deleted first.
 * `write` returns a promise while too many chunks wait to be written, so
 * memory stays bounded when storage is slower than the passes.
 */
async function openOutput() {
  const name = `${OUTPUT_PREFIX}${Date.now()}.zip`;
  let writer;
  try {
    const root = await navigator.storage.getDirectory();
    if (lastOutput) await root.removeEntry(lastOutput).catch(() => {});
    lastOutput = null;
    writer = new Worker(new URL('./writer.js', import.meta.url), { type: 'module' });
    await request(writer, { type: 'open', name }, 'opened');
  } catch {
    writer?.terminate();
    return memoryOutput(name);
  }
  lastOutput = name;
  // chunks (512 KiB each) sent to the writer and not yet written: 16 MiB
  // at most; with 4 the pass waited on the writer's replies (CSV 60+6+6,
  // threads: 2.63 against 2.55 s, medians of 4 interleaved runs)
  const MAX_PENDING = 32;
  // chunks the writer gave back, for the engine to write the next ones
  // into: a new chunk each time cost a page fault every 4 KiB (threads,
  // 3 interleaved runs each: the coordinator's faults 157-160k to 97-99k
  // on CSV 60+6+6, 60-62k to 42-46k on Parquet 60+6+6 (1.82 to 1.48 s,
  // medians), 78-80k to 44k on CSV 1,000+100+100 (3.04 to 2.90 s)). It
  // holds no more than the chunks in flight: the engine takes from it first
  const spare = [];
  let pending = 0;
  let failed = null;
  let wake = null;
  writer.onmessage = ({ data }) => {
    if (data.type === 'written') {
      pending--;
      spare.push(new Uint8Array(data.buffer));
    } else if (data.type === 'error') failed = data.error;
    if (wake && (pending <= MAX_PENDING || failed)) {
      wake();
      wake = null;
    }
  };
  const check = () => {
    if (failed) throw new Error(failed);
  };
  return {
    inMemory: false,
    spare,
    write(bytes) {
      check();
      // zip chunks own their buffer (the engine copies them out of wasm memory), so it moves
      writer.postMessage({ type: 'write', bytes }, [bytes.buffer]);
      pending++;
      if (pending <= MAX_PENDING) return undefined;
      return new Promise((resolve) => {
        wake = resolve;
      }).then(check);
    },
    async close() {
      check();
      const { file } = await request(writer, { type: 'close' }, 'closed');
      writer.terminate();
      return file;
    },
    async discard() {
      await request(writer, { type: 'discard' }, 'discarded').catch(() => {});
      writer.terminate();
      if (lastOutput === name) lastOutput = null;
    },
  };
}

/** Sends `message` to the writer; resolves with its `want` reply (in order after earlier writes). */
function request(writer, message, want) {
  return new Promise((resolve, reject) => {
    const previous = writer.onmessage;
    writer.onmessage = (event) => {
      const { data } = event;
      if (data.type === want) {
        writer.onmessage = previous;
        resolve(data);
      } else if (data.type === 'error') {
        writer.onmessage = previous;
        reject(new Error(data.error));
      } else {
        previous?.(event);
      }
    };
    writer.postMessage(message);
  });
}

function memoryOutput(name) {
  let parts = [];
  return {
    inMemory: true,
    spare: [], // the Blob keeps every chunk
    write: (bytes) => parts.push(bytes),
    close: async () => new File(parts, name, { type: 'application/zip' }),
    discard: async () => {
      parts = [];
    },
  };
}

/** Zips left in OPFS by earlier visits (more than an hour old). */
async function removeOldOutputs() {
  try {
    const root = await navigator.storage.getDirectory();
    for await (const name of root.keys()) {
      const t = Number(name.slice(OUTPUT_PREFIX.length, -4));
      if (name.startsWith(OUTPUT_PREFIX) && name.endsWith('.zip') && Date.now() - t > 3600e3) {
        await root.removeEntry(name).catch(() => {});
      }
    }
  } catch {
    // no OPFS here: nothing to clean
  }
}
