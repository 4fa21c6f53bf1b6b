//! CSV/TSV pass 2: only missing fields change; every other byte is copied
//! through.

use super::cells::MissingCells;
use super::reader::{self, Field, Reader};
use crate::error::Result;
use crate::formats::{out_name, ShardReport};
use crate::io::append;
use crate::pandas::NaMatcher;
use crate::plan::FillDict;
use crate::settings::Settings;

/// Pass 2 over a whole CSV/TSV text. `cells`, pass 1's missing cells of
/// this text, spare reading its records again (they are used only if
/// they describe this very text).
pub fn fill(
    data: &[u8],
    delimiter: u8,
    dict: &FillDict,
    settings: &Settings,
    cells: Option<&MissingCells>,
) -> Result<(Vec<u8>, ShardReport)> {
    // a text pass 1 read was checked there
    let cells = cells.filter(|c| c.describe(data));
    if cells.is_none() {
        reader::check_utf8(data)?;
        reader::check_no_nul(data, delimiter)?;
    }
    let mut reader = Reader::new(data, delimiter);
    let mut fields: Vec<Field> = Vec::new();
    let columns = reader::read_header(&mut reader, &mut fields)?;
    let ncols = columns.len();
    // (column index, encoded fill text) for the columns this shard fills
    let by_column = dict.index();
    let fills: Vec<(usize, Vec<u8>)> = columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            by_column.get(c.as_str()).map(|v| {
                let mut enc = Vec::new();
                reader::write_field(&mut enc, v.to_text().as_bytes(), delimiter);
                (i, enc)
            })
        })
        .collect();
    let mut filled = vec![0u64; fills.len()];
    // room for every fill from the start: in wasm, growing a shard-sized
    // buffer mostly copies it (natively `mremap` moves its pages instead).
    // With the cells, every fill fits (up to twice the input); without
    // them, or where that much memory is not to be had, a sixteenth more
    let some_growth = data.len() / 16;
    let longest_fill = fills.iter().map(|(_, f)| f.len()).max().unwrap_or(0);
    let growth = cells.map_or(some_growth, |c| {
        c.len_bound().saturating_mul(longest_fill).min(data.len())
    });
    // (where not even that is to be had, it grows as it is written)
    let mut out = Vec::new();
    if out.try_reserve(data.len() + growth).is_err() {
        let _ = out.try_reserve(data.len() + some_growth);
    }
    let mut last = 0;
    if settings.rename_dots && columns.iter().any(|c| c.contains("__DOT__")) {
        out.extend_from_slice(&data[..reader.record_start()]);
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                out.push(delimiter);
            }
            reader::write_field(&mut out, out_name(c, settings).as_bytes(), delimiter);
        }
        last = fields.last().map_or(reader.position(), |f| f.end);
    }
    let rows_in = match cells {
        Some(cells) => {
            // column -> its index in `fills`
            let mut fill_of = vec![None; ncols];
            for (k, (i, _)) in fills.iter().enumerate() {
                fill_of[*i] = Some(k);
            }
            for (start, end, column) in cells.iter() {
                if let Some(&Some(k)) = fill_of.get(column) {
                    append(&mut out, &data[last..start]);
                    append(&mut out, &fills[k].1);
                    last = end;
                    filled[k] += 1;
                }
            }
            cells.rows()
        }
        None => {
            let na = NaMatcher::new(&settings.na_values);
            let mut rows_in = 0u64;
            while reader.next_row(&mut fields, ncols)? {
                rows_in += 1;
                for (k, (i, fill)) in fills.iter().enumerate() {
                    let f = fields[*i];
                    let missing = !f.escaped && {
                        let raw = if f.quoted {
                            &data[f.start + 1..f.end - 1]
                        } else {
                            &data[f.start..f.end]
                        };
                        na.is_missing(raw)
                    };
                    if missing {
                        append(&mut out, &data[last..f.start]);
                        append(&mut out, fill);
                        last = f.end;
                        filled[k] += 1;
                    }
                }
            }
            rows_in
        }
    };
    append(&mut out, &data[last..]);
    let rows_out = count_csv_rows(&out, delimiter);
    let report = ShardReport {
        rows_in,
        rows_out,
        cells_filled: fills
            .iter()
            .zip(filled)
            .map(|((i, _), n)| (columns[*i].clone(), n))
            .collect(),
        ..ShardReport::default()
    };
    Ok((out, report))
}

