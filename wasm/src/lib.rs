//! shardimpute for JavaScript: pass 1 and pass 2 of `shardimpute-core` over
//! `Blob`s, bytes, streams or URLs, with progress callbacks, cancellation,
//! the outputs as bytes or a zip written to a `WritableStream`, and errors
//! as rejected promises carrying the CLI's one-line message.
//!
//! ```js
//! import init, { Job, ZipWriter, threadCount } from './shardimpute_wasm.js';
//! await init();
//! const job = new Job('training', { labelField: 'target' }, [
//!   { path: 'train/part-00000.csv', file }, /* ... val/, test/ ... */
//! ]);
//! const plan = await job.fit({ onProgress: p => console.log(p.shardsDone) });
//! await job.fill({ onShard: (path, bytes) => save(path, bytes) });
//! const { 'impute_dict.pkl': pkl } = job.artifacts();
//! ```
//!
//! Shards are read a batch at a time on the calling thread (JS objects
//! cannot cross threads). In the `threads` build each batch is handed to
//! rayon on Web Workers, and the calling thread reads the next batch and
//! writes the outputs of the last one meanwhile; otherwise a batch runs on
//! the calling thread. Call it from a worker: shared wasm memory may wait
//! on a lock, which the main thread may not.

#![feature(alloc_error_hook)]

mod job;
mod lost;

use serde::Serialize;
use serde_json::Value;
use shardimpute_core::{Settings, SETTINGS};
use wasm_bindgen::prelude::*;

pub use job::Job;
pub use lost::engine_stopped;
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

/// The TypeScript types of the settings, plan, progress, options and
/// artifacts (`wasm/types.d.ts`).
#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("../types.d.ts");

/// Rayon threads processing shards (1 in the single-threaded build).
#[wasm_bindgen(js_name = threadCount)]
pub fn thread_count() -> usize {
    rayon::current_num_threads()
}

/// The default settings (the Python step's defaults), as a plain object.
#[wasm_bindgen(js_name = defaultSettings, unchecked_return_type = "Settings")]
pub fn default_settings() -> Result<JsValue, JsValue> {
    settings_to_js(&Settings::default())
}

/// Settings from the Python step's environment variables: `KEY=VALUE`
/// lines (`LABEL_FIELD`, `EXCLUDE_COLUMNS`, `COLUMN_STRATEGY_<col>`, ...).
#[wasm_bindgen(js_name = settingsFromEnv, unchecked_return_type = "Settings")]
pub fn settings_from_env(text: &str) -> Result<JsValue, JsValue> {
    settings_to_js(&Settings::from_env_text(text).map_err(error)?)
}

/// Builds a zip archive entry by entry (stored, zip64 when large), handing
/// out the bytes to append, so the archive can be streamed to storage.
#[wasm_bindgen]
#[derive(Default)]
pub struct ZipWriter {
    inner: Option<shardimpute_core::zip::ZipWriter>,
}

#[wasm_bindgen]
impl ZipWriter {
    /// An empty archive.
    #[wasm_bindgen(constructor)]
    pub fn new() -> ZipWriter {
        ZipWriter {
            inner: Some(Default::default()),
        }
    }

    /// The bytes to append for an entry `path` holding `bytes`.
    pub fn add(&mut self, path: &str, bytes: &[u8]) -> Result<Vec<u8>, JsError> {
        match &mut self.inner {
            Some(z) => Ok(z.add(path, bytes)),
            None => Err(JsError::new("the zip is already finished")),
        }
    }

    /// Bytes handed out so far.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> f64 {
        self.inner.as_ref().map_or(0.0, |z| z.len() as f64)
    }

    /// The manifest of the entries and `_SUCCESS` (as in an output folder
    /// the CLI writes), then the central directory: append it last. The
    /// writer is done after this.
    pub fn finish(&mut self) -> Result<Vec<u8>, JsValue> {
        match self.inner.take() {
            Some(z) => z.finish_output().map_err(error),
            None => Err(JsError::new("the zip is already finished").into()),
        }
    }
}

