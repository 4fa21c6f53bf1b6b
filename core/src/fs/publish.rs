//! Publishing into an output folder so that nothing looks complete before
//! it is (SPEC 7a).
//!
//! A [`Target`] is one folder a run writes into: the output folder, or an
//! artifacts folder outside it. Opening one takes its lock (a second run
//! into the same folder is refused while the first holds it; the lock goes
//! with the process, so a killed run leaves none) and makes it ready:
//!
//! * an empty folder, or one holding only what an incomplete run left
//!   (its manifest but no `_SUCCESS`, and temporary files), is used, the
//!   leftovers removed;
//! * a complete earlier output (manifest and `_SUCCESS`) is refused unless
//!   `overwrite`, and then removed file by file from its manifest;
//! * a folder holding anything else is refused: it is not ours to remove.
//!
//! Files are staged under hidden temporary names. [`publish`] writes each
//! target's manifest, renames every file into place, and writes `_SUCCESS`
//! last; a failure on the way removes what it had renamed. A temporary file
//! left by a killed run is removed by the next run into the folder.

use std::collections::{BTreeSet, HashSet};
use std::fs::{self, File};
use std::hash::BuildHasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::{io_err, read_file};
use crate::artifacts::{manifest_json, read_manifest, MANIFEST_NAME, SUCCESS_NAME};
use crate::dataset::Shard;
use crate::error::{Error, Result};
use crate::io::{lock, Sink};

/// A file written under a temporary name, to be renamed to `root/rel`.
struct Staged {
    tmp: PathBuf,
    rel: String,
    bytes: u64,
}

/// One folder a run writes into, locked for the run.
pub(super) struct Target {
    root: PathBuf,
    /// The folder itself, opened and locked; dropping it unlocks (`None`
    /// where the system has no file locks: WASI).
    _lock: Option<File>,
    staged: Mutex<Vec<Staged>>,
}

impl Target {
    /// Creates `root` if needed, locks it and removes what an earlier
    /// shardimpute run left there (see the module's rules).
    pub(super) fn open(root: &Path, overwrite: bool) -> Result<Target> {
        fs::create_dir_all(root).map_err(|e| io_err(root, "create the output folder", e))?;
        let target = Target {
            root: root.to_path_buf(),
            _lock: lock_folder(root)?,
            staged: Mutex::default(),
        };
        target.make_ready(overwrite)?;
        Ok(target)
    }

    fn make_ready(&self, overwrite: bool) -> Result<()> {
        let found = walk(&self.root)?;
        let has = |name: &str| found.iter().any(|f| f == name);
        let listed: HashSet<String> = if has(MANIFEST_NAME) {
            let path = self.root.join(MANIFEST_NAME);
            read_manifest(&read_file(&path)?)
                .map_err(|e| e.in_file(path.display().to_string()))?
                .into_iter()
                .collect()
        } else {
            HashSet::new()
        };
        let ours = |f: &str| {
            is_temp_name(f)
                || (has(MANIFEST_NAME)
                    && (f == MANIFEST_NAME || f == SUCCESS_NAME || listed.contains(f)))
        };
        let foreign: Vec<&String> = found.iter().filter(|f| !ours(f)).collect();
        if let Some(first) = foreign.first() {
            let more = match foreign.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            return Err(Error::layout(format!(
                "refusing to write into {}: it holds files no shardimpute run wrote \
                 ({first}{more}); choose a new or empty folder",
                self.root.display()
            )));
        }
        if has(MANIFEST_NAME) && has(SUCCESS_NAME) && !overwrite {
            return Err(Error::layout(format!(
                "refusing to write into {}: it holds the complete output of an earlier run \
                 (its {SUCCESS_NAME} is there); pass --overwrite to replace it",
                self.root.display()
            )));
        }
        // `_SUCCESS` goes first (the folder stops looking complete), the
        // manifest last (until then it says what is left to remove)
        let mut order: Vec<&String> = found.iter().collect();
        order.sort_by_key(|f| (f.as_str() != SUCCESS_NAME, f.as_str() == MANIFEST_NAME));
        let mut dirs = BTreeSet::new();
        for rel in order {
            let path = self.root.join(rel);
            fs::remove_file(&path).map_err(|e| io_err(&path, "remove an earlier run's file", e))?;
            let mut parts: Vec<&str> = rel.split('/').collect();
            while parts.len() > 1 {
                parts.pop();
                dirs.insert(parts.join("/"));
            }
        }
        // the deepest first; a folder still holding something stays
        for dir in dirs.iter().rev() {
            let _ = fs::remove_dir(self.root.join(dir));
        }
        Ok(())
    }

