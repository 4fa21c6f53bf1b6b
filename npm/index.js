// shardimpute for browsers, Web Workers, Deno and edge runtimes.
//
//   import { init, Job } from 'shardimpute';
//   await init();            // picks the threaded build when it can run
//   const job = new Job(...);
//
// Two builds of the same engine ship in the package: `wasm/mt/` (threads
// on Web Workers; needs cross-origin isolation, i.e. SharedArrayBuffer)
// and `wasm/st/` (single-threaded, runs anywhere). The named exports below
// are bound to the build `init` loaded, once it has resolved.

/** @type {import('./index.d.ts').Job} */
export let Job;
export let ZipWriter;
export let ZipReader;
export let defaultSettings;
export let settingsFromEnv;
export let threadCount;
export let engineStopped;

let loading = null;

/** Whether the threaded build can run here: shared memory and isolation. */
export function threadsAvailable() {
  return globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function'
    && typeof Worker === 'function';
}

/**
 * Loads the engine (once; later calls return the same promise).
 * `threads`: true or a pool size forces the threaded build, false the
 * single-threaded one; by default the threaded build when it can run,
 * with a pool of `navigator.hardwareConcurrency` workers.
 * `module`: the wasm to use instead of fetching the package's file (a URL,
 * Response, bytes or a compiled WebAssembly.Module).
 */
export function init(options = {}) {
  loading ??= load(options);
  return loading;
}

async function load({ threads, module } = {}) {
  const threaded = threads === undefined ? threadsAvailable() : threads !== false && threads !== 0;
  if (threaded && !threadsAvailable()) {
    throw new Error(
      'shardimpute: the threaded build needs a cross-origin isolated page (COOP/COEP headers) '
        + 'with SharedArrayBuffer and Web Workers; use init({ threads: false })',
    );
  }
  const api = threaded
    ? await import('./wasm/mt/shardimpute_wasm.js')
    : await import('./wasm/st/shardimpute_wasm.js');
  await api.default(module === undefined ? undefined : { module_or_path: module });
  if (threaded) {
    const size = typeof threads === 'number' && threads >= 1
      ? Math.floor(threads)
      : globalThis.navigator?.hardwareConcurrency || 2;
    await api.initThreadPool(size);
  }
  bind(api);
  return api;
}

/** Points the named exports at the loaded build. */
export function bind(api) {
  ({ Job, ZipWriter, ZipReader, defaultSettings, settingsFromEnv, threadCount, engineStopped } = api);
}
