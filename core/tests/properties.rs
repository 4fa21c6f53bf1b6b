//! Property tests of the job as a front end drives it (SPEC sections 3, 5
//! and 6): for random small tables cut into random shards, fitted and
//! filled in random order, batches and thread counts,
//!
//! * the fill values equal a plain in-memory computation written here from
//!   the SPEC's definitions (exact mean rounded once, numpy's median, mode
//!   with ties to the smallest), bit for bit;
//! * they, and the artifacts, do not depend on the cuts, order, batches or
//!   threads;
//! * pass 2 changes only the missing cells of imputed columns: every other
//!   byte of a CSV shard is kept, and rows in == rows out.
//!
//! Values are generated so that the exact answer is computable here
//! without floating-point error: every number is a multiple of 1/8 (or a
//! correctly rounded integer `N * 10^e`), so the sum of a column is an
//! exact `i128` count of eighths.

mod common;

use std::collections::BTreeMap;

use common::{new_job, pool, source};
use proptest::prelude::*;
use proptest::sample::select;
use shardimpute_core::{
    fit_shard, plan_from_state, Control, FillValue, Job, MemorySink, Merge, Pass, Settings, Shard,
    TrainStats,
};

/// What a generated cell holds.
#[derive(Clone, Debug)]
enum Value {
    Missing,
    /// A number: its `f64` value and the same value in eighths (exact).
    Num(f64, i128),
    /// A string value (unescaped).
    Text(String),
}

/// One CSV field: its raw text (quotes included) and what pandas reads.
#[derive(Clone, Debug)]
struct Cell {
    raw: String,
    value: Value,
}

/// Columns of every generated table; `target` is the label (never missing).
const COLUMNS: [&str; 4] = ["target", "i", "f", "s"];
const I: usize = 1;
const F: usize = 2;
const S: usize = 3;

type Row = [Cell; 4];

/// Missing cells: the empty field, a quoted empty field, pandas' NA strings
/// (quoted or not).
fn missing_cell() -> impl Strategy<Value = Cell> {
    select(vec![
        "", "\"\"", "NA", "\"NA\"", "nan", "NaN", "null", "NULL", "N/A", "n/a", "None", "#N/A",
        "<NA>", "-nan", "-NaN", "#NA", "1.#QNAN",
    ])
    .prop_map(|raw| Cell {
        raw: raw.to_string(),
        value: Value::Missing,
    })
}

fn num(raw: String, x: f64) -> Cell {
    // every generated number is a multiple of 1/8: exact in eighths
    let eighths = x * 8.0;
    assert_eq!(eighths.fract(), 0.0, "{raw}");
    Cell {
        raw,
        value: Value::Num(x, eighths as i128),
    }
}

/// An integer of up to 15 digits (exact in a double), written plainly,
/// with a `+`, or with leading zeros.
fn int_cell() -> impl Strategy<Value = Cell> {
    let magnitude = prop_oneof![
        4 => 0i64..100,
        2 => 0i64..1_000_000,
        1 => 0i64..1_000_000_000_000_000,
    ];
    (magnitude, any::<bool>(), 0u8..10).prop_map(|(m, neg, style)| {
        let sign = if neg { "-" } else { "" };
        let (raw, x) = match style {
            0 => (format!("+{m}"), m as f64),
            1 => (
                format!("{sign}00{m}"),
                if neg { -(m as f64) } else { m as f64 },
            ),
            _ => (
                format!("{sign}{m}"),
                if neg { -(m as f64) } else { m as f64 },
            ),
        };
        num(raw, x)
    })
}

/// The decimal digits of k/8.
const EIGHTHS: [&str; 8] = ["0", "125", "25", "375", "5", "625", "75", "875"];

