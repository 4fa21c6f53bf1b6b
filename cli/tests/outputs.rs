//! Output properties: byte-identical across thread counts, untouched CSV
//! bytes kept, Parquet schema/codecs/row groups kept, empty shards kept,
//! batch layout, JSON dicts, the parameter accumulator, `--rename-dots`.

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    Array, BooleanArray, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::DataType;
use common::*;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// Every file under `root` with its bytes, sorted by relative path.
fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    tree(root).into_iter().collect()
}

fn train(input: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = run_args("training", input, out);
    args.push("--quiet".into());
    args.extend(extra.iter().map(|a| a.to_string()));
    run_ok(&args, &[])
}

/// The files with the reports' time lines removed (the only bytes that
/// differ between two runs).
fn without_timestamps(files: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    files
        .into_iter()
        .map(|(name, bytes)| {
            if !name.ends_with("imputation_report.json")
                && !name.ends_with("imputation_summary.txt")
            {
                return (name, bytes);
            }
            let text = String::from_utf8(bytes).unwrap();
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| !l.contains("\"timestamp\":") && !l.starts_with("time: "))
                .collect();
            assert!(kept.len() < text.lines().count(), "{name}: no time line");
            (name, kept.join("\n").into_bytes())
        })
        .collect()
}

#[test]
fn outputs_identical_on_1_and_4_threads() {
    for case in ["csv-defaults", "parquet-defaults", "csv-median-constant"] {
        let input = fixtures_dir().join(case).join("input");
        let env = read_env(&fixtures_dir().join(case).join("env.txt"));
        let tmp = tempfile::tempdir().unwrap();
        let mut outs = Vec::new();
        for threads in ["1", "4"] {
            let out = tmp.path().join(threads);
            let mut args = run_args("training", &input, &out);
            args.extend(["--threads", threads, "--quiet"].map(String::from));
            run_ok(&args, &env);
            outs.push(without_timestamps(files(&out)));
        }
        assert!(outs[0].len() >= 11, "{case}: too few output files");
        for (a, b) in outs[0].iter().zip(&outs[1]) {
            assert!(a == b, "{case}: {} differs between 1 and 4 threads", a.0);
        }
        assert_eq!(outs[0].len(), outs[1].len());
    }
}

#[test]
fn csv_untouched_bytes_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    // CRLF, quoted numbers, ints without ".0", an NA token, no final newline
    let shard =
        "id,target,x,s\r\n1,0,\"26\",\"a, b\"\r\n2,1,NA,\r\n3,0,1e1,b\r\n4,1,,\"say \"\"hi\"\"\"";
    for split in ["train", "val", "test"] {
        write(&input, &format!("{split}/part-00000.csv"), shard.as_bytes());
    }
    let out = tmp.path().join("out");
    train(&input, &out, &[]);
    let got = std::fs::read_to_string(out.join("val/part-00000.csv")).unwrap();
    // mean of 26 and 10 = 18.0; mode of the strings: three distinct, tie -> smallest
    assert_eq!(
        got,
        "id,target,x,s\r\n1,0,\"26\",\"a, b\"\r\n2,1,18.0,\"a, b\"\r\n3,0,1e1,b\r\n4,1,18.0,\"say \"\"hi\"\"\""
    );
}

fn parquet_batch(offset: i64) -> RecordBatch {
    let n = 4;
    let ids: Vec<i64> = (offset..offset + n).collect();
    let ints = Int64Array::from(vec![Some(1), None, Some(2), Some(4)]);
    let floats = Float64Array::from(vec![Some(1.5), Some(f64::NAN), None, Some(2.5)]);
    let strs = StringArray::from(vec![Some("b"), None, Some("a"), Some("b")]);
    let dict: DictionaryArray<Int32Type> = vec![Some("x"), None, Some("y"), Some("x")]
        .into_iter()
        .collect();
    let bools = BooleanArray::from(vec![Some(true), None, Some(true), Some(false)]);
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids)) as Arc<dyn Array>),
        ("target", Arc::new(Int64Array::from(vec![0, 1, 0, 1])) as _),
        ("ints", Arc::new(ints) as _),
        ("floats", Arc::new(floats) as _),
        ("strs", Arc::new(strs) as _),
        ("dict", Arc::new(dict) as _),
        ("bools", Arc::new(bools) as _),
    ])
    .unwrap()
}

