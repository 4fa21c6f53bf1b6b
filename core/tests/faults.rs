//! Fault injection (SPEC section 7): a read or a write that fails at any
//! position, in either pass, on one thread or several, stops the job with
//! an error of the right kind naming the shard file; nothing panics; a
//! failed pass 1 leaves no fill values, and no failed pass yields
//! artifacts that look complete. A cancel mid-pass ends it with
//! `cancelled` and no further shard is written.

mod common;

use std::collections::BTreeSet;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use common::{new_job, pool, source};
use shardimpute_core::{
    Control, Error, MemorySink, MemorySource, Pass, Progress, Result, Settings, Shard, Sink, Source,
};

/// Four `train` shards, one `val`, one `test`, each with missing cells in
/// every column.
fn files() -> Vec<(String, Vec<u8>)> {
    let splits = [("train", 4), ("val", 1), ("test", 1)];
    let mut out = Vec::new();
    for (split, n) in splits {
        for k in 0..n {
            let mut text = String::from("target,x,c\n");
            for r in 0..5 + k {
                let x = if r % 3 == 0 {
                    "NA".to_string()
                } else {
                    format!("{}.5", r * 7 + k)
                };
                let c = ["a", "", "b", "a", "null"][r % 5];
                text.push_str(&format!("{},{x},{c}\n", r % 2));
            }
            out.push((format!("{split}/part-{k:05}.csv"), text.into_bytes()));
        }
    }
    out
}

/// Runs `f` with a control whose cancel flag is set once `after` shards
/// are done (at once for 0).
fn cancelled_after<T>(after: usize, f: impl FnOnce(Control<'_>) -> T) -> T {
    let cancel = AtomicBool::new(after == 0);
    let progress = |p: &Progress| {
        if p.shards_done >= after {
            cancel.store(true, Ordering::SeqCst);
        }
    };
    f(Control {
        cancel: Some(&cancel),
        progress: Some(&progress),
    })
}

/// Which I/O fails, and how.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The read fails with an I/O error.
    Read,
    /// The write fails: no space left on the device.
    Full,
    /// The write is short (`write_all`'s error when the device takes
    /// fewer bytes than given).
    Short,
}

impl Fault {
    fn io_error(self) -> io::Error {
        match self {
            Fault::Read => io::Error::new(io::ErrorKind::UnexpectedEof, "device went away"),
            Fault::Full => io::Error::new(io::ErrorKind::StorageFull, "no space left on device"),
            Fault::Short => io::Error::from(io::ErrorKind::WriteZero),
        }
    }
}

/// A source and sink that fail on the `at`-th read (or write), counted
/// from 0 in call order, and record which shard it was.
struct Faulty {
    source: MemorySource,
    sink: MemorySink,
    fault: Fault,
    at: usize,
    calls: AtomicUsize,
    failed: Mutex<Option<String>>,
    written: Mutex<Vec<String>>,
}

impl Faulty {
    fn new(files: &[(String, Vec<u8>)], fault: Fault, at: usize) -> Faulty {
        Faulty {
            source: source(files),
            sink: MemorySink::default(),
            fault,
            at,
            calls: AtomicUsize::new(0),
            failed: Mutex::new(None),
            written: Mutex::new(Vec::new()),
        }
    }

    /// The error of the call, if it is the one to fail.
    fn maybe_fail(&self, shard: &Shard, what: &str) -> Result<()> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == self.at {
            *self.failed.lock().unwrap() = Some(shard.path());
            return Err(Error::io(shard.path(), what, &self.fault.io_error()));
        }
        Ok(())
    }

    fn failed(&self) -> Option<String> {
        self.failed.lock().unwrap().clone()
    }

    fn written(&self) -> Vec<String> {
        self.written.lock().unwrap().clone()
    }
}

impl Source for Faulty {
    fn read(&self, shard: &Shard) -> Result<Vec<u8>> {
        if let Fault::Read = self.fault {
            self.maybe_fail(shard, "read")?;
        }
        self.source.read(shard)
    }
}

