//! Helpers shared by the CLI's integration tests: running the binary, the
//! tests' Python, locating the shared fixtures, reading shards, and the
//! fixtures' comparison rule.
//!
//! Shards are read with readers of the tests' own (a small RFC 4180 reader
//! below for CSV/TSV, the `parquet` crate for Parquet), never with the
//! product's code, so a bug in the product's reader cannot hide itself.

#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use arrow_array::{Array, Float32Array, Float64Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The conformance fixtures: `tests/fixtures/`, or the folder named by
/// `SHARDIMPUTE_FIXTURES` (to run another set of cases the same way).
pub fn fixtures_dir() -> PathBuf {
    let d = match std::env::var_os("SHARDIMPUTE_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => repo_root().join("tests/fixtures"),
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

/// Runs the built `shardimpute` with these arguments and environment, or
/// the program named by `SHARDIMPUTE_BIN` (another build of the same
/// command line, e.g. the npm package's bin).
pub fn shardimpute<S: AsRef<OsStr>>(args: &[S], env: &[(String, String)]) -> Output {
    let exe = std::env::var_os("SHARDIMPUTE_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_shardimpute").into());
    let mut cmd = Command::new(exe);
    cmd.args(args);
    // a clean environment for settings: only what the test gives
    for (k, _) in std::env::vars() {
        if k.starts_with("COLUMN_STRATEGY_")
            || k.ends_with("_STRATEGY")
            || k.ends_with("_CONSTANT_VALUE")
            || [
                "LABEL_FIELD",
                "EXCLUDE_COLUMNS",
                "NA_VALUES",
                "RENAME_DOTS",
                "AUTO_DETECT_CATEGORICAL",
                "CATEGORICAL_UNIQUE_RATIO_THRESHOLD",
                "VALIDATE_FILL_VALUES",
            ]
            .contains(&k.as_str())
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

/// `KEY=VALUE` lines of a fixture's env.txt (blank lines and `#` comments skipped).
pub fn read_env(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------- Python

/// The tests' Python: `.venv-test/bin/python` (made by `scripts/setup.sh
/// python`, with the pinned numpy, pandas and pyarrow), else `python3`.
/// Panics with what to do when numpy, pandas or pyarrow is not installed there.
pub fn python_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let venv = repo_root().join(".venv-test/bin/python");
        let exe = if venv.is_file() {
            venv
        } else {
            PathBuf::from("python3")
        };
        let check = Command::new(&exe)
            .args([
                "-c",
                "import importlib.util as u, sys\n\
                 missing = [m for m in ('numpy', 'pandas', 'pyarrow') if u.find_spec(m) is None]\n\
                 sys.exit(f'not installed: {missing}' if missing else 0)",
            ])
            .output();
        match check {
            Ok(o) if o.status.success() => exe,
            Ok(o) => panic!(
                "{} lacks numpy, pandas or pyarrow, which the tests need: \
                 run `scripts/setup.sh python` (it makes .venv-test/). {}",
                exe.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => panic!(
                "no Python for the tests ({}: {e}): run `scripts/setup.sh python`",
                exe.display()
            ),
        }
    })
}

/// Runs the tests' Python with `args` (a script file or `-c CODE`, then its
/// arguments); asserts success; returns stdout.
pub fn python_run<S: AsRef<OsStr>>(args: &[S]) -> String {
    let out = Command::new(python_exe())
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `script` (Python code) with `args`; asserts success; returns stdout.
pub fn python(script: &str, args: &[&str]) -> String {
    let mut all = vec!["-c", script];
    all.extend_from_slice(args);
    python_run(&all)
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

// ---------------------------------------------------------------- missing values

/// pandas' default NA strings (SPEC section 3).
pub const PANDAS_NA: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// The CSV/TSV texts that mean missing.
#[derive(Clone, Debug)]
pub struct NaValues(Vec<String>);

impl NaValues {
    /// pandas' default list.
    pub fn pandas() -> NaValues {
        NaValues(PANDAS_NA.iter().map(|s| s.to_string()).collect())
    }

    /// The list a run with these settings uses: `NA_VALUES` (comma-separated)
    /// replaces pandas' list.
    pub fn from_env(env: &[(String, String)]) -> NaValues {
        match env.iter().rev().find(|(k, _)| k == "NA_VALUES") {
            Some((_, v)) => NaValues(v.split(',').map(String::from).collect()),
            None => NaValues::pandas(),
        }
    }

    /// Whether a field's text is missing (the empty field always is).
    pub fn is_na(&self, text: &str) -> bool {
        text.is_empty() || self.0.iter().any(|n| n == text)
    }
}

// ---------------------------------------------------------------- reading shards

/// A shard's cells as read, before deciding what is missing: for CSV/TSV
/// every cell is `Some(field text)` (unquoted); for Parquet a null or a
/// floating-point NaN is `None` and the rest is the value's text (booleans
/// as `True`/`False`).
pub struct Cells {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// CSV/TSV (texts) rather than Parquet (typed values).
    pub text: bool,
}

/// A table of cells as text (`None` = missing).
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Cells {
    /// The cells with missing ones as `None`: CSV/TSV texts in `na`; for
    /// Parquet nulls, NaN, and (as the expected files were written by pandas
    /// as CSV and read back, where it cannot be told from missing) NA-like
    /// text.
    pub fn table(&self, na: &NaValues) -> Table {
        let rows = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| c.as_ref().filter(|t| !na.is_na(t)).cloned())
                    .collect()
            })
            .collect();
        Table {
            header: self.header.clone(),
            rows,
        }
    }
}

/// Splits RFC 4180 text into records of unquoted field texts. A field that
/// starts with `"` is quoted (`""` inside is one quote; delimiters and line
/// breaks inside are data); records end at `\n` or `\r\n`; the last one may
/// lack a line break; blank lines are skipped, as pandas skips them.
/// Panics on an unterminated quote or invalid UTF-8.
pub fn parse_delimited(data: &[u8], delimiter: u8) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field: Vec<u8> = Vec::new();
    let mut quoted = false; // inside a quoted field
    let mut field_started = false; // anything of this field seen
    let text = |f: &mut Vec<u8>, at: usize| {
        String::from_utf8(std::mem::take(f))
            .unwrap_or_else(|e| panic!("invalid UTF-8 in the field ending at byte {at}: {e}"))
    };
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if quoted {
            if b == b'"' {
                if data.get(i + 1) == Some(&b'"') {
                    field.push(b'"');
                    i += 1;
                } else {
                    quoted = false;
                }
            } else {
                field.push(b);
            }
        } else if b == b'"' && !field_started {
            quoted = true;
            field_started = true;
        } else if b == delimiter {
            record.push(text(&mut field, i));
            field_started = false;
        } else if b == b'\n' || (b == b'\r' && data.get(i + 1) == Some(&b'\n')) {
            if b == b'\r' {
                i += 1;
            }
            // a blank line is no record (pandas skips blank lines)
            if !(record.is_empty() && !field_started) {
                record.push(text(&mut field, i));
                records.push(std::mem::take(&mut record));
            }
            field_started = false;
        } else {
            field.push(b);
            field_started = true;
        }
        i += 1;
    }
    assert!(!quoted, "unterminated quoted field at the end of the text");
    if field_started || !record.is_empty() {
        record.push(text(&mut field, data.len()));
        records.push(record);
    }
    records
}

