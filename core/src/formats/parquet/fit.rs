//! Parquet pass 1: fold one file, row group by row group, into
//! [`TrainStats`]; values are typed by their Arrow type.

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use bytes::Bytes;

use super::io::{cast, ParquetShard};
use crate::error::Result;
use crate::settings::Settings;
use crate::stats::{keep_for, ColumnStats, Evidence, TrainStats};

/// Pass 1 over a Parquet file, row group by row group.
pub fn fit(path: &str, bytes: Bytes, settings: &Settings) -> Result<TrainStats> {
    let file = ParquetShard::open(bytes)?;
    let schema = file.schema();
    let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut stats: Vec<ColumnStats> = columns
        .iter()
        .map(|c| ColumnStats::new(keep_for(settings, c)))
        .collect();
    let mut rows = 0u64;
    for g in 0..file.row_groups() {
        let batch = file.read_row_group(g)?;
        rows += batch.num_rows() as u64;
        fold_batch(&batch, &mut stats).map_err(|e| e.at(format!("row group {g}")))?;
    }
    for (s, field) in stats.iter_mut().zip(schema.fields()) {
        let (evidence, dictionary) = evidence_of(field.data_type());
        s.set_evidence(evidence, path);
        s.dictionary = dictionary;
        if evidence == Evidence::Unsupported {
            s.arrow_type = Some(field.data_type().to_string());
        }
    }
    Ok(TrainStats::of_shard(path, columns, stats, rows))
}

/// The evidence an Arrow type gives, and whether it is a dictionary.
pub fn evidence_of(t: &DataType) -> (Evidence, bool) {
    match t {
        DataType::Dictionary(_, v) => (evidence_of(v).0, true),
        t if t.is_numeric() => (Evidence::Number, false),
        DataType::Boolean => (Evidence::Bool, false),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            (Evidence::Text, false)
        }
        _ => (Evidence::Unsupported, false),
    }
}

/// Folds one Arrow batch into per-column stats (in schema order).
pub fn fold_batch(batch: &RecordBatch, stats: &mut [ColumnStats]) -> Result<()> {
    for (col, s) in batch.columns().iter().zip(stats.iter_mut()) {
        let (evidence, _) = evidence_of(col.data_type());
        match evidence {
            Evidence::Number => {
                let a = cast(col, &DataType::Float64)?;
                let a = a.as_primitive::<Float64Type>();
                if a.null_count() == 0 {
                    for &x in a.values().iter() {
                        if x.is_nan() {
                            s.add_missing();
                        } else {
                            s.add_number(x);
                        }
                    }
                } else {
                    for x in a.iter() {
                        match x {
                            Some(x) if !x.is_nan() => s.add_number(x),
                            _ => s.add_missing(),
                        }
                    }
                }
            }
            Evidence::Bool => {
                for x in col.as_boolean().iter() {
                    match x {
                        Some(b) => s.add_text(if b { b"True" } else { b"False" }),
                        None => s.add_missing(),
                    }
                }
            }
            Evidence::Text => {
                if col.data_type() == &DataType::Null {
                    s.add_missing_n(col.len() as u64);
                    continue;
                }
                let a = cast(col, &DataType::Utf8)?;
                for x in a.as_string::<i32>().iter() {
                    match x {
                        Some(t) => s.add_text(t.as_bytes()),
                        None => s.add_missing(),
                    }
                }
            }
            Evidence::Unsupported | Evidence::Unknown => {
                let n = col.null_count() as u64;
                s.add_missing_n(n);
                s.rows += col.len() as u64 - n;
            }
        }
    }
    Ok(())
}
