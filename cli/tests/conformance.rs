//! Conformance: every case in the conformance fixtures (`tests/fixtures/`),
//! run by the built CLI, gives the expected fill values (to the bit), the
//! expected pickle (as Python's `pickle.load` sees it) and the expected cells
//! in every output shard; and, read back against its input shard by the
//! tests' own readers, every output shard has the input's rows, its
//! untouched cells with their exact text, and the fill value in every missing
//! cell of a filled column. Each CSV case also runs as TSV, gzip and Parquet
//! (written by `oracle.py convert`, not by the product), on 1, 2 and 4 threads.
//! Random cases (`tests/fixtures/random_cases.py`, answers from the same
//! oracle) go through the same checks: see `random_cases_match_the_oracle`.

mod common;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use common::*;

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("job_type.txt").is_file())
        .collect();
    v.sort();
    assert!(
        v.len() >= 4,
        "expected at least 4 fixture cases, found {}",
        v.len()
    );
    v
}

fn case_name(case: &Path) -> String {
    case.file_name().unwrap().to_string_lossy().into_owned()
}

fn oracle() -> PathBuf {
    repo_root().join("tests/fixtures/oracle.py")
}

/// The numbers of each case's text input that pandas reads to another
/// double than the correctly rounded one (`oracle.py floats`, one run for
/// all the cases), by case name.
fn floats_of(cases: &[PathBuf]) -> HashMap<String, Arc<HashMap<String, f64>>> {
    let mut args: Vec<String> = vec![oracle().to_string_lossy().into(), "floats".into()];
    args.extend(cases.iter().map(|c| c.to_string_lossy().into_owned()));
    let json: HashMap<String, HashMap<String, String>> =
        serde_json::from_str(&python_run(&args)).unwrap();
    json.into_iter()
        .map(|(case, m)| {
            let m = m
                .into_iter()
                .map(|(text, v)| (text, v.parse::<f64>().unwrap()))
                .collect();
            (case, Arc::new(m))
        })
        .collect()
}

/// [`floats_of`] a fixture case (computed once for every case).
fn pandas_reads(case: &Path) -> Arc<HashMap<String, f64>> {
    static ALL: OnceLock<HashMap<String, Arc<HashMap<String, f64>>>> = OnceLock::new();
    let all = ALL.get_or_init(|| floats_of(&cases()));
    all.get(&case_name(case)).cloned().unwrap_or_default()
}

/// A fill value as the tests compare it.
#[derive(Debug)]
enum Fill {
    Number(f64),
    Text(String),
}

impl Fill {
    /// Whether an output cell (its text, or `None` for a Parquet null) carries this value.
    fn is_in(&self, cell: &Option<String>) -> bool {
        match (self, cell) {
            (Fill::Number(x), Some(t)) => t
                .trim()
                .parse::<f64>()
                .is_ok_and(|y| y.to_bits() == x.to_bits()),
            (Fill::Text(x), Some(t)) => t == x,
            (_, None) => false,
        }
    }
}

/// The fill values a run must use: the expected `impute_dict.json` of a
/// training case, or the given pickle of an inference case (loaded by Python).
fn fill_values(case: &Path) -> HashMap<String, Fill> {
    let json = case.join("expected/impute_dict.json");
    let text = if json.is_file() {
        std::fs::read_to_string(json).unwrap()
    } else {
        python(
            "import json, pickle, sys; print(json.dumps(pickle.load(open(sys.argv[1], 'rb'))))",
            &[case.join("artifacts_in/impute_dict.pkl").to_str().unwrap()],
        )
    };
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    map.into_iter()
        .map(|(k, v)| {
            let f = match v {
                serde_json::Value::Number(n) => Fill::Number(n.as_f64().unwrap()),
                serde_json::Value::String(s) => Fill::Text(s),
                other => panic!("{}: fill value of `{k}`: {other}", case.display()),
            };
            (k, f)
        })
        .collect()
}

fn env_true(env: &[(String, String)], key: &str) -> bool {
    env.iter()
        .rev()
        .find(|(k, _)| k == key)
        .is_some_and(|(_, v)| ["true", "1", "yes"].contains(&v.trim().to_lowercase().as_str()))
}

