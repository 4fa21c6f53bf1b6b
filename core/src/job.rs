//! The job: the one sequence of steps every front end drives.
//!
//! Find the dataset ([`Job::new`]), then either fit (pass 1, the label
//! check, the plan) or load saved fill values, optionally edit a fill
//! value, fill (pass 2), and take the artifacts as `(name, bytes)`. Each
//! pass can run in one call ([`Job::fit`], [`Job::fill`]) or a batch of
//! shards at a time ([`Job::begin`], [`Job::fit_shards`] /
//! [`Job::fill_shards`], [`Job::finish_fit`] / [`Job::finish_fill`]) for
//! front ends that must read shards between batches (the browser). Shards
//! within a call run in parallel; pass 1 folds each shard's state into the
//! running total as it finishes, so memory does not grow with the number
//! of shards.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::Serialize;

use crate::artifacts::{self, ReportInput, ARTIFACT_NAMES};
use crate::dataset::{discover, Dataset, Shard};
use crate::error::{Error, Result};
use crate::formats::{self, ShardReport};
use crate::io::{Sink, Source};
use crate::kept_cells::KeptCells;
use crate::plan::{self, FillDict, FillPlan};
use crate::settings::{JobType, Settings};
use crate::stats::{Merge, SharedTotal, TrainStats};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// A whole job of this type: pass 1 on `train` for training (else
    /// saved fill values), then pass 2.
    Run(JobType),
    /// Pass 1 only: fill values from `train`.
    Fit,
    /// Pass 2 only, with saved fill values, over the splits given.
    Fill,
}

impl JobKind {
    /// The name recorded in the artifacts: the job type, `fit` or `fill`.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Run(t) => t.name(),
            JobKind::Fit => "fit",
            JobKind::Fill => "fill",
        }
    }

    pub(crate) fn fits(self) -> bool {
        matches!(self, JobKind::Run(JobType::Training) | JobKind::Fit)
    }

    pub(crate) fn fills(self) -> bool {
        !matches!(self, JobKind::Fit)
    }

    /// Whether the job needs saved fill values (`impute_dict.pkl` / `.json`).
    pub fn needs_saved_fill_values(self) -> bool {
        self.fills() && !self.fits()
    }

    fn default_splits(self) -> Vec<String> {
        match self {
            JobKind::Run(t) => t.default_splits(),
            JobKind::Fit => vec!["train".into()],
            JobKind::Fill => Vec::new(),
        }
    }
}

/// Which pass is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pass {
    /// Pass 1: computing fill values from the training shards.
    Fit,
    /// Pass 2: filling and writing shards.
    Fill,
}

/// Progress of the running pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// The pass.
    pub pass: Pass,
    /// The shard that finished last (`split/name`).
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

/// Cancellation and progress reporting for a pass. `Default` has neither.
#[derive(Default, Clone, Copy)]
pub struct Control<'a> {
    /// Set to stop the pass; it ends with [`crate::ErrorKind::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
    /// Called after each shard, from worker threads.
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
}

impl Control<'_> {
    fn check(&self) -> Result<()> {
        match self.cancel {
            Some(c) if c.load(Ordering::Relaxed) => Err(Error::cancelled()),
            _ => Ok(()),
        }
    }
}

/// The one progress counter of a pass.
struct Counter {
    pass: Pass,
    total: usize,
    bytes_total: u64,
    done: AtomicUsize,
    bytes: AtomicU64,
    rows: AtomicU64,
    last: Mutex<String>,
}

impl Counter {
    fn new(pass: Pass, shards: &[Shard]) -> Counter {
        Counter {
            pass,
            total: shards.len(),
            bytes_total: shards.iter().map(|s| s.size).sum(),
            done: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            last: Mutex::new(String::new()),
        }
    }

    fn finished(&self, shard: &Shard, bytes: u64, rows: u64, ctl: &Control<'_>) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.rows.fetch_add(rows, Ordering::Relaxed);
        if let Ok(mut last) = self.last.lock() {
            *last = shard.path();
        }
        if let Some(f) = ctl.progress {
            f(&self.snapshot());
        }
    }

    fn snapshot(&self) -> Progress {
        Progress {
            pass: self.pass,
            shard: self.last.lock().map(|l| l.clone()).unwrap_or_default(),
            shards_done: self.done.load(Ordering::Relaxed),
            shards_total: self.total,
            bytes_done: self.bytes.load(Ordering::Relaxed),
            bytes_total: self.bytes_total,
            rows_done: self.rows.load(Ordering::Relaxed),
        }
    }
}

