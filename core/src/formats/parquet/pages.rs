//! Pass 2 of a dictionary-encoded column chunk, page by page, without
//! decoding it into Arrow or encoding it again value by value: the fill
//! value joins the dictionary (unless it is there already), and each data
//! page's indices are rewritten with every missing cell (a null, or a NaN
//! entry of a float dictionary) pointing at it. The dictionary keeps its
//! order and the data pages their boundaries, so the chunk reads back as
//! the input with its gaps filled.
//!
//! Only the common case takes this path: a flat column of text, float or
//! integer values, every data page a version 1 page of dictionary indices,
//! uncompressed or Snappy. Any other chunk is [`Paged::Decode`]: pass 2
//! decodes and encodes it through Arrow.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::Array;
use arrow_schema::DataType;
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, Type as PhysicalType};
use parquet::column::page::{CompressedPage, Page, PageReader, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::serialized_reader::SerializedPageReader;
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescriptor;

use super::io::ParquetShard;
use super::rle;
use crate::error::{Error, Result};

/// A fill value as a column chunk stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum PageFill {
    /// A `BYTE_ARRAY` text column.
    Text(Vec<u8>),
    /// A `DOUBLE` column (not NaN).
    F64(f64),
    /// A `FLOAT` column (not NaN).
    F32(f32),
    /// An `INT64` column.
    I64(i64),
    /// An `INT32` column.
    I32(i32),
}

impl PageFill {
    /// The page path's fill value for a column of Arrow type `t` in and out
    /// (no type change) and this leaf, given the fill value as a
    /// one-element array of `t`; `None` when the column is not one it
    /// writes.
    pub fn new(leaf: &ColumnDescriptor, t: &DataType, scalar: &dyn Array) -> Option<PageFill> {
        if leaf.max_rep_level() != 0 || leaf.max_def_level() > 1 || scalar.is_null(0) {
            return None;
        }
        let fill = match (leaf.physical_type(), t, scalar.data_type()) {
            (PhysicalType::BYTE_ARRAY, DataType::Utf8, DataType::Utf8) => {
                PageFill::Text(scalar.as_string::<i32>().value(0).as_bytes().to_vec())
            }
            (PhysicalType::DOUBLE, DataType::Float64, DataType::Float64) => {
                PageFill::F64(scalar.as_primitive::<Float64Type>().value(0))
            }
            (PhysicalType::FLOAT, DataType::Float32, DataType::Float32) => {
                PageFill::F32(scalar.as_primitive::<Float32Type>().value(0))
            }
            (PhysicalType::INT64, DataType::Int64, DataType::Int64) => {
                PageFill::I64(scalar.as_primitive::<Int64Type>().value(0))
            }
            (PhysicalType::INT32, DataType::Int32, DataType::Int32) => {
                PageFill::I32(scalar.as_primitive::<Int32Type>().value(0))
            }
            _ => return None,
        };
        let nan = matches!(fill, PageFill::F64(x) if x.is_nan())
            || matches!(fill, PageFill::F32(x) if x.is_nan());
        (!nan).then_some(fill)
    }

    /// The value PLAIN-encoded, as a dictionary page holds it.
    fn plain(&self) -> Vec<u8> {
        match self {
            PageFill::Text(b) => {
                let mut v = (b.len() as u32).to_le_bytes().to_vec();
                v.extend_from_slice(b);
                v
            }
            PageFill::F64(x) => x.to_le_bytes().to_vec(),
            PageFill::F32(x) => x.to_le_bytes().to_vec(),
            PageFill::I64(x) => x.to_le_bytes().to_vec(),
            PageFill::I32(x) => x.to_le_bytes().to_vec(),
        }
    }

