//! A job over folders on disk, for the native front ends (the CLI, the
//! Python package): listing a dataset folder, reading shards and
//! artifacts, and writing output so that nothing looks complete before it
//! is.
//!
//! Output files are written under fresh temporary names (created
//! exclusively, unpredictable, so never through a planted symlink) and
//! renamed only when the whole run succeeded; on failure they are removed.

use std::fs;
use std::hash::BuildHasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::dataset::Shard;
use crate::error::{Error, Result};
use crate::io::{Sink, Source};
use crate::job::{Control, Job, JobKind};
use crate::settings::Settings;

fn io_err(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::io(path.display().to_string(), what, &e)
}

/// A file of a dataset folder.
struct Listed {
    /// `split/name`.
    rel: String,
    size: u64,
    /// For a symlink that leaves the dataset folder (or leads nowhere):
    /// why it may not be read.
    refused: Option<String>,
}

/// Every file one or two levels below `root`. Symlinked files are listed
/// like files (with their target's size); one that leaves `root` is marked.
fn list_dataset(root: &Path) -> Result<Vec<Listed>> {
    let entries = fs::read_dir(root).map_err(|e| io_err(root, "read the input folder", e))?;
    let real_root = canonical(root)?;
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
            let rel = format!("{split}/{}", f.file_name().to_string_lossy());
            let (meta, refused) = match fs::canonicalize(f.path()) {
                Ok(real) if real.starts_with(&real_root) => {
                    (fs::metadata(&real).map_err(|e| io_err(&f.path(), "stat", e))?, None)
                }
                Ok(real) => (
                    fs::metadata(&real).map_err(|e| io_err(&f.path(), "stat", e))?,
                    Some(format!(
                        "a symlink to {}, outside the input folder (symlinked shards must stay inside it)",
                        real.display()
                    )),
                ),
                Err(e) => match f.metadata() {
                    Ok(m) if m.file_type().is_symlink() => {
                        out.push(Listed {
                            rel,
                            size: 0,
                            refused: Some(format!("a symlink that leads nowhere ({e})")),
                        });
                        continue;
                    }
                    _ => return Err(io_err(&f.path(), "resolve", e)),
                },
            };
            if meta.is_file() {
                out.push(Listed {
                    rel,
                    size: meta.len(),
                    refused,
                });
            }
        }
    }
    Ok(out)
}

/// The names of the sub-folders of `root` that can be splits.
pub fn split_folders(root: &Path) -> Result<Vec<String>> {
    let mut dirs: Vec<String> = list_dataset(root)?
        .iter()
        .filter_map(|f| f.rel.split_once('/').map(|(d, _)| d.to_string()))
        .filter(|d| !d.starts_with('.') && d != "model_artifacts")
        .collect();
    dirs.sort();
    dirs.dedup();
    Ok(dirs)
}

/// Every plain file of an artifacts folder, as (name, bytes); a symlink
/// that leaves the folder is refused (it would copy an outside file into
/// the output).
fn read_artifacts(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let real_dir = canonical(dir)?;
    for entry in fs::read_dir(dir).map_err(|e| io_err(dir, "read the artifacts folder", e))? {
        let entry = entry.map_err(|e| io_err(dir, "read the artifacts folder", e))?;
        let p = entry.path();
        let real = fs::canonicalize(&p).map_err(|e| io_err(&p, "resolve", e))?;
        if !real.starts_with(&real_dir) {
            return Err(Error::artifact(format!(
                "a symlink to {}, outside the artifacts folder: refusing to carry it",
                real.display()
            ))
            .in_file(p.display().to_string()));
        }
        if real.is_file() {
            let bytes = fs::read(&p).map_err(|e| io_err(&p, "read", e))?;
            out.push((entry.file_name().to_string_lossy().into_owned(), bytes));
        }
    }
    out.sort();
    Ok(out)
}

/// Reads one file whole.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| io_err(path, "read", e))
}

/// Reads shards from a dataset folder.
struct DirSource {
    /// The dataset folder.
    root: PathBuf,
}

impl Source for DirSource {
    fn read(&self, shard: &Shard) -> Result<Vec<u8>> {
        read_file(&self.root.join(&shard.split).join(&shard.name))
    }
}

/// A fresh temporary path beside `fin`, created exclusively and written.
fn write_temp(fin: &Path, bytes: &[u8]) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = fin.parent().unwrap_or(Path::new("."));
    let name = fin
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let salt = std::collections::hash_map::RandomState::new()
        .hash_one((std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let tmp = dir.join(format!(".{name}.{salt:016x}.partial"));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| io_err(&tmp, "create", e))?;
    f.write_all(bytes).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_err(&tmp, "write", e)
    })?;
    Ok(tmp)
}

/// Writes files under temporary names; [`DirSink::commit`] renames them,
/// [`DirSink::abort`] removes them.
struct DirSink {
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

    /// Writes `bytes` to `root/rel` (under a temporary name until commit).
    pub fn put(&self, rel: &Path, bytes: &[u8]) -> Result<()> {
        let fin = self.root.join(rel);
        if let Some(dir) = fin.parent() {
            fs::create_dir_all(dir).map_err(|e| io_err(dir, "create", e))?;
        }
        let tmp = write_temp(&fin, bytes)?;
        match self.written.lock() {
            Ok(mut w) => w.push((tmp, fin)),
            Err(p) => p.into_inner().push((tmp, fin)),
        }
        Ok(())
    }

