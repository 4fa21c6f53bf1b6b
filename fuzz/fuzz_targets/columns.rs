//! The header probe `columns(format, part, whole)` on arbitrary bytes.
//!
//! Byte 0: bits 0-2 the format (csv, tsv, csv.gz, tsv.gz, parquet), bit 3
//! whether the bytes are the whole file. The rest: the file's start (the
//! end, for Parquet).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardimpute_core::{columns, ShardFormat};

fuzz_target!(|data: &[u8]| {
    shardimpute_fuzz::let_decoder_panics_unwind();
    let [mode, part @ ..] = data else {
        return;
    };
    let format = [
        ShardFormat::Csv { gzip: false },
        ShardFormat::Tsv { gzip: false },
        ShardFormat::Csv { gzip: true },
        ShardFormat::Tsv { gzip: true },
        ShardFormat::Parquet,
    ][usize::from(mode & 7) % 5];
    let _ = columns(format, part, mode & 8 != 0);
});