impl Sink for Faulty {
    fn write(&self, shard: &Shard, bytes: Vec<u8>) -> Result<()> {
        if !matches!(self.fault, Fault::Read) {
            self.maybe_fail(shard, "write")?;
        }
        self.written.lock().unwrap().push(shard.path());
        self.sink.write(shard, bytes)
    }
}

/// The error names the shard that failed and the cause, and is an I/O
/// error.
fn check_io_error(e: &Error, faulty: &Faulty, context: &str) {
    let failed = faulty
        .failed()
        .unwrap_or_else(|| panic!("{context}: the fault never fired, yet: {e}"));
    assert_eq!(e.kind().name(), "io", "{context}: {e}");
    assert_eq!(e.file(), Some(failed.as_str()), "{context}: {e}");
    let text = e.to_string();
    let cause = faulty.fault.io_error().to_string();
    assert!(
        text.contains(&failed) && text.contains(&cause),
        "{context}: `{text}` should name {failed} and say `{cause}`"
    );
}

/// A fitted job's fill values, as text, from a clean run.
fn clean_fill_values(files: &[(String, Vec<u8>)]) -> String {
    let mut job = new_job(files, Settings::default());
    job.fit(&source(files), Control::default()).unwrap();
    format!("{:?}", job.fill_values().unwrap())
}

#[test]
fn a_failing_read_in_pass_1_leaves_no_fill_values() {
    let files = files();
    let want = clean_fill_values(&files);
    let train = new_job(&files, Settings::default()).shards(Pass::Fit).len();
    for threads in [1, 2] {
        for at in 0..train {
            // one call, and batches of one (the failure after some merged)
            for batched in [false, true] {
                let context = format!("read {at} of pass 1, {threads} threads, batched {batched}");
                let faulty = Faulty::new(&files, Fault::Read, at);
                let mut job = new_job(&files, Settings::default());
                let e = pool(threads).install(|| {
                    if batched {
                        let shards = job.begin(Pass::Fit).unwrap();
                        for s in &shards {
                            job.fit_shards(std::slice::from_ref(s), &faulty, Control::default())?;
                        }
                        job.finish_fit().map(|_| ())
                    } else {
                        job.fit(&faulty, Control::default()).map(|_| ())
                    }
                });
                let e = e.expect_err(&context);
                check_io_error(&e, &faulty, &context);
                assert!(job.plan().is_none(), "{context}");
                assert!(job.fill_values().is_none(), "{context}");
                assert_eq!(
                    job.artifacts("t").unwrap_err().kind().name(),
                    "state",
                    "{context}"
                );
                assert_eq!(
                    job.begin(Pass::Fill).unwrap_err().kind().name(),
                    "state",
                    "{context}: pass 2 must not run without fill values"
                );
                // the failed pass left nothing behind: a new one gives the
                // clean answer
                job.fit(&source(&files), Control::default()).unwrap();
                assert_eq!(
                    format!("{:?}", job.fill_values().unwrap()),
                    want,
                    "{context}"
                );
            }
        }
    }
}

#[test]
fn a_failing_read_or_write_in_pass_2_is_an_error_naming_the_shard() {
    let files = files();
    let shards = new_job(&files, Settings::default())
        .shards(Pass::Fill)
        .len();
    for fault in [Fault::Read, Fault::Full, Fault::Short] {
        for threads in [1, 2] {
            for at in 0..shards {
                let context = format!("{fault:?} at {at} of pass 2, {threads} threads");
                let faulty = Faulty::new(&files, fault, at);
                let mut job = new_job(&files, Settings::default());
                job.fit(&source(&files), Control::default()).unwrap();
                let e = pool(threads)
                    .install(|| job.fill(&faulty, &faulty, Control::default()).map(|_| ()))
                    .expect_err(&context);
                check_io_error(&e, &faulty, &context);
                let written = faulty.written();
                let failed = faulty.failed().unwrap();
                assert!(!written.contains(&failed), "{context}");
                if threads == 1 {
                    // one thread, shards in order: nothing after the failure
                    assert_eq!(written.len(), at, "{context}: {written:?}");
                }
                // a failed pass 2 yields no artifacts
                let refused = job.artifacts("t").unwrap_err();
                assert_eq!(refused.kind().name(), "state", "{context}: {refused}");
                // the fill values stay, and pass 2 can run again to its end
                assert!(job.fill_values().is_some(), "{context}");
                let sink = MemorySink::default();
                let reports = job
                    .fill(&source(&files), &sink, Control::default())
                    .unwrap();
                assert_eq!(reports.len(), shards, "{context}");
                job.artifacts("t").unwrap();
            }
        }
    }
}

