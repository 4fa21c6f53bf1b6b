//! One pass over a job's shards: reads, batches on the pool and outputs
//! (zip, `onShard`) pipelined, with progress and cancellation.

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use shardimpute_core::{self as core, MemorySource, Pass, Progress, Shard};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, WritableStream};

use super::batch::{batches, start_batch, Keep, Output, Running, BATCH_BYTES, OVERLAP_BYTES};
use super::input::{call, read_all, why};
use super::zip_out::ZipOut;
use super::{artifacts, plan_view, State};
use crate::{camel, error, js_error, to_js};

/// The largest shard file the engine takes: its bytes are one allocation
/// in wasm32, where none may reach 2 GiB.
const MAX_SHARD_BYTES: u64 = (1 << 31) - 1;

/// What `fit` and `fill` take: `{ onProgress, onShard, zip, spareChunks,
/// signal, keepForFill }`.
pub(super) struct Options {
    on_progress: Option<Function>,
    on_shard: Option<Function>,
    zip: Option<WritableStream>,
    /// Pass 2: chunks the zip's reader is done with, written into again.
    spare_chunks: Option<Array>,
    signal: Option<AbortSignal>,
    /// Pass 1: bytes of training shards to keep for pass 2 to reuse.
    keep_for_fill: u64,
}

impl Options {
    pub(super) fn from_js(options: &JsValue) -> Options {
        let get = |key: &str| {
            if options.is_object() {
                Reflect::get(options, &JsValue::from_str(key)).ok()
            } else {
                None
            }
            .filter(|v| !v.is_undefined() && !v.is_null())
        };
        Options {
            on_progress: get("onProgress").and_then(|v| v.dyn_into().ok()),
            on_shard: get("onShard").and_then(|v| v.dyn_into().ok()),
            zip: get("zip").map(|v| v.unchecked_into()),
            spare_chunks: get("spareChunks").and_then(|v| v.dyn_into().ok()),
            signal: get("signal").and_then(|v| v.dyn_into().ok()),
            keep_for_fill: get("keepForFill")
                .and_then(|v| v.as_f64())
                .filter(|n| *n > 0.0)
                .map_or(0, |n| n as u64),
        }
    }

    fn check_cancel(&self) -> Result<(), JsValue> {
        match &self.signal {
            Some(s) if s.aborted() => Err(error(core::Error::cancelled())),
            _ => Ok(()),
        }
    }

    fn progress(&self, p: &Progress) -> Result<(), JsValue> {
        if let Some(f) = &self.on_progress {
            f.call1(
                &JsValue::NULL,
                &to_js(&camel(serde_json::to_value(p).unwrap_or_default()))?,
            )?;
        }
        Ok(())
    }
}

/// Starts reading the inputs of one batch.
fn start_reads(state: &State, batch: &[Shard]) -> Result<Vec<(String, Promise)>, JsValue> {
    batch
        .iter()
        .map(|shard| {
            let path = shard.path();
            if let Some(bytes) = state.kept.borrow_mut().bytes.remove(&path) {
                return Ok((path, Promise::resolve(&JsValue::from(bytes))));
            }
            let input = state
                .files
                .get(&path)
                .ok_or_else(|| js_error("layout", &format!("{path}: file not given")))?;
            let read = input.start(&path);
            Ok((path, read))
        })
        .collect()
}

/// One pass (see `run_pass_to`); with `options.zip`, a fill also writes the
/// zip of every output shard and artifact, ending with the manifest and
/// `_SUCCESS`, and closes the stream (aborts it on an error).
pub(super) async fn run_pass(
    state: Rc<State>,
    pass: Pass,
    options: Options,
) -> Result<JsValue, JsValue> {
    let Some(stream) = options.zip.clone().filter(|_| pass == Pass::Fill) else {
        return run_pass_to(state, pass, &options, None).await;
    };
    let writer = stream
        .get_writer()
        .map_err(|e| js_error("io", &format!("cannot write the zip: {}", why(&e))))?;
    let mut out = ZipOut {
        writer,
        zip: Default::default(),
        spare: options.spare_chunks.clone(),
    };
    let result = async {
        let summary = run_pass_to(state.clone(), pass, &options, Some(&mut out)).await?;
        let files = artifacts(&*state.job()?)?;
        for (name, bytes) in files {
            out.add(&format!("model_artifacts/{name}"), &bytes).await?;
        }
        let start = out.zip.len();
        let end = std::mem::take(&mut out.zip)
            .finish_output()
            .map_err(error)?;
        out.write_parts(&[&end], start).await?;
        JsFuture::from(out.writer.close()).await?;
        Ok(summary)
    }
    .await;
    if let Err(e) = &result {
        let _ = out.writer.abort_with_reason(e);
    }
    out.writer.release_lock();
    result
}