fn parquet_file(groups: usize, compression: Compression) -> Vec<u8> {
    let b = parquet_batch(0);
    let props = WriterProperties::builder()
        .set_compression(compression)
        .build();
    let mut w = ArrowWriter::try_new(Vec::new(), b.schema(), Some(props)).unwrap();
    for g in 0..groups {
        w.write(&parquet_batch(g as i64 * 4)).unwrap();
        w.flush().unwrap();
    }
    w.into_inner().unwrap()
}

#[test]
fn parquet_keeps_schema_codecs_and_row_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let zstd = Compression::ZSTD(ZstdLevel::try_new(3).unwrap());
    write(&input, "train/part-00000.parquet", &parquet_file(3, zstd));
    write(
        &input,
        "val/part-00000.parquet",
        &parquet_file(2, Compression::SNAPPY),
    );
    write(
        &input,
        "test/part-00000.parquet",
        &parquet_file(0, Compression::SNAPPY),
    );
    let out = tmp.path().join("out");
    train(&input, &out, &["--column-strategy", "ints=median"]);

    let bytes = std::fs::read(out.join("train/part-00000.parquet")).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap();
    let md = builder.metadata().clone();
    assert_eq!(md.num_row_groups(), 3);
    for c in md.row_group(0).columns() {
        assert!(
            matches!(c.compression(), Compression::ZSTD(_)),
            "{:?}",
            c.compression()
        );
    }
    let schema = builder.schema().clone();
    // median of 1, 2, 4 is 2: integral, so the column stays Int64
    assert_eq!(
        schema.field_with_name("ints").unwrap().data_type(),
        &DataType::Int64
    );
    assert!(matches!(
        schema.field_with_name("dict").unwrap().data_type(),
        DataType::Dictionary(..)
    ));
    assert_eq!(
        schema.field_with_name("bools").unwrap().data_type(),
        &DataType::Boolean
    );
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
    let b = &batches[0];
    let ints = b
        .column_by_name("ints")
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!(ints.values()[..4].to_vec(), vec![1, 2, 2, 4]);
    let floats = b
        .column_by_name("floats")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert_eq!(floats.null_count(), 0);
    assert_eq!(
        floats.values()[..4].to_vec(),
        vec![1.5, 2.0, 2.0, 2.5],
        "NaN and null both filled with the mean"
    );
    let t = read_parquet(std::fs::read(out.join("train/part-00000.parquet")).unwrap());
    let col = |name: &str| t.header.iter().position(|h| h == name).unwrap();
    assert_eq!(t.rows[1][col("strs")].as_deref(), Some("b"));
    assert_eq!(t.rows[1][col("dict")].as_deref(), Some("x"));
    assert_eq!(t.rows[1][col("bools")].as_deref(), Some("True"));
    // a zero-row-group shard is written back, still empty, same schema
    let empty = read_parquet(std::fs::read(out.join("test/part-00000.parquet")).unwrap());
    assert_eq!(empty.rows.len(), 0);
    let json = std::fs::read_to_string(out.join("model_artifacts/impute_dict.json")).unwrap();
    assert!(
        json.contains("\"ints\": 2.0") && json.contains("\"bools\": \"True\""),
        "{json}"
    );
}

#[test]
fn parquet_int_column_becomes_float_for_a_fractional_mean() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    for split in ["train", "val", "test"] {
        write(
            &input,
            &format!("{split}/part-00000.parquet"),
            &parquet_file(1, Compression::SNAPPY),
        );
    }
    let out = tmp.path().join("out");
    train(&input, &out, &[]);
    let t = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(
        std::fs::read(out.join("val/part-00000.parquet")).unwrap(),
    ))
    .unwrap();
    assert_eq!(
        t.schema().field_with_name("ints").unwrap().data_type(),
        &DataType::Float64
    );
    let summary =
        std::fs::read_to_string(out.join("model_artifacts/imputation_summary.json")).unwrap();
    assert!(
        summary.contains("\"ints\",\n") && summary.contains("Float64"),
        "{summary}"
    );
}

