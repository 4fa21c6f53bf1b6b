//! What counts as missing in a CSV/TSV field (SPEC section 3).
//!
//! A field is missing when it is empty or its whole text is one of the NA
//! strings (pandas' defaults unless configured). This check runs for every
//! cell, so the strings are bucketed by length.

use crate::config::Config;

/// A fast membership test for the NA strings.
#[derive(Debug, Clone)]
pub struct NaMatcher {
    by_len: Vec<Vec<Box<[u8]>>>,
}

impl NaMatcher {
    /// The matcher for a run's NA strings.
    pub fn new(config: &Config) -> NaMatcher {
        let max = config.na_values.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut by_len = vec![Vec::new(); max + 1];
        for s in &config.na_values {
            by_len[s.len()].push(s.as_bytes().into());
        }
        NaMatcher { by_len }
    }

    /// Whether a field with this (unescaped) text is missing.
    #[inline]
    pub fn is_missing(&self, text: &[u8]) -> bool {
        text.is_empty()
            || self
                .by_len
                .get(text.len())
                .is_some_and(|v| v.iter().any(|s| **s == *text))
    }
}

/// Whether the text is one of pandas' boolean spellings.
#[inline]
pub fn parse_bool(text: &[u8]) -> Option<bool> {
    match text {
        b"True" | b"TRUE" | b"true" => Some(true),
        b"False" | b"FALSE" | b"false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_configured_na() {
        let m = NaMatcher::new(&Config::default());
        for na in ["", "NA", "#N/A N/A", "nan", "null", "-1.#QNAN"] {
            assert!(m.is_missing(na.as_bytes()), "{na}");
        }
        for v in ["na", "0", "Nan ", "NONE"] {
            assert!(!m.is_missing(v.as_bytes()), "{v}");
        }
        let c = Config::from_env_text("NA_VALUES=NULL").unwrap();
        let m = NaMatcher::new(&c);
        assert!(!m.is_missing(b"NA") && m.is_missing(b"NULL") && m.is_missing(b""));
    }
}