/// A CSV/TSV text's cells (every record must have the header's width).
pub fn csv_cells(data: &[u8], delimiter: u8) -> Cells {
    let mut records = parse_delimited(data, delimiter).into_iter();
    let header = records.next().expect("no header");
    let rows: Vec<Vec<Option<String>>> = records
        .enumerate()
        .map(|(i, r)| {
            assert_eq!(
                r.len(),
                header.len(),
                "record {} has {} fields, the header {}",
                i + 1,
                r.len(),
                header.len()
            );
            r.into_iter().map(Some).collect()
        })
        .collect();
    Cells {
        header,
        rows,
        text: true,
    }
}

/// Reads a CSV/TSV text as pandas would with this NA list.
pub fn read_csv(data: &[u8], delimiter: u8, na: &NaValues) -> Table {
    csv_cells(data, delimiter).table(na)
}

/// A Parquet file's cells (through the `parquet` crate).
pub fn parquet_cells(data: Vec<u8>) -> Cells {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(data)).unwrap();
    let header = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
    let mut rows = Vec::new();
    for b in &batches {
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
                        let nan = match c.data_type() {
                            DataType::Float64 => c
                                .as_any()
                                .downcast_ref::<Float64Array>()
                                .is_some_and(|a| a.value(i).is_nan()),
                            DataType::Float32 => c
                                .as_any()
                                .downcast_ref::<Float32Array>()
                                .is_some_and(|a| a.value(i).is_nan()),
                            _ => false,
                        };
                        // logical: a column of Arrow type Null (a shard whose
                        // column is all missing) has no null buffer
                        let null = c.logical_nulls().is_some_and(|n| n.is_null(i));
                        if null || nan {
                            return None;
                        }
                        let s = f.value(i).to_string();
                        Some(match (c.data_type(), s.as_str()) {
                            (DataType::Boolean, "true") => "True".into(),
                            (DataType::Boolean, "false") => "False".into(),
                            _ => s,
                        })
                    })
                    .collect(),
            );
        }
    }
    Cells {
        header,
        rows,
        text: false,
    }
}

