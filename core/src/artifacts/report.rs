//! The reference step's reports: `imputation_report.json` (missing-value
//! analysis, validation, what was imputed, quality metrics,
//! recommendations) and `imputation_summary.txt` (the same for people).
//!
//! Only the timestamp differs between two runs on the same data; the front
//! end gives it (wasm has no clock of its own).

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::formats::ShardReport;
use crate::pandas;
use crate::plan::{ColumnType, FillDict, FillPlan, FillValue};

/// A column missing in more than this percentage of training rows is
/// called out in the recommendations.
const HIGH_MISSING_PCT: f64 = 50.0;
/// More imputed columns than this is called out in the recommendations.
const MANY_IMPUTED: usize = 20;

/// What the reports are made of.
pub struct ReportInput<'a> {
    /// `training`, `validation`, ..., `fit` or `fill`.
    pub job_type: &'a str,
    /// Pass 1's decisions (training).
    pub plan: Option<&'a FillPlan>,
    /// The fill values used.
    pub dict: &'a FillDict,
    /// Pass 2's shard reports.
    pub reports: &'a [ShardReport],
    /// ISO 8601 UTC time of the run.
    pub timestamp: &'a str,
}

/// A fill value as `impute_dict.json` has it (booleans as their text).
fn fill_json(v: &FillValue) -> Value {
    match v {
        FillValue::Bool(_) => Value::String(v.to_text()),
        v => serde_json::to_value(v).unwrap_or(Value::Null),
    }
}

fn cells_filled(filled: &super::Filled<'_>, column: &str) -> Map<String, Value> {
    filled
        .splits
        .iter()
        .map(|s| (s.to_string(), json!(filled.get(column, s))))
        .collect()
}

fn recommendations(input: &ReportInput<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(plan) = input.plan {
        for c in &plan.columns {
            if c.missing_pct > HIGH_MISSING_PCT {
                out.push(format!(
                    "column `{}` is missing in {:.1}% of training rows: consider dropping it or adding a missing-indicator feature",
                    c.name, c.missing_pct
                ));
            }
            let numeric_mode = c.ctype != ColumnType::Numerical
                && matches!(&c.fill_value, Some(FillValue::Text(t)) if pandas::parse_python_float(t).is_some());
            if numeric_mode {
                out.push(format!(
                    "column `{}` holds numbers but is imputed by its mode as text: check its values (the pickle stores this fill value as a float)",
                    c.name
                ));
            }
        }
    }
    let n = input.dict.entries.len();
    if n > MANY_IMPUTED {
        out.push(format!(
            "{n} columns were imputed: review whether so many gaps are expected upstream"
        ));
    }
    out
}

