//! A job over folders on disk, for the native front ends (the CLI, the
//! Python package): listing a dataset folder, reading shards and
//! artifacts, and writing output so that nothing looks complete before it
//! is.
//!
//! Output is published as SPEC 7a says (see `publish`): staged under
//! temporary names, renamed only when the whole run succeeded, with a
//! manifest and a `_SUCCESS` marker written last.

mod publish;

use std::fs;
use std::path::{Path, PathBuf};

use crate::dataset::Shard;
use crate::error::{Error, Result};
use crate::formats::ShardReport;
use crate::io::{MemorySink, Sink, Source};
use crate::job::{Control, Job, JobKind};
use crate::plan::FillDict;
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
    /// Replace the complete output of an earlier run (only the files its
    /// manifest lists) instead of refusing.
    pub overwrite: bool,
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

/// Refuses, before anything is read or written, an output that would
/// overwrite or mix with the input, and saved artifacts or fill values
/// that lie in a folder the run writes.
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
    // what the run reads besides the input may not lie in a folder it
    // writes: making that folder ready removes an earlier run's files, and
    // publishing replaces them
    let artifacts_out = canonical(at.artifacts_out)?;
    let reads = [
        ("--artifacts-in", at.artifacts_in),
        ("--impute-dict", at.impute_dict),
    ];
    for (flag, path) in reads {
        let Some(path) = path else { continue };
        let real = canonical(path)?;
        if real == artifacts_out {
            return Err(Error::layout(format!(
                "refusing to write: {flag} {} is the output's artifacts folder {}",
                path.display(),
                at.artifacts_out.display()
            )));
        }
        for root in at.output.into_iter().chain([at.artifacts_out]) {
            if real.starts_with(canonical(root)?) {
                return Err(Error::layout(format!(
                    "refusing to write: {flag} {} lies inside {}, which this run writes",
                    path.display(),
                    root.display()
                )));
            }
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
    let mut run = FolderRun::open(kind, settings, at)?;
    run.run_here(ctl)?;
    run.finish(timestamp)
}

/// A job over folders, opened: the checks done, the dataset found, saved
/// artifacts loaded and the output folders locked and ready. Either run
/// the passes here ([`FolderRun::run_here`]), or drive the job's passes
/// with shards done elsewhere (a distributed engine: pass 1 states merged
/// into [`FolderRun::job_mut`], pass 2 shards written by [`stage_shard`]
/// and taken over with [`FolderRun::adopt`]); then [`FolderRun::finish`]
/// writes the artifacts and publishes. Dropped unfinished, it removes what
/// was staged.
pub struct FolderRun {
    job: Job,
    input: PathBuf,
    output: Option<PathBuf>,
    out: Outputs,
}

impl FolderRun {
    /// Checks the folders, finds the shards, loads saved artifacts and
    /// opens (locks and makes ready) the output folders.
    pub fn open(kind: JobKind, settings: Settings, at: Folders<'_>) -> Result<FolderRun> {
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
        let out = Outputs::open(at.output, at.artifacts_out, at.overwrite)?;
        Ok(FolderRun {
            job,
            input: at.input.to_path_buf(),
            output: at.output.map(Path::to_path_buf),
            out,
        })
    }

    /// The job.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// The job, to drive its passes step by step.
    pub fn job_mut(&mut self) -> &mut Job {
        &mut self.job
    }

    /// Where a shard's file is read from.
    pub fn input_path(&self, shard: &Shard) -> PathBuf {
        self.input.join(&shard.split).join(&shard.name)
    }

    /// The folder shards are written into (`None` for pass 1 only).
    pub fn output(&self) -> Option<&Path> {
        self.output.as_deref()
    }

    /// Runs the job's passes in this process, over the input folder.
    pub fn run_here(&mut self, ctl: Control<'_>) -> Result<()> {
        let source = DirSource {
            root: self.input.clone(),
        };
        let no_shards = MemorySink::default();
        let sink: &dyn Sink = match &self.out.shards {
            Some(t) => t,
            None => &no_shards,
        };
        // pass 1's missing cells go to a scratch file (removed when closed)
        // so memory stays flat; without one none are kept. WASI has no
        // temporary folder (std panics asking for it).
        #[cfg(not(target_os = "wasi"))]
        if self.job.kind().fits() && self.job.kind().fills() {
            if let Ok(file) = tempfile::tempfile() {
                self.job.keep_cells_in(file)?;
            }
        }
        self.job.run(&source, sink, ctl)
    }

    /// Takes over a shard's output that [`stage_shard`] wrote (named
    /// `tmp_name`) into [`FolderRun::output`]: it is published with the
    /// rest, or removed if the run fails.
    pub fn adopt(&self, shard: &Shard, tmp_name: &str) -> Result<()> {
        match &self.out.shards {
            Some(t) => t.adopt(&shard.path(), tmp_name),
            None => Err(Error::state("this run writes no shards")),
        }
    }

    /// Writes the artifacts (`timestamp` goes into the report) and
    /// publishes every target. Returns the job, for its reports and
    /// warnings.
    pub fn finish(self, timestamp: &str) -> Result<Job> {
        for (name, bytes) in self.job.artifacts(timestamp)? {
            self.out.put_artifact(&name, &bytes)?;
        }
        self.out.publish()?;
        Ok(self.job)
    }
}

/// Pass 2 of one shard from a file to an output folder that another
/// process's [`FolderRun`] holds: reads `src`, fills it
/// ([`crate::fill_shard`]) and writes the result under a temporary name
/// beside `output/<split>/<name>`. Returns that name (for
/// [`FolderRun::adopt`]) and the shard's report.
pub fn stage_shard(
    src: &Path,
    shard: &Shard,
    output: &Path,
    dict: &FillDict,
    settings: &Settings,
) -> Result<(String, ShardReport)> {
    let (bytes, report) = crate::job::fill_shard(shard, read_file(src)?, dict, settings)?;
    let tmp = publish::stage(output, &shard.path(), &bytes)?;
    Ok((tmp, report))
}

/// The folders a run writes into: the output folder (shards, and the
/// artifacts when their folder lies inside it), and the artifacts folder
/// when it lies outside. Dropped unpublished, they remove what was staged.
struct Outputs {
    shards: Option<publish::Target>,
    artifacts: Option<publish::Target>,
    /// The artifacts folder, relative to the target that holds it.
    artifacts_rel: String,
}

impl Outputs {
    /// Opens (locks and makes ready) the folders the run writes into.
    fn open(output: Option<&Path>, artifacts: &Path, overwrite: bool) -> Result<Outputs> {
        let artifacts_real = canonical(artifacts)?;
        let (output, artifacts_rel) = match output {
            None => (None, None),
            Some(output) => {
                let output_real = canonical(output)?;
                if let Ok(rel) = artifacts_real.strip_prefix(&output_real) {
                    let parts: Vec<String> = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    (Some(output), Some(parts.join("/")))
                } else if output_real.starts_with(&artifacts_real) {
                    return Err(Error::layout(format!(
                        "refusing to write: the output folder {} lies inside the artifacts folder {}",
                        output.display(),
                        artifacts.display()
                    )));
                } else {
                    (Some(output), None)
                }
            }
        };
        let separate_artifacts = artifacts_rel.is_none().then_some(artifacts);
        Ok(Outputs {
            shards: output
                .map(|o| publish::Target::open(o, overwrite))
                .transpose()?,
            artifacts: separate_artifacts
                .map(|a| publish::Target::open(a, overwrite))
                .transpose()?,
            artifacts_rel: artifacts_rel.unwrap_or_default(),
        })
    }

    fn put_artifact(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let rel = match self.artifacts_rel.as_str() {
            "" => name.to_string(),
            dir => format!("{dir}/{name}"),
        };
        match (&self.artifacts, &self.shards) {
            (Some(t), _) | (None, Some(t)) => t.put(&rel, bytes),
            (None, None) => Err(Error::internal("a run with nowhere to write")),
        }
    }

    /// The artifacts folder first, the output folder's `_SUCCESS` last.
    fn publish(&self) -> Result<()> {
        let targets: Vec<&publish::Target> = [&self.artifacts, &self.shards]
            .into_iter()
            .flatten()
            .collect();
        publish::publish(&targets)
    }
}