#[test]
fn a_failed_batch_of_pass_2_leaves_no_artifacts_that_look_complete() {
    let files = files();
    let mut job = new_job(&files, Settings::default());
    job.fit(&source(&files), Control::default()).unwrap();
    let shards = job.begin(Pass::Fill).unwrap();
    let sink = MemorySink::default();
    let src = source(&files);
    // the first batches are written, then one fails
    job.fill_shards(&shards[..3], &src, &sink, Control::default())
        .unwrap();
    let faulty = Faulty::new(&files, Fault::Full, 0);
    let e = job
        .fill_shards(&shards[3..4], &faulty, &faulty, Control::default())
        .unwrap_err();
    check_io_error(&e, &faulty, "the fourth shard");
    let refused = job.artifacts("t").unwrap_err();
    assert_eq!(refused.kind().name(), "state", "{refused}");
    assert!(refused.to_string().contains("did not finish"), "{refused}");
    // a pass begun and abandoned is no more complete
    job.begin(Pass::Fill).unwrap();
    job.fill_shards(&shards[..1], &source(&files), &sink, Control::default())
        .unwrap();
    job.abort();
    assert_eq!(job.artifacts("t").unwrap_err().kind().name(), "state");
}

#[test]
fn a_cancel_mid_pass_is_cancelled_and_writes_no_further_shard() {
    let files = files();
    let total = new_job(&files, Settings::default())
        .shards(Pass::Fill)
        .len();
    let train = new_job(&files, Settings::default()).shards(Pass::Fit).len();
    for threads in [1, 2] {
        for after in 0..total {
            let context = format!("cancel after {after} shards, {threads} threads");
            let mut job = new_job(&files, Settings::default());
            job.fit(&source(&files), Control::default()).unwrap();
            let faulty = Faulty::new(&files, Fault::Read, usize::MAX);
            let result = cancelled_after(after, |ctl| {
                pool(threads).install(|| job.fill(&faulty, &faulty, ctl).map(|_| ()))
            });
            let Err(e) = result else {
                // a cancel once every shard has started comes too late:
                // only possible with fewer shards left than threads
                assert!(after + threads > total, "{context}: not cancelled");
                continue;
            };
            assert_eq!(e.kind().name(), "cancelled", "{context}: {e}");
            let written: BTreeSet<String> = faulty.written().into_iter().collect();
            if threads == 1 {
                assert_eq!(written.len(), after, "{context}: {written:?}");
            } else {
                // a shard already started may finish; no other starts
                assert!(written.len() < after + threads, "{context}: {written:?}");
            }
            assert_eq!(
                job.artifacts("t").unwrap_err().kind().name(),
                "state",
                "{context}"
            );
            // pass 1 too: cancelled, no fill values
            if after < train {
                let result = cancelled_after(after, |ctl| {
                    pool(threads).install(|| job.fit(&source(&files), ctl).map(|_| ()))
                });
                let Err(e) = result else {
                    assert!(after + threads > train, "{context}: pass 1 not cancelled");
                    continue;
                };
                assert_eq!(e.kind().name(), "cancelled", "{context}: {e}");
                assert!(job.fill_values().is_none(), "{context}");
            }
        }
    }
}
