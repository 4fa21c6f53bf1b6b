//! `Job`: one run over a set of browser files, pass 1 then pass 2.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Mutex;

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use serde::Serialize;
use serde_json::json;
use shardimpute_core::artifacts::{self, JSON_NAME, PICKLE_NAME, SUMMARY_NAME};
use shardimpute_core::{
    engine, plan, pyfloat, Config, Control, Dataset, Error, ErrorKind, FillDict, FillPlan,
    FillValue, JobType, Pass, Progress, Shard, ShardReport, Sink, Source, TrainStats,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{AbortSignal, Blob};

use crate::{error, to_js};

/// One run: the files of a dataset, the settings, and what the passes found.
///
/// `new Job(jobType, settings, files)` where `files` is an array of
/// `{ path: 'train/part-00000.csv', file: Blob }` (paths relative to the
/// dataset folder). Throws when the layout is wrong (a split folder missing,
/// a split without shards).
#[wasm_bindgen]
pub struct Job {
    state: Rc<RefCell<State>>,
}

struct State {
    job: JobType,
    config: Config,
    dataset: Dataset,
    files: HashMap<String, Blob>,
    plan: Option<FillPlan>,
    dict: Option<FillDict>,
    reports: Vec<ShardReport>,
    busy: bool,
}

/// What `fit` and `fill` take: `{ onProgress, onShard, signal }`.
struct Options {
    on_progress: Option<Function>,
    on_shard: Option<Function>,
    signal: Option<AbortSignal>,
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
            signal: get("signal").and_then(|v| v.dyn_into().ok()),
        }
    }

    fn check_cancel(&self) -> Result<(), JsValue> {
        match &self.signal {
            Some(s) if s.aborted() => Err(error(Error::new(ErrorKind::Cancelled)).into()),
            _ => Ok(()),
        }
    }

    fn progress(&self, p: &Progress) -> Result<(), JsValue> {
        if let Some(f) = &self.on_progress {
            f.call1(&JsValue::NULL, &to_js(p)?)?;
        }
        Ok(())
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
    ) -> Result<Job, JsError> {
        let job = JobType::parse(job_type).map_err(error)?;
        let config: Config = if settings.is_undefined() || settings.is_null() {
            Config::default()
        } else {
            serde_wasm_bindgen::from_value(settings)
                .map_err(|e| JsError::new(&format!("invalid settings: {e}")))?
        };
        config.validate().map_err(error)?;
        let mut blobs = HashMap::new();
        let mut listing = Vec::new();
        for (i, item) in files.iter().enumerate() {
            let path = Reflect::get(&item, &JsValue::from_str("path"))
                .ok()
                .and_then(|p| p.as_string())
                .ok_or_else(|| JsError::new(&format!("files[{i}] has no `path` string")))?;
            let blob: Blob = Reflect::get(&item, &JsValue::from_str("file"))
                .ok()
                .and_then(|f| f.dyn_into().ok())
                .ok_or_else(|| JsError::new(&format!("files[{i}] ({path}) has no `file` Blob")))?;
            listing.push((path.clone(), blob.size() as u64));
            blobs.insert(path, blob);
        }
        let dataset = shardimpute_core::discover(
            listing.iter().map(|(p, s)| (p.as_str(), *s)),
            &job.default_splits(),
        )
        .map_err(error)?;
        Ok(Job {
            state: Rc::new(RefCell::new(State {
                job,
                config,
                dataset,
                files: blobs,
                plan: None,
                dict: None,
                reports: Vec::new(),
                busy: false,
            })),
        })
    }

    /// The splits and shards found, and the files that will be ignored:
    /// `{ splits: [{ name, shards: [{ path, name, format, size }] }], ignored }`.
    #[wasm_bindgen(getter, unchecked_return_type = "Dataset")]
    pub fn dataset(&self) -> Result<JsValue, JsError> {
        let s = self.state.borrow();
        let splits: Vec<_> = s
            .dataset
            .splits
            .iter()
            .map(|split| {
                let shards: Vec<_> = split
                    .shards
                    .iter()
                    .map(|sh| {
                        json!({
                            "path": sh.path(),
                            "name": sh.name,
                            "format": sh.kind.label(),
                            "size": sh.size,
                        })
                    })
                    .collect();
                json!({ "name": split.name, "shards": shards })
            })
            .collect();
        to_js(&json!({ "splits": splits, "ignored": s.dataset.ignored }))
    }

    /// The settings in use (after defaults), as a plain object.
    #[wasm_bindgen(getter, unchecked_return_type = "Settings")]
    pub fn settings(&self) -> Result<JsValue, JsError> {
        to_js(&self.state.borrow().config)
    }

    /// Loads saved fill values (`impute_dict.pkl` or `impute_dict.json`) for
    /// a validation, testing or calibration job.
    #[wasm_bindgen(js_name = setArtifacts)]
    pub fn set_artifacts(&self, name: &str, bytes: &[u8]) -> Result<(), JsError> {
        let dict = artifacts::read_dict(name, bytes).map_err(error)?;
        let mut s = self.state.borrow_mut();
        s.dict = Some(dict);
        s.plan = None;
        Ok(())
    }

    /// Pass 1 over the `train` shards. Resolves to the plan: `{ columns:
    /// [{ name, type, strategy, fillValue, missingCount, missingPct,
    /// distinct, skipped }], warnings }`. Options: `{ onProgress, signal }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Plan>")]
    pub fn fit(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PassOptions | undefined")] options: JsValue,
    ) -> Promise {
        future_to_promise(fit(self.state.clone(), Options::from_js(&options)))
    }

    /// The plan of the last pass 1 (as `fit` resolved to), or `null`.
    #[wasm_bindgen(getter, unchecked_return_type = "Plan | null")]
    pub fn plan(&self) -> Result<JsValue, JsError> {
        match &self.state.borrow().plan {
            Some(p) => plan_to_js(p),
            None => Ok(JsValue::NULL),
        }
    }

    /// The fill values in use, `{ column: value }`, or `null` before pass 1
    /// (or `setArtifacts`).
    #[wasm_bindgen(
        getter,
        js_name = fillValues,
        unchecked_return_type = "Record<string, FillValue> | null"
    )]
    pub fn fill_values(&self) -> Result<JsValue, JsError> {
        match &self.state.borrow().dict {
            Some(d) => to_js(&dict_object(d)),
            None => Ok(JsValue::NULL),
        }
    }

    /// Sets one column's fill value from text, read as the column's current
    /// fill value is typed (number, text, or `True`/`False`).
    #[wasm_bindgen(js_name = setFillValue)]
    pub fn set_fill_value(&self, column: &str, text: &str) -> Result<(), JsError> {
        let mut s = self.state.borrow_mut();
        if s.busy {
            return Err(JsError::new("the job is running"));
        }
        let dict = s
            .dict
            .as_mut()
            .ok_or_else(|| JsError::new("no fill values yet: run pass 1 or load impute_dict"))?;
        let slot = dict
            .entries
            .iter_mut()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v)
            .ok_or_else(|| JsError::new(&format!("column `{column}` has no fill value")))?;
        let value = parse_like(slot, text).ok_or_else(|| {
            JsError::new(&format!(
                "`{text}` is not a valid fill value for column `{column}` (like `{}`)",
                slot.to_text()
            ))
        })?;
        *slot = value.clone();
        let dict = dict.clone();
        if let Some(plan) = s.plan.as_mut() {
            plan.dict = dict;
            if let Some(c) = plan.columns.iter_mut().find(|c| c.name == column) {
                c.fill_value = Some(value);
            }
        }
        Ok(())
    }

    /// Pass 2 over every shard of every split. `onShard(path, bytes)` gets
    /// each output shard, in shard order (awaited when it returns a promise).
    /// Resolves to the run's summary (`imputation_summary.json`'s content).
    /// Options: `{ onShard, onProgress, signal }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn fill(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FillOptions | undefined")] options: JsValue,
    ) -> Promise {
        future_to_promise(fill(self.state.clone(), Options::from_js(&options)))
    }

    /// The artifacts, the same bytes the CLI writes: `{ 'impute_dict.pkl',
    /// 'impute_dict.json', 'imputation_summary.json' }` as `Uint8Array`s.
    #[wasm_bindgen(unchecked_return_type = "Artifacts")]
    pub fn artifacts(&self) -> Result<JsValue, JsError> {
        let s = self.state.borrow();
        let dict = s
            .dict
            .as_ref()
            .ok_or_else(|| JsError::new("no fill values yet: run pass 1 or load impute_dict"))?;
        let out = js_sys::Object::new();
        let put = |name: &str, bytes: &[u8]| {
            Reflect::set(&out, &name.into(), &Uint8Array::from(bytes)).map(|_| ())
        };
        let summary = artifacts::summary_json(
            s.job,
            s.plan.as_ref(),
            dict,
            &s.reports,
            &s.dataset.ignored,
            &s.config,
        );
        put(PICKLE_NAME, &artifacts::dict_to_pickle(dict))
            .and_then(|_| put(JSON_NAME, artifacts::dict_to_json(dict).as_bytes()))
            .and_then(|_| put(SUMMARY_NAME, summary.as_bytes()))
            .map_err(|_| JsError::new("cannot build the artifacts object"))?;
        Ok(out.into())
    }
}

