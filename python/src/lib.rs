//! `shardimpute._native`: the Python package's bridge to the engine.
//!
//! Glue only. The command line is the `cli` crate's own
//! ([`shardimpute_cli::exit_code`]); the pieces a distributed engine needs
//! are core's ([`fit_shard`], [`TrainStats`] bytes and merge,
//! [`plan_from_state`], [`fill_shard`], [`FolderRun`] and [`stage_shard`]).
//! Settings travel as their JSON, pass 1 states and fill values as core's
//! checked bytes; engine errors become `shardimpute.ShardImputeError` with
//! the engine's message, kind, file and place.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use shardimpute_cli::Runner;
use shardimpute_core::fs::{run_folders, stage_shard, FolderRun, Folders};
use shardimpute_core::{
    fill_shard, fit_shard, plan_from_state, Control, Error, ErrorKind, FillDict, Job, JobKind,
    JobType, Merge, Pass, Settings, Shard, ShardReport, TrainStats, SETTINGS,
};

/// The engine's error as `shardimpute.ShardImputeError`.
fn py_err(e: Error) -> PyErr {
    Python::attach(|py| match make_py_err(py, &e) {
        Ok(err) => err,
        Err(err) => err,
    })
}

fn make_py_err(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let class = py
        .import("shardimpute._errors")?
        .getattr("ShardImputeError")?;
    let (kind, detail) = kind_parts(e.kind());
    let value = class.call1((
        e.to_string(),
        kind,
        detail,
        e.file().map(str::to_string),
        e.place().map(str::to_string),
    ))?;
    Ok(PyErr::from_value(value))
}

/// An error kind's name and message.
fn kind_parts(k: &ErrorKind) -> (&'static str, String) {
    let detail = match k {
        ErrorKind::Io(m)
        | ErrorKind::Layout(m)
        | ErrorKind::Csv(m)
        | ErrorKind::Parquet(m)
        | ErrorKind::Gzip(m)
        | ErrorKind::Schema(m)
        | ErrorKind::Artifact(m)
        | ErrorKind::Settings(m)
        | ErrorKind::FillValue(m)
        | ErrorKind::RowCount(m)
        | ErrorKind::State(m)
        | ErrorKind::Internal(m) => m.clone(),
        _ => String::new(),
    };
    (k.name(), detail)
}

/// The kind of that name, with its message (the inverse of [`kind_parts`]).
fn kind_of(name: &str, m: String) -> ErrorKind {
    match name {
        "io" => ErrorKind::Io(m),
        "layout" => ErrorKind::Layout(m),
        "csv" => ErrorKind::Csv(m),
        "parquet" => ErrorKind::Parquet(m),
        "gzip" => ErrorKind::Gzip(m),
        "schema" => ErrorKind::Schema(m),
        "artifact" => ErrorKind::Artifact(m),
        "settings" => ErrorKind::Settings(m),
        "fill_value" => ErrorKind::FillValue(m),
        "row_count" => ErrorKind::RowCount(m),
        "state" => ErrorKind::State(m),
        "cancelled" => ErrorKind::Cancelled,
        _ => ErrorKind::Internal(m),
    }
}

/// A Python exception raised on a cluster as the engine error it carries
/// (a `ShardImputeError` from a worker), else as an internal error.
fn engine_err(py: Python<'_>, err: PyErr) -> Error {
    let value = err.value(py);
    let attr = |name: &str| -> Option<String> {
        value
            .getattr(name)
            .ok()
            .and_then(|v| v.extract::<Option<String>>().ok())
            .flatten()
    };
    match attr("kind") {
        Some(kind) => {
            let mut e = Error::new(kind_of(&kind, attr("detail").unwrap_or_default()));
            if let Some(p) = attr("place") {
                e = e.at(p);
            }
            if let Some(f) = attr("file") {
                e = e.in_file(f);
            }
            e
        }
        None => Error::new(ErrorKind::Internal(format!("on the cluster: {value}"))),
    }
}

fn settings_from_json(json: &str) -> PyResult<Settings> {
    let s: Settings = serde_json::from_str(json).map_err(|e| {
        py_err(Error::new(ErrorKind::Settings(format!(
            "settings JSON: {e}"
        ))))
    })?;
    s.validate().map_err(py_err)?;
    Ok(s)
}

fn to_json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v)
        .map_err(|e| py_err(Error::new(ErrorKind::Internal(format!("to JSON: {e}")))))
}

/// `split/name` (or a bare file name, taken as `train/name`) as a shard.
fn shard_of(path: &str, size: u64) -> PyResult<Shard> {
    let (split, name) = path.rsplit_once('/').unwrap_or(("train", path));
    let split = split.rsplit('/').next().unwrap_or(split);
    Shard::of_file(split, name, size).map_err(py_err)
}

