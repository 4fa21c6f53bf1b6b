//! Pass 1: fold one training shard into [`TrainStats`].
//!
//! CSV/TSV values are typed as pandas would type them (numbers, booleans,
//! strings); Parquet values are typed by their Arrow type. A CSV column that
//! turns out not to be numeric after some rows is re-read as strings, so a
//! shard is typed by all of its values, never by a prefix.

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use bytes::Bytes;

use crate::config::Config;
use crate::csv::{self, Field, Reader};
use crate::dataset::{Format, Shard};
use crate::error::{Error, Result};
use crate::missing::{parse_bool, NaMatcher};
use crate::pandas_num::parse as parse_csv_number;
use crate::parquet_io::ParquetShard;
use crate::plan::needs_values;
use crate::source;
use crate::stats::{ColumnStats, Evidence, TrainStats};

/// Pass 1 over one shard's file bytes.
pub fn fit_shard(shard: &Shard, bytes: Vec<u8>, config: &Config) -> Result<TrainStats> {
    let path = shard.path();
    let result = match shard.kind.format {
        Format::Parquet => fit_parquet(&path, Bytes::from(bytes), config),
        Format::Csv | Format::Tsv => source::decompress(shard, bytes).and_then(|text| {
            let delimiter = if shard.kind.format == Format::Tsv {
                b'\t'
            } else {
                b','
            };
            fit_csv(&path, &text, delimiter, config)
        }),
    };
    result.map_err(|e| e.in_file(path))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unknown,
    Number,
    Bool,
    Text,
}

/// Pass 1 over a whole CSV/TSV text.
pub fn fit_csv(path: &str, data: &[u8], delimiter: u8, config: &Config) -> Result<TrainStats> {
    csv::check_utf8(data)?;
    let na = NaMatcher::new(config);
    let mut forced_text: Vec<bool> = Vec::new();
    loop {
        match scan_csv(path, data, delimiter, config, &na, &forced_text)? {
            Scan::Done(stats) => return Ok(stats),
            Scan::Retype(col, ncols) => {
                forced_text.resize(ncols, false);
                forced_text[col] = true;
            }
        }
    }
}

enum Scan {
    Done(TrainStats),
    /// Column `.0` is not numeric/boolean after all: scan again with it as text.
    Retype(usize, usize),
}

fn scan_csv(
    path: &str,
    data: &[u8],
    delimiter: u8,
    config: &Config,
    na: &NaMatcher,
    forced_text: &[bool],
) -> Result<Scan> {
    let mut reader = Reader::new(data, delimiter);
    let mut fields: Vec<Field> = Vec::new();
    let columns = csv::read_header(&mut reader, &mut fields)?;
    let ncols = columns.len();
    let mut kinds: Vec<Kind> = (0..ncols)
        .map(|i| {
            if forced_text.get(i) == Some(&true) {
                Kind::Text
            } else {
                Kind::Unknown
            }
        })
        .collect();
    let mut stats: Vec<ColumnStats> = columns
        .iter()
        .map(|c| ColumnStats::new(needs_values(config, c)))
        .collect();
    let mut rows = 0u64;
    while reader.next_record(&mut fields)? {
        if fields.len() != ncols {
            return Err(Error::csv(format!(
                "row has {} fields, the header has {ncols}",
                fields.len()
            ))
            .at(format!("line {}", reader.line())));
        }
        rows += 1;
        for (i, f) in fields.iter().enumerate() {
            let text = f.text(data);
            let s = &mut stats[i];
            if na.is_missing(&text) {
                s.add_missing();
                continue;
            }
            if kinds[i] == Kind::Unknown {
                kinds[i] = if parse_csv_number(&text).is_some() {
                    Kind::Number
                } else if parse_bool(&text).is_some() {
                    Kind::Bool
                } else {
                    Kind::Text
                };
            }
            match kinds[i] {
                Kind::Number => match parse_csv_number(&text) {
                    Some(x) => s.add_number(x),
                    None => return Ok(Scan::Retype(i, ncols)),
                },
                Kind::Bool => match parse_bool(&text) {
                    Some(b) => s.add_text(if b { b"True" } else { b"False" }),
                    None => return Ok(Scan::Retype(i, ncols)),
                },
                // the whole text was checked to be UTF-8
                _ => s.add_text(&text),
            }
        }
    }
    for (s, k) in stats.iter_mut().zip(&kinds) {
        let evidence = match k {
            Kind::Unknown => Evidence::Unknown,
            Kind::Number => Evidence::Number,
            Kind::Bool => Evidence::Bool,
            Kind::Text => Evidence::Text,
        };
        s.set_evidence(evidence, path);
    }
    Ok(Scan::Done(TrainStats::of_shard(path, columns, stats, rows)))
}

/// Pass 1 over a Parquet file, row group by row group.
pub fn fit_parquet(path: &str, bytes: Bytes, config: &Config) -> Result<TrainStats> {
    let file = ParquetShard::open(bytes)?;
    let schema = file.schema();
    let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut stats: Vec<ColumnStats> = columns
        .iter()
        .map(|c| ColumnStats::new(needs_values(config, c)))
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

fn cast(a: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    arrow_cast::cast(a, to).map_err(|e| Error::parquet(e.to_string()))
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