/// Marks the job busy for one pass; a second concurrent pass is refused.
struct Busy(Rc<RefCell<State>>);

impl Busy {
    fn start(state: &Rc<RefCell<State>>) -> Result<Busy, JsValue> {
        let mut s = state.borrow_mut();
        if s.busy {
            return Err(JsError::new("the job is already running a pass").into());
        }
        s.busy = true;
        Ok(Busy(state.clone()))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.borrow_mut().busy = false;
    }
}

/// Shards handed to the passes a batch at a time: two per thread, so
/// threads stay busy while shard sizes differ; few enough to bound memory.
fn batch_size() -> usize {
    match rayon::current_num_threads() {
        1 => 1,
        n => 2 * n,
    }
}

/// Shard bytes read for one batch; each is taken once by the pass.
struct Batch(Mutex<HashMap<String, Vec<u8>>>);

impl Source for Batch {
    fn read(&self, shard: &Shard) -> shardimpute_core::Result<Vec<u8>> {
        let mut map = self
            .0
            .lock()
            .map_err(|_| Error::new(ErrorKind::Cancelled))?;
        map.remove(&shard.path()).ok_or_else(|| {
            Error::new(ErrorKind::Layout("the shard was not read".into())).in_file(shard.path())
        })
    }
}

/// Output shards of one batch, by path.
#[derive(Default)]
struct Outputs(Mutex<HashMap<String, Vec<u8>>>);

