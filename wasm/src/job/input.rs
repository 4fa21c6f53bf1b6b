//! Where a shard's bytes come from (`Blob`, bytes, a stream, an async
//! iterable, a function returning one, a URL), and reading them.

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::Blob;

use crate::js_error;

/// Where a shard's bytes come from.
pub(super) enum Input {
    Blob(Blob),
    /// Fetched at each read: the URL and the `fetch` options.
    Url(String, JsValue),
    /// Bytes, a stream, an async iterable, or a function returning one
    /// (called at each read). A stream given as it is can be read once.
    Value(JsValue, std::cell::Cell<bool>),
}

impl Input {
    pub(super) fn from_js(i: usize, path: &str, item: &JsValue) -> Result<(Input, u64), JsValue> {
        let size = Reflect::get(item, &"size".into())
            .ok()
            .and_then(|s| s.as_f64())
            .unwrap_or(0.0) as u64;
        if let Some(blob) = blob_of(item, "file") {
            let size = blob.size() as u64;
            return Ok((Input::Blob(blob), size));
        }
        let url = Reflect::get(item, &"url".into()).unwrap_or(JsValue::UNDEFINED);
        if !url.is_undefined() && !url.is_null() {
            // a string, or a `URL` object (its text)
            let text = url.as_string().unwrap_or_else(|| {
                url.dyn_ref::<js_sys::Object>()
                    .map(|o| String::from(o.to_string()))
                    .unwrap_or_default()
            });
            let init = Reflect::get(item, &"init".into()).unwrap_or(JsValue::UNDEFINED);
            return Ok((Input::Url(text, init), size));
        }
        let file = Reflect::get(item, &"file".into()).unwrap_or(JsValue::UNDEFINED);
        if file.is_undefined() || file.is_null() {
            return Err(js_error(
                "layout",
                &format!("files[{i}] ({path}) has no `file` (Blob, bytes, stream) or `url`"),
            ));
        }
        let size = match byte_length(&file) {
            Some(n) => n,
            None => size,
        };
        Ok((Input::Value(file, Default::default()), size))
    }

    /// Starts reading; resolves to the bytes (`Uint8Array` or `ArrayBuffer`).
    pub(super) fn start(&self, path: &str) -> Promise {
        match self {
            Input::Blob(b) => b.array_buffer(),
            Input::Url(url, init) => future_to_promise(fetch_bytes(url.clone(), init.clone())),
            Input::Value(v, used) => {
                let v = v.clone();
                let once =
                    !v.is_function() && byte_length(&v).is_none() && !v.is_instance_of::<Blob>();
                if once && used.replace(true) {
                    return Promise::reject(&js_sys::Error::new(
                        "this stream was already read; give a function that returns a new \
                         stream (training shards are read by pass 1 and pass 2)",
                    ));
                }
                let path = path.to_string();
                future_to_promise(async move { value_bytes(&path, v).await })
            }
        }
    }
}

/// The length of bytes (`Uint8Array`, `ArrayBuffer`, other views), or `None`.
fn byte_length(v: &JsValue) -> Option<u64> {
    if v.is_instance_of::<js_sys::ArrayBuffer>() || js_sys::ArrayBuffer::is_view(v) {
        Reflect::get(v, &"byteLength".into())
            .ok()
            .and_then(|n| n.as_f64())
            .map(|n| n as u64)
    } else {
        None
    }
}

/// Calls a JS method by name.
pub(super) fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(target, &method.into())?
        .dyn_into()
        .map_err(|_| js_sys::Error::new(&format!("no `{method}` method")))?;
    f.apply(target, &args.iter().collect::<Array>())
}

/// Awaits a value if it is a promise (or any thenable).
async fn settle(v: JsValue) -> Result<JsValue, JsValue> {
    if v.has_type::<Promise>() || Reflect::get(&v, &"then".into()).is_ok_and(|t| t.is_function()) {
        JsFuture::from(Promise::resolve(&v)).await
    } else {
        Ok(v)
    }
}

/// `fetch(url, init)` with the runtime's global fetch; an HTTP error status
/// is an error.
async fn fetch_bytes(url: String, init: JsValue) -> Result<JsValue, JsValue> {
    let global = js_sys::global();
    let response = settle(call(&global, "fetch", &[url.clone().into(), init])?).await?;
    let status = Reflect::get(&response, &"status".into())?
        .as_f64()
        .unwrap_or(0.0);
    if !(200.0..300.0).contains(&status) {
        // free the connection
        if let Ok(body) = Reflect::get(&response, &"body".into()) {
            if !body.is_null() && !body.is_undefined() {
                let _ = call(&body, "cancel", &[]);
            }
        }
        return Err(js_sys::Error::new(&format!("HTTP {status} from {url}")).into());
    }
    settle(call(&response, "arrayBuffer", &[])?).await
}

