//! shardimpute's engine: exact, lossless two-pass imputation of missing
//! values over sharded CSV/TSV/Parquet datasets.
//!
//! Every front end (the CLI, the wasm package, ...) drives one [`Job`]:
//!
//! ```no_run
//! # use shardimpute_core::*;
//! # fn files() -> Vec<(&'static str, u64)> { vec![] }
//! # struct Disk; impl Source for Disk { fn read(&self, _: &Shard) -> Result<Vec<u8>> { Ok(vec![]) } }
//! # impl Sink for Disk { fn write(&self, _: &Shard, _: Vec<u8>) -> Result<()> { Ok(()) } }
//! let settings = Settings::from_env_vars(std::env::vars())?;
//! let mut job = Job::new(JobKind::Run(JobType::Training), settings, files(), None)?;
//! job.run(&Disk, &Disk, Control::default())?;
//! for (name, bytes) in job.artifacts("2026-01-01T00:00:00Z")? { /* save */ }
//! # Ok::<(), Error>(())
//! ```
//!
//! Shards come from a [`Source`] and go to a [`Sink`]; nothing here knows
//! about files on disk or the browser. Inside: `formats` (CSV/TSV, gzip,
//! Parquet: reading, pass 1 fold, pass 2 fill), `stats` (mergeable pass 1
//! state), `plan` (types, strategies, fill values), `pandas` (pandas'
//! semantics), `artifacts` (pickle, JSON, summary, reports).

// SIMD field scanning (formats/csv/reader.rs); wasm without simd128 scans
// byte by byte
#![cfg_attr(
    any(not(target_arch = "wasm32"), target_feature = "simd128"),
    feature(portable_simd)
)]

mod artifacts;
mod dataset;
mod error;
mod formats;
#[cfg(any(not(target_arch = "wasm32"), target_os = "wasi"))]
pub mod fs;
mod io;
mod job;
mod kept_cells;
mod pandas;
mod plan;
mod settings;
mod stats;
#[cfg(test)]
mod test_rng;
pub mod unzip;
pub mod zip;

pub use artifacts::{
    dict_file, manifest_json, read_manifest, utc_timestamp, ARTIFACT_NAMES, JSON_NAME,
    MANIFEST_NAME, PICKLE_NAME, SUCCESS_NAME, SUMMARY_NAME,
};
pub use dataset::{Dataset, Shard, ShardFormat, Split};
pub use error::{Error, ErrorKind, Result};
pub use formats::{columns, write_csv_field, ShardReport, COLUMNS_PROBE_BYTES};
pub use io::{MemorySink, MemorySource, Sink, Source};
pub use job::{fill_shard, fit_shard, plan_from_state, Control, Job, JobKind, Pass, Progress};
pub use plan::{ColumnPlan, ColumnType, FillDict, FillPlan, FillValue};
pub use settings::{
    setting_of_env, split_list, FlagKind, JobType, Setting, Settings, Strategy, SETTINGS,
};
pub use stats::{Merge, TrainStats, STATE_VERSION};
