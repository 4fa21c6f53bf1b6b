//! Where shard bytes come from and where output goes.
//!
//! The passes take whole shard files as bytes: a [`Source`] reads them (files
//! on disk for the CLI, memory for wasm), a [`Sink`] takes each output
//! shard. gzip is undone and redone here, around the formats.

use std::io::{Read, Write};

use crate::dataset::{Format, Shard};
use crate::error::{Error, Result};

/// Gives the bytes of a shard file.
pub trait Source: Sync {
    /// The whole file of `shard`, as stored (still compressed).
    fn read(&self, shard: &Shard) -> Result<Vec<u8>>;
}

/// Takes the output file of a shard.
pub trait Sink: Sync {
    /// Stores the output file of `shard` (same name, same split).
    fn write(&self, shard: &Shard, bytes: Vec<u8>) -> Result<()>;
}

/// The text of a CSV/TSV shard: gunzipped if it is `.gz`.
pub fn decompress(shard: &Shard, bytes: Vec<u8>) -> Result<Vec<u8>> {
    if !shard.kind.gzip || shard.kind.format == Format::Parquet {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .map_err(|e| Error::gzip(format!("{e} (after {} bytes of output)", out.len())))?;
    Ok(out)
}

/// gzip-compresses output for a `.gz` shard, else returns it as is.
pub fn compress(shard: &Shard, text: Vec<u8>) -> Result<Vec<u8>> {
    if !shard.kind.gzip || shard.kind.format == Format::Parquet {
        return Ok(text);
    }
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(text.len() / 3),
        flate2::Compression::new(6),
    );
    enc.write_all(&text)
        .and_then(|_| enc.finish())
        .map_err(|e| Error::gzip(e.to_string()))
}