/// The bytes of a value: bytes, a `Blob`, a `ReadableStream`, an async
/// iterable of byte chunks, or a function returning one of those.
async fn value_bytes(path: &str, v: JsValue) -> Result<JsValue, JsValue> {
    let mut v = v;
    if let Some(f) = v.dyn_ref::<Function>() {
        v = settle(f.call1(&JsValue::NULL, &path.into())?).await?;
    }
    if byte_length(&v).is_some() {
        return Ok(v);
    }
    if let Some(b) = v.dyn_ref::<Blob>() {
        return JsFuture::from(b.array_buffer()).await;
    }
    let chunks = Array::new();
    let mut total = 0u32;
    let mut push = |chunk: JsValue| -> Result<(), JsValue> {
        let bytes = if chunk.is_instance_of::<Uint8Array>() {
            chunk.unchecked_into::<Uint8Array>()
        } else if byte_length(&chunk).is_some() {
            Uint8Array::new(&chunk)
        } else {
            return Err(js_sys::Error::new("a stream chunk is not bytes (Uint8Array)").into());
        };
        total = total
            .checked_add(bytes.length())
            .ok_or_else(|| js_sys::Error::new("larger than 4 GiB"))?;
        chunks.push(&bytes);
        Ok(())
    };
    let iterator = Reflect::get(&v, &js_sys::Symbol::async_iterator())
        .ok()
        .filter(|f| f.is_function());
    if Reflect::get(&v, &"getReader".into()).is_ok_and(|f| f.is_function()) {
        let reader = call(&v, "getReader", &[])?;
        loop {
            let step = settle(call(&reader, "read", &[])?).await?;
            if Reflect::get(&step, &"done".into())?.is_truthy() {
                break;
            }
            push(Reflect::get(&step, &"value".into())?)?;
        }
    } else if let Some(f) = iterator {
        let it = f.unchecked_ref::<Function>().call0(&v)?;
        loop {
            let step = settle(call(&it, "next", &[])?).await?;
            if Reflect::get(&step, &"done".into())?.is_truthy() {
                break;
            }
            push(Reflect::get(&step, &"value".into())?)?;
        }
    } else {
        return Err(js_sys::Error::new(
            "not a Blob, bytes, ReadableStream or async iterable of bytes",
        )
        .into());
    }
    let out = Uint8Array::new_with_length(total);
    let mut at = 0;
    for c in chunks.iter() {
        let c: Uint8Array = c.unchecked_into();
        out.set(&c, at);
        at += c.length();
    }
    Ok(out.into())
}

fn blob_of(item: &JsValue, key: &str) -> Option<Blob> {
    Reflect::get(item, &JsValue::from_str(key))
        .ok()
        .and_then(|f| f.dyn_into().ok())
}

pub(super) fn string_of(item: &JsValue, key: &str) -> Option<String> {
    Reflect::get(item, &JsValue::from_str(key))
        .ok()
        .and_then(|p| p.as_string())
}

/// The bytes of a batch's started reads, awaited together (one wait, not
/// one per shard: many small shards make many reads); the first failure,
/// in shard order, names its file.
pub(super) async fn read_all(
    reads: Vec<(String, Promise)>,
) -> Result<Vec<(String, Uint8Array)>, JsValue> {
    if reads.is_empty() {
        return Ok(Vec::new());
    }
    let all: Array = reads.iter().map(|(_, read)| JsValue::from(read)).collect();
    let settled: Array = JsFuture::from(Promise::all_settled(&all)).await?.into();
    reads
        .into_iter()
        .zip(settled.iter())
        .map(|((path, _), outcome)| {
            let status = Reflect::get(&outcome, &"status".into())?.as_string();
            if status.as_deref() == Some("fulfilled") {
                Ok((path, as_bytes(Reflect::get(&outcome, &"value".into())?)))
            } else {
                let reason = Reflect::get(&outcome, &"reason".into())?;
                Err(cannot_read(&path, &reason))
            }
        })
        .collect()
}

/// A read's result (`ArrayBuffer` or a byte view) as a `Uint8Array`.
fn as_bytes(buffer: JsValue) -> Uint8Array {
    match buffer.dyn_into::<Uint8Array>() {
        Ok(view) => view,
        Err(buffer) => Uint8Array::new(&buffer),
    }
}

fn cannot_read(path: &str, e: &JsValue) -> JsValue {
    js_error("io", &format!("{path}: cannot read the file: {}", why(e)))
}

/// The bytes of a started read (`blob.arrayBuffer()`), copied into wasm
/// memory; a failure names the file.
pub(super) async fn read_bytes(path: &str, read: Promise) -> Result<Vec<u8>, JsValue> {
    let buffer = JsFuture::from(read)
        .await
        .map_err(|e| cannot_read(path, &e))?;
    Ok(as_bytes(buffer).to_vec())
}

pub(super) async fn read_blob(path: &str, blob: &Blob) -> Result<Vec<u8>, JsValue> {
    read_bytes(path, blob.array_buffer()).await
}

/// A thrown JS value's message.
pub(super) fn why(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| format!("{e:?}"))
}
