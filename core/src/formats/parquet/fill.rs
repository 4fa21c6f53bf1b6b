//! Parquet pass 2: row group by row group, same codecs, same schema unless
//! a fill value does not fit a column's type (a non-integral mean in an
//! integer column makes it float64, as pandas would).

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, Scalar, StringArray};
use arrow_buffer::BooleanBuffer;
use arrow_schema::{DataType, Field as ArrowField, FieldRef};
use bytes::Bytes;

use super::io::{cast, decoding, replace_fields, ColumnOut, ParquetOut, ParquetShard};
use super::pages::{fill_chunk, PageFill, Paged};
use crate::error::{Error, Result};
use crate::formats::{out_name, ShardReport};
use crate::pandas::parse_bool;
use crate::plan::{FillDict, FillValue};
use crate::settings::Settings;

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
    // logical: a null-typed column has no null buffer but is all null
    let nulls = match a.logical_nulls() {
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

/// Widening a 64-bit integer column to float64 (for a fractional fill
/// value) must not change a value that is there: refuse when it would.
fn check_widening(col: &ArrayRef, to: &DataType, column: &str) -> Result<()> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, UInt64Type};
    if to != &DataType::Float64 {
        return Ok(());
    }
    let changed = match col.data_type() {
        DataType::Int64 => col
            .as_primitive::<Int64Type>()
            .iter()
            .flatten()
            .find(|&v| (v as f64) as i128 != v as i128)
            .map(|v| v.to_string()),
        DataType::UInt64 => col
            .as_primitive::<UInt64Type>()
            .iter()
            .flatten()
            .find(|&v| (v as f64) as u128 != v as u128)
            .map(|v| v.to_string()),
        _ => None,
    };
    match changed {
        Some(v) => Err(Error::fill_value(format!(
            "column `{column}`: its fill value is not an integer, so the column would become \
             float64, which cannot hold its value {v} exactly; give it an integral fill value \
             (COLUMN_STRATEGY_{column}=constant with an integral NUMERICAL_CONSTANT_VALUE)"
        ))),
        None => Ok(()),
    }
}

fn fill_array(col: &ArrayRef, f: &ColumnFill, column: &str) -> Result<(ArrayRef, u64)> {
    check_widening(col, &f.out_type, column)?;
    if let Some(filled) = fill_dictionary(col, &f.out_type, &f.scalar) {
        return Ok(filled);
    }
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
    let quick =
        fill_text(&values, &mask, &f.scalar).or_else(|| fill_float(&values, &mask, &f.scalar));
    let filled = match quick {
        Some(filled) => filled,
        None => arrow_select::zip::zip(&mask, &Scalar::new(f.scalar.clone()), &values)
            .map_err(|e| Error::parquet(e.to_string()))?,
    };
    let filled = match dict_type {
        Some(t) => cast(&filled, &t)?,
        None => filled,
    };
    Ok((filled, n))
}

/// A text column with its missing cells (`mask`, which covers every null)
/// given the text of `scalar`, built in one pass: the general `zip` goes
/// through arrow's slower generic copying for variable-size values. `None`
/// when `values` is not `Utf8` or the result would not fit its offsets.
fn fill_text(values: &ArrayRef, mask: &BooleanArray, scalar: &ArrayRef) -> Option<ArrayRef> {
    use arrow_array::cast::AsArray;
    let (DataType::Utf8, DataType::Utf8) = (values.data_type(), scalar.data_type()) else {
        return None;
    };
    let (values, scalar) = (values.as_string::<i32>(), scalar.as_string::<i32>());
    let fill = scalar.is_valid(0).then(|| scalar.value(0))?.as_bytes();
    let n = values.len();
    let filled = mask.true_count();
    let size = values.value_data().len() + filled * fill.len();
    i32::try_from(size).ok()?;
    let mut offsets = Vec::with_capacity(n + 1);
    let mut data = Vec::with_capacity(size);
    offsets.push(0i32);
    for i in 0..n {
        if mask.value(i) {
            data.extend_from_slice(fill);
        } else if values.is_valid(i) {
            data.extend_from_slice(values.value(i).as_bytes());
        } else {
            return None; // a null the mask missed: leave it to `zip`
        }
        offsets.push(data.len() as i32);
    }
    let offsets = arrow_buffer::OffsetBuffer::new(offsets.into());
    Some(Arc::new(StringArray::new(offsets, data.into(), None)))
}