#[test]
fn empty_csv_shards_are_kept_and_batch_layout_works() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write(
        &input,
        "train/train_processed_data.csv",
        b"id,target,x\n1,0,1\n2,1,\n3,0,3\n",
    );
    write(&input, "val/val_processed_data.csv", b"id,target,x\n");
    write(
        &input,
        "test/test_processed_data.tsv",
        b"id\ttarget\tx\n9\t1\t\n",
    );
    let out = tmp.path().join("out");
    train(&input, &out, &[]);
    assert_eq!(
        std::fs::read_to_string(out.join("val/val_processed_data.csv")).unwrap(),
        "id,target,x\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("test/test_processed_data.tsv")).unwrap(),
        "id\ttarget\tx\n9\t1\t2.0\n"
    );
}

#[test]
fn json_dict_accumulator_and_rename_dots() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write(
        &input,
        "testing/part-00000.csv",
        b"a__DOT__b,target,s\n,1,\n5,0,q\n",
    );
    let art = tmp.path().join("art");
    write(
        &art,
        "impute_dict.json",
        b"{\"a__DOT__b\": 7, \"s\": \"x\", \"absent\": 1.5}",
    );
    write(&art, "model_params.json", b"{\"lr\": 0.1}");
    write(&art, "imputation_summary.json", b"old");
    let out = tmp.path().join("out");
    let mut args = run_args("testing", &input, &out);
    args.extend(["--artifacts-in".into(), art.to_string_lossy().into_owned()]);
    args.extend(["--rename-dots", "--quiet"].map(String::from));
    run_ok(&args, &[]);
    assert_eq!(
        std::fs::read_to_string(out.join("testing/part-00000.csv")).unwrap(),
        "a.b,target,s\n7,1,x\n5,0,q\n"
    );
    let arts = out.join("model_artifacts");
    assert_eq!(
        std::fs::read_to_string(arts.join("model_params.json")).unwrap(),
        "{\"lr\": 0.1}"
    );
    assert_ne!(
        std::fs::read_to_string(arts.join("imputation_summary.json")).unwrap(),
        "old",
        "ours win"
    );
    let py = python(
        "import pickle,sys; print(pickle.load(open(sys.argv[1],'rb')))",
        &[arts.join("impute_dict.pkl").to_str().unwrap()],
    );
    assert_eq!(py.trim(), "{'a__DOT__b': 7, 's': 'x', 'absent': 1.5}");
}

/// `batch` as the one Parquet shard of train, val and test under `input`.
fn everywhere_parquet(input: &Path, batch: &RecordBatch) {
    let mut bytes = Vec::new();
    let mut w = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    for split in ["train", "val", "test"] {
        write(input, &format!("{split}/part-00000.parquet"), &bytes);
    }
}

#[test]
fn a_null_typed_parquet_column_is_filled_in_every_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let batch = RecordBatch::try_from_iter_with_nullable([
        (
            "target",
            Arc::new(Int64Array::from(vec![0, 1, 0])) as Arc<dyn Array>,
            false,
        ),
        ("n", Arc::new(arrow_array::NullArray::new(3)) as _, true),
    ])
    .unwrap();
    everywhere_parquet(&input, &batch);
    let out = tmp.path().join("out");
    train(&input, &out, &[]);
    let t = read_parquet(std::fs::read(out.join("val/part-00000.parquet")).unwrap());
    let n = t.header.iter().position(|h| h == "n").unwrap();
    let cells: Vec<_> = t.rows.iter().map(|r| r[n].clone()).collect();
    assert_eq!(cells, vec![Some("Unknown".to_string()); 3]);
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("model_artifacts/imputation_summary.json")).unwrap(),
    )
    .unwrap();
    let val = summary["splits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "val")
        .unwrap();
    assert_eq!(val["cells_filled"], 3);
}

