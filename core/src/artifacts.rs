//! The artifacts of a run: `impute_dict.pkl`, `impute_dict.json`,
//! `imputation_summary.json`.
//!
//! The pickle is what the downstream Python code loads, so it follows the
//! reference's rule (anything `float()` accepts is stored as a float); the
//! JSON keeps values as they appear in the data. Both keep column order.
//! The summary has no timings, so it is byte-identical across runs.

use serde::Serialize;

use crate::config::{Config, JobType};
use crate::error::{Error, Result};
use crate::pass2::ShardReport;
use crate::pickle::{self, PickleValue};
use crate::plan::{ColumnPlan, FillDict, FillPlan, FillValue};
use crate::pyfloat;

/// File name of the pickled fill values.
pub const PICKLE_NAME: &str = "impute_dict.pkl";
/// File name of the JSON fill values.
pub const JSON_NAME: &str = "impute_dict.json";
/// File name of the run summary.
pub const SUMMARY_NAME: &str = "imputation_summary.json";

/// `impute_dict.pkl`: a pickled dict of column -> float / str.
pub fn dict_to_pickle(dict: &FillDict) -> Vec<u8> {
    let entries: Vec<(String, PickleValue)> = dict
        .entries
        .iter()
        .map(|(k, v)| {
            let p = match v {
                FillValue::Number(x) => PickleValue::Float(*x),
                FillValue::Int(i) => PickleValue::Int(*i),
                FillValue::Bool(b) => PickleValue::Float(if *b { 1.0 } else { 0.0 }),
                FillValue::Text(s) => match pyfloat::parse_python_float(s) {
                    Some(x) => PickleValue::Float(x),
                    None => PickleValue::Str(s.clone()),
                },
            };
            (k.clone(), p)
        })
        .collect();
    pickle::write_dict(&entries)
}

fn json_number(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        pyfloat::repr(x)
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `impute_dict.json`, formatted like Python's `json.dumps(d, indent=1)`.
pub fn dict_to_json(dict: &FillDict) -> String {
    if dict.entries.is_empty() {
        return "{}\n".into();
    }
    let items: Vec<String> = dict
        .entries
        .iter()
        .map(|(k, v)| {
            let value = match v {
                FillValue::Number(x) => json_number(*x),
                FillValue::Int(i) => i.to_string(),
                FillValue::Text(s) => json_string(s),
                FillValue::Bool(b) => json_string(if *b { "True" } else { "False" }),
            };
            format!(" {}: {value}", json_string(k))
        })
        .collect();
    format!("{{\n{}\n}}\n", items.join(",\n"))
}

/// Reads saved fill values: a pickle (`.pkl`) or JSON (`.json`), by `name`.
pub fn read_dict(name: &str, bytes: &[u8]) -> Result<FillDict> {
    if name.ends_with(".json") {
        return read_json(name, bytes);
    }
    let entries = pickle::read_dict(bytes, name)?;
    let mut dict = FillDict::default();
    for (k, v) in entries {
        let value = match v {
            PickleValue::Float(x) => FillValue::Number(x),
            PickleValue::Int(i) => FillValue::Int(i),
            PickleValue::Str(s) => FillValue::Text(s),
            PickleValue::Bool(b) => FillValue::Bool(b),
            PickleValue::None => {
                return Err(Error::artifact(format!(
                    "{name}: column `{k}` has no fill value (None)"
                )))
            }
        };
        dict.entries.push((k, value));
    }
    Ok(dict)
}

fn read_json(name: &str, bytes: &[u8]) -> Result<FillDict> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::artifact(format!("{name}: not valid JSON: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(Error::artifact(format!(
            "{name}: expected a JSON object of column -> fill value"
        )));
    };
    let mut dict = FillDict::default();
    for (k, v) in map {
        let value = match v {
            serde_json::Value::String(s) => FillValue::Text(s),
            serde_json::Value::Bool(b) => FillValue::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => FillValue::Int(i),
                None => FillValue::Number(n.as_f64().unwrap_or(f64::NAN)),
            },
            other => {
                return Err(Error::artifact(format!(
                    "{name}: column `{k}`: fill value {other} is not a number or a string"
                )))
            }
        };
        dict.entries.push((k, value));
    }
    Ok(dict)
}

/// One column in the summary.
#[derive(Debug, Serialize)]
struct SummaryColumn<'a> {
    name: &'a str,
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
    job_type: JobType,
    rows_in_equals_rows_out: bool,
    columns: Vec<SummaryColumn<'a>>,
    splits: Vec<SummarySplit<'a>>,
    warnings: &'a [String],
    ignored_files: &'a [String],
    config: &'a Config,
}

/// `imputation_summary.json`: columns (type, strategy, fill value, missing
/// in training, cells filled per split), splits and shards (rows in and out),
/// warnings, and the configuration used.
pub fn summary_json(
    job: JobType,
    plan: Option<&FillPlan>,
    dict: &FillDict,
    reports: &[ShardReport],
    ignored_files: &[String],
    config: &Config,
) -> String {
    let mut split_names: Vec<&str> = Vec::new();
    for r in reports {
        if !split_names.contains(&r.split.as_str()) {
            split_names.push(&r.split);
        }
    }
    let filled_in = |col: &str, split: &str| -> u64 {
        reports
            .iter()
            .filter(|r| r.split == split)
            .flat_map(|r| r.cells_filled.iter())
            .filter(|(c, _)| c == col)
            .map(|(_, n)| n)
            .sum()
    };
    let columns: Vec<SummaryColumn> = match plan {
        Some(p) => p
            .columns
            .iter()
            .map(|c| SummaryColumn {
                name: &c.name,
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
                name,
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
        job_type: job,
        rows_in_equals_rows_out: reports.iter().all(|r| r.rows_in == r.rows_out),
        columns,
        splits,
        warnings: plan.map_or(&no_warnings, |p| &p.warnings),
        ignored_files,
        config,
    };
    let mut s = serde_json::to_string_pretty(&summary)
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_dict_format_and_round_trip() {
        let dict = FillDict {
            entries: vec![
                ("a".into(), FillValue::Number(0.0)),
                ("b\"q".into(), FillValue::Text("naïve, \"x\"".into())),
                ("flag".into(), FillValue::Bool(true)),
                ("n".into(), FillValue::Int(3)),
            ],
        };
        let text = dict_to_json(&dict);
        assert_eq!(
            text,
            "{\n \"a\": 0.0,\n \"b\\\"q\": \"naïve, \\\"x\\\"\",\n \"flag\": \"True\",\n \"n\": 3\n}\n"
        );
        let back = read_dict("impute_dict.json", text.as_bytes()).unwrap();
        assert_eq!(back.entries[0], ("a".into(), FillValue::Number(0.0)));
        assert_eq!(
            back.entries[2],
            ("flag".into(), FillValue::Text("True".into()))
        );
        assert!(read_dict("x.json", b"[1]").is_err());
    }

    #[test]
    fn pickle_follows_the_float_rule() {
        let dict = FillDict {
            entries: vec![
                ("s".into(), FillValue::Text("12".into())),
                ("t".into(), FillValue::Text("abc".into())),
                ("f".into(), FillValue::Bool(true)),
            ],
        };
        let back = read_dict("impute_dict.pkl", &dict_to_pickle(&dict)).unwrap();
        assert_eq!(
            back.entries,
            vec![
                ("s".into(), FillValue::Number(12.0)),
                ("t".into(), FillValue::Text("abc".into())),
                ("f".into(), FillValue::Number(1.0)),
            ]
        );
    }
}
