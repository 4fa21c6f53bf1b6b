//! `shardimpute`: the native command line over `shardimpute-core`.
//!
//! Glue only: flags to settings (`args`), files on disk (`fsio`), a
//! progress bar, and the exit path. Exit codes: 0 success, 1 the run
//! failed, 2 bad command line.

mod args;
mod fsio;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shardimpute_core::{Control, Job, JobKind, JobType, Pass, Progress};

use args::{Cli, Command, Common};
use fsio::{DirSink, DirSource};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!("shardimpute: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// One invocation: what to run, where from and where to.
struct Invocation<'a> {
    kind: JobKind,
    common: &'a Common,
    input: &'a Path,
    /// Where shards go (`None` for pass 1 only).
    output: Option<&'a Path>,
    artifacts_out: PathBuf,
    artifacts_in: Option<&'a Path>,
    impute_dict: Option<&'a Path>,
    splits: Option<Vec<String>>,
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Run(a) => {
            let job_type = JobType::parse(&a.job_type)?;
            if job_type != JobType::Training && a.artifacts_in.is_none() {
                anyhow::bail!(
                    "a {} job needs --artifacts-in DIR holding impute_dict.pkl",
                    job_type.name()
                );
            }
            execute(Invocation {
                kind: JobKind::Run(job_type),
                common: &a.common,
                input: &a.input,
                output: Some(&a.output),
                artifacts_out: a
                    .artifacts_out
                    .clone()
                    .unwrap_or_else(|| a.output.join("model_artifacts")),
                artifacts_in: a.artifacts_in.as_deref(),
                impute_dict: None,
                splits: args::splits(&a.splits),
            })
        }
        Command::Fill(a) => {
            if a.impute_dict.is_none() && a.artifacts_in.is_none() {
                anyhow::bail!("fill needs --impute-dict FILE or --artifacts-in DIR");
            }
            let splits = match args::splits(&a.splits) {
                Some(s) => s,
                None => fsio::split_folders(&a.input)
                    .with_context(|| format!("input {}", a.input.display()))?,
            };
            execute(Invocation {
                kind: JobKind::Fill,
                common: &a.common,
                input: &a.input,
                output: Some(&a.output),
                artifacts_out: a.output.join("model_artifacts"),
                artifacts_in: a.artifacts_in.as_deref(),
                impute_dict: a.impute_dict.as_deref(),
                splits: Some(splits),
            })
        }
        Command::Fit(a) => execute(Invocation {
            kind: JobKind::Fit,
            common: &a.common,
            input: &a.input,
            output: None,
            artifacts_out: a.artifacts_out.clone(),
            artifacts_in: None,
            impute_dict: None,
            splits: None,
        }),
    }
}

/// The thread pool: `--threads`, at most 8 per core.
fn start_threads(asked: Option<usize>) -> anyhow::Result<()> {
    let Some(n) = asked else { return Ok(()) };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = 8 * cores;
    if n > cap {
        eprintln!("shardimpute: warning: --threads {n} is more than 8 per core; using {cap}");
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(n.clamp(1, cap))
        .build_global()
        .context("cannot start the thread pool")
}

fn execute(inv: Invocation<'_>) -> anyhow::Result<()> {
    let started = Instant::now();
    let settings = inv.common.settings(std::env::vars())?;
    start_threads(inv.common.threads)?;
    let in_input = |e: shardimpute_core::Error| {
        anyhow::Error::new(e).context(format!("input {}", inv.input.display()))
    };
    let files = fsio::list_dataset(inv.input).map_err(in_input)?;
    let mut job = Job::new(
        inv.kind,
        settings,
        files.iter().map(|(p, s)| (p.as_str(), *s)),
        inv.splits,
    )
    .map_err(in_input)?;
    if let Some(dir) = inv.artifacts_in {
        job.add_artifacts(fsio::read_artifacts(dir)?)?;
    }
    if let Some(file) = inv.impute_dict {
        let name = file.display().to_string();
        job.load_fill_values(&name, &fsio::read_file(file)?)?;
    }
    let source = DirSource {
        root: inv.input.to_path_buf(),
    };
    let shards = DirSink::new(inv.output.map_or_else(PathBuf::new, Path::to_path_buf));
    let artifacts = DirSink::new(inv.artifacts_out.clone());
    let result = run_job(&mut job, &source, &shards, &artifacts, inv.common.quiet)
        .map_err(in_input)
        .and_then(|()| shards.commit().map_err(anyhow::Error::new))
        .and_then(|()| artifacts.commit().map_err(anyhow::Error::new));
    if let Err(e) = result {
        shards.abort();
        artifacts.abort();
        return Err(e);
    }
    for w in job.warnings() {
        eprintln!("shardimpute: warning: {w}");
    }
    if !inv.common.quiet {
        let line = job.summary_line(
            started.elapsed().as_secs_f64(),
            &inv.artifacts_out.display().to_string(),
        );
        writeln!(std::io::stdout(), "{line}")?;
    }
    Ok(())
}

/// The passes with a progress bar, then the artifacts (all under
/// temporary names until the caller commits).
fn run_job(
    job: &mut Job,
    source: &DirSource,
    shards: &DirSink,
    artifacts: &DirSink,
    quiet: bool,
) -> shardimpute_core::Result<()> {
    let bar = progress_bar(quiet);
    let progress = on_progress(&bar);
    let ctl = Control {
        cancel: None,
        progress: Some(&progress),
    };
    let result = job.run(source, shards, ctl);
    bar.finish_and_clear();
    result?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for (name, bytes) in job.artifacts(&shardimpute_core::utc_timestamp(now))? {
        artifacts.put(Path::new(&name), &bytes)?;
    }
    Ok(())
}

/// A progress bar on stderr, hidden when it is not a terminal or `--quiet`.
fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix:>7} [{bar:30}] {msg} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn on_progress(bar: &ProgressBar) -> impl Fn(&Progress) + Sync + '_ {
    move |p: &Progress| {
        bar.set_prefix(match p.pass {
            Pass::Fit => "pass 1",
            Pass::Fill => "pass 2",
        });
        if p.shards_done == 1 {
            bar.reset();
        }
        bar.set_length(p.bytes_total);
        bar.set_position(p.bytes_done);
        bar.set_message(format!("{}/{} shards", p.shards_done, p.shards_total));
    }
}
