//! Publishing an output (SPEC 7a): `_SUCCESS` last, a manifest of what
//! was written, earlier runs replaced only with `--overwrite` and only by
//! their manifest, one run per output at a time, and nothing that looks
//! complete after a kill or a full disk, checked against the file system
//! itself.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const MANIFEST: &str = "_shardimpute_manifest.json";
const SUCCESS: &str = "_SUCCESS";

/// A dataset of `n` train shards and `n / 3 + 1` val and test shards of
/// `rows` rows each, under `root/in`.
fn dataset(root: &Path, n: usize, rows: usize) -> PathBuf {
    let mut text = String::from("id,target,x,c\n");
    for i in 0..rows {
        let x = if i % 7 == 0 {
            String::new()
        } else {
            format!("{}.5", i % 100)
        };
        let c = if i % 5 == 0 {
            ""
        } else {
            ["a", "b", "c"][i % 3]
        };
        text.push_str(&format!("{i},{},{x},{c}\n", i % 2));
    }
    let input = root.join("in");
    for (split, count) in [("train", n), ("val", n / 3 + 1), ("test", n / 3 + 1)] {
        let dir = input.join(split);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..count {
            std::fs::write(dir.join(format!("part-{i:05}.csv")), &text).unwrap();
        }
    }
    input
}

/// The manifest's `(path, bytes)` entries.
fn manifest(out: &Path) -> BTreeMap<String, u64> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(MANIFEST)).unwrap()).unwrap();
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["bytes"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Asserts `out` is a complete output: `_SUCCESS`, and a manifest listing
/// exactly the other files with their real sizes.
fn assert_complete(out: &Path) {
    let files = tree(out);
    assert!(
        files.contains_key(SUCCESS),
        "no {SUCCESS}: {:?}",
        files.keys()
    );
    let on_disk: BTreeMap<String, u64> = files
        .iter()
        .filter(|(k, _)| *k != MANIFEST && *k != SUCCESS)
        .map(|(k, v)| (k.clone(), v.len() as u64))
        .collect();
    assert_eq!(manifest(out), on_disk);
}

/// Asserts `out` cannot be taken for complete: no `_SUCCESS`, and every
/// file there is either a hidden temporary file or listed by a manifest
/// (which the next run removes).
fn assert_not_complete(out: &Path) {
    let files = tree(out);
    assert!(!files.contains_key(SUCCESS), "{:?}", files.keys());
    let listed = if files.contains_key(MANIFEST) {
        manifest(out)
    } else {
        BTreeMap::new()
    };
    for f in files.keys() {
        let name = f.rsplit('/').next().unwrap();
        assert!(
            f == MANIFEST
                || listed.contains_key(f)
                || name.starts_with('.') && name.ends_with(".partial"),
            "left unmarked: {f}"
        );
    }
}

/// The files that must be the same in every run of the same job (the
/// report and summaries carry the time).
fn stable(files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    files
        .into_iter()
        .filter(|(k, _)| k.ends_with(".csv") || k.contains("impute_dict"))
        .collect()
}

fn args(input: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut a = run_args("training", input, out);
    a.push("--quiet".into());
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

#[test]
fn a_complete_output_is_replaced_only_with_overwrite_and_only_by_its_manifest() {
    let d = tempfile::tempdir().unwrap();
    let input = dataset(d.path(), 3, 20);
    let out = d.path().join("out");
    run_ok(&args(&input, &out, &[]), &[]);
    assert_complete(&out);
    assert!(tree(&out).contains_key("train/part-00002.csv"));

    // a rerun into it is refused and changes nothing
    let before = tree(&out);
    std::fs::remove_file(input.join("train/part-00002.csv")).unwrap();
    let err = run_err(&args(&input, &out, &[]));
    assert!(err.contains("--overwrite"), "{err}");
    assert_eq!(tree(&out), before);

    // --overwrite: the earlier run's shard that this run does not write is gone
    run_ok(&args(&input, &out, &["--overwrite"]), &[]);
    assert_complete(&out);
    assert!(!tree(&out).contains_key("train/part-00002.csv"));

    // a file no run wrote is never removed, even with --overwrite
    std::fs::write(out.join("train/notes.txt"), b"mine").unwrap();
    let err = run_err(&args(&input, &out, &["--overwrite"]));
    assert!(err.contains("train/notes.txt"), "{err}");
    assert_eq!(std::fs::read(out.join("train/notes.txt")).unwrap(), b"mine");
    assert!(tree(&out).contains_key(SUCCESS));
}

#[test]
fn an_existing_folder_of_other_files_is_refused_before_anything_is_written() {
    let d = tempfile::tempdir().unwrap();
    let input = dataset(d.path(), 2, 5);
    let out = d.path().join("out");
    std::fs::create_dir_all(out.join("val")).unwrap();
    std::fs::write(out.join("val/part-00099.csv"), b"old\n").unwrap();
    let err = run_err(&args(&input, &out, &["--overwrite"]));
    assert!(err.contains("no shardimpute run wrote"), "{err}");
    assert_eq!(tree(&out).len(), 1);
}

#[test]
fn a_second_run_into_a_held_output_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let input = dataset(d.path(), 2, 5);
    let out = d.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // hold the folder's lock as a running run does
    let held = std::fs::File::open(&out).unwrap();
    held.lock().unwrap();
    let err = run_err(&args(&input, &out, &[]));
    assert!(err.contains("another shardimpute run"), "{err}");
    assert!(tree(&out).is_empty());
    drop(held);
    run_ok(&args(&input, &out, &[]), &[]);
    assert_complete(&out);
}

#[test]
fn two_runs_at_once_give_one_complete_output() {
    let d = tempfile::tempdir().unwrap();
    let input = dataset(&d.path().join("a"), 30, 2000);
    let other_input = dataset(&d.path().join("b"), 30, 2000);
    std::fs::remove_file(other_input.join("val/part-00000.csv")).unwrap();
    let out = d.path().join("out");
    let spawn = |input: &Path| {
        Command::new(env!("CARGO_BIN_EXE_shardimpute"))
            .args(args(input, &out, &[]))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(&input), spawn(&other_input));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let ok: Vec<bool> = [&a, &b].iter().map(|o| o.status.success()).collect();
    assert_eq!(ok.iter().filter(|s| **s).count(), 1, "{a:?} {b:?}");
    let loser = if ok[0] { &b } else { &a };
    let err = String::from_utf8_lossy(&loser.stderr);
    assert!(
        err.contains("another shardimpute run") || err.contains("--overwrite"),
        "{err}"
    );
    assert_complete(&out);
    // the shards and the summary are of the same run
    let val_shards = tree(&out).keys().filter(|k| k.starts_with("val/")).count();
    assert_eq!(val_shards, if ok[0] { 11 } else { 10 });
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("model_artifacts/imputation_summary.json")).unwrap(),
    )
    .unwrap();
    let listed = summary.to_string().matches("\"split\":\"val\"").count();
    assert_eq!(listed, val_shards, "{summary}");
}

