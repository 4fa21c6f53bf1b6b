//! A `.csv.gz` shard of arbitrary bytes (the gzip reader, then CSV)
//! through pass 1 and pass 2.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardimpute_core::Settings;
use shardimpute_fuzz::{train_and_fill, Files};

fuzz_target!(|data: &[u8]| {
    let mut settings = Settings::default();
    settings.label_field = String::new();
    let files = Files::new([("train/part-00000.csv.gz".to_string(), data.to_vec())]);
    train_and_fill(&files, settings);
});