impl Sink for Outputs {
    fn write(&self, shard: &Shard, bytes: Vec<u8>) -> shardimpute_core::Result<()> {
        let mut map = self
            .0
            .lock()
            .map_err(|_| Error::new(ErrorKind::Cancelled))?;
        map.insert(shard.path(), bytes);
        Ok(())
    }
}

/// The shards of a pass, a batch at a time, each batch's files read while
/// the batch before it is processed (the browser reads Blobs on its own
/// threads): at most two batches of shard bytes in memory.
struct ReadAhead<'a> {
    chunks: std::slice::Chunks<'a, Shard>,
    files: &'a HashMap<String, Blob>,
    ahead: Option<(&'a [Shard], Vec<Read>)>,
}

/// A file being read: its path and the promise of its bytes.
type Read = (String, Promise);

impl<'a> ReadAhead<'a> {
    fn new(shards: &'a [Shard], files: &'a HashMap<String, Blob>) -> Result<Self, JsValue> {
        let mut r = ReadAhead {
            chunks: shards.chunks(batch_size()),
            files,
            ahead: None,
        };
        r.start_next()?;
        Ok(r)
    }

    fn start_next(&mut self) -> Result<(), JsValue> {
        self.ahead = match self.chunks.next() {
            None => None,
            Some(chunk) => {
                let mut reads = Vec::with_capacity(chunk.len());
                for shard in chunk {
                    let path = shard.path();
                    let blob = self
                        .files
                        .get(&path)
                        .ok_or_else(|| JsError::new(&format!("{path}: file not given")))?;
                    reads.push((path, blob.array_buffer()));
                }
                Some((chunk, reads))
            }
        };
        Ok(())
    }

