//! Parquet shards: reading row group by row group, writing with the same
//! codecs and row-group boundaries.
//!
//! Only decoding and encoding live here; pass 1 and pass 2 take the
//! `RecordBatch`es.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};

/// An opened Parquet shard.
pub struct ParquetShard {
    bytes: Bytes,
    meta: ArrowReaderMetadata,
}

/// An Arrow cast whose failure is a Parquet error.
pub fn cast(
    a: &arrow_array::ArrayRef,
    to: &arrow_schema::DataType,
) -> Result<arrow_array::ArrayRef> {
    arrow_cast::cast(a, to).map_err(perr)
}

fn perr(e: impl std::fmt::Display) -> Error {
    Error::parquet(e.to_string())
}

/// Runs the Parquet/Arrow decoder: on some corrupt files it panics
/// (arrow-buffer's "offset + len out of bounds") instead of returning an
/// error; that panic is a Parquet error of the shard, not a crash.
fn decoding<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Error::parquet(format!(
            "corrupt file: the decoder failed ({msg})"
        )))
    })
}

impl ParquetShard {
    /// Reads the footer and schema.
    pub fn open(bytes: Bytes) -> Result<ParquetShard> {
        if bytes.len() < 12 || !bytes.starts_with(b"PAR1") || !bytes.ends_with(b"PAR1") {
            return Err(Error::parquet(format!(
                "not a Parquet file, or truncated ({} bytes; no PAR1 magic at both ends)",
                bytes.len()
            )));
        }
        let meta = decoding(|| {
            ArrowReaderMetadata::load(&bytes, ArrowReaderOptions::new()).map_err(perr)
        })?;
        Ok(ParquetShard { bytes, meta })
    }

    /// The Arrow schema.
    pub fn schema(&self) -> SchemaRef {
        self.meta.schema().clone()
    }

    /// The number of row groups.
    pub fn row_groups(&self) -> usize {
        self.meta.metadata().num_row_groups()
    }

    /// Rows in the file, by its metadata.
    pub fn rows(&self) -> u64 {
        self.meta.metadata().file_metadata().num_rows().max(0) as u64
    }

    /// Decodes row group `i` as one batch.
    pub fn read_row_group(&self, i: usize) -> Result<RecordBatch> {
        let place = || format!("row group {i}");
        let rows = self.meta.metadata().row_group(i).num_rows().max(0) as usize;
        let mut batches = decoding(|| {
            ParquetRecordBatchReaderBuilder::new_with_metadata(
                self.bytes.clone(),
                self.meta.clone(),
            )
            .with_row_groups(vec![i])
            .with_batch_size(rows.max(1))
            .build()
            .map_err(perr)?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(perr)
        })
        .map_err(|e| e.at(place()))?;
        let batch = match batches.len() {
            0 => RecordBatch::new_empty(self.schema()),
            1 => batches
                .pop()
                .ok_or_else(|| Error::parquet("no batch").at(place()))?,
            _ => arrow_select_concat(&self.schema(), &batches).map_err(|e| e.at(place()))?,
        };
        if batch.num_rows() != rows {
            return Err(Error::parquet(format!(
                "decoded {} rows, metadata says {rows}",
                batch.num_rows()
            ))
            .at(place()));
        }
        Ok(batch)
    }

    /// Writer properties that keep each column's codec.
    pub fn writer_properties(&self) -> WriterProperties {
        let md = self.meta.metadata();
        let mut props = WriterProperties::builder();
        if md.num_row_groups() > 0 {
            let rg = md.row_group(0);
            for c in rg.columns() {
                props = props.set_column_compression(
                    ColumnPath::new(c.column_path().parts().to_vec()),
                    c.compression(),
                );
            }
            if let Some(c) = rg.columns().first() {
                props = props.set_compression(c.compression());
            }
        } else {
            props = props.set_compression(Compression::SNAPPY);
        }
        props.build()
    }
}

fn arrow_select_concat(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<RecordBatch> {
    arrow_select::concat::concat_batches(schema, batches).map_err(perr)
}

/// A Parquet writer into memory.
pub struct ParquetOut {
    writer: ArrowWriter<Vec<u8>>,
}

impl ParquetOut {
    /// Starts a file with this schema and these properties.
    pub fn new(schema: SchemaRef, props: WriterProperties) -> Result<ParquetOut> {
        let writer = ArrowWriter::try_new(Vec::new(), schema, Some(props)).map_err(perr)?;
        Ok(ParquetOut { writer })
    }

    /// Writes one batch as its own row group.
    pub fn write_row_group(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch).map_err(perr)?;
        self.writer.flush().map_err(perr)
    }

    /// Finishes the file and returns its bytes.
    pub fn finish(self) -> Result<Vec<u8>> {
        self.writer.into_inner().map_err(perr)
    }
}

/// A schema with the same fields and metadata, some fields replaced.
pub fn replace_fields(schema: &SchemaRef, fields: Vec<arrow_schema::FieldRef>) -> SchemaRef {
    Arc::new(arrow_schema::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}
