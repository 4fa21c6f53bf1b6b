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

/// Appends `bytes` to an output file being built in memory. Where it is
/// full, it grows by half (at least `bytes`), not by doubling as `Vec`
/// does: in wasm32 no allocation may reach 2 GiB, and doubling an output of
/// 1.1 GB would ask for more than the output needs.
#[inline]
pub(crate) fn append(out: &mut Vec<u8>, bytes: &[u8]) {
    if out.capacity() - out.len() < bytes.len() {
        grow(out, bytes.len());
    }
    out.extend_from_slice(bytes);
}

#[cold]
fn grow(out: &mut Vec<u8>, at_least: usize) {
    if out.try_reserve_exact(at_least.max(out.len() / 2)).is_err() {
        out.reserve_exact(at_least);
    }
}

/// An output file built in memory through [`std::io::Write`] (by an encoder
/// or a Parquet writer), growing as [`append`] grows it.
pub(crate) struct OutputBuffer(Vec<u8>);

impl OutputBuffer {
    /// An empty output with room for `capacity` bytes where that much
    /// memory is to be had (else it grows as it is written).
    pub(crate) fn with_capacity(capacity: usize) -> OutputBuffer {
        let mut out = Vec::new();
        let _ = out.try_reserve_exact(capacity);
        OutputBuffer(out)
    }

    /// The output's bytes.
    pub(crate) fn into_inner(self) -> Vec<u8> {
        self.0
    }
}

impl std::io::Write for OutputBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        append(&mut self.0, bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
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

    #[test]
    fn a_full_output_grows_by_half_not_by_doubling() {
        let mut out = Vec::with_capacity(1000);
        append(&mut out, &[7; 1000]);
        assert_eq!(out.capacity(), 1000);
        append(&mut out, b"ab");
        // at least half as much again, well short of twice
        assert!((1500..1600).contains(&out.capacity()), "{}", out.capacity());
        // a piece larger than half the output gets room for itself
        append(&mut out, &[1; 3000]);
        assert!((4002..4500).contains(&out.capacity()), "{}", out.capacity());
        assert_eq!(out.len(), 4002);
        assert_eq!(&out[998..1004], &[7, 7, b'a', b'b', 1, 1]);
    }

    #[test]
    fn an_output_buffer_keeps_every_byte_written() {
        use std::io::Write;
        let mut out = OutputBuffer::with_capacity(4);
        let mut expected = Vec::new();
        for k in 0..300u32 {
            let piece: Vec<u8> = (0..k % 37).map(|i| (i * k) as u8).collect();
            out.write_all(&piece).unwrap();
            expected.extend_from_slice(&piece);
        }
        out.flush().unwrap();
        let bytes = out.into_inner();
        assert_eq!(bytes, expected);
        assert!(bytes.capacity() < 2 * bytes.len());
        // room that cannot be had is not asked for at once
        let out = OutputBuffer::with_capacity(usize::MAX / 2);
        assert_eq!(out.into_inner().capacity(), 0);
    }
}