/// Pass 1 of one shard, from its file's bytes: the shard's mergeable
/// state. Any partition of the training shards into states, merged in any
/// order ([`Merge`]) and planned with [`plan_from_state`], gives the plan
/// [`Job::fit`] gives, to the bit; [`TrainStats::to_bytes`] carries a state
/// between machines.
pub fn fit_shard(shard: &Shard, bytes: Vec<u8>, settings: &Settings) -> Result<TrainStats> {
    let (mut state, _) = formats::fit_shard(shard, bytes, settings, false)?;
    state.settle();
    Ok(state)
}

/// The plan from the merged pass 1 state of every training shard, with
/// [`Job::finish_fit`]'s checks: the label column must be there, and every
/// excluded column.
pub fn plan_from_state(stats: &TrainStats, settings: &Settings) -> Result<FillPlan> {
    let label = &settings.label_field;
    if !label.is_empty() && !stats.columns.contains(label) {
        return Err(Error::schema(format!(
            "label column `{label}` (LABEL_FIELD) is not in the training data; columns are: {}",
            stats.columns.join(", ")
        )));
    }
    let unknown: Vec<&String> = settings
        .exclude_columns
        .iter()
        .filter(|c| !stats.columns.contains(c))
        .collect();
    if !unknown.is_empty() {
        return Err(Error::settings(format!(
            "EXCLUDE_COLUMNS names {} not in the training data (it has {})",
            plan::name_list(&unknown),
            plan::name_list(&stats.columns)
        )));
    }
    plan::plan(stats, settings)
}

/// Pass 2 of one shard, from its file's bytes: the output file's bytes
/// and the shard's report. Fails unless rows in = rows out.
pub fn fill_shard(
    shard: &Shard,
    bytes: Vec<u8>,
    dict: &FillDict,
    settings: &Settings,
) -> Result<(Vec<u8>, ShardReport)> {
    formats::fill_shard(shard, bytes, dict, settings, None)
}

/// One run over a dataset. See the module docs for the order of steps.
pub struct Job {
    kind: JobKind,
    settings: Settings,
    dataset: Dataset,
    plan: Option<FillPlan>,
    dict: Option<FillDict>,
    reports: Vec<ShardReport>,
    carried: Vec<(String, Vec<u8>)>,
    running: Option<Pass>,
    /// A pass begun and not finished (failed, cancelled or abandoned):
    /// its partial results must not look complete.
    unfinished: Option<Pass>,
    stats: TrainStats,
    /// Pass 1's missing cells of CSV/TSV training shards, for pass 2.
    cells: KeptCells,
    counter: Counter,
}

