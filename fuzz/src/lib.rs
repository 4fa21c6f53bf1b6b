//! Helpers shared by the fuzz targets: jobs over shard files held in
//! memory, driven only through `shardimpute_core`'s public API, with the
//! cheap invariants every target checks on success.

use std::collections::HashMap;

use shardimpute_core::{
    Control, Job, JobKind, JobType, MemorySink, Pass, Result, Settings, Shard, Source, Strategy,
    JSON_NAME, PICKLE_NAME,
};

/// libfuzzer-sys's panic hook aborts on every panic, even one that core
/// catches: core turns panics of the Parquet/Arrow decoder on corrupt
/// files into errors (see `formats/parquet/io.rs`). After this, a panic
/// raised inside the `arrow-*` or `parquet` crates unwinds quietly to
/// that guard; if nothing catches it, libfuzzer-sys's wrapper still
/// aborts (a crash, without the message: rerun the input to see it). Any
/// other panic aborts at once, as before.
pub fn let_decoder_panics_unwind() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let aborting = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let file = info.location().map(|l| l.file()).unwrap_or("");
            if !(file.contains("/arrow-") || file.contains("/parquet-")) {
                aborting(info);
            }
        }));
    });
}

/// Shard files by path (`train/part-00000.csv`); unlike `MemorySource`,
/// every read hands out a copy, so pass 1 and pass 2 read the same files.
pub struct Files(pub HashMap<String, Vec<u8>>);

impl Files {
    /// The files at these paths.
    pub fn new<I: IntoIterator<Item = (String, Vec<u8>)>>(files: I) -> Files {
        Files(files.into_iter().collect())
    }

    /// `(path, size)` pairs, as a front end lists them.
    pub fn listing(&self) -> Vec<(&str, u64)> {
        let mut l: Vec<(&str, u64)> = self
            .0
            .iter()
            .map(|(p, b)| (p.as_str(), b.len() as u64))
            .collect();
        l.sort();
        l
    }

    /// The splits that have files, in `train`, `val`, `test` order.
    pub fn splits(&self) -> Vec<String> {
        ["train", "val", "test"]
            .into_iter()
            .filter(|s| self.0.keys().any(|p| p.starts_with(&format!("{s}/"))))
            .map(String::from)
            .collect()
    }
}

impl Source for Files {
    fn read(&self, shard: &Shard) -> Result<Vec<u8>> {
        // the job only asks for files it was given
        Ok(self.0.get(&shard.path()).expect("a listed file").clone())
    }
}

/// Settings chosen by one fuzz byte: strategies, the label, switches.
pub fn settings_of(b: u8) -> Settings {
    let mut s = Settings::default();
    s.default_numerical_strategy = [
        Strategy::Mean,
        Strategy::Median,
        Strategy::Constant,
        Strategy::Mode,
    ][usize::from(b & 3)];
    if b & 4 != 0 {
        s.default_categorical_strategy = Strategy::Constant;
    }
    if b & 8 != 0 {
        s.auto_detect_categorical = false;
    }
    if b & 16 != 0 {
        s.rename_dots = true;
    }
    if b & 32 != 0 {
        s.validate_fill_values = false;
    }
    s.default_text_strategy =
        [Strategy::Mode, Strategy::Constant, Strategy::Empty][usize::from(b >> 6) % 3];
    // most fuzz inputs have no `target` column: without a label they get
    // past pass 1's label check
    if b >> 6 == 3 {
        s.label_field = String::new();
    }
    s
}

/// A training job over `files`: pass 1 on `train`, pass 2 on every split.
/// Errors are fine; on success, every shard has an output and a report,
/// and the saved fill values (pickle and JSON) load back with the same
/// columns.
pub fn train_and_fill(files: &Files, settings: Settings) {
    let splits = files.splits();
    let Ok(mut job) = Job::new(
        JobKind::Run(JobType::Training),
        settings.clone(),
        files.listing(),
        Some(splits.clone()),
    ) else {
        return;
    };
    let sink = MemorySink::default();
    if job.run(files, &sink, Control::default()).is_err() {
        return;
    }
    let shards = job.shards(Pass::Fill);
    assert_eq!(job.reports().len(), shards.len(), "one report per shard");
    for s in &shards {
        assert!(sink.take(&s.path()).is_ok(), "no output for {}", s.path());
    }
    let columns: Vec<String> = job
        .fill_values()
        .expect("fill values after a run")
        .entries
        .iter()
        .map(|(c, _)| c.clone())
        .collect();
    let artifacts = job
        .artifacts("2026-01-01T00:00:00Z")
        .expect("artifacts of a successful run");
    for name in [PICKLE_NAME, JSON_NAME] {
        let bytes = &artifacts
            .iter()
            .find(|(n, _)| n == name)
            .expect("the dict file is among the artifacts")
            .1;
        let mut fill = Job::new(
            JobKind::Fill,
            settings.clone(),
            files.listing(),
            Some(splits.clone()),
        )
        .expect("the same files and settings make a fill job");
        fill.load_fill_values(name, bytes)
            .unwrap_or_else(|e| panic!("{name} written by a run does not load back: {e}"));
        let back: Vec<&String> = fill
            .fill_values()
            .expect("loaded")
            .entries
            .iter()
            .map(|(c, _)| c)
            .collect();
        assert_eq!(
            back,
            columns.iter().collect::<Vec<_>>(),
            "{name} loads back other columns"
        );
    }
}

/// A tiny CSV `val` split with numerical, categorical and text columns.
pub const TINY_CSV: &[u8] = b"target,x,c,t\n1,,a,hello world\n0,2.5,,\n1,-1,b,\n";

/// Loads saved fill values from `bytes` as the file `name` into a fill
/// job over [`TINY_CSV`]; when they load, fills it. Errors are fine; on
/// success the output exists and the artifacts can be written.
pub fn load_and_fill(name: &str, bytes: &[u8]) {
    let files = Files::new([("val/part-00000.csv".to_string(), TINY_CSV.to_vec())]);
    let mut job = Job::new(
        JobKind::Fill,
        Settings::default(),
        files.listing(),
        Some(vec!["val".into()]),
    )
    .expect("a fill job over the tiny CSV");
    if job.load_fill_values(name, bytes).is_err() {
        return;
    }
    let sink = MemorySink::default();
    if job.run(&files, &sink, Control::default()).is_err() {
        return;
    }
    assert!(sink.take("val/part-00000.csv").is_ok(), "no output");
    job.artifacts("2026-01-01T00:00:00Z")
        .expect("artifacts of a successful fill");
}

/// gzip of `data` (fast level: the fuzz targets compress every input).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("writing to memory");
    e.finish().expect("writing to memory")
}
