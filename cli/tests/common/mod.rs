//! Helpers shared by the CLI's integration tests: running the binary,
//! locating the shared fixtures, reading output cells, and the fixtures'
//! comparison rule.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use shardimpute_core::config::DEFAULT_NA_VALUES;
use shardimpute_core::csv::Reader;

/// The conformance fixtures: `tests/fixtures/`, or the folder named by
/// `SHARDIMPUTE_FIXTURES` (to run another set of cases the same way).
pub fn fixtures_dir() -> PathBuf {
    let d = match std::env::var_os("SHARDIMPUTE_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures"),
    };
    assert!(d.is_dir(), "fixtures not found at {}", d.display());
    d
}

/// The arguments of `shardimpute run --job-type JOB --input IN --output OUT`;
/// push more flags onto it.
pub fn run_args(job: &str, input: &Path, output: &Path) -> Vec<String> {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    vec![
        "run".into(),
        "--job-type".into(),
        job.into(),
        "--input".into(),
        path(input),
        "--output".into(),
        path(output),
    ]
}

/// Runs the built `shardimpute` with these arguments and environment.
pub fn shardimpute<S: AsRef<OsStr>>(args: &[S], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shardimpute"));
    cmd.args(args);
    // a clean environment for settings: only what the test gives
    for (k, _) in std::env::vars() {
        if k.starts_with("COLUMN_STRATEGY_")
            || k.ends_with("_STRATEGY")
            || k == "LABEL_FIELD"
            || k == "EXCLUDE_COLUMNS"
        {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("shardimpute runs")
}

/// Runs and asserts success, returning stdout.
pub fn run_ok<S: AsRef<OsStr> + std::fmt::Debug>(args: &[S], env: &[(String, String)]) -> String {
    let out = shardimpute(args, env);
    assert!(
        out.status.success(),
        "shardimpute {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs and asserts failure with exit code 1, returning stderr.
pub fn run_err<S: AsRef<OsStr>>(args: &[S]) -> String {
    let out = shardimpute(args, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected failure, got {:?}; stderr: {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "one-line error expected: {stderr}"
    );
    stderr
}

/// `KEY=VALUE` lines of a fixture's env.txt.
pub fn read_env(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A table of cells as text (`None` = missing).
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

fn is_na(s: &str) -> bool {
    DEFAULT_NA_VALUES.contains(&s)
}

/// Reads a CSV/TSV text (as pandas would: NA strings are missing).
pub fn read_csv(data: &[u8], delimiter: u8) -> Table {
    let mut r = Reader::new(data, delimiter);
    let mut fields = Vec::new();
    assert!(r.next_record(&mut fields).unwrap(), "no header");
    let text =
        |f: &shardimpute_core::csv::Field| String::from_utf8(f.text(data).into_owned()).unwrap();
    let header = fields.iter().map(text).collect();
    let mut rows = Vec::new();
    while r.next_record(&mut fields).unwrap() {
        rows.push(
            fields
                .iter()
                .map(|f| {
                    let t = text(f);
                    (!is_na(&t)).then_some(t)
                })
                .collect(),
        );
    }
    Table { header, rows }
}

/// Reads a Parquet file's cells as text (bools as `True`/`False`), as the
/// expected CSV files are read: NaN and NA-like strings count as missing.
pub fn read_parquet(data: Vec<u8>) -> Table {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(data))
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let mut header = Vec::new();
    let mut rows = Vec::new();
    for b in &batches {
        header = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let opts = arrow_cast::display::FormatOptions::default();
        let fmts: Vec<_> = b
            .columns()
            .iter()
            .map(|c| arrow_cast::display::ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
            .collect();
        for i in 0..b.num_rows() {
            rows.push(
                b.columns()
                    .iter()
                    .zip(&fmts)
                    .map(|(c, f)| {
                        if c.is_null(i) {
                            return None;
                        }
                        let s = f.value(i).to_string();
                        Some(match s.as_str() {
                            "true" if c.data_type() == &arrow_schema::DataType::Boolean => {
                                "True".into()
                            }
                            "false" if c.data_type() == &arrow_schema::DataType::Boolean => {
                                "False".into()
                            }
                            // The expected files were written by pandas as CSV and
                            // read back, so NA-like text cannot be told from missing.
                            t if is_na(t) => return None,
                            _ => s,
                        })
                    })
                    .collect(),
            );
        }
    }
    Table { header, rows }
}

/// Reads an output shard of any format.
pub fn read_shard(path: &Path) -> Table {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let bytes = std::fs::read(path).unwrap();
    if name.ends_with(".parquet") {
        return read_parquet(bytes);
    }
    let text = if name.ends_with(".gz") {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        bytes
    };
    read_csv(&text, if name.contains(".tsv") { b'\t' } else { b',' })
}

/// The fixtures' rule: equal text, or equal as float64, or both missing.
///
/// The expected files are pandas' output: each number there is the exact
/// `repr` of the double pandas held, and pandas read that double from the
/// input text with its own (not correctly rounded) parser. Our untouched
/// cells keep the input text, so a number in `got` matches when it reads
/// (correctly, or as pandas reads it) to the double `want` spells exactly.
pub fn cells_match(got: &Option<String>, want: &Option<String>) -> bool {
    use shardimpute_core::pandas_num;
    match (got, want) {
        (None, None) => true,
        (Some(g), Some(w)) => {
            let Ok(w_value) = w.trim().parse::<f64>() else {
                return g == w;
            };
            g == w
                || g.trim().parse::<f64>().is_ok_and(|x| x == w_value)
                || pandas_num::parse(g.as_bytes()).is_some_and(|x| x == w_value)
        }
        _ => false,
    }
}

/// Asserts two tables match cell by cell (fixtures' rule).
pub fn assert_tables_match(got: &Table, want: &Table, what: &str) {
    assert_eq!(got.header, want.header, "{what}: header");
    assert_eq!(got.rows.len(), want.rows.len(), "{what}: row count");
    for (i, (g, w)) in got.rows.iter().zip(&want.rows).enumerate() {
        for (j, (a, b)) in g.iter().zip(w).enumerate() {
            assert!(
                cells_match(a, b),
                "{what}: row {i}, column `{}`: got {a:?}, want {b:?}",
                want.header[j]
            );
        }
    }
}

/// Runs python3 on `script` with `args`; asserts success; returns stdout.
pub fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts `pickle.load` of two files gives equal dicts: same keys in the
/// same order, same value types, floats equal to the bit.
pub fn assert_pickles_equal(got: &Path, want: &Path) {
    let script = "import pickle, sys, struct\n\
        a = pickle.load(open(sys.argv[1], 'rb'))\n\
        b = pickle.load(open(sys.argv[2], 'rb'))\n\
        assert type(a) is dict, type(a)\n\
        assert list(a) == list(b), (list(a), list(b))\n\
        for k in b:\n\
        \x20   x, y = a[k], b[k]\n\
        \x20   assert type(x) is type(y), (k, x, y)\n\
        \x20   if isinstance(y, float):\n\
        \x20       assert struct.pack('<d', x) == struct.pack('<d', y) or (x != x and y != y), (k, x, y)\n\
        \x20   else:\n\
        \x20       assert x == y, (k, x, y)\n\
        print('ok', len(b))\n";
    let out = python(script, &[got.to_str().unwrap(), want.to_str().unwrap()]);
    assert!(out.starts_with("ok"), "{out}");
}

/// Output shards of a split, in shard order.
pub fn split_shards(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    v.sort();
    v
}

/// Concatenates the tables of several shards.
pub fn concat(tables: Vec<Table>) -> Table {
    let header = tables.first().map(|t| t.header.clone()).unwrap_or_default();
    let mut rows = Vec::new();
    for t in tables {
        assert_eq!(t.header, header, "shards disagree on the header");
        rows.extend(t.rows);
    }
    Table { header, rows }
}
