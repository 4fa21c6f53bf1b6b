//! CSV and TSV shards (plain text; gzip is undone around them).

mod cells;
mod fill;
mod fit;
mod reader;

pub use cells::MissingCells;
pub use fill::fill;
pub use fit::fit;
pub use reader::write_field;

/// The header of a CSV/TSV text that may be cut short: `None` when the
/// first record does not end inside `text` (unless `whole`).
pub fn header_of_prefix(text: &[u8], delimiter: u8, whole: bool) -> Option<Vec<String>> {
    let valid = match std::str::from_utf8(text) {
        Ok(_) => text,
        Err(e) => &text[..e.valid_up_to()],
    };
    let mut r = reader::Reader::new(valid, delimiter);
    let mut fields = Vec::new();
    let names = reader::read_header(&mut r, &mut fields).ok()?;
    let ended = r.position() > 0 && valid.get(r.position() - 1) == Some(&b'\n');
    (whole || ended).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_of_a_prefix() {
        let h = |t: &str, whole| header_of_prefix(t.as_bytes(), b',', whole);
        assert_eq!(
            h("a,\"b,c\"\n1,2\n", false),
            Some(vec!["a".into(), "b,c".into()])
        );
        assert_eq!(h("a,\"b,c", false), None);
        assert_eq!(h("a,b", false), None);
        assert_eq!(h("a,b", true), Some(vec!["a".into(), "b".into()]));
        assert_eq!(h("\u{feff}x\ty\n", false), Some(vec!["x\ty".into()]));
    }
}
