//! The job API as a front end drives it, over bytes in memory: one call or
//! batches of any size give the same bits; steps out of order, cancel and
//! the artifacts rules are errors with a kind, not panics.

mod common;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

use common::{new_job, source};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shardimpute_core::{
    Control, Job, JobKind, JobType, MemorySink, MemorySource, Pass, Settings, Sink, Source,
};

/// A random CSV dataset: `train` shards (and one `val`, one `test`).
fn dataset(seed: u64, train: usize) -> Vec<(String, Vec<u8>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut files = Vec::new();
    let splits = (0..train)
        .map(|i| ("train", i))
        .chain([("val", 0), ("test", 0)]);
    for (split, i) in splits {
        let mut text = String::from("target,x,c,t\n");
        for _ in 0..rng.random_range(0..40) {
            let x = if rng.random_bool(0.2) {
                String::new()
            } else {
                format!("{}", rng.random_range(-1e6..1e6f64))
            };
            let c = ["a", "b", "c", "NA", ""][rng.random_range(0..5)];
            let t = if rng.random_bool(0.3) {
                String::new()
            } else {
                format!("w{}", rng.random_range(0..1000))
            };
            text.push_str(&format!("{},{x},{c},{t}\n", rng.random_range(0..2)));
        }
        files.push((format!("{split}/part-{i:05}.csv"), text.into_bytes()));
    }
    files
}

/// Every output and artifact of a whole job, fitted in random batches.
fn run_in_batches(
    files: &[(String, Vec<u8>)],
    rng: &mut StdRng,
) -> (String, HashMap<String, Vec<u8>>) {
    let mut job = new_job(files, Settings::default());
    let src = source(files);
    let mut shards = job.begin(Pass::Fit).unwrap();
    // any order, any batch sizes
    for i in (1..shards.len()).rev() {
        shards.swap(i, rng.random_range(0..=i));
    }
    while !shards.is_empty() {
        let n = rng.random_range(1..=shards.len());
        let batch: Vec<_> = shards.drain(..n).collect();
        job.fit_shards(&batch, &src, Control::default()).unwrap();
    }
    job.finish_fit().unwrap();
    let sink = MemorySink::default();
    // a MemorySource hands each file out once: pass 2 reads them again
    job.fill(&source(files), &sink, Control::default()).unwrap();
    let mut out = HashMap::new();
    for s in job.shards(Pass::Fill) {
        out.insert(s.path(), sink.take(&s.path()).unwrap());
    }
    let dict = job.artifacts("t").unwrap();
    let json = String::from_utf8(dict[1].1.clone()).unwrap();
    (json, out)
}

#[test]
fn batches_in_any_order_give_the_same_bits_as_one_call() {
    let mut rng = StdRng::seed_from_u64(5);
    for seed in 0..12 {
        let files = dataset(seed, 1 + seed as usize % 9);
        let mut whole = new_job(&files, Settings::default());
        let src = source(&files);
        whole.fit(&src, Control::default()).unwrap();
        let want = String::from_utf8(whole.artifacts("t").unwrap()[1].1.clone()).unwrap();
        for _ in 0..4 {
            let (got, outputs) = run_in_batches(&files, &mut rng);
            assert_eq!(got, want, "seed {seed}");
            assert_eq!(outputs.len(), whole.shards(Pass::Fill).len());
        }
    }
}