fn read(path: &Path) -> PyResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| py_err(Error::io(path.display().to_string(), "read", &e)))
}

/// Every setting: `(key, environment variable, kind)`, kind one of
/// `value`, `switch`, `per_column`.
#[pyfunction]
fn settings_table() -> Vec<(&'static str, &'static str, &'static str)> {
    SETTINGS
        .iter()
        .map(|s| {
            let kind = match s.kind {
                shardimpute_core::FlagKind::Value => "value",
                shardimpute_core::FlagKind::Switch => "switch",
                shardimpute_core::FlagKind::PerColumn => "per_column",
            };
            (s.key, s.env, kind)
        })
        .collect()
}

/// Settings from `(ENVIRONMENT_VARIABLE, text)` pairs, checked, as JSON.
#[pyfunction]
fn settings_json(pairs: Vec<(String, String)>) -> PyResult<String> {
    let s = Settings::from_env_vars(pairs).map_err(py_err)?;
    s.validate().map_err(py_err)?;
    to_json(&s)
}

/// Settings JSON read back, checked and written again (as the engine
/// writes it).
#[pyfunction]
fn settings_json_checked(json: &str) -> PyResult<String> {
    to_json(&settings_from_json(json)?)
}

/// Pass 1 of one shard from its bytes (`path` names the shard: its
/// extension gives the format): the state's bytes.
#[pyfunction]
fn fit_bytes(py: Python<'_>, path: &str, data: Vec<u8>, settings: &str) -> PyResult<Py<PyBytes>> {
    let settings = settings_from_json(settings)?;
    let shard = shard_of(path, data.len() as u64)?;
    let state = py
        .detach(|| fit_shard(&shard, data, &settings).map(|s| s.to_bytes()))
        .map_err(py_err)?;
    Ok(PyBytes::new(py, &state).unbind())
}

/// Pass 1 of one shard file on a local disk: the state's bytes. The shard
/// is named `<parent folder>/<file name>`.
#[pyfunction]
fn fit_file(py: Python<'_>, path: PathBuf, settings: &str) -> PyResult<Py<PyBytes>> {
    let data = read(&path)?;
    let name = shard_name(&path);
    fit_bytes(py, &name, data, settings)
}

fn shard_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    match path.parent().and_then(|p| p.file_name()) {
        Some(dir) => format!("{}/{file}", dir.to_string_lossy()),
        None => file.into_owned(),
    }
}

/// Two states' bytes merged (associative and commutative): the merged
/// state's bytes.
#[pyfunction]
fn merge_states(py: Python<'_>, a: Vec<u8>, b: Vec<u8>) -> PyResult<Py<PyBytes>> {
    let merged = py
        .detach(|| -> Result<Vec<u8>, Error> {
            let mut x = TrainStats::from_bytes(&a)?;
            x.merge(TrainStats::from_bytes(&b)?)?;
            Ok(x.to_bytes())
        })
        .map_err(py_err)?;
    Ok(PyBytes::new(py, &merged).unbind())
}

/// A state's rows, shards and columns.
#[pyfunction]
fn state_info(state: Vec<u8>) -> PyResult<(u64, u64, Vec<String>)> {
    let s = TrainStats::from_bytes(&state).map_err(py_err)?;
    Ok((s.rows, s.shards, s.columns))
}

/// The plan from the merged state of every training shard: the fill
/// values' bytes and the plan as JSON (columns, warnings, rows).
#[pyfunction]
fn plan_state(state: Vec<u8>, settings: &str) -> PyResult<(Py<PyBytes>, String)> {
    let settings = settings_from_json(settings)?;
    let stats = TrainStats::from_bytes(&state).map_err(py_err)?;
    let plan = plan_from_state(&stats, &settings).map_err(py_err)?;
    let json = to_json(&plan)?;
    Python::attach(|py| Ok((PyBytes::new(py, &plan.dict.to_bytes()).unbind(), json)))
}

/// `impute_dict.pkl`'s bytes for fill values' bytes.
#[pyfunction]
fn dict_pickle(py: Python<'_>, dict: Vec<u8>) -> PyResult<Py<PyBytes>> {
    let dict = FillDict::from_bytes(&dict).map_err(py_err)?;
    Ok(PyBytes::new(py, &dict.to_pickle()).unbind())
}