#[test]
fn widening_big_integers_to_float_is_refused_not_lossy() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let big = arrow_array::UInt64Array::from(vec![Some(u64::MAX), None, Some(u64::MAX - 2)]);
    let batch = RecordBatch::try_from_iter([
        (
            "target",
            Arc::new(Int64Array::from(vec![0, 1, 0])) as Arc<dyn Array>,
        ),
        ("big", Arc::new(big) as _),
    ])
    .unwrap();
    everywhere_parquet(&input, &batch);
    // a fractional constant would make the column float64, where 2^64-1
    // and 2^64-3 both become 1.8446744073709552e19
    let out = tmp.path().join("out");
    let mut args = run_args("training", &input, &out);
    args.extend(
        [
            "--column-strategy",
            "big=constant",
            "--numerical-constant-value",
            "0.5",
        ]
        .map(String::from),
    );
    let err = run_err(&args);
    assert!(
        err.contains("/part-00000.parquet")
            && err.contains("column `big`")
            && err.contains("18446744073709551615"),
        "{err}"
    );
    // an integral constant keeps the column's type and every value
    let mut args = run_args("training", &input, &out);
    args.extend(
        [
            "--quiet",
            "--column-strategy",
            "big=constant",
            "--numerical-constant-value",
            "7",
        ]
        .map(String::from),
    );
    run_ok(&args, &[]);
    let t = read_parquet(std::fs::read(out.join("val/part-00000.parquet")).unwrap());
    let b = t.header.iter().position(|h| h == "big").unwrap();
    let cells: Vec<_> = t.rows.iter().map(|r| r[b].clone().unwrap()).collect();
    assert_eq!(cells, ["18446744073709551615", "7", "18446744073709551613"]);
}

/// The bytes of every column chunk of row group `g`, by column path, with
/// its statistics, read with the `parquet` crate's own metadata reader.
fn column_chunks(bytes: &[u8], g: usize) -> Vec<(String, Vec<u8>, String)> {
    let md = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&bytes::Bytes::copy_from_slice(bytes))
        .unwrap();
    md.row_group(g)
        .columns()
        .iter()
        .map(|c| {
            let (start, len) = c.byte_range();
            (
                c.column_path().string(),
                bytes[start as usize..(start + len) as usize].to_vec(),
                format!("{:?}", c.statistics()),
            )
        })
        .collect()
}

#[test]
fn parquet_columns_without_a_fill_value_are_copied_as_encoded() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    // written as pass 2's own writer never would: no dictionary, no
    // statistics, small pages, so a re-encoded chunk cannot look copied
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(7).unwrap()))
        .set_dictionary_enabled(false)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
        .set_data_page_row_count_limit(2)
        .set_write_batch_size(2)
        .build();
    let b = parquet_batch(0);
    let mut w = ArrowWriter::try_new(Vec::new(), b.schema(), Some(props)).unwrap();
    for g in 0..2 {
        w.write(&parquet_batch(g * 4)).unwrap();
        w.flush().unwrap();
    }
    let file = w.into_inner().unwrap();
    for split in ["train", "val", "test"] {
        write(&input, &format!("{split}/part-00000.parquet"), &file);
    }
    let out = tmp.path().join("out");
    // `ints` is excluded: it keeps its gaps, so it is copied too
    train(&input, &out, &["--exclude-columns", "ints"]);
    let got = std::fs::read(out.join("val/part-00000.parquet")).unwrap();
    for g in 0..2 {
        let (before, after) = (column_chunks(&file, g), column_chunks(&got, g));
        assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(a.0, b.0);
            let copied = ["id", "target", "ints"].contains(&b.0.as_str());
            // same pages (compressed bytes) and statistics, or re-encoded
            assert_eq!(a.1 == b.1, copied, "row group {g} column {}", b.0);
            if copied {
                assert_eq!(a.2, b.2, "statistics of {}", b.0);
            }
        }
    }
    // and the copied columns read back as they were, gaps included
    let t = read_parquet(got);
    let col = |name: &str| t.header.iter().position(|h| h == name).unwrap();
    let ints: Vec<Option<&str>> = t.rows.iter().map(|r| r[col("ints")].as_deref()).collect();
    assert_eq!(
        ints,
        [
            Some("1"),
            None,
            Some("2"),
            Some("4"),
            Some("1"),
            None,
            Some("2"),
            Some("4")
        ]
    );
}
