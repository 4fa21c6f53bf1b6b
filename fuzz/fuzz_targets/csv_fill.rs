//! CSV/TSV (plain or gzip) through pass 1 and pass 2.
//!
//! Byte 0: bits 0-1 the format (csv, tsv, csv.gz, tsv.gz), bit 2 two train
//! shards (split at byte 1's fraction of the rest) instead of one, bit 3 a
//! `val` shard of the same bytes. Byte 1: the split point. Byte 2: the
//! settings ([`shardimpute_fuzz::settings_of`]). The rest: the shard text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardimpute_fuzz::{gzip, settings_of, train_and_fill, Files};

fuzz_target!(|data: &[u8]| {
    let [mode, cut, set, text @ ..] = data else {
        return;
    };
    let (ext, gz) = [
        ("csv", false),
        ("tsv", false),
        ("csv.gz", true),
        ("tsv.gz", true),
    ][usize::from(mode & 3)];
    let file = |bytes: &[u8]| if gz { gzip(bytes) } else { bytes.to_vec() };
    let mut files = Vec::new();
    if mode & 4 != 0 {
        let at = text.len() * usize::from(*cut) / 256;
        files.push((format!("train/part-00000.{ext}"), file(&text[..at])));
        files.push((format!("train/part-00001.{ext}"), file(&text[at..])));
    } else {
        files.push((format!("train/part-00000.{ext}"), file(text)));
    }
    if mode & 8 != 0 {
        files.push((format!("val/part-00000.{ext}"), file(text)));
    }
    train_and_fill(&Files::new(files), settings_of(*set));
});
