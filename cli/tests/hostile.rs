//! Hostile input: odd headers, line endings, bytes, sizes, numbers pandas
//! reads specially, schema drift, unusual Parquet types. Each input either
//! stops the run with an error naming the file and place, or has the
//! behaviour docs/RELIABILITY.md ("Hostile input") lists, checked here
//! (against pandas, through the tests' oracle, where the spec says to
//! follow the reference).

mod common;

use std::process::Output;

use common::*;

/// A dataset folder (`in/` inside a temporary folder) holding these files.
fn dataset(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (path, bytes) in files {
        let p = d.path().join("in").join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    d
}

/// The same CSV text as the one shard of `train`, `val` and `test`.
fn everywhere(text: &[u8]) -> tempfile::TempDir {
    dataset(&[
        ("train/part-00000.csv", text),
        ("val/part-00000.csv", text),
        ("test/part-00000.csv", text),
    ])
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Runs a job of `job` type over `d`'s `in/` into `d`'s `out_dir`.
fn run_job(
    d: &tempfile::TempDir,
    job: &str,
    out_dir: &str,
    extra: &[&str],
    settings: &[(&str, &str)],
) -> Output {
    let mut args = run_args(job, &d.path().join("in"), &d.path().join(out_dir));
    args.extend(extra.iter().map(|s| s.to_string()));
    shardimpute(&args, &env(settings))
}

/// Runs a training job; asserts success; returns stderr (the warnings).
fn train_ok(d: &tempfile::TempDir, settings: &[(&str, &str)]) -> String {
    let out = run_job(d, "training", "out", &["--quiet"], settings);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "training failed: {stderr}");
    stderr
}

/// Runs a training job; asserts a one-line error (exit code 1, no panic)
/// mentioning every needle, and that no shard or artifact is left.
fn train_fails(d: &tempfile::TempDir, settings: &[(&str, &str)], needles: &[&str]) -> String {
    let out = run_job(d, "training", "out", &["--quiet"], settings);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "expected failure: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "error should mention `{n}`: {stderr}");
    }
    assert_nothing_written(&d.path().join("out"));
    stderr
}

