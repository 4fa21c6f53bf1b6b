//! Inputs the fuzz targets (fuzz/) found crashing, as regression tests:
//! each must be an error of the right kind, never a panic.

use shardimpute_core::{Control, Job, JobKind, JobType, MemorySink, MemorySource, Settings};

/// A training job over one train shard `name` holding `bytes`: the error.
fn train_error(name: &str, bytes: &[u8]) -> shardimpute_core::Error {
    let path = format!("train/{name}");
    let settings = Settings {
        label_field: String::new(),
        ..Settings::default()
    };
    let mut job = Job::new(
        JobKind::Run(JobType::Training),
        settings,
        [(path.as_str(), bytes.len() as u64)],
        Some(vec!["train".into()]),
    )
    .unwrap();
    let source = MemorySource::default();
    source.insert(path.clone(), bytes.to_vec()).unwrap();
    job.run(&source, &MemorySink::default(), Control::default())
        .unwrap_err()
}

#[test]
fn a_parquet_file_the_decoder_panics_on_is_a_parquet_error() {
    // a corrupt definition-level run: arrow-buffer panics "offset + len
    // out of bounds" inside the parquet crate's reader
    let bytes = include_bytes!("fuzz/parquet-decoder-panic.parquet");
    let e = train_error("part-00000.parquet", bytes);
    assert_eq!(e.kind().name(), "parquet", "{e}");
    let text = e.to_string();
    assert!(
        text.contains("corrupt file") && text.contains("row group 0"),
        "{text}"
    );
}