/// Checks an output shard against its input shard, both read by the tests'
/// readers: the same rows; every cell that is not missing in the input
/// comes out as it went in (CSV/TSV: the exact field text; Parquet: the same
/// value, an integer column possibly become float); every missing cell of a
/// filled column carries the fill value; other missing cells stay as they were.
fn assert_shard_kept(
    input: &Path,
    output: &Path,
    fill: &HashMap<String, Fill>,
    na: &NaValues,
    rename_dots: bool,
    what: &str,
) {
    let a = shard_cells(input);
    let b = shard_cells(output);
    let header: Vec<String> = if rename_dots {
        a.header.iter().map(|h| h.replace("__DOT__", ".")).collect()
    } else {
        a.header.clone()
    };
    assert_eq!(b.header, header, "{what}: header");
    assert_eq!(b.rows.len(), a.rows.len(), "{what}: rows in != rows out");
    for (i, (ra, rb)) in a.rows.iter().zip(&b.rows).enumerate() {
        assert_eq!(rb.len(), ra.len(), "{what}: row {i}: number of cells");
        for (j, (ca, cb)) in ra.iter().zip(rb).enumerate() {
            let col = &a.header[j];
            let missing = match ca {
                None => true,
                Some(t) => a.text && na.is_na(t),
            };
            let ok = match (missing, fill.get(col)) {
                (true, Some(f)) => f.is_in(cb),
                (false, _) if a.text => ca == cb,
                (false, _) => {
                    ca == cb
                        || matches!((ca, cb), (Some(x), Some(y))
                            if x.parse::<f64>().is_ok_and(|x| y.parse::<f64>() == Ok(x)))
                }
                (true, None) => ca == cb,
            };
            assert!(
                ok,
                "{what}: row {i}, column `{col}`: input {ca:?}, output {cb:?}{}",
                match fill.get(col) {
                    Some(f) if missing => format!(" (fill value {f:?})"),
                    _ => String::new(),
                }
            );
        }
    }
}

/// Runs one case on one input (the case's own, or a variant of it) and
/// checks everything; `reads`: the case's [`floats_of`].
fn check_case(
    case: &Path,
    input: &Path,
    threads: &str,
    what: &str,
    reads: Arc<HashMap<String, f64>>,
) {
    let job = std::fs::read_to_string(case.join("job_type.txt"))
        .unwrap()
        .trim()
        .to_string();
    let env = read_env(&case.join("env.txt"));
    let na = NaValues::from_env(&env);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut args = run_args(&job, input, &out);
    args.extend(["--threads", threads, "--quiet"].map(String::from));
    let artifacts_in = case.join("artifacts_in");
    if artifacts_in.is_dir() {
        args.extend([
            "--artifacts-in".into(),
            artifacts_in.to_string_lossy().into_owned(),
        ]);
    }
    run_ok(&args, &env);
    let artifacts = out.join("model_artifacts");
    let expected = case.join("expected");

    // fill values
    let want_json = expected.join("impute_dict.json");
    if want_json.is_file() {
        let got: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&std::fs::read(artifacts.join("impute_dict.json")).unwrap())
                .unwrap();
        let want: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&std::fs::read(&want_json).unwrap()).unwrap();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{what}: columns"
        );
        for (k, w) in &want {
            let g = &got[k];
            match (g.as_f64(), w.as_f64()) {
                (Some(a), Some(b)) => {
                    assert_eq!(a.to_bits(), b.to_bits(), "{what}: `{k}`: {a} vs {b}")
                }
                _ => assert_eq!(g, w, "{what}: `{k}`"),
            }
        }
    }
    let want_pkl = expected.join("impute_dict.pkl");
    let want_pkl = if want_pkl.is_file() {
        want_pkl
    } else {
        artifacts_in.join("impute_dict.pkl")
    };
    assert_pickles_equal(&artifacts.join("impute_dict.pkl"), &want_pkl);

    // every cell of every split, against the expected answers
    let mut compared = 0;
    for e in std::fs::read_dir(&expected).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Some(split) = name.strip_suffix(".csv") else {
            continue;
        };
        let want = read_csv(&std::fs::read(&p).unwrap(), b',', &na);
        let got = concat(
            split_shards(&out.join(split))
                .iter()
                .map(|s| read_shard(s, &na))
                .collect(),
        );
        assert_tables_match(&got, &want, &format!("{what}: split {split}"), &reads);
        compared += 1;
    }
    assert!(compared >= 1, "{what}: no expected split compared");

    // every output shard against its input shard
    let fill = fill_values(case);
    let rename_dots = env_true(&env, "RENAME_DOTS");
    let mut shards = 0;
    for split in std::fs::read_dir(input).unwrap() {
        let split = split.unwrap().path();
        let name = split.file_name().unwrap().to_string_lossy().into_owned();
        let ins = split_shards(&split);
        let outs = split_shards(&out.join(&name));
        let names = |v: &[PathBuf]| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names(&outs), names(&ins), "{what}: shards of {name}/");
        for (i, o) in ins.iter().zip(&outs) {
            let shard = format!("{what}: {name}/{}", names(std::slice::from_ref(i))[0]);
            assert_shard_kept(i, o, &fill, &na, rename_dots, &shard);
            shards += 1;
        }
    }
    assert!(shards >= 1, "{what}: no shard compared with its input");

    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(artifacts.join("imputation_summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        summary["rows_in_equals_rows_out"],
        serde_json::Value::Bool(true),
        "{what}"
    );
}