fn output(d: &tempfile::TempDir, rel: &str) -> Vec<u8> {
    let p = d.path().join("out").join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

fn dict_json(d: &tempfile::TempDir) -> serde_json::Value {
    serde_json::from_slice(&output(d, "model_artifacts/impute_dict.json")).unwrap()
}

/// The fill values pandas computes for `d`'s `in/train` (the tests' oracle).
fn oracle_dict(d: &tempfile::TempDir, settings: &[(&str, &str)]) -> serde_json::Value {
    let oracle = repo_root().join("tests/fixtures/oracle.py");
    let out = d.path().join("oracle.json");
    let env_file = d.path().join("oracle-env.txt");
    let text: String = settings.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&env_file, text).unwrap();
    python_run(&[
        oracle.as_os_str(),
        "fit".as_ref(),
        "--train".as_ref(),
        d.path().join("in/train").as_os_str(),
        "--env".as_ref(),
        env_file.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

// ---------------------------------------------------------------- 1. headers

#[test]
fn duplicate_column_names_are_an_error_naming_both_columns() {
    let d = everywhere(b"a,b,a,target\n1,,2,0\n,3,,1\n");
    train_fails(
        &d,
        &[],
        &[
            "train/part-00000.csv",
            "line 1",
            "duplicate column name `a`",
            "columns 1 and 3",
        ],
    );
}

#[test]
fn empty_column_name_is_unnamed_n_like_pandas() {
    // pandas names an empty header field `Unnamed: <index>`; the fill
    // values must use that key (downstream code looks it up by it), while
    // the header's bytes are kept
    let text = b"a,,target,\n1,,0,x\n,3,1,\n5,4,0,x\n";
    let d = everywhere(text);
    train_ok(&d, &[]);
    let got = dict_json(&d);
    assert_eq!(got, oracle_dict(&d, &[]));
    assert_eq!(got["Unnamed: 1"], serde_json::json!(3.5));
    assert_eq!(got["Unnamed: 3"], serde_json::json!("x"));
    assert_eq!(
        output(&d, "val/part-00000.csv"),
        b"a,,target,\n1,3.5,0,x\n3.0,3,1,x\n5,4,0,x\n"
    );
}

#[test]
fn utf8_bom_is_skipped_in_names_and_kept_in_output() {
    let text = b"\xEF\xBB\xBFa,b,target\n1,,0\n,3,1\n";
    let d = everywhere(text);
    train_ok(&d, &[]);
    // pandas (utf-8) strips the BOM: the first column is `a`
    assert_eq!(dict_json(&d), oracle_dict(&d, &[]));
    assert_eq!(
        output(&d, "train/part-00000.csv"),
        b"\xEF\xBB\xBFa,b,target\n1,3.0,0\n1.0,3,1\n"
    );
}

#[test]
fn empty_file_is_an_error_naming_it() {
    let good: &[u8] = b"a,target\n1,0\n,1\n";
    let d = dataset(&[
        ("train/part-00000.csv", good),
        ("val/part-00000.csv", good),
        ("test/part-00000.csv", b""),
    ]);
    train_fails(
        &d,
        &[],
        &["test/part-00000.csv", "empty file: no header row"],
    );
}

#[test]
fn header_only_training_warns_naming_the_unfilled_columns() {
    let d = dataset(&[
        ("train/part-00000.csv", b"id,a,b,target\n"),
        ("val/part-00000.csv", b"id,a,b,target\n1,,x,0\n"),
        ("test/part-00000.csv", b"id,a,b,target\n"),
    ]);
    let stderr = train_ok(&d, &[("EXCLUDE_COLUMNS", "id")]);
    assert!(
        stderr.contains("no rows") && stderr.contains("columns `a` and `b`"),
        "{stderr}"
    );
    assert!(!stderr.contains("`id`"), "excluded column named: {stderr}");
    // the val shard is written unchanged, header-only shards as header-only
    assert_eq!(output(&d, "val/part-00000.csv"), b"id,a,b,target\n1,,x,0\n");
    assert_eq!(output(&d, "train/part-00000.csv"), b"id,a,b,target\n");
    let summary: serde_json::Value =
        serde_json::from_slice(&output(&d, "model_artifacts/imputation_summary.json")).unwrap();
    let warnings = summary["warnings"].to_string();
    assert!(warnings.contains("columns `a` and `b`"), "{warnings}");
}

#[test]
fn a_file_without_header_reads_its_first_row_as_the_header() {
    // as pandas does (header=0): the label column is then not found
    let d = everywhere(b"1,,0\n,3,1\n");
    train_fails(
        &d,
        &[],
        &["label column `target`", "not in the training data"],
    );
}

// ---------------------------------------------------------------- 2. bytes and sizes

#[test]
fn crlf_and_mixed_line_endings_are_kept_row_by_row() {
    let text = b"a,b,target\r\n1,,0\n,3,1\r\n,,1";
    let d = everywhere(text);
    train_ok(&d, &[]);
    assert_eq!(dict_json(&d), oracle_dict(&d, &[]));
    assert_eq!(
        output(&d, "test/part-00000.csv"),
        b"a,b,target\r\n1,3.0,0\n1.0,3,1\r\n1.0,3.0,1"
    );
}

#[test]
fn bare_carriage_returns_are_an_error_naming_the_file() {
    // pandas' C reader takes a lone `\r` as a line end; the product refuses
    // it (old Mac line ends are rare, and a stray `\r` is usually damage)
    let d = everywhere(b"a,b,target\r1,,0\r,3,1\r");
    train_fails(
        &d,
        &[],
        &["train/part-00000.csv", "bare carriage return at line 1"],
    );
}

#[test]
fn nul_byte_is_an_error_naming_line_and_column() {
    // pandas cuts a field at a NUL (`x<NUL>y` reads as `x`)
    let good: &[u8] = b"a,b,target\n1,x,0\n,,1\n";
    let d = dataset(&[
        ("train/part-00000.csv", good),
        ("val/part-00000.csv", b"a,b,target\n1,x,0\n2,\"p\x00q\",1\n"),
        ("test/part-00000.csv", good),
    ]);
    train_fails(
        &d,
        &[],
        &["val/part-00000.csv", "line 3, column 2 (`b`)", "NUL byte"],
    );
}

#[test]
fn a_20_mb_field_is_read_and_kept() {
    let big = "y".repeat(20 << 20);
    let train = format!("a,b,target\n1,{big},0\n,{big},1\n2,,1\n");
    let small: &[u8] = b"a,b,target\n,,0\n";
    let d = dataset(&[
        ("train/part-00000.csv", train.as_bytes()),
        ("val/part-00000.csv", small),
        ("test/part-00000.csv", small),
    ]);
    train_ok(&d, &[]);
    assert_eq!(dict_json(&d)["a"], serde_json::json!(1.5));
    let out = output(&d, "train/part-00000.csv");
    assert_eq!(
        out,
        format!("a,b,target\n1,{big},0\n1.5,{big},1\n2,{big},1\n").into_bytes()
    );
}

/// A CSV text of `cols` numeric columns (every 7th cell missing) and a label.
fn wide(cols: usize, rows: usize) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..cols {
        s.push_str(&format!("c{i},"));
    }
    s.push_str("target\n");
    for r in 0..rows {
        for i in 0..cols {
            if (i + r) % 7 != 0 {
                s.push_str(&(i + r).to_string());
            }
            s.push(',');
        }
        s.push_str("1\n");
    }
    s.into_bytes()
}

#[test]
fn a_wide_table_takes_time_linear_in_its_columns() {
    // CPU time of the run itself (not wall time, which a busy machine
    // stretches), taken from the child's own resource usage
    let cpu = |cols: usize| {
        let d = everywhere(&wide(cols, 10));
        // waited for by wait4 below, which std does not offer
        #[allow(clippy::zombie_processes)]
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_shardimpute"))
            .args(run_args(
                "training",
                &d.path().join("in"),
                &d.path().join("out"),
            ))
            .args(["--quiet", "--threads", "1"])
            .spawn()
            .unwrap();
        let mut status = 0;
        // SAFETY: waits for the child we started; `usage` is written by the call
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            let pid = child.id() as libc::pid_t;
            assert_eq!(libc::wait4(pid, &mut status, 0, &mut usage), pid);
            usage
        };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        assert_eq!(dict_json(&d).as_object().unwrap().len(), cols);
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        secs(usage.ru_utime) + secs(usage.ru_stime)
    };
    let (small, large) = (cpu(5_000), cpu(20_000));
    // 4x the columns: linear is about 4x, quadratic 16x
    assert!(
        large < 8.0 * small.max(0.05),
        "5,000 columns {small:.2} s, 20,000 columns {large:.2} s of CPU"
    );
}

// ---------------------------------------------------------------- 3. numbers

#[test]
fn numbers_pandas_reads_specially_match_the_oracle() {
    // per column: `1`, a missing cell, the odd text, `3`
    let odd = [
        "-0", "1e400", "-1e400", "  5 ", "+5", "1_000", "0x10", "1e-400", "1.", ".5", "1E5", "1d5",
        "0.1e1", "True", "nan ", "  ",
    ];
    let header: Vec<String> = (0..odd.len()).map(|i| format!("c{i}")).collect();
    let row = |f: &dyn Fn(usize) -> String| {
        let cells: Vec<String> = (0..odd.len()).map(f).collect();
        cells.join(",")
    };
    let text = format!(
        "{},target\n{},0\n{},1\n{},1\n{},0\n",
        header.join(","),
        row(&|_| "1".into()),
        row(&|_| String::new()),
        row(&|i| odd[i].into()),
        row(&|_| "3".into()),
    );
    let d = everywhere(text.as_bytes());
    train_ok(&d, &[]);
    let got = dict_json(&d);
    let want = oracle_dict(&d, &[]);
    for (i, t) in odd.iter().enumerate() {
        let c = format!("c{i}");
        assert_eq!(got[&c], want[&c], "column {c} holding {t:?}");
    }
    // pandas reads 1e400 (overflow) as text, 1e-400 as 0, `  5 ` as 5
    assert_eq!(got["c1"], serde_json::json!("1"));
    assert_eq!(got["c7"], serde_json::json!(4.0 / 3.0));
    assert_eq!(got["c3"], serde_json::json!(3.0));
    // untouched cells keep their text
    let val = String::from_utf8(output(&d, "val/part-00000.csv")).unwrap();
    assert!(val.contains(&row(&|i| odd[i].into())), "{val}");
}

#[test]
fn infinite_mean_or_median_is_an_error_naming_the_column() {
    let d = everywhere(b"x,target\n1,0\n,1\ninf,0\n");
    train_fails(&d, &[], &["column `x`", "the fill value is inf", "mean"]);
    let d = everywhere(b"x,target\n-inf,0\n,1\n-inf,0\n1,1\n");
    train_fails(
        &d,
        &[("COLUMN_STRATEGY_x", "median")],
        &["column `x`", "the fill value is -inf", "median"],
    );
    // a median that is finite is fine, as is a constant
    let d = everywhere(b"x,target\n1,0\n,1\ninf,0\n3,1\n");
    train_ok(&d, &[("COLUMN_STRATEGY_x", "median")]);
    assert_eq!(dict_json(&d)["x"], serde_json::json!(3.0));
}

// ---------------------------------------------------------------- 4. schema drift

#[test]
fn train_shards_in_another_column_order_are_matched_by_name() {
    let d = dataset(&[
        ("train/part-00000.csv", b"a,b,target\n1,,0\n,3,1\n"),
        ("train/part-00001.csv", b"b,a,target\n5,,0\n,7,1\n"),
        ("val/part-00000.csv", b"b,target,a\n,0,\n"),
        ("test/part-00000.csv", b"a,b,target\n,,0\n"),
    ]);
    train_ok(&d, &[]);
    assert_eq!(dict_json(&d), oracle_dict(&d, &[]));
    assert_eq!(output(&d, "val/part-00000.csv"), b"b,target,a\n4.0,0,4.0\n");
    assert_eq!(
        output(&d, "train/part-00001.csv"),
        b"b,a,target\n5,4.0,0\n4.0,7,1\n"
    );
}

#[test]
fn train_shards_with_other_columns_are_an_error_naming_both_files() {
    let d = dataset(&[
        ("train/part-00000.csv", b"a,b,target\n1,,0\n"),
        ("train/part-00001.csv", b"a,b,target,c\n1,,0,2\n"),
        ("val/part-00000.csv", b"a,b,target\n,,0\n"),
        ("test/part-00000.csv", b"a,b,target\n,,0\n"),
    ]);
    train_fails(
        &d,
        &[],
        &["column `c` is in train/part-00001.csv but not in train/part-00000.csv"],
    );
}

#[test]
fn val_and_test_shards_with_extra_or_missing_columns_follow_the_spec() {
    // SPEC section 2: fill values of absent columns are ignored; columns
    // without a fill value are written unchanged
    let d = dataset(&[
        ("train/part-00000.csv", b"a,b,target\n1,,0\n,3,1\n"),
        ("val/part-00000.csv", b"a,b,target,extra\n,,0,\n"),
        ("test/part-00000.csv", b"a,target\n,0\n"),
    ]);
    train_ok(&d, &[]);
    assert_eq!(
        output(&d, "val/part-00000.csv"),
        b"a,b,target,extra\n1.0,3.0,0,\n"
    );
    assert_eq!(output(&d, "test/part-00000.csv"), b"a,target\n1.0,0\n");
}

// ---------------------------------------------------------------- 5. Parquet types

/// Runs Python code with the dataset folder as `sys.argv[1]`.
fn py(d: &tempfile::TempDir, code: &str) -> String {
    python(code, &[d.path().to_str().unwrap()])
}

#[test]
fn parquet_nested_temporal_decimal_dictionary_null_and_empty_shards() {
    let d = tempfile::tempdir().unwrap();
    py(
        &d,
        r#"
import sys, os, decimal, datetime, pyarrow as pa, pyarrow.parquet as pq
root = sys.argv[1]
t = pa.table({
    "lst": pa.array([[1, 2], None, [3]], pa.list_(pa.int64())),
    "st": pa.array([{"x": 1}, None, {"x": 2}], pa.struct([("x", pa.int64())])),
    "dec": pa.array([decimal.Decimal("1.10"), None, decimal.Decimal("2.25")], pa.decimal128(10, 2)),
    "dec_exact": pa.array([decimal.Decimal("1.00"), None, decimal.Decimal("2.00")], pa.decimal128(10, 2)),
    "ts": pa.array([datetime.datetime(2020, 1, 1), None, datetime.datetime(2021, 1, 1)], pa.timestamp("us")),
    "dt": pa.array([datetime.date(2020, 1, 1), None, datetime.date(2021, 1, 1)], pa.date32()),
    "dict": pa.array(["a", None, "a"]).dictionary_encode(),
    "nul": pa.nulls(3),
    "target": pa.array([0, 1, 0]),
})
for split in ["train", "val", "test"]:
    os.makedirs(f"{root}/in/{split}")
    pq.write_table(t, f"{root}/in/{split}/part-00000.parquet")
pq.write_table(t.slice(0, 0), f"{root}/in/train/part-00001.parquet")
"#,
    );
    let stderr = train_ok(&d, &[]);
    for c in ["lst", "st", "ts", "dt"] {
        assert!(
            stderr.contains(&format!("column `{c}` has missing values but its type")),
            "{c}: {stderr}"
        );
    }
    let got = py(
        &d,
        r#"
import sys, json, pyarrow.parquet as pq
root = sys.argv[1]
a = pq.read_table(f"{root}/in/val/part-00000.parquet")
b = pq.read_table(f"{root}/out/val/part-00000.parquet")
for c in ["lst", "st", "ts", "dt", "target"]:
    assert a.column(c).equals(b.column(c)), c
    assert a.schema.field(c).type == b.schema.field(c).type, c
z = pq.read_table(f"{root}/out/train/part-00001.parquet")
assert z.num_rows == 0 and z.schema == b.schema, (z.num_rows, z.schema)
print(json.dumps({c: [str(b.schema.field(c).type), [str(v) for v in b.column(c).to_pylist()]]
                  for c in ["dec", "dec_exact", "dict", "nul"]}))
"#,
    );
    let got: serde_json::Value = serde_json::from_str(got.trim()).unwrap();
    // decimal: numerical; a fill value the decimal type holds keeps it,
    // else the column becomes float64 (SPEC section 6)
    assert_eq!(
        got["dec"],
        serde_json::json!(["double", ["1.1", "1.675", "2.25"]])
    );
    assert_eq!(
        got["dec_exact"],
        serde_json::json!(["decimal128(10, 2)", ["1.00", "1.50", "2.00"]])
    );
    assert_eq!(
        got["dict"],
        serde_json::json!([
            "dictionary<values=string, indices=int32, ordered=0>",
            ["a", "a", "a"]
        ])
    );
    // all null: the text default, as pandas (an object column) would
    assert_eq!(
        got["nul"],
        serde_json::json!(["string", ["Unknown", "Unknown", "Unknown"]])
    );
}

#[test]
fn parquet_pandas_metadata_is_kept_and_updated_for_a_widened_column() {
    let d = tempfile::tempdir().unwrap();
    py(
        &d,
        r#"
import sys, os, numpy as np, pandas as pd
root = sys.argv[1]
df = pd.DataFrame({
    "i": pd.array([1, None, 2, 4], dtype="Int64"),
    "s": pd.array(["a", None, "a", "b"], dtype="string"),
    "f": [1.5, np.nan, 2.0, 3.0],
    "keep": pd.array([1, 2, 3, 4], dtype="Int32"),
    "target": [0, 1, 0, 1],
})
for split in ["train", "val", "test"]:
    os.makedirs(f"{root}/in/{split}")
    df.to_parquet(f"{root}/in/{split}/part-00000.parquet")
"#,
    );
    train_ok(&d, &[]);
    let got = py(
        &d,
        r#"
import sys, json, pyarrow.parquet as pq
root = sys.argv[1]
t = pq.read_table(f"{root}/out/val/part-00000.parquet")
assert b"pandas" in (t.schema.metadata or {}), t.schema.metadata
df = t.to_pandas()
print(json.dumps({"dtypes": {c: str(df[c].dtype) for c in df.columns},
                  "i": df["i"].tolist(), "s": df["s"].tolist()}))
"#,
    );
    let got: serde_json::Value = serde_json::from_str(got.trim()).unwrap();
    assert_eq!(
        got["dtypes"],
        serde_json::json!({"i": "float64", "s": "string", "f": "float64", "keep": "Int32", "target": "int64"})
    );
    assert_eq!(got["i"], serde_json::json!([1.0, 7.0 / 3.0, 2.0, 4.0]));
    assert_eq!(got["s"], serde_json::json!(["a", "a", "a", "b"]));
}

// ---------------------------------------------------------------- 6. open findings

#[test]
fn a_later_job_fills_booleans_and_numeric_texts_with_the_training_text() {
    // the pickle stores a boolean mode True as 1.0 and a text mode "12" as
    // 12.0; a validation job reading our artifacts writes what training wrote
    let text: &[u8] = b"flag,s,target\nTrue,12,0\n,,1\nTrue,12,0\nFalse,x,1\n";
    let d = dataset(&[
        ("train/part-00000.csv", text),
        ("val/part-00000.csv", text),
        ("test/part-00000.csv", text),
        ("validation/part-00000.csv", text),
    ]);
    train_ok(&d, &[]);
    let filled = b"flag,s,target\nTrue,12,0\nTrue,12,1\nTrue,12,0\nFalse,x,1\n";
    assert_eq!(output(&d, "val/part-00000.csv"), filled);
    let artifacts = d.path().join("out/model_artifacts");
    let out = run_job(
        &d,
        "validation",
        "out2",
        &["--quiet", "--artifacts-in", artifacts.to_str().unwrap()],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = std::fs::read(d.path().join("out2/validation/part-00000.csv")).unwrap();
    assert_eq!(got, filled);
    // a pickle alone (the reference's) fills what pandas fills: 1.0, 12.0
    let only_pickle = d.path().join("pickle_only");
    std::fs::create_dir(&only_pickle).unwrap();
    std::fs::copy(
        artifacts.join("impute_dict.pkl"),
        only_pickle.join("impute_dict.pkl"),
    )
    .unwrap();
    let out = run_job(
        &d,
        "validation",
        "out3",
        &["--quiet", "--artifacts-in", only_pickle.to_str().unwrap()],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = std::fs::read(d.path().join("out3/validation/part-00000.csv")).unwrap();
    assert_eq!(
        got,
        b"flag,s,target\nTrue,12,0\n1.0,12.0,1\nTrue,12,0\nFalse,x,1\n"
    );
}

#[test]
fn unknown_excluded_columns_are_an_error_naming_them() {
    let d = everywhere(b"a,b,target\n1,,0\n,3,1\n");
    train_fails(
        &d,
        &[("EXCLUDE_COLUMNS", "a,nope,Zed")],
        &[
            "EXCLUDE_COLUMNS",
            "columns `nope` and `Zed` not in the training data",
        ],
    );
    // a known one still works
    train_ok(&d, &[("EXCLUDE_COLUMNS", "a")]);
    assert_eq!(dict_json(&d), serde_json::json!({"b": 3.0}));
}

#[test]
fn unknown_strategy_names_still_fall_back_with_a_warning() {
    // SPEC section 4: not an error
    let d = everywhere(b"a,b,target\n1,,0\n,3,1\n5,,1\n");
    let stderr = train_ok(&d, &[("COLUMN_STRATEGY_a", "bogus")]);
    assert!(stderr.contains("bogus"), "{stderr}");
    assert_eq!(dict_json(&d)["a"], serde_json::json!(3.0));
}