/// Rows (records after the header) in a CSV/TSV text, counted
/// independently of [`Reader`]: line ends outside quoted fields, blank
/// lines not counted. A quote opens a quoted field only at the field's
/// start, right after a delimiter or a line end (elsewhere it is text, as
/// pandas reads `5" inch`). Fast, so every output is checked: with SIMD,
/// a 64-byte block without a quote, outside quotes, is counted from its
/// bit masks at once; other blocks stop at each quote and line end.
pub fn count_csv_rows(data: &[u8], delimiter: u8) -> u64 {
    let mut rows = RowCounter {
        data,
        delimiter,
        records: 0,
        in_quotes: false,
        closed_at: usize::MAX,
        line_start: 0,
    };
    // without SIMD, three masks a block cost more than stopping at each
    // quote and line end: the whole text is then the tail
    let simd = cfg!(any(not(target_arch = "wasm32"), target_feature = "simd128"));
    let blocks: &[[u8; 64]] = if simd { data.as_chunks().0 } else { &[] };
    for (k, block) in blocks.iter().enumerate() {
        let at = 64 * k;
        let [quotes, ends, crs] = reader::byte_masks(block, *b"\"\n\r");
        if quotes == 0 && !rows.in_quotes {
            rows.count_block(at, ends, crs);
        } else {
            let mut events = quotes | ends;
            while events != 0 {
                rows.event(at + events.trailing_zeros() as usize);
                events &= events - 1;
            }
        }
    }
    let tail = 64 * blocks.len();
    for i in memchr::memchr2_iter(b'"', b'\n', &data[tail..]) {
        rows.event(tail + i);
    }
    if rows.line_start < data.len() {
        rows.records += 1;
    }
    rows.records.saturating_sub(1)
}

/// The state of [`count_csv_rows`].
struct RowCounter<'a> {
    data: &'a [u8],
    delimiter: u8,
    /// Non-blank lines ended so far (the header included).
    records: u64,
    in_quotes: bool,
    /// Where the last quoted field's quote closed.
    closed_at: usize,
    /// Where the current line starts.
    line_start: usize,
}

