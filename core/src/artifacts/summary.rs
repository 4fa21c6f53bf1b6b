//! `imputation_summary.json`: columns (type, strategy, fill value, missing
//! in training, cells filled per split), splits and shards (rows in and
//! out), warnings, and the settings used. It has no timings, so it is
//! byte-identical across runs.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::formats::ShardReport;
use crate::plan::{ColumnPlan, FillDict, FillPlan, FillValue};
use crate::settings::Settings;

/// One column in the summary.
#[derive(Debug, Serialize)]
struct SummaryColumn<'a> {
    /// Only without a plan: the plan has the name (one `name` key).
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(flatten)]
    plan: Option<&'a ColumnPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fill_value: Option<&'a FillValue>,
    cells_filled: Vec<(&'a str, u64)>,
}

#[derive(Debug, Serialize)]
struct SummarySplit<'a> {
    name: &'a str,
    rows: u64,
    cells_filled: u64,
    shards: Vec<&'a ShardReport>,
}

#[derive(Debug, Serialize)]
struct Summary<'a> {
    tool: String,
    job_type: &'a str,
    rows_in_equals_rows_out: bool,
    columns: Vec<SummaryColumn<'a>>,
    splits: Vec<SummarySplit<'a>>,
    warnings: &'a [String],
    ignored_files: &'a [String],
    settings: &'a Settings,
}

/// `imputation_summary.json` of a run.
pub fn summary_json(
    job_type: &str,
    plan: Option<&FillPlan>,
    dict: &FillDict,
    reports: &[ShardReport],
    ignored_files: &[String],
    settings: &Settings,
) -> Result<String> {
    let filled = super::Filled::new(reports);
    let split_names = &filled.splits;
    let filled_in = |col: &str, split: &str| filled.get(col, split);
    let columns: Vec<SummaryColumn> = match plan {
        Some(p) => p
            .columns
            .iter()
            .map(|c| SummaryColumn {
                name: None,
                plan: Some(c),
                fill_value: None,
                cells_filled: split_names
                    .iter()
                    .map(|s| (*s, filled_in(&c.name, s)))
                    .collect(),
            })
            .collect(),
        None => dict
            .entries
            .iter()
            .map(|(name, v)| SummaryColumn {
                name: Some(name),
                plan: None,
                fill_value: Some(v),
                cells_filled: split_names
                    .iter()
                    .map(|s| (*s, filled_in(name, s)))
                    .collect(),
            })
            .collect(),
    };
    let splits = split_names
        .iter()
        .map(|s| {
            let shards: Vec<&ShardReport> = reports.iter().filter(|r| r.split == *s).collect();
            SummarySplit {
                name: s,
                rows: shards.iter().map(|r| r.rows_in).sum(),
                cells_filled: shards
                    .iter()
                    .flat_map(|r| r.cells_filled.iter())
                    .map(|(_, n)| n)
                    .sum(),
                shards,
            }
        })
        .collect();
    let no_warnings: Vec<String> = Vec::new();
    let summary = Summary {
        tool: format!("shardimpute {}", env!("CARGO_PKG_VERSION")),
        job_type,
        rows_in_equals_rows_out: reports.iter().all(|r| r.rows_in == r.rows_out),
        columns,
        splits,
        warnings: plan.map_or(&no_warnings, |p| &p.warnings),
        ignored_files,
        settings,
    };
    let mut s = serde_json::to_string_pretty(&summary)
        .map_err(|e| Error::internal(format!("cannot write the summary: {e}")))?;
    s.push('\n');
    Ok(s)
}
