//! `Job`: core's job over JavaScript inputs (`Blob`s, bytes, streams, URLs).
//! Only the adapters live here: reading inputs a batch at a time (JS objects
//! cannot cross threads), the JavaScript views, promises, and the zip of the
//! outputs written to a `WritableStream`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::task::{Context, Poll, Waker};

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use rayon::prelude::*;
use serde_json::json;
use shardimpute_core::zip::Crc;
use shardimpute_core::{
    self as core, Control, JobKind, JobType, MemorySink, MemorySource, Pass, Progress, Shard,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{AbortSignal, Blob, WritableStream, WritableStreamDefaultWriter};

use crate::{camel, error, js_error, lost, settings_from_js, settings_to_js, to_js};

/// One run: the files of a dataset, the settings, and what the passes found.
///
/// `new Job(jobType, settings, files)` where `files` is an array of
/// `{ path: 'train/part-00000.csv', file }` (paths relative to the dataset
/// folder) with `file` a `Blob`, bytes, a `ReadableStream` or async
/// iterable of bytes, or a function returning one of those; or
/// `{ path, url, init?, size? }` fetched when read. Throws when the layout is wrong (a split folder missing,
/// a split without shards). Errors carry `err.kind` (`'layout'`,
/// `'cancelled'`, `'csv'`, ...).
#[wasm_bindgen]
pub struct Job {
    state: Rc<State>,
}

struct State {
    /// Shared with the batch running on the thread pool.
    job: Arc<Mutex<core::Job>>,
    files: HashMap<String, Input>,
    /// Training shards' bytes read by pass 1 and kept for pass 2
    /// (`keepForFill`), each used once.
    kept: RefCell<Kept>,
}

/// Bytes kept between the passes, by shard path.
#[derive(Default)]
struct Kept {
    bytes: HashMap<String, Uint8Array>,
    total: u64,
}

impl State {
    /// The job, unless a batch of a pass holds it (or the engine stopped).
    fn job(&self) -> Result<MutexGuard<'_, core::Job>, JsValue> {
        lost::check()?;
        match self.job.try_lock() {
            Ok(job) => Ok(job),
            Err(TryLockError::Poisoned(e)) => Ok(e.into_inner()),
            Err(TryLockError::WouldBlock) => Err(js_error(
                "state",
                "a pass is running: wait for it to end (or cancel it)",
            )),
        }
    }
}

/// Where a shard's bytes come from.
enum Input {
    Blob(Blob),
    /// Fetched at each read: the URL and the `fetch` options.
    Url(String, JsValue),
    /// Bytes, a stream, an async iterable, or a function returning one
    /// (called at each read). A stream given as it is can be read once.
    Value(JsValue, std::cell::Cell<bool>),
}

impl Input {
    fn from_js(i: usize, path: &str, item: &JsValue) -> Result<(Input, u64), JsValue> {
        let size = Reflect::get(item, &"size".into())
            .ok()
            .and_then(|s| s.as_f64())
            .unwrap_or(0.0) as u64;
        if let Some(blob) = blob_of(item, "file") {
            let size = blob.size() as u64;
            return Ok((Input::Blob(blob), size));
        }
        let url = Reflect::get(item, &"url".into()).unwrap_or(JsValue::UNDEFINED);
        if !url.is_undefined() && !url.is_null() {
            // a string, or a `URL` object (its text)
            let text = url.as_string().unwrap_or_else(|| {
                url.dyn_ref::<js_sys::Object>()
                    .map(|o| String::from(o.to_string()))
                    .unwrap_or_default()
            });
            let init = Reflect::get(item, &"init".into()).unwrap_or(JsValue::UNDEFINED);
            return Ok((Input::Url(text, init), size));
        }
        let file = Reflect::get(item, &"file".into()).unwrap_or(JsValue::UNDEFINED);
        if file.is_undefined() || file.is_null() {
            return Err(js_error(
                "layout",
                &format!("files[{i}] ({path}) has no `file` (Blob, bytes, stream) or `url`"),
            ));
        }
        let size = match byte_length(&file) {
            Some(n) => n,
            None => size,
        };
        Ok((Input::Value(file, Default::default()), size))
    }

    /// Starts reading; resolves to the bytes (`Uint8Array` or `ArrayBuffer`).
    fn start(&self, path: &str) -> Promise {
        match self {
            Input::Blob(b) => b.array_buffer(),
            Input::Url(url, init) => future_to_promise(fetch_bytes(url.clone(), init.clone())),
            Input::Value(v, used) => {
                let v = v.clone();
                let once =
                    !v.is_function() && byte_length(&v).is_none() && !v.is_instance_of::<Blob>();
                if once && used.replace(true) {
                    return Promise::reject(&js_sys::Error::new(
                        "this stream was already read; give a function that returns a new \
                         stream (training shards are read by pass 1 and pass 2)",
                    ));
                }
                let path = path.to_string();
                future_to_promise(async move { value_bytes(&path, v).await })
            }
        }
    }
}

/// The length of bytes (`Uint8Array`, `ArrayBuffer`, other views), or `None`.
fn byte_length(v: &JsValue) -> Option<u64> {
    if v.is_instance_of::<js_sys::ArrayBuffer>() || js_sys::ArrayBuffer::is_view(v) {
        Reflect::get(v, &"byteLength".into())
            .ok()
            .and_then(|n| n.as_f64())
            .map(|n| n as u64)
    } else {
        None
    }
}

/// Calls a JS method by name.
fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(target, &method.into())?
        .dyn_into()
        .map_err(|_| js_sys::Error::new(&format!("no `{method}` method")))?;
    f.apply(target, &args.iter().collect::<Array>())
}

/// Awaits a value if it is a promise (or any thenable).
async fn settle(v: JsValue) -> Result<JsValue, JsValue> {
    if v.has_type::<Promise>() || Reflect::get(&v, &"then".into()).is_ok_and(|t| t.is_function()) {
        JsFuture::from(Promise::resolve(&v)).await
    } else {
        Ok(v)
    }
}

