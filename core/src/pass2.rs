//! Pass 2: fill the missing cells of one shard and write it back in its own
//! format.
//!
//! CSV/TSV: only missing fields change; every other byte is copied through.
//! Parquet: row group by row group, same codecs, same schema unless a fill
//! value does not fit a column's type (a non-integral mean in an integer
//! column makes it float64, as pandas would). Every shard's output is
//! re-read to check that it has exactly as many rows as its input.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, RecordBatch, Scalar, StringArray};
use arrow_buffer::BooleanBuffer;
use arrow_schema::{DataType, Field as ArrowField, FieldRef};
use bytes::Bytes;
use serde::Serialize;

use crate::config::Config;
use crate::csv::{self, Field, Reader};
use crate::dataset::{Format, Shard};
use crate::error::{Error, ErrorKind, Result};
use crate::missing::{parse_bool, NaMatcher};
use crate::parquet_io::{replace_fields, ParquetOut, ParquetShard};
use crate::plan::{FillDict, FillValue};
use crate::source;

/// What pass 2 did to one shard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardReport {
    /// The split.
    pub split: String,
    /// The file name.
    pub name: String,
    /// Rows read.
    pub rows_in: u64,
    /// Rows in the written output (re-read from it).
    pub rows_out: u64,
    /// Cells filled per column (columns of the fill dict in this shard).
    pub cells_filled: Vec<(String, u64)>,
    /// Parquet columns whose type had to change, `(column, from, to)`.
    pub type_changes: Vec<(String, String, String)>,
    /// Input file size in bytes.
    pub bytes_in: u64,
    /// Output file size in bytes.
    pub bytes_out: u64,
}

/// Pass 2 over one shard's file bytes: the output file's bytes and a report.
pub fn fill_shard(
    shard: &Shard,
    bytes: Vec<u8>,
    dict: &FillDict,
    config: &Config,
) -> Result<(Vec<u8>, ShardReport)> {
    let path = shard.path();
    let bytes_in = bytes.len() as u64;
    let result = match shard.kind.format {
        Format::Parquet => fill_parquet(Bytes::from(bytes), dict, config),
        Format::Csv | Format::Tsv => source::decompress(shard, bytes).and_then(|text| {
            let delimiter = if shard.kind.format == Format::Tsv {
                b'\t'
            } else {
                b','
            };
            let (out, report) = fill_csv(&text, delimiter, dict, config)?;
            Ok((source::compress(shard, out)?, report))
        }),
    };
    let (out, mut report) = result.map_err(|e| e.in_file(path.clone()))?;
    report.split = shard.split.clone();
    report.name = shard.name.clone();
    report.bytes_in = bytes_in;
    report.bytes_out = out.len() as u64;
    if report.rows_in != report.rows_out {
        return Err(Error::new(ErrorKind::RowCount(format!(
            "{} rows in, {} rows out",
            report.rows_in, report.rows_out
        )))
        .in_file(path));
    }
    Ok((out, report))
}

fn empty_report() -> ShardReport {
    ShardReport {
        split: String::new(),
        name: String::new(),
        rows_in: 0,
        rows_out: 0,
        cells_filled: Vec::new(),
        type_changes: Vec::new(),
        bytes_in: 0,
        bytes_out: 0,
    }
}

/// Output column name: `__DOT__` as `.` when asked.
fn out_name(name: &str, config: &Config) -> String {
    if config.rename_dots {
        name.replace("__DOT__", ".")
    } else {
        name.to_string()
    }
}

/// Pass 2 over a whole CSV/TSV text.
pub fn fill_csv(
    data: &[u8],
    delimiter: u8,
    dict: &FillDict,
    config: &Config,
) -> Result<(Vec<u8>, ShardReport)> {
    csv::check_utf8(data)?;
    let na = NaMatcher::new(config);
    let mut reader = Reader::new(data, delimiter);
    let mut fields: Vec<Field> = Vec::new();
    let columns = csv::read_header(&mut reader, &mut fields)?;
    let ncols = columns.len();
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    let mut last = 0;
    if config.rename_dots && columns.iter().any(|c| c.contains("__DOT__")) {
        out.extend_from_slice(&data[..reader.record_start()]);
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                out.push(delimiter);
            }
            csv::write_field(&mut out, out_name(c, config).as_bytes(), delimiter);
        }
        last = fields.last().map_or(reader.position(), |f| f.end);
    }
    // (column index, encoded fill text) for the columns this shard fills
    let fills: Vec<(usize, Vec<u8>)> = columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            dict.get(c).map(|v| {
                let mut enc = Vec::new();
                csv::write_field(&mut enc, v.to_text().as_bytes(), delimiter);
                (i, enc)
            })
        })
        .collect();
    let mut filled = vec![0u64; fills.len()];
    let mut rows_in = 0u64;
    while reader.next_record(&mut fields)? {
        if fields.len() != ncols {
            return Err(Error::csv(format!(
                "row has {} fields, the header has {ncols}",
                fields.len()
            ))
            .at(format!("line {}", reader.line())));
        }
        rows_in += 1;
        for (k, (i, fill)) in fills.iter().enumerate() {
            let f = fields[*i];
            let missing = !f.escaped && {
                let raw = if f.quoted {
                    &data[f.start + 1..f.end - 1]
                } else {
                    &data[f.start..f.end]
                };
                na.is_missing(raw)
            };
            if missing {
                out.extend_from_slice(&data[last..f.start]);
                out.extend_from_slice(fill);
                last = f.end;
                filled[k] += 1;
            }
        }
    }
    out.extend_from_slice(&data[last..]);
    let rows_out = count_csv_rows(&out);
    let mut report = empty_report();
    report.rows_in = rows_in;
    report.rows_out = rows_out;
    report.cells_filled = fills
        .iter()
        .zip(filled)
        .map(|((i, _), n)| (columns[*i].clone(), n))
        .collect();
    Ok((out, report))
}