#[test]
fn pass_2_fills_the_text_it_reads_even_when_it_changed_after_pass_1() {
    // pass 1 keeps where a CSV text's missing cells are, so pass 2 need
    // not read its records again; a text that changed in between (here:
    // same length, the missing cells moved) must be read again
    for seed in 0..8 {
        let files = dataset(100 + seed, 3);
        let mut job = new_job(&files, Settings::default());
        job.keep_cells_in_memory(1 << 20).unwrap();
        job.fit(&source(&files), Control::default()).unwrap();
        assert!(job.kept_cells_bytes() > 0, "seed {seed}: no cells kept");
        let changed: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(p, b)| {
                let mut b = b.clone();
                if p == "train/part-00001.csv" {
                    // the rows in reverse order: same length, the missing
                    // cells elsewhere
                    let body = b.iter().position(|&c| c == b'\n').unwrap() + 1;
                    let rows: Vec<Vec<u8>> = b[body..]
                        .split_inclusive(|&c| c == b'\n')
                        .rev()
                        .map(<[u8]>::to_vec)
                        .collect();
                    b.truncate(body);
                    b.extend(rows.concat());
                }
                (p.clone(), b)
            })
            .collect();
        let sink = MemorySink::default();
        job.fill(&source(&changed), &sink, Control::default())
            .unwrap();
        let dict = job.fill_values().unwrap().clone();
        let mut moved = 0;
        for shard in job.shards(Pass::Fill) {
            let (path, bytes) = changed.iter().find(|(p, _)| *p == shard.path()).unwrap();
            // what pass 2 gives the text when it reads all of it
            let (want, _) =
                shardimpute_core::fill_shard(&shard, bytes.clone(), &dict, &Settings::default())
                    .unwrap();
            assert_eq!(sink.take(path).unwrap(), want, "seed {seed}: {path}");
            let before = &files.iter().find(|(p, _)| p == path).unwrap().1;
            moved += usize::from(before != bytes);
        }
        assert_eq!(moved, 1, "seed {seed}: one shard changed");
        // pass 2 again with an edited fill value, over the texts pass 1
        // read (the kept cells serve every pass 2 until the next pass 1)
        job.set_fill_value("x", "2.5").unwrap();
        let dict = job.fill_values().unwrap().clone();
        let sink = MemorySink::default();
        job.fill(&source(&files), &sink, Control::default())
            .unwrap();
        for (path, bytes) in &files {
            let shard = job
                .shards(Pass::Fill)
                .into_iter()
                .find(|s| s.path() == *path)
                .unwrap();
            let (want, _) =
                shardimpute_core::fill_shard(&shard, bytes.clone(), &dict, &Settings::default())
                    .unwrap();
            let got = sink.take(path).unwrap();
            assert_eq!(got, want, "seed {seed}: {path} after the edit");
        }
    }
}

#[test]
fn mostly_different_texts_get_the_exact_mode_on_any_threads() {
    // each shard: 1,500 texts seen nowhere else (so the shard adds the rest
    // of its texts pending), then repeats: within the shard, across
    // shards, and of texts an earlier shard saw before switching
    let mut rng = StdRng::seed_from_u64(11);
    let mut files = Vec::new();
    let mut want: HashMap<String, u64> = HashMap::new();
    for s in 0..5 {
        let mut text = String::from("target,t\n");
        for r in 0..3000 {
            let t = if r < 1500 {
                format!("u{s}-{r:04}")
            } else {
                match rng.random_range(0..4) {
                    0 => format!("r{}", rng.random_range(0..60)),
                    1 => format!(
                        "u{}-{:04}",
                        rng.random_range(0..5),
                        rng.random_range(0..1500)
                    ),
                    2 => String::new(),
                    _ => format!("v{s}-{r}"),
                }
            };
            if !t.is_empty() {
                *want.entry(t.clone()).or_default() += 1;
            }
            text.push_str(&format!("{},{t}\n", r % 2));
        }
        files.push((format!("train/part-{s:05}.csv"), text.into_bytes()));
    }
    for split in ["val", "test"] {
        files.push((
            format!("{split}/part-00000.csv"),
            b"target,t\n0,\n1,x\n".to_vec(),
        ));
    }
    let top = want.values().max().copied().unwrap();
    let mode = want
        .iter()
        .filter(|(_, &n)| n == top)
        .map(|(k, _)| k)
        .min()
        .unwrap();
    for threads in [1, 2, 3] {
        let mut job = new_job(&files, Settings::default());
        common::pool(threads)
            .install(|| job.fit(&source(&files), Control::default()))
            .unwrap();
        let fill = job.fill_values().unwrap().get("t").cloned();
        assert_eq!(
            fill,
            Some(shardimpute_core::FillValue::Text(mode.clone())),
            "{threads} threads"
        );
    }
}

