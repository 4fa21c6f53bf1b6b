//! Arbitrary bytes as a zip archive (`unzip::entries`, then `unzip::read`
//! of every entry): a dataset sent as one file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardimpute_core::unzip;

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = unzip::entries(data) else {
        return;
    };
    for e in &entries {
        if let Ok(bytes) = unzip::read(data, e) {
            // a read entry holds exactly what its directory record says
            assert_eq!(bytes.len() as u64, e.size, "{}", e.name);
        }
    }
});