/// Rows (records after the header) in a CSV/TSV text, counted
/// independently of [`Reader`]: line ends outside quotes, blank lines not
/// counted. Fast (it only looks at quotes and newlines), so every output is
/// checked.
pub fn count_csv_rows(data: &[u8]) -> u64 {
    let mut records = 0u64;
    let mut in_quotes = false;
    let mut line_start = 0;
    for i in memchr::memchr2_iter(b'"', b'\n', data) {
        if data[i] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            let line = &data[line_start..i];
            if !(line.is_empty() || line == b"\r") {
                records += 1;
            }
            line_start = i + 1;
        }
    }
    if line_start < data.len() {
        records += 1;
    }
    records.saturating_sub(1)
}

/// How one Parquet column is filled.
struct ColumnFill {
    index: usize,
    /// The column's type in the output.
    out_type: DataType,
    /// The fill value as a one-element array of `out_type` (or of the
    /// dictionary's value type).
    scalar: ArrayRef,
}

fn cannot(column: &str, t: &DataType, v: &FillValue) -> Error {
    Error::schema(format!(
        "fill value {} for column `{column}` cannot be written into its type {t}",
        v.to_text()
    ))
}

fn cast(a: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    arrow_cast::cast(a, to).map_err(|e| Error::parquet(e.to_string()))
}

/// Exact cast: fails (None) when the value changes on the way.
fn cast_exact(x: f64, to: &DataType) -> Option<ArrayRef> {
    let src: ArrayRef = Arc::new(Float64Array::from(vec![x]));
    let opts = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    let out = arrow_cast::cast_with_options(&src, to, &opts).ok()?;
    let back = arrow_cast::cast(&out, &DataType::Float64).ok()?;
    let back = back.as_any().downcast_ref::<Float64Array>()?;
    (back.len() == 1 && !back.is_null(0) && back.value(0) == x).then_some(out)
}

fn plan_column(index: usize, column: &str, t: &DataType, v: &FillValue) -> Result<ColumnFill> {
    let text_scalar = |to: &DataType| -> Result<ArrayRef> {
        let a: ArrayRef = Arc::new(StringArray::from(vec![v.to_text()]));
        cast(&a, to)
    };
    let fill = |out_type: DataType, scalar: ArrayRef| ColumnFill {
        index,
        out_type,
        scalar,
    };
    Ok(match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            fill(t.clone(), text_scalar(t)?)
        }
        DataType::Dictionary(_, value)
            if matches!(
                **value,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            fill(t.clone(), text_scalar(value)?)
        }
        DataType::Boolean => {
            let b = match v {
                FillValue::Bool(b) => Some(*b),
                FillValue::Text(s) => parse_bool(s.as_bytes()),
                other => match other.as_f64() {
                    Some(1.0) => Some(true),
                    Some(0.0) => Some(false),
                    _ => None,
                },
            };
            let b = b.ok_or_else(|| cannot(column, t, v))?;
            fill(t.clone(), Arc::new(BooleanArray::from(vec![b])))
        }
        DataType::Null => match v {
            FillValue::Text(_) | FillValue::Bool(_) => {
                fill(DataType::Utf8, text_scalar(&DataType::Utf8)?)
            }
            _ => {
                let x = v.as_f64().ok_or_else(|| cannot(column, t, v))?;
                fill(DataType::Float64, Arc::new(Float64Array::from(vec![x])))
            }
        },
        t if t.is_numeric() || matches!(t, DataType::Dictionary(..)) => {
            let x = v.as_f64().ok_or_else(|| cannot(column, t, v))?;
            let value_type = match t {
                DataType::Dictionary(_, value) => value.as_ref().clone(),
                t => t.clone(),
            };
            let is_float = matches!(
                value_type,
                DataType::Float16 | DataType::Float32 | DataType::Float64
            );
            let exact = if is_float {
                cast(
                    &(Arc::new(Float64Array::from(vec![x])) as ArrayRef),
                    &value_type,
                )
                .ok()
            } else {
                cast_exact(x, &value_type)
            };
            match exact {
                Some(s) if matches!(t, DataType::Dictionary(..)) => fill(t.clone(), s),
                Some(s) => fill(value_type, s),
                None => fill(DataType::Float64, Arc::new(Float64Array::from(vec![x]))),
            }
        }
        other => return Err(cannot(column, other, v)),
    })
}

