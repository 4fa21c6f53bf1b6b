//! `shardimpute`: the native command line over `shardimpute-core`.
//!
//! Glue only: flags to settings (`args`), files on disk (`fsio`), a
//! progress bar, and the exit path. Exit codes: 0 success, 1 the run
//! failed, 2 bad command line.

mod args;
mod fsio;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shardimpute_core::artifacts::{self, JSON_NAME, PICKLE_NAME, SUMMARY_NAME};
use shardimpute_core::{
    engine, plan, Config, Control, Dataset, FillDict, JobType, Progress, ShardReport,
};

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

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(a) => {
            let job = JobType::parse(&a.job_type)?;
            let artifacts_out = a
                .artifacts_out
                .clone()
                .unwrap_or_else(|| a.output.join("model_artifacts"));
            let dict_in = match (&a.artifacts_in, job) {
                (Some(dir), _) => Some(load_dict_from_dir(dir)?),
                (None, JobType::Training) => None,
                (None, _) => {
                    return Err(anyhow!(
                        "a {} job needs --artifacts-in DIR holding {PICKLE_NAME}",
                        job.name()
                    ))
                }
            };
            let splits = a.common.splits(job);
            job_run(
                &a.common,
                job,
                &a.input,
                &a.output,
                &artifacts_out,
                a.artifacts_in.as_deref(),
                dict_in,
                splits,
            )
        }
        Command::Fill(a) => {
            let dict = match (&a.impute_dict, &a.artifacts_in) {
                (Some(f), _) => load_dict_file(f)?,
                (None, Some(dir)) => load_dict_from_dir(dir)?,
                (None, None) => {
                    return Err(anyhow!(
                        "fill needs --impute-dict FILE or --artifacts-in DIR"
                    ))
                }
            };
            let splits = match &a.common.splits {
                Some(_) => a.common.splits(JobType::Training),
                None => split_folders(&a.input)?,
            };
            let artifacts_out = a.output.join("model_artifacts");
            job_run(
                &a.common,
                JobType::Validation,
                &a.input,
                &a.output,
                &artifacts_out,
                None,
                Some(dict),
                splits,
            )
        }
        Command::Fit(a) => fit_only(&a.common, &a.input, &a.artifacts_out),
    }
}

fn setup(common: &Common) -> anyhow::Result<Config> {
    if let Some(n) = common.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("cannot start the thread pool")?;
    }
    common.config(std::env::vars())
}

fn discover(input: &Path, splits: &[String]) -> anyhow::Result<Dataset> {
    let files = fsio::list_dataset(input)?;
    let ds = shardimpute_core::discover(files.iter().map(|(p, s)| (p.as_str(), *s)), splits)
        .with_context(|| format!("input {}", input.display()))?;
    Ok(ds)
}

/// Every sub-folder of `input` (for `fill` without `--splits`).
fn split_folders(input: &Path) -> anyhow::Result<Vec<String>> {
    let files = fsio::list_dataset(input)?;
    let mut dirs: Vec<String> = files
        .iter()
        .filter_map(|(p, _)| p.split_once('/').map(|(d, _)| d.to_string()))
        .filter(|d| !d.starts_with('.') && d != "model_artifacts")
        .collect();
    dirs.sort();
    dirs.dedup();
    Ok(dirs)
}

fn load_dict_file(path: &Path) -> anyhow::Result<FillDict> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(artifacts::read_dict(&path.display().to_string(), &bytes)?)
}

fn load_dict_from_dir(dir: &Path) -> anyhow::Result<FillDict> {
    for name in [PICKLE_NAME, JSON_NAME] {
        let p = dir.join(name);
        if p.is_file() {
            return load_dict_file(&p);
        }
    }
    Err(anyhow!(
        "no {PICKLE_NAME} or {JSON_NAME} in {}",
        dir.display()
    ))
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
            shardimpute_core::Pass::Fit => "pass 1",
            shardimpute_core::Pass::Fill => "pass 2",
        });
        if p.shards_done == 1 {
            bar.reset();
        }
        bar.set_length(p.bytes_total);
        bar.set_position(p.bytes_done);
        bar.set_message(format!("{}/{} shards", p.shards_done, p.shards_total));
    }
}