    /// The next batch and its bytes; starts reading the one after it.
    async fn next(&mut self, options: &Options) -> Result<Option<(&'a [Shard], Batch)>, JsValue> {
        let Some((chunk, reads)) = self.ahead.take() else {
            return Ok(None);
        };
        let mut map = HashMap::new();
        for (path, read) in reads {
            options.check_cancel()?;
            let buffer = JsFuture::from(read).await.map_err(|e| {
                let why = e
                    .dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
                    .unwrap_or_else(|| format!("{e:?}"));
                JsError::new(&format!("{path}: cannot read the file: {why}"))
            })?;
            map.insert(path, Uint8Array::new(&buffer).to_vec());
        }
        self.start_next()?;
        options.check_cancel()?;
        Ok(Some((chunk, Batch(Mutex::new(map)))))
    }
}

/// The shards, blobs and settings a pass needs, taken out of the state so
/// no borrow is held across an `await`.
fn snapshot(state: &Rc<RefCell<State>>, pass: Pass) -> (Vec<Shard>, HashMap<String, Blob>, Config) {
    let s = state.borrow();
    let shards: Vec<Shard> = match pass {
        Pass::Fit => s
            .dataset
            .split("train")
            .map(|t| t.shards.clone())
            .unwrap_or_default(),
        Pass::Fill => s.dataset.shards().cloned().collect(),
    };
    (shards, s.files.clone(), s.config.clone())
}

struct Tally {
    pass: Pass,
    total: usize,
    bytes_total: u64,
    done: usize,
    bytes: u64,
    rows: u64,
}

impl Tally {
    fn new(pass: Pass, shards: &[Shard]) -> Tally {
        Tally {
            pass,
            total: shards.len(),
            bytes_total: shards.iter().map(|s| s.size).sum(),
            done: 0,
            bytes: 0,
            rows: 0,
        }
    }

    fn add(&mut self, batch: &[Shard], rows: u64) -> Progress {
        self.done += batch.len();
        self.bytes += batch.iter().map(|s| s.size).sum::<u64>();
        self.rows += rows;
        Progress {
            pass: self.pass,
            shard: batch.last().map(|s| s.path()).unwrap_or_default(),
            shards_done: self.done,
            shards_total: self.total,
            bytes_done: self.bytes,
            bytes_total: self.bytes_total,
            rows_done: self.rows,
        }
    }
}

async fn fit(state: Rc<RefCell<State>>, options: Options) -> Result<JsValue, JsValue> {
    let _busy = Busy::start(&state)?;
    let (state, options) = (&state, &options);
    if state.borrow().job != JobType::Training {
        return Err(JsError::new("pass 1 runs only in a training job").into());
    }
    let (shards, files, config) = snapshot(state, Pass::Fit);
    let mut tally = Tally::new(Pass::Fit, &shards);
    let mut stats = TrainStats::default();
    let mut batches = ReadAhead::new(&shards, &files)?;
    while let Some((chunk, batch)) = batches.next(options).await? {
        let part = engine::fit(chunk, &batch, &config, Control::default()).map_err(error)?;
        let rows = part.rows;
        stats = stats.merge(part).map_err(error)?;
        options.progress(&tally.add(chunk, rows))?;
    }
    engine::check_columns(&stats, &config).map_err(error)?;
    let plan = plan::plan(&stats, &config).map_err(error)?;
    let out = plan_to_js(&plan)?;
    let mut s = state.borrow_mut();
    s.dict = Some(plan.dict.clone());
    s.plan = Some(plan);
    s.reports.clear();
    Ok(out)
}

