//! What counts as missing in a CSV/TSV field (SPEC section 3).
//!
//! A field is missing when it is empty or its whole text is one of the NA
//! strings (pandas' defaults unless configured). This check runs for every
//! cell, so the strings are bucketed by length.

/// pandas' default NA strings: a CSV field whose whole text is one of these
/// is missing (the empty field is always missing).
pub const DEFAULT_NA_VALUES: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// A fast membership test for the NA strings.
#[derive(Debug, Clone)]
pub struct NaMatcher {
    /// NA strings of up to 8 bytes, packed into integers, by length.
    short: [Vec<u64>; 9],
    /// Longer NA strings.
    long: Vec<Box<[u8]>>,
}

/// Up to 8 bytes as an integer, little-endian, zero-padded. Two loads
/// that may overlap (the same bytes land in the same places), not a copy
/// of `text.len()` bytes: a copy of variable length is a call to `memcpy`
/// natively and to the engine's `memory.copy` in wasm, for every cell.
#[inline]
fn pack(text: &[u8]) -> u64 {
    let n = text.len();
    debug_assert!(n <= 8);
    match (text.first_chunk::<4>(), text.last_chunk::<4>()) {
        (Some(first), Some(last)) => {
            let (lo, hi) = (u32::from_le_bytes(*first), u32::from_le_bytes(*last));
            u64::from(lo) | u64::from(hi) << ((n - 4) * 8)
        }
        _ if n > 0 => {
            let byte = |i: usize| u64::from(text[i]) << (8 * i);
            byte(0) | byte(n / 2) | byte(n - 1)
        }
        _ => 0,
    }
}

impl NaMatcher {
    /// The matcher for a run's NA strings.
    pub fn new<S: AsRef<str>>(na_values: &[S]) -> NaMatcher {
        let mut short: [Vec<u64>; 9] = Default::default();
        let mut long = Vec::new();
        for s in na_values {
            let s = s.as_ref();
            let b = s.as_bytes();
            if b.len() <= 8 {
                short[b.len()].push(pack(b));
            } else {
                long.push(b.into());
            }
        }
        NaMatcher { short, long }
    }

    /// Whether a field with this (unescaped) text is missing.
    // always: for wasm32 LLVM otherwise leaves it a call for every cell
    #[inline(always)]
    pub fn is_missing(&self, text: &[u8]) -> bool {
        if text.is_empty() {
            return true;
        }
        match self.short.get(text.len()) {
            Some(v) => !v.is_empty() && v.contains(&pack(text)),
            None => self.long.iter().any(|s| **s == *text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_configured_na() {
        let m = NaMatcher::new(DEFAULT_NA_VALUES);
        for na in ["", "NA", "#N/A N/A", "nan", "null", "-1.#QNAN"] {
            assert!(m.is_missing(na.as_bytes()), "{na}");
        }
        for v in ["na", "0", "Nan ", "NONE"] {
            assert!(!m.is_missing(v.as_bytes()), "{v}");
        }
        let m = NaMatcher::new(&["NULL", "not available"]);
        assert!(!m.is_missing(b"NA") && m.is_missing(b"NULL") && m.is_missing(b""));
        assert!(m.is_missing(b"not available") && !m.is_missing(b"not availablE"));
    }

    #[test]
    fn pack_is_the_zero_padded_little_endian_integer() {
        let mut rng = crate::test_rng::XorShift(7);
        for n in 0..=8 {
            for _ in 0..200 {
                let text: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                let mut padded = [0u8; 8];
                padded[..n].copy_from_slice(&text);
                assert_eq!(pack(&text), u64::from_le_bytes(padded), "{text:?}");
            }
        }
    }

    #[test]
    fn is_missing_is_whole_text_membership() {
        let na = [
            "",
            "NA",
            "n/a",
            "#N/A",
            "x",
            "-1.#QNAN",
            "1.#IND",
            "a longer NA text",
        ];
        let m = NaMatcher::new(&na);
        let mut rng = crate::test_rng::XorShift(11);
        // each NA string, and near misses: one byte changed, one cut, one added
        for s in na {
            assert!(m.is_missing(s.as_bytes()), "{s:?}");
            let b = s.as_bytes();
            for i in 0..b.len() {
                let mut t = b.to_vec();
                t[i] ^= 1 << (rng.next() % 8);
                assert_eq!(
                    m.is_missing(&t),
                    na.iter().any(|s| s.as_bytes() == t),
                    "{t:?}"
                );
                assert_eq!(
                    m.is_missing(&b[..i]),
                    na.contains(&&s[..i]),
                    "{:?}",
                    &b[..i]
                );
            }
            let mut t = b.to_vec();
            t.push(b' ');
            assert!(!m.is_missing(&t), "{t:?}");
        }
        // random short texts over the NA strings' bytes
        let alphabet = b"NAn/a#x-1.QIDN ";
        for _ in 0..20_000 {
            let n = (rng.next() % 10) as usize;
            let t: Vec<u8> = (0..n)
                .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
                .collect();
            assert_eq!(
                m.is_missing(&t),
                na.iter().any(|s| s.as_bytes() == t),
                "{t:?}"
            );
        }
    }
}
