//! Finding the shards of a dataset.
//!
//! A dataset is a folder of split folders, each holding shards named
//! `part-NNNNN.<ext>` (streaming layout) or one `{split}_processed_data.<ext>`
//! (batch layout). Discovery works on relative paths (`train/part-00000.csv`)
//! so the same code serves a folder on disk and a folder picked in a browser.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, Result};

/// A shard's file format, with its compression: CSV and TSV may be gzip
/// files, Parquet compresses inside the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShardFormat {
    /// Comma-separated values (`.csv`, `.csv.gz`).
    Csv {
        /// Whether the file is gzip-compressed.
        gzip: bool,
    },
    /// Tab-separated values (`.tsv`, `.tsv.gz`).
    Tsv {
        /// Whether the file is gzip-compressed.
        gzip: bool,
    },
    /// Apache Parquet, any codec (`.parquet`, `.pq`).
    Parquet,
}

impl ShardFormat {
    /// The format a file name's extension says, if it is a shard format.
    pub fn from_file_name(name: &str) -> Option<ShardFormat> {
        let lower = name.to_ascii_lowercase();
        let ends = |ext: &str| lower.ends_with(ext);
        Some(if ends(".parquet") || ends(".pq") {
            ShardFormat::Parquet
        } else if ends(".csv.gz") {
            ShardFormat::Csv { gzip: true }
        } else if ends(".tsv.gz") {
            ShardFormat::Tsv { gzip: true }
        } else if ends(".csv") {
            ShardFormat::Csv { gzip: false }
        } else if ends(".tsv") {
            ShardFormat::Tsv { gzip: false }
        } else {
            return None;
        })
    }

    /// Whether the file is gzip-compressed.
    pub fn gzip(self) -> bool {
        matches!(
            self,
            ShardFormat::Csv { gzip: true } | ShardFormat::Tsv { gzip: true }
        )
    }

    /// A short label: `csv`, `csv.gz`, `tsv`, `tsv.gz`, `parquet`.
    pub fn label(self) -> &'static str {
        match self {
            ShardFormat::Csv { gzip: false } => "csv",
            ShardFormat::Csv { gzip: true } => "csv.gz",
            ShardFormat::Tsv { gzip: false } => "tsv",
            ShardFormat::Tsv { gzip: true } => "tsv.gz",
            ShardFormat::Parquet => "parquet",
        }
    }
}

impl Serialize for ShardFormat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

/// One shard file of a split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// The split folder's name (`train`).
    pub split: String,
    /// The file name (`part-00042.csv`), kept for the output.
    pub name: String,
    /// Format and compression.
    pub format: ShardFormat,
    /// Size in bytes, where known (0 otherwise).
    pub size: u64,
}

impl Shard {
    /// The shard `split/name` of `size` bytes, its format read from the
    /// file name's extension (any name is taken, as one file given alone).
    pub fn of_file(split: &str, name: &str, size: u64) -> Result<Shard> {
        let format = ShardFormat::from_file_name(name).ok_or_else(|| {
            Error::layout(format!(
                "{split}/{name}: not a shard file name (expected .csv, .tsv, .csv.gz, .tsv.gz, .parquet or .pq)"
            ))
        })?;
        Ok(Shard {
            split: split.to_string(),
            name: name.to_string(),
            format,
            size,
        })
    }

    /// The path relative to the dataset folder: `train/part-00042.csv`.
    pub fn path(&self) -> String {
        format!("{}/{}", self.split, self.name)
    }
}

/// `{ path, name, format, size }`.
impl Serialize for Shard {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Shard", 4)?;
        st.serialize_field("path", &self.path())?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("format", &self.format)?;
        st.serialize_field("size", &self.size)?;
        st.end()
    }
}

/// A split and its shards, in shard order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Split {
    /// The split's name.
    pub name: String,
    /// Its shards, sorted by file name.
    pub shards: Vec<Shard>,
}

/// The splits a job works on, and files seen but not used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataset {
    /// The splits, in the job's order.
    pub splits: Vec<Split>,
    /// Files that were seen in a split folder but are not shards.
    pub ignored: Vec<String>,
}

impl Dataset {
    /// The split of that name.
    pub fn split(&self, name: &str) -> Option<&Split> {
        self.splits.iter().find(|s| s.name == name)
    }