async fn fill(state: Rc<RefCell<State>>, options: Options) -> Result<JsValue, JsValue> {
    let _busy = Busy::start(&state)?;
    let (state, options) = (&state, &options);
    let dict = state.borrow().dict.clone().ok_or_else(|| {
        let job = state.borrow().job;
        JsError::new(&match job {
            JobType::Training => "run pass 1 first: there are no fill values yet".to_string(),
            other => format!(
                "a {} job needs saved fill values (impute_dict.pkl or impute_dict.json)",
                other.name()
            ),
        })
    })?;
    let (shards, files, config) = snapshot(state, Pass::Fill);
    let mut tally = Tally::new(Pass::Fill, &shards);
    let mut reports = Vec::with_capacity(shards.len());
    let mut batches = ReadAhead::new(&shards, &files)?;
    while let Some((chunk, batch)) = batches.next(options).await? {
        let outputs = Outputs::default();
        let done = engine::fill(chunk, &batch, &outputs, &dict, &config, Control::default())
            .map_err(error)?;
        let mut outputs = outputs
            .0
            .into_inner()
            .map_err(|_| JsError::new("a worker thread failed"))?;
        for shard in chunk {
            let path = shard.path();
            let bytes = outputs
                .remove(&path)
                .ok_or_else(|| JsError::new(&format!("{path}: no output")))?;
            if let Some(f) = &options.on_shard {
                let r = f.call2(&JsValue::NULL, &path.into(), &Uint8Array::from(&bytes[..]))?;
                if let Some(p) = r.dyn_ref::<Promise>() {
                    JsFuture::from(p.clone()).await?;
                }
            }
        }
        let rows = done.iter().map(|r| r.rows_in).sum();
        reports.extend(done);
        options.progress(&tally.add(chunk, rows))?;
    }
    let mut s = state.borrow_mut();
    s.reports = reports;
    let summary = artifacts::summary_json(
        s.job,
        s.plan.as_ref(),
        &dict,
        &s.reports,
        &s.dataset.ignored,
        &s.config,
    );
    js_sys::JSON::parse(&summary)
}

/// One column of the plan as JS sees it (camelCase).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ColumnView<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    ctype: &'static str,
    strategy: Option<&'static str>,
    fill_value: Option<&'a FillValue>,
    missing_count: u64,
    missing_pct: f64,
    distinct: Option<u64>,
    skipped: Option<&'a str>,
}

fn plan_to_js(plan: &FillPlan) -> Result<JsValue, JsError> {
    let columns: Vec<ColumnView> = plan
        .columns
        .iter()
        .map(|c| ColumnView {
            name: &c.name,
            ctype: c.ctype.name(),
            strategy: c.strategy.map(|s| s.name()),
            fill_value: c.fill_value.as_ref(),
            missing_count: c.missing_count,
            missing_pct: c.missing_pct,
            distinct: c.distinct,
            skipped: c.skipped.as_deref(),
        })
        .collect();
    to_js(&json!({ "columns": columns, "warnings": plan.warnings }))
}

fn dict_object(dict: &FillDict) -> serde_json::Map<String, serde_json::Value> {
    dict.entries
        .iter()
        .map(|(c, v)| (c.clone(), serde_json::to_value(v).unwrap_or_default()))
        .collect()
}

/// `text` read as a value of the same kind as `like`.
fn parse_like(like: &FillValue, text: &str) -> Option<FillValue> {
    match like {
        FillValue::Number(_) | FillValue::Int(_) => {
            let x = pyfloat::parse_python_float(text.trim())?;
            Some(match like {
                FillValue::Int(_) if x.fract() == 0.0 && x.abs() < 9.0e15 => {
                    FillValue::Int(x as i64)
                }
                _ => FillValue::Number(x),
            })
        }
        FillValue::Bool(_) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(FillValue::Bool(true)),
            "false" | "0" => Some(FillValue::Bool(false)),
            _ => None,
        },
        FillValue::Text(_) => Some(FillValue::Text(text.to_string())),
    }
}
