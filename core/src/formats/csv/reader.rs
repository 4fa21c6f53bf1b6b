//! CSV/TSV tokenizing, as pandas' `read_csv` reads it.
//!
//! Pass 2 must copy untouched fields through byte for byte, so this reader
//! hands out each field's raw byte span (quotes included) next to its
//! unescaped text. It reads RFC 4180: `"` quotes, `""` escapes, records end
//! at `\n` or `\r\n`, quoted fields may span lines; blank lines are skipped
//! (pandas' `skip_blank_lines`). Line numbers are only computed for errors.

use std::borrow::Cow;

use crate::error::{Error, Result};

/// One field of a record: its raw byte span in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// First byte (the opening quote, if quoted).
    pub start: usize,
    /// One past the last byte (after the closing quote, if quoted).
    pub end: usize,
    /// Whether the field is quoted.
    pub quoted: bool,
    /// Whether a quoted field contains `""` escapes.
    pub escaped: bool,
}

impl Field {
    /// The field's text: quotes removed, `""` unescaped.
    #[inline]
    pub fn text<'a>(&self, data: &'a [u8]) -> Cow<'a, [u8]> {
        if !self.quoted {
            return Cow::Borrowed(&data[self.start..self.end]);
        }
        let inner = &data[self.start + 1..self.end - 1];
        if !self.escaped {
            return Cow::Borrowed(inner);
        }
        let mut out = Vec::with_capacity(inner.len());
        let mut i = 0;
        while i < inner.len() {
            out.push(inner[i]);
            i += if inner[i] == b'"' { 2 } else { 1 };
        }
        Cow::Owned(out)
    }
}

/// A pull reader of records over a whole CSV/TSV text in memory.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    delimiter: u8,
    /// Where the current record starts.
    record_start: usize,
    /// Where the ends of unquoted fields are found, 64 bytes at a time.
    ends: FieldEnds,
}

/// Finds the bytes that end an unquoted field (the delimiter, `\n`, `\r`)
/// with SIMD compares over 64-byte blocks: one bit mask per block, then
/// each field end is a count of trailing zeros. Blocks are only read
/// forwards, as the reader moves.
struct FieldEnds {
    delimiter: u8,
    /// Start of the block `mask` describes (a multiple of 64).
    block: usize,
    /// Bit `k` set: byte `block + k` ends a field.
    mask: u64,
}

impl FieldEnds {
    const BLOCK: usize = 64;

    fn new(delimiter: u8) -> FieldEnds {
        FieldEnds {
            delimiter,
            block: usize::MAX,
            mask: 0,
        }
    }

    /// The mask of `data[block..block + 64]` (shorter at the end of data).
    fn mask_of(&self, data: &[u8], block: usize) -> u64 {
        let bytes = &data[block..data.len().min(block + Self::BLOCK)];
        // wasm: portable SIMD's 64-lane bitmask is lowered lane by lane
        // there (64 extracts a block, most of the scanner's time), so the
        // 16-lane `i8x16.bitmask` is used directly
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        if bytes.len() == Self::BLOCK {
            use std::arch::wasm32::*;
            let (delimiter, lf, cr) = (
                u8x16_splat(self.delimiter),
                u8x16_splat(b'\n'),
                u8x16_splat(b'\r'),
            );
            let mut mask = 0u64;
            for (k, chunk) in bytes.chunks_exact(16).enumerate() {
                let v: v128 = std::simd::u8x16::from_slice(chunk).into();
                let ends = v128_or(
                    u8x16_eq(v, delimiter),
                    v128_or(u8x16_eq(v, lf), u8x16_eq(v, cr)),
                );
                mask |= u64::from(u8x16_bitmask(ends)) << (16 * k);
            }
            return mask;
        }
        #[cfg(not(target_arch = "wasm32"))]
        if bytes.len() == Self::BLOCK {
            use std::simd::prelude::*;
            let v = u8x64::from_slice(bytes);
            let ends = v.simd_eq(u8x64::splat(self.delimiter))
                | v.simd_eq(u8x64::splat(b'\n'))
                | v.simd_eq(u8x64::splat(b'\r'));
            return ends.to_bitmask();
        }
        #[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
        if bytes.len() == Self::BLOCK {
            return swar_mask(bytes, &[self.delimiter, b'\n', b'\r']);
        }
        scalar_mask(bytes, self.delimiter)
    }