impl RowCounter<'_> {
    /// A quote or line end at `i`.
    #[inline]
    fn event(&mut self, i: usize) {
        let b = self.data[i];
        if self.in_quotes {
            if b == b'"' {
                self.in_quotes = false;
                self.closed_at = i;
            }
            return;
        }
        if b == b'"' {
            // a field's opening quote, or the second quote of a `""` escape
            let data = self.data;
            let field_start = i == 0 || data[i - 1] == self.delimiter || data[i - 1] == b'\n';
            self.in_quotes = field_start || self.closed_at.wrapping_add(1) == i;
        } else {
            let line = &self.data[self.line_start..i];
            if !(line.is_empty() || line == b"\r") {
                self.records += 1;
            }
            self.line_start = i + 1;
        }
    }

    /// The 64 bytes at `at`, with no quote and not inside quotes: every
    /// line end (`ends`) ends a line, blank when the line is empty or a
    /// lone `\r` (`crs`).
    #[inline]
    fn count_block(&mut self, at: usize, ends: u64, crs: u64) {
        if ends == 0 {
            return;
        }
        // bit k: a line starts at byte at + k
        let starts = ends << 1 | u64::from(self.line_start == at);
        // bit k: byte at + k - 1 is a `\r` a line starts at
        let cr_lines = (crs & starts) << 1
            | u64::from(at > 0 && self.line_start == at - 1 && self.data[at - 1] == b'\r');
        let blank = ends & (starts | cr_lines);
        self.records += u64::from((ends & !blank).count_ones());
        self.line_start = at + 64 - ends.leading_zeros() as usize;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::csv::fit;
    use crate::plan::FillValue;
    use crate::test_rng::XorShift;

    /// A random CSV/TSV text: NA tokens (bare and quoted), `""`-escaped
    /// fields, quoted line breaks, CRLF and blank lines, a byte-order mark.
    fn random_text(rng: &mut XorShift, delimiter: u8) -> String {
        let d = delimiter as char;
        let cells = [
            "",
            "NA",
            "nan",
            "\"\"",
            "\"NA\"",
            "1.5",
            "x",
            "\"a\"\"b\"",
            "\"p\nq\"",
            "N/A",
            "-3",
            "\"x,y\"",
            "\"NA\"\"\"",
        ];
        let mut text = String::new();
        if rng.next().is_multiple_of(4) {
            text.push('\u{feff}');
        }
        let ncols = 1 + (rng.next() % 5) as usize;
        let names: Vec<String> = (0..ncols).map(|i| format!("c{i}__DOT__x")).collect();
        text.push_str(&names.join(&d.to_string()));
        for _ in 0..(rng.next() % 40) {
            text.push_str(match rng.next() % 8 {
                0 => "\r\n",
                1 => "\n\n",
                _ => "\n",
            });
            let row: Vec<&str> = (0..ncols)
                .map(|_| cells[(rng.next() % cells.len() as u64) as usize])
                .collect();
            text.push_str(&row.join(&d.to_string()));
        }
        if rng.next().is_multiple_of(2) {
            text.push('\n');
        }
        text
    }

    #[test]
    fn pass_1_cells_fill_as_reading_the_records_again() {
        let mut rng = XorShift(0x5eed_ce11);
        let mut with_cells = 0;
        let mut filled_cells = 0;
        for round in 0..400 {
            let delimiter = if round % 3 == 0 { b'\t' } else { b',' };
            let text = random_text(&mut rng, delimiter);
            let mut settings = Settings {
                rename_dots: round % 2 == 0,
                ..Settings::default()
            };
            if round % 5 == 0 {
                settings.na_values = vec!["x".into(), "NA\"".into()];
            }
            let Ok((stats, cells)) = fit::fit("t.csv", text.as_bytes(), delimiter, &settings, true)
            else {
                continue;
            };
            let cells = cells.expect("cells were asked for");
            // fill values for some columns, some needing quotes
            let entries = stats
                .columns
                .iter()
                .enumerate()
                .filter(|(i, _)| (round + i) % 3 != 0)
                .map(|(i, c)| {
                    let v = match i % 3 {
                        0 => FillValue::Number(0.25),
                        1 => FillValue::Text("q\"t,u".into()),
                        _ => FillValue::Text(String::new()),
                    };
                    (c.clone(), v)
                })
                .collect();
            let dict = FillDict { entries };
            let read = fill(text.as_bytes(), delimiter, &dict, &settings, None).unwrap();
            let spliced = fill(text.as_bytes(), delimiter, &dict, &settings, Some(&cells)).unwrap();
            assert_eq!(spliced, read, "{text:?}");
            with_cells += 1;
            filled_cells += read.1.cells_filled.iter().map(|(_, n)| n).sum::<u64>();
        }
        assert!(with_cells > 300, "only {with_cells} texts were read");
        assert!(filled_cells > 1_000, "only {filled_cells} cells filled");
    }

    #[test]
    fn cells_of_another_text_are_not_used() {
        let settings = Settings::default();
        let dict = FillDict {
            entries: vec![
                ("a".into(), FillValue::Number(7.0)),
                ("b".into(), FillValue::Number(8.0)),
            ],
        };
        let before = b"a,b\n,1\n2,\n";
        // same length, the missing cells elsewhere
        let after = b"a,b\n1,\n,2\n";
        let (_, cells) = fit::fit("t.csv", before, b',', &settings, true).unwrap();
        let (out, report) = fill(after, b',', &dict, &settings, cells.as_ref()).unwrap();
        assert_eq!(out, b"a,b\n1,8.0\n7.0,2\n");
        assert_eq!(report.rows_in, 2);
        // and the cells of the same text are
        let (out, _) = fill(before, b',', &dict, &settings, cells.as_ref()).unwrap();
        assert_eq!(out, b"a,b\n7.0,1\n2,8.0\n");
    }

    /// [`count_csv_rows`] byte by byte, as simply as it can be said.
    fn rows_byte_by_byte(data: &[u8], delimiter: u8) -> u64 {
        let (mut records, mut in_quotes, mut closed_at, mut line_start) = (0u64, false, None, 0);
        for (i, &b) in data.iter().enumerate() {
            if in_quotes {
                if b == b'"' {
                    in_quotes = false;
                    closed_at = Some(i);
                }
            } else if b == b'"' {
                let field_start = i == 0 || data[i - 1] == delimiter || data[i - 1] == b'\n';
                in_quotes = field_start || closed_at.map(|c| c + 1) == Some(i);
            } else if b == b'\n' {
                let line = &data[line_start..i];
                if !(line.is_empty() || line == b"\r") {
                    records += 1;
                }
                line_start = i + 1;
            }
        }
        if line_start < data.len() {
            records += 1;
        }
        records.saturating_sub(1)
    }

    #[test]
    fn row_count_of_long_texts_agrees_with_the_reader_and_byte_by_byte() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut agreed_with_reader = 0;
        for round in 0..1500 {
            let delimiter = if round % 2 == 0 { b',' } else { b'\t' };
            let text = match round % 3 {
                // CSV as pass 2 writes it, blank and `\r` lines added
                0 | 1 => random_text(&mut rng, delimiter)
                    .replace("\n\n", if round % 3 == 0 { "\n\r\n" } else { "\n\n\n" })
                    .into_bytes(),
                // any mix of the bytes that matter, quotes across blocks
                _ => (0..rng.next() % 600)
                    .map(|_| b"\"\"\n\n\r,\tab"[(rng.next() % 9) as usize])
                    .collect(),
            };
            let fast = count_csv_rows(&text, delimiter);
            assert_eq!(
                fast,
                rows_byte_by_byte(&text, delimiter),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
            let mut r = Reader::new(&text, delimiter);
            let (mut f, mut n) = (Vec::new(), 0u64);
            let valid = loop {
                match r.next_record(&mut f) {
                    Ok(true) => n += 1,
                    Ok(false) => break true,
                    Err(_) => break false,
                }
            };
            if valid && round % 3 != 2 {
                assert_eq!(
                    fast,
                    n.saturating_sub(1),
                    "{:?}",
                    String::from_utf8_lossy(&text)
                );
                agreed_with_reader += 1;
            }
        }
        assert!(
            agreed_with_reader > 500,
            "only {agreed_with_reader} texts were valid CSV"
        );
        // blank and `\r` lines at every place around the blocks' edges
        for blank in ["\n\n", "\n\r\n", "\n\n\n", "\n\r\n\r\n"] {
            for at in 0..140 {
                let mut text = format!("a,b\n{}", "x".repeat(at));
                text.push_str(blank);
                text.push_str(&"1,2\n".repeat(40));
                let text = text.as_bytes();
                assert_eq!(
                    count_csv_rows(text, b','),
                    40 + u64::from(at > 0),
                    "{blank:?} after {at}"
                );
                assert_eq!(count_csv_rows(text, b','), rows_byte_by_byte(text, b','));
            }
        }
    }

    #[test]
    fn row_count_agrees_with_the_reader() {
        let mut checked = 0;
        for text in [
            "a,b\n1,2\n",
            "a,b\n1,2",
            "a,b\r\n\r\n1,\"x\ny\"\n\n3,\"\"\"\"\n",
            "a\n",
            "a",
            "\u{feff}a,b\n\"q,\"\"r\"\"\",2\n",
            "a,b\n5\" inch,x\n6\" inch,y\n",
            "a,b\n\"x\"\"\ny\",1\n2,\"\"\n",
            "\"a\",b\n\"\",\"\"\"\"\n1,x\"\"y\n\"p\"\"\"\n\",z\n",
            "a\tb\n\"t\ta\"\t\"b\nc\"\n",
        ] {
            for delimiter in *b",\t" {
                let mut r = Reader::new(text.as_bytes(), delimiter);
                let mut f = Vec::new();
                let mut n = 0u64;
                // only texts the reader accepts (pass 2 writes no others)
                let mut valid = true;
                while valid {
                    match r.next_record(&mut f) {
                        Ok(true) => n += 1,
                        Ok(false) => break,
                        Err(_) => valid = false,
                    }
                }
                if !valid {
                    continue;
                }
                assert_eq!(
                    count_csv_rows(text.as_bytes(), delimiter),
                    n.saturating_sub(1),
                    "{text:?} with {delimiter}"
                );
                checked += 1;
            }
        }
        assert!(checked >= 15, "only {checked} texts were valid CSV");
    }
}
