//! No silent loss: every kind of bad input stops the run with a one-line
//! error naming the file (and place where known), exit code 1, no panic,
//! and no output that looks complete.

mod common;

use std::sync::Arc;

use arrow_array::{Float64Array, Int64Array, RecordBatch};
use common::*;
use parquet::arrow::ArrowWriter;

const GOOD: &str = "id,target,x,c\n0,1,1.5,a\n1,0,,b\n2,1,2.5,\n";

fn dataset(files: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (path, bytes) in files {
        let p = d.path().join("in").join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    d
}

fn good_splits() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("train/part-00000.csv", GOOD.into()),
        ("val/part-00000.csv", GOOD.into()),
        ("test/part-00000.csv", GOOD.into()),
    ]
}

fn with(
    mut files: Vec<(&'static str, Vec<u8>)>,
    extra: (&'static str, Vec<u8>),
) -> Vec<(&'static str, Vec<u8>)> {
    files.push(extra);
    files
}

fn parquet_bytes() -> Vec<u8> {
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![0, 1, 2])) as _),
        ("target", Arc::new(Int64Array::from(vec![1, 0, 1])) as _),
        (
            "x",
            Arc::new(Float64Array::from(vec![Some(1.5), None, Some(2.5)])) as _,
        ),
    ])
    .unwrap();
    let mut w = ArrowWriter::try_new(Vec::new(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.into_inner().unwrap()
}

/// Runs a training job; asserts it fails, names `file` and every `needles`,
/// and leaves no output shard or artifact behind.
fn training_fails(d: &tempfile::TempDir, needles: &[&str]) -> String {
    let input = d.path().join("in");
    let out = d.path().join("out");
    let err = run_err(&run_args("training", &input, &out));
    for n in needles {
        assert!(err.contains(n), "error should mention `{n}`: {err}");
    }
    assert_nothing_written(&out);
    err
}

#[test]
fn good_dataset_runs() {
    // the baseline the other tests break
    let d = dataset(&good_splits());
    let out = d.path().join("out");
    let mut args = run_args("training", &d.path().join("in"), &out);
    args.push("--quiet".into());
    run_ok(&args, &[]);
    let text = std::fs::read_to_string(out.join("train/part-00000.csv")).unwrap();
    assert_eq!(text, "id,target,x,c\n0,1,1.5,a\n1,0,2.0,b\n2,1,2.5,a\n");
}

#[test]
fn ragged_csv_row() {
    let d = dataset(&with(
        good_splits(),
        (
            "train/part-00001.csv",
            b"id,target,x,c\n0,1,2,a\n1,0,3,b,extra\n".to_vec(),
        ),
    ));
    training_fails(
        &d,
        &[
            "train/part-00001.csv",
            "line 3",
            "5 fields, the header has 4",
        ],
    );
}

#[test]
fn invalid_utf8() {
    let d = dataset(&with(
        good_splits(),
        (
            "train/part-00001.csv",
            b"id,target,x,c\n0,1,2,\xff\xfe\n".to_vec(),
        ),
    ));
    training_fails(&d, &["train/part-00001.csv", "invalid UTF-8 at line 2"]);
}

#[test]
fn unterminated_quote() {
    let d = dataset(&with(
        good_splits(),
        (
            "val/part-00001.csv",
            b"id,target,x,c\n0,1,2,\"open\n1,0,3,b\n".to_vec(),
        ),
    ));
    training_fails(
        &d,
        &[
            "val/part-00001.csv",
            "unterminated quoted field starting at line 2",
        ],
    );
}

#[test]
fn truncated_parquet() {
    let bytes = parquet_bytes();
    let half = bytes[..bytes.len() / 2].to_vec();
    let d = dataset(&with(good_splits(), ("test/part-00001.parquet", half)));
    training_fails(&d, &["test/part-00001.parquet", "Parquet"]);
}

#[test]
fn corrupt_parquet_page() {
    // valid footer, garbage in the middle: decoding the row group fails
    let mut bytes = parquet_bytes();
    for b in bytes.iter_mut().skip(8).take(40) {
        *b = 0xAB;
    }
    let d = dataset(&[
        ("train/part-00000.parquet", bytes),
        ("val/part-00000.csv", GOOD.into()),
        ("test/part-00000.csv", GOOD.into()),
    ]);
    training_fails(&d, &["train/part-00000.parquet"]);
}

#[test]
fn garbage_parquet() {
    let d = dataset(&with(
        good_splits(),
        (
            "train/part-00001.parquet",
            b"this is not parquet at all".to_vec(),
        ),
    ));
    training_fails(&d, &["train/part-00001.parquet", "not a Parquet file"]);
}

#[test]
fn invalid_and_truncated_gzip() {
    let d = dataset(&with(
        good_splits(),
        (
            "train/part-00001.csv.gz",
            b"\x1f\x8b\x08\x00garbage".to_vec(),
        ),
    ));
    training_fails(&d, &["train/part-00001.csv.gz", "gzip"]);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, GOOD.repeat(50).as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    let d = dataset(&with(
        good_splits(),
        ("val/part-00001.csv.gz", gz[..gz.len() - 12].to_vec()),
    ));
    training_fails(&d, &["val/part-00001.csv.gz", "gzip"]);
}

#[test]
fn missing_split_and_no_shards() {
    let d = dataset(&good_splits()[..2]);
    training_fails(&d, &["`test/` not found"]);
    let mut files = good_splits();
    files[2] = ("test/README.txt", b"notes".to_vec());
    let d = dataset(&files);
    training_fails(&d, &["no shards in `test/`"]);
}

#[test]
fn label_column_absent() {
    let csv = b"id,y,x\n0,1,\n1,0,2\n".to_vec();
    let d = dataset(&[
        ("train/part-00000.csv", csv.clone()),
        ("val/part-00000.csv", csv.clone()),
        ("test/part-00000.csv", csv),
    ]);
    training_fails(&d, &["label column `target`", "not in the training data"]);
}

#[test]
fn type_and_column_drift() {
    let d = dataset(&with(
        good_splits(),
        (
            "train/part-00001.csv",
            b"id,target,x,c\n5,1,hello,a\n".to_vec(),
        ),
    ));
    training_fails(
        &d,
        &["`x` is numeric in train/part-00000.csv but text in train/part-00001.csv"],
    );
    let d = dataset(&with(
        good_splits(),
        ("train/part-00001.csv", b"id,target,x\n5,1,2\n".to_vec()),
    ));
    training_fails(
        &d,
        &["column `c` is in train/part-00000.csv but not in train/part-00001.csv"],
    );
}

fn validation_fails(artifacts: Option<&[(&str, Vec<u8>)]>, needles: &[&str]) {
    let d = dataset(&[("validation/part-00000.csv", GOOD.into())]);
    let input = d.path().join("in");
    let out = d.path().join("out");
    let art = d.path().join("art");
    let mut args = run_args("validation", &input, &out);
    if let Some(files) = artifacts {
        std::fs::create_dir_all(&art).unwrap();
        for (name, bytes) in files {
            std::fs::write(art.join(name), bytes).unwrap();
        }
        args.extend(["--artifacts-in".into(), art.to_string_lossy().into()]);
    }
    let err = run_err(&args);
    for n in needles {
        assert!(err.contains(n), "error should mention `{n}`: {err}");
    }
    assert_nothing_written(&out);
}

#[test]
fn missing_impute_dict() {
    validation_fails(None, &["needs --artifacts-in"]);
    validation_fails(
        Some(&[("other.txt", b"x".to_vec())]),
        &["no impute_dict.pkl or impute_dict.json"],
    );
}

#[test]
fn malicious_pickle_is_rejected_not_run() {
    let marker = std::env::temp_dir().join(format!("shardimpute-pwned-{}", std::process::id()));
    let script = format!(
        "import pickle, os, sys\n\
         class P:\n\
         \x20   def __reduce__(self):\n\
         \x20       return (os.system, ('touch {}',))\n\
         sys.stdout.buffer.write(pickle.dumps({{'x': P()}}, protocol=4))\n",
        marker.display()
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success());
    validation_fails(
        Some(&[("impute_dict.pkl", out.stdout)]),
        &["impute_dict.pkl", "GLOBAL"],
    );
    assert!(!marker.exists(), "the pickle's code ran");
    validation_fails(
        Some(&[("impute_dict.pkl", b"\x80\x04garbage".to_vec())]),
        &["impute_dict.pkl"],
    );
}