/// Pass 2 of one shard from its bytes: the output's bytes and the report
/// as JSON.
#[pyfunction]
fn fill_bytes(
    py: Python<'_>,
    path: &str,
    data: Vec<u8>,
    dict: Vec<u8>,
    settings: &str,
) -> PyResult<(Py<PyBytes>, String)> {
    let settings = settings_from_json(settings)?;
    let dict = FillDict::from_bytes(&dict).map_err(py_err)?;
    let shard = shard_of(path, data.len() as u64)?;
    let (out, report) = py
        .detach(|| fill_shard(&shard, data, &dict, &settings))
        .map_err(py_err)?;
    Ok((PyBytes::new(py, &out).unbind(), to_json(&report)?))
}

/// Pass 2 of the shard `split/name` read from `src`, staged into the
/// output folder `output` that a cluster run's driver holds: the staged
/// file's name and the report as JSON.
#[pyfunction]
fn stage_file(
    py: Python<'_>,
    src: PathBuf,
    split: &str,
    name: &str,
    output: PathBuf,
    dict: Vec<u8>,
    settings: &str,
) -> PyResult<(String, String)> {
    let settings = settings_from_json(settings)?;
    let dict = FillDict::from_bytes(&dict).map_err(py_err)?;
    let size = std::fs::metadata(&src).map_or(0, |m| m.len());
    let shard = Shard::of_file(split, name, size).map_err(py_err)?;
    let (tmp, report) = py
        .detach(|| stage_shard(&src, &shard, &output, &dict, &settings))
        .map_err(py_err)?;
    Ok((tmp, to_json(&report)?))
}

/// Whether a job of this kind has pass 1 / pass 2.
fn passes(kind: JobKind) -> (bool, bool) {
    match kind {
        JobKind::Run(JobType::Training) => (true, true),
        JobKind::Run(_) | JobKind::Fill => (false, true),
        JobKind::Fit => (true, false),
    }
}

