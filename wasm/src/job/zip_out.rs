//! The zip of a fill's outputs, written to a `WritableStream` in chunks.

use js_sys::{Array, Uint8Array};
use shardimpute_core as core;
use shardimpute_core::zip::Crc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::WritableStreamDefaultWriter;

use super::batch::Output;

/// The zip of a fill's outputs, written to a `WritableStream` as shards
/// finish (each write awaited, so a slow reader holds the pass back).
pub(super) struct ZipOut {
    pub(super) writer: WritableStreamDefaultWriter,
    pub(super) zip: core::zip::ZipWriter,
    /// `spareChunks`: where chunks come from before new ones are made.
    pub(super) spare: Option<Array>,
}

impl ZipOut {
    async fn write_chunk(&self, chunk: Uint8Array) -> Result<(), JsValue> {
        JsFuture::from(self.writer.ready()).await?;
        JsFuture::from(self.writer.write_with_chunk(&chunk)).await?;
        Ok(())
    }

    /// One entry.
    pub(super) async fn add(&mut self, path: &str, bytes: &[u8]) -> Result<(), JsValue> {
        self.add_all(&[(path.to_string(), bytes.to_vec(), None)])
            .await
    }

    /// Entries (their checksums computed here where missing), headers and
    /// data written as one run of bytes cut into chunks of
    /// [`CHUNK_BYTES`]: a batch of small shards makes few writes, and the
    /// chunks stay small enough that the browser reuses their memory.
    pub(super) async fn add_all(&mut self, outputs: &[Output]) -> Result<(), JsValue> {
        let start = self.zip.len();
        let headers: Vec<Vec<u8>> = outputs
            .iter()
            .map(|(path, bytes, crc)| {
                let crc = crc.unwrap_or_else(|| Crc::of(bytes));
                self.zip.push(path, bytes.len() as u64, crc)
            })
            .collect();
        let parts: Vec<&[u8]> = headers
            .iter()
            .zip(outputs)
            .flat_map(|(header, (_, bytes, _))| [&header[..], &bytes[..]])
            .collect();
        self.write_parts(&parts, start).await
    }

    /// Bytes copied from wasm memory into chunks of [`CHUNK_BYTES`] (the
    /// last one shorter), each written when full; `start` is where they
    /// go in the archive. A chunk is not touched once written: its reader
    /// may take (detach) its buffer.
    ///
    /// Each chunk is a view that starts as far into its buffer as its
    /// first byte's place in the archive is past a multiple of 8
    /// ([`core::zip::ALIGN`]). The archive starts each shard's data at a
    /// multiple of 8, as the allocator does the shard's bytes in wasm
    /// memory, so both ends of a copy are 8-aligned: the JS engine copies
    /// 8 bytes at a time out of shared memory then, a byte at a time
    /// otherwise.
    pub(super) async fn write_parts(&self, parts: &[&[u8]], start: u64) -> Result<(), JsValue> {
        let mut left: usize = parts.iter().map(|p| p.len()).sum();
        let mut parts = parts.iter().copied();
        let mut part: &[u8] = &[];
        let mut lead = (start % core::zip::ALIGN) as usize;
        while left > 0 {
            let size = left.min(CHUNK_BYTES - lead);
            let chunk = self
                .spare_chunk(lead + size)
                .unwrap_or_else(|| Uint8Array::new_with_length((lead + size) as u32))
                .subarray(lead as u32, (lead + size) as u32);
            lead = 0;
            let mut at = 0;
            while at < size {
                if part.is_empty() {
                    let Some(next) = parts.next() else { break };
                    part = next;
                }
                let n = part.len().min(size - at);
                chunk
                    .subarray(at as u32, (at + n) as u32)
                    .copy_from(&part[..n]);
                (part, at) = (&part[n..], at + n);
            }
            left -= size;
            self.write_chunk(chunk).await?;
        }
        Ok(())
    }

    /// The first `size` bytes of a spare chunk (`spareChunks`) at least
    /// that large, taken from the end of the list; smaller ones, detached
    /// ones and anything else met on the way are dropped. Every byte of
    /// it is written over before it is written to the stream.
    fn spare_chunk(&self, size: usize) -> Option<Uint8Array> {
        let spare = self.spare.as_ref()?;
        while spare.length() > 0 {
            if let Ok(chunk) = spare.pop().dyn_into::<Uint8Array>() {
                if chunk.length() as usize >= size {
                    return Some(chunk.subarray(0, size as u32));
                }
            }
        }
        None
    }
}

/// Bytes in one chunk written to the zip stream. A chunk is a new
/// `ArrayBuffer` that the stream's reader owns (or one it gave back in
/// `spareChunks`): a small one is still in the CPU's cache when the web
/// app's writer copies it into the file (with chunks of 64 MB that copy
/// took the writer 0.58 s of CPU on a 294 MB zip, with these 0.03-0.05 s).
const CHUNK_BYTES: usize = 512 << 10;