/// `fetch(url, init)` with the runtime's global fetch; an HTTP error status
/// is an error.
async fn fetch_bytes(url: String, init: JsValue) -> Result<JsValue, JsValue> {
    let global = js_sys::global();
    let response = settle(call(&global, "fetch", &[url.clone().into(), init])?).await?;
    let status = Reflect::get(&response, &"status".into())?
        .as_f64()
        .unwrap_or(0.0);
    if !(200.0..300.0).contains(&status) {
        // free the connection
        if let Ok(body) = Reflect::get(&response, &"body".into()) {
            if !body.is_null() && !body.is_undefined() {
                let _ = call(&body, "cancel", &[]);
            }
        }
        return Err(js_sys::Error::new(&format!("HTTP {status} from {url}")).into());
    }
    settle(call(&response, "arrayBuffer", &[])?).await
}

/// The bytes of a value: bytes, a `Blob`, a `ReadableStream`, an async
/// iterable of byte chunks, or a function returning one of those.
async fn value_bytes(path: &str, v: JsValue) -> Result<JsValue, JsValue> {
    let mut v = v;
    if let Some(f) = v.dyn_ref::<Function>() {
        v = settle(f.call1(&JsValue::NULL, &path.into())?).await?;
    }
    if byte_length(&v).is_some() {
        return Ok(v);
    }
    if let Some(b) = v.dyn_ref::<Blob>() {
        return JsFuture::from(b.array_buffer()).await;
    }
    let chunks = Array::new();
    let mut total = 0u32;
    let mut push = |chunk: JsValue| -> Result<(), JsValue> {
        let bytes = if chunk.is_instance_of::<Uint8Array>() {
            chunk.unchecked_into::<Uint8Array>()
        } else if byte_length(&chunk).is_some() {
            Uint8Array::new(&chunk)
        } else {
            return Err(js_sys::Error::new("a stream chunk is not bytes (Uint8Array)").into());
        };
        total = total
            .checked_add(bytes.length())
            .ok_or_else(|| js_sys::Error::new("larger than 4 GiB"))?;
        chunks.push(&bytes);
        Ok(())
    };
    let iterator = Reflect::get(&v, &js_sys::Symbol::async_iterator())
        .ok()
        .filter(|f| f.is_function());
    if Reflect::get(&v, &"getReader".into()).is_ok_and(|f| f.is_function()) {
        let reader = call(&v, "getReader", &[])?;
        loop {
            let step = settle(call(&reader, "read", &[])?).await?;
            if Reflect::get(&step, &"done".into())?.is_truthy() {
                break;
            }
            push(Reflect::get(&step, &"value".into())?)?;
        }
    } else if let Some(f) = iterator {
        let it = f.unchecked_ref::<Function>().call0(&v)?;
        loop {
            let step = settle(call(&it, "next", &[])?).await?;
            if Reflect::get(&step, &"done".into())?.is_truthy() {
                break;
            }
            push(Reflect::get(&step, &"value".into())?)?;
        }
    } else {
        return Err(js_sys::Error::new(
            "not a Blob, bytes, ReadableStream or async iterable of bytes",
        )
        .into());
    }
    let out = Uint8Array::new_with_length(total);
    let mut at = 0;
    for c in chunks.iter() {
        let c: Uint8Array = c.unchecked_into();
        out.set(&c, at);
        at += c.length();
    }
    Ok(out.into())
}

/// What `fit` and `fill` take: `{ onProgress, onShard, zip, spareChunks,
/// signal, keepForFill }`.
struct Options {
    on_progress: Option<Function>,
    on_shard: Option<Function>,
    zip: Option<WritableStream>,
    /// Pass 2: chunks the zip's reader is done with, written into again.
    spare_chunks: Option<Array>,
    signal: Option<AbortSignal>,
    /// Pass 1: bytes of training shards to keep for pass 2 to reuse.
    keep_for_fill: u64,
}

impl Options {
    fn from_js(options: &JsValue) -> Options {
        let get = |key: &str| {
            if options.is_object() {
                Reflect::get(options, &JsValue::from_str(key)).ok()
            } else {
                None
            }
            .filter(|v| !v.is_undefined() && !v.is_null())
        };
        Options {
            on_progress: get("onProgress").and_then(|v| v.dyn_into().ok()),
            on_shard: get("onShard").and_then(|v| v.dyn_into().ok()),
            zip: get("zip").map(|v| v.unchecked_into()),
            spare_chunks: get("spareChunks").and_then(|v| v.dyn_into().ok()),
            signal: get("signal").and_then(|v| v.dyn_into().ok()),
            keep_for_fill: get("keepForFill")
                .and_then(|v| v.as_f64())
                .filter(|n| *n > 0.0)
                .map_or(0, |n| n as u64),
        }
    }

    fn check_cancel(&self) -> Result<(), JsValue> {
        match &self.signal {
            Some(s) if s.aborted() => Err(error(core::Error::cancelled())),
            _ => Ok(()),
        }
    }

    fn progress(&self, p: &Progress) -> Result<(), JsValue> {
        if let Some(f) = &self.on_progress {
            f.call1(
                &JsValue::NULL,
                &to_js(&camel(serde_json::to_value(p).unwrap_or_default()))?,
            )?;
        }
        Ok(())
    }
}

fn blob_of(item: &JsValue, key: &str) -> Option<Blob> {
    Reflect::get(item, &JsValue::from_str(key))
        .ok()
        .and_then(|f| f.dyn_into().ok())
}

fn string_of(item: &JsValue, key: &str) -> Option<String> {
    Reflect::get(item, &JsValue::from_str(key))
        .ok()
        .and_then(|p| p.as_string())
}

