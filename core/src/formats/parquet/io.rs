//! Parquet shards: reading row group by row group, writing with the same
//! codecs and row-group boundaries.
//!
//! Only decoding and encoding live here; pass 1 and pass 2 take the
//! `RecordBatch`es.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowRowGroupWriterFactory, ArrowWriterOptions,
};
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, SchemaDescriptor, Type as ParquetType, TypePtr};

use super::pages::PagedChunk;
use crate::error::{Error, Result};
use crate::io::OutputBuffer;

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
pub(super) fn decoding<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
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

    /// The same file, read with every top-level text column as a
    /// dictionary array: pass 1 then counts each distinct text once per
    /// row group instead of hashing it once per row.
    pub fn with_text_as_dictionaries(self) -> Result<ParquetShard> {
        use arrow_schema::{DataType, Field, Schema};
        let schema = self.schema();
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 => {
                    f.as_ref().clone().with_data_type(DataType::Dictionary(
                        Box::new(DataType::Int32),
                        Box::new(f.data_type().clone()),
                    ))
                }
                _ => f.as_ref().clone(),
            })
            .collect();
        let hinted = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        let options = ArrowReaderOptions::new().with_schema(hinted);
        let meta =
            ArrowReaderMetadata::try_new(self.meta.metadata().clone(), options).map_err(perr)?;
        Ok(ParquetShard {
            bytes: self.bytes,
            meta,
        })
    }

    /// The file's bytes.
    pub(super) fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The file's metadata.
    pub(super) fn metadata(&self) -> &parquet::file::metadata::ParquetMetaData {
        self.meta.metadata()
    }

    /// The file's size in bytes.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The Arrow schema.
    pub fn schema(&self) -> SchemaRef {
        self.meta.schema().clone()
    }

    /// The number of row groups.
    pub fn row_groups(&self) -> usize {
        self.meta.metadata().num_row_groups()
    }

    /// Rows in row group `g`, by its metadata.
    pub fn row_group_rows(&self, g: usize) -> u64 {
        self.meta.metadata().row_group(g).num_rows().max(0) as u64
    }

    /// Rows in the file, by its metadata.
    pub fn rows(&self) -> u64 {
        self.meta.metadata().file_metadata().num_rows().max(0) as u64
    }

    /// Decodes row group `i` as one batch.
    pub fn read_row_group(&self, i: usize) -> Result<RecordBatch> {
        self.read_row_group_roots(i, None)
    }

    /// Decodes row group `i` as one batch, only the top-level columns
    /// `roots` (in schema order) when given.
    pub fn read_row_group_roots(&self, i: usize, roots: Option<&[usize]>) -> Result<RecordBatch> {
        let place = || format!("row group {i}");
        let rows = self.meta.metadata().row_group(i).num_rows().max(0) as usize;
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
            self.bytes.clone(),
            self.meta.clone(),
        )
        .with_row_groups(vec![i])
        .with_batch_size(rows.max(1));
        if let Some(roots) = roots {
            builder = builder.with_projection(ProjectionMask::roots(
                self.parquet_schema(),
                roots.iter().copied(),
            ));
        }
        // the builder's schema is the whole file's, not the projection's
        let schema = match roots {
            Some(roots) => Arc::new(builder.schema().project(roots).map_err(perr)?),
            None => builder.schema().clone(),
        };
        let mut batches = decoding(|| {
            builder
                .build()
                .map_err(perr)?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(perr)
        })
        .map_err(|e| e.at(place()))?;
        let batch = match batches.len() {
            0 => RecordBatch::try_new_with_options(
                schema.clone(),
                schema
                    .fields()
                    .iter()
                    .map(|f| arrow_array::new_empty_array(f.data_type()))
                    .collect(),
                &arrow_array::RecordBatchOptions::new().with_row_count(Some(0)),
            )
            .map_err(|e| perr(e).at(place()))?,
            1 => batches
                .pop()
                .ok_or_else(|| Error::parquet("no batch").at(place()))?,
            _ => arrow_select_concat(&schema, &batches).map_err(|e| e.at(place()))?,
        };
        if batch.num_rows() != rows && !(roots.is_some_and(|r| r.is_empty())) {
            return Err(Error::parquet(format!(
                "decoded {} rows, metadata says {rows}",
                batch.num_rows()
            ))
            .at(place()));
        }
        Ok(batch)
    }

    /// The Parquet schema (leaf columns and their types as stored).
    pub fn parquet_schema(&self) -> &SchemaDescriptor {
        self.meta.metadata().file_metadata().schema_descr()
    }

    /// Writer properties that keep each column's codec, and its use of a
    /// dictionary, except where the dictionary was most of the column
    /// chunk (nearly every value distinct: a dictionary only costs there).
    pub fn writer_properties(&self) -> WriterProperties {
        let md = self.meta.metadata();
        let mut props = WriterProperties::builder();
        if md.num_row_groups() > 0 {
            let rg = md.row_group(0);
            for c in rg.columns() {
                let path = ColumnPath::new(c.column_path().parts().to_vec());
                let dictionary = c.dictionary_page_offset().is_some_and(|at| {
                    let dictionary_bytes = c.data_page_offset() - at;
                    dictionary_bytes * 2 < c.compressed_size()
                });
                props = props
                    .set_column_compression(path.clone(), c.compression())
                    .set_column_dictionary_enabled(path, dictionary);
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

/// How one top-level column of a row group reaches the output.
pub enum ColumnOut {
    /// Copied from the input file as its encoded column chunk (same pages,
    /// same statistics).
    Copied,
    /// Encoded from an array of the field's type (or a dictionary array
    /// of it).
    Encoded(ArrayRef),
    /// Already encoded, by pass 2's page path: appended as it is.
    Paged(PagedChunk),
}

/// A Parquet writer into memory. Each top-level column of a row group is
/// encoded from an array, copied from the input file, or appended as a
/// chunk encoded already ([`ColumnOut`]), so pass 2 decodes and encodes
/// only what it must.
pub struct ParquetOut {
    file: SerializedFileWriter<OutputBuffer>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// Whether each top-level column keeps the input's stored type (so
    /// that it may be copied or paged).
    kept: Vec<bool>,
    /// For each leaf column of the output: its top-level column, and the
    /// input's leaf it matches when that column keeps the input's type.
    leaves: Vec<(usize, Option<usize>)>,
}

impl ParquetOut {
    /// Starts a file with this Arrow schema and these properties. The
    /// Parquet schema keeps the input's stored type for every top-level
    /// column `kept[i]`, and converts the Arrow type of the others.
    /// `size` is the expected size of the file (the output buffer starts
    /// that large instead of growing by copies).
    pub fn new(
        schema: SchemaRef,
        props: WriterProperties,
        input: &SchemaDescriptor,
        kept: &[bool],
        size: usize,
    ) -> Result<ParquetOut> {
        let converted = ArrowSchemaConverter::new()
            .with_coerce_types(props.coerce_types())
            .convert(&schema)
            .map_err(perr)?;
        let fields: Vec<TypePtr> = converted
            .root_schema()
            .get_fields()
            .iter()
            .zip(input.root_schema().get_fields())
            .zip(kept)
            .map(|((new, old), &keep)| if keep { old.clone() } else { new.clone() })
            .collect();
        let root = ParquetType::group_type_builder(input.root_schema().name())
            .with_fields(fields)
            .build()
            .map_err(perr)?;
        let options = ArrowWriterOptions::new()
            .with_properties(props)
            .with_parquet_schema(SchemaDescriptor::new(Arc::new(root)));
        let writer = ArrowWriter::try_new_with_options(
            OutputBuffer::with_capacity(size),
            schema.clone(),
            options,
        )
        .map_err(perr)?;
        let (file, factory) = writer.into_serialized_writer().map_err(perr)?;
        // a kept column has the input's type, so the same leaves: the k-th
        // leaf of its root in the output is the k-th in the input
        let leaves_of_root = |d: &SchemaDescriptor| {
            let mut by_root = vec![Vec::new(); d.root_schema().get_fields().len()];
            for leaf in 0..d.num_columns() {
                by_root[d.get_column_root_idx(leaf)].push(leaf);
            }
            by_root
        };
        let (ins, outs) = (leaves_of_root(input), leaves_of_root(file.schema_descr()));
        let mut leaves = vec![(0, None); file.schema_descr().num_columns()];
        for (root, out_leaves) in outs.iter().enumerate() {
            for (k, &o) in out_leaves.iter().enumerate() {
                let source = (kept.get(root) == Some(&true))
                    .then(|| ins[root].get(k).copied())
                    .flatten();
                leaves[o] = (root, source);
            }
        }
        Ok(ParquetOut {
            file,
            factory,
            schema,
            kept: kept.to_vec(),
            leaves,
        })
    }

    /// Writes row group `g` of `input` as one row group, top-level column
    /// `i` as `columns[i]` says. Only a column that keeps the input's
    /// type is copied or paged.
    pub fn write_row_group(
        &mut self,
        input: &ParquetShard,
        g: usize,
        columns: Vec<ColumnOut>,
    ) -> Result<()> {
        let place = || format!("row group {g}");
        let err = |e: ParquetError| perr(e).at(place());
        let in_group = input.meta.metadata().row_group(g);
        let mut writers = self.factory.create_column_writers(g).map_err(err)?;
        if columns.len() != self.kept.len()
            || columns
                .iter()
                .zip(&self.kept)
                .any(|(c, &kept)| !kept && !matches!(c, ColumnOut::Encoded(_)))
        {
            return Err(Error::internal(
                "a column copied or paged but not of the input's type",
            ));
        }
        let mut leaves = Vec::with_capacity(writers.len());
        for (i, column) in columns.iter().enumerate() {
            if let ColumnOut::Encoded(array) = column {
                // a dictionary array of the field's type is written as its
                // values: the same pages as the plain array
                let field_type = self.schema.field(i).data_type();
                let fits = array.data_type() == field_type
                    || matches!(array.data_type(),
                        arrow_schema::DataType::Dictionary(_, v) if v.as_ref() == field_type);
                if !fits {
                    return Err(Error::internal(format!(
                        "column {i} is {} but its field is {}",
                        array.data_type(),
                        self.schema.field(i).data_type()
                    )));
                }
                leaves.extend(compute_leaves(self.schema.field(i), array).map_err(err)?);
            }
        }
        let copied: Vec<bool> = columns
            .iter()
            .map(|c| matches!(c, ColumnOut::Copied))
            .collect();
        let mut paged: Vec<Option<PagedChunk>> = columns
            .into_iter()
            .map(|c| match c {
                ColumnOut::Paged(chunk) => Some(chunk),
                _ => None,
            })
            .collect();
        let mut rg = self.file.next_row_group().map_err(err)?;
        let mut leaves = leaves.into_iter();
        for (mut writer, &(root, source)) in writers.drain(..).zip(&self.leaves) {
            if let Some(chunk) = paged[root].take() {
                rg.append_column(&chunk.bytes, *chunk.close).map_err(err)?;
            } else if let Some(leaf) = source.filter(|_| copied[root]) {
                let chunk = in_group.columns().get(leaf).ok_or_else(|| {
                    Error::parquet(format!("no column chunk {leaf} in the row group")).at(place())
                })?;
                // a flat column holds one value (or null) per row: the
                // row count of a chunk copied without decoding
                if chunk.column_descr().max_rep_level() == 0
                    && chunk.num_values() != in_group.num_rows()
                {
                    return Err(Error::parquet(format!(
                        "column `{}` holds {} values for {} rows",
                        chunk.column_path(),
                        chunk.num_values(),
                        in_group.num_rows()
                    ))
                    .at(place()));
                }
                let close = ColumnCloseResult {
                    bytes_written: chunk.compressed_size().max(0) as u64,
                    rows_written: in_group.num_rows().max(0) as u64,
                    metadata: chunk.clone(),
                    bloom_filter: None,
                    column_index: None,
                    offset_index: None,
                };
                rg.append_column(&input.bytes, close).map_err(err)?;
            } else {
                let data = leaves
                    .next()
                    .ok_or_else(|| Error::internal("a leaf column without data").at(place()))?;
                writer.write(&data).map_err(err)?;
                writer
                    .close()
                    .map_err(err)?
                    .append_to_row_group(&mut rg)
                    .map_err(err)?;
            }
        }
        rg.close().map_err(err)?;
        Ok(())
    }

    /// Finishes the file and returns its bytes.
    pub fn finish(self) -> Result<Vec<u8>> {
        self.file
            .into_inner()
            .map(OutputBuffer::into_inner)
            .map_err(perr)
    }
}

/// A schema with the same fields and metadata, some fields replaced.
pub fn replace_fields(schema: &SchemaRef, fields: Vec<arrow_schema::FieldRef>) -> SchemaRef {
    Arc::new(arrow_schema::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

#[cfg(test)]
mod tests {
    use arrow_array::types::Int32Type;
    use arrow_array::{Array, DictionaryArray, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    /// The file `ParquetOut` writes from `column` (in place of the one
    /// text column of `input`).
    fn rewritten(input: &ParquetShard, column: ArrayRef) -> Vec<u8> {
        let mut out = ParquetOut::new(
            input.schema(),
            input.writer_properties(),
            input.parquet_schema(),
            &[false],
            0,
        )
        .unwrap();
        out.write_row_group(input, 0, vec![ColumnOut::Encoded(column)])
            .unwrap();
        out.finish().unwrap()
    }

    #[test]
    fn a_dictionary_array_is_written_as_its_plain_values() {
        let plain = StringArray::from(vec![Some("b"), Some("a"), None, Some("b"), Some("ç")]);
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(plain.clone())]).unwrap();
        let mut file = Vec::new();
        let mut w = ArrowWriter::try_new(&mut file, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let input = ParquetShard::open(Bytes::from(file)).unwrap();
        // keys out of order, a repeated and an unused value, a null key
        let keys = arrow_array::Int32Array::from(vec![Some(2), Some(0), None, Some(2), Some(3)]);
        let values = StringArray::from(vec!["a", "x", "b", "ç"]);
        let dict = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).unwrap();
        assert_eq!(
            arrow_cast::cast(&dict, &DataType::Utf8).unwrap().as_ref(),
            &plain as &dyn Array
        );
        assert_eq!(
            rewritten(&input, Arc::new(dict)),
            rewritten(&input, Arc::new(plain))
        );
    }
}
