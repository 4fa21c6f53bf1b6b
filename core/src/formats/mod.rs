//! Shard formats: each owns its reading, its pass 1 fold and its pass 2
//! fill; this module dispatches on [`ShardFormat`] and undoes and redoes
//! gzip around CSV/TSV. A new format is one more folder here and one more
//! arm in each `match` below.

mod csv;
mod parquet;

use std::io::{Read, Write};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::dataset::{Shard, ShardFormat};
use crate::error::{Error, ErrorKind, Result};
use crate::io::OutputBuffer;
use crate::plan::FillDict;
use crate::settings::Settings;
use crate::stats::TrainStats;

pub use csv::write_field as write_csv_field;
pub use csv::MissingCells;

/// What pass 2 did to one shard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardReport {
    /// The split.
    pub split: String,
    /// The file name.
    pub name: String,
    /// Rows read.
    pub rows_in: u64,
    /// Rows in the written output (re-read from it).
    pub rows_out: u64,
    /// Cells filled per column (columns of the fill values in this shard).
    pub cells_filled: Vec<(String, u64)>,
    /// Parquet columns whose type had to change, `(column, from, to)`.
    pub type_changes: Vec<(String, String, String)>,
    /// Input file size in bytes.
    pub bytes_in: u64,
    /// Output file size in bytes.
    pub bytes_out: u64,
}

/// Pass 1 over one shard's file bytes; with `find_cells`, also a CSV/TSV
/// text's missing cells, which spare pass 2 reading the same text's
/// records again (none for Parquet).
pub fn fit_shard(
    shard: &Shard,
    bytes: Vec<u8>,
    settings: &Settings,
    find_cells: bool,
) -> Result<(TrainStats, Option<MissingCells>)> {
    let path = shard.path();
    let result = match shard.format {
        ShardFormat::Parquet => {
            parquet::fit(&path, Bytes::from(bytes), settings).map(|stats| (stats, None))
        }
        f => decompress(f, bytes)
            .and_then(|text| csv::fit(&path, &text, delimiter(f), settings, find_cells)),
    };
    result.map_err(|e| e.in_file(path))
}

/// The missing cells of a CSV text (default settings), for tests.
#[cfg(test)]
pub(crate) fn csv_fit_for_tests(text: &[u8]) -> Option<MissingCells> {
    csv::fit("t.csv", text, b',', &Settings::default(), true)
        .ok()?
        .1
}

/// Pass 2 over one shard's file bytes: the output file's bytes and a
/// report. Fails unless the output has exactly as many rows as the input.
/// `cells` are pass 1's of this shard ([`fit_shard`]), if kept.
pub fn fill_shard(
    shard: &Shard,
    bytes: Vec<u8>,
    dict: &FillDict,
    settings: &Settings,
    cells: Option<&MissingCells>,
) -> Result<(Vec<u8>, ShardReport)> {
    let path = shard.path();
    let bytes_in = bytes.len() as u64;
    let result = match shard.format {
        ShardFormat::Parquet => parquet::fill(Bytes::from(bytes), dict, settings),
        f => decompress(f, bytes).and_then(|text| {
            let (out, report) = csv::fill(&text, delimiter(f), dict, settings, cells)?;
            Ok((compress(f, out)?, report))
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

/// How many bytes [`columns`] wants: the head of a CSV/TSV file, the tail
/// of a Parquet file (its footer).
pub const COLUMNS_PROBE_BYTES: u64 = 1 << 20;

/// A shard's column names, from part of its file: the first
/// [`COLUMNS_PROBE_BYTES`] of a CSV/TSV file (`whole` if that is all of
/// it), the last ones of a Parquet file. `None` when the part is not
/// enough (a header longer than the part, a footer larger than it).
pub fn columns(format: ShardFormat, part: &[u8], whole: bool) -> Result<Option<Vec<String>>> {
    match format {
        ShardFormat::Parquet => parquet::columns_from_tail(part),
        f => {
            let text = if f.gzip() {
                gunzip_prefix(part)
            } else {
                part.to_vec()
            };
            Ok(csv::header_of_prefix(&text, delimiter(f), whole))
        }
    }
}

/// Appends `n` as an unsigned LEB128 number (7 bits a byte, low first).
pub(crate) fn push_leb128(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Output column name: `__DOT__` as `.` when asked.
pub(crate) fn out_name(name: &str, settings: &Settings) -> String {
    if settings.rename_dots {
        name.replace("__DOT__", ".")
    } else {
        name.to_string()
    }
}

fn delimiter(format: ShardFormat) -> u8 {
    match format {
        ShardFormat::Tsv { .. } => b'\t',
        _ => b',',
    }
}

/// The text of a CSV/TSV shard: gunzipped if it is `.gz`.
fn decompress(format: ShardFormat, bytes: Vec<u8>) -> Result<Vec<u8>> {
    if !format.gzip() {
        return Ok(bytes);
    }
    // room for a text four times the size, where memory allows (in wasm32
    // a shard of 512 MiB would ask for more than an allocation may hold)
    let mut out = Vec::new();
    let _ = out.try_reserve(bytes.len().saturating_mul(4));
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .map_err(|e| Error::gzip(format!("{e} (after {} bytes of output)", out.len())))?;
    Ok(out)
}

/// As much text as the start of a gzip stream gives.
fn gunzip_prefix(part: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut dec = flate2::read::MultiGzDecoder::new(part);
    let mut buf = [0u8; 64 << 10];
    while let Ok(n) = dec.read(&mut buf) {
        if n == 0 || out.len() > COLUMNS_PROBE_BYTES as usize {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// gzip-compresses output for a `.gz` shard, else returns it as is.
fn compress(format: ShardFormat, text: Vec<u8>) -> Result<Vec<u8>> {
    if !format.gzip() {
        return Ok(text);
    }
    let mut enc = flate2::write::GzEncoder::new(
        OutputBuffer::with_capacity(text.len() / 3),
        flate2::Compression::new(6),
    );
    enc.write_all(&text)
        .and_then(|_| enc.finish())
        .map(OutputBuffer::into_inner)
        .map_err(|e| Error::gzip(e.to_string()))
}