/// One pass, a batch of shards at a time, pipelined: while the pool runs
/// batch k, this thread reads batch k+1's inputs and hands out batch k-1's
/// outputs (zip, `onShard`), so the pool never waits for the browser's
/// reads and writes. On any error or cancel the running batch is stopped
/// and awaited, and the pass abandoned, so the job can run again.
async fn run_pass_to(
    state: Rc<State>,
    pass: Pass,
    options: &Options,
    zip: Option<&mut ZipOut>,
) -> Result<JsValue, JsValue> {
    let shards = state.job()?.begin(pass).map_err(error)?;
    if let Some(s) = shards.iter().find(|s| s.size > MAX_SHARD_BYTES) {
        state.job()?.abort();
        return Err(js_error(
            "memory",
            &format!(
                "{}: {} bytes, more than the engine can hold: WebAssembly keeps a shard \
                 whole, in one piece of less than 2 GiB. Shards this large need the \
                 command line tool; or split them smaller",
                s.path(),
                s.size
            ),
        ));
    }
    if pass == Pass::Fit {
        state.kept.take();
        // where the missing cells of CSV/TSV training shards are (a few
        // bytes a cell) spares pass 2 reading their records again
        state
            .job()?
            .keep_cells_in_memory(options.keep_for_fill)
            .map_err(error)?;
    }
    let cancel = Arc::new(AtomicBool::new(false));
    // an abort reaches the running batch at once (it stops at its next
    // shard), not at the end of the batch
    let on_abort = {
        let cancel = cancel.clone();
        Closure::<dyn FnMut()>::new(move || cancel.store(true, Ordering::Relaxed))
    };
    let listen = |method: &str| {
        if let Some(signal) = &options.signal {
            let _ = call(signal, method, &["abort".into(), on_abort.as_ref().clone()]);
        }
    };
    listen("addEventListener");
    let mut running = None;
    let result = pipeline(&state, pass, &shards, options, zip, &cancel, &mut running).await;
    listen("removeEventListener");
    if let Some(batch) = running.take() {
        cancel.store(true, Ordering::Relaxed);
        let _ = batch.await;
    }
    if pass == Pass::Fill || result.is_err() {
        // kept bytes serve one pass 2 only
        state.kept.take();
    }
    let mut job = state.job()?;
    if let Err(e) = result {
        job.abort();
        return Err(e);
    }
    match pass {
        Pass::Fit => {
            job.finish_fit().map_err(error)?;
            plan_view(&job)
        }
        Pass::Fill => {
            job.finish_fill().map_err(error)?;
            let summary = artifacts(&job)?
                .into_iter()
                .find(|(n, _)| n == core::SUMMARY_NAME)
                .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            js_sys::JSON::parse(&summary)
        }
    }
}

async fn pipeline(
    state: &State,
    pass: Pass,
    shards: &[Shard],
    options: &Options,
    mut zip: Option<&mut ZipOut>,
    cancel: &Arc<AtomicBool>,
    running: &mut Option<Running>,
) -> Result<(), JsValue> {
    let keep = Keep {
        outputs: zip.is_some() || options.on_shard.is_some(),
        crc: zip.is_some(),
    };
    let batches = batches(
        shards,
        rayon::current_num_threads(),
        BATCH_BYTES,
        OVERLAP_BYTES,
    );
    let bytes_of = |b: &[Shard]| b.iter().map(|s| s.size).sum::<u64>();
    let mut ahead = match batches.first() {
        Some(b) => Some(start_reads(state, b)?),
        None => None,
    };
    let mut running_bytes = 0;
    for k in 0..=batches.len() {
        // a large batch waits for the running one to end and be written
        let next_bytes = batches.get(k).map_or(0, |b| bytes_of(b));
        if running_bytes + next_bytes > OVERLAP_BYTES {
            let outputs = finish(state, options, running.take()).await?;
            hand_out(zip.as_deref_mut(), options, outputs).await?;
        }
        // this batch's inputs, in wasm memory (read while the last one ran)
        let source = MemorySource::default();
        for (path, buffer) in read_all(ahead.take().unwrap_or_default()).await? {
            options.check_cancel()?;
            let bytes = buffer.to_vec();
            if pass == Pass::Fit {
                let mut kept = state.kept.borrow_mut();
                let size = bytes.len() as u64;
                if kept.total + size <= options.keep_for_fill {
                    kept.total += size;
                    kept.bytes.insert(path.clone(), buffer);
                }
            }
            source.insert(path, bytes).map_err(error)?;
        }
        if let Some(next) = batches.get(k + 1) {
            ahead = Some(start_reads(state, next)?);
        }
        let last = finish(state, options, running.take()).await?;
        options.check_cancel()?;
        if let Some(batch) = batches.get(k) {
            *running = Some(start_batch(
                state.job.clone(),
                pass,
                batch.to_vec(),
                source,
                keep,
                cancel.clone(),
            ));
            running_bytes = next_bytes;
        }
        hand_out(zip.as_deref_mut(), options, last).await?;
    }
    Ok(())
}

/// Waits for the running batch, if any, and reports the progress: its
/// outputs (none without a batch).
async fn finish(
    state: &State,
    options: &Options,
    running: Option<Running>,
) -> Result<Vec<Output>, JsValue> {
    let Some(batch) = running else {
        return Ok(Vec::new());
    };
    let outputs = batch.await?;
    options.progress(&state.job()?.progress())?;
    Ok(outputs)
}

/// A finished batch's outputs to the zip and `onShard`.
async fn hand_out(
    zip: Option<&mut ZipOut>,
    options: &Options,
    outputs: Vec<Output>,
) -> Result<(), JsValue> {
    if let Some(z) = zip {
        if !outputs.is_empty() {
            z.add_all(&outputs).await?;
        }
    }
    if let Some(f) = &options.on_shard {
        for (path, bytes, _) in &outputs {
            let r = f.call2(&JsValue::NULL, &path.into(), &Uint8Array::from(&bytes[..]))?;
            if let Some(p) = r.dyn_ref::<Promise>() {
                JsFuture::from(p.clone()).await?;
            }
            options.check_cancel()?;
        }
    }
    options.check_cancel()
}