    /// The first byte at or after `i` that ends a field, or `data.len()`.
    #[inline]
    fn next(&mut self, data: &[u8], i: usize) -> usize {
        let mut block = i & !(Self::BLOCK - 1);
        let mut skip = i - block;
        loop {
            if block >= data.len() {
                return data.len();
            }
            if block != self.block {
                self.mask = self.mask_of(data, block);
                self.block = block;
            }
            let m = self.mask >> skip;
            if m != 0 {
                return block + skip + m.trailing_zeros() as usize;
            }
            block += Self::BLOCK;
            skip = 0;
        }
    }
}

/// Bit `k` set: `bytes[k]` ends a field (`bytes` is at most 64 long).
fn scalar_mask(bytes: &[u8], delimiter: u8) -> u64 {
    bytes
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == delimiter || b == b'\n' || b == b'\r')
        .fold(0, |m, (k, _)| m | 1 << k)
}

/// The mask of the bytes of a whole 64-byte block that are one of
/// `needles` (bit `k`: `bytes[k]`), 8 bytes at a time in plain integer
/// arithmetic (SWAR), for wasm builds without `simd128`.
#[cfg(any(test, all(target_arch = "wasm32", not(target_feature = "simd128"))))]
fn swar_mask(bytes: &[u8], needles: &[u8]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ONES: u64 = 0x0101_0101_0101_0101;
    /// 0x80 in every byte of `x` that is zero, nothing elsewhere (exact:
    /// no carry crosses a byte).
    fn zero_bytes(x: u64) -> u64 {
        !(((x & LOW7) + LOW7) | x | LOW7)
    }
    let mut mask = 0u64;
    for (k, word) in bytes.as_chunks::<8>().0.iter().enumerate() {
        let w = u64::from_le_bytes(*word);
        let ends = needles
            .iter()
            .fold(0, |e, &n| e | zero_bytes(w ^ (ONES * u64::from(n))));
        // gather each byte's top bit into the top byte, in byte order
        let bits = (ends >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
        mask |= bits << (8 * k);
    }
    mask
}

/// For each of `needles`, the mask of its bytes in a 64-byte block (bit
/// `k` set: `block[k]` is that byte), with SIMD compares where the target
/// has them (as [`FieldEnds`] finds field ends).
// always: for wasm32 LLVM otherwise leaves it a call for every block
#[inline(always)]
pub(super) fn byte_masks<const K: usize>(block: &[u8; 64], needles: [u8; K]) -> [u64; K] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use std::arch::wasm32::*;
        let mut masks = [0u64; K];
        for (k, chunk) in block.chunks_exact(16).enumerate() {
            let v: v128 = std::simd::u8x16::from_slice(chunk).into();
            for (mask, &n) in masks.iter_mut().zip(&needles) {
                *mask |= u64::from(u8x16_bitmask(u8x16_eq(v, u8x16_splat(n)))) << (16 * k);
            }
        }
        masks
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::simd::prelude::*;
        let v = u8x64::from_array(*block);
        needles.map(|n| v.simd_eq(u8x64::splat(n)).to_bitmask())
    }
    #[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
    {
        needles.map(|n| swar_mask(block, &[n]))
    }
}

/// The 1-based line number of byte `pos` of `data`.
pub fn line_of(data: &[u8], pos: usize) -> usize {
    1 + memchr::memchr_iter(b'\n', &data[..pos.min(data.len())]).count()
}