/// A mask of the missing cells: nulls, and NaN in float columns.
fn missing_mask(a: &ArrayRef) -> Result<BooleanArray> {
    let len = a.len();
    let nulls = match a.nulls() {
        Some(valid) => !valid.inner(),
        None => BooleanBuffer::new_unset(len),
    };
    let mask = match a.data_type() {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let f = cast(a, &DataType::Float64)?;
            match f.as_any().downcast_ref::<Float64Array>() {
                Some(f) => {
                    let v = f.values();
                    &nulls | &BooleanBuffer::collect_bool(len, |i| v[i].is_nan())
                }
                None => nulls,
            }
        }
        _ => nulls,
    };
    Ok(BooleanArray::new(mask, None))
}

fn fill_array(col: &ArrayRef, f: &ColumnFill) -> Result<(ArrayRef, u64)> {
    let mask = missing_mask(col)?;
    let n = mask.true_count() as u64;
    let (work_type, dict_type) = match &f.out_type {
        DataType::Dictionary(_, value) => (value.as_ref().clone(), Some(f.out_type.clone())),
        t => (t.clone(), None),
    };
    if n == 0 {
        return Ok((cast(col, &f.out_type)?, 0));
    }
    let values = cast(col, &work_type)?;
    let filled = arrow_select::zip::zip(&mask, &Scalar::new(f.scalar.clone()), &values)
        .map_err(|e| Error::parquet(e.to_string()))?;
    let filled = match dict_type {
        Some(t) => cast(&filled, &t)?,
        None => filled,
    };
    Ok((filled, n))
}

/// Pass 2 over a Parquet file, row group by row group.
pub fn fill_parquet(
    bytes: Bytes,
    dict: &FillDict,
    config: &Config,
) -> Result<(Vec<u8>, ShardReport)> {
    let file = ParquetShard::open(bytes)?;
    let schema = file.schema();
    let mut plans = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        if let Some(v) = dict.get(field.name()) {
            plans.push(plan_column(i, field.name(), field.data_type(), v)?);
        }
    }
    let mut report = empty_report();
    let mut out_fields: Vec<FieldRef> = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let t = plans
            .iter()
            .find(|p| p.index == i)
            .map_or(field.data_type().clone(), |p| p.out_type.clone());
        if &t != field.data_type() {
            report.type_changes.push((
                field.name().clone(),
                field.data_type().to_string(),
                t.to_string(),
            ));
        }
        let f = ArrowField::new(out_name(field.name(), config), t, field.is_nullable())
            .with_metadata(field.metadata().clone());
        out_fields.push(Arc::new(f));
    }
    let mut out_schema = replace_fields(&schema, out_fields);
    if !report.type_changes.is_empty() {
        // pandas' stored dtypes no longer hold
        let mut md = out_schema.metadata().clone();
        md.remove("pandas");
        out_schema = Arc::new(out_schema.as_ref().clone().with_metadata(md));
    }
    let mut writer = ParquetOut::new(out_schema.clone(), file.writer_properties())?;
    let mut filled = vec![0u64; plans.len()];
    for g in 0..file.row_groups() {
        let batch = file.read_row_group(g)?;
        report.rows_in += batch.num_rows() as u64;
        let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
        for (k, p) in plans.iter().enumerate() {
            let (a, n) =
                fill_array(&cols[p.index], p).map_err(|e| e.at(format!("row group {g}")))?;
            cols[p.index] = a;
            filled[k] += n;
        }
        let out = RecordBatch::try_new(out_schema.clone(), cols)
            .map_err(|e| Error::parquet(e.to_string()).at(format!("row group {g}")))?;
        writer.write_row_group(&out)?;
    }
    let out = Bytes::from(writer.finish()?);
    report.rows_out = ParquetShard::open(out.clone())?.rows();
    report.cells_filled = plans
        .iter()
        .zip(filled)
        .map(|(p, n)| (schema.field(p.index).name().clone(), n))
        .collect();
    Ok((out.into(), report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_count_agrees_with_the_reader() {
        for text in [
            "a,b\n1,2\n",
            "a,b\n1,2",
            "a,b\r\n\r\n1,\"x\ny\"\n\n3,\"\"\"\"\n",
            "a\n",
            "a",
            "\u{feff}a,b\n\"q,\"\"r\"\"\",2\n",
        ] {
            let mut r = Reader::new(text.as_bytes(), b',');
            let mut f = Vec::new();
            let mut n = 0u64;
            while r.next_record(&mut f).unwrap() {
                n += 1;
            }
            assert_eq!(
                count_csv_rows(text.as_bytes()),
                n.saturating_sub(1),
                "{text:?}"
            );
        }
    }
}
