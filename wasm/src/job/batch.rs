//! A pass's shards cut into batches, each run on the thread pool (in the
//! threaded build; at once on the calling thread otherwise).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use rayon::prelude::*;
use shardimpute_core::zip::Crc;
use shardimpute_core::{self as core, Control, MemorySink, MemorySource, Pass, Shard};
use wasm_bindgen::prelude::*;

use crate::{error, lost};

/// A batch's input size past which it is handed to the pool without more
/// shards: large enough that its fixed costs (a hand-off, a wake-up, a
/// read per shard) are small next to the work, small enough that the
/// three batches in flight (one read, one running, one written) stay a
/// small part of memory.
#[cfg(feature = "threads")]
pub(super) const BATCH_BYTES: u64 = 16 << 20;
/// Without threads nothing overlaps a batch: one shard at a time keeps
/// memory least (the edge runtimes' limits).
#[cfg(not(feature = "threads"))]
pub(super) const BATCH_BYTES: u64 = 0;
/// Most shards in one batch (many tiny shards): progress is reported
/// after each batch.
const BATCH_SHARDS: usize = 64;
/// Input bytes of two batches past which they do not overlap in wasm
/// memory (4 GiB at most, holding a running shard's input and output
/// whole): a batch closes before a shard that would take it past this,
/// and a batch that would take the running one's and its own past it
/// waits for the running one to end and be written before it is copied
/// in. Shards of a GiB then go one at a time.
pub(super) const OVERLAP_BYTES: u64 = 1 << 30;

/// The pass's shards, cut into the batches handed to the thread pool one
/// after another: at least two shards per thread (threads stay busy while
/// shard sizes differ) and `bytes_each` of input ([`BATCH_BYTES`]), or
/// [`BATCH_SHARDS`] shards, or the rest. A batch holds a multiple of the
/// thread count: a batch ends when its last shard does, so with 5 shards
/// on 2 threads one thread would wait out a whole shard (a sixth of the
/// time). The first [`RAMP`] batches are smaller ([`batch_limits`]). A
/// batch also closes before a shard that would take it past `most_bytes`
/// ([`OVERLAP_BYTES`]).
pub(super) fn batches(
    shards: &[Shard],
    threads: usize,
    bytes_each: u64,
    most_bytes: u64,
) -> Vec<&[Shard]> {
    let threads = threads.max(1);
    let mut out = Vec::new();
    let (mut from, mut bytes) = (0, 0u64);
    let mut limits = batch_limits(0, threads, bytes_each);
    for (i, shard) in shards.iter().enumerate() {
        if i > from && bytes.saturating_add(shard.size) > most_bytes {
            out.push(&shards[from..i]);
            (from, bytes) = (i, 0);
            limits = batch_limits(out.len(), threads, bytes_each);
        }
        bytes += shard.size;
        let count = i + 1 - from;
        let (at_least, most, enough_bytes) = limits;
        if (count >= at_least && bytes >= enough_bytes && count.is_multiple_of(threads))
            || count >= most
        {
            out.push(&shards[from..=i]);
            (from, bytes) = (i + 1, 0);
            limits = batch_limits(out.len(), threads, bytes_each);
        }
    }
    if from < shards.len() {
        out.push(&shards[from..]);
    }
    out
}

/// Batches of a pass that ramp up to the full size. Nothing overlaps the
/// reading of a pass's first batch: the pool waits for all of it. So the
/// first batch is an eighth of `bytes_each` and one shard per thread, and
/// the next ones a quarter and a half, each read while the one before
/// runs (on Parquet 60+6+6 a full first batch kept the pool idle for
/// about 0.2 s).
const RAMP: usize = 3;

/// Batch `k` of a pass: the fewest shards, the most, and the input bytes
/// that make it full. In full batches, two shards per thread (one for a
/// single thread) and [`BATCH_SHARDS`] rounded down to a multiple of the
/// thread count (at least one per thread); in the first [`RAMP`], one
/// shard per thread and a fraction of `bytes_each`.
fn batch_limits(k: usize, threads: usize, bytes_each: u64) -> (usize, usize, u64) {
    let threads = threads.max(1);
    let most = (BATCH_SHARDS / threads * threads).max(threads);
    if k < RAMP {
        (threads, most, bytes_each >> (RAMP - k))
    } else {
        (if threads == 1 { 1 } else { 2 * threads }, most, bytes_each)
    }
}

