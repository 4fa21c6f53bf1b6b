//! Settings from an `env.txt` (`Settings::from_env_text`) and line by
//! line (`Settings::set_env`), then `validate()`; settings that validate
//! run a training job over a tiny CSV.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shardimpute_core::Settings;
use shardimpute_fuzz::{train_and_fill, Files, TINY_CSV};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(s) = Settings::from_env_text(&text) {
        let _ = s.validate();
    }
    let mut settings = Settings::default();
    for line in text.lines() {
        let (name, value) = line.split_once('=').unwrap_or((line, ""));
        let _ = settings.set_env(name, value);
    }
    if settings.validate().is_err() {
        return;
    }
    let files = Files::new([
        ("train/part-00000.csv".to_string(), TINY_CSV.to_vec()),
        ("val/part-00000.csv".to_string(), TINY_CSV.to_vec()),
    ]);
    train_and_fill(&files, settings);
});