/// A whole job over folders with its passes run by `driver`, a Python
/// object with `fit(tasks, settings_json) -> state bytes` and
/// `fill(tasks, output, dict_bytes, settings_json) -> (results, error)`
/// (the Dask driver in `shardimpute._dask`). The folders, checks,
/// artifacts and publishing are core's, as in [`run_folders`].
fn run_on(
    driver: &Py<PyAny>,
    kind: JobKind,
    settings: Settings,
    at: Folders<'_>,
    ctl: Control<'_>,
    timestamp: &str,
) -> Result<Job, Error> {
    let settings_json = serde_json::to_string(&settings)
        .map_err(|e| Error::new(ErrorKind::Internal(e.to_string())))?;
    let mut run = FolderRun::open(kind, settings, at)?;
    let (fits, fills) = passes(kind);
    let cancelled = || {
        ctl.cancel
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    };
    let task = |run: &FolderRun, s: &Shard| {
        (
            run.input_path(s).display().to_string(),
            s.split.clone(),
            s.name.clone(),
        )
    };
    if fits {
        let shards = run.job_mut().begin(Pass::Fit)?;
        let tasks: Vec<_> = shards.iter().map(|s| task(&run, s)).collect();
        let state: Vec<u8> = Python::attach(|py| {
            driver
                .call_method1(py, "fit", (tasks, &settings_json))
                .and_then(|b| b.extract::<Vec<u8>>(py))
                .map_err(|e| engine_err(py, e))
        })?;
        if cancelled() {
            return Err(Error::cancelled());
        }
        let job = run.job_mut();
        job.merge_state(TrainStats::from_bytes(&state)?)?;
        job.finish_fit()?;
    }
    if fills {
        let shards = run.job_mut().begin(Pass::Fill)?;
        let dict = run
            .job()
            .fill_values()
            .ok_or_else(|| Error::new(ErrorKind::State("no fill values".into())))?
            .to_bytes();
        let output = run
            .output()
            .ok_or_else(|| Error::new(ErrorKind::State("this run writes no shards".into())))?
            .display()
            .to_string();
        let tasks: Vec<_> = shards.iter().map(|s| task(&run, s)).collect();
        type Done = Vec<(String, String, String, String)>;
        let (done, failed): (Done, Option<Error>) = Python::attach(|py| {
            let answer = driver
                .call_method1(
                    py,
                    "fill",
                    (tasks, output, PyBytes::new(py, &dict), &settings_json),
                )
                .map_err(|e| engine_err(py, e))?;
            let answer = answer.bind(py).cast::<PyTuple>().map_err(|_| {
                Error::new(ErrorKind::Internal(
                    "the driver's fill gave no tuple".into(),
                ))
            })?;
            let done: Done = answer
                .get_item(0)
                .and_then(|d| d.extract())
                .map_err(|e| engine_err(py, e))?;
            let error = answer.get_item(1).ok().filter(|e| !e.is_none());
            Ok::<_, Error>((done, error.map(|e| engine_err(py, PyErr::from_value(e)))))
        })?;
        let mut reports = Vec::new();
        for (split, name, tmp, report) in done {
            let shard = shards
                .iter()
                .find(|s| s.split == split && s.name == name)
                .ok_or_else(|| {
                    Error::new(ErrorKind::State(format!(
                        "{split}/{name} is not a shard of this job"
                    )))
                })?;
            // adopted even when another shard failed: dropping the run
            // then removes it
            run.adopt(shard, &tmp)?;
            let report: ShardReport = serde_json::from_str(&report)
                .map_err(|e| Error::new(ErrorKind::Internal(format!("a shard report: {e}"))))?;
            reports.push(report);
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if cancelled() {
            return Err(Error::cancelled());
        }
        let job = run.job_mut();
        job.add_fill_reports(reports)?;
        job.finish_fill()?;
    }
    run.finish(timestamp)
}

/// The command line (`argv` as a process gets it, the program name
/// first), run as the native `shardimpute` binary runs it; with a
/// `driver`, the passes run on it (a cluster). Returns the exit code.
#[pyfunction]
#[pyo3(signature = (argv, driver=None))]
fn main(py: Python<'_>, argv: Vec<String>, driver: Option<Py<PyAny>>) -> u8 {
    py.detach(|| match &driver {
        None => shardimpute_cli::exit_code(argv, &run_folders),
        Some(d) => {
            let runner =
                move |kind: JobKind,
                      settings: Settings,
                      at: Folders<'_>,
                      ctl: Control<'_>,
                      ts: &str| run_on(d, kind, settings, at, ctl, ts);
            let runner: &Runner<'_> = &runner;
            shardimpute_cli::exit_code(argv, runner)
        }
    })
}

/// A whole job over folders (what `shardimpute run` does, without the
/// command line): `job_type`, the folders, settings as JSON; with a
/// `driver`, the passes run on it. Returns a summary as JSON.
#[pyfunction]
#[pyo3(signature = (job_type, input, output, settings, artifacts_in=None, artifacts_out=None, overwrite=false, driver=None))]
#[allow(clippy::too_many_arguments)]
fn run_job(
    py: Python<'_>,
    job_type: &str,
    input: PathBuf,
    output: PathBuf,
    settings: &str,
    artifacts_in: Option<PathBuf>,
    artifacts_out: Option<PathBuf>,
    overwrite: bool,
    driver: Option<Py<PyAny>>,
) -> PyResult<String> {
    let settings = settings_from_json(settings)?;
    let job_type = JobType::parse(job_type).map_err(py_err)?;
    let artifacts_out = artifacts_out.unwrap_or_else(|| output.join("model_artifacts"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let timestamp = shardimpute_core::utc_timestamp(now);
    let job = py
        .detach(|| {
            let at = Folders {
                input: &input,
                output: Some(&output),
                artifacts_out: &artifacts_out,
                artifacts_in: artifacts_in.as_deref(),
                impute_dict: None,
                splits: None,
                overwrite,
            };
            let kind = JobKind::Run(job_type);
            match &driver {
                None => run_folders(kind, settings, at, Control::default(), &timestamp),
                Some(d) => run_on(d, kind, settings, at, Control::default(), &timestamp),
            }
        })
        .map_err(py_err)?;
    let reports = job.reports();
    let summary = serde_json::json!({
        "job_type": job.kind().name(),
        "shards": reports.len(),
        "rows": reports.iter().map(|r| r.rows_in).sum::<u64>(),
        "cells_filled": reports.iter().flat_map(|r| r.cells_filled.iter()).map(|(_, n)| n).sum::<u64>(),
        "warnings": job.warnings(),
        "artifacts": artifacts_out.display().to_string(),
    });
    to_json(&summary)
}

/// The engine's format version of pass 1 states.
#[pyfunction]
fn state_version() -> u32 {
    shardimpute_core::STATE_VERSION
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_function(wrap_pyfunction!(run_job, m)?)?;
    m.add_function(wrap_pyfunction!(settings_table, m)?)?;
    m.add_function(wrap_pyfunction!(settings_json, m)?)?;
    m.add_function(wrap_pyfunction!(settings_json_checked, m)?)?;
    m.add_function(wrap_pyfunction!(fit_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(fit_file, m)?)?;
    m.add_function(wrap_pyfunction!(merge_states, m)?)?;
    m.add_function(wrap_pyfunction!(state_info, m)?)?;
    m.add_function(wrap_pyfunction!(plan_state, m)?)?;
    m.add_function(wrap_pyfunction!(dict_pickle, m)?)?;
    m.add_function(wrap_pyfunction!(fill_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(stage_file, m)?)?;
    m.add_function(wrap_pyfunction!(state_version, m)?)?;
    m.add(
        "__doc__",
        "shardimpute's engine (see the shardimpute package)",
    )?;
    Ok(())
}