#[allow(clippy::too_many_arguments)]
fn job_run(
    common: &Common,
    job: JobType,
    input: &Path,
    output: &Path,
    artifacts_out: &Path,
    artifacts_in: Option<&Path>,
    dict_in: Option<FillDict>,
    splits: Vec<String>,
) -> anyhow::Result<()> {
    let config = setup(common)?;
    let started = Instant::now();
    let dataset = discover(input, &splits)?;
    let source = DirSource {
        root: input.to_path_buf(),
    };
    let sink = DirSink::new(output.to_path_buf());
    let bar = progress_bar(common.quiet);
    let progress = on_progress(&bar);
    let ctl = Control {
        cancel: None,
        progress: Some(&progress),
    };
    let result = engine::run_job(&dataset, job, dict_in, &source, &sink, &config, ctl);
    bar.finish_and_clear();
    let out = match result {
        Ok(out) => out,
        Err(e) => {
            sink.abort();
            return Err(anyhow!(e).context(format!("input {}", input.display())));
        }
    };
    sink.commit()?;
    if let Some(dir) = artifacts_in {
        fsio::copy_artifacts(dir, artifacts_out)?;
    }
    write_artifacts(
        artifacts_out,
        job,
        out.plan.as_ref(),
        &out.dict,
        &out.reports,
        &dataset.ignored,
        &config,
    )?;
    if let Some(plan) = &out.plan {
        for w in &plan.warnings {
            eprintln!("shardimpute: warning: {w}");
        }
    }
    if !common.quiet {
        println!(
            "{}",
            summary_line(job, &out.reports, started.elapsed(), artifacts_out)
        );
    }
    Ok(())
}

fn write_artifacts(
    dir: &Path,
    job: JobType,
    plan: Option<&plan::FillPlan>,
    dict: &FillDict,
    reports: &[ShardReport],
    ignored: &[String],
    config: &Config,
) -> anyhow::Result<()> {
    fsio::write_atomic(&dir.join(PICKLE_NAME), &artifacts::dict_to_pickle(dict))?;
    fsio::write_atomic(
        &dir.join(JSON_NAME),
        artifacts::dict_to_json(dict).as_bytes(),
    )?;
    let summary = artifacts::summary_json(job, plan, dict, reports, ignored, config);
    fsio::write_atomic(&dir.join(SUMMARY_NAME), summary.as_bytes())?;
    Ok(())
}

fn summary_line(job: JobType, reports: &[ShardReport], took: Duration, artifacts: &Path) -> String {
    let rows: u64 = reports.iter().map(|r| r.rows_in).sum();
    let checked = reports.iter().all(|r| r.rows_in == r.rows_out);
    let filled: u64 = reports
        .iter()
        .flat_map(|r| r.cells_filled.iter())
        .map(|(_, n)| n)
        .sum();
    let bytes: u64 = reports.iter().map(|r| r.bytes_in).sum();
    let secs = took.as_secs_f64();
    format!(
        "shardimpute {}: {} shards, {rows} rows (rows in = rows out: {}), {filled} cells filled, {secs:.2} s, {:.1} MB/s; artifacts in {}",
        job.name(),
        reports.len(),
        if checked { "yes" } else { "NO" },
        bytes as f64 / 1e6 / secs.max(1e-9),
        artifacts.display()
    )
}

fn fit_only(common: &Common, input: &Path, artifacts_out: &Path) -> anyhow::Result<()> {
    let config = setup(common)?;
    let started = Instant::now();
    let dataset = discover(input, &["train".to_string()])?;
    let source = DirSource {
        root: input.to_path_buf(),
    };
    let bar = progress_bar(common.quiet);
    let progress = on_progress(&bar);
    let ctl = Control {
        cancel: None,
        progress: Some(&progress),
    };
    let shards = &dataset.splits[0].shards;
    let stats = engine::fit(shards, &source, &config, ctl)
        .and_then(|s| engine::check_columns(&s, &config).map(|_| s))
        .map_err(|e| anyhow!(e).context(format!("input {}", input.display())))?;
    bar.finish_and_clear();
    let plan = plan::plan(&stats, &config)?;
    write_artifacts(
        artifacts_out,
        JobType::Training,
        Some(&plan),
        &plan.dict,
        &[],
        &dataset.ignored,
        &config,
    )?;
    for w in &plan.warnings {
        eprintln!("shardimpute: warning: {w}");
    }
    if !common.quiet {
        println!(
            "shardimpute fit: {} shards, {} rows, {} columns to impute, {:.2} s; artifacts in {}",
            shards.len(),
            stats.rows,
            plan.dict.entries.len(),
            started.elapsed().as_secs_f64(),
            PathBuf::from(artifacts_out).display()
        );
    }
    Ok(())
}