    /// Writes `bytes` to `root/rel` under a temporary name, renamed by
    /// [`publish`].
    pub(super) fn put(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        if rel == MANIFEST_NAME || rel == SUCCESS_NAME {
            return Err(Error::layout(format!(
                "a file named {rel} cannot be written at the root of an output"
            )));
        }
        let tmp = write_temp(&self.root.join(rel), bytes)?;
        lock(&self.staged)?.push(Staged {
            tmp,
            rel: rel.to_string(),
            bytes: bytes.len() as u64,
        });
        Ok(())
    }

    /// Takes over a file staged by another process with [`stage`] for
    /// `root/rel` (a worker of a distributed run): it is published or
    /// removed with the files this target staged itself.
    pub(super) fn adopt(&self, rel: &str, tmp_name: &str) -> Result<()> {
        let fin = self.root.join(rel);
        let dir = fin.parent().unwrap_or(&self.root);
        let expected = fin
            .file_name()
            .map(|n| format!(".{}.", n.to_string_lossy()))
            .unwrap_or_default();
        if tmp_name.contains('/') || !is_temp_name(tmp_name) || !tmp_name.starts_with(&expected) {
            return Err(Error::layout(format!(
                "{tmp_name} is not a staged name for {rel}"
            )));
        }
        let tmp = dir.join(tmp_name);
        let meta = fs::symlink_metadata(&tmp).map_err(|e| io_err(&tmp, "stat a staged file", e))?;
        if !meta.is_file() {
            return Err(Error::layout(format!("{} is not a file", tmp.display())));
        }
        lock(&self.staged)?.push(Staged {
            tmp,
            rel: rel.to_string(),
            bytes: meta.len(),
        });
        Ok(())
    }

    fn take(&self) -> Vec<Staged> {
        match self.staged.lock() {
            Ok(mut s) => std::mem::take(&mut *s),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }
}

impl Sink for Target {
    fn write(&self, shard: &Shard, bytes: Vec<u8>) -> Result<()> {
        self.put(&shard.path(), &bytes)
    }
}

impl Drop for Target {
    /// Whatever was staged and not published is removed.
    fn drop(&mut self) {
        for s in self.take() {
            let _ = fs::remove_file(s.tmp);
        }
    }
}

/// Opens and locks the folder `root`, or refuses when another run holds it.
///
/// A lock just released can look held for a moment: a process started
/// from another thread between its fork and its exec holds a copy of every
/// open file, the last run's lock included. So a held lock is tried again
/// for [`LOCK_PATIENCE`] before the folder is refused; a run that really
/// holds it holds it far longer.
#[cfg(not(target_os = "wasi"))]
fn lock_folder(root: &Path) -> Result<Option<File>> {
    let handle = File::open(root).map_err(|e| io_err(root, "open the output folder", e))?;
    let start = std::time::Instant::now();
    loop {
        match handle.try_lock() {
            Ok(()) => return Ok(Some(handle)),
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_PATIENCE => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::layout(format!(
                    "refusing to write into {}: another shardimpute run is writing there",
                    root.display()
                )))
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(io_err(root, "lock the output folder", e))
            }
        }
    }
}

/// How long a held folder lock is tried again (see [`lock_folder`]).
#[cfg(not(target_os = "wasi"))]
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(200);

/// WASI has no file locks: two runs into one folder are not refused (the
/// host runs one process per folder, as a CI job does).
#[cfg(target_os = "wasi")]
fn lock_folder(_root: &Path) -> Result<Option<File>> {
    Ok(None)
}