/// Floats pandas reads without any rounding error, or with exactly one
/// correct rounding (`N * 10^e`): `1.5`, `-0`, `.25`, `5.`, `1e3`,
/// `125E-3`, `-0.0`, `123456789012e20`.
fn float_cell() -> impl Strategy<Value = Cell> {
    let decimal =
        (0i64..1_000_000, 0usize..8, any::<bool>(), 0u8..4).prop_map(|(int, k, neg, style)| {
            let sign = if neg { "-" } else { "" };
            let raw = match style {
                0 if k == 0 => format!("{sign}{int}."),
                1 if int == 0 => format!("{sign}.{}", EIGHTHS[k]),
                _ => format!("{sign}{int}.{}", EIGHTHS[k]),
            };
            let x = (int * 8 + k as i64) as f64 / 8.0;
            num(raw, if neg { -x } else { x })
        });
    let power = (1i64..1_000_000_000_000, 0u32..=20, 0u8..3).prop_map(|(n, e, style)| {
        let raw = match style {
            0 => format!("{n}e{e}"),
            1 => format!("{n}E+{e}"),
            _ => format!("-{n}e{e:02}"),
        };
        // the exact product, rounded once (i128 -> f64 rounds to nearest)
        let x = (n as i128 * 10i128.pow(e)) as f64;
        num(raw, if style == 2 { -x } else { x })
    });
    // m/8 written as m*125 thousandths: an exact quotient
    let thousandths =
        (-100_000i64..100_000).prop_map(|m| num(format!("{}e-3", m * 125), m as f64 / 8.0));
    let zeros = select(vec!["-0", "0", "-0.0", "0.000", "0e5", "-0E-2"])
        .prop_map(|z| num(z.to_string(), if z.starts_with('-') { -0.0 } else { 0.0 }));
    prop_oneof![5 => decimal, 2 => power, 2 => thousandths, 1 => zeros]
}

/// Strings that are neither numbers, booleans nor NA strings; some need
/// quotes (a comma, a quote, a newline).
fn text_cell() -> impl Strategy<Value = Cell> {
    select(vec![
        ("a", "a"),
        ("b", "b"),
        ("B", "B"),
        ("ab", "ab"),
        ("\u{e9}t\u{e9}", "\u{e9}t\u{e9}"),
        ("x y", "x y"),
        ("\"p,q\"", "p,q"),
        ("\"say \"\"hi\"\"\"", "say \"hi\""),
        ("\"two\nlines\"", "two\nlines"),
        ("\"b\"", "b"),
        ("na", "na"),
    ])
    .prop_map(|(raw, text)| Cell {
        raw: raw.to_string(),
        value: Value::Text(text.to_string()),
    })
}

/// A cell of a column whose cells are missing with probability `p` %.
fn cell(p: u32, present: BoxedStrategy<Cell>) -> impl Strategy<Value = Cell> {
    (0u32..100, present, missing_cell()).prop_map(
        move |(roll, present, missing)| {
            if roll < p {
                missing
            } else {
                present
            }
        },
    )
}

fn rows(max: usize) -> impl Strategy<Value = Vec<Row>> {
    // per column: never, sometimes, often or always missing
    let p = || select(vec![0u32, 5, 30, 100]);
    (p(), p(), p()).prop_flat_map(move |(pi, pf, ps)| {
        let row = (
            0u8..2,
            cell(pi, int_cell().boxed()),
            cell(pf, float_cell().boxed()),
            cell(ps, text_cell().boxed()),
        )
            .prop_map(|(t, i, f, s)| {
                [
                    Cell {
                        raw: t.to_string(),
                        value: Value::Num(t as f64, 8 * t as i128),
                    },
                    i,
                    f,
                    s,
                ]
            });
        proptest::collection::vec(row, 0..max)
    })
}

/// How a table is cut into shards and written.
#[derive(Clone, Debug)]
struct Layout {
    /// Cut points (any order, repeats allowed: empty shards).
    cuts: Vec<usize>,
    /// Column order of shard `k`: `orders[k % len]`.
    orders: Vec<Vec<usize>>,
    /// `\r\n` line ends in shard `k`: `crlf[k % len]`.
    crlf: Vec<bool>,
    /// Whether the last line of shard `k` ends with a line end.
    last_eol: Vec<bool>,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        proptest::collection::vec(0usize..1000, 0..6),
        proptest::collection::vec(Just(vec![0usize, 1, 2, 3]).prop_shuffle(), 1..4),
        proptest::collection::vec(any::<bool>(), 1..4),
        proptest::collection::vec(any::<bool>(), 1..4),
    )
        .prop_map(|(cuts, orders, crlf, last_eol)| Layout {
            cuts,
            orders,
            crlf,
            last_eol,
        })
}

/// How a pass is driven: shard order, batch sizes, threads.
#[derive(Clone, Debug)]
struct Drive {
    /// Shards are processed sorted by these keys (`keys[k % len]`, then k).
    keys: Vec<u32>,
    /// Batch sizes, cycled.
    batches: Vec<usize>,
    threads: usize,
}

