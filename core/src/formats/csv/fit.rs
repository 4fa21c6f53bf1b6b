//! CSV/TSV pass 1: fold one shard's text into [`TrainStats`].
//!
//! Values are typed as pandas would type them (numbers, booleans,
//! strings). A column that turns out not to be numeric after some rows is
//! read again as strings, so a shard is typed by all of its values, never
//! by a prefix.

use super::cells::{CellRecorder, MissingCells};
use super::reader::{self, Field, Reader};
use crate::error::Result;
use crate::pandas::{parse_bool, parse_csv_number, NaMatcher};
use crate::settings::Settings;
use crate::stats::{keep_for, ColumnStats, Evidence, TrainStats};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unknown,
    Number,
    Bool,
    Text,
}

/// Pass 1 over a whole CSV/TSV text; with `find_cells`, also the text's
/// missing cells, for pass 2 over the same text.
pub fn fit(
    path: &str,
    data: &[u8],
    delimiter: u8,
    settings: &Settings,
    find_cells: bool,
) -> Result<(TrainStats, Option<MissingCells>)> {
    reader::check_utf8(data)?;
    reader::check_no_nul(data, delimiter)?;
    let na = NaMatcher::new(&settings.na_values);
    let mut forced_text: Vec<bool> = Vec::new();
    loop {
        let cells = find_cells.then(CellRecorder::default);
        match scan(path, data, delimiter, settings, &na, &forced_text, cells)? {
            Scan::Done(stats, cells) => {
                let rows = stats.rows;
                return Ok((stats, cells.map(|c| c.finish(data, rows))));
            }
            Scan::Retype(col, ncols) => {
                forced_text.resize(ncols, false);
                forced_text[col] = true;
            }
        }
    }
}

enum Scan {
    Done(TrainStats, Option<CellRecorder>),
    /// Column `.0` is not numeric/boolean after all: scan again with it as text.
    Retype(usize, usize),
}

fn scan(
    path: &str,
    data: &[u8],
    delimiter: u8,
    settings: &Settings,
    na: &NaMatcher,
    forced_text: &[bool],
    mut cells: Option<CellRecorder>,
) -> Result<Scan> {
    let mut reader = Reader::new(data, delimiter);
    let mut fields: Vec<Field> = Vec::new();
    let columns = reader::read_header(&mut reader, &mut fields)?;
    let ncols = columns.len();
    let mut kinds: Vec<Kind> = (0..ncols)
        .map(|i| {
            if forced_text.get(i) == Some(&true) {
                Kind::Text
            } else {
                Kind::Unknown
            }
        })
        .collect();
    let mut stats: Vec<ColumnStats> = columns
        .iter()
        .map(|c| ColumnStats::new(keep_for(settings, c)))
        .collect();
    let mut rows = 0u64;
    while reader.next_row(&mut fields, ncols)? {
        rows += 1;
        for (i, f) in fields.iter().enumerate() {
            let text = f.text(data);
            let s = &mut stats[i];
            if na.is_missing(&text) {
                s.add_missing();
                // the cells pass 2 fills: it leaves `""`-escaped text as is
                if let (Some(c), false) = (&mut cells, f.escaped) {
                    c.push(f.start, f.end, i);
                }
                continue;
            }
            if kinds[i] == Kind::Unknown {
                kinds[i] = if parse_csv_number(&text).is_some() {
                    Kind::Number
                } else if parse_bool(&text).is_some() {
                    Kind::Bool
                } else {
                    Kind::Text
                };
            }
            match kinds[i] {
                Kind::Number => match parse_csv_number(&text) {
                    Some(x) => s.add_number(x),
                    // no values kept: nothing to read again
                    None if s.counts_only() => {
                        kinds[i] = Kind::Text;
                        s.add_text(&text)
                    }
                    None => return Ok(Scan::Retype(i, ncols)),
                },
                Kind::Bool => match parse_bool(&text) {
                    Some(b) => s.add_text(if b { b"True" } else { b"False" }),
                    None if s.counts_only() => {
                        kinds[i] = Kind::Text;
                        s.add_text(&text)
                    }
                    None => return Ok(Scan::Retype(i, ncols)),
                },
                // the whole text was checked to be UTF-8
                _ => s.add_text(&text),
            }
        }
    }
    for (s, k) in stats.iter_mut().zip(&kinds) {
        let evidence = match k {
            Kind::Unknown => Evidence::Unknown,
            Kind::Number => Evidence::Number,
            Kind::Bool => Evidence::Bool,
            Kind::Text => Evidence::Text,
        };
        s.set_evidence(evidence, path);
    }
    Ok(Scan::Done(
        TrainStats::of_shard(path, columns, stats, rows),
        cells,
    ))
}
