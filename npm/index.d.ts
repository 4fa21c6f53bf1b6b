// Types of the package's entry points (browser, worker, Deno, Node): the
// engine's API (from its wasm-bindgen declarations) and `init`.
export type * from './wasm/st/shardimpute_wasm.js';
export { Job, ZipWriter, ZipReader, defaultSettings, settingsFromEnv, threadCount, engineStopped } from './wasm/st/shardimpute_wasm.js';

export interface InitOptions {
  /**
   * `true` or a pool size: the threaded build (needs a cross-origin
   * isolated page); `false`: the single-threaded build. Default: threaded
   * when `crossOriginIsolated` and `SharedArrayBuffer` allow it.
   */
  threads?: boolean | number;
  /** The wasm to load instead of the package's own file. */
  module?: URL | string | Request | Response | BufferSource | WebAssembly.Module;
}

/** The loaded build's exports. */
export type Engine = typeof import('./wasm/st/shardimpute_wasm.js');

/** Loads the engine once; the named exports work after it resolves. */
export function init(options?: InitOptions): Promise<Engine>;
/** Whether the threaded build can run here. */
export function threadsAvailable(): boolean;
/** Points the named exports at a loaded build (used by the entry points). */
export function bind(api: Engine): void;
