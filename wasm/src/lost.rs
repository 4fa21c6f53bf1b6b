//! When the engine cannot go on: an allocation that wasm memory cannot
//! hold (4 GiB at most), or a panic (a bug). Either ends in a trap on the
//! thread it happened on, and no Rust code there runs after it: a batch on
//! the thread pool would never finish, and the pass waiting for it would
//! wait forever. So hooks record what happened, then wake the pass waiting
//! on the pool, which rejects with it. From then on every call rejects the
//! same way (the instance holds a half-done state, and maybe a lock that
//! is never released): the engine has to be loaded again (a new Worker).

use std::alloc::Layout;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::task::Waker;

use wasm_bindgen::prelude::*;

use crate::js_error;

const RUNNING: u8 = 0;
const OUT_OF_MEMORY: u8 = 1;
const PANICKED: u8 = 2;

/// What stopped the engine ([`RUNNING`] while nothing has).
static STATE: AtomicU8 = AtomicU8::new(RUNNING);
/// The size of the allocation that failed.
static REQUESTED: AtomicUsize = AtomicUsize::new(0);
/// The panic's message.
static PANIC: Mutex<String> = Mutex::new(String::new());
/// The pass waiting for a batch on the pool.
static WAITING: Mutex<Option<Waker>> = Mutex::new(None);

/// Installs the hooks (once per instance; later calls do nothing).
pub fn install() {
    static HOOKS: Once = Once::new();
    HOOKS.call_once(|| {
        std::alloc::set_alloc_error_hook(on_alloc_error);
        std::panic::set_hook(Box::new(|info| {
            // allocates: a panic is not an allocation failure
            if let Ok(mut m) = PANIC.try_lock() {
                *m = info.payload_as_str().unwrap_or("a panic").to_string();
            }
            stop(PANICKED);
        }));
    });
}

/// No allocation here: memory has just run out.
fn on_alloc_error(layout: Layout) {
    REQUESTED.store(layout.size(), Ordering::Relaxed);
    stop(OUT_OF_MEMORY);
}

/// Records the first reason and wakes the waiting pass (a lock that may
/// be held by the thread that failed is only tried).
fn stop(why: u8) {
    if STATE
        .compare_exchange(RUNNING, why, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return;
    }
    let waker = WAITING.try_lock().ok().and_then(|mut w| w.take());
    if let Some(w) = waker {
        w.wake();
    }
}

/// The pass now waiting on the pool: woken if the engine stops.
pub fn wait_with(waker: &Waker) {
    if let Ok(mut w) = WAITING.lock() {
        *w = Some(waker.clone());
    }
}

/// `Err` (kind `'memory'` or `'internal'`) once the engine has stopped.
pub fn check() -> Result<(), JsValue> {
    match STATE.load(Ordering::SeqCst) {
        RUNNING => Ok(()),
        OUT_OF_MEMORY => Err(js_error(
            "memory",
            &format!(
                "out of memory: the engine could not get {} more bytes (WebAssembly \
                 memory holds at most 4 GiB, a shard and its output whole). Shards this \
                 large need the command line tool; or split them smaller. {AGAIN}",
                REQUESTED.load(Ordering::Relaxed)
            ),
        )),
        _ => {
            let what = PANIC.try_lock().map(|m| m.clone()).unwrap_or_default();
            Err(js_error(
                "internal",
                &format!("internal error: {what}. {AGAIN}"),
            ))
        }
    }
}

const AGAIN: &str = "The engine has stopped: load it again (a new Worker) to run another job.";

/// Why the engine stopped, as the `Error` its calls reject with (`kind`
/// `'memory'` or `'internal'`), or `null` while it runs. For a trap on the
/// calling thread (the single-threaded build), which rejects with a bare
/// `RuntimeError` or none at all: the embedder's `error` and
/// `unhandledrejection` listeners ask here what it was.
#[wasm_bindgen(js_name = engineStopped)]
pub fn engine_stopped() -> JsValue {
    check().err().unwrap_or(JsValue::NULL)
}