/// The bytes of a batch's started reads, awaited together (one wait, not
/// one per shard: many small shards make many reads); the first failure,
/// in shard order, names its file.
async fn read_all(reads: Vec<(String, Promise)>) -> Result<Vec<(String, Uint8Array)>, JsValue> {
    if reads.is_empty() {
        return Ok(Vec::new());
    }
    let all: Array = reads.iter().map(|(_, read)| JsValue::from(read)).collect();
    let settled: Array = JsFuture::from(Promise::all_settled(&all)).await?.into();
    reads
        .into_iter()
        .zip(settled.iter())
        .map(|((path, _), outcome)| {
            let status = Reflect::get(&outcome, &"status".into())?.as_string();
            if status.as_deref() == Some("fulfilled") {
                Ok((path, as_bytes(Reflect::get(&outcome, &"value".into())?)))
            } else {
                let reason = Reflect::get(&outcome, &"reason".into())?;
                Err(cannot_read(&path, &reason))
            }
        })
        .collect()
}

/// A read's result (`ArrayBuffer` or a byte view) as a `Uint8Array`.
fn as_bytes(buffer: JsValue) -> Uint8Array {
    match buffer.dyn_into::<Uint8Array>() {
        Ok(view) => view,
        Err(buffer) => Uint8Array::new(&buffer),
    }
}

fn cannot_read(path: &str, e: &JsValue) -> JsValue {
    js_error("io", &format!("{path}: cannot read the file: {}", why(e)))
}

/// The bytes of a started read (`blob.arrayBuffer()`), copied into wasm
/// memory; a failure names the file.
async fn read_bytes(path: &str, read: Promise) -> Result<Vec<u8>, JsValue> {
    let buffer = JsFuture::from(read)
        .await
        .map_err(|e| cannot_read(path, &e))?;
    Ok(as_bytes(buffer).to_vec())
}

async fn read_blob(path: &str, blob: &Blob) -> Result<Vec<u8>, JsValue> {
    read_bytes(path, blob.array_buffer()).await
}

#[wasm_bindgen]
impl Job {
    /// Finds the splits and shards of a job among `files`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "JobType")] job_type: &str,
        #[wasm_bindgen(unchecked_param_type = "Settings | undefined")] settings: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ShardFile[]")] files: Array,
    ) -> Result<Job, JsValue> {
        lost::install();
        lost::check()?;
        let job_type = JobType::parse(job_type).map_err(error)?;
        let settings = settings_from_js(settings)?;
        let mut inputs = HashMap::new();
        let mut listing = Vec::new();
        for (i, item) in files.iter().enumerate() {
            let path = string_of(&item, "path")
                .ok_or_else(|| js_error("layout", &format!("files[{i}] has no `path` string")))?;
            let (input, size) = Input::from_js(i, &path, &item)?;
            listing.push((path.clone(), size));
            inputs.insert(path, input);
        }
        let job = core::Job::new(
            JobKind::Run(job_type),
            settings,
            listing.iter().map(|(p, s)| (p.as_str(), *s)),
            None,
        )
        .map_err(error)?;
        Ok(Job {
            state: Rc::new(State {
                job: Arc::new(Mutex::new(job)),
                files: inputs,
                kept: Default::default(),
            }),
        })
    }

    /// The splits and shards found, and the files that will be ignored:
    /// `{ splits: [{ name, shards: [{ path, name, format, size }] }], ignored }`.
    #[wasm_bindgen(getter, unchecked_return_type = "Dataset")]
    pub fn dataset(&self) -> Result<JsValue, JsValue> {
        to_js(self.state.job()?.dataset())
    }

    /// The settings in use (after defaults), as a plain object.
    #[wasm_bindgen(getter, unchecked_return_type = "Settings")]
    pub fn settings(&self) -> Result<JsValue, JsValue> {
        settings_to_js(self.state.job()?.settings())
    }

    /// The column names of the dataset's first shard, read from as little
    /// of the file as core needs; `null` when they cannot be read
    /// that way (pass 1 then reports what is wrong) or the shard is not a
    /// `Blob` (a stream or URL is read only by the passes).
    #[wasm_bindgen(unchecked_return_type = "Promise<string[] | null>")]
    pub fn columns(&self) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let first = state.job()?.dataset().shards().next().cloned();
            let Some(shard) = first else {
                return Ok(JsValue::NULL);
            };
            let Some(Input::Blob(blob)) = state.files.get(&shard.path()) else {
                return Ok(JsValue::NULL);
            };
            let (size, probe) = (blob.size(), core::COLUMNS_PROBE_BYTES as f64);
            let part = match shard.format {
                core::ShardFormat::Parquet => blob.slice_with_f64((size - probe).max(0.0))?,
                _ => blob.slice_with_f64_and_f64(0.0, probe)?,
            };
            let bytes = read_blob(&shard.path(), &part).await?;
            match core::columns(shard.format, &bytes, size <= probe) {
                Ok(Some(names)) => to_js(&names),
                _ => Ok(JsValue::NULL),
            }
        })
    }

    /// The files of a saved artifacts folder, `[{ name, file: Blob }]`: a
    /// validation, testing or calibration job reads its fill values from
    /// `impute_dict.pkl` (else `impute_dict.json`); every other file is
    /// carried into the artifacts (the pipeline's parameter accumulator).
    #[wasm_bindgen(js_name = addArtifacts, unchecked_return_type = "Promise<void>")]
    pub fn add_artifacts(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ArtifactFile[]")] files: Array,
    ) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let mut read = Vec::new();
            for (i, item) in files.iter().enumerate() {
                let name = string_of(&item, "name").ok_or_else(|| {
                    js_error("artifact", &format!("artifacts[{i}] has no `name` string"))
                })?;
                let (input, _) = Input::from_js(i, &name, &item).map_err(|_| {
                    js_error(
                        "artifact",
                        &format!("artifacts[{i}] ({name}) has no `file` or `url`"),
                    )
                })?;
                let bytes = read_bytes(&name, input.start(&name)).await?;
                read.push((name.clone(), bytes));
            }
            state.job()?.add_artifacts(read).map_err(error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Loads saved fill values from one file's bytes (`impute_dict.pkl` or
    /// `impute_dict.json`, told apart by `name`).
    #[wasm_bindgen(js_name = setArtifacts)]
    pub fn set_artifacts(&self, name: &str, bytes: &[u8]) -> Result<(), JsValue> {
        let mut job = self.state.job()?;
        job.load_fill_values(name, bytes).map_err(error)
    }

    /// Pass 1 over the `train` shards. Resolves to the plan: `{ columns:
    /// [{ name, type, strategy, fillValue, missingCount, missingPct,
    /// distinct, skipped }], warnings }`. Options: `{ onProgress, signal,
    /// keepForFill }`: `keepForFill` bytes of the training shards read
    /// (default 0) stay in memory for the next pass 2, which then does
    /// not read them again; so do, up to as many bytes (64 MiB at most),
    /// where the missing cells of CSV/TSV training shards are, which spare
    /// every pass 2 until the next pass 1 reading those shards' records.
    #[wasm_bindgen(unchecked_return_type = "Promise<Plan>")]
    pub fn fit(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FitOptions | undefined")] options: JsValue,
    ) -> Promise {
        future_to_promise(run_pass(
            self.state.clone(),
            Pass::Fit,
            Options::from_js(&options),
        ))
    }

    /// The plan of the last pass 1 (as `fit` resolved to), or `null`.
    #[wasm_bindgen(getter, unchecked_return_type = "Plan | null")]
    pub fn plan(&self) -> Result<JsValue, JsValue> {
        plan_view(&*self.state.job()?)
    }

    /// The fill values in use, `{ column: value }`, or `null` before pass 1
    /// (or loading saved ones).
    #[wasm_bindgen(
        getter,
        js_name = fillValues,
        unchecked_return_type = "Record<string, FillValue> | null"
    )]
    pub fn fill_values(&self) -> Result<JsValue, JsValue> {
        match self.state.job()?.fill_values() {
            Some(d) => {
                let map: serde_json::Map<String, serde_json::Value> = d
                    .entries
                    .iter()
                    .map(|(c, v)| (c.clone(), serde_json::to_value(v).unwrap_or_default()))
                    .collect();
                to_js(&map)
            }
            None => Ok(JsValue::NULL),
        }
    }

    /// Sets one column's fill value from text, read as the column's current
    /// fill value is typed (number, text, or `True`/`False`).
    #[wasm_bindgen(js_name = setFillValue)]
    pub fn set_fill_value(&self, column: &str, text: &str) -> Result<(), JsValue> {
        let mut job = self.state.job()?;
        job.set_fill_value(column, text).map_err(error)
    }

    /// Pass 2 over every shard of every split. `onShard(path, bytes)` gets
    /// each output shard, in shard order (awaited when it returns a promise).
    /// Resolves to the run's summary (`imputation_summary.json`'s content).
    /// Options: `{ onShard, zip, spareChunks, onProgress, signal }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn fill(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FillOptions | undefined")] options: JsValue,
    ) -> Promise {
        future_to_promise(run_pass(
            self.state.clone(),
            Pass::Fill,
            Options::from_js(&options),
        ))
    }

    /// The artifacts, the same bytes the CLI writes, in the order to write
    /// them: carried files, then `impute_dict.pkl`, `impute_dict.json`,
    /// `imputation_summary.json`, `imputation_report.json`,
    /// `imputation_summary.txt`; as `{ name: Uint8Array }`.
    #[wasm_bindgen(unchecked_return_type = "Artifacts")]
    pub fn artifacts(&self) -> Result<JsValue, JsValue> {
        let out = js_sys::Object::new();
        for (name, bytes) in artifacts(&*self.state.job()?)? {
            Reflect::set(&out, &name.into(), &Uint8Array::from(&bytes[..]))?;
        }
        Ok(out.into())
    }
}

