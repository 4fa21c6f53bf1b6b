//! Where shard bytes come from and where output goes.
//!
//! The passes take whole shard files as bytes: a [`Source`] reads them, a
//! [`Sink`] takes each output shard. Front ends bring their own (files on
//! disk, browser `Blob`s); the in-memory pair here serves the browser's
//! batches and the tests.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::dataset::Shard;
use crate::error::{Error, Result};

/// Gives the bytes of a shard file.
pub trait Source: Sync {
    /// The whole file of `shard`, as stored (still compressed).
    fn read(&self, shard: &Shard) -> Result<Vec<u8>>;
}

/// Takes the output file of a shard.
pub trait Sink: Sync {
    /// Stores the output file of `shard` (same name, same split).
    fn write(&self, shard: &Shard, bytes: Vec<u8>) -> Result<()>;
}

/// Shard files held in memory, by path (`train/part-00000.csv`); each is
/// handed out once, so its memory goes with the pass.
#[derive(Default)]
pub struct MemorySource(Mutex<HashMap<String, Vec<u8>>>);

impl MemorySource {
    /// Adds the file at `path`.
    pub fn insert(&self, path: String, bytes: Vec<u8>) -> Result<()> {
        lock(&self.0)?.insert(path, bytes);
        Ok(())
    }
}

impl Source for MemorySource {
    fn read(&self, shard: &Shard) -> Result<Vec<u8>> {
        lock(&self.0)?
            .remove(&shard.path())
            .ok_or_else(|| Error::layout("the shard's file was not given").in_file(shard.path()))
    }
}

/// Output shard files kept in memory, by path.
#[derive(Default)]
pub struct MemorySink(Mutex<HashMap<String, Vec<u8>>>);

impl MemorySink {
    /// Takes the output of the shard at `path`.
    pub fn take(&self, path: &str) -> Result<Vec<u8>> {
        lock(&self.0)?
            .remove(path)
            .ok_or_else(|| Error::layout("no output was written").in_file(path))
    }
}

impl Sink for MemorySink {
    fn write(&self, shard: &Shard, bytes: Vec<u8>) -> Result<()> {
        lock(&self.0)?.insert(shard.path(), bytes);
        Ok(())
    }
}

/// Locks a mutex; a poisoned one means a worker thread panicked.
pub fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock().map_err(|_| panicked())
}

/// The error of a poisoned lock: a worker thread panicked.
pub(crate) fn panicked() -> Error {
    Error::internal("a worker thread panicked")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::ShardFormat;

    #[test]
    fn a_poisoned_lock_is_an_internal_error_not_a_cancel() {
        let source = MemorySource::default();
        source
            .insert("train/a.csv".into(), b"x\n".to_vec())
            .unwrap();
        let _ = std::thread::scope(|s| {
            s.spawn(|| {
                let _guard = source.0.lock().unwrap();
                panic!("a worker fails while holding the lock");
            })
            .join()
        });
        let shard = Shard {
            split: "train".into(),
            name: "a.csv".into(),
            format: ShardFormat::Csv { gzip: false },
            size: 2,
        };
        let e = source.read(&shard).unwrap_err();
        assert_eq!(e.kind().name(), "internal");
    }
}
