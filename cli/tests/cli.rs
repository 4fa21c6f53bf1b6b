//! The command line and the job as a user drives it: flags from the
//! settings table, subcommands, the parameter accumulator, fill values that
//! must be finite, artifacts that are valid JSON, temporary names, exit
//! codes. Regression tests are named after the bug they pin.

mod common;

use std::path::Path;

use common::*;

fn dataset(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = d.path().join("in").join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    d
}

const SMALL: &str = "id,target,x,c\n0,1,1.5,a\n1,0,,b\n2,1,2.5,\n";

/// A dataset whose train, val and test splits are one shard of `text`.
fn everywhere(text: &str) -> tempfile::TempDir {
    dataset(&[
        ("train/part-00000.csv", text),
        ("val/part-00000.csv", text),
        ("test/part-00000.csv", text),
    ])
}

fn small() -> tempfile::TempDir {
    everywhere(SMALL)
}

/// A quiet training run on `d/in` into `d/out`.
fn train(d: &tempfile::TempDir) -> std::path::PathBuf {
    let out = d.path().join("out");
    let mut args = run_args("training", &d.path().join("in"), &out);
    args.push("--quiet".into());
    run_ok(&args, &[]);
    out
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn every_setting_has_a_flag_naming_its_environment_variable() {
    let help = run_ok(&["run", "--help"], &[]);
    for s in shardimpute_core::SETTINGS {
        assert!(
            help.contains(&format!("--{}", s.flag)),
            "--{} missing",
            s.flag
        );
        assert!(help.contains(s.env), "{} missing from --help", s.env);
    }
}

#[test]
fn fit_refuses_splits() {
    let out = shardimpute(&["fit", "--input", "in", "--splits", "val"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn flags_override_environment_variables() {
    let d = small();
    let out = d.path().join("out");
    let mut args = run_args("training", &d.path().join("in"), &out);
    args.extend(
        [
            "--quiet",
            "--label-field",
            "target",
            "--column-strategy",
            "x=median",
        ]
        .map(String::from),
    );
    let env = [("LABEL_FIELD", "nope"), ("DEFAULT_TEXT_STRATEGY", "empty")]
        .map(|(k, v)| (k.to_string(), v.to_string()));
    run_ok(&args, &env);
    let s = json(&out.join("model_artifacts/imputation_summary.json"));
    assert_eq!(s["settings"]["label_field"], "target");
    assert_eq!(s["settings"]["default_text_strategy"], "empty");
    assert_eq!(
        s["settings"]["column_strategies"],
        serde_json::json!([["x", "median"]])
    );
    let dict = json(&out.join("model_artifacts/impute_dict.json"));
    assert_eq!(dict["x"], 2.0); // median of 1.5, 2.5
    assert_eq!(dict["c"], "");
}

#[test]
fn bad_flag_values_are_one_line_errors() {
    let d = small();
    let out = d.path().join("out");
    for (flag, value, needle) in [
        (
            "--auto-detect-categorical",
            "perhaps",
            "expected true or false",
        ),
        ("--column-strategy", "nostrategy", "COL=S"),
        ("--numerical-constant-value", "nan", "finite"),
    ] {
        let mut args = run_args("training", &d.path().join("in"), &out);
        args.extend([flag, value].map(String::from));
        let err = run_err(&args);
        assert!(err.contains(needle), "{flag} {value}: {err}");
        assert!(files_under(&out).is_empty(), "{flag}: output left behind");
    }
}

#[test]
fn training_with_artifacts_in_but_no_impute_dict_carries_the_files() {
    let d = small();
    let art = d.path().join("params");
    std::fs::create_dir_all(&art).unwrap();
    std::fs::write(art.join("feature_params.json"), b"{\"k\": 1}").unwrap();
    let out = d.path().join("out");
    let mut args = run_args("training", &d.path().join("in"), &out);
    args.extend([
        "--quiet".into(),
        "--artifacts-in".into(),
        art.display().to_string(),
    ]);
    run_ok(&args, &[]);
    let carried = std::fs::read(out.join("model_artifacts/feature_params.json")).unwrap();
    assert_eq!(carried, b"{\"k\": 1}");
    assert!(out.join("model_artifacts/impute_dict.pkl").is_file());
}

#[test]
fn fill_records_fill_as_its_job_type() {
    let d = small();
    let out = train(&d);
    let filled = d.path().join("filled");
    let dict = out.join("model_artifacts/impute_dict.pkl");
    run_ok(
        &[
            "fill",
            "--quiet",
            "--input",
            &d.path().join("in").display().to_string(),
            "--output",
            &filled.display().to_string(),
            "--impute-dict",
            &dict.display().to_string(),
        ],
        &[],
    );
    let s = json(&filled.join("model_artifacts/imputation_summary.json"));
    assert_eq!(s["job_type"], "fill");
}

/// `json.loads` that refuses `NaN` / `Infinity` (which Python accepts by
/// default, and which are not JSON); prints `repr` of each value.
const STRICT_JSON: &str = "import json, sys\n\
def bad(c): raise SystemExit('not JSON: ' + c)\n\
d = json.loads(open(sys.argv[1]).read(), parse_constant=bad)\n\
print(' '.join(repr(v) for v in d.values()))\n";

#[test]
fn the_mean_of_huge_values_does_not_overflow() {
    let text = "target,x\n1,1e308\n0,1e308\n1,\n";
    let d = everywhere(text);
    let out = train(&d);
    let got = python(
        STRICT_JSON,
        &[&out
            .join("model_artifacts/impute_dict.json")
            .display()
            .to_string()],
    );
    assert_eq!(got.trim(), "1e+308");
    let filled = std::fs::read_to_string(out.join("train/part-00000.csv")).unwrap();
    assert!(filled.ends_with("1,1e+308\n"), "{filled}");
}

#[test]
fn a_fill_value_that_is_not_finite_is_an_error_naming_the_column() {
    let text = "target,x\n1,inf\n0,-inf\n1,\n";
    let d = everywhere(text);
    let out = d.path().join("out");
    let err = run_err(&run_args("training", &d.path().join("in"), &out));
    for needle in ["column `x`", "finite", "COLUMN_STRATEGY_x=median"] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert_nothing_written(&out);
}

#[test]
fn temporary_names_are_not_predictable_and_symlinks_are_not_followed() {
    let d = small();
    let out = d.path().join("out");
    let victim = d.path().join("victim");
    std::fs::write(&victim, b"keep me").unwrap();
    // the names the first version used for its temporary files
    for planted in [
        "model_artifacts/impute_dict.partial",
        "train/.part-00000.csv.partial",
    ] {
        let p = out.join(planted);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&victim, &p).unwrap();
    }
    // files no run wrote: the output is refused, the links left alone
    let mut args = run_args("training", &d.path().join("in"), &out);
    args.push("--quiet".into());
    let err = run_err(&args);
    assert!(err.contains("no shardimpute run wrote"), "{err}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    // an empty output: the run's own temporary names are fresh each time
    std::fs::remove_dir_all(&out).unwrap();
    run_ok(&args, &[]);
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    // both dict files written in full, each its own
    let got = python(
        STRICT_JSON,
        &[&out
            .join("model_artifacts/impute_dict.json")
            .display()
            .to_string()],
    );
    assert_eq!(got.trim(), "2.0 'a'");
    let pkl = python(
        "import pickle, sys\nprint(pickle.load(open(sys.argv[1], 'rb')))",
        &[&out
            .join("model_artifacts/impute_dict.pkl")
            .display()
            .to_string()],
    );
    assert_eq!(pkl.trim(), "{'x': 2.0, 'c': 'a'}");
}

#[test]
fn a_closed_stdout_is_not_a_failure() {
    let d = small();
    let out = d.path().join("out");
    let args = run_args("training", &d.path().join("in"), &out);
    // the summary line goes to a pipe whose reader has exited
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg("sleep_then() { sleep 0.2; \"$@\"; }; sleep_then \"$0\" \"$@\" | true; exit ${PIPESTATUS[0]}")
        .arg(env!("CARGO_BIN_EXE_shardimpute"))
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(out.join("model_artifacts/impute_dict.pkl").is_file());
}

#[test]
fn the_reports_of_the_reference_step_are_written() {
    let d = small();
    let out = train(&d);
    let r = json(&out.join("model_artifacts/imputation_report.json"));
    for key in [
        "timestamp",
        "missing_value_analysis",
        "validation_report",
        "imputation_summary",
        "quality_metrics",
        "recommendations",
    ] {
        assert!(r.get(key).is_some(), "{key} missing");
    }
    let q = &r["quality_metrics"];
    assert_eq!(q["total_columns_imputed"], 2);
    assert_eq!(q["strategy_distribution"]["mean"], 1);
    assert_eq!(r["missing_value_analysis"]["x"]["missing_count"], 1);
    assert_eq!(r["imputation_summary"]["x"]["cells_filled"]["val"], 1);
    let text = std::fs::read_to_string(out.join("model_artifacts/imputation_summary.txt")).unwrap();
    assert!(text.contains("x: numerical mean, fill value 2.0"), "{text}");
    // a string column also tells its distinct values (what memory grows with)
    assert!(
        text.contains(
            "  c: text mode, fill value a, missing in training 1 (33.33%), 2 distinct values\n"
        ),
        "{text}"
    );
    assert!(
        !text.contains("x: numerical mean, fill value 2.0, missing in training 1 (33.33%),"),
        "{text}"
    );
}

/// Every file under `dir` with its bytes.
#[test]
fn an_output_that_is_inside_or_contains_the_input_is_refused() {
    let d = small();
    let input = d.path().join("in");
    let before = tree(d.path());
    let spellings = [
        (input.clone(), "is the input"),
        (input.join("."), "is the input"),
        (input.join("out"), "is inside"),
        (input.join("train"), "is inside"),
        (d.path().to_path_buf(), "contains"),
    ];
    for (out, how) in spellings {
        let err = run_err(&run_args("training", &input, &out));
        assert!(
            err.contains("refusing to write"),
            "{}: {err}",
            out.display()
        );
        let how = if how == "is the input" {
            " is the input"
        } else {
            how
        };
        assert!(err.contains(how.trim_start()), "{}: {err}", out.display());
        assert_eq!(tree(d.path()), before, "{}: files changed", out.display());
    }
}

#[test]
fn artifacts_in_that_is_the_outputs_artifacts_folder_is_refused() {
    let d = small();
    let out = train(&d);
    let before = tree(&out);
    // the same folder by a relative spelling
    let mut again = run_args("validation", &d.path().join("in"), &out);
    let relative = out.join("model_artifacts/../model_artifacts");
    again.extend(["--artifacts-in".into(), relative.display().to_string()]);
    let err = run_err(&again);
    assert!(err.contains("is the output's artifacts folder"), "{err}");
    assert_eq!(tree(&out), before, "the artifacts changed");
}

#[test]
fn a_very_wide_table_is_filled() {
    // 20,000 columns: the header, the dict and the plan are looked up by
    // hash, not by scanning every column for every column
    let n = 20_000;
    let header: Vec<String> = std::iter::once("target".to_string())
        .chain((0..n).map(|i| format!("c{i}")))
        .collect();
    let full: Vec<String> = std::iter::once("1".to_string())
        .chain((0..n).map(|i| i.to_string()))
        .collect();
    let gaps: Vec<String> = std::iter::once("0".to_string())
        .chain((0..n).map(|_| String::new()))
        .collect();
    let text = format!(
        "{}\n{}\n{}\n",
        header.join(","),
        full.join(","),
        gaps.join(",")
    );
    let d = dataset(&[
        ("train/part-00000.csv", &text),
        ("val/part-00000.csv", &text),
        ("test/part-00000.csv", &text),
    ]);
    let out = train(&d);
    let filled = std::fs::read_to_string(out.join("val/part-00000.csv")).unwrap();
    let last = filled.lines().nth(2).unwrap();
    assert_eq!(
        last,
        format!(
            "0,{}",
            full[1..]
                .iter()
                .map(|v| format!("{v}.0"))
                .collect::<Vec<_>>()
                .join(",")
        )
    );
}

#[test]
fn ctrl_c_stops_the_run_and_leaves_nothing_behind() {
    // enough shards that pass 2 is still running when the signal comes
    let mut text = String::from("target,x,c\n");
    for i in 0..3000 {
        text.push_str(&format!(
            "{},{},{}\n",
            i % 2,
            if i % 7 == 0 {
                String::new()
            } else {
                i.to_string()
            },
            i % 13
        ));
    }
    let d = tempfile::tempdir().unwrap();
    for (split, n) in [("train", 150), ("val", 100), ("test", 100)] {
        let dir = d.path().join("in").join(split);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..n {
            std::fs::write(dir.join(format!("part-{i:05}.csv")), &text).unwrap();
        }
    }
    let out = d.path().join("out");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shardimpute"))
        .args(run_args("training", &d.path().join("in"), &out))
        .args(["--threads", "1", "--quiet"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // wait for pass 2's first temporary file, then interrupt
    let started = std::time::Instant::now();
    while files_under(&out).is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before the signal"
        );
        assert!(started.elapsed().as_secs() < 60, "pass 2 never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: sends SIGINT to the child we started
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("cancelled"), "{stderr}");
    assert_nothing_written(&out);
    // and a rerun succeeds
    let out = train(&d);
    assert_eq!(files_under(&out.join("val")).len(), 100);
}

#[test]
fn artifacts_that_cannot_be_written_leave_no_shards() {
    let d = small();
    let out = d.path().join("out");
    let mut args = run_args("training", &d.path().join("in"), &out);
    args.extend(["--artifacts-out".into(), "/dev/null/arts".into()]);
    let err = run_err(&args);
    assert!(err.contains("/dev/null/arts"), "{err}");
    assert_nothing_written(&out);
    // an earlier complete output stays as it was
    let out = train(&d);
    let before = tree(&out);
    let mut again = run_args("training", &d.path().join("in"), &out);
    again.extend(["--artifacts-out".into(), "/dev/null/arts".into()]);
    run_err(&again);
    assert_eq!(tree(&out), before);
}

#[test]
fn symlinked_shards_are_read_like_files() {
    // as DVC or git-annex keep them: links to files stored elsewhere in the
    // dataset folder
    let plain = dataset(&[
        ("train/part-00000.csv", SMALL),
        ("train/part-00001.csv", "id,target,x,c\n7,1,,c\n8,0,9.5,c\n"),
        ("val/part-00000.csv", SMALL),
        ("test/part-00000.csv", SMALL),
    ]);
    let want = train(&plain);
    let linked = tempfile::tempdir().unwrap();
    let input = linked.path().join("in");
    let store = input.join(".store");
    std::fs::create_dir_all(&store).unwrap();
    for split in ["train", "val", "test"] {
        std::fs::create_dir_all(input.join(split)).unwrap();
    }
    for rel in [
        "train/part-00000.csv",
        "train/part-00001.csv",
        "val/part-00000.csv",
        "test/part-00000.csv",
    ] {
        let blob = store.join(rel.replace('/', "_"));
        std::fs::copy(plain.path().join("in").join(rel), &blob).unwrap();
        std::os::unix::fs::symlink(&blob, input.join(rel)).unwrap();
    }
    let got = train(&linked);
    for rel in [
        "train/part-00000.csv",
        "train/part-00001.csv",
        "val/part-00000.csv",
        "model_artifacts/impute_dict.pkl",
    ] {
        assert_eq!(
            std::fs::read(got.join(rel)).unwrap(),
            std::fs::read(want.join(rel)).unwrap(),
            "{rel}"
        );
    }
}

#[test]
fn symlinks_leaving_the_input_or_artifacts_folder_are_refused() {
    let d = small();
    let outside = d.path().join("secret.csv");
    std::fs::write(&outside, SMALL).unwrap();
    let link = d.path().join("in/train/part-00001.csv");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let out = d.path().join("out");
    let err = run_err(&run_args("training", &d.path().join("in"), &out));
    assert!(
        err.contains("train/part-00001.csv") && err.contains("outside the input folder"),
        "{err}"
    );
    assert_nothing_written(&out);
    std::fs::remove_file(&link).unwrap();
    // an artifacts folder holding a link to a file outside it
    let arts = d.path().join("arts");
    std::fs::create_dir_all(&arts).unwrap();
    std::os::unix::fs::symlink(&outside, arts.join("params.txt")).unwrap();
    let mut args = run_args("training", &d.path().join("in"), &out);
    args.extend(["--artifacts-in".into(), arts.display().to_string()]);
    let err = run_err(&args);
    assert!(
        err.contains("params.txt") && err.contains("outside the artifacts folder"),
        "{err}"
    );
    assert_nothing_written(&out);
}

#[test]
fn a_bad_job_type_is_a_command_line_error() {
    let d = small();
    let args = run_args("predicting", &d.path().join("in"), &d.path().join("out"));
    let out = shardimpute(&args, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("training"));
    // the job type is not case-sensitive
    let args = run_args("Training", &d.path().join("in"), &d.path().join("out"));
    assert_eq!(shardimpute(&args, &[]).status.code(), Some(0));
}

#[test]
fn header_only_training_shards_are_warned_about() {
    let d = dataset(&[
        ("train/part-00000.csv", "target,x\n"),
        ("val/part-00000.csv", SMALL),
        ("test/part-00000.csv", SMALL),
    ]);
    let out = shardimpute(
        &run_args("training", &d.path().join("in"), &d.path().join("out")),
        &[],
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the training split has no rows"),
        "{stderr}"
    );
}

#[test]
fn a_quote_inside_an_unquoted_field_is_text() {
    // pandas reads `5" inch` as text; rows in = rows out must agree
    let text = "target,size,x\n1,5\" inch,1.5\n0,6\" inch,\n1,,2.5\n";
    let d = everywhere(text);
    let out = train(&d);
    let got = std::fs::read_to_string(out.join("val/part-00000.csv")).unwrap();
    assert_eq!(
        got,
        "target,size,x\n1,5\" inch,1.5\n0,6\" inch,2.0\n1,\"5\"\" inch\",2.5\n"
    );
}

#[test]
fn a_huge_thread_count_is_capped_not_a_crash() {
    let d = small();
    let out = d.path().join("out");
    let mut args = run_args("training", &d.path().join("in"), &out);
    args.extend(["--threads", "100000", "--quiet"].map(String::from));
    let done = shardimpute(&args, &[]);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    let cores = std::thread::available_parallelism().unwrap().get();
    assert!(
        stderr.contains(&format!("more than 8 per core; using {}", 8 * cores)),
        "{stderr}"
    );
    assert!(out.join("_SUCCESS").exists());
}
