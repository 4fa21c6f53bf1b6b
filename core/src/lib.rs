//! shardimpute's engine: exact, lossless two-pass imputation of missing
//! values over sharded CSV/TSV/Parquet datasets.
//!
//! * [`dataset::discover`] finds the splits and shards.
//! * Pass 1 ([`engine::fit`]) folds every training shard into mergeable
//!   [`stats::TrainStats`]; [`plan::plan`] turns them into fill values.
//! * Pass 2 ([`engine::fill`]) fills each shard and writes it back in its
//!   own format.
//! * [`artifacts`] writes `impute_dict.pkl`, `impute_dict.json` and
//!   `imputation_summary.json`.
//!
//! Nothing here knows about files on disk or the browser: shards come from a
//! [`source::Source`] and go to a [`source::Sink`].

pub mod artifacts;
pub mod config;
pub mod counts;
pub mod csv;
pub mod dataset;
pub mod engine;
pub mod error;
pub mod exact_sum;
pub mod missing;
pub mod pandas_num;
pub mod parquet_io;
pub mod pass1;
pub mod pass2;
pub mod pickle;
pub mod plan;
pub mod pyfloat;
pub mod source;
pub mod stats;
pub mod zip;

pub use config::{Config, JobType, Strategy};
pub use dataset::{discover, Dataset, Format, Shard, ShardKind, Split};
pub use engine::{fill, fit, run_job, Control, JobOutput, Pass, Progress};
pub use error::{Error, ErrorKind, Result};
pub use pass2::ShardReport;
pub use plan::{ColumnPlan, ColumnType, FillDict, FillPlan, FillValue};
pub use source::{Sink, Source};
pub use stats::TrainStats;