/// Publishes what every target staged: the manifests, then every file
/// under its real name, then each target's `_SUCCESS`, in the order given
/// (the output folder's last). On failure, what was renamed is removed
/// again (best effort; what remains has no `_SUCCESS` and is removed by
/// the next run).
pub(super) fn publish(targets: &[&Target]) -> Result<()> {
    let staged: Vec<Vec<Staged>> = targets.iter().map(|t| t.take()).collect();
    let mut placed: Vec<PathBuf> = Vec::new();
    let result = (|| {
        for (t, files) in targets.iter().zip(&staged) {
            let list: Vec<(String, u64)> = files.iter().map(|s| (s.rel.clone(), s.bytes)).collect();
            let path = t.root.join(MANIFEST_NAME);
            let tmp = write_temp(&path, &manifest_json(&list)?)?;
            rename(&tmp, &path)?;
            placed.push(path);
        }
        for (t, files) in targets.iter().zip(&staged) {
            for s in files {
                let path = t.root.join(&s.rel);
                rename(&s.tmp, &path)?;
                placed.push(path);
            }
        }
        for t in targets {
            let path = t.root.join(SUCCESS_NAME);
            let tmp = write_temp(&path, b"")?;
            rename(&tmp, &path)?;
        }
        Ok(())
    })();
    if result.is_err() {
        for s in staged.iter().flatten() {
            let _ = fs::remove_file(&s.tmp);
        }
        // the files first, the manifests (placed first) last
        for path in placed.iter().rev() {
            let _ = fs::remove_file(path);
        }
    }
    result
}

fn rename(tmp: &Path, path: &Path) -> Result<()> {
    fs::rename(tmp, path).map_err(|e| {
        let _ = fs::remove_file(tmp);
        io_err(path, "rename into place", e)
    })
}

/// Writes `bytes` for `root/rel` under a temporary name beside it, as a
/// [`Target`] stages a file, and returns that name, for the run that holds
/// the target to [`Target::adopt`] it. For workers of a distributed run,
/// which write into the output folder the driver locked.
pub(super) fn stage(root: &Path, rel: &str, bytes: &[u8]) -> Result<String> {
    if rel == MANIFEST_NAME
        || rel == SUCCESS_NAME
        || rel.split('/').any(|p| p == ".." || p.is_empty())
    {
        return Err(Error::layout(format!(
            "{rel} cannot be written into an output folder"
        )));
    }
    let tmp = write_temp(&root.join(rel), bytes)?;
    Ok(tmp
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default())
}