    /// Splits a PLAIN dictionary of `n` values into them, and marks the
    /// missing ones (NaN in a float column).
    fn entries<'a>(&self, buf: &'a [u8], n: usize) -> Result<(Vec<&'a [u8]>, Vec<bool>)> {
        let corrupt = |what: &str| Error::parquet(format!("corrupt dictionary page: {what}"));
        let width = match self {
            PageFill::Text(_) => None,
            PageFill::F64(_) | PageFill::I64(_) => Some(8),
            PageFill::F32(_) | PageFill::I32(_) => Some(4),
        };
        let entries: Vec<&[u8]> = match width {
            Some(w) => {
                if n.checked_mul(w) != Some(buf.len()) {
                    return Err(corrupt(&format!(
                        "{} bytes for {n} values of {w} bytes",
                        buf.len()
                    )));
                }
                buf.chunks_exact(w).collect()
            }
            None => {
                let mut at = 0;
                // each value takes at least its 4-byte length: a count
                // the page cannot hold reserves no more than it can
                let mut v = Vec::with_capacity(n.min(buf.len() / 4));
                for _ in 0..n {
                    let len = buf
                        .get(at..at + 4)
                        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                        .ok_or_else(|| corrupt("a text runs past the end"))?;
                    let end = at + 4 + len;
                    v.push(
                        buf.get(at..end)
                            .ok_or_else(|| corrupt("a text runs past the end"))?,
                    );
                    at = end;
                }
                if at != buf.len() {
                    return Err(corrupt("bytes after the last value"));
                }
                v
            }
        };
        let missing = match self {
            PageFill::F64(_) => entries
                .iter()
                .map(|e| f64::from_le_bytes(e[..8].try_into().unwrap_or_default()).is_nan())
                .collect(),
            PageFill::F32(_) => entries
                .iter()
                .map(|e| f32::from_le_bytes(e[..4].try_into().unwrap_or_default()).is_nan())
                .collect(),
            _ => vec![false; entries.len()],
        };
        Ok((entries, missing))
    }

    /// The chunk's statistics after filling: null count 0, and the fill
    /// value within min and max (which NaN never is). `kept`: whether any
    /// value of the input is left.
    fn statistics(&self, old: Option<&Statistics>, kept: bool) -> Statistics {
        fn widen<T: Clone>(
            old: Option<&ValueStatistics<T>>,
            fill: T,
            kept: bool,
            less: impl Fn(&T, &T) -> bool,
        ) -> ValueStatistics<T> {
            let bounds = old.and_then(|s| {
                Some((
                    (s.min_opt()?.clone(), s.min_is_exact()),
                    (s.max_opt()?.clone(), s.max_is_exact()),
                ))
            });
            let ((min, min_exact), (max, max_exact)) = match bounds {
                Some(((lo, lo_exact), (hi, hi_exact))) => (
                    if less(&fill, &lo) {
                        (fill.clone(), true)
                    } else {
                        (lo, lo_exact)
                    },
                    if less(&hi, &fill) {
                        (fill, true)
                    } else {
                        (hi, hi_exact)
                    },
                ),
                // every cell is the fill value now
                None if !kept => ((fill.clone(), true), (fill, true)),
                // bounds unknown: only the null count is known
                None => return ValueStatistics::new(None, None, None, Some(0), false),
            };
            ValueStatistics::new(Some(min), Some(max), None, Some(0), false)
                .with_min_is_exact(min_exact)
                .with_max_is_exact(max_exact)
        }
        // a zero bound is written as -0.0 (min) and +0.0 (max)
        fn zeros<T: Copy + PartialEq + Default + std::ops::Neg<Output = T>>(
            s: ValueStatistics<T>,
        ) -> ValueStatistics<T> {
            let z = T::default();
            let fix = |v: Option<&T>, min: bool| {
                v.map(|&v| match (v == z, min) {
                    (true, true) => -z,
                    (true, false) => z,
                    _ => v,
                })
            };
            let (lo, hi) = (fix(s.min_opt(), true), fix(s.max_opt(), false));
            let (lo_exact, hi_exact) = (s.min_is_exact(), s.max_is_exact());
            ValueStatistics::new(lo, hi, None, Some(0), false)
                .with_min_is_exact(lo_exact)
                .with_max_is_exact(hi_exact)
        }
        match (self, old) {
            (PageFill::Text(b), old) => {
                let old = match old {
                    Some(Statistics::ByteArray(s)) => Some(s),
                    _ => None,
                };
                let less = |a: &ByteArray, b: &ByteArray| a.data() < b.data();
                Statistics::ByteArray(widen(old, ByteArray::from(b.clone()), kept, less))
            }
            (PageFill::F64(x), old) => {
                let old = match old {
                    Some(Statistics::Double(s)) => Some(s),
                    _ => None,
                };
                Statistics::Double(zeros(widen(old, *x, kept, |a, b| a < b)))
            }
            (PageFill::F32(x), old) => {
                let old = match old {
                    Some(Statistics::Float(s)) => Some(s),
                    _ => None,
                };
                Statistics::Float(zeros(widen(old, *x, kept, |a, b| a < b)))
            }
            (PageFill::I64(x), old) => {
                let old = match old {
                    Some(Statistics::Int64(s)) => Some(s),
                    _ => None,
                };
                Statistics::Int64(widen(old, *x, kept, |a, b| a < b))
            }
            (PageFill::I32(x), old) => {
                let old = match old {
                    Some(Statistics::Int32(s)) => Some(s),
                    _ => None,
                };
                Statistics::Int32(widen(old, *x, kept, |a, b| a < b))
            }
        }
    }
}

