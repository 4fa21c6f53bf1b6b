//! CSV/TSV pass 2: only missing fields change; every other byte is copied
//! through.

use super::reader::{self, Field, Reader};
use crate::error::Result;
use crate::formats::{out_name, ShardReport};
use crate::pandas::NaMatcher;
use crate::plan::FillDict;
use crate::settings::Settings;

/// Pass 2 over a whole CSV/TSV text.
pub fn fill(
    data: &[u8],
    delimiter: u8,
    dict: &FillDict,
    settings: &Settings,
) -> Result<(Vec<u8>, ShardReport)> {
    reader::check_utf8(data)?;
    reader::check_no_nul(data, delimiter)?;
    let na = NaMatcher::new(&settings.na_values);
    let mut reader = Reader::new(data, delimiter);
    let mut fields: Vec<Field> = Vec::new();
    let columns = reader::read_header(&mut reader, &mut fields)?;
    let ncols = columns.len();
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
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
                out.extend_from_slice(&data[last..f.start]);
                out.extend_from_slice(fill);
                last = f.end;
                filled[k] += 1;
            }
        }
    }
    out.extend_from_slice(&data[last..]);
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
/// pandas reads `5" inch`). Fast (it only stops at quotes and newlines),
/// so every output is checked.
pub fn count_csv_rows(data: &[u8], delimiter: u8) -> u64 {
    let mut records = 0u64;
    let mut in_quotes = false;
    let mut closed_at = usize::MAX; // where the last quoted field's quote closed
    let mut line_start = 0;
    for i in memchr::memchr2_iter(b'"', b'\n', data) {
        let b = data[i];
        if in_quotes {
            if b == b'"' {
                in_quotes = false;
                closed_at = i;
            }
            continue;
        }
        if b == b'"' {
            // a field's opening quote, or the second quote of a `""` escape
            let field_start = i == 0 || data[i - 1] == delimiter || data[i - 1] == b'\n';
            in_quotes = field_start || closed_at.wrapping_add(1) == i;
        } else {
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

#[cfg(test)]
mod tests {
    use super::*;

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
