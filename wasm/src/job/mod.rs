//! `Job`: core's job over JavaScript inputs (`Blob`s, bytes, streams, URLs).
//! Only the adapters live here: reading inputs a batch at a time (JS objects
//! cannot cross threads: [`input`]), handing batches to the thread pool
//! ([`batch`]), a pass's pipeline of reads, batches and outputs ([`pass`]),
//! and the zip of the outputs written to a `WritableStream` ([`zip_out`]).

mod batch;
mod input;
mod pass;
mod zip_out;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use js_sys::{Array, Promise, Reflect, Uint8Array};
use serde_json::json;
use shardimpute_core::{self as core, JobKind, JobType, Pass};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::{camel, error, js_error, lost, settings_from_js, settings_to_js, to_js};
use input::{read_blob, read_bytes, string_of, Input};
use pass::{run_pass, Options};

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

/// The plan as JavaScript sees it (camelCase), or `null`.
fn plan_view(job: &core::Job) -> Result<JsValue, JsValue> {
    match job.plan() {
        Some(p) => to_js(&camel(
            json!({ "columns": p.columns, "warnings": p.warnings }),
        )),
        None => Ok(JsValue::NULL),
    }
}