/// A text column read as a dictionary (`Int32` keys, `Utf8` values) and
/// written as `Utf8`, filled through its keys: the fill value is added at
/// the end of the dictionary and every missing cell (a null key, or a key
/// of a null value) points at it; no text is copied row by row. The writer
/// encodes the values the keys point at, so the file is the one the plain
/// filled array gives. Returns the filled column and the number of cells
/// filled; `None` for any other column.
fn fill_dictionary(
    col: &ArrayRef,
    out_type: &DataType,
    scalar: &ArrayRef,
) -> Option<(ArrayRef, u64)> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int32Type;
    use arrow_array::{DictionaryArray, Int32Array};
    let DataType::Dictionary(key, value) = col.data_type() else {
        return None;
    };
    if (key.as_ref(), value.as_ref(), out_type, scalar.data_type())
        != (
            &DataType::Int32,
            &DataType::Utf8,
            &DataType::Utf8,
            &DataType::Utf8,
        )
        || scalar.is_null(0)
    {
        return None;
    }
    let dict = col.as_dictionary::<Int32Type>();
    // the cells that hold a value: a valid key of a valid value
    let Some(present) = dict.logical_nulls().filter(|p| p.null_count() > 0) else {
        return Some((col.clone(), 0));
    };
    let at = i32::try_from(dict.values().len()).ok()?;
    let values = arrow_select::concat::concat(&[dict.values().as_ref(), scalar.as_ref()]).ok()?;
    let keys: Vec<i32> = dict
        .keys()
        .values()
        .iter()
        .zip(present.iter())
        .map(|(&k, ok)| if ok { k } else { at })
        .collect();
    let filled = DictionaryArray::<Int32Type>::try_new(Int32Array::from(keys), values).ok()?;
    Some((Arc::new(filled), present.null_count() as u64))
}

/// The same for a float64 column. `None` for another type.
fn fill_float(values: &ArrayRef, mask: &BooleanArray, scalar: &ArrayRef) -> Option<ArrayRef> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    let (DataType::Float64, DataType::Float64) = (values.data_type(), scalar.data_type()) else {
        return None;
    };
    let scalar = scalar.as_primitive::<Float64Type>();
    let fill = scalar.is_valid(0).then(|| scalar.value(0))?;
    let values = values.as_primitive::<Float64Type>().values();
    let out: Vec<f64> = values
        .iter()
        .zip(mask.values().iter())
        .map(|(&v, missing)| if missing { fill } else { v })
        .collect();
    Some(Arc::new(Float64Array::from(out)))
}

/// pandas' `(pandas_type, numpy_type)` for an Arrow type a column may be
/// given by pass 2.
fn pandas_types(t: &DataType) -> Option<(&'static str, &'static str)> {
    match t {
        DataType::Float64 => Some(("float64", "float64")),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(("unicode", "object")),
        _ => None,
    }
}