    /// Gives every file its real name; if a rename fails, the files not
    /// renamed yet are removed.
    pub fn commit(&self) -> Result<()> {
        let staged = self.take();
        for (i, (tmp, fin)) in staged.iter().enumerate() {
            if let Err(e) = fs::rename(tmp, fin) {
                for (rest, _) in &staged[i..] {
                    let _ = fs::remove_file(rest);
                }
                return Err(io_err(fin, "rename into place", e));
            }
        }
        Ok(())
    }

    /// Removes every file written so far.
    pub fn abort(&self) {
        for (tmp, _) in self.take() {
            let _ = fs::remove_file(tmp);
        }
    }
}

impl Sink for DirSink {
    fn write(&self, shard: &Shard, bytes: Vec<u8>) -> Result<()> {
        self.put(&Path::new(&shard.split).join(&shard.name), &bytes)
    }
}

/// A job over folders: where everything comes from and goes to.
pub struct Folders<'a> {
    /// The dataset folder (`train/`, `val/`, ... inside).
    pub input: &'a Path,
    /// Where shards go, as `output/<split>/<name>` (`None`: pass 1 only).
    pub output: Option<&'a Path>,
    /// Where the artifacts go.
    pub artifacts_out: &'a Path,
    /// An artifacts folder to carry (and to load saved fill values from).
    pub artifacts_in: Option<&'a Path>,
    /// A file of saved fill values (`impute_dict.pkl` / `.json`).
    pub impute_dict: Option<&'a Path>,
    /// The splits to fill, instead of the job's default ones.
    pub splits: Option<Vec<String>>,
}

/// `path` made absolute with symlinks resolved, for a path that may not
/// exist yet (its nearest existing ancestor is resolved).
fn canonical(path: &Path) -> Result<PathBuf> {
    let mut missing = Vec::new();
    let mut at = path.to_path_buf();
    loop {
        match fs::canonicalize(&at) {
            Ok(real) => return Ok(missing.iter().rev().fold(real, |p, part| p.join(part))),
            Err(e) => match (at.file_name(), at.parent()) {
                (Some(name), Some(parent)) => {
                    missing.push(name.to_os_string());
                    at = if parent.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        parent.to_path_buf()
                    };
                }
                _ => return Err(io_err(path, "resolve", e)),
            },
        }
    }
}

/// Refuses, before anything is written, an output that would overwrite or
/// mix with the input, and carried artifacts that are the output's own.
fn check_folders(at: &Folders<'_>) -> Result<()> {
    let input = canonical(at.input)?;
    let refuse = |what: &str, p: &Path, how: &str| {
        Err(Error::layout(format!(
            "refusing to write: {what} {} {how} the input folder {}",
            p.display(),
            at.input.display()
        )))
    };
    // the artifacts folder may sit inside the input (`data/model_artifacts`
    // is never read as a split), but may not be it or hold it
    let outputs = [
        ("the output folder", at.output, true),
        ("the artifacts folder", Some(at.artifacts_out), false),
    ];
    for (what, out, not_inside) in outputs {
        let Some(out) = out else { continue };
        let real = canonical(out)?;
        if real == input {
            return refuse(what, out, "is");
        }
        if not_inside && real.starts_with(&input) {
            return refuse(what, out, "is inside");
        }
        if input.starts_with(&real) {
            return refuse(what, out, "contains");
        }
    }
    if let Some(carried) = at.artifacts_in {
        if canonical(carried)? == canonical(at.artifacts_out)? {
            return Err(Error::layout(format!(
                "refusing to write: --artifacts-in {} is the output's artifacts folder {}",
                carried.display(),
                at.artifacts_out.display()
            )));
        }
    }
    Ok(())
}

/// Runs a whole job over folders: finds the shards, loads what is saved,
/// runs the passes, writes the shards and the artifacts (`timestamp` goes
/// into the report). Nothing is left behind on failure. Returns the job,
/// for its reports and warnings.
pub fn run_folders(
    kind: JobKind,
    settings: Settings,
    at: Folders<'_>,
    ctl: Control<'_>,
    timestamp: &str,
) -> Result<Job> {
    check_folders(&at)?;
    let files = list_dataset(at.input)?;
    let mut job = Job::new(
        kind,
        settings,
        files.iter().map(|f| (f.rel.as_str(), f.size)),
        at.splits,
    )?;
    let refused: std::collections::HashMap<&str, &str> = files
        .iter()
        .filter_map(|f| f.refused.as_deref().map(|why| (f.rel.as_str(), why)))
        .collect();
    for shard in job.dataset().shards() {
        if let Some(why) = refused.get(shard.path().as_str()) {
            return Err(Error::layout(why.to_string()).in_file(shard.path()));
        }
    }
    if let Some(dir) = at.artifacts_in {
        job.add_artifacts(read_artifacts(dir)?)
            .map_err(|e| e.in_file(dir.display().to_string()))?;
    }
    if let Some(file) = at.impute_dict {
        job.load_fill_values(&file.display().to_string(), &read_file(file)?)?;
    }
    let source = DirSource {
        root: at.input.to_path_buf(),
    };
    let shards = DirSink::new(at.output.map_or_else(PathBuf::new, Path::to_path_buf));
    let artifacts = DirSink::new(at.artifacts_out.to_path_buf());
    let result = job
        .run(&source, &shards, ctl)
        .and_then(|()| job.artifacts(timestamp))
        .and_then(|all| {
            all.iter()
                .try_for_each(|(name, bytes)| artifacts.put(Path::new(name), bytes))
        })
        .and_then(|()| shards.commit())
        .and_then(|()| artifacts.commit());
    match result {
        Ok(()) => Ok(job),
        Err(e) => {
            shards.abort();
            artifacts.abort();
            Err(e)
        }
    }
}