/// `imputation_report.json`.
pub fn report_json(input: &ReportInput<'_>) -> Result<String> {
    let filled = super::Filled::new(input.reports);
    let mut analysis = Map::new();
    let mut strategies: Map<String, Value> = Map::new();
    let mut types: Map<String, Value> = Map::new();
    let mut imputed = Map::new();
    let mut with_missing = 0usize;
    let count = |m: &mut Map<String, Value>, k: &str| {
        let e = m.entry(k.to_string()).or_insert(json!(0u64));
        *e = json!(e.as_u64().unwrap_or(0) + 1);
    };
    match input.plan {
        Some(plan) => {
            for c in &plan.columns {
                analysis.insert(
                    c.name.clone(),
                    json!({
                        "missing_count": c.missing_count,
                        "missing_percentage": c.missing_pct,
                        "data_type": c.ctype.name(),
                        "unique_values": c.distinct,
                        "imputed": c.fill_value.is_some(),
                        "skipped": c.skipped,
                    }),
                );
                if c.missing_count > 0 && c.skipped.as_deref() != Some("label column") {
                    with_missing += 1;
                }
                if let (Some(s), Some(v)) = (c.strategy, &c.fill_value) {
                    count(&mut strategies, s.name());
                    count(&mut types, c.ctype.name());
                    imputed.insert(
                        c.name.clone(),
                        json!({
                            "strategy": s.name(),
                            "data_type": c.ctype.name(),
                            "fill_value": fill_json(v),
                            "cells_filled": cells_filled(&filled, &c.name),
                        }),
                    );
                }
            }
        }
        None => {
            for (name, v) in &input.dict.entries {
                with_missing += 1;
                count(&mut strategies, "saved");
                imputed.insert(
                    name.clone(),
                    json!({
                        "strategy": "saved",
                        "fill_value": fill_json(v),
                        "cells_filled": cells_filled(&filled, name),
                    }),
                );
            }
        }
    }
    let total = imputed.len();
    let coverage = if with_missing == 0 {
        100.0
    } else {
        100.0 * total as f64 / with_missing as f64
    };
    let mut splits = Map::new();
    for r in input.reports {
        let e = splits
            .entry(r.split.clone())
            .or_insert(json!({"shards": 0u64, "rows_in": 0u64, "rows_out": 0u64}));
        for (k, n) in [
            ("shards", 1),
            ("rows_in", r.rows_in),
            ("rows_out", r.rows_out),
        ] {
            e[k] = json!(e[k].as_u64().unwrap_or(0) + n);
        }
    }
    let report = json!({
        "timestamp": input.timestamp,
        "job_type": input.job_type,
        "missing_value_analysis": analysis,
        "validation_report": {
            "rows_in_equals_rows_out": input.reports.iter().all(|r| r.rows_in == r.rows_out),
            "shards": input.reports.len(),
            "splits": splits,
            "warnings": input.plan.map_or(&[][..], |p| &p.warnings[..]),
        },
        "imputation_summary": imputed,
        "quality_metrics": {
            "total_columns_imputed": total,
            "imputation_coverage": coverage,
            "strategy_distribution": strategies,
            "data_type_coverage": types,
        },
        "recommendations": recommendations(input),
    });
    let mut s = serde_json::to_string_pretty(&report)
        .map_err(|e| Error::internal(format!("cannot write the report: {e}")))?;
    s.push('\n');
    Ok(s)
}

/// `imputation_summary.txt`: the run for people.
pub fn summary_text(input: &ReportInput<'_>) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let rows: u64 = input.reports.iter().map(|r| r.rows_in).sum();
    let ok = input.reports.iter().all(|r| r.rows_in == r.rows_out);
    let _ = writeln!(
        t,
        "shardimpute {} imputation summary",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(t, "time: {}", input.timestamp);
    let _ = writeln!(t, "job type: {}", input.job_type);
    let _ = writeln!(
        t,
        "shards: {}, rows: {rows}, rows in = rows out: {}",
        input.reports.len(),
        if ok { "yes" } else { "NO" }
    );
    let _ = writeln!(t, "columns imputed: {}", input.dict.entries.len());
    let _ = writeln!(t);
    match input.plan {
        Some(plan) => {
            for c in &plan.columns {
                match (&c.strategy, &c.fill_value) {
                    (Some(s), Some(v)) => {
                        // a string column's distinct values: what pass 1's
                        // memory grows with
                        let distinct = c
                            .distinct
                            .map(|n| format!(", {n} distinct values"))
                            .unwrap_or_default();
                        let _ = writeln!(
                            t,
                            "  {}: {} {}, fill value {}, missing in training {} ({:.2}%){distinct}",
                            c.name,
                            c.ctype.name(),
                            s.name(),
                            v.to_text(),
                            c.missing_count,
                            c.missing_pct
                        );
                    }
                    _ => {
                        let why = c.skipped.as_deref().unwrap_or("not imputed");
                        let _ = writeln!(t, "  {}: {} ({why})", c.name, c.ctype.name());
                    }
                }
            }
        }
        None => {
            for (name, v) in &input.dict.entries {
                let _ = writeln!(t, "  {name}: saved fill value {}", v.to_text());
            }
        }
    }
    let recs = recommendations(input);
    if !recs.is_empty() {
        let _ = writeln!(t, "\nrecommendations:");
        for r in recs {
            let _ = writeln!(t, "  - {r}");
        }
    }
    if let Some(plan) = input.plan.filter(|p| !p.warnings.is_empty()) {
        let _ = writeln!(t, "\nwarnings:");
        for w in &plan.warnings {
            let _ = writeln!(t, "  - {w}");
        }
    }
    t
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch.
pub fn utc_timestamp(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_795_624_496), "2026-11-25T16:34:56Z");
    }
}
