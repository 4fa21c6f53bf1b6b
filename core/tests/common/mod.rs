//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

use shardimpute_core::{Job, JobKind, JobType, MemorySource, Settings};

/// The files (`split/name`, bytes) as a source; each is handed out once.
pub fn source(files: &[(String, Vec<u8>)]) -> MemorySource {
    let s = MemorySource::default();
    for (p, b) in files {
        s.insert(p.clone(), b.clone()).unwrap();
    }
    s
}

/// A training job over the files.
pub fn new_job(files: &[(String, Vec<u8>)], settings: Settings) -> Job {
    let listing: Vec<(&str, u64)> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.len() as u64))
        .collect();
    Job::new(JobKind::Run(JobType::Training), settings, listing, None).unwrap()
}

/// A thread pool of `threads` threads.
pub fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}
