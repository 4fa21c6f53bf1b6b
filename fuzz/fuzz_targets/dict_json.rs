//! Saved fill values read from `impute_dict.json` of arbitrary bytes; when
//! they load, a fill job over a tiny CSV.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardimpute_core::JSON_NAME;

fuzz_target!(|data: &[u8]| {
    shardimpute_fuzz::load_and_fill(JSON_NAME, data);
});