fn drive() -> impl Strategy<Value = Drive> {
    (
        proptest::collection::vec(any::<u32>(), 1..8),
        proptest::collection::vec(1usize..4, 1..4),
        select(vec![1usize, 2, 4]),
    )
        .prop_map(|(keys, batches, threads)| Drive {
            keys,
            batches,
            threads,
        })
}

/// A shard as written: its rows, column order and line ends.
struct ShardText {
    path: String,
    rows: Vec<Row>,
    order: Vec<usize>,
    eol: &'static str,
    last_eol: bool,
}

impl ShardText {
    fn bytes(&self) -> Vec<u8> {
        self.render(|_, c| c.raw.clone())
    }

    /// The text with each cell as `cell_text` gives it.
    fn render(&self, cell_text: impl Fn(usize, &Cell) -> String) -> Vec<u8> {
        let line = |fields: Vec<String>| fields.join(",");
        let mut lines = vec![line(
            self.order.iter().map(|&c| COLUMNS[c].to_string()).collect(),
        )];
        for row in &self.rows {
            lines.push(line(
                self.order.iter().map(|&c| cell_text(c, &row[c])).collect(),
            ));
        }
        let mut text = lines.join(self.eol);
        if self.last_eol {
            text.push_str(self.eol);
        }
        text.into_bytes()
    }
}

/// `split/part-NNNNN.csv` shards of `rows`, cut at `layout.cuts`.
fn shards(split: &str, rows: &[Row], layout: &Layout) -> Vec<ShardText> {
    let mut cuts: Vec<usize> = layout.cuts.iter().map(|c| c % (rows.len() + 1)).collect();
    cuts.push(0);
    cuts.push(rows.len());
    cuts.sort_unstable();
    cuts.windows(2)
        .enumerate()
        .map(|(k, w)| ShardText {
            path: format!("{split}/part-{k:05}.csv"),
            rows: rows[w[0]..w[1]].to_vec(),
            order: layout.orders[k % layout.orders.len()].clone(),
            eol: if layout.crlf[k % layout.crlf.len()] {
                "\r\n"
            } else {
                "\n"
            },
            last_eol: layout.last_eol[k % layout.last_eol.len()],
        })
        .collect()
}

fn settings(median: [bool; 2]) -> Settings {
    let mut env = String::new();
    for (col, m) in ["i", "f"].iter().zip(median) {
        if m {
            env.push_str(&format!("COLUMN_STRATEGY_{col}=median\n"));
        }
    }
    Settings::from_env_text(&env).unwrap()
}

/// `shards` in the drive's order, cut into its batches.
fn batches(mut shards: Vec<Shard>, drive: &Drive) -> Vec<Vec<Shard>> {
    let key = |k: usize| (drive.keys[k % drive.keys.len()], k);
    let mut keyed: Vec<(usize, Shard)> = shards.drain(..).enumerate().collect();
    keyed.sort_by_key(|(k, _)| key(*k));
    let mut out = Vec::new();
    let mut rest: Vec<Shard> = keyed.into_iter().map(|(_, s)| s).collect();
    let mut b = 0;
    while !rest.is_empty() {
        let n = drive.batches[b % drive.batches.len()].min(rest.len());
        out.push(rest.drain(..n).collect());
        b += 1;
    }
    out
}

/// Pass 1 in the drive's order, batches and threads.
fn fit(job: &mut Job, files: &[(String, Vec<u8>)], drive: &Drive) {
    let src = source(files);
    pool(drive.threads).install(|| {
        let shards = job.begin(Pass::Fit).unwrap();
        for batch in batches(shards, drive) {
            job.fit_shards(&batch, &src, Control::default()).unwrap();
        }
        job.finish_fit().unwrap();
    });
}

/// Pass 2 in the drive's order, batches and threads; the outputs by path.
fn fill(job: &mut Job, files: &[(String, Vec<u8>)], drive: &Drive) -> BTreeMap<String, Vec<u8>> {
    let src = source(files);
    let sink = MemorySink::default();
    pool(drive.threads).install(|| {
        let shards = job.begin(Pass::Fill).unwrap();
        for batch in batches(shards, drive) {
            job.fill_shards(&batch, &src, &sink, Control::default())
                .unwrap();
        }
        job.finish_fill().unwrap();
    });
    files
        .iter()
        .map(|(p, _)| (p.clone(), sink.take(p).unwrap()))
        .collect()
}

/// A fill value as comparable bits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Bits {
    Num(u64),
    Text(String),
    Other(String),
}