#[test]
fn steps_out_of_order_are_state_errors() {
    let files = dataset(1, 3);
    let src = source(&files);
    let mut job = new_job(&files, Settings::default());
    let kind = |r: shardimpute_core::Result<()>| r.unwrap_err().kind().name();
    let sink = MemorySink::default();
    assert_eq!(kind(job.begin(Pass::Fill).map(|_| ())), "state"); // no fill values yet
    assert_eq!(kind(job.set_fill_value("x", "1")), "state");
    let shards = job.begin(Pass::Fit).unwrap();
    assert_eq!(kind(job.begin(Pass::Fit).map(|_| ())), "state"); // already running
    assert_eq!(
        kind(job.fill_shards(&shards, &src, &sink, Control::default())),
        "state"
    );
    assert_eq!(kind(job.artifacts("t").map(|_| ())), "state");
    job.abort();
    job.fit(&source(&files), Control::default()).unwrap();
    assert_eq!(
        kind(job.load_fill_values("impute_dict.json", b"{}")),
        "state"
    );
    assert_eq!(kind(job.set_fill_value("x", "not a number")), "fill_value");
    assert_eq!(kind(job.set_fill_value("x", "inf")), "fill_value");
    job.set_fill_value("x", "7.5").unwrap();
    job.fill(&source(&files), &sink, Control::default())
        .unwrap();
    let json = String::from_utf8(job.artifacts("t").unwrap()[1].1.clone()).unwrap();
    assert!(json.contains("\"x\": 7.5"), "{json}");
}

#[test]
fn cancel_stops_a_pass_and_the_job_can_run_again() {
    let files = dataset(2, 6);
    let mut job = new_job(&files, Settings::default());
    let cancel = AtomicBool::new(true);
    let ctl = Control {
        cancel: Some(&cancel),
        progress: None,
    };
    let e = job.fit(&source(&files), ctl).unwrap_err();
    assert_eq!(e.kind().name(), "cancelled");
    assert!(job.plan().is_none());
    job.fit(&source(&files), Control::default()).unwrap();
    assert_eq!(job.progress().shards_done, 6);
}

/// A source that fails on one shard, and a sink that fails on one write.
struct Failing<'a> {
    inner: &'a MemorySource,
    sink: &'a MemorySink,
    bad: &'a str,
}

impl Source for Failing<'_> {
    fn read(&self, shard: &shardimpute_core::Shard) -> shardimpute_core::Result<Vec<u8>> {
        if shard.path() == self.bad {
            return Err(shardimpute_core::Error::io(
                shard.path(),
                "read",
                &std::io::Error::other("disk gone"),
            ));
        }
        self.inner.read(shard)
    }
}

impl Sink for Failing<'_> {
    fn write(
        &self,
        shard: &shardimpute_core::Shard,
        bytes: Vec<u8>,
    ) -> shardimpute_core::Result<()> {
        if shard.path() == self.bad {
            return Err(shardimpute_core::Error::io(
                shard.path(),
                "write",
                &std::io::Error::other("no space left"),
            ));
        }
        self.sink.write(shard, bytes)
    }
}

#[test]
fn a_failing_read_or_write_is_an_error_naming_the_shard() {
    let files = dataset(3, 4);
    let src = source(&files);
    let sink = MemorySink::default();
    let failing = Failing {
        inner: &src,
        sink: &sink,
        bad: "train/part-00002.csv",
    };
    let mut job = new_job(&files, Settings::default());
    let e = job
        .fit(&failing, Control::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("train/part-00002.csv") && e.contains("disk gone"),
        "{e}"
    );
    job.fit(&source(&files), Control::default()).unwrap();
    let e = job
        .fill(&source(&files), &failing, Control::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("train/part-00002.csv") && e.contains("no space left"),
        "{e}"
    );
    assert!(job.reports().is_empty() || job.reports().len() < 6);
}

#[test]
fn artifacts_in_follow_one_rule() {
    let files: Vec<(String, Vec<u8>)> = vec![(
        "validation/part-00000.csv".into(),
        b"target,x\n1,\n".to_vec(),
    )];
    let listing = [("validation/part-00000.csv", 12u64)];
    let mut job = Job::new(
        JobKind::Run(JobType::Validation),
        Settings::default(),
        listing,
        None,
    )
    .unwrap();
    let e = job
        .add_artifacts(vec![("impute_dict.pickle".into(), b"x".to_vec())])
        .unwrap_err();
    assert_eq!(e.kind().name(), "artifact");
    job.add_artifacts(vec![
        ("notes.txt".into(), b"kept".to_vec()),
        ("impute_dict.json".into(), b"{\"x\": 2.5}".to_vec()),
        ("imputation_report.json".into(), b"old".to_vec()),
    ])
    .unwrap();
    let sink = MemorySink::default();
    job.fill(&source(&files), &sink, Control::default())
        .unwrap();
    assert_eq!(
        sink.take("validation/part-00000.csv").unwrap(),
        b"target,x\n1,2.5\n"
    );
    let names: Vec<String> = job
        .artifacts("t")
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            "notes.txt",
            "impute_dict.pkl",
            "impute_dict.json",
            "imputation_summary.json",
            "imputation_report.json",
            "imputation_summary.txt"
        ]
    );
}