/// The `pandas` schema metadata (JSON written by `DataFrame.to_parquet`)
/// updated for the output: a column whose type changed gets the pandas
/// dtype of its new type (its other entries, such as a `string` dtype of
/// an unchanged column, stay as they are), and a renamed column its new
/// name. `None` when the text is not the JSON pandas writes (the key is
/// then dropped rather than left wrong).
fn updated_pandas_metadata(
    text: &str,
    fields_in: &arrow_schema::Fields,
    fields_out: &arrow_schema::Fields,
) -> Option<String> {
    let mut md: serde_json::Value = serde_json::from_str(text).ok()?;
    let columns = md.get_mut("columns")?.as_array_mut()?;
    for (fin, fout) in fields_in.iter().zip(fields_out.iter()) {
        let (changed, renamed) = (
            fin.data_type() != fout.data_type(),
            fin.name() != fout.name(),
        );
        if !changed && !renamed {
            continue;
        }
        let Some(entry) = columns
            .iter_mut()
            .find(|c| c.get("field_name").and_then(|v| v.as_str()) == Some(fin.name().as_str()))
        else {
            continue;
        };
        let entry = entry.as_object_mut()?;
        if changed {
            let (pandas_type, numpy_type) = pandas_types(fout.data_type())?;
            entry.insert("pandas_type".into(), pandas_type.into());
            entry.insert("numpy_type".into(), numpy_type.into());
            entry.insert("metadata".into(), serde_json::Value::Null);
        }
        if renamed {
            entry.insert("field_name".into(), fout.name().as_str().into());
            if entry.get("name").and_then(|v| v.as_str()) == Some(fin.name().as_str()) {
                entry.insert("name".into(), fout.name().as_str().into());
            }
        }
    }
    serde_json::to_string(&md).ok()
}

