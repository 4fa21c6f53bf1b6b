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

#[inline]
fn pack(text: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    buf[..text.len()].copy_from_slice(text);
    u64::from_le_bytes(buf)
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
    #[inline]
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
}