impl Job {
    /// Finds the job's splits and shards among `files` (`split/name`
    /// paths relative to the dataset folder, with sizes). `splits` replaces
    /// the job's default splits (`train`, `val`, `test` for training; the
    /// job type's split otherwise); a fill-only job must name them.
    pub fn new<'a, I>(
        kind: JobKind,
        settings: Settings,
        files: I,
        splits: Option<Vec<String>>,
    ) -> Result<Job>
    where
        I: IntoIterator<Item = (&'a str, u64)>,
    {
        settings.validate()?;
        let splits = splits.unwrap_or_else(|| kind.default_splits());
        if kind.fits() && !splits.iter().any(|s| s == "train") {
            return Err(Error::layout(format!(
                "a {} job needs the `train/` split (splits asked for: {})",
                kind.name(),
                splits.join(", ")
            )));
        }
        if splits.is_empty() {
            return Err(Error::layout("no splits to fill"));
        }
        let dataset = discover(files, &splits)?;
        Ok(Job {
            kind,
            settings,
            dataset,
            plan: None,
            dict: None,
            reports: Vec::new(),
            carried: Vec::new(),
            running: None,
            unfinished: None,
            stats: TrainStats::default(),
            cells: KeptCells::default(),
            counter: Counter::new(Pass::Fit, &[]),
        })
    }

    /// Keeps pass 1's missing cells of CSV/TSV training shards in `file`
    /// (an empty scratch file, read and written): they spare pass 2
    /// reading those shards' records again, and grow with the training
    /// split (a few bytes a missing cell). None are kept unless asked for.
    pub fn keep_cells_in(&mut self, file: std::fs::File) -> Result<()> {
        self.cells.in_file(file)
    }

    /// Keeps pass 1's missing cells (see [`Job::keep_cells_in`]) in
    /// memory, up to `limit` bytes (64 MiB at most; 0 keeps none).
    pub fn keep_cells_in_memory(&mut self, limit: u64) -> Result<()> {
        self.cells.in_memory(limit)
    }

    /// Bytes of missing cells kept by the last pass 1 (in memory or in the
    /// scratch file).
    pub fn kept_cells_bytes(&self) -> u64 {
        self.cells.bytes()
    }

    /// What the job does.
    pub fn kind(&self) -> JobKind {
        self.kind
    }

    /// The splits and shards found, and the files ignored.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Pass 1's decisions, once fitted.
    pub fn plan(&self) -> Option<&FillPlan> {
        self.plan.as_ref()
    }

    /// The fill values in use, once fitted or loaded.
    pub fn fill_values(&self) -> Option<&FillDict> {
        self.dict.as_ref()
    }

    /// Pass 2's shard reports, in shard order.
    pub fn reports(&self) -> &[ShardReport] {
        &self.reports
    }

    /// What could not be done as configured.
    pub fn warnings(&self) -> &[String] {
        match &self.plan {
            Some(p) => &p.warnings,
            None => &self.settings.warnings,
        }
    }

    /// The files of an input artifacts folder (the pipeline's parameter
    /// accumulator): every file is carried into the output artifacts,
    /// except those named like ours (ours win). A job that needs saved fill
    /// values loads them from `impute_dict.pkl`, else `impute_dict.json`;
    /// a training job only carries the files.
    pub fn add_artifacts(&mut self, files: Vec<(String, Vec<u8>)>) -> Result<()> {
        self.idle()?;
        if self.kind.needs_saved_fill_values() {
            let name = artifacts::dict_file(files.iter().map(|(n, _)| n.as_str()))
                .ok_or_else(|| {
                    let found: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
                    Error::artifact(format!(
                        "a {} job needs saved fill values: no {} or {} among the artifacts (found: {})",
                        self.kind.name(),
                        artifacts::PICKLE_NAME,
                        artifacts::JSON_NAME,
                        if found.is_empty() { "nothing".into() } else { found.join(", ") }
                    ))
                })?
                .to_string();
            if let Some((_, bytes)) = files.iter().find(|(n, _)| *n == name) {
                self.load_fill_values(&name, bytes)?;
            }
            // the JSON saved beside the pickle keeps booleans and numeric
            // texts as the training job wrote them (an unreadable one is
            // ignored: the pickle is what the reference reads)
            let json = files
                .iter()
                .find(|(n, _)| name == artifacts::PICKLE_NAME && n == artifacts::JSON_NAME)
                .and_then(|(n, bytes)| artifacts::read_dict(n, bytes).ok());
            if let Some(json) = json {
                self.dict = self
                    .dict
                    .take()
                    .map(|dict| artifacts::with_json_texts(dict, &json));
            }
        }
        self.carried = files
            .into_iter()
            .filter(|(n, _)| !ARTIFACT_NAMES.contains(&n.as_str()))
            .collect();
        Ok(())
    }

    /// Loads saved fill values from a file's bytes (`name` ending in
    /// `.json` is JSON, anything else a pickle).
    pub fn load_fill_values(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.idle()?;
        if !self.kind.needs_saved_fill_values() {
            return Err(Error::state(format!(
                "a {} job computes its fill values; it does not load them",
                self.kind.name()
            )));
        }
        self.dict = Some(artifacts::read_dict(name, bytes)?);
        Ok(())
    }

    /// Sets one column's fill value from text, read as the column's current
    /// fill value is typed (the edit rule: [`crate::FillValue::parse_like`]).
    pub fn set_fill_value(&mut self, column: &str, text: &str) -> Result<()> {
        self.idle()?;
        let dict = self
            .dict
            .as_mut()
            .ok_or_else(|| Error::state("no fill values yet: run pass 1 or load impute_dict"))?;
        let slot = dict
            .entries
            .iter_mut()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v)
            .ok_or_else(|| Error::fill_value(format!("column `{column}` has no fill value")))?;
        let value = slot.parse_like(text).ok_or_else(|| {
            Error::fill_value(format!(
                "`{text}` is not a valid fill value for column `{column}` (like `{}`)",
                slot.to_text()
            ))
        })?;
        value.check_finite(column, "as edited")?;
        *slot = value.clone();
        if let Some(plan) = self.plan.as_mut() {
            if let Some((_, v)) = plan.dict.entries.iter_mut().find(|(c, _)| c == column) {
                *v = value.clone();
            }
            if let Some(c) = plan.columns.iter_mut().find(|c| c.name == column) {
                c.fill_value = Some(value);
            }
        }
        Ok(())
    }

    fn idle(&self) -> Result<()> {
        match self.running {
            Some(p) => Err(Error::state(format!(
                "pass {} is already running",
                if p == Pass::Fit { 1 } else { 2 }
            ))),
            None => Ok(()),
        }
    }

    /// The shards a pass reads: `train` for pass 1, every split for pass 2.
    pub fn shards(&self, pass: Pass) -> Vec<Shard> {
        match pass {
            Pass::Fit => self
                .dataset
                .split("train")
                .map(|s| s.shards.clone())
                .unwrap_or_default(),
            Pass::Fill => self.dataset.shards().cloned().collect(),
        }
    }

    /// Starts a pass: checks that it may run now, resets its state and
    /// progress, and returns its shards.
    pub fn begin(&mut self, pass: Pass) -> Result<Vec<Shard>> {
        self.idle()?;
        match pass {
            Pass::Fit if !self.kind.fits() => {
                return Err(Error::state(format!(
                    "pass 1 runs only in a training job, not in a {} job",
                    self.kind.name()
                )))
            }
            Pass::Fill if !self.kind.fills() => {
                return Err(Error::state("a fit job does not fill shards"))
            }
            Pass::Fill if self.dict.is_none() => {
                return Err(Error::state(if self.kind.fits() {
                    "run pass 1 first: there are no fill values yet".to_string()
                } else {
                    format!(
                        "a {} job needs saved fill values ({} or {})",
                        self.kind.name(),
                        artifacts::PICKLE_NAME,
                        artifacts::JSON_NAME
                    )
                }))
            }
            Pass::Fit => {
                self.stats = TrainStats::default();
                self.cells.clear();
                self.plan = None;
                self.dict = None;
                self.reports.clear();
            }
            Pass::Fill => self.reports.clear(),
        }
        let shards = self.shards(pass);
        self.counter = Counter::new(pass, &shards);
        self.running = Some(pass);
        self.unfinished = Some(pass);
        Ok(shards)
    }

    /// Abandons the running pass (its partial state is dropped).
    pub fn abort(&mut self) {
        if self.running.take() == Some(Pass::Fit) {
            self.stats = TrainStats::default();
        }
    }

    fn expect_running(&self, pass: Pass) -> Result<()> {
        match self.running {
            Some(p) if p == pass => Ok(()),
            _ => Err(Error::state(format!(
                "call begin(pass {}) first",
                if pass == Pass::Fit { 1 } else { 2 }
            ))),
        }
    }

    /// Pass 1 over `shards` (of [`Job::begin`]'s), in parallel, each
    /// folded into the running total as it finishes.
    pub fn fit_shards(
        &mut self,
        shards: &[Shard],
        source: &dyn Source,
        ctl: Control<'_>,
    ) -> Result<()> {
        self.expect_running(Pass::Fit)?;
        let total = SharedTotal::new(std::mem::take(&mut self.stats));
        let (counter, settings, kept) = (&self.counter, &self.settings, &self.cells);
        let find_cells = self.kind.fills() && self.cells.enabled();
        let result = shards.par_iter().try_for_each(|shard| {
            ctl.check()?;
            let bytes = source.read(shard)?;
            let size = bytes.len() as u64;
            // not settled: pending texts are counted once, in the total
            let (state, cells) = formats::fit_shard(shard, bytes, settings, find_cells)?;
            if let Some(cells) = cells {
                kept.keep(shard.path(), cells)?;
            }
            let rows = state.rows;
            total.merge(state)?;
            counter.finished(shard, size, rows, &ctl);
            Ok(())
        });
        let total = total.into_inner();
        match (result, total) {
            (Ok(()), Ok(total)) => {
                self.stats = total;
                Ok(())
            }
            (Err(e), _) | (_, Err(e)) => {
                self.abort();
                Err(e)
            }
        }
    }

    /// Folds a pass 1 state computed elsewhere (by [`fit_shard`] and
    /// merges, on other threads, processes or machines) into the running
    /// total, as [`Job::fit_shards`] folds its own.
    pub fn merge_state(&mut self, state: TrainStats) -> Result<()> {
        self.expect_running(Pass::Fit)?;
        if let Err(e) = self.stats.merge(state) {
            self.abort();
            return Err(e);
        }
        Ok(())
    }

    /// Ends pass 1: checks the label column and decides the fill values
    /// ([`plan_from_state`] on the merged state).
    pub fn finish_fit(&mut self) -> Result<&FillPlan> {
        self.expect_running(Pass::Fit)?;
        self.running = None;
        self.unfinished = None;
        let stats = std::mem::take(&mut self.stats);
        let plan = plan_from_state(&stats, &self.settings)?;
        self.dict = Some(plan.dict.clone());
        Ok(self.plan.insert(plan))
    }

    /// Pass 2 over `shards` (of [`Job::begin`]'s), in parallel; each
    /// output goes to `sink`.
    pub fn fill_shards(
        &mut self,
        shards: &[Shard],
        source: &dyn Source,
        sink: &dyn Sink,
        ctl: Control<'_>,
    ) -> Result<()> {
        self.expect_running(Pass::Fill)?;
        let dict = self
            .dict
            .as_ref()
            .ok_or_else(|| Error::state("no fill values"))?;
        let (counter, settings, kept) = (&self.counter, &self.settings, &self.cells);
        let result: Result<Vec<ShardReport>> = shards
            .par_iter()
            .map(|shard| {
                ctl.check()?;
                let bytes = source.read(shard)?;
                let cells = kept.get(&shard.path())?;
                let (out, report) =
                    formats::fill_shard(shard, bytes, dict, settings, cells.as_deref())?;
                sink.write(shard, out)?;
                counter.finished(shard, report.bytes_in, report.rows_in, &ctl);
                Ok(report)
            })
            .collect();
        match result {
            Ok(reports) => {
                self.reports.extend(reports);
                Ok(())
            }
            Err(e) => {
                self.abort();
                Err(e)
            }
        }
    }

    /// Records the reports of shards filled elsewhere (by [`fill_shard`],
    /// on other processes or machines) in the running pass 2, as
    /// [`Job::fill_shards`] records its own. Each must be one of the
    /// pass's shards, once.
    pub fn add_fill_reports(&mut self, reports: Vec<ShardReport>) -> Result<()> {
        self.expect_running(Pass::Fill)?;
        // by path, so recording many reports stays linear
        let shards: HashMap<String, Shard> = self
            .shards(Pass::Fill)
            .into_iter()
            .map(|s| (s.path(), s))
            .collect();
        let mut done: HashSet<String> = self
            .reports
            .iter()
            .map(|o| format!("{}/{}", o.split, o.name))
            .collect();
        for r in &reports {
            let path = format!("{}/{}", r.split, r.name);
            let Some(shard) = shards.get(&path) else {
                return Err(Error::state(format!("{path} is not a shard of this job")));
            };
            if !done.insert(path.clone()) {
                return Err(Error::state(format!("{path} was filled twice")));
            }
            self.counter
                .finished(shard, r.bytes_in, r.rows_in, &Control::default());
            self.reports.push(r.clone());
        }
        Ok(())
    }

    /// Ends pass 2: the reports of every shard, in shard order.
    pub fn finish_fill(&mut self) -> Result<&[ShardReport]> {
        self.expect_running(Pass::Fill)?;
        self.running = None;
        self.unfinished = None;
        // batches may come in any order: the reports (and so the summary)
        // follow the shard order
        let order: HashMap<String, usize> = self
            .shards(Pass::Fill)
            .iter()
            .enumerate()
            .map(|(i, s)| (s.path(), i))
            .collect();
        self.reports.sort_by_cached_key(|r| {
            order
                .get(&format!("{}/{}", r.split, r.name))
                .copied()
                .unwrap_or(usize::MAX)
        });
        Ok(&self.reports)
    }

    /// Pass 1 over every training shard.
    pub fn fit(&mut self, source: &dyn Source, ctl: Control<'_>) -> Result<&FillPlan> {
        let shards = self.begin(Pass::Fit)?;
        self.fit_shards(&shards, source, ctl)?;
        self.finish_fit()
    }

    /// Pass 2 over every shard.
    pub fn fill(
        &mut self,
        source: &dyn Source,
        sink: &dyn Sink,
        ctl: Control<'_>,
    ) -> Result<&[ShardReport]> {
        let shards = self.begin(Pass::Fill)?;
        self.fill_shards(&shards, source, sink, ctl)?;
        self.finish_fill()
    }

    /// The whole job: pass 1 where the job has it, then pass 2 where it
    /// has it.
    pub fn run(&mut self, source: &dyn Source, sink: &dyn Sink, ctl: Control<'_>) -> Result<()> {
        if self.kind.fits() {
            self.fit(source, ctl)?;
        }
        if self.kind.fills() {
            self.fill(source, sink, ctl)?;
        }
        Ok(())
    }

    /// Progress of the running (or last) pass.
    pub fn progress(&self) -> Progress {
        self.counter.snapshot()
    }

    /// The artifacts, in the order to write them: the carried files, then
    /// ours (`impute_dict.pkl`, `impute_dict.json`,
    /// `imputation_summary.json`, `imputation_report.json`,
    /// `imputation_summary.txt`). `timestamp` (ISO 8601, UTC) goes into the
    /// report. Refused after a pass that did not finish (it failed, was
    /// cancelled or abandoned) until a pass runs to its end: its partial
    /// reports must not look like a complete run.
    pub fn artifacts(&self, timestamp: &str) -> Result<Vec<(String, Vec<u8>)>> {
        self.idle()?;
        if let Some(p) = self.unfinished {
            return Err(Error::state(format!(
                "pass {} did not finish (it failed or was cancelled): no artifacts until it runs to its end",
                if p == Pass::Fit { 1 } else { 2 }
            )));
        }
        let dict = self
            .dict
            .as_ref()
            .ok_or_else(|| Error::state("no fill values yet: run pass 1 or load impute_dict"))?;
        let input = ReportInput {
            job_type: self.kind.name(),
            plan: self.plan.as_ref(),
            dict,
            reports: &self.reports,
            timestamp,
        };
        let summary = artifacts::summary_json(
            self.kind.name(),
            self.plan.as_ref(),
            dict,
            &self.reports,
            &self.dataset.ignored,
            &self.settings,
        )?;
        let mut out = self.carried.clone();
        out.push((
            artifacts::PICKLE_NAME.into(),
            artifacts::dict_to_pickle(dict),
        ));
        out.push((
            artifacts::JSON_NAME.into(),
            artifacts::dict_to_json(dict)?.into_bytes(),
        ));
        out.push((artifacts::SUMMARY_NAME.into(), summary.into_bytes()));
        out.push((
            artifacts::REPORT_NAME.into(),
            artifacts::report_json(&input)?.into_bytes(),
        ));
        out.push((
            artifacts::SUMMARY_TEXT_NAME.into(),
            artifacts::summary_text(&input).into_bytes(),
        ));
        Ok(out)
    }

    /// One line saying what the run did, for a terminal.
    pub fn summary_line(&self, seconds: f64, artifacts_at: &str) -> String {
        let r = &self.reports;
        if !self.kind.fills() {
            let (rows, columns) = self
                .plan
                .as_ref()
                .map_or((0, 0), |p| (p.rows, p.dict.entries.len()));
            return format!(
                "shardimpute fit: {} shards, {rows} rows, {columns} columns to impute, {seconds:.2} s; artifacts in {artifacts_at}",
                self.dataset.split("train").map_or(0, |s| s.shards.len()),
            );
        }
        let rows: u64 = r.iter().map(|r| r.rows_in).sum();
        let checked = r.iter().all(|r| r.rows_in == r.rows_out);
        let filled: u64 = r
            .iter()
            .flat_map(|r| r.cells_filled.iter())
            .map(|(_, n)| n)
            .sum();
        let bytes: u64 = r.iter().map(|r| r.bytes_in).sum();
        format!(
            "shardimpute {}: {} shards, {rows} rows (rows in = rows out: {}), {filled} cells filled, {seconds:.2} s, {:.1} MB/s; artifacts in {artifacts_at}",
            self.kind.name(),
            r.len(),
            if checked { "yes" } else { "NO" },
            bytes as f64 / 1e6 / seconds.max(1e-9),
        )
    }
}