fn artifacts(job: &core::Job) -> Result<Vec<(String, Vec<u8>)>, JsValue> {
    let now = (js_sys::Date::now() / 1000.0) as u64;
    job.artifacts(&core::utc_timestamp(now)).map_err(error)
}

/// A batch's input size past which it is handed to the pool without more
/// shards: large enough that its fixed costs (a hand-off, a wake-up, a
/// read per shard) are small next to the work, small enough that the
/// three batches in flight (one read, one running, one written) stay a
/// small part of memory.
#[cfg(feature = "threads")]
const BATCH_BYTES: u64 = 16 << 20;
/// Without threads nothing overlaps a batch: one shard at a time keeps
/// memory least (the edge runtimes' limits).
#[cfg(not(feature = "threads"))]
const BATCH_BYTES: u64 = 0;
/// The largest shard file the engine takes: its bytes are one allocation
/// in wasm32, where none may reach 2 GiB.
const MAX_SHARD_BYTES: u64 = (1 << 31) - 1;
/// Most shards in one batch (many tiny shards): progress is reported
/// after each batch.
const BATCH_SHARDS: usize = 64;
/// Input bytes of two batches past which they do not overlap in wasm
/// memory (4 GiB at most, holding a running shard's input and output
/// whole): a batch closes before a shard that would take it past this,
/// and a batch that would take the running one's and its own past it
/// waits for the running one to end and be written before it is copied
/// in. Shards of a GiB then go one at a time.
const OVERLAP_BYTES: u64 = 1 << 30;