    /// Every shard of every split.
    pub fn shards(&self) -> impl Iterator<Item = &Shard> {
        self.splits.iter().flat_map(|s| s.shards.iter())
    }
}

/// The format of a shard of `split` (`part-<digits>...<ext>` or
/// `<split>_processed_data.<ext>`), or `None` for any other file name.
fn shard_format(split: &str, name: &str) -> Option<ShardFormat> {
    if name.starts_with('.') || name.contains('/') {
        return None;
    }
    let named = match name.strip_prefix("part-") {
        Some(rest) => rest.bytes().next().is_some_and(|b| b.is_ascii_digit()),
        None => name
            .strip_prefix(split)
            .and_then(|r| r.strip_prefix("_processed_data."))
            .is_some(),
    };
    named.then(|| ShardFormat::from_file_name(name)).flatten()
}

/// Builds the dataset of `splits` from files given as (relative path, size).
///
/// Paths are `split/file`; deeper or shallower paths are ignored (and
/// listed). A split folder that is missing or holds no shard is an error.
pub fn discover<'a, I>(files: I, splits: &[String]) -> Result<Dataset>
where
    I: IntoIterator<Item = (&'a str, u64)>,
{
    let mut found: BTreeMap<&str, Vec<Shard>> = BTreeMap::new();
    let mut seen_dirs: Vec<String> = Vec::new();
    let mut ignored = Vec::new();
    for (path, size) in files {
        let path = path.trim_start_matches("./");
        let Some((dir, name)) = path.split_once('/') else {
            continue;
        };
        if !seen_dirs.iter().any(|d| d == dir) {
            seen_dirs.push(dir.to_string());
        }
        let Some(split) = splits.iter().find(|s| s.as_str() == dir) else {
            continue;
        };
        let Some(format) = shard_format(split, name) else {
            ignored.push(path.to_string());
            continue;
        };
        found.entry(split.as_str()).or_default().push(Shard {
            split: split.clone(),
            name: name.to_string(),
            format,
            size,
        });
    }
    let mut out = Vec::new();
    for split in splits {
        if !seen_dirs.iter().any(|d| d == split) {
            return Err(Error::layout(format!(
                "split folder `{split}/` not found (found: {})",
                if seen_dirs.is_empty() {
                    "nothing".to_string()
                } else {
                    seen_dirs.join(", ")
                }
            )));
        }
        let mut shards = found.remove(split.as_str()).unwrap_or_default();
        if shards.is_empty() {
            return Err(Error::layout(format!(
                "no shards in `{split}/` (expected part-NNNNN.csv|tsv|csv.gz|tsv.gz|parquet or {split}_processed_data.<ext>)"
            )));
        }
        shards.sort_by(|a, b| a.name.cmp(&b.name));
        out.push(Split {
            name: split.clone(),
            shards,
        });
    }
    ignored.sort();
    Ok(Dataset {
        splits: out,
        ignored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn splits(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finds_streaming_and_batch_layouts() {
        let files = [
            ("train/part-00001.csv.gz", 10),
            ("train/part-00000.csv", 5),
            ("train/_SUCCESS", 0),
            ("val/val_processed_data.parquet", 7),
            ("test/part-00000-abc.snappy.parquet", 1),
            ("other/part-00000.csv", 1),
        ];
        let ds = discover(files, &splits(&["train", "val", "test"])).unwrap();
        let names: Vec<_> = ds.shards().map(|s| s.path()).collect();
        assert_eq!(
            names,
            [
                "train/part-00000.csv",
                "train/part-00001.csv.gz",
                "val/val_processed_data.parquet",
                "test/part-00000-abc.snappy.parquet"
            ]
        );
        assert!(ds.split("train").unwrap().shards[1].format.gzip());
        assert_eq!(ds.ignored, ["train/_SUCCESS"]);
    }

    #[test]
    fn missing_split_and_empty_split_are_errors() {
        let e = discover([("train/part-00000.csv", 1)], &splits(&["train", "val"])).unwrap_err();
        assert!(e.to_string().contains("`val/` not found"), "{e}");
        let e = discover([("val/notes.txt", 1)], &splits(&["val"])).unwrap_err();
        assert!(e.to_string().contains("no shards in `val/`"), "{e}");
    }
}
