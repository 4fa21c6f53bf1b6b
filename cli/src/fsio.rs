//! Files on disk: listing a dataset folder, reading shards, and writing
//! output so that nothing looks complete before it is.
//!
//! Output shards are written under a temporary name and renamed only when
//! every shard of the run succeeded; on failure the temporary files are
//! removed, so a failed run never leaves a complete-looking output folder.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use shardimpute_core::{Error, Result, Shard, Sink, Source};

fn io_err(path: &Path, what: &str, e: std::io::Error) -> Error {
    shardimpute_core::Error::new(shardimpute_core::ErrorKind::Io(format!(
        "cannot {what}: {e}"
    )))
    .in_file(path.display().to_string())
}

/// Every file one or two levels below `root`, as (`split/name`, size).
pub fn list_dataset(root: &Path) -> Result<Vec<(String, u64)>> {
    let entries = fs::read_dir(root).map_err(|e| io_err(root, "read the input folder", e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_err(root, "read the input folder", e))?;
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let split = entry.file_name().to_string_lossy().into_owned();
        let files = fs::read_dir(&dir).map_err(|e| io_err(&dir, "read the split folder", e))?;
        for f in files {
            let f = f.map_err(|e| io_err(&dir, "read the split folder", e))?;
            let meta = f.metadata().map_err(|e| io_err(&f.path(), "stat", e))?;
            if meta.is_file() {
                out.push((
                    format!("{split}/{}", f.file_name().to_string_lossy()),
                    meta.len(),
                ));
            }
        }
    }
    Ok(out)
}

/// Reads shards from a dataset folder.
pub struct DirSource {
    /// The dataset folder.
    pub root: PathBuf,
}

impl Source for DirSource {
    fn read(&self, shard: &Shard) -> Result<Vec<u8>> {
        let p = self.root.join(&shard.split).join(&shard.name);
        fs::read(&p).map_err(|e| io_err(&p, "read", e))
    }
}

/// Writes output shards under temporary names; [`DirSink::commit`] renames
/// them, [`DirSink::abort`] removes them.
pub struct DirSink {
    root: PathBuf,
    written: Mutex<Vec<(PathBuf, PathBuf)>>,
}

impl DirSink {
    /// A sink writing into `root/<split>/`.
    pub fn new(root: PathBuf) -> DirSink {
        DirSink {
            root,
            written: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Vec<(PathBuf, PathBuf)> {
        match self.written.lock() {
            Ok(mut w) => std::mem::take(&mut *w),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }

    /// Gives every output shard its real name.
    pub fn commit(&self) -> Result<()> {
        for (tmp, fin) in self.take() {
            fs::rename(&tmp, &fin).map_err(|e| io_err(&fin, "rename into place", e))?;
        }
        Ok(())
    }

    /// Removes every output shard written so far.
    pub fn abort(&self) {
        for (tmp, _) in self.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}

impl Sink for DirSink {
    fn write(&self, shard: &Shard, bytes: Vec<u8>) -> Result<()> {
        let dir = self.root.join(&shard.split);
        fs::create_dir_all(&dir).map_err(|e| io_err(&dir, "create", e))?;
        let fin = dir.join(&shard.name);
        let tmp = dir.join(format!(".{}.partial", shard.name));
        // record before writing, so abort() also removes a half-written file
        match self.written.lock() {
            Ok(mut w) => w.push((tmp.clone(), fin)),
            Err(p) => p.into_inner().push((tmp.clone(), fin)),
        }
        fs::write(&tmp, bytes).map_err(|e| io_err(&tmp, "write", e))
    }
}

/// Writes a file atomically (temporary name, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| io_err(dir, "create", e))?;
    }
    let tmp = path.with_extension("partial");
    fs::write(&tmp, bytes).map_err(|e| io_err(&tmp, "write", e))?;
    fs::rename(&tmp, path).map_err(|e| io_err(path, "rename into place", e))
}

/// Copies every plain file of `from` into `to` (the parameter accumulator).
pub fn copy_artifacts(from: &Path, to: &Path) -> Result<usize> {
    fs::create_dir_all(to).map_err(|e| io_err(to, "create", e))?;
    let mut n = 0;
    for entry in fs::read_dir(from).map_err(|e| io_err(from, "read the artifacts folder", e))? {
        let entry = entry.map_err(|e| io_err(from, "read the artifacts folder", e))?;
        let p = entry.path();
        if p.is_file() {
            let dest = to.join(entry.file_name());
            if dest != p {
                fs::copy(&p, &dest).map_err(|e| io_err(&p, "copy", e))?;
            }
            n += 1;
        }
    }
    Ok(n)
}
