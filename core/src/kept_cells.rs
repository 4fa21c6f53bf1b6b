//! The missing cells pass 1 finds in CSV/TSV training shards
//! ([`MissingCells`]), kept by shard path for every pass 2 until the next
//! pass 1, so pass 2 splices the fill values into a text it has seen
//! without reading its records again.
//!
//! They take a few bytes a cell (about 13 MB for 1.8 million rows of 14
//! columns with 18% of cells missing), so they grow with the training
//! split: none are kept unless asked for. In memory
//! ([`KeptCells::in_memory`], the web app) they stop at the limit asked
//! for, [`MEMORY_BYTES`] at most; with a file ([`KeptCells::in_file`], the
//! CLI), memory stays flat and they stop at [`FILE_BYTES`]. Shards past the
//! limit are read in full by pass 2, as are texts that changed since pass 1.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::formats::MissingCells;
use crate::io::lock;

/// Most bytes of cells kept in memory.
pub const MEMORY_BYTES: u64 = 64 << 20;
/// Most bytes of cells kept in a file.
pub const FILE_BYTES: u64 = 1 << 30;

/// Where one shard's cells are.
enum Place {
    Memory(Arc<MissingCells>),
    /// `len` bytes at `at` of the file ([`MissingCells::to_bytes`]).
    File {
        at: u64,
        len: usize,
    },
}

#[derive(Default)]
struct State {
    by_path: HashMap<String, Place>,
    /// Bytes kept (in memory, or in the file).
    bytes: u64,
    /// Most bytes kept in memory (without a file).
    limit: u64,
    file: Option<File>,
}

/// Pass 1's missing cells, by shard path.
#[derive(Default)]
pub(crate) struct KeptCells(Mutex<State>);

impl KeptCells {
    /// Keeps cells in memory from now on, up to `limit` bytes
    /// ([`MEMORY_BYTES`] at most; 0 keeps none).
    pub fn in_memory(&self, limit: u64) -> Result<()> {
        let mut state = lock(&self.0)?;
        *state = State {
            limit: limit.min(MEMORY_BYTES),
            ..State::default()
        };
        Ok(())
    }

    /// Whether cells are kept at all.
    pub fn enabled(&self) -> bool {
        self.0
            .lock()
            .map(|s| s.file.is_some() || s.limit > 0)
            .unwrap_or(false)
    }

    /// Keeps cells in `file` (empty, read and written) from now on.
    pub fn in_file(&self, file: File) -> Result<()> {
        let mut state = lock(&self.0)?;
        *state = State {
            file: Some(file),
            ..State::default()
        };
        Ok(())
    }

    /// Keeps `cells` of the shard at `path`, within the limit. A failed
    /// write keeps nothing (pass 2 then reads the shard in full).
    pub fn keep(&self, path: String, cells: MissingCells) -> Result<()> {
        let mut state = lock(&self.0)?;
        let State {
            by_path,
            bytes,
            limit,
            file,
        } = &mut *state;
        let place = match file {
            None => {
                let size = cells.heap_bytes() as u64;
                if *bytes + size > *limit {
                    return Ok(());
                }
                *bytes += size;
                Place::Memory(Arc::new(cells))
            }
            Some(file) => {
                let data = cells.to_bytes();
                if *bytes + data.len() as u64 > FILE_BYTES {
                    return Ok(());
                }
                let at = *bytes;
                let written = file
                    .seek(SeekFrom::Start(at))
                    .and_then(|_| file.write_all(&data));
                if written.is_err() {
                    return Ok(());
                }
                *bytes += data.len() as u64;
                Place::File {
                    at,
                    len: data.len(),
                }
            }
        };
        by_path.insert(path, place);
        Ok(())
    }

    /// The cells of the shard at `path`, if kept (and, from a file, read
    /// back whole).
    pub fn get(&self, path: &str) -> Result<Option<Arc<MissingCells>>> {
        let mut state = lock(&self.0)?;
        let State { by_path, file, .. } = &mut *state;
        Ok(match (by_path.get(path), file) {
            (Some(Place::Memory(cells)), _) => Some(cells.clone()),
            (Some(&Place::File { at, len }), Some(file)) => {
                let mut data = vec![0; len];
                file.seek(SeekFrom::Start(at))
                    .and_then(|_| file.read_exact(&mut data))
                    .ok()
                    .and_then(|_| MissingCells::from_bytes(&data))
                    .map(Arc::new)
            }
            _ => None,
        })
    }

    /// Drops every shard's cells (the file is written over from its start).
    pub fn clear(&self) {
        if let Ok(mut state) = self.0.lock() {
            state.by_path.clear();
            state.bytes = 0;
        }
    }

    /// Bytes kept, in memory or in the file.
    pub fn bytes(&self) -> u64 {
        self.0.lock().map(|s| s.bytes).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::csv_fit_for_tests as fit;

    fn cells_of(text: &str) -> MissingCells {
        fit(text.as_bytes()).expect("cells")
    }

    #[test]
    fn cells_come_back_from_memory_and_from_a_file() {
        let texts = ["a,b\n,1\n2,\n", "a,b\nNA,\"\"\n3,4\n,\n", "a,b\n1,2\n"];
        let file = tempfile::tempfile().unwrap();
        let none = KeptCells::default();
        assert!(!none.enabled());
        none.keep("train/0.csv".into(), cells_of(texts[0])).unwrap();
        assert!(none.get("train/0.csv").unwrap().is_none(), "kept unasked");
        let small = KeptCells::default();
        small.in_memory(1).unwrap();
        small
            .keep("train/0.csv".into(), cells_of(texts[0]))
            .unwrap();
        assert!(
            small.get("train/0.csv").unwrap().is_none(),
            "over the limit"
        );
        for kept in [
            {
                let k = KeptCells::default();
                k.in_memory(MEMORY_BYTES).unwrap();
                k
            },
            {
                let k = KeptCells::default();
                k.in_file(file).unwrap();
                k
            },
        ] {
            assert!(kept.enabled());
            for (i, t) in texts.iter().enumerate() {
                kept.keep(format!("train/{i}.csv"), cells_of(t)).unwrap();
            }
            assert!(kept.bytes() > 0);
            for (i, t) in texts.iter().enumerate() {
                let got = kept.get(&format!("train/{i}.csv")).unwrap().unwrap();
                assert_eq!(*got, cells_of(t));
                assert!(got.describe(t.as_bytes()));
            }
            assert!(kept.get("train/9.csv").unwrap().is_none());
            kept.clear();
            assert!(kept.get("train/0.csv").unwrap().is_none());
            assert_eq!(kept.bytes(), 0);
            // written again after a clear (from the file's start)
            kept.keep("train/x.csv".into(), cells_of(texts[1])).unwrap();
            assert_eq!(
                *kept.get("train/x.csv").unwrap().unwrap(),
                cells_of(texts[1])
            );
        }
    }
}
