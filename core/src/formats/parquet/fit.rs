//! Parquet pass 1: fold one file, row group by row group, into
//! [`TrainStats`]; values are typed by their Arrow type.

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{AnyDictionaryArray, Array, RecordBatch};
use arrow_schema::DataType;
use bytes::Bytes;

use super::io::{cast, ParquetShard};
use crate::error::Result;
use crate::settings::Settings;
use crate::stats::{keep_for, ColumnStats, Evidence, TrainStats};

/// Pass 1 over a Parquet file, row group by row group.
pub fn fit(path: &str, bytes: Bytes, settings: &Settings) -> Result<TrainStats> {
    let file = ParquetShard::open(bytes)?;
    // the file's own types decide the evidence; the reading schema may
    // make text columns dictionaries
    let schema = file.schema();
    let file = file.with_text_as_dictionaries()?;
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
                if let Some(d) = col.as_any_dictionary_opt() {
                    fold_dictionary(d, s)?;
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

/// Folds a dictionary-encoded text column: each key counted, then each
/// distinct text added once with its count.
fn fold_dictionary(d: &dyn AnyDictionaryArray, s: &mut ColumnStats) -> Result<()> {
    if d.values().is_empty() {
        // no text at all: every cell is null (and `normalized_keys` needs
        // a value)
        s.add_missing_n(d.keys().len() as u64);
        return Ok(());
    }
    let values = cast(d.values(), &DataType::Utf8)?;
    let values = values.as_string::<i32>();
    let mut counts = vec![0u64; values.len()];
    let keys = d.normalized_keys();
    let mut missing = 0u64;
    match d.keys().logical_nulls() {
        Some(valid) => {
            for (k, ok) in keys.iter().zip(valid.iter()) {
                match ok {
                    true => counts[*k] += 1,
                    false => missing += 1,
                }
            }
        }
        None => keys.iter().for_each(|&k| counts[k] += 1),
    }
    s.add_missing_n(missing);
    for (i, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        match values.is_valid(i) {
            true => s.add_dictionary_value(values.value(i).as_bytes(), n),
            false => s.add_missing_n(n),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::types::Int32Type;
    use arrow_array::{DictionaryArray, Int32Array, StringArray};

    use super::*;
    use crate::stats::Keep;

    fn folded(col: arrow_array::ArrayRef) -> ColumnStats {
        let batch = RecordBatch::try_from_iter([("c", col)]).unwrap();
        let mut stats = vec![ColumnStats::new(Keep::Summary)];
        fold_batch(&batch, &mut stats).unwrap();
        stats.pop().unwrap()
    }

    #[test]
    fn a_dictionary_column_counts_like_its_plain_text() {
        // a repeated dictionary value, a null key and a null value
        let keys = Int32Array::from(vec![Some(0), None, Some(1), Some(0), Some(2), Some(3)]);
        let values = StringArray::from(vec![Some("a"), Some("b"), None, Some("a")]);
        let dict = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap();
        let plain = StringArray::from(vec![Some("a"), None, Some("b"), Some("a"), None, Some("a")]);
        let (d, p) = (folded(Arc::new(dict)), folded(Arc::new(plain)));
        assert_eq!((d.rows, d.missing), (6, 2));
        assert_eq!((d.rows, d.missing), (p.rows, p.missing));
        assert_eq!(d.text_counts(), p.text_counts());
        assert_eq!(
            d.text_counts(),
            vec![(b"a".to_vec(), 3), (b"b".to_vec(), 1)]
        );
    }

    #[test]
    fn an_all_null_dictionary_column_is_all_missing() {
        let keys = Int32Array::from(vec![None, None, None]);
        let dict = DictionaryArray::<Int32Type>::try_new(
            keys,
            Arc::new(StringArray::from(Vec::<&str>::new())),
        )
        .unwrap();
        let d = folded(Arc::new(dict));
        assert_eq!((d.rows, d.missing), (3, 3));
        assert!(d.text_counts().is_empty());
    }
}
