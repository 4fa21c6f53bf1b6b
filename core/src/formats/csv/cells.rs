//! The missing cells pass 1 finds in a CSV/TSV text, kept so that pass 2
//! over the same text splices the fill values in without reading its
//! records again.

use twox_hash::XxHash3_64;

use crate::formats::push_leb128;

/// Where a text's missing cells are: every field pass 2 fills when its
/// column has a fill value (missing, and not `""`-escaped), in text order.
/// Pass 2 uses them only for a text of the same length and 64-bit XXH3
/// hash (a fast hash: the check reads every byte of both texts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingCells {
    len: usize,
    hash: u64,
    /// Records after the header.
    rows: u64,
    /// Per cell, as LEB128: the gap from the last cell's end to its start,
    /// its width, its column.
    cells: Vec<u8>,
}

impl MissingCells {
    /// Whether these are the cells of `text` (same length and hash), each
    /// within it and after the last one.
    pub fn describe(&self, text: &[u8]) -> bool {
        text.len() == self.len
            && XxHash3_64::oneshot(text) == self.hash
            && self
                .iter()
                .try_fold(0, |last, (start, end, _)| {
                    (last <= start && start <= end && end <= text.len()).then_some(end)
                })
                .is_some()
    }

    /// Records after the header.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// At least as many as there are cells (each takes 3 bytes or more).
    pub fn len_bound(&self) -> usize {
        self.cells.len() / 3
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.cells.capacity()
    }

    /// The cells as bytes, for [`MissingCells::from_bytes`] (kept in a
    /// file instead of memory), with a CRC-32 of the rest at the end.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(28 + self.cells.len());
        out.extend_from_slice(&(self.len as u64).to_le_bytes());
        out.extend_from_slice(&self.hash.to_le_bytes());
        out.extend_from_slice(&self.rows.to_le_bytes());
        out.extend_from_slice(&self.cells);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// The cells of [`MissingCells::to_bytes`]; `None` if the bytes are
    /// damaged (too short, another CRC-32).
    pub fn from_bytes(bytes: &[u8]) -> Option<MissingCells> {
        let (body, crc) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
        if crc32fast::hash(body).to_le_bytes() != crc {
            return None;
        }
        let word = |i: usize| -> Option<u64> {
            Some(u64::from_le_bytes(
                body.get(8 * i..8 * i + 8)?.try_into().ok()?,
            ))
        };
        let (len, hash, rows) = (word(0)?, word(1)?, word(2)?);
        Some(MissingCells {
            len: usize::try_from(len).ok()?,
            hash,
            rows,
            cells: body.get(24..)?.to_vec(),
        })
    }

    /// Each cell as `(start, end, column)`, in text order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        let mut at = 0;
        let mut end = 0usize;
        std::iter::from_fn(move || {
            if at >= self.cells.len() {
                return None;
            }
            let start = end.saturating_add(leb128(&self.cells, &mut at));
            end = start.saturating_add(leb128(&self.cells, &mut at));
            let column = leb128(&self.cells, &mut at);
            Some((start, end, column))
        })
    }
}

/// Collects a text's missing cells as pass 1 finds them.
#[derive(Debug, Default)]
pub struct CellRecorder {
    cells: Vec<u8>,
    end: usize,
}

impl CellRecorder {
    /// Adds the field `start..end` of `column` (after the last one added).
    #[inline]
    pub fn push(&mut self, start: usize, end: usize, column: usize) {
        push_leb128(&mut self.cells, (start - self.end) as u64);
        push_leb128(&mut self.cells, (end - start) as u64);
        push_leb128(&mut self.cells, column as u64);
        self.end = end;
    }

    /// The cells of `text`, which has `rows` records after its header.
    pub fn finish(mut self, text: &[u8], rows: u64) -> MissingCells {
        self.cells.shrink_to_fit();
        MissingCells {
            len: text.len(),
            hash: XxHash3_64::oneshot(text),
            rows,
            cells: self.cells,
        }
    }
}

/// Reads one LEB128 number at `bytes[*at..]` (written by [`push_leb128`]);
/// bits past a `usize` are dropped (damaged cells then fail
/// [`MissingCells::describe`], never a panic).
#[inline]
fn leb128(bytes: &[u8], at: &mut usize) -> usize {
    let mut v = 0usize;
    let mut shift = 0u32;
    while let Some(&b) = bytes.get(*at) {
        *at += 1;
        v |= usize::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
        if b < 0x80 {
            break;
        }
        shift = shift.saturating_add(7);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_back_as_pushed_and_describe_only_their_text() {
        let cells = [
            (0, 0, 0),
            (3, 3, 1),
            (3, 5, 2),
            (200, 1_000, 300),
            (70_000, 70_002, 5),
            (usize::MAX / 4, usize::MAX / 4 + 129, 16_384),
        ];
        let mut r = CellRecorder::default();
        for &(s, e, c) in &cells {
            r.push(s, e, c);
        }
        let text = b"a,b\n,x\n";
        let far = r.finish(text, 1);
        assert_eq!(far.iter().collect::<Vec<_>>(), cells);
        assert!(far.len_bound() >= cells.len());
        assert!(!far.describe(text), "cells past the text's end");
        let mut r = CellRecorder::default();
        r.push(4, 4, 0);
        let m = r.finish(text, 1);
        assert_eq!(m.rows(), 1);
        assert_eq!(m.len_bound(), 1);
        assert!(m.describe(text));
        assert!(!m.describe(b"a,b\n,y\n"), "same length, other bytes");
        assert!(!m.describe(b"a,b\n,x\n\n"), "other length");
        let bytes = m.to_bytes();
        for at in [0, 9, 30, bytes.len() - 1] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1;
            assert_eq!(MissingCells::from_bytes(&damaged), None, "byte {at}");
        }
        assert_eq!(MissingCells::from_bytes(&bytes), Some(m.clone()));
        // cells that read as numbers past a usize: refused, no panic
        let mut body = bytes[..24].to_vec();
        body.extend([0xff; 30]);
        body.extend(crc32fast::hash(&body).to_le_bytes());
        let wild = MissingCells::from_bytes(&body).unwrap();
        assert!(!wild.describe(text));
        for n in [0, 3, 27] {
            assert_eq!(MissingCells::from_bytes(&bytes[..n]), None);
        }
        assert_eq!(CellRecorder::default().finish(b"", 0).iter().count(), 0);
    }
}