fn bits(v: &FillValue) -> Bits {
    match v {
        FillValue::Number(x) => Bits::Num(x.to_bits()),
        FillValue::Text(s) => Bits::Text(s.clone()),
        other => Bits::Other(format!("{other:?}")),
    }
}

fn fill_bits(job: &Job) -> BTreeMap<String, Bits> {
    job.fill_values()
        .expect("fitted")
        .entries
        .iter()
        .map(|(c, v)| (c.clone(), bits(v)))
        .collect()
}

/// The fill values, computed plainly from the SPEC's definitions.
fn expected(train: &[Row], median: [bool; 2]) -> BTreeMap<String, Bits> {
    let mut out = BTreeMap::new();
    for c in [I, F, S] {
        let cells: Vec<&Value> = train.iter().map(|r| &r[c].value).collect();
        let missing = cells.iter().filter(|v| matches!(v, Value::Missing)).count();
        if missing == 0 {
            continue; // only columns with a missing cell are imputed
        }
        let numbers: Vec<(f64, i128)> = cells
            .iter()
            .filter_map(|v| match v {
                Value::Num(x, e) => Some((*x, *e)),
                _ => None,
            })
            .collect();
        let texts: Vec<&str> = cells
            .iter()
            .filter_map(|v| match v {
                Value::Text(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        let value = if !texts.is_empty() {
            // mode: most frequent, ties to the smallest
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for t in &texts {
                *counts.entry(t).or_default() += 1;
            }
            let max = counts.values().copied().max().unwrap();
            let (mode, _) = counts.iter().find(|(_, n)| **n == max).unwrap();
            Bits::Text(mode.to_string())
        } else if numbers.is_empty() {
            // no value at all: a numerical column (pandas reads all-NaN as
            // float), filled with 0.0
            Bits::Num(0.0f64.to_bits())
        } else if c != S && median[c - 1] {
            // numpy's median; ties between -0 and 0 ordered -0 first (the
            // one order-independent choice)
            let mut v: Vec<f64> = numbers.iter().map(|n| n.0).collect();
            v.sort_by(f64::total_cmp);
            let n = v.len();
            let m = if n % 2 == 1 {
                v[n / 2]
            } else {
                (v[n / 2 - 1] + v[n / 2]) / 2.0
            };
            Bits::Num(m.to_bits())
        } else {
            // math.fsum(values) / count: the exact sum (in eighths),
            // rounded once (i128 -> f64 rounds to nearest, ties to even;
            // dividing by 8 is exact), divided once
            let sum8: i128 = numbers.iter().map(|n| n.1).sum();
            let fsum = sum8 as f64 / 8.0;
            Bits::Num((fsum / numbers.len() as f64).to_bits())
        };
        out.insert(COLUMNS[c].to_string(), value);
    }
    out
}

/// A CSV text's records as raw field spans (quotes kept): RFC 4180,
/// records end at `\n` or `\r\n` outside quotes.
fn split_csv(data: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let (mut start, mut i, mut quoted) = (0, 0, false);
    while i < data.len() {
        let b = data[i];
        if quoted {
            if b == b'"' {
                if data.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
        } else if b == b'"' && i == start {
            quoted = true;
        } else if b == b',' {
            fields.push(&data[start..i]);
            start = i + 1;
        } else if b == b'\n' || (b == b'\r' && data.get(i + 1) == Some(&b'\n')) {
            fields.push(&data[start..i]);
            records.push(std::mem::take(&mut fields));
            i += if b == b'\r' { 1 } else { 0 };
            start = i + 1;
        }
        i += 1;
    }
    // a last record with no line end (its last field may be empty)
    if start < data.len() || !fields.is_empty() {
        fields.push(&data[start..]);
        records.push(fields);
    }
    records
}

/// A field's text: unquoted, `""` as `"`.
fn unquote(raw: &[u8]) -> String {
    let s = std::str::from_utf8(raw).unwrap();
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => s.to_string(),
    }
}

/// A fill value's text in a CSV field (RFC 4180 quoting).
fn encode(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The train, val and test shards of three tables.
fn dataset(tables: [&[Row]; 3], layouts: [&Layout; 3]) -> Vec<ShardText> {
    ["train", "val", "test"]
        .iter()
        .zip(tables)
        .zip(layouts)
        .flat_map(|((split, rows), layout)| shards(split, rows, layout))
        .collect()
}

fn files(shards: &[ShardText]) -> Vec<(String, Vec<u8>)> {
    shards.iter().map(|s| (s.path.clone(), s.bytes())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Pass 1: the fill values equal the plain computation, bit for bit,
    /// and the plan's counts are right, whatever the cuts, column orders,
    /// line ends, shard order, batches and threads; a second layout and
    /// drive of the same table gives the same entries.
    #[test]
    fn fill_values_are_the_plain_answer_whatever_the_split(
        train in rows(60),
        layouts in (layout(), layout()),
        drives in (drive(), drive()),
        median in any::<[bool; 2]>(),
    ) {
        let want = expected(&train, median);
        let empty: Vec<Row> = Vec::new();
        let one = Layout { cuts: vec![], orders: vec![vec![0, 1, 2, 3]], crlf: vec![false], last_eol: vec![true] };
        let mut runs = Vec::new();
        for (layout, drive) in [(&layouts.0, &drives.0), (&layouts.1, &drives.1)] {
            let shards = dataset([&train, &empty, &empty], [layout, &one, &one]);
            let files = files(&shards);
            let mut job = new_job(&files, settings(median));
            fit(&mut job, &files, drive);
            prop_assert_eq!(&fill_bits(&job), &want);
            let plan = job.plan().unwrap();
            prop_assert_eq!(plan.rows, train.len() as u64);
            for col in &plan.columns {
                let c = COLUMNS.iter().position(|n| *n == col.name).unwrap();
                let missing = train.iter().filter(|r| matches!(r[c].value, Value::Missing)).count();
                prop_assert_eq!(col.missing_count, missing as u64, "column {}", col.name);
            }
            // the dict follows the column order of the first shard by path
            let first = &shards[0].order;
            let order: Vec<&str> = first.iter().map(|&c| COLUMNS[c]).filter(|c| want.contains_key(*c)).collect();
            let got: Vec<&str> = job.fill_values().unwrap().entries.iter().map(|(c, _)| c.as_str()).collect();
            prop_assert_eq!(got, order);
            runs.push(fill_bits(&job));
        }
        prop_assert_eq!(&runs[0], &runs[1]);
    }

    /// Pass 2: every shard of every split keeps every byte but the missing
    /// cells of imputed columns, which get the fill value's text (quoted
    /// where it must be); rows in == rows out; and the artifacts do not
    /// depend on the shard order, batches or threads.
    #[test]
    fn fill_changes_only_missing_cells(
        tables in (rows(40), rows(20), rows(20)),
        layouts in (layout(), layout(), layout()),
        drives in (drive(), drive()),
        median in any::<[bool; 2]>(),
    ) {
        let shards = dataset([&tables.0, &tables.1, &tables.2], [&layouts.0, &layouts.1, &layouts.2]);
        let files = files(&shards);
        let mut job = new_job(&files, settings(median));
        fit(&mut job, &files, &drives.0);
        let dict: BTreeMap<String, String> = job
            .fill_values()
            .unwrap()
            .entries
            .iter()
            .map(|(c, v)| (c.clone(), v.to_text()))
            .collect();
        prop_assert_eq!(fill_bits(&job), expected(&tables.0, median));
        let outputs = fill(&mut job, &files, &drives.1);
        for shard in &shards {
            let input = shard.bytes();
            let output = &outputs[&shard.path];
            let (rows_in, rows_out) = (split_csv(&input), split_csv(output));
            prop_assert_eq!(rows_in.len(), shard.rows.len() + 1, "{}", shard.path);
            prop_assert_eq!(rows_out.len(), rows_in.len(), "{}: rows in != rows out", shard.path);
            for (r, (a, b)) in rows_in.iter().zip(&rows_out).enumerate() {
                prop_assert_eq!(a.len(), b.len(), "{} row {}", shard.path, r);
                for (k, (fa, fb)) in a.iter().zip(b).enumerate() {
                    let c = shard.order[k];
                    let fill = (r > 0 && matches!(shard.rows[r - 1][c].value, Value::Missing))
                        .then(|| dict.get(COLUMNS[c]))
                        .flatten();
                    match fill {
                        Some(text) => prop_assert_eq!(&unquote(fb), text, "{} row {}", shard.path, r),
                        None => prop_assert_eq!(fa, fb, "{} row {} column {}", shard.path, r, COLUMNS[c]),
                    }
                }
            }
            // and the whole text: the same bytes between fields
            let want = shard.render(|c, cell| match (&cell.value, dict.get(COLUMNS[c])) {
                (Value::Missing, Some(text)) => encode(text),
                _ => cell.raw.clone(),
            });
            prop_assert_eq!(String::from_utf8_lossy(output), String::from_utf8_lossy(&want), "{}", shard.path);
        }
        let reports = job.reports();
        prop_assert_eq!(reports.len(), shards.len());
        for r in reports {
            prop_assert_eq!(r.rows_in, r.rows_out);
        }
        // the same job in one call on one thread: the same artifacts
        let mut plain = new_job(&files, settings(median));
        // (a MemorySource hands each file out once: one per pass)
        plain.fit(&source(&files), Control::default()).unwrap();
        plain.fill(&source(&files), &MemorySink::default(), Control::default()).unwrap();
        let (a, b) = (job.artifacts("t").unwrap(), plain.artifacts("t").unwrap());
        for ((na, ba), (nb, bb)) in a.iter().zip(&b) {
            prop_assert_eq!(na, nb);
            prop_assert_eq!(String::from_utf8_lossy(ba), String::from_utf8_lossy(bb), "{}", na);
        }
    }

    /// The merge law across processes: any partition of the training
    /// shards into states ([`fit_shard`] per shard, merged per group),
    /// each state serialized and read back, merged in any order and tree
    /// shape, gives the plan [`Job::fit`] gives, bit for bit; and a plan
    /// folded into a job ([`Job::merge_state`]) gives the same artifacts.
    #[test]
    fn states_merged_in_any_tree_give_the_same_plan(
        train in rows(60),
        layout in layout(),
        groups in proptest::collection::vec(0usize..4, 1..8),
        picks in proptest::collection::vec(any::<(u16, u16, bool)>(), 16),
        median in any::<[bool; 2]>(),
    ) {
        let empty: Vec<Row> = Vec::new();
        let one = Layout { cuts: vec![], orders: vec![vec![0, 1, 2, 3]], crlf: vec![false], last_eol: vec![true] };
        let shards = dataset([&train, &empty, &empty], [&layout, &one, &one]);
        let files = files(&shards);
        let settings = settings(median);
        let mut whole = new_job(&files, settings.clone());
        whole.fit(&source(&files), Control::default()).unwrap();
        let want = format!("{:?}", whole.plan().unwrap());

        // one state per group of shards (a worker folding several shards)
        let mut states: Vec<TrainStats> = Vec::new();
        for (k, (path, bytes)) in files.iter().filter(|(p, _)| p.starts_with("train/")).enumerate() {
            let (split, name) = path.split_once('/').unwrap();
            let shard = Shard::of_file(split, name, bytes.len() as u64).unwrap();
            let state = fit_shard(&shard, bytes.clone(), &settings).unwrap();
            let g = groups[k % groups.len()];
            while states.len() <= g {
                states.push(TrainStats::default());
            }
            states[g].merge(state).unwrap();
        }
        // a random tree: merge two random states (either way round), each
        // trip through bytes, until one is left
        let mut states: Vec<TrainStats> = states
            .iter()
            .map(|s| TrainStats::from_bytes(&s.to_bytes()).unwrap())
            .collect();
        let mut p = 0;
        while states.len() > 1 {
            let (i, j, flip) = picks[p % picks.len()];
            p += 1;
            let a = states.swap_remove(i as usize % states.len());
            let b = states.swap_remove(j as usize % states.len());
            let (mut x, y) = if flip { (b, a) } else { (a, b) };
            x.merge(y).unwrap();
            states.push(TrainStats::from_bytes(&x.to_bytes()).unwrap());
        }
        let merged = states.pop().unwrap();
        let plan = plan_from_state(&merged, &settings).unwrap();
        prop_assert_eq!(format!("{:?}", plan), want.clone());
        prop_assert_eq!(plan.dict.to_pickle(), whole.fill_values().unwrap().to_pickle());

        // the same state driven through a job: the same plan and artifacts
        let mut job = new_job(&files, settings.clone());
        job.begin(Pass::Fit).unwrap();
        job.merge_state(merged).unwrap();
        job.finish_fit().unwrap();
        prop_assert_eq!(format!("{:?}", job.plan().unwrap()), want);
        let (a, b) = (job.artifacts("t").unwrap(), whole.artifacts("t").unwrap());
        prop_assert_eq!(a, b);
    }
}