/// The pass's shards, cut into the batches handed to the thread pool one
/// after another: at least two shards per thread (threads stay busy while
/// shard sizes differ) and `bytes_each` of input ([`BATCH_BYTES`]), or
/// [`BATCH_SHARDS`] shards, or the rest. A batch holds a multiple of the
/// thread count: a batch ends when its last shard does, so with 5 shards
/// on 2 threads one thread would wait out a whole shard (a sixth of the
/// time). The first [`RAMP`] batches are smaller ([`batch_limits`]). A
/// batch also closes before a shard that would take it past `most_bytes`
/// ([`OVERLAP_BYTES`]).
fn batches(shards: &[Shard], threads: usize, bytes_each: u64, most_bytes: u64) -> Vec<&[Shard]> {
    let threads = threads.max(1);
    let mut out = Vec::new();
    let (mut from, mut bytes) = (0, 0u64);
    let mut limits = batch_limits(0, threads, bytes_each);
    for (i, shard) in shards.iter().enumerate() {
        if i > from && bytes.saturating_add(shard.size) > most_bytes {
            out.push(&shards[from..i]);
            (from, bytes) = (i, 0);
            limits = batch_limits(out.len(), threads, bytes_each);
        }
        bytes += shard.size;
        let count = i + 1 - from;
        let (at_least, most, enough_bytes) = limits;
        if (count >= at_least && bytes >= enough_bytes && count.is_multiple_of(threads))
            || count >= most
        {
            out.push(&shards[from..=i]);
            (from, bytes) = (i + 1, 0);
            limits = batch_limits(out.len(), threads, bytes_each);
        }
    }
    if from < shards.len() {
        out.push(&shards[from..]);
    }
    out
}

/// Batches of a pass that ramp up to the full size. Nothing overlaps the
/// reading of a pass's first batch: the pool waits for all of it. So the
/// first batch is an eighth of `bytes_each` and one shard per thread, and
/// the next ones a quarter and a half, each read while the one before
/// runs (on Parquet 60+6+6 a full first batch kept the pool idle for
/// about 0.2 s).
const RAMP: usize = 3;

/// Batch `k` of a pass: the fewest shards, the most, and the input bytes
/// that make it full. In full batches, two shards per thread (one for a
/// single thread) and [`BATCH_SHARDS`] rounded down to a multiple of the
/// thread count (at least one per thread); in the first [`RAMP`], one
/// shard per thread and a fraction of `bytes_each`.
fn batch_limits(k: usize, threads: usize, bytes_each: u64) -> (usize, usize, u64) {
    let threads = threads.max(1);
    let most = (BATCH_SHARDS / threads * threads).max(threads);
    if k < RAMP {
        (threads, most, bytes_each >> (RAMP - k))
    } else {
        (if threads == 1 { 1 } else { 2 * threads }, most, bytes_each)
    }
}

/// Starts reading the inputs of one batch.
fn start_reads(state: &State, batch: &[Shard]) -> Result<Vec<(String, Promise)>, JsValue> {
    batch
        .iter()
        .map(|shard| {
            let path = shard.path();
            if let Some(bytes) = state.kept.borrow_mut().bytes.remove(&path) {
                return Ok((path, Promise::resolve(&JsValue::from(bytes))));
            }
            let input = state
                .files
                .get(&path)
                .ok_or_else(|| js_error("layout", &format!("{path}: file not given")))?;
            let read = input.start(&path);
            Ok((path, read))
        })
        .collect()
}

/// One output shard of a batch: its path, bytes, and checksum when it
/// goes into a zip (computed on the pool, beside the shard).
type Output = (String, Vec<u8>, Option<Crc>);

/// What a finished batch hands back.
type BatchResult = core::Result<Vec<Output>>;

/// A batch of shards running on the thread pool (in the threaded build;
/// run at once on this thread otherwise), awaited here so this thread can
/// read the next batch and write the last one meanwhile. It also ends if
/// the engine stops ([`lost`]): a trap on the pool ends the batch without
/// a result.
struct Running(Arc<Mutex<(Option<BatchResult>, Option<Waker>)>>);