/// A column chunk written by the page path, ready to append to a row group.
pub struct PagedChunk {
    pub bytes: Bytes,
    pub close: Box<ColumnCloseResult>,
}

/// What the page path makes of one column chunk.
pub enum Paged {
    /// No cell to fill: the chunk is copied as it is.
    Unchanged,
    /// The filled chunk, and how many cells were filled.
    Filled(PagedChunk, u64),
    /// Not a chunk the page path writes: decode it.
    Decode,
}

fn is_dictionary(e: Encoding) -> bool {
    matches!(e, Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY)
}

/// Compresses a page with the chunk's codec (one the path accepts).
struct Codec {
    /// With snappy, the encoder and where pages are compressed, kept from
    /// page to page (a new buffer for each would be zeroed first).
    #[cfg(feature = "snappy")]
    snappy: Option<(snap::raw::Encoder, Vec<u8>)>,
}

impl Codec {
    fn new(c: Compression) -> Option<Codec> {
        match c {
            Compression::UNCOMPRESSED => Some(Codec {
                #[cfg(feature = "snappy")]
                snappy: None,
            }),
            #[cfg(feature = "snappy")]
            Compression::SNAPPY => Some(Codec {
                snappy: Some((snap::raw::Encoder::new(), Vec::new())),
            }),
            _ => None,
        }
    }

    /// The page's bytes as stored, and its size uncompressed. `raw` is
    /// left to be reused, or taken when stored as it is.
    fn page(&mut self, raw: &mut Vec<u8>) -> Result<(Bytes, usize)> {
        let size = raw.len();
        #[cfg(feature = "snappy")]
        if let Some((enc, packed)) = self.snappy.as_mut() {
            let room = snap::raw::max_compress_len(size);
            if packed.len() < room {
                packed.resize(room, 0);
            }
            let n = enc
                .compress(raw, packed)
                .map_err(|e| Error::parquet(format!("snappy: {e}")))?;
            return Ok((Bytes::copy_from_slice(&packed[..n]), size));
        }
        Ok((std::mem::take(raw).into(), size))
    }
}