/// Pass 2 over a Parquet file, row group by row group.
pub fn fill(bytes: Bytes, dict: &FillDict, settings: &Settings) -> Result<(Vec<u8>, ShardReport)> {
    let file = ParquetShard::open(bytes)?;
    // the file's own types make the output schema; text columns are read
    // as dictionaries (filled by their keys, see `fill_dictionary`)
    let schema = file.schema();
    let file = file.with_text_as_dictionaries()?;
    let mut plans = Vec::new();
    let by_column = dict.index();
    let mut plan_of = vec![None; schema.fields().len()];
    for (i, field) in schema.fields().iter().enumerate() {
        if let Some(v) = by_column.get(field.name().as_str()) {
            plan_of[i] = Some(plans.len());
            plans.push(plan_column(i, field.name(), field.data_type(), v)?);
        }
    }
    let mut report = ShardReport::default();
    let mut out_fields: Vec<FieldRef> = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let t = plan_of[i].map_or(field.data_type().clone(), |k| plans[k].out_type.clone());
        if &t != field.data_type() {
            report.type_changes.push((
                field.name().clone(),
                field.data_type().to_string(),
                t.to_string(),
            ));
        }
        let f = ArrowField::new(out_name(field.name(), settings), t, field.is_nullable())
            .with_metadata(field.metadata().clone());
        out_fields.push(Arc::new(f));
    }
    let mut out_schema = replace_fields(&schema, out_fields);
    if let Some(pandas) = schema.metadata().get("pandas") {
        // pandas' stored dtypes and names must say what the output holds
        let mut md = out_schema.metadata().clone();
        match updated_pandas_metadata(pandas, schema.fields(), out_schema.fields()) {
            Some(text) => md.insert("pandas".to_string(), text),
            None => md.remove("pandas"),
        };
        out_schema = Arc::new(out_schema.as_ref().clone().with_metadata(md));
    }
    // a column neither filled nor renamed is copied as its encoded chunks
    let copied: Vec<bool> = (0..schema.fields().len())
        .map(|i| plan_of[i].is_none() && out_schema.field(i).name() == schema.field(i).name())
        .collect();
    let decoded: Vec<usize> = (0..copied.len()).filter(|&i| !copied[i]).collect();
    // a filled column of the same name and type may be filled by its
    // pages: its leaf and fill value as the pages store it
    let parquet_schema = file.parquet_schema();
    let page_fill: Vec<Option<(usize, PageFill)>> = (0..copied.len())
        .map(|i| {
            let p = &plans[plan_of[i]?];
            let field = schema.field(i);
            if p.out_type != *field.data_type() || out_schema.field(i).name() != field.name() {
                return None;
            }
            let mut leaves = (0..parquet_schema.num_columns())
                .filter(|&l| parquet_schema.get_column_root_idx(l) == i);
            let (leaf, None) = (leaves.next()?, leaves.next()) else {
                return None;
            };
            let fill = PageFill::new(
                &parquet_schema.column(leaf),
                field.data_type(),
                p.scalar.as_ref(),
            )?;
            Some((leaf, fill))
        })
        .collect();
    let kept: Vec<bool> = (0..copied.len())
        .map(|i| copied[i] || page_fill[i].is_some())
        .collect();
    let props = file.writer_properties();
    // a column the writer would not give a dictionary is paged without one
    let plain: Vec<bool> = (0..copied.len())
        .map(|i| match &page_fill[i] {
            Some((leaf, _)) => !props.dictionary_enabled(parquet_schema.column(*leaf).path()),
            None => false,
        })
        .collect();
    let mut writer = ParquetOut::new(
        out_schema.clone(),
        props,
        file.parquet_schema(),
        &kept,
        // about the input's size: the same data, a few cells filled
        file.size() + file.size() / 8,
    )?;
    let mut filled = vec![0u64; plans.len()];
    for g in 0..file.row_groups() {
        let place = || format!("row group {g}");
        let mut outs: Vec<Option<ColumnOut>> = copied
            .iter()
            .map(|&c| c.then_some(ColumnOut::Copied))
            .collect();
        let mut decode = Vec::with_capacity(decoded.len());
        for &i in &decoded {
            if let (Some((leaf, fill)), Some(k)) = (&page_fill[i], plan_of[i]) {
                let column = || format!("row group {g}, column `{}`", schema.field(i).name());
                match decoding(|| fill_chunk(&file, g, *leaf, fill, plain[i]))
                    .map_err(|e| e.at(column()))?
                {
                    Paged::Unchanged => {
                        outs[i] = Some(ColumnOut::Copied);
                        continue;
                    }
                    Paged::Filled(chunk, n) => {
                        filled[k] += n;
                        outs[i] = Some(ColumnOut::Paged(chunk));
                        continue;
                    }
                    Paged::Decode => {}
                }
            }
            decode.push(i);
        }
        if !decode.is_empty() {
            let batch = file.read_row_group_roots(g, Some(&decode))?;
            for (&i, col) in decode.iter().zip(batch.columns()) {
                outs[i] = Some(ColumnOut::Encoded(match plan_of[i] {
                    Some(k) => {
                        let p = &plans[k];
                        let (a, n) = fill_array(col, p, schema.field(i).name())
                            .map_err(|e| e.at(place()))?;
                        filled[k] += n;
                        a
                    }
                    None => col.clone(),
                }));
            }
        }
        report.rows_in += file.row_group_rows(g);
        let cols = outs
            .into_iter()
            .map(|c| c.ok_or_else(|| Error::internal("a column neither copied nor written")))
            .collect::<Result<Vec<_>>>()?;
        writer.write_row_group(&file, g, cols)?;
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
    fn pandas_metadata_follows_type_changes_and_renames() {
        let fields = |specs: &[(&str, DataType)]| -> arrow_schema::Fields {
            specs
                .iter()
                .map(|(n, t)| ArrowField::new(*n, t.clone(), true))
                .collect()
        };
        let text = r#"{"index_columns": [], "columns": [
            {"name": "i", "field_name": "i", "pandas_type": "int64", "numpy_type": "Int64", "metadata": null},
            {"name": "s", "field_name": "s", "pandas_type": "unicode", "numpy_type": "string", "metadata": null},
            {"name": "a__DOT__b", "field_name": "a__DOT__b", "pandas_type": "float64", "numpy_type": "float64", "metadata": null}]}"#;
        let fin = fields(&[
            ("i", DataType::Int64),
            ("s", DataType::Utf8),
            ("a__DOT__b", DataType::Float64),
        ]);
        let fout = fields(&[
            ("i", DataType::Float64),
            ("s", DataType::Utf8),
            ("a.b", DataType::Float64),
        ]);
        let md: serde_json::Value =
            serde_json::from_str(&updated_pandas_metadata(text, &fin, &fout).unwrap()).unwrap();
        let c = &md["columns"];
        assert_eq!(c[0]["numpy_type"], "float64");
        assert_eq!(c[0]["pandas_type"], "float64");
        assert_eq!(c[1]["numpy_type"], "string");
        assert_eq!(
            (&c[2]["name"], &c[2]["field_name"]),
            (&"a.b".into(), &"a.b".into())
        );
        // not pandas' JSON: dropped rather than left wrong
        assert_eq!(updated_pandas_metadata("not json", &fin, &fout), None);
    }
}