/// A small generator of kill times, the same every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

#[test]
fn killed_or_interrupted_runs_leave_nothing_complete_and_a_rerun_succeeds() {
    let d = tempfile::tempdir().unwrap();
    let input = dataset(d.path(), 24, 3000);
    let reference = d.path().join("reference");
    let started = Instant::now();
    run_ok(&args(&input, &reference, &[]), &[]);
    let whole = started.elapsed().as_millis() as u64;
    let want = stable(tree(&reference));
    let out = d.path().join("out");
    let mut rng = Lcg(11);
    let (mut killed, mut finished, mut interrupted) = (0, 0, 0);
    for round in 0..12 {
        let complete = tree(&out).contains_key(SUCCESS);
        let extra: &[&str] = if complete { &["--overwrite"] } else { &[] };
        let mut child = Command::new(env!("CARGO_BIN_EXE_shardimpute"))
            .args(args(&input, &out, extra))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(whole)));
        // every other round Ctrl-C (SIGINT), else SIGKILL
        let interrupt = round % 2 == 1;
        if interrupt {
            // SAFETY: sends SIGINT to the child we started
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGINT);
            }
        } else {
            child.kill().unwrap();
        }
        let status = child.wait().unwrap();
        if interrupt && status.code() == Some(130) {
            interrupted += 1;
            // an interrupted run removes what it wrote
            let left = tree(&out);
            assert!(left.is_empty(), "left after Ctrl-C: {:?}", left.keys());
        }
        // a kill after `_SUCCESS` (while exiting) leaves a complete output
        if tree(&out).contains_key(SUCCESS) {
            assert_complete(&out);
            assert_eq!(stable(tree(&out)), want);
        } else {
            assert_not_complete(&out);
        }
        if status.success() {
            finished += 1;
        } else {
            killed += 1;
        }
    }
    assert!(killed >= 4, "only {killed} of 12 runs were stopped mid-run");
    eprintln!(
        "{killed} runs stopped ({interrupted} by Ctrl-C, exit 130), {finished} finished first"
    );
    // the next run cleans up after the killed one, without --overwrite
    let extra: &[&str] = if tree(&out).contains_key(SUCCESS) {
        &["--overwrite"]
    } else {
        &[]
    };
    run_ok(&args(&input, &out, extra), &[]);
    assert_complete(&out);
    assert_eq!(stable(tree(&out)), want);
}