/// Reads a zip archive held in memory (a dataset sent as one file): its
/// entries, then each entry's bytes on demand (stored or deflate; sizes and
/// CRC-32 checked; errors of kind `'zip'` name the entry).
#[wasm_bindgen]
pub struct ZipReader {
    data: Vec<u8>,
    entries: Vec<shardimpute_core::unzip::ZipEntry>,
}

#[wasm_bindgen]
impl ZipReader {
    /// Reads the archive's central directory.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: Vec<u8>) -> Result<ZipReader, JsValue> {
        let entries = shardimpute_core::unzip::entries(&bytes).map_err(error)?;
        Ok(ZipReader {
            data: bytes,
            entries,
        })
    }

    /// The files of the archive, `[{ path, size }]` (folders left out).
    #[wasm_bindgen(unchecked_return_type = "{ path: string; size: number }[]")]
    pub fn entries(&self) -> Result<JsValue, JsValue> {
        let list: Vec<Value> = self
            .entries
            .iter()
            .map(|e| serde_json::json!({ "path": e.name, "size": e.size }))
            .collect();
        to_js(&list)
    }

    /// The bytes of the entry at `path`.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, JsValue> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.name == path)
            .ok_or_else(|| js_error("zip", &format!("{path}: not in the zip")))?;
        shardimpute_core::unzip::read(&self.data, entry).map_err(error)
    }
}

/// A JS `Error` with the message and `err.kind`.
fn js_error(kind: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    let _ = js_sys::Reflect::set(&e, &"kind".into(), &kind.into());
    e.into()
}

/// A core error as a JS `Error` with the CLI's message and its kind.
fn error(e: shardimpute_core::Error) -> JsValue {
    js_error(e.kind().name(), &e.to_string())
}

/// A Rust value as a plain JS object (maps as objects).
fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error("internal", &e.to_string()))
}

/// snake_case object keys as camelCase, all the way down (for views whose
/// keys are field names only).
fn camel(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let mut out = String::with_capacity(k.len());
                    let mut up = false;
                    for c in k.chars() {
                        match c {
                            '_' => up = true,
                            c if up => {
                                out.extend(c.to_uppercase());
                                up = false;
                            }
                            c => out.push(c),
                        }
                    }
                    (out, camel(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(camel).collect()),
        other => other,
    }
}

/// Settings from a JS object named as `SETTINGS` says (`labelField`, ...);
/// `undefined` gives the defaults, an unknown name is an error.
fn settings_from_js(value: JsValue) -> Result<Settings, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(Settings::default());
    }
    let bad = |m: String| js_error("settings", &format!("invalid settings: {m}"));
    let given: Value = serde_wasm_bindgen::from_value(value).map_err(|e| bad(e.to_string()))?;
    let Value::Object(map) = given else {
        return Err(bad("expected an object".into()));
    };
    let mut keyed = serde_json::Map::new();
    let mut warnings = Vec::new();
    for (k, v) in map {
        if k == "warnings" {
            // what settingsFromEnv could not take as given, carried along
            warnings = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
            continue;
        }
        let s = SETTINGS
            .iter()
            .find(|s| s.js == k)
            .ok_or_else(|| bad(format!("unknown setting `{k}`")))?;
        keyed.insert(s.key.to_string(), v);
    }
    let mut settings: Settings =
        serde_json::from_value(Value::Object(keyed)).map_err(|e| bad(e.to_string()))?;
    settings.warnings = warnings;
    settings.validate().map_err(error)?;
    Ok(settings)
}

/// Settings as a JS object, named as `SETTINGS` says.
fn settings_to_js(settings: &Settings) -> Result<JsValue, JsValue> {
    let Ok(Value::Object(map)) = serde_json::to_value(settings) else {
        return Err(js_error("internal", "cannot show the settings"));
    };
    let mut named: serde_json::Map<String, Value> = map
        .into_iter()
        .filter_map(|(k, v)| {
            SETTINGS
                .iter()
                .find(|s| s.key == k)
                .map(|s| (s.js.to_string(), v))
        })
        .collect();
    if !settings.warnings.is_empty() {
        named.insert("warnings".into(), settings.warnings.clone().into());
    }
    to_js(&named)
}