/// Fills column chunk `leaf` of row group `g` by its pages (see the
/// module's doc). With `plain`, the output has no dictionary: each data
/// page holds its values PLAIN-encoded (for a column whose dictionary is
/// most of its chunk, nearly every value distinct, where a dictionary only
/// costs).
pub fn fill_chunk(
    file: &ParquetShard,
    g: usize,
    leaf: usize,
    fill: &PageFill,
    plain: bool,
) -> Result<Paged> {
    let rg = file.metadata().row_group(g);
    let chunk = rg.column(leaf);
    let descr = chunk.column_descr();
    let Some(mut codec) = Codec::new(chunk.compression()) else {
        return Ok(Paged::Decode);
    };
    let all_dictionary = chunk.page_encoding_stats_mask().is_none_or(|m| {
        m.is_only(Encoding::RLE_DICTIONARY) || m.is_only(Encoding::PLAIN_DICTIONARY)
    });
    if descr.max_rep_level() != 0
        || descr.max_def_level() > 1
        || chunk.dictionary_page_offset().is_none()
        || !all_dictionary
    {
        return Ok(Paged::Decode);
    }
    // the statistics' null count is not trusted: the levels are read
    let rows = usize::try_from(rg.num_rows()).unwrap_or(0);
    if rows == 0 {
        return Ok(Paged::Unchanged);
    }
    let perr = |e: parquet::errors::ParquetError| Error::parquet(e.to_string());
    let mut pages = SerializedPageReader::new(Arc::new(file.bytes().clone()), chunk, rows, None)
        .map_err(perr)?;

    // the dictionary
    let Some(Page::DictionaryPage {
        buf,
        num_values,
        encoding,
        ..
    }) = pages.get_next_page().map_err(perr)?
    else {
        return Ok(Paged::Decode);
    };
    if !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY) {
        return Ok(Paged::Decode);
    }
    let (entries, missing) = fill.entries(&buf, num_values as usize)?;
    let any_nan = missing.contains(&true);
    let fill_plain = fill.plain();
    // without a dictionary out, the fill value is written as itself
    let known = (!plain)
        .then(|| entries.iter().position(|e| *e == fill_plain.as_slice()))
        .flatten();
    let (fill_at, dictionary) = match known {
        Some(at) => (at, None),
        None if plain => (entries.len(), None),
        None => {
            let mut d = Vec::with_capacity(buf.len() + fill_plain.len());
            d.extend_from_slice(&buf);
            d.extend_from_slice(&fill_plain);
            (entries.len(), Some(d))
        }
    };
    let size = entries.len() + usize::from(dictionary.is_some());
    let width = rle::bit_width_for(size);

    let mut sink = TrackedWrite::new(Vec::with_capacity(chunk.compressed_size().max(0) as usize));
    let mut writer = SerializedPageWriter::new(&mut sink);
    let (mut compressed, mut uncompressed) = (0, 0);
    if !plain {
        let (dict_bytes, dict_size) =
            codec.page(&mut dictionary.unwrap_or_else(|| buf.to_vec()))?;
        let spec = writer
            .write_page(CompressedPage::new(
                Page::DictionaryPage {
                    buf: dict_bytes,
                    num_values: size as u32,
                    encoding,
                    is_sorted: false,
                },
                dict_size,
            ))
            .map_err(perr)?;
        (compressed, uncompressed) = (spec.compressed_size, spec.uncompressed_size);
    }

    let optional = descr.max_def_level() == 1;
    let (mut levels, mut indices, mut cells, mut out) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut first_data, mut values, mut filled, mut kept) = (None, 0usize, 0u64, false);
    let mut page_no = 0;
    while let Some(page) = pages.get_next_page().map_err(perr)? {
        let Page::DataPage {
            buf,
            num_values,
            encoding,
            def_level_encoding,
            rep_level_encoding,
            ..
        } = page
        else {
            return Ok(Paged::Decode);
        };
        if !is_dictionary(encoding) || (optional && def_level_encoding != Encoding::RLE) {
            return Ok(Paged::Decode);
        }
        let n = num_values as usize;
        page_no += 1;
        let place = |what: String| Error::parquet(format!("data page {page_no}: {what}"));
        // a flat column holds one value per row: a page claiming more than
        // the rows left is corrupt (and would be decoded into memory)
        if n > rows - values {
            return Err(place(format!(
                "{n} values, but only {} rows are left in the row group",
                rows - values
            )));
        }
        // definition levels: 1 present, 0 null
        let mut at = 0;
        levels.clear();
        if optional {
            let len = buf
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .ok_or_else(|| place("no definition levels".into()))?;
            let data = buf
                .get(4..4 + len)
                .ok_or_else(|| place("definition levels run past the page".into()))?;
            rle::decode(data, 1, n, &mut levels).map_err(|e| place(format!("levels: {e}")))?;
            at = 4 + len;
        }
        let present = if optional {
            levels.iter().filter(|&&l| l == 1).count()
        } else {
            n
        };
        indices.clear();
        if present > 0 {
            let bits = *buf
                .get(at)
                .ok_or_else(|| place("no index bit width".into()))?;
            rle::decode(&buf[at + 1..], bits, present, &mut indices)
                .map_err(|e| place(format!("indices: {e}")))?;
        }
        if let Some(&bad) = indices.iter().find(|&&i| i as usize >= entries.len()) {
            return Err(place(format!(
                "dictionary index {bad} out of range ({} values)",
                entries.len()
            )));
        }
        // the page, every cell present
        out.clear();
        if optional {
            let ones = vec![1u32; n];
            let mut lv = Vec::new();
            rle::encode(&ones, 1, &mut lv);
            out.extend_from_slice(&(lv.len() as u32).to_le_bytes());
            out.extend_from_slice(&lv);
        }
        // each cell's index in the output's dictionary: a null's is the
        // fill value's (no levels: every cell present)
        let fill = fill_at as u32;
        cells.clear();
        if optional {
            let mut next = 0;
            cells.extend(levels.iter().map(|&l| {
                let i = indices.get(next).copied().unwrap_or(fill);
                next += l as usize;
                if l == 1 {
                    i
                } else {
                    fill
                }
            }));
        } else {
            cells.extend_from_slice(&indices);
        }
        let mut gaps = n - present;
        if any_nan {
            for c in cells.iter_mut() {
                if missing.get(*c as usize) == Some(&true) {
                    *c = fill;
                    gaps += 1;
                }
            }
        }
        filled += gaps as u64;
        kept |= gaps < n;
        if plain {
            for &c in &cells {
                out.extend_from_slice(entries.get(c as usize).copied().unwrap_or(&fill_plain));
            }
        } else {
            out.push(width);
            rle::encode(&cells, width, &mut out);
        }
        let (bytes, size) = codec.page(&mut out)?;
        let spec = writer
            .write_page(CompressedPage::new(
                Page::DataPage {
                    buf: bytes,
                    num_values,
                    encoding: if plain { Encoding::PLAIN } else { encoding },
                    def_level_encoding: Encoding::RLE,
                    rep_level_encoding,
                    statistics: None,
                },
                size,
            ))
            .map_err(perr)?;
        first_data.get_or_insert(spec.offset);
        compressed += spec.compressed_size;
        uncompressed += spec.uncompressed_size;
        values += n;
    }
    if values != rows {
        return Err(Error::parquet(format!(
            "column `{}` holds {values} values for {rows} rows",
            chunk.column_path()
        )));
    }
    if filled == 0 {
        return Ok(Paged::Unchanged);
    }
    writer.close().map_err(perr)?;
    let first_data = first_data.unwrap_or(0);
    let builder = ColumnChunkMetaData::builder(chunk.column_descr_ptr())
        .set_compression_codec(chunk.compression_codec());
    let builder = if plain {
        let mut encodings = vec![Encoding::PLAIN];
        if optional {
            encodings.push(Encoding::RLE);
        }
        builder.set_encodings(encodings)
    } else {
        builder
            .set_encodings_mask(*chunk.encodings_mask())
            .set_dictionary_page_offset(Some(0))
    };
    let metadata = builder
        .set_num_values(rows as i64)
        .set_total_compressed_size(compressed as i64)
        .set_total_uncompressed_size(uncompressed as i64)
        .set_data_page_offset(first_data as i64)
        .set_statistics(fill.statistics(chunk.statistics(), kept))
        .build()
        .map_err(perr)?;
    let bytes = Bytes::from(sink.into_inner().map_err(perr)?);
    let close = Box::new(ColumnCloseResult {
        bytes_written: bytes.len() as u64,
        rows_written: rows as u64,
        metadata,
        bloom_filter: None,
        column_index: None,
        offset_index: None,
    });
    Ok(Paged::Filled(PagedChunk { bytes, close }, filled))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    };
    use arrow_schema::{Field, Schema};
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataWriter};
    use parquet::file::properties::WriterProperties;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    use super::*;
    use crate::plan::{FillDict, FillValue};
    use crate::settings::Settings;

    const ROWS: usize = 300;

    /// A cell of the test columns, as a number or a text (None: null).
    #[derive(Debug, Clone, PartialEq)]
    enum Cell {
        Num(f64),
        Text(String),
    }

    /// Columns with nulls, NaN, a fill value already in the dictionary or
    /// not, nothing to fill, every cell null, and nearly every text
    /// distinct; each with its fill value.
    fn input() -> (RecordBatch, Vec<(&'static str, FillValue)>) {
        let n = ROWS;
        let opt = |f: &dyn Fn(usize) -> Option<f64>| (0..n).map(f).collect::<Vec<_>>();
        let f = opt(&|i| match i {
            _ if i % 5 == 0 => None,
            _ if i % 7 == 0 => Some(f64::NAN),
            _ => Some((i % 13) as f64 * 0.5 - 2.0),
        });
        let words = ["a", "b", "c"];
        let text = |i: usize, w: &[&str]| (i % 4 != 1).then(|| w[i % w.len()].to_string());
        let cols: Vec<(Field, ArrayRef)> = vec![
            (
                Field::new("f", DataType::Float64, true),
                Arc::new(Float64Array::from(f)),
            ),
            (
                Field::new("f_full", DataType::Float64, true),
                Arc::new(Float64Array::from(opt(&|i| Some((i % 11) as f64)))),
            ),
            (
                Field::new("f32", DataType::Float32, true),
                Arc::new(Float32Array::from(
                    (0..n)
                        .map(|i| (i % 3 != 0).then_some((i % 9) as f32 + 0.25))
                        .collect::<Vec<_>>(),
                )),
            ),
            (
                Field::new("i64", DataType::Int64, true),
                Arc::new(Int64Array::from(
                    (0..n)
                        .map(|i| (i % 6 != 2).then_some(i as i64 % 17 - 8))
                        .collect::<Vec<_>>(),
                )),
            ),
            (
                Field::new("i32", DataType::Int32, true),
                Arc::new(Int32Array::from(
                    (0..n)
                        .map(|i| (i % 8 != 0).then_some(i as i32 % 5))
                        .collect::<Vec<_>>(),
                )),
            ),
            (
                Field::new("s_known", DataType::Utf8, true),
                Arc::new(StringArray::from(
                    (0..n).map(|i| text(i, &words)).collect::<Vec<_>>(),
                )),
            ),
            (
                Field::new("s_new", DataType::Utf8, true),
                Arc::new(StringArray::from(
                    (0..n).map(|i| text(i, &words)).collect::<Vec<_>>(),
                )),
            ),
            (
                Field::new("all_null", DataType::Float64, true),
                Arc::new(Float64Array::from(vec![None::<f64>; n])),
            ),
            (
                Field::new("free", DataType::Utf8, true),
                Arc::new(StringArray::from(
                    (0..n)
                        .map(|i| (i % 3 != 0).then(|| format!("text number {i:05}")))
                        .collect::<Vec<_>>(),
                )),
            ),
            (
                Field::new("required", DataType::Float64, false),
                Arc::new(Float64Array::from(
                    (0..n)
                        .map(|i| if i % 4 == 0 { f64::NAN } else { (i % 6) as f64 })
                        .collect::<Vec<_>>(),
                )),
            ),
        ];
        let (fields, arrays): (Vec<_>, Vec<_>) = cols.into_iter().unzip();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
        let fills = vec![
            ("f", FillValue::Number(0.75)),
            ("f_full", FillValue::Number(99.0)),
            ("f32", FillValue::Number(-1.5)),
            ("i64", FillValue::Number(7.0)),
            ("i32", FillValue::Number(-3.0)),
            ("s_known", FillValue::Text("b".into())),
            ("s_new", FillValue::Text("zz".into())),
            ("all_null", FillValue::Number(1.5)),
            ("free", FillValue::Text("".into())),
            ("required", FillValue::Number(0.0)),
        ];
        (batch, fills)
    }

    /// How the test file is written.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Layout {
        /// Version 1 pages of dictionary indices: the page path's input.
        Paged(Compression),
        /// Version 2 data pages: filled through Arrow.
        PagesV2,
        /// A dictionary too small for the values: PLAIN pages after the
        /// first, filled through Arrow.
        DictionaryFallback,
        /// The same, from a writer that records no page encoding
        /// statistics: the footer does not tell that a chunk turns PLAIN,
        /// so the page path sets out and finds it at the first PLAIN page.
        FallbackWithoutStats,
    }

    fn write(batch: &RecordBatch, layout: Layout) -> Bytes {
        // small pages and row groups: a chunk of several pages
        let mut props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(120))
            .set_data_page_row_count_limit(40)
            .set_write_batch_size(40);
        props = match layout {
            Layout::Paged(c) => props.set_compression(c),
            Layout::PagesV2 => {
                props.set_writer_version(parquet::file::properties::WriterVersion::PARQUET_2_0)
            }
            Layout::DictionaryFallback | Layout::FallbackWithoutStats => {
                props.set_dictionary_page_size_limit(16)
            }
        };
        let mut w = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props.build())).unwrap();
        w.write(batch).unwrap();
        let bytes = w.into_inner().unwrap();
        if layout != Layout::FallbackWithoutStats {
            return bytes.into();
        }
        // the same pages, and a footer written again without the statistics
        let meta = SerializedFileReader::new(Bytes::from(bytes.clone()))
            .unwrap()
            .metadata()
            .clone();
        let mut builder = meta.into_builder();
        let groups = builder
            .take_row_groups()
            .into_iter()
            .map(|g| {
                let mut g = g.into_builder();
                let columns = g
                    .take_columns()
                    .into_iter()
                    .map(|c| {
                        c.into_builder()
                            .clear_page_encoding_stats()
                            .build()
                            .unwrap()
                    })
                    .collect();
                g.set_column_metadata(columns).build().unwrap()
            })
            .collect();
        let meta = builder.set_row_groups(groups).build();
        let footer = u32::from_le_bytes(bytes[bytes.len() - 8..][..4].try_into().unwrap());
        let mut out = bytes[..bytes.len() - 8 - footer as usize].to_vec();
        ParquetMetaDataWriter::new(&mut out, &meta)
            .finish()
            .unwrap();
        out.into()
    }

    fn cells(a: &ArrayRef) -> Vec<Option<Cell>> {
        if a.data_type() == &DataType::Utf8 {
            let a = a.as_string::<i32>();
            return a.iter().map(|v| v.map(|s| Cell::Text(s.into()))).collect();
        }
        let a = arrow_cast::cast(a, &DataType::Float64).unwrap();
        let a = a.as_primitive::<Float64Type>();
        a.iter().map(|v| v.map(Cell::Num)).collect()
    }

    fn missing(c: &Option<Cell>) -> bool {
        match c {
            None => true,
            Some(Cell::Num(x)) => x.is_nan(),
            Some(Cell::Text(_)) => false,
        }
    }

    fn fill_cell(v: &FillValue) -> Cell {
        match v {
            FillValue::Text(s) => Cell::Text(s.clone()),
            v => Cell::Num(v.as_f64().unwrap()),
        }
    }

    fn pages_of(meta: &ParquetMetaData, bytes: &Bytes, g: usize, leaf: usize) -> Vec<Encoding> {
        let chunk = meta.row_group(g).column(leaf);
        let rows = meta.row_group(g).num_rows() as usize;
        let mut r = SerializedPageReader::new(Arc::new(bytes.clone()), chunk, rows, None).unwrap();
        let mut encodings = Vec::new();
        while let Some(p) = r.get_next_page().unwrap() {
            encodings.push(p.encoding());
        }
        encodings
    }

    #[test]
    fn page_filled_chunks_read_back_as_the_input_with_its_gaps_filled() {
        let (batch, fills) = input();
        let dict = FillDict {
            entries: fills
                .iter()
                .map(|(c, v)| (c.to_string(), v.clone()))
                .collect(),
        };
        let layouts = [
            Layout::Paged(Compression::SNAPPY),
            Layout::Paged(Compression::UNCOMPRESSED),
            Layout::PagesV2,
            Layout::DictionaryFallback,
            Layout::FallbackWithoutStats,
        ];
        for layout in layouts {
            let bytes = write(&batch, layout);
            let (out, report) =
                crate::formats::parquet::fill(bytes.clone(), &dict, &Settings::default()).unwrap();
            let out = Bytes::from(out);
            assert_eq!(
                (report.rows_in, report.rows_out),
                (ROWS as u64, ROWS as u64)
            );
            let read = ParquetRecordBatchReaderBuilder::try_new(out.clone())
                .unwrap()
                .with_batch_size(ROWS)
                .build()
                .unwrap()
                .next()
                .unwrap()
                .unwrap();
            assert_eq!(read.schema().fields(), batch.schema().fields());
            let meta_in = SerializedFileReader::new(bytes.clone())
                .unwrap()
                .metadata()
                .clone();
            let meta_out = SerializedFileReader::new(out.clone())
                .unwrap()
                .metadata()
                .clone();
            assert_eq!(meta_out.num_row_groups(), 3);
            for (i, (name, value)) in fills.iter().enumerate() {
                let (before, after) = (cells(batch.column(i)), cells(read.column(i)));
                let fill = fill_cell(value);
                // every missing cell has the fill value, every other is kept
                let want: Vec<Option<Cell>> = before
                    .iter()
                    .map(|c| {
                        if missing(c) {
                            Some(fill.clone())
                        } else {
                            c.clone()
                        }
                    })
                    .collect();
                assert_eq!(after, want, "column {name} ({layout:?})");
                let gaps = before.iter().filter(|c| missing(c)).count() as u64;
                let counted = report.cells_filled.iter().find(|(c, _)| c == name);
                assert_eq!(counted.map(|c| c.1), Some(gaps), "filled in {name}");
                for g in 0..3 {
                    let (pin, pout) = (
                        pages_of(&meta_in, &bytes, g, i),
                        pages_of(&meta_out, &out, g, i),
                    );
                    let chunk = meta_out.row_group(g).column(i);
                    let stats = chunk.statistics().unwrap();
                    assert_eq!(stats.null_count_opt(), Some(0), "{name} row group {g}");
                    // min and max are those of the filled values
                    let group = &want[g * 120..((g + 1) * 120).min(ROWS)];
                    let text = |c: &Cell| match c {
                        Cell::Text(s) => s.as_bytes().to_vec(),
                        Cell::Num(x) => x.to_string().into_bytes(),
                    };
                    match group[0].as_ref().unwrap() {
                        Cell::Text(_) => {
                            let mut t: Vec<Vec<u8>> = group.iter().flatten().map(text).collect();
                            t.sort();
                            assert_eq!(stats.min_bytes_opt(), Some(&t[0][..]), "{name}");
                            assert_eq!(stats.max_bytes_opt(), Some(&t[t.len() - 1][..]));
                        }
                        Cell::Num(_) => {
                            let x: Vec<f64> = group
                                .iter()
                                .flatten()
                                .map(|c| match c {
                                    Cell::Num(x) => *x,
                                    Cell::Text(_) => unreachable!(),
                                })
                                .collect();
                            let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
                            let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                            let (min, max) = match stats {
                                Statistics::Double(s) => {
                                    (*s.min_opt().unwrap(), *s.max_opt().unwrap())
                                }
                                Statistics::Float(s) => {
                                    (*s.min_opt().unwrap() as f64, *s.max_opt().unwrap() as f64)
                                }
                                Statistics::Int64(s) => {
                                    (*s.min_opt().unwrap() as f64, *s.max_opt().unwrap() as f64)
                                }
                                Statistics::Int32(s) => {
                                    (*s.min_opt().unwrap() as f64, *s.max_opt().unwrap() as f64)
                                }
                                other => panic!("{other:?}"),
                            };
                            assert_eq!((min, max), (lo, hi), "{name} row group {g}");
                        }
                    }
                    if *name == "f_full" && matches!(layout, Layout::Paged(_)) {
                        // nothing to fill (no null, no NaN): copied as
                        // it was
                        assert_eq!(
                            out.slice(chunk.byte_range().0 as usize..)
                                .slice(..chunk.byte_range().1 as usize),
                            {
                                let c = meta_in.row_group(g).column(i);
                                bytes
                                    .slice(c.byte_range().0 as usize..)
                                    .slice(..c.byte_range().1 as usize)
                            }
                        );
                    } else if !matches!(layout, Layout::Paged(_)) {
                        // filled through Arrow: the right values and
                        // statistics (above), and the layout is the one
                        // meant
                        let chunk_in = meta_in.row_group(g).column(i);
                        if layout == Layout::FallbackWithoutStats {
                            assert!(chunk_in.page_encoding_stats_mask().is_none());
                        }
                        if layout != Layout::PagesV2 && *name == "f" {
                            assert!(pin[2..].contains(&Encoding::PLAIN), "{pin:?}");
                        }
                    } else if *name == "free" {
                        // nearly all distinct: written without a dictionary
                        assert_eq!(pout.len(), pin.len() - 1, "{name}: {pin:?} {pout:?}");
                        assert!(pout.iter().all(|&e| e == Encoding::PLAIN), "{pout:?}");
                    } else {
                        // filled page by page: the same pages, one
                        // dictionary then its indices
                        assert_eq!(pout, pin, "{name} row group {g}");
                        assert!(pin.len() > 2, "{name}: {pin:?}");
                        assert!(is_dictionary(pin[1]), "{pin:?}");
                    }
                }
            }
        }
    }

    /// A one-column text file, `needle` or null, as the page path takes it.
    fn needle_file() -> Vec<u8> {
        let texts: Vec<Option<&str>> = (0..50).map(|i| (i % 3 != 0).then_some("needle")).collect();
        let schema = Schema::new(vec![Field::new("t", DataType::Utf8, true)]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(StringArray::from(texts)) as ArrayRef],
        )
        .unwrap();
        write(&batch, Layout::Paged(Compression::UNCOMPRESSED)).to_vec()
    }

    /// Pass 2's error on `bytes` (from [`needle_file`]): a Parquet error
    /// placed at the column.
    fn fill_error(bytes: Vec<u8>) -> Error {
        let dict = FillDict {
            entries: vec![("t".into(), FillValue::Text("x".into()))],
        };
        let e = crate::formats::parquet::fill(bytes.into(), &dict, &Settings::default())
            .map(|_| ())
            .unwrap_err();
        assert_eq!(e.kind().name(), "parquet", "{e}");
        assert_eq!(e.place(), Some("row group 0, column `t`"), "{e}");
        e
    }

    #[test]
    fn a_corrupt_dictionary_page_is_an_error_naming_the_column() {
        let mut bytes = needle_file();
        // the dictionary's one value, its length first: make the length
        // run past the page
        let entry = b"\x06\x00\x00\x00needle";
        let at = bytes.windows(entry.len()).position(|w| w == entry).unwrap();
        bytes[at + 2] = 0x7f;
        let e = fill_error(bytes);
        assert!(e.to_string().contains("dictionary page"), "{e}");
    }

    #[test]
    fn a_data_page_claiming_more_values_than_rows_is_an_error_before_decoding() {
        let mut bytes = needle_file();
        // the first data page's header (Thrift compact: field 5, a struct,
        // whose field 1 is num_values; pages of 40 rows: zigzag 40 = 0x50):
        // claim 51 values
        let header = [0x2c, 0x15, 0x50];
        let at = bytes.windows(3).position(|w| w == header).unwrap();
        assert_eq!(bytes.windows(3).filter(|w| *w == header).count(), 1);
        bytes[at + 2] = 0x66;
        let e = fill_error(bytes);
        assert!(
            e.to_string()
                .contains("51 values, but only 50 rows are left in the row group"),
            "{e}"
        );
    }
}