#[test]
fn the_summary_does_not_depend_on_the_order_of_fill_batches() {
    let files = dataset(4, 5);
    let summary = |reverse: bool| {
        let mut job = new_job(&files, Settings::default());
        job.fit(&source(&files), Control::default()).unwrap();
        let src = source(&files);
        let sink = MemorySink::default();
        let mut shards = job.begin(Pass::Fill).unwrap();
        if reverse {
            shards.reverse();
        }
        for shard in &shards {
            job.fill_shards(std::slice::from_ref(shard), &src, &sink, Control::default())
                .unwrap();
        }
        let paths: Vec<String> = job
            .finish_fill()
            .unwrap()
            .iter()
            .map(|r| format!("{}/{}", r.split, r.name))
            .collect();
        let artifacts = job.artifacts("t").unwrap();
        let (_, summary) = artifacts
            .iter()
            .find(|(n, _)| n == shardimpute_core::SUMMARY_NAME)
            .unwrap();
        (paths, String::from_utf8(summary.clone()).unwrap())
    };
    let (forward, reversed) = (summary(false), summary(true));
    let in_shard_order: Vec<String> = new_job(&files, Settings::default())
        .shards(Pass::Fill)
        .iter()
        .map(|s| s.path())
        .collect();
    assert_eq!(forward.0, in_shard_order);
    assert_eq!(reversed.0, in_shard_order);
    assert_eq!(forward.1, reversed.1);
}

#[test]
fn each_summary_column_has_one_name_key() {
    let files = dataset(6, 2);
    let mut job = new_job(&files, Settings::default());
    job.fit(&source(&files), Control::default()).unwrap();
    job.fill(&source(&files), &MemorySink::default(), Control::default())
        .unwrap();
    let artifacts = job.artifacts("t").unwrap();
    let (_, summary) = artifacts
        .iter()
        .find(|(n, _)| n == shardimpute_core::SUMMARY_NAME)
        .unwrap();
    let summary = String::from_utf8(summary.clone()).unwrap();
    for column in ["target", "x", "c", "t"] {
        let key = format!("\"name\": \"{column}\"");
        assert_eq!(summary.matches(&key).count(), 1, "{column}: {summary}");
    }
}

#[test]
fn reports_of_shards_filled_elsewhere_are_recorded_once_each() {
    // pass 2 done shard by shard with `fill_shard` (as on a cluster), the
    // reports handed back in reverse: the same summary as `fill`
    let files = dataset(5, 4);
    let mut here = new_job(&files, Settings::default());
    here.fit(&source(&files), Control::default()).unwrap();
    here.fill(&source(&files), &MemorySink::default(), Control::default())
        .unwrap();
    let mut job = new_job(&files, Settings::default());
    job.fit(&source(&files), Control::default()).unwrap();
    let dict = job.fill_values().unwrap().clone();
    let bytes: HashMap<String, Vec<u8>> = files.iter().cloned().collect();
    let shards = job.begin(Pass::Fill).unwrap();
    let mut reports: Vec<_> = shards
        .iter()
        .map(|s| {
            let b = bytes[&s.path()].clone();
            shardimpute_core::fill_shard(s, b, &dict, job.settings())
                .unwrap()
                .1
        })
        .collect();
    reports.reverse();
    let one = reports[0].clone();
    job.add_fill_reports(reports).unwrap();
    let twice = job.add_fill_reports(vec![one]).unwrap_err();
    assert!(twice.to_string().contains("filled twice"), "{twice}");
    let mut foreign = here.reports()[0].clone();
    foreign.name = "part-09999.csv".into();
    let unknown = job.add_fill_reports(vec![foreign]).unwrap_err();
    assert!(
        unknown.to_string().contains("not a shard of this job"),
        "{unknown}"
    );
    job.finish_fill().unwrap();
    let summary = |j: &Job| {
        j.artifacts("t")
            .unwrap()
            .into_iter()
            .find(|(n, _)| n == shardimpute_core::SUMMARY_NAME)
            .unwrap()
            .1
    };
    assert_eq!(summary(&job), summary(&here));
}