/// Reads a Parquet file's cells as text (bools as `True`/`False`), as the
/// expected CSV files are read: null, NaN and pandas' NA strings are missing.
pub fn read_parquet(data: Vec<u8>) -> Table {
    parquet_cells(data).table(&NaValues::pandas())
}

/// The cells of a shard of any format (`.csv`, `.tsv`, either `.gz`, `.parquet`).
pub fn shard_cells(path: &Path) -> Cells {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    if name.ends_with(".parquet") {
        return parquet_cells(bytes);
    }
    let text = if name.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{}: bad gzip: {e}", path.display()));
        out
    } else {
        bytes
    };
    csv_cells(&text, if name.contains(".tsv") { b'\t' } else { b',' })
}

/// Reads a shard of any format, missing cells as `None`.
pub fn read_shard(path: &Path, na: &NaValues) -> Table {
    shard_cells(path).table(na)
}

// ---------------------------------------------------------------- comparing

/// The fixtures' rule: equal text, or equal as float64, or both missing.
///
/// The expected files are pandas' output: each number there is the exact
/// `repr` of the double pandas held, and pandas read that double from the
/// input text with its own (not correctly rounded) parser. Untouched cells
/// keep the input text, so a number in `got` also matches when pandas read
/// its text to the double `want` spells: `pandas_reads` maps such texts to
/// those doubles (from `oracle.py floats`).
pub fn cells_match(
    got: &Option<String>,
    want: &Option<String>,
    pandas_reads: &HashMap<String, f64>,
) -> bool {
    match (got, want) {
        (None, None) => true,
        (Some(g), Some(w)) => {
            let Ok(w_value) = w.trim().parse::<f64>() else {
                return g == w;
            };
            g == w
                || g.trim().parse::<f64>().is_ok_and(|x| x == w_value)
                || pandas_reads.get(g.as_str()) == Some(&w_value)
        }
        _ => false,
    }
}

/// Asserts two tables match cell by cell (fixtures' rule).
pub fn assert_tables_match(
    got: &Table,
    want: &Table,
    what: &str,
    pandas_reads: &HashMap<String, f64>,
) {
    assert_eq!(got.header, want.header, "{what}: header");
    assert_eq!(got.rows.len(), want.rows.len(), "{what}: row count");
    for (i, (g, w)) in got.rows.iter().zip(&want.rows).enumerate() {
        assert_eq!(g.len(), w.len(), "{what}: row {i}: number of cells");
        for (j, (a, b)) in g.iter().zip(w).enumerate() {
            assert!(
                cells_match(a, b, pandas_reads),
                "{what}: row {i}, column `{}`: got {a:?}, want {b:?}",
                want.header[j]
            );
        }
    }
}

/// Output shards of a split, in shard order.
pub fn split_shards(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
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

/// Every file under `dir` (none when it does not exist).
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

/// Asserts that no file was left under `out` (empty folders may stay).
pub fn assert_nothing_written(out: &Path) {
    let left = files_under(out);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Every file under `dir` with its bytes, by `/`-separated relative path
/// (symlinks not followed; none when `dir` does not exist).
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let e = e.unwrap();
            let rel = format!("{prefix}{}", e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_dir() {
                stack.push((e.path(), format!("{rel}/")));
            } else {
                out.insert(rel, std::fs::read(e.path()).unwrap_or_default());
            }
        }
    }
    out
}
