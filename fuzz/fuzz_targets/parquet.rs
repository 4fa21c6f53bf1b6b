//! A `.parquet` shard of arbitrary bytes through pass 1 and pass 2, and
//! the header probe on its tail.
//!
//! Byte 0: the settings ([`shardimpute_fuzz::settings_of`]); bit 5 also
//! adds a `val` shard of the same bytes. The rest: the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardimpute_core::{columns, ShardFormat};
use shardimpute_fuzz::{settings_of, train_and_fill, Files};

fuzz_target!(|data: &[u8]| {
    shardimpute_fuzz::let_decoder_panics_unwind();
    let [set, file @ ..] = data else {
        return;
    };
    let _ = columns(ShardFormat::Parquet, file, true);
    let mut files = vec![("train/part-00000.parquet".to_string(), file.to_vec())];
    if set & 32 != 0 {
        files.push(("val/part-00000.parquet".to_string(), file.to_vec()));
    }
    train_and_fill(&Files::new(files), settings_of(*set));
});
