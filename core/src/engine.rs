//! Running the passes over many shards in parallel.
//!
//! Shards are independent, so both passes are a rayon map over shards; each
//! worker holds one shard at a time, so memory does not grow with the number
//! of shards. Pass 1 reduces the per-shard states with the associative
//! [`TrainStats::merge`], so the result does not depend on the order.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::Serialize;

use crate::config::{Config, JobType};
use crate::dataset::{Dataset, Shard};
use crate::error::{Error, ErrorKind, Result};
use crate::pass1;
use crate::pass2::{self, ShardReport};
use crate::plan::{self, FillDict, FillPlan};
use crate::source::{Sink, Source};
use crate::stats::TrainStats;

/// Which pass is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pass {
    /// Pass 1: computing fill values from the training shards.
    Fit,
    /// Pass 2: filling and writing shards.
    Fill,
}

/// Progress after a shard finished.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The pass.
    pub pass: Pass,
    /// The shard that just finished (`split/name`).
    pub shard: String,
    /// Shards finished in this pass.
    pub shards_done: usize,
    /// Shards in this pass.
    pub shards_total: usize,
    /// Input bytes finished in this pass.
    pub bytes_done: u64,
    /// Input bytes in this pass (sizes known up front; 0 where unknown).
    pub bytes_total: u64,
    /// Rows finished in this pass.
    pub rows_done: u64,
}

/// Cancellation and progress reporting for a run. `Default` has neither.
#[derive(Default, Clone, Copy)]
pub struct Control<'a> {
    /// Set to stop the run; it ends with [`ErrorKind::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
    /// Called after each shard, from worker threads.
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
}

impl Control<'_> {
    fn check(&self) -> Result<()> {
        match self.cancel {
            Some(c) if c.load(Ordering::Relaxed) => Err(Error::new(ErrorKind::Cancelled)),
            _ => Ok(()),
        }
    }
}

struct Counter<'a> {
    pass: Pass,
    total: usize,
    bytes_total: u64,
    done: AtomicUsize,
    bytes: AtomicU64,
    rows: AtomicU64,
    ctl: Control<'a>,
}

impl<'a> Counter<'a> {
    fn new(pass: Pass, shards: &[Shard], ctl: Control<'a>) -> Counter<'a> {
        Counter {
            pass,
            total: shards.len(),
            bytes_total: shards.iter().map(|s| s.size).sum(),
            done: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            ctl,
        }
    }

    fn finished(&self, shard: &Shard, bytes: u64, rows: u64) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes_done = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let rows_done = self.rows.fetch_add(rows, Ordering::Relaxed) + rows;
        if let Some(f) = self.ctl.progress {
            f(&Progress {
                pass: self.pass,
                shard: shard.path(),
                shards_done: done,
                shards_total: self.total,
                bytes_done,
                bytes_total: self.bytes_total,
                rows_done,
            });
        }
    }
}

/// Pass 1 over `shards`: their merged statistics.
pub fn fit(
    shards: &[Shard],
    source: &dyn Source,
    config: &Config,
    ctl: Control<'_>,
) -> Result<TrainStats> {
    let counter = Counter::new(Pass::Fit, shards, ctl);
    shards
        .par_iter()
        .map(|shard| {
            ctl.check()?;
            let bytes = source.read(shard)?;
            let size = bytes.len() as u64;
            let stats = pass1::fit_shard(shard, bytes, config)?;
            counter.finished(shard, size, stats.rows);
            Ok(stats)
        })
        .try_reduce(TrainStats::default, TrainStats::merge)
}

/// Pass 2 over `shards`: each filled and handed to `sink`; reports in shard order.
pub fn fill(
    shards: &[Shard],
    source: &dyn Source,
    sink: &dyn Sink,
    dict: &FillDict,
    config: &Config,
    ctl: Control<'_>,
) -> Result<Vec<ShardReport>> {
    let counter = Counter::new(Pass::Fill, shards, ctl);
    shards
        .par_iter()
        .map(|shard| {
            ctl.check()?;
            let bytes = source.read(shard)?;
            let (out, report) = pass2::fill_shard(shard, bytes, dict, config)?;
            sink.write(shard, out)?;
            counter.finished(shard, report.bytes_in, report.rows_in);
            Ok(report)
        })
        .collect()
}

/// Checks pass 1's columns against the settings (the label must exist).
pub fn check_columns(stats: &TrainStats, config: &Config) -> Result<()> {
    if !config.label_field.is_empty() && !stats.columns.contains(&config.label_field) {
        return Err(Error::schema(format!(
            "label column `{}` (LABEL_FIELD) is not in the training data; columns are: {}",
            config.label_field,
            stats.columns.join(", ")
        )));
    }
    Ok(())
}

/// What a whole job produced.
#[derive(Debug, Clone)]
pub struct JobOutput {
    /// Pass 1's decisions (training jobs).
    pub plan: Option<FillPlan>,
    /// The fill values used.
    pub dict: FillDict,
    /// One report per output shard, in split and shard order.
    pub reports: Vec<ShardReport>,
}

/// Runs a job: pass 1 on `train` for training (else uses `dict_in`), then
/// pass 2 over every split of `dataset`.
pub fn run_job(
    dataset: &Dataset,
    job: JobType,
    dict_in: Option<FillDict>,
    source: &dyn Source,
    sink: &dyn Sink,
    config: &Config,
    ctl: Control<'_>,
) -> Result<JobOutput> {
    config.validate()?;
    let (plan, dict) = match job {
        JobType::Training => {
            let train = dataset
                .split("train")
                .ok_or_else(|| Error::layout("a training job needs a `train/` split"))?;
            let stats = fit(&train.shards, source, config, ctl)?;
            check_columns(&stats, config)?;
            let plan = plan::plan(&stats, config)?;
            let dict = plan.dict.clone();
            (Some(plan), dict)
        }
        _ => {
            let dict = dict_in.ok_or_else(|| {
                Error::artifact(format!(
                    "a {} job needs saved fill values (impute_dict.pkl or impute_dict.json)",
                    job.name()
                ))
            })?;
            (None, dict)
        }
    };
    let shards: Vec<Shard> = dataset.shards().cloned().collect();
    let reports = fill(&shards, source, sink, &dict, config, ctl)?;
    Ok(JobOutput {
        plan,
        dict,
        reports,
    })
}
