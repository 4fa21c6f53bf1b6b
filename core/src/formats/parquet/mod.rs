//! Parquet shards, through `parquet`'s Arrow reader and writer.

mod fill;
mod fit;
mod io;
mod pages;
mod rle;

pub use fill::fill;
pub use fit::fit;

use crate::error::{Error, Result};

/// The top-level column names from the tail of a Parquet file (`None` when
/// the footer does not fit in `tail`).
pub fn columns_from_tail(tail: &[u8]) -> Result<Option<Vec<String>>> {
    use ::parquet::file::metadata::ParquetMetaDataReader;
    let n = tail.len();
    if n < 8 || &tail[n - 4..] != b"PAR1" {
        return Err(Error::parquet("not a Parquet file (no PAR1 footer)"));
    }
    let len = u32::from_le_bytes([tail[n - 8], tail[n - 7], tail[n - 6], tail[n - 5]]) as usize;
    // not `len + 8 > n`: that overflows on wasm32 for a length near 2^32
    if len > n - 8 {
        return Ok(None);
    }
    let meta = ParquetMetaDataReader::decode_metadata(&tail[n - 8 - len..n - 8])
        .map_err(|e| Error::parquet(e.to_string()))?;
    let names = meta
        .file_metadata()
        .schema_descr()
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    Ok(Some(names))
}