/// One run of a case: what to call it, and the check.
struct Run {
    what: String,
    check: Box<dyn FnOnce()>,
}

impl Run {
    fn new(what: String, check: impl FnOnce() + 'static) -> Run {
        Run {
            what,
            check: Box::new(check),
        }
    }
}

/// Runs every check, then fails listing every failure.
fn run_all(runs: Vec<Run>) {
    assert!(!runs.is_empty(), "no case to run");
    python_exe(); // fails once, saying what to install, rather than in every run
    let total = runs.len();
    let mut failures = Vec::new();
    for run in runs {
        match std::panic::catch_unwind(AssertUnwindSafe(run.check)) {
            Ok(()) => {}
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                failures.push(format!("{}: {msg}", run.what));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn fixtures_as_given() {
    let runs = cases()
        .into_iter()
        .map(|case| {
            let what = case_name(&case);
            Run::new(what.clone(), move || {
                check_case(&case, &case.join("input"), "4", &what, pandas_reads(&case))
            })
        })
        .collect();
    run_all(runs);
}

#[test]
fn fixtures_on_one_thread() {
    let runs = cases()
        .into_iter()
        .map(|case| {
            let what = format!("{} (1 thread)", case_name(&case));
            Run::new(what.clone(), move || {
                check_case(&case, &case.join("input"), "1", &what, pandas_reads(&case))
            })
        })
        .collect();
    run_all(runs);
}

/// Whether a case's input shards are CSV.
fn is_csv_case(case: &Path) -> bool {
    std::fs::read_dir(case.join("input")).unwrap().all(|split| {
        std::fs::read_dir(split.unwrap().path())
            .unwrap()
            .all(|e| e.unwrap().path().extension().is_some_and(|x| x == "csv"))
    })
}

const VARIANTS: [&str; 3] = ["tsv", "csv.gz", "parquet"];

#[test]
fn csv_fixtures_as_tsv_gzip_and_parquet() {
    python_exe();
    let csv_cases: Vec<PathBuf> = cases().into_iter().filter(|c| is_csv_case(c)).collect();
    assert!(!csv_cases.is_empty(), "no CSV case");
    // every variant of every CSV case, written by the oracle in one go
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut args: Vec<String> = vec![
        oracle().to_string_lossy().into(),
        "convert".into(),
        "--out".into(),
        root.path().to_string_lossy().into(),
        "--to".into(),
        VARIANTS.join(","),
    ];
    args.extend(csv_cases.iter().map(|c| c.to_string_lossy().into_owned()));
    python_run(&args);
    let mut runs = Vec::new();
    for case in csv_cases {
        for to in VARIANTS {
            let input = root.path().join(case_name(&case)).join(to);
            let what = format!("{} as {to}", case_name(&case));
            let case2 = case.clone();
            runs.push(Run::new(what.clone(), move || {
                check_case(&case2, &input, "2", &what, pandas_reads(&case2))
            }));
        }
    }
    run_all(runs);
}

/// Random cases (`random_cases.py`: datasets, formats and settings drawn
/// from a seed, expected answers from the oracle), each on 1, 2 or 4
/// threads: `SHARDIMPUTE_RANDOM_CASES` of them (default 24) from seed
/// `SHARDIMPUTE_RANDOM_SEED` (default 1). `make conformance-soak` runs
/// many from a new seed.
#[test]
fn random_cases_match_the_oracle() {
    let var = |name: &str, default: u64| -> u64 {
        std::env::var(name)
            .ok()
            .map(|v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{name}={v}: not a number"))
            })
            .unwrap_or(default)
    };
    let (count, seed) = (
        var("SHARDIMPUTE_RANDOM_CASES", 24),
        var("SHARDIMPUTE_RANDOM_SEED", 1),
    );
    python_exe();
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    python_run(&[
        repo_root()
            .join("tests/fixtures/random_cases.py")
            .to_string_lossy()
            .into(),
        "--out".into(),
        root.path().to_string_lossy().into(),
        "--seed".into(),
        seed.to_string(),
        "--count".into(),
        count.to_string(),
    ]);
    let cases: Vec<PathBuf> = (0..count)
        .map(|k| root.path().join(format!("random-{seed}-{k}")))
        .collect();
    let reads = floats_of(&cases);
    let runs = cases
        .into_iter()
        .enumerate()
        .map(|(k, case)| {
            let threads = ["1", "2", "4"][k % 3];
            let what = format!("{} ({threads} threads)", case_name(&case));
            let reads = reads.get(&case_name(&case)).cloned().unwrap_or_default();
            Run::new(what.clone(), move || {
                check_case(&case, &case.join("input"), threads, &what, reads)
            })
        })
        .collect();
    run_all(runs);
}
