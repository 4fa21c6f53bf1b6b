//! Conformance: every case in the conformance fixtures (`tests/fixtures/`), run by the built CLI,
//! gives the expected fill values (to the bit), the expected pickle (as
//! Python's `pickle.load` sees it) and the expected cells in every output
//! shard. Each CSV case also runs as TSV and as gzip, on 1 and 4 threads.

mod common;

use std::io::Write;
use std::path::Path;

use common::*;

fn cases() -> Vec<std::path::PathBuf> {
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

/// Copies a CSV dataset, converting each shard: `tsv` or `csv.gz`.
fn convert(input: &Path, out: &Path, to: &str) {
    for split in std::fs::read_dir(input).unwrap() {
        let split = split.unwrap().path();
        let dest = out.join(split.file_name().unwrap());
        std::fs::create_dir_all(&dest).unwrap();
        for shard in std::fs::read_dir(&split).unwrap() {
            let shard = shard.unwrap().path();
            let stem = shard.file_stem().unwrap().to_string_lossy().to_string();
            let data = std::fs::read(&shard).unwrap();
            match to {
                "tsv" => {
                    let t = read_csv(&data, b',');
                    let mut text = Vec::new();
                    let mut row = |cells: Vec<String>| {
                        for (i, c) in cells.iter().enumerate() {
                            if i > 0 {
                                text.push(b'\t');
                            }
                            shardimpute_core::csv::write_field(&mut text, c.as_bytes(), b'\t');
                        }
                        text.push(b'\n');
                    };
                    row(t.header.clone());
                    for r in t.rows {
                        row(r.into_iter().map(|c| c.unwrap_or_default()).collect());
                    }
                    std::fs::write(dest.join(format!("{stem}.tsv")), text).unwrap();
                }
                "csv.gz" => {
                    let f = std::fs::File::create(dest.join(format!("{stem}.csv.gz"))).unwrap();
                    let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::default());
                    enc.write_all(&data).unwrap();
                    enc.finish().unwrap();
                }
                other => panic!("unknown format {other}"),
            }
        }
    }
}

fn check_case(case: &Path, input: &Path, threads: &str, what: &str) {
    let job = std::fs::read_to_string(case.join("job_type.txt"))
        .unwrap()
        .trim()
        .to_string();
    let env = read_env(&case.join("env.txt"));
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

    // every cell of every split
    let mut compared = 0;
    for e in std::fs::read_dir(&expected).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Some(split) = name.strip_suffix(".csv") else {
            continue;
        };
        let want = read_csv(&std::fs::read(&p).unwrap(), b',');
        let got = concat(
            split_shards(&out.join(split))
                .iter()
                .map(|s| read_shard(s))
                .collect(),
        );
        assert_tables_match(&got, &want, &format!("{what}: split {split}"));
        compared += 1;
    }
    assert!(compared >= 1, "{what}: no expected split compared");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(artifacts.join("imputation_summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        summary["rows_in_equals_rows_out"],
        serde_json::Value::Bool(true),
        "{what}"
    );
}

#[test]
fn fixtures_as_given() {
    for case in cases() {
        let what = case.file_name().unwrap().to_string_lossy().to_string();
        check_case(&case, &case.join("input"), "4", &what);
    }
}

#[test]
fn fixtures_on_one_thread() {
    for case in cases() {
        let what = format!("{} (1 thread)", case.file_name().unwrap().to_string_lossy());
        check_case(&case, &case.join("input"), "1", &what);
    }
}

#[test]
fn csv_fixtures_as_tsv_and_gzip() {
    for case in cases() {
        let input = case.join("input");
        let first_split = std::fs::read_dir(&input)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let is_csv = std::fs::read_dir(first_split)
            .unwrap()
            .any(|e| e.unwrap().path().extension().is_some_and(|x| x == "csv"));
        if !is_csv {
            continue;
        }
        for to in ["tsv", "csv.gz"] {
            let tmp = tempfile::tempdir().unwrap();
            convert(&input, tmp.path(), to);
            let what = format!("{} as {to}", case.file_name().unwrap().to_string_lossy());
            check_case(&case, tmp.path(), "2", &what);
        }
    }
}