/// Runs `script` as root of a new user and mount namespace (so it may
/// mount a tmpfs, which goes with the namespace), with `$BIN` set.
fn in_namespace(script: &str) -> String {
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "bash", "-c", script])
        .env("BIN", env!("CARGO_BIN_EXE_shardimpute"))
        .output()
        .expect("unshare (util-linux) runs");
    assert!(
        out.status.success(),
        "the full-disk test needs a mount namespace (unshare --user --mount): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_full_disk_leaves_nothing_complete_and_a_rerun_succeeds() {
    let d = tempfile::tempdir().unwrap();
    let input = dataset(d.path(), 4, 400);
    let reference = d.path().join("reference");
    run_ok(&args(&input, &reference, &[]), &[]);
    // tmpfs counts whole pages
    let total: usize = tree(&reference)
        .values()
        .map(|v| v.len().div_ceil(4096) * 4096)
        .sum();
    let want = stable(tree(&reference));
    let disk = d.path().join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let big = total / 1024 * 4 + 256;
    let (mut failed, mut fitted) = (0, 0);
    // the disk fills at a different point of the run each time
    for kb in (8..total / 1024 + 64).step_by((total / 1024 / 10).max(4)) {
        let script = format!(
            r#"set -u
mount -t tmpfs -o size={kb}k tmpfs "{disk}"
"$BIN" run --job-type training --input "{input}" --output "{disk}/out" --quiet 2>"{disk}.err"
code=$?
echo "exit $code"
cp -r "{disk}/out" "{disk}.after" 2>/dev/null || mkdir -p "{disk}.after"
mount -o remount,size={big}k "{disk}"
# after a failure the rerun needs nothing more; after a success, --overwrite
ow=""; [ $code -eq 0 ] && ow=--overwrite
"$BIN" run --job-type training --input "{input}" --output "{disk}/out" --quiet $ow
echo "rerun $?"
cp -r "{disk}/out" "{disk}.rerun"
"#,
            disk = disk.display(),
            input = input.display(),
        );
        for p in ["after", "rerun"] {
            let _ = std::fs::remove_dir_all(format!("{}.{p}", disk.display()));
        }
        let said = in_namespace(&script);
        let after = PathBuf::from(format!("{}.after", disk.display()));
        let rerun = PathBuf::from(format!("{}.rerun", disk.display()));
        let err = std::fs::read_to_string(format!("{}.err", disk.display())).unwrap();
        if said.contains("exit 0") {
            fitted += 1;
            assert_complete(&after);
        } else {
            failed += 1;
            assert!(said.contains("exit 1"), "{kb} KB: {said} {err}");
            assert!(err.contains("No space left on device"), "{kb} KB: {err}");
            assert!(err.contains("/out/"), "the error names no file: {err}");
            // the failed run removed everything it wrote
            assert_eq!(
                tree(&after).len(),
                0,
                "{kb} KB: left {:?}",
                tree(&after).keys()
            );
        }
        assert!(said.contains("rerun 0"), "{kb} KB: {said}");
        assert_complete(&rerun);
        assert_eq!(stable(tree(&rerun)), want, "{kb} KB");
    }
    assert!(
        failed >= 3 && fitted >= 1,
        "{failed} failed, {fitted} fitted"
    );
}

#[test]
fn a_full_disk_while_replacing_an_output_leaves_no_earlier_artifacts_beside_new_shards() {
    let d = tempfile::tempdir().unwrap();
    let small = dataset(&d.path().join("small"), 2, 100);
    let large = dataset(&d.path().join("large"), 12, 2000);
    let disk = d.path().join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let script = format!(
        r#"set -u
mount -t tmpfs -o size=200k tmpfs "{disk}"
DEFAULT_NUMERICAL_STRATEGY=median "$BIN" run --job-type training --input "{small}" --output "{disk}/out" --quiet
echo "first $?"
"$BIN" run --job-type training --input "{large}" --output "{disk}/out" --quiet --overwrite 2>"{disk}.err"
echo "second $?"
cp -r "{disk}/out" "{disk}.after" 2>/dev/null || mkdir -p "{disk}.after"
"#,
        disk = disk.display(),
        small = small.display(),
        large = large.display(),
    );
    let said = in_namespace(&script);
    assert!(said.contains("first 0"), "{said}");
    assert!(said.contains("second 1"), "{said}");
    let err = std::fs::read_to_string(format!("{}.err", disk.display())).unwrap();
    assert!(err.contains("No space left on device"), "{err}");
    let after = tree(&PathBuf::from(format!("{}.after", disk.display())));
    assert!(after.is_empty(), "left: {:?}", after.keys());
}

#[test]
fn files_the_run_reads_may_not_lie_in_a_folder_it_writes() {
    let d = tempfile::tempdir().unwrap();
    let input = dataset(d.path(), 2, 5);
    let out = d.path().join("out");
    run_ok(&args(&input, &out, &[]), &[]);
    let before = tree(&out);
    let arts = out.join("model_artifacts");
    let mut a = run_args("validation", &input, &out);
    a.extend(
        [
            "--artifacts-in",
            &arts.display().to_string(),
            "--artifacts-out",
            &d.path().join("arts2").display().to_string(),
            "--overwrite",
            "--splits",
            "val",
        ]
        .map(String::from),
    );
    let err = run_err(&a);
    assert!(err.contains("lies inside"), "{err}");
    assert_eq!(tree(&out), before);
}