#[cfg(test)]
mod fill_text_tests {
    use super::*;

    #[test]
    fn text_fill_equals_the_general_zip() {
        let values: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            None,
            Some(""),
            None,
            Some("naïve"),
        ]));
        let sliced = values.slice(1, 4);
        let scalar: ArrayRef = Arc::new(StringArray::from(vec!["Unknown"]));
        for v in [values, sliced] {
            let mask = missing_mask(&v).unwrap();
            let fast = fill_text(&v, &mask, &scalar).unwrap();
            let general = arrow_select::zip::zip(&mask, &Scalar::new(scalar.clone()), &v).unwrap();
            assert_eq!(fast.as_ref(), general.as_ref());
            assert_eq!(fast.null_count(), 0);
        }
    }

    #[test]
    fn dictionary_fill_equals_the_plain_text_fill() {
        use arrow_array::types::Int32Type;
        use arrow_array::{DictionaryArray, Int32Array};
        // a null key, a key of a null value, a repeated value, a value
        // equal to the fill value, and an unused value
        let keys = Int32Array::from(vec![Some(0), None, Some(1), Some(0), Some(2), Some(3)]);
        let values =
            StringArray::from(vec![Some("a"), None, Some("Unknown"), Some("b"), Some("z")]);
        let dict: ArrayRef =
            Arc::new(DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap());
        let scalar: ArrayRef = Arc::new(StringArray::from(vec!["Unknown"]));
        for d in [dict.clone(), dict.slice(1, 4)] {
            let (filled, n) = fill_dictionary(&d, &DataType::Utf8, &scalar).unwrap();
            let plain = cast(&d, &DataType::Utf8).unwrap();
            let mask = missing_mask(&plain).unwrap();
            let want = fill_text(&plain, &mask, &scalar).unwrap();
            assert_eq!(n, mask.true_count() as u64);
            assert_eq!(filled.null_count(), 0);
            assert_eq!(
                cast(&filled, &DataType::Utf8).unwrap().as_ref(),
                want.as_ref()
            );
        }
        // nothing missing: the column as it is
        let full = dict.slice(0, 1);
        let (same, n) = fill_dictionary(&full, &DataType::Utf8, &scalar).unwrap();
        assert_eq!((same.as_ref(), n), (full.as_ref(), 0));
        // another type is not for this path
        assert!(fill_dictionary(&scalar, &DataType::Utf8, &scalar).is_none());
    }

    #[test]
    fn float_fill_equals_the_general_zip_nan_included() {
        let values: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(1.5),
            None,
            Some(f64::NAN),
            Some(-0.0),
            None,
        ]));
        let sliced = values.slice(1, 4);
        let scalar: ArrayRef = Arc::new(Float64Array::from(vec![2.25]));
        for v in [values, sliced] {
            let mask = missing_mask(&v).unwrap();
            let fast = fill_float(&v, &mask, &scalar).unwrap();
            let general = arrow_select::zip::zip(&mask, &Scalar::new(scalar.clone()), &v).unwrap();
            let bits = |a: &ArrayRef| -> Vec<u64> {
                let a = a.as_any().downcast_ref::<Float64Array>().unwrap();
                a.values().iter().map(|x| x.to_bits()).collect()
            };
            assert_eq!(bits(&fast), bits(&general));
            assert_eq!(fast.null_count(), 0);
            assert_eq!(general.null_count(), 0);
        }
    }
}