/// One output shard of a batch: its path, bytes, and checksum when it
/// goes into a zip (computed on the pool, beside the shard).
pub(super) type Output = (String, Vec<u8>, Option<Crc>);

/// What a finished batch hands back.
type BatchResult = core::Result<Vec<Output>>;

/// A batch of shards running on the thread pool (in the threaded build;
/// run at once on this thread otherwise), awaited here so this thread can
/// read the next batch and write the last one meanwhile. It also ends if
/// the engine stops ([`lost`]): a trap on the pool ends the batch without
/// a result.
pub(super) struct Running(Arc<Mutex<(Option<BatchResult>, Option<Waker>)>>);

impl Future for Running {
    type Output = Result<Vec<Output>, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        lost::wait_with(cx.waker());
        lost::check()?;
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match slot.0.take() {
            Some(result) => Poll::Ready(result.map_err(error)),
            None => {
                slot.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// What a batch does with its outputs.
#[derive(Clone, Copy)]
pub(super) struct Keep {
    /// Hand them back (for `onShard` or the zip).
    pub(super) outputs: bool,
    /// Their checksums too (for the zip).
    pub(super) crc: bool,
}

/// Hands one batch to the pool: core's `fit_shards` / `fill_shards` over
/// it, in parallel, then (pass 2) the outputs taken from the sink.
pub(super) fn start_batch(
    job: Arc<Mutex<core::Job>>,
    pass: Pass,
    shards: Vec<Shard>,
    source: MemorySource,
    keep: Keep,
    cancel: Arc<AtomicBool>,
) -> Running {
    let slot = Arc::new(Mutex::new((None, None::<Waker>)));
    let task = {
        let slot = slot.clone();
        move || {
            let result = run_batch(&job, pass, &shards, &source, keep, &cancel);
            let waker = {
                let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                slot.0 = Some(result);
                slot.1.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    };
    #[cfg(feature = "threads")]
    rayon::spawn(task);
    #[cfg(not(feature = "threads"))]
    task();
    Running(slot)
}

fn run_batch(
    job: &Mutex<core::Job>,
    pass: Pass,
    shards: &[Shard],
    source: &MemorySource,
    keep: Keep,
    cancel: &AtomicBool,
) -> BatchResult {
    let ctl = Control {
        cancel: Some(cancel),
        progress: None,
    };
    let sink = MemorySink::default();
    {
        let mut job = job.lock().unwrap_or_else(|e| e.into_inner());
        match pass {
            Pass::Fit => job.fit_shards(shards, source, ctl)?,
            Pass::Fill => job.fill_shards(shards, source, &sink, ctl)?,
        }
    }
    if pass == Pass::Fit || !keep.outputs {
        return Ok(Vec::new());
    }
    shards
        .par_iter()
        .map(|shard| {
            let path = shard.path();
            let bytes = sink.take(&path)?;
            let crc = keep.crc.then(|| Crc::of(&bytes));
            Ok((path, bytes, crc))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shards(sizes: &[u64]) -> Vec<Shard> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| Shard::of_file("train", &format!("part-{i:05}.csv"), size).unwrap())
            .collect()
    }

    /// Batches cover the shards in order, each closes as soon as it has
    /// enough shards and bytes for its place (or the most shards), or
    /// before a shard that would take it past `most_bytes`, and none is
    /// empty.
    fn check_capped(sizes: &[u64], threads: usize, bytes_each: u64, most_bytes: u64) -> Vec<usize> {
        let all = shards(sizes);
        let cut = batches(&all, threads, bytes_each, most_bytes);
        let flat: Vec<&Shard> = cut.iter().flat_map(|b| b.iter()).collect();
        assert_eq!(flat.len(), all.len());
        assert!(flat.iter().zip(&all).all(|(a, b)| std::ptr::eq(*a, b)));
        let bytes = |b: &[Shard]| b.iter().map(|s| s.size).sum::<u64>();
        for (i, b) in cut.iter().enumerate() {
            let (at_least, most, enough_bytes) = batch_limits(i, threads, bytes_each);
            let enough = |b: &[Shard]| {
                (b.len() >= at_least && bytes(b) >= enough_bytes && b.len().is_multiple_of(threads))
                    || b.len() >= most
            };
            assert!(!b.is_empty() && b.len() <= most);
            assert!(!enough(&b[..b.len() - 1]), "batch {i} went on past enough");
            assert!(
                b.len() == 1 || bytes(b) <= most_bytes,
                "batch {i} is over {most_bytes} bytes"
            );
            if let Some(next) = cut.get(i + 1) {
                let full = bytes(b).saturating_add(next[0].size) > most_bytes;
                assert!(
                    full || b.len().is_multiple_of(threads),
                    "batch {i} is not a multiple of {threads}"
                );
                assert!(full || enough(b), "batch {i} closed early");
            }
        }
        cut.iter().map(|b| b.len()).collect()
    }

    fn check(sizes: &[u64], threads: usize, bytes_each: u64) -> Vec<usize> {
        check_capped(sizes, threads, bytes_each, u64::MAX)
    }

    #[test]
    fn batches_cover_the_shards_in_order() {
        const MB16: u64 = 16 << 20;
        assert_eq!(check(&[], 2, MB16), Vec::<usize>::new());
        // the ramp: one shard a thread and 2 MB, then 4 MB, 8 MB; then 16 MB
        // and two shards a thread
        assert_eq!(check(&[4 << 20; 14], 2, MB16), vec![2, 2, 2, 4, 4]);
        assert_eq!(check(&[1_400_000; 40], 2, MB16), vec![2, 4, 6, 12, 12, 4]);
        check(&[100 << 10; 1200], 2, MB16);
        check(&[1 << 30, 1, 1, 1 << 30, 1, 5 << 20, 0, 0], 2, MB16);
        assert_eq!(check(&[0; 150], 4, MB16), vec![64, 64, 22]);
        assert_eq!(check(&[0; 150], 3, MB16), vec![63, 63, 24]);
        // 3.4 MB shards: 5 make 16 MB, but 5 on 2 threads leave one idle
        // for a shard's time; 6 do not
        assert_eq!(check(&[3_400_000; 21], 2, MB16), vec![2, 2, 4, 6, 6, 1]);
        assert_eq!(check(&[3_400_000; 22], 3, MB16), vec![3, 3, 3, 6, 6, 1]);
        // more threads than BATCH_SHARDS: a batch still gives each one a shard
        assert_eq!(check(&[0; 150], 100, MB16), vec![100, 50]);
        // no byte target (the single-threaded build): the fewest shards
        assert_eq!(check(&[1; 12], 2, 0), vec![2, 2, 2, 4, 2]);
        assert_eq!(check(&[64 << 20; 3], 1, 0), vec![1, 1, 1]);
        assert_eq!(check(&[64 << 20; 3], 1, MB16), vec![1, 1, 1]);
    }

    /// Shards of a GiB or more go one at a time; smaller ones fill a
    /// batch up to the cap, whatever the thread count.
    #[test]
    fn large_shards_are_batched_by_bytes() {
        const MB16: u64 = 16 << 20;
        const GIB: u64 = 1 << 30;
        assert_eq!(check_capped(&[GIB; 3], 2, MB16, GIB), vec![1, 1, 1]);
        assert_eq!(check_capped(&[3 * GIB, 1, 1], 2, MB16, GIB), vec![1, 2]);
        assert_eq!(
            check_capped(&[600 << 20; 4], 2, MB16, GIB),
            vec![1, 1, 1, 1]
        );
        // four shards a batch once ramped up, but at most 1 GiB of them
        assert_eq!(
            check_capped(&[300 << 20; 10], 2, MB16, GIB),
            vec![2, 2, 2, 3, 1]
        );
        assert_eq!(
            check_capped(&[250 << 20; 12], 2, MB16, GIB),
            vec![2, 2, 2, 4, 2]
        );
        check_capped(
            &[GIB, 1, 1, GIB - 1, 1, 5 << 20, 0, 0, 2 * GIB],
            3,
            MB16,
            GIB,
        );
    }
}