impl<'a> Reader<'a> {
    /// A reader over `data`, which must be valid UTF-8 (see [`check_utf8`]).
    /// A UTF-8 byte-order mark is skipped.
    pub fn new(data: &'a [u8], delimiter: u8) -> Reader<'a> {
        let pos = if data.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        Reader {
            data,
            pos,
            delimiter,
            record_start: pos,
            ends: FieldEnds::new(delimiter),
        }
    }

    /// The whole input.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Where the last record read starts.
    pub fn record_start(&self) -> usize {
        self.record_start
    }

    /// Where the next record starts (after the last one's line ending).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next record, which must have `ncols` fields: a ragged row is an
    /// error naming its line. `false` at the end.
    pub fn next_row(&mut self, fields: &mut Vec<Field>, ncols: usize) -> Result<bool> {
        if !self.next_record(fields)? {
            return Ok(false);
        }
        if fields.len() != ncols {
            return Err(Error::csv(format!(
                "row has {} fields, the header has {ncols}",
                fields.len()
            ))
            .at(format!("line {}", self.line())));
        }
        Ok(true)
    }

    /// The line number where the last record read starts, for messages.
    pub fn line(&self) -> usize {
        line_of(self.data, self.record_start)
    }

    /// Reads the next record's fields into `fields` (cleared first).
    /// Returns `false` at the end of the input.
    #[inline]
    pub fn next_record(&mut self, fields: &mut Vec<Field>) -> Result<bool> {
        fields.clear();
        let data = self.data;
        let len = data.len();
        // skip blank lines
        while self.pos < len && (data[self.pos] == b'\n' || data[self.pos] == b'\r') {
            if data[self.pos] == b'\r' && data.get(self.pos + 1) != Some(&b'\n') {
                break;
            }
            self.pos += if data[self.pos] == b'\r' { 2 } else { 1 };
        }
        if self.pos >= len {
            return Ok(false);
        }
        self.record_start = self.pos;
        let delim = self.delimiter;
        let mut i = self.pos;
        loop {
            let start = i;
            if i < len && data[i] == b'"' {
                // quoted field
                let mut escaped = false;
                i += 1;
                loop {
                    match memchr::memchr(b'"', &data[i..]) {
                        None => {
                            return Err(Error::csv(format!(
                                "unterminated quoted field starting at line {}",
                                line_of(data, start)
                            )))
                        }
                        Some(k) => {
                            i += k + 1;
                            if data.get(i) == Some(&b'"') {
                                escaped = true;
                                i += 1;
                            } else {
                                break;
                            }
                        }
                    }
                }
                fields.push(Field {
                    start,
                    end: i,
                    quoted: true,
                    escaped,
                });
                match data.get(i) {
                    None => break,
                    Some(&b) if b == delim => i += 1,
                    Some(b'\n') => {
                        i += 1;
                        break;
                    }
                    Some(b'\r') if data.get(i + 1) == Some(&b'\n') => {
                        i += 2;
                        break;
                    }
                    Some(_) => {
                        return Err(Error::csv(format!(
                            "unexpected text after a closing quote at line {}",
                            line_of(data, i)
                        )))
                    }
                }
            } else {
                // unquoted field: up to the delimiter or the line end
                i = self.ends.next(data, i);
                fields.push(Field {
                    start,
                    end: i,
                    quoted: false,
                    escaped: false,
                });
                if i >= len {
                    break;
                }
                let b = data[i];
                if b == delim {
                    i += 1;
                    if i >= len {
                        fields.push(Field {
                            start: i,
                            end: i,
                            quoted: false,
                            escaped: false,
                        });
                        break;
                    }
                } else if b == b'\n' {
                    i += 1;
                    break;
                } else if data.get(i + 1) == Some(&b'\n') {
                    i += 2;
                    break;
                } else {
                    return Err(Error::csv(format!(
                        "bare carriage return at line {}",
                        line_of(data, i)
                    )));
                }
            }
        }
        self.pos = i;
        Ok(true)
    }
}

/// Checks that `data` is UTF-8, naming the line of the first bad byte.
pub fn check_utf8(data: &[u8]) -> Result<()> {
    // the vectorized check (SSE/AVX, NEON, wasm simd128) first; std's
    // finds where the first bad byte is
    if simdutf8::basic::from_utf8(data).is_ok() {
        return Ok(());
    }
    match std::str::from_utf8(data) {
        Ok(_) => Ok(()),
        Err(e) => {
            let at = e.valid_up_to();
            Err(Error::csv(format!(
                "invalid UTF-8 at line {} (byte offset {at})",
                line_of(data, at)
            )))
        }
    }
}

/// Refuses a NUL byte, naming its line and column: pandas' reader cuts a
/// field at a NUL (`x<NUL>y` reads as `x`), so no fill value or kept cell
/// could match what the reference reads.
pub fn check_no_nul(data: &[u8], delimiter: u8) -> Result<()> {
    let Some(at) = memchr::memchr(0, data) else {
        return Ok(());
    };
    let mut reader = Reader::new(data, delimiter);
    let mut fields = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut column = None;
    while let Ok(true) = reader.next_record(&mut fields) {
        if names.is_empty() {
            names = fields
                .iter()
                .enumerate()
                .map(|(i, f)| column_name(i, &f.text(data)))
                .collect();
        }
        if let Some(k) = fields.iter().position(|f| f.start <= at && at < f.end) {
            column = Some(k);
            break;
        }
        if reader.position() > at {
            break;
        }
    }
    let column = match column.and_then(|k| names.get(k).map(|n| (k, n))) {
        Some((k, n)) => format!("column {} (`{n}`)", k + 1),
        None => format!("byte offset {at}"),
    };
    Err(Error::csv(
        "NUL byte in a field (pandas would cut the field there); remove it or fix the file",
    )
    .at(format!("line {}, {column}", line_of(data, at))))
}

/// A column's name as pandas gives it: the header text, or `Unnamed: N`
/// (N counted from 0) for an empty one.
fn column_name(index: usize, text: &[u8]) -> String {
    if text.is_empty() {
        return format!("Unnamed: {index}");
    }
    // data was checked to be UTF-8 and fields split on ASCII bytes
    String::from_utf8_lossy(text).into_owned()
}

/// Whether a field's text must be quoted on output.
pub fn needs_quotes(text: &[u8], delimiter: u8) -> bool {
    text.iter()
        .any(|&b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r')
}

/// Appends `text` as one field, quoted (RFC 4180) when it needs it.
pub fn write_field(out: &mut Vec<u8>, text: &[u8], delimiter: u8) {
    if needs_quotes(text, delimiter) {
        out.push(b'"');
        for &b in text {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(text);
    }
}

/// The header row: column names as pandas names them (an empty one is
/// `Unnamed: N`), checked for duplicates.
pub fn read_header(reader: &mut Reader<'_>, fields: &mut Vec<Field>) -> Result<Vec<String>> {
    if !reader.next_record(fields)? {
        return Err(Error::csv("empty file: no header row"));
    }
    let data = reader.data();
    let mut names: Vec<String> = Vec::with_capacity(fields.len());
    let mut seen = std::collections::HashMap::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let name = column_name(i, &f.text(data));
        if let Some(first) = seen.insert(name.clone(), i) {
            return Err(Error::csv(format!(
                "duplicate column name `{name}` (columns {} and {}; pandas would rename the \
                 second `{name}.1`): give every column its own name",
                first + 1,
                i + 1
            ))
            .at(format!("line {}", reader.line())));
        }
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str) -> Result<Vec<Vec<String>>> {
        let data = text.as_bytes();
        let mut r = Reader::new(data, b',');
        let mut fields = Vec::new();
        let mut out = Vec::new();
        while r.next_record(&mut fields)? {
            out.push(
                fields
                    .iter()
                    .map(|f| String::from_utf8(f.text(data).into_owned()).unwrap())
                    .collect(),
            );
        }
        Ok(out)
    }

    #[test]
    fn quotes_newlines_crlf_blank_lines() {
        let r = records("a,b\r\n\"x, \"\"y\"\"\",\"two\nlines\"\n\n1,\n,\n").unwrap();
        assert_eq!(
            r,
            vec![
                vec!["a", "b"],
                vec!["x, \"y\"", "two\nlines"],
                vec!["1", ""],
                vec!["", ""]
            ]
        );
        // no final newline, trailing empty field
        assert_eq!(records("a,b\n1,").unwrap()[1], vec!["1", ""]);
        assert_eq!(records("\u{feff}a\n1").unwrap()[0], vec!["a"]);
    }

    #[test]
    fn raw_spans_cover_the_quotes() {
        let data = b"\"a\"\"b\",c\n";
        let mut r = Reader::new(data, b',');
        let mut f = Vec::new();
        assert!(r.next_record(&mut f).unwrap());
        assert_eq!(
            (f[0].start, f[0].end, f[0].quoted, f[0].escaped),
            (0, 6, true, true)
        );
        assert_eq!(&data[f[1].start..f[1].end], b"c");
        assert!(!r.next_record(&mut f).unwrap());
    }

    #[test]
    fn errors_name_the_line() {
        let e = records("a,b\n1,2\n\"open,3\n4,5\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unterminated quoted field starting at line 3"),
            "{e}"
        );
        let e = records("a\n\"x\"y\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        let e = check_utf8(b"a\nb\n\xff\n").unwrap_err().to_string();
        assert!(e.contains("invalid UTF-8 at line 3"), "{e}");
    }

    #[test]
    fn quoting_on_output() {
        let mut out = Vec::new();
        write_field(&mut out, b"say \"hi\", ok", b',');
        assert_eq!(out, b"\"say \"\"hi\"\", ok\"");
        out.clear();
        write_field(&mut out, b"a,b", b'\t');
        assert_eq!(out, b"a,b");
    }

    #[test]
    fn swar_mask_is_the_scalar_mask() {
        // every byte value in every position, against each delimiter
        let mut block = [0u8; 64];
        for delimiter in [b',', b'\t', b'|', 0x80, 0xff] {
            for round in 0..256usize {
                for (k, b) in block.iter_mut().enumerate() {
                    *b = (round + k * 37) as u8;
                }
                block[round % 64] = delimiter;
                block[(round * 7) % 64] = b'\n';
                block[(round * 13) % 64] = b'\r';
                assert_eq!(
                    swar_mask(&block, &[delimiter, b'\n', b'\r']),
                    scalar_mask(&block, delimiter),
                    "delimiter {delimiter:#x}, round {round}"
                );
            }
        }
    }

    #[test]
    fn field_ends_across_64_byte_blocks() {
        // unquoted fields of every length from 0 to 150 bytes (so ends fall
        // on and across block edges), with quoted ones and both line
        // endings in between; the input ends in the middle of a block
        let mut seed = 11u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for delimiter in *b",\t" {
            let d = delimiter as char;
            let mut text = String::new();
            let mut want: Vec<Vec<String>> = Vec::new();
            for row in 0..300 {
                let mut rec = Vec::new();
                for _ in 0..3 {
                    let field: String = if next(5) == 0 {
                        format!("q{row}{d}\"\"")
                    } else {
                        let n = next(151) as usize;
                        (0..n).map(|k| (b'a' + (k % 26) as u8) as char).collect()
                    };
                    rec.push(field);
                }
                let line: Vec<String> = rec
                    .iter()
                    .map(|f| {
                        if f.starts_with('q') {
                            format!("\"{}\"", f.replace('"', "\"\""))
                        } else {
                            f.clone()
                        }
                    })
                    .collect();
                text.push_str(&line.join(&d.to_string()));
                text.push_str(if next(2) == 0 { "\n" } else { "\r\n" });
                want.push(rec);
            }
            text.push_str("end");
            want.push(vec!["end".to_string()]);
            let data = text.as_bytes();
            let mut r = Reader::new(data, delimiter);
            let mut fields = Vec::new();
            let mut got = Vec::new();
            while r.next_record(&mut fields).unwrap() {
                got.push(
                    fields
                        .iter()
                        .map(|f| String::from_utf8(f.text(data).into_owned()).unwrap())
                        .collect::<Vec<_>>(),
                );
            }
            assert_eq!(got, want);
        }
    }
}
