// shardimpute for Node: the single-threaded build, read from the package's
// folder (Node has no shared-memory Web Workers for the threaded build).
// The same exports as the browser entry; the command line is the package's
// bin (`npx shardimpute`).
import { readFile } from 'node:fs/promises';
import { bind } from './index.js';

export { Job, ZipWriter, ZipReader, defaultSettings, settingsFromEnv, threadCount, engineStopped, threadsAvailable } from './index.js';

let loading = null;

/**
 * Loads the engine (once). `threads: true` is refused: Node runs the
 * single-threaded build. `module`: wasm bytes or a WebAssembly.Module to
 * use instead of the package's file.
 */
export function init(options = {}) {
  loading ??= load(options);
  return loading;
}

async function load({ threads, module } = {}) {
  if (threads !== undefined && threads !== false && threads !== 0 && threads !== 1) {
    throw new Error('shardimpute: Node runs the single-threaded build; init({ threads }) cannot ask for more');
  }
  const api = await import('./wasm/st/shardimpute_wasm.js');
  const wasm = module ?? (await readFile(new URL('./wasm/st/shardimpute_wasm_bg.wasm', import.meta.url)));
  await api.default({ module_or_path: wasm });
  bind(api);
  return api;
}