impl Future for Running {
    type Output = Result<Vec<Output>, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        lost::wait_with(cx.waker());
        lost::check()?;
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match slot.0.take() {
            Some(result) => Poll::Ready(result.map_err(error)),
            None => {
                slot.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// What a batch does with its outputs.
#[derive(Clone, Copy)]
struct Keep {
    /// Hand them back (for `onShard` or the zip).
    outputs: bool,
    /// Their checksums too (for the zip).
    crc: bool,
}

/// Hands one batch to the pool: core's `fit_shards` / `fill_shards` over
/// it, in parallel, then (pass 2) the outputs taken from the sink.
fn start_batch(
    job: Arc<Mutex<core::Job>>,
    pass: Pass,
    shards: Vec<Shard>,
    source: MemorySource,
    keep: Keep,
    cancel: Arc<AtomicBool>,
) -> Running {
    let slot = Arc::new(Mutex::new((None, None::<Waker>)));
    let task = {
        let slot = slot.clone();
        move || {
            let result = run_batch(&job, pass, &shards, &source, keep, &cancel);
            let waker = {
                let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                slot.0 = Some(result);
                slot.1.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    };
    #[cfg(feature = "threads")]
    rayon::spawn(task);
    #[cfg(not(feature = "threads"))]
    task();
    Running(slot)
}

fn run_batch(
    job: &Mutex<core::Job>,
    pass: Pass,
    shards: &[Shard],
    source: &MemorySource,
    keep: Keep,
    cancel: &AtomicBool,
) -> BatchResult {
    let ctl = Control {
        cancel: Some(cancel),
        progress: None,
    };
    let sink = MemorySink::default();
    {
        let mut job = job.lock().unwrap_or_else(|e| e.into_inner());
        match pass {
            Pass::Fit => job.fit_shards(shards, source, ctl)?,
            Pass::Fill => job.fill_shards(shards, source, &sink, ctl)?,
        }
    }
    if pass == Pass::Fit || !keep.outputs {
        return Ok(Vec::new());
    }
    shards
        .par_iter()
        .map(|shard| {
            let path = shard.path();
            let bytes = sink.take(&path)?;
            let crc = keep.crc.then(|| Crc::of(&bytes));
            Ok((path, bytes, crc))
        })
        .collect()
}

/// The zip of a fill's outputs, written to a `WritableStream` as shards
/// finish (each write awaited, so a slow reader holds the pass back).
struct ZipOut {
    writer: WritableStreamDefaultWriter,
    zip: core::zip::ZipWriter,
    /// `spareChunks`: where chunks come from before new ones are made.
    spare: Option<Array>,
}

impl ZipOut {
    async fn write_chunk(&self, chunk: Uint8Array) -> Result<(), JsValue> {
        JsFuture::from(self.writer.ready()).await?;
        JsFuture::from(self.writer.write_with_chunk(&chunk)).await?;
        Ok(())
    }

    /// One entry.
    async fn add(&mut self, path: &str, bytes: &[u8]) -> Result<(), JsValue> {
        self.add_all(&[(path.to_string(), bytes.to_vec(), None)])
            .await
    }

    /// Entries (their checksums computed here where missing), headers and
    /// data written as one run of bytes cut into chunks of
    /// [`CHUNK_BYTES`]: a batch of small shards makes few writes, and the
    /// chunks stay small enough that the browser reuses their memory.
    async fn add_all(&mut self, outputs: &[Output]) -> Result<(), JsValue> {
        let start = self.zip.len();
        let headers: Vec<Vec<u8>> = outputs
            .iter()
            .map(|(path, bytes, crc)| {
                let crc = crc.unwrap_or_else(|| Crc::of(bytes));
                self.zip.push(path, bytes.len() as u64, crc)
            })
            .collect();
        let parts: Vec<&[u8]> = headers
            .iter()
            .zip(outputs)
            .flat_map(|(header, (_, bytes, _))| [&header[..], &bytes[..]])
            .collect();
        self.write_parts(&parts, start).await
    }

    /// Bytes copied from wasm memory into chunks of [`CHUNK_BYTES`] (the
    /// last one shorter), each written when full; `start` is where they
    /// go in the archive. A chunk is not touched once written: its reader
    /// may take (detach) its buffer.
    ///
    /// Each chunk is a view that starts as far into its buffer as its
    /// first byte's place in the archive is past a multiple of 8
    /// ([`core::zip::ALIGN`]). The archive starts each shard's data at a
    /// multiple of 8, as the allocator does the shard's bytes in wasm
    /// memory, so both ends of a copy are 8-aligned: the JS engine copies
    /// 8 bytes at a time out of shared memory then, a byte at a time
    /// otherwise.
    async fn write_parts(&self, parts: &[&[u8]], start: u64) -> Result<(), JsValue> {
        let mut left: usize = parts.iter().map(|p| p.len()).sum();
        let mut parts = parts.iter().copied();
        let mut part: &[u8] = &[];
        let mut lead = (start % core::zip::ALIGN) as usize;
        while left > 0 {
            let size = left.min(CHUNK_BYTES - lead);
            let chunk = self
                .spare_chunk(lead + size)
                .unwrap_or_else(|| Uint8Array::new_with_length((lead + size) as u32))
                .subarray(lead as u32, (lead + size) as u32);
            lead = 0;
            let mut at = 0;
            while at < size {
                if part.is_empty() {
                    let Some(next) = parts.next() else { break };
                    part = next;
                }
                let n = part.len().min(size - at);
                chunk
                    .subarray(at as u32, (at + n) as u32)
                    .copy_from(&part[..n]);
                (part, at) = (&part[n..], at + n);
            }
            left -= size;
            self.write_chunk(chunk).await?;
        }
        Ok(())
    }

    /// The first `size` bytes of a spare chunk (`spareChunks`) at least
    /// that large, taken from the end of the list; smaller ones, detached
    /// ones and anything else met on the way are dropped. Every byte of
    /// it is written over before it is written to the stream.
    fn spare_chunk(&self, size: usize) -> Option<Uint8Array> {
        let spare = self.spare.as_ref()?;
        while spare.length() > 0 {
            if let Ok(chunk) = spare.pop().dyn_into::<Uint8Array>() {
                if chunk.length() as usize >= size {
                    return Some(chunk.subarray(0, size as u32));
                }
            }
        }
        None
    }
}

/// Bytes in one chunk written to the zip stream. A chunk is a new
/// `ArrayBuffer` that the stream's reader owns (or one it gave back in
/// `spareChunks`): a small one is still in the CPU's cache when the web
/// app's writer copies it into the file (with chunks of 64 MB that copy
/// took the writer 0.58 s of CPU on a 294 MB zip, with these 0.03-0.05 s).
const CHUNK_BYTES: usize = 512 << 10;

/// One pass (see `run_pass_to`); with `options.zip`, a fill also writes the
/// zip of every output shard and artifact, ending with the manifest and
/// `_SUCCESS`, and closes the stream (aborts it on an error).
async fn run_pass(state: Rc<State>, pass: Pass, options: Options) -> Result<JsValue, JsValue> {
    let Some(stream) = options.zip.clone().filter(|_| pass == Pass::Fill) else {
        return run_pass_to(state, pass, &options, None).await;
    };
    let writer = stream
        .get_writer()
        .map_err(|e| js_error("io", &format!("cannot write the zip: {}", why(&e))))?;
    let mut out = ZipOut {
        writer,
        zip: Default::default(),
        spare: options.spare_chunks.clone(),
    };
    let result = async {
        let summary = run_pass_to(state.clone(), pass, &options, Some(&mut out)).await?;
        let files = artifacts(&*state.job()?)?;
        for (name, bytes) in files {
            out.add(&format!("model_artifacts/{name}"), &bytes).await?;
        }
        let start = out.zip.len();
        let end = std::mem::take(&mut out.zip)
            .finish_output()
            .map_err(error)?;
        out.write_parts(&[&end], start).await?;
        JsFuture::from(out.writer.close()).await?;
        Ok(summary)
    }
    .await;
    if let Err(e) = &result {
        let _ = out.writer.abort_with_reason(e);
    }
    out.writer.release_lock();
    result
}

/// A thrown JS value's message.
fn why(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| format!("{e:?}"))
}

/// One pass, a batch of shards at a time, pipelined: while the pool runs
/// batch k, this thread reads batch k+1's inputs and hands out batch k-1's
/// outputs (zip, `onShard`), so the pool never waits for the browser's
/// reads and writes. On any error or cancel the running batch is stopped
/// and awaited, and the pass abandoned, so the job can run again.
async fn run_pass_to(
    state: Rc<State>,
    pass: Pass,
    options: &Options,
    zip: Option<&mut ZipOut>,
) -> Result<JsValue, JsValue> {
    let shards = state.job()?.begin(pass).map_err(error)?;
    if let Some(s) = shards.iter().find(|s| s.size > MAX_SHARD_BYTES) {
        state.job()?.abort();
        return Err(js_error(
            "memory",
            &format!(
                "{}: {} bytes, more than the engine can hold: WebAssembly keeps a shard \
                 whole, in one piece of less than 2 GiB. Shards this large need the \
                 command line tool; or split them smaller",
                s.path(),
                s.size
            ),
        ));
    }
    if pass == Pass::Fit {
        state.kept.take();
        // where the missing cells of CSV/TSV training shards are (a few
        // bytes a cell) spares pass 2 reading their records again
        state
            .job()?
            .keep_cells_in_memory(options.keep_for_fill)
            .map_err(error)?;
    }
    let cancel = Arc::new(AtomicBool::new(false));
    // an abort reaches the running batch at once (it stops at its next
    // shard), not at the end of the batch
    let on_abort = {
        let cancel = cancel.clone();
        Closure::<dyn FnMut()>::new(move || cancel.store(true, Ordering::Relaxed))
    };
    let listen = |method: &str| {
        if let Some(signal) = &options.signal {
            let _ = call(signal, method, &["abort".into(), on_abort.as_ref().clone()]);
        }
    };
    listen("addEventListener");
    let mut running = None;
    let result = pipeline(&state, pass, &shards, options, zip, &cancel, &mut running).await;
    listen("removeEventListener");
    if let Some(batch) = running.take() {
        cancel.store(true, Ordering::Relaxed);
        let _ = batch.await;
    }
    if pass == Pass::Fill || result.is_err() {
        // kept bytes serve one pass 2 only
        state.kept.take();
    }
    let mut job = state.job()?;
    if let Err(e) = result {
        job.abort();
        return Err(e);
    }
    match pass {
        Pass::Fit => {
            job.finish_fit().map_err(error)?;
            plan_view(&job)
        }
        Pass::Fill => {
            job.finish_fill().map_err(error)?;
            let summary = artifacts(&job)?
                .into_iter()
                .find(|(n, _)| n == core::SUMMARY_NAME)
                .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            js_sys::JSON::parse(&summary)
        }
    }
}

async fn pipeline(
    state: &State,
    pass: Pass,
    shards: &[Shard],
    options: &Options,
    mut zip: Option<&mut ZipOut>,
    cancel: &Arc<AtomicBool>,
    running: &mut Option<Running>,
) -> Result<(), JsValue> {
    let keep = Keep {
        outputs: zip.is_some() || options.on_shard.is_some(),
        crc: zip.is_some(),
    };
    let batches = batches(
        shards,
        rayon::current_num_threads(),
        BATCH_BYTES,
        OVERLAP_BYTES,
    );
    let bytes_of = |b: &[Shard]| b.iter().map(|s| s.size).sum::<u64>();
    let mut ahead = match batches.first() {
        Some(b) => Some(start_reads(state, b)?),
        None => None,
    };
    let mut running_bytes = 0;
    for k in 0..=batches.len() {
        // a large batch waits for the running one to end and be written
        let next_bytes = batches.get(k).map_or(0, |b| bytes_of(b));
        if running_bytes + next_bytes > OVERLAP_BYTES {
            let outputs = finish(state, options, running.take()).await?;
            hand_out(zip.as_deref_mut(), options, outputs).await?;
        }
        // this batch's inputs, in wasm memory (read while the last one ran)
        let source = MemorySource::default();
        for (path, buffer) in read_all(ahead.take().unwrap_or_default()).await? {
            options.check_cancel()?;
            let bytes = buffer.to_vec();
            if pass == Pass::Fit {
                let mut kept = state.kept.borrow_mut();
                let size = bytes.len() as u64;
                if kept.total + size <= options.keep_for_fill {
                    kept.total += size;
                    kept.bytes.insert(path.clone(), buffer);
                }
            }
            source.insert(path, bytes).map_err(error)?;
        }
        if let Some(next) = batches.get(k + 1) {
            ahead = Some(start_reads(state, next)?);
        }
        let last = finish(state, options, running.take()).await?;
        options.check_cancel()?;
        if let Some(batch) = batches.get(k) {
            *running = Some(start_batch(
                state.job.clone(),
                pass,
                batch.to_vec(),
                source,
                keep,
                cancel.clone(),
            ));
            running_bytes = next_bytes;
        }
        hand_out(zip.as_deref_mut(), options, last).await?;
    }
    Ok(())
}

/// Waits for the running batch, if any, and reports the progress: its
/// outputs (none without a batch).
async fn finish(
    state: &State,
    options: &Options,
    running: Option<Running>,
) -> Result<Vec<Output>, JsValue> {
    let Some(batch) = running else {
        return Ok(Vec::new());
    };
    let outputs = batch.await?;
    options.progress(&state.job()?.progress())?;
    Ok(outputs)
}

/// A finished batch's outputs to the zip and `onShard`.
async fn hand_out(
    zip: Option<&mut ZipOut>,
    options: &Options,
    outputs: Vec<Output>,
) -> Result<(), JsValue> {
    if let Some(z) = zip {
        if !outputs.is_empty() {
            z.add_all(&outputs).await?;
        }
    }
    if let Some(f) = &options.on_shard {
        for (path, bytes, _) in &outputs {
            let r = f.call2(&JsValue::NULL, &path.into(), &Uint8Array::from(&bytes[..]))?;
            if let Some(p) = r.dyn_ref::<Promise>() {
                JsFuture::from(p.clone()).await?;
            }
            options.check_cancel()?;
        }
    }
    options.check_cancel()
}

/// The plan as JavaScript sees it (camelCase), or `null`.
fn plan_view(job: &core::Job) -> Result<JsValue, JsValue> {
    match job.plan() {
        Some(p) => to_js(&camel(
            json!({ "columns": p.columns, "warnings": p.warnings }),
        )),
        None => Ok(JsValue::NULL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shards(sizes: &[u64]) -> Vec<Shard> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| Shard::of_file("train", &format!("part-{i:05}.csv"), size).unwrap())
            .collect()
    }

    /// Batches cover the shards in order, each closes as soon as it has
    /// enough shards and bytes for its place (or the most shards), or
    /// before a shard that would take it past `most_bytes`, and none is
    /// empty.
    fn check_capped(sizes: &[u64], threads: usize, bytes_each: u64, most_bytes: u64) -> Vec<usize> {
        let all = shards(sizes);
        let cut = batches(&all, threads, bytes_each, most_bytes);
        let flat: Vec<&Shard> = cut.iter().flat_map(|b| b.iter()).collect();
        assert_eq!(flat.len(), all.len());
        assert!(flat.iter().zip(&all).all(|(a, b)| std::ptr::eq(*a, b)));
        let bytes = |b: &[Shard]| b.iter().map(|s| s.size).sum::<u64>();
        for (i, b) in cut.iter().enumerate() {
            let (at_least, most, enough_bytes) = batch_limits(i, threads, bytes_each);
            let enough = |b: &[Shard]| {
                (b.len() >= at_least && bytes(b) >= enough_bytes && b.len().is_multiple_of(threads))
                    || b.len() >= most
            };
            assert!(!b.is_empty() && b.len() <= most);
            assert!(!enough(&b[..b.len() - 1]), "batch {i} went on past enough");
            assert!(
                b.len() == 1 || bytes(b) <= most_bytes,
                "batch {i} is over {most_bytes} bytes"
            );
            if let Some(next) = cut.get(i + 1) {
                let full = bytes(b).saturating_add(next[0].size) > most_bytes;
                assert!(
                    full || b.len().is_multiple_of(threads),
                    "batch {i} is not a multiple of {threads}"
                );
                assert!(full || enough(b), "batch {i} closed early");
            }
        }
        cut.iter().map(|b| b.len()).collect()
    }

    fn check(sizes: &[u64], threads: usize, bytes_each: u64) -> Vec<usize> {
        check_capped(sizes, threads, bytes_each, u64::MAX)
    }

    #[test]
    fn batches_cover_the_shards_in_order() {
        const MB16: u64 = 16 << 20;
        assert_eq!(check(&[], 2, MB16), Vec::<usize>::new());
        // the ramp: one shard a thread and 2 MB, then 4 MB, 8 MB; then 16 MB
        // and two shards a thread
        assert_eq!(check(&[4 << 20; 14], 2, MB16), vec![2, 2, 2, 4, 4]);
        assert_eq!(check(&[1_400_000; 40], 2, MB16), vec![2, 4, 6, 12, 12, 4]);
        check(&[100 << 10; 1200], 2, MB16);
        check(&[1 << 30, 1, 1, 1 << 30, 1, 5 << 20, 0, 0], 2, MB16);
        assert_eq!(check(&[0; 150], 4, MB16), vec![64, 64, 22]);
        assert_eq!(check(&[0; 150], 3, MB16), vec![63, 63, 24]);
        // 3.4 MB shards: 5 make 16 MB, but 5 on 2 threads leave one idle
        // for a shard's time; 6 do not
        assert_eq!(check(&[3_400_000; 21], 2, MB16), vec![2, 2, 4, 6, 6, 1]);
        assert_eq!(check(&[3_400_000; 22], 3, MB16), vec![3, 3, 3, 6, 6, 1]);
        // more threads than BATCH_SHARDS: a batch still gives each one a shard
        assert_eq!(check(&[0; 150], 100, MB16), vec![100, 50]);
        // no byte target (the single-threaded build): the fewest shards
        assert_eq!(check(&[1; 12], 2, 0), vec![2, 2, 2, 4, 2]);
        assert_eq!(check(&[64 << 20; 3], 1, 0), vec![1, 1, 1]);
        assert_eq!(check(&[64 << 20; 3], 1, MB16), vec![1, 1, 1]);
    }

    /// Shards of a GiB or more go one at a time; smaller ones fill a
    /// batch up to the cap, whatever the thread count.
    #[test]
    fn large_shards_are_batched_by_bytes() {
        const MB16: u64 = 16 << 20;
        const GIB: u64 = 1 << 30;
        assert_eq!(check_capped(&[GIB; 3], 2, MB16, GIB), vec![1, 1, 1]);
        assert_eq!(check_capped(&[3 * GIB, 1, 1], 2, MB16, GIB), vec![1, 2]);
        assert_eq!(
            check_capped(&[600 << 20; 4], 2, MB16, GIB),
            vec![1, 1, 1, 1]
        );
        // four shards a batch once ramped up, but at most 1 GiB of them
        assert_eq!(
            check_capped(&[300 << 20; 10], 2, MB16, GIB),
            vec![2, 2, 2, 3, 1]
        );
        assert_eq!(
            check_capped(&[250 << 20; 12], 2, MB16, GIB),
            vec![2, 2, 2, 4, 2]
        );
        check_capped(
            &[GIB, 1, 1, GIB - 1, 1, 5 << 20, 0, 0, 2 * GIB],
            3,
            MB16,
            GIB,
        );
    }
}