/// Every file below `root`, as `/`-separated relative paths; symlinks are
/// listed, not followed.
fn walk(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut dirs = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = dirs.pop() {
        for entry in fs::read_dir(&dir).map_err(|e| io_err(&dir, "read the output folder", e))? {
            let entry = entry.map_err(|e| io_err(&dir, "read the output folder", e))?;
            let rel = format!("{prefix}{}", entry.file_name().to_string_lossy());
            let kind = entry
                .file_type()
                .map_err(|e| io_err(&entry.path(), "stat", e))?;
            if kind.is_dir() {
                dirs.push((entry.path(), format!("{rel}/")));
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Whether the last part of `rel` is one of our temporary names,
/// `.<name>.<16 hex digits>.partial`.
fn is_temp_name(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let Some(stem) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(".partial"))
    else {
        return false;
    };
    match stem.rsplit_once('.') {
        Some((_, salt)) => salt.len() == 16 && salt.bytes().all(|b| b.is_ascii_hexdigit()),
        None => false,
    }
}

/// This process's id, where there is one (WASI has none; the name's salt
/// is random anyway).
fn process_id() -> u32 {
    #[cfg(not(target_os = "wasi"))]
    return std::process::id();
    #[cfg(target_os = "wasi")]
    return 0;
}

/// A fresh temporary file beside `fin`, created exclusively (so never
/// through a planted symlink) under an unpredictable name, and written.
fn write_temp(fin: &Path, bytes: &[u8]) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = fin.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| io_err(dir, "create", e))?;
    let name = fin
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let salt = std::collections::hash_map::RandomState::new()
        .hash_one((process_id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn files(root: &Path) -> Vec<String> {
        walk(root).unwrap()
    }

    /// A complete output in `root` holding the one file `rel`.
    fn published(root: &Path, rel: &str) {
        let t = Target::open(root, false).unwrap();
        t.put(rel, b"x\n").unwrap();
        publish(&[&t]).unwrap();
    }

    #[test]
    fn temporary_names_are_recognised_exactly() {
        assert!(is_temp_name("train/.part-1.csv.0123456789abcdef.partial"));
        assert!(!is_temp_name("train/.part-1.csv.partial"));
        assert!(!is_temp_name("train/part-1.csv.0123456789abcdef.partial"));
        assert!(!is_temp_name(".x.0123456789abcdeg.partial"));
    }

    #[test]
    fn a_published_folder_has_its_manifest_and_success_last() {
        let dir = tempfile::tempdir().unwrap();
        let t = Target::open(dir.path(), false).unwrap();
        t.put("train/a.csv", b"x\n1\n").unwrap();
        t.put("model_artifacts/impute_dict.pkl", b"p").unwrap();
        assert_eq!(files(dir.path()).len(), 2);
        assert!(files(dir.path()).iter().all(|f| is_temp_name(f)));
        publish(&[&t]).unwrap();
        assert_eq!(
            files(dir.path()),
            [
                SUCCESS_NAME,
                MANIFEST_NAME,
                "model_artifacts/impute_dict.pkl",
                "train/a.csv"
            ]
        );
        let listed = read_manifest(&fs::read(dir.path().join(MANIFEST_NAME)).unwrap()).unwrap();
        assert_eq!(listed, ["model_artifacts/impute_dict.pkl", "train/a.csv"]);
    }

    #[test]
    fn a_second_open_of_a_locked_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Target::open(dir.path(), false).unwrap();
        let e = Target::open(dir.path(), true).err().unwrap();
        assert!(e.to_string().contains("another shardimpute run"), "{e}");
    }

    #[test]
    fn dropping_a_target_removes_what_it_staged() {
        let dir = tempfile::tempdir().unwrap();
        let t = Target::open(dir.path(), false).unwrap();
        t.put("train/a.csv", b"x\n").unwrap();
        drop(t);
        assert!(files(dir.path()).is_empty());
    }

    #[test]
    fn earlier_outputs_are_refused_replaced_or_cleaned_by_their_manifest() {
        let dir = tempfile::tempdir().unwrap();
        published(dir.path(), "train/old.csv");
        let e = Target::open(dir.path(), false).err().unwrap();
        assert!(e.to_string().contains("--overwrite"), "{e}");
        assert!(dir.path().join("train/old.csv").exists());

        // an incomplete output (no _SUCCESS) is cleaned without asking
        fs::remove_file(dir.path().join(SUCCESS_NAME)).unwrap();
        fs::write(
            dir.path().join("train/.b.csv.00000000000000ff.partial"),
            b"",
        )
        .unwrap();
        let t = Target::open(dir.path(), false).unwrap();
        assert!(files(dir.path()).is_empty());
        assert!(!dir.path().join("train").exists());
        t.put("val/new.csv", b"y\n").unwrap();
        publish(&[&t]).unwrap();
        drop(t);

        // --overwrite removes only what the manifest lists
        let t = Target::open(dir.path(), true).unwrap();
        assert!(files(dir.path()).is_empty());
        drop(t);
    }

    #[test]
    fn files_no_run_wrote_are_never_removed() {
        let dir = tempfile::tempdir().unwrap();
        published(dir.path(), "train/a.csv");
        fs::write(dir.path().join("train/mine.csv"), b"keep\n").unwrap();
        for overwrite in [false, true] {
            let e = Target::open(dir.path(), overwrite).err().unwrap();
            assert!(e.to_string().contains("train/mine.csv"), "{e}");
        }
        assert_eq!(
            fs::read(dir.path().join("train/mine.csv")).unwrap(),
            b"keep\n"
        );
        assert!(dir.path().join("train/a.csv").exists());
    }
}
