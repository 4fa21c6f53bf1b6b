//! One error type for the whole engine.
//!
//! Every failure is data: an [`ErrorKind`] saying what went wrong, plus the
//! shard file and the place in it (line, row group, column) where known. The
//! CLI prints it as one line; the wasm layer turns it into a rejected promise
//! carrying the same text.

use std::fmt;

/// Result alias used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An engine error: what went wrong, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    kind: ErrorKind,
    file: Option<String>,
    place: Option<String>,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file or folder could not be read or written.
    Io(String),
    /// The dataset's layout is not usable (missing split, no shards, ...).
    Layout(String),
    /// A CSV/TSV shard is malformed (ragged row, unterminated quote, bad UTF-8).
    Csv(String),
    /// A Parquet shard could not be decoded or encoded.
    Parquet(String),
    /// A gzip stream is corrupt or truncated.
    Gzip(String),
    /// A zip archive (a dataset sent as one file) is malformed or unsupported.
    Zip(String),
    /// Shards disagree on a column's columns or type.
    Schema(String),
    /// An `impute_dict.pkl` / `.json` is missing, malformed or unsafe.
    Artifact(String),
    /// A setting is invalid.
    Settings(String),
    /// A fill value cannot be used (not finite, or not for this column).
    FillValue(String),
    /// A shard's output does not have as many rows as its input.
    RowCount(String),
    /// A step was asked for out of order (fill before fit, a second pass
    /// while one runs).
    State(String),
    /// A bug: a worker thread panicked.
    Internal(String),
    /// The run was cancelled.
    Cancelled,
}

impl ErrorKind {
    /// A short, stable name for the kind (`err.kind` in JavaScript):
    /// `io`, `layout`, `csv`, `parquet`, `gzip`, `zip`, `schema`, `artifact`,
    /// `settings`, `fill_value`, `row_count`, `state`, `internal`,
    /// `cancelled`.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Io(_) => "io",
            ErrorKind::Layout(_) => "layout",
            ErrorKind::Csv(_) => "csv",
            ErrorKind::Parquet(_) => "parquet",
            ErrorKind::Gzip(_) => "gzip",
            ErrorKind::Zip(_) => "zip",
            ErrorKind::Schema(_) => "schema",
            ErrorKind::Artifact(_) => "artifact",
            ErrorKind::Settings(_) => "settings",
            ErrorKind::FillValue(_) => "fill_value",
            ErrorKind::RowCount(_) => "row_count",
            ErrorKind::State(_) => "state",
            ErrorKind::Internal(_) => "internal",
            ErrorKind::Cancelled => "cancelled",
        }
    }
}

impl Error {
    /// A new error of this kind, with no file or place yet.
    pub fn new(kind: ErrorKind) -> Error {
        Error {
            kind,
            file: None,
            place: None,
        }
    }

    /// Names the file this error is about (kept if one is already set).
    pub fn in_file(mut self, file: impl Into<String>) -> Error {
        if self.file.is_none() {
            self.file = Some(file.into());
        }
        self
    }

    /// Names the place in the file (line, row group, column); kept if set.
    pub fn at(mut self, place: impl Into<String>) -> Error {
        if self.place.is_none() {
            self.place = Some(place.into());
        }
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The file this error is about, if known.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// The place in the file, if known.
    pub fn place(&self) -> Option<&str> {
        self.place.as_deref()
    }

    pub(crate) fn layout(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Layout(msg.into()))
    }
    pub(crate) fn csv(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Csv(msg.into()))
    }
    pub(crate) fn parquet(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Parquet(msg.into()))
    }
    pub(crate) fn zip(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Zip(msg.into()))
    }
    pub(crate) fn gzip(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Gzip(msg.into()))
    }
    pub(crate) fn schema(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Schema(msg.into()))
    }
    pub(crate) fn artifact(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Artifact(msg.into()))
    }
    pub(crate) fn settings(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Settings(msg.into()))
    }
    pub(crate) fn fill_value(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::FillValue(msg.into()))
    }
    pub(crate) fn state(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::State(msg.into()))
    }
    pub(crate) fn internal(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal(msg.into()))
    }
    /// An I/O failure on `path` while doing `what`.
    pub fn io(path: impl Into<String>, what: &str, e: &std::io::Error) -> Error {
        Error::new(ErrorKind::Io(format!("cannot {what}: {e}"))).in_file(path)
    }
    /// The run was cancelled.
    pub fn cancelled() -> Error {
        Error::new(ErrorKind::Cancelled)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, &self.place) {
            (Some(file), Some(place)) => write!(f, "{file}: {place}: ")?,
            (Some(file), None) => write!(f, "{file}: ")?,
            (None, Some(place)) => write!(f, "{place}: ")?,
            (None, None) => {}
        }
        match &self.kind {
            ErrorKind::Io(m) => write!(f, "{m}"),
            ErrorKind::Layout(m) => write!(f, "{m}"),
            ErrorKind::Csv(m) => write!(f, "invalid CSV: {m}"),
            ErrorKind::Parquet(m) => write!(f, "invalid Parquet: {m}"),
            ErrorKind::Gzip(m) => write!(f, "invalid gzip: {m}"),
            ErrorKind::Zip(m) => write!(f, "invalid zip: {m}"),
            ErrorKind::Schema(m) => write!(f, "schema mismatch: {m}"),
            ErrorKind::Artifact(m) => write!(f, "{m}"),
            ErrorKind::Settings(m) => write!(f, "invalid setting: {m}"),
            ErrorKind::FillValue(m) => write!(f, "{m}"),
            ErrorKind::RowCount(m) => write!(f, "row count check failed: {m}"),
            ErrorKind::State(m) => write!(f, "{m}"),
            ErrorKind::Internal(m) => write!(f, "internal error: {m}"),
            ErrorKind::Cancelled => write!(f, "cancelled"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_and_place() {
        let e = Error::csv("row has 3 fields, header has 4")
            .at("line 7")
            .in_file("train/part-00001.csv");
        assert_eq!(
            e.to_string(),
            "train/part-00001.csv: line 7: invalid CSV: row has 3 fields, header has 4"
        );
        // the first file named wins: inner layers know best
        let e = e.in_file("other");
        assert_eq!(e.file(), Some("train/part-00001.csv"));
    }
}
