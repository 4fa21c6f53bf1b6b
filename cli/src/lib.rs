//! `shardimpute`: the native command line over `shardimpute-core`, as a
//! library, so that other front ends (the Python package's `python -m
//! shardimpute`) run the very same command line: [`main_with`].
//!
//! Glue only: flags to settings (`args`), a progress bar, and the exit
//! path; core runs the job over the folders. Exit codes: 0 success, 1 the
//! run failed, 2 bad command line, 130 interrupted (Ctrl-C: nothing left).

mod args;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shardimpute_core::fs::{run_folders, split_folders, Folders};
use shardimpute_core::{utc_timestamp, Control, Job, JobKind, JobType, Pass, Progress, Settings};

use args::{Cli, Command, Common};

/// Set by Ctrl-C (SIGINT): the job stops before its next shard and removes
/// what it wrote.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
fn on_interrupt() {
    extern "C" fn handler(_: libc::c_int) {
        INTERRUPTED.store(true, Ordering::Relaxed);
        // SAFETY: signal() is async-signal-safe; a second Ctrl-C kills at once
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
        }
    }
    // SAFETY: installs a handler that only stores to an atomic and resets itself
    unsafe {
        libc::signal(libc::SIGINT, handler as *const () as libc::sighandler_t);
    }
}

#[cfg(not(unix))]
fn on_interrupt() {}

/// WASI starts in `/`: a launcher that preopens the host's file system
/// passes its working folder as `PWD`, so relative paths mean what they
/// mean natively.
#[cfg(target_os = "wasi")]
fn enter_working_folder() {
    if let Some(dir) = std::env::var_os("PWD") {
        let _ = std::env::set_current_dir(dir);
    }
}

#[cfg(not(target_os = "wasi"))]
fn enter_working_folder() {}

/// Runs a whole job over folders, as [`run_folders`] does (its
/// arguments and result): what [`main_with_runner`] lets a front end
/// replace, to run the passes elsewhere (a cluster), keeping the rest of
/// the command line (flags, settings, messages, exit codes).
pub type Runner<'r> =
    dyn Fn(JobKind, Settings, Folders<'_>, Control<'_>, &str) -> shardimpute_core::Result<Job> + 'r;

/// The command line: `args` as a process gets them (the program name
/// first). Returns the exit code; installs a Ctrl-C handler.
pub fn main_with<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    main_with_runner(args, &run_folders)
}

/// [`main_with`], with the job run by `runner` instead of
/// [`run_folders`].
pub fn main_with_runner<I, T>(args: I, runner: &Runner<'_>) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    ExitCode::from(exit_code(args, runner))
}

/// [`main_with_runner`]'s exit code as a number.
pub fn exit_code<I, T>(args: I, runner: &Runner<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    tune_allocator();
    on_interrupt();
    enter_working_folder();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(cli, runner) {
        Ok(()) => 0,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return 0;
                }
            }
            eprintln!(
                "shardimpute: error: {}",
                without_os_error_numbers(&format!("{e:#}"))
            );
            if INTERRUPTED.load(Ordering::Relaxed) {
                return 130;
            }
            1
        }
    }
}

/// `text` without std's " (os error N)": the numbers differ between
/// systems (WASI's ENOENT is 44, Linux's 2) where the words do not, and
/// the CLI prints the same message on every one.
fn without_os_error_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" (os error ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " (os error ".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(')') {
            rest = &after[digits + 1..];
        } else {
            out.push_str(" (os error ");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// glibc's defaults hand memory back to the system as soon as a large
/// buffer is freed (a shard's bytes, a decoded column) and take it again
/// for the next one: every page of every buffer faults in anew (about a
/// fifth of the CPU time of pass 2 on Parquet). So large buffers come from
/// the heap (mmap threshold 32 MB, glibc's upper limit on 64-bit) and
/// freed memory stays mapped (trim threshold 1 GB) until
/// [`release_free_memory`].
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt is thread-safe and only changes two of glibc's
    // thresholds; no memory is touched
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

/// How far the resident memory may grow past what it was after the last
/// release before [`release_free_memory`] hands free memory back. Handing
/// it all back after every few shards made each next shard fault its pages
/// in again (the whole job on Parquet 100+10+10: about 140,000 page faults
/// that way, 78,000 this way); releasing only on growth still keeps the
/// peak from creeping up with the number of shards as freed buffers
/// fragment the heap.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const RELEASE_AFTER_GROWTH: u64 = 64 << 20;

/// Hands the heap's free memory back to the system once the resident
/// memory has grown by [`RELEASE_AFTER_GROWTH`] since the last time;
/// called after every shard.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    use std::sync::atomic::{AtomicU64, Ordering};
    /// Resident bytes after the last release.
    static FLOOR: AtomicU64 = AtomicU64::new(0);
    let Some(now) = resident_bytes() else { return };
    if now <= FLOOR.load(Ordering::Relaxed) + RELEASE_AFTER_GROWTH {
        return;
    }
    // SAFETY: malloc_trim only returns free heap pages to the system; it is
    // thread-safe and touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
    FLOOR.store(resident_bytes().unwrap_or(now), Ordering::Relaxed);
}

/// This process's resident memory (`/proc/self/statm`), in bytes.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

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

fn run(cli: Cli, runner: &Runner<'_>) -> anyhow::Result<()> {
    match &cli.command {
        Command::Run(a) => {
            let job_type = JobType::parse(&a.job_type)?;
            if job_type != JobType::Training && a.artifacts_in.is_none() {
                anyhow::bail!(
                    "a {} job needs --artifacts-in DIR holding impute_dict.pkl",
                    job_type.name()
                );
            }
            execute(
                runner,
                Invocation {
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
                },
            )
        }
        Command::Fill(a) => {
            if a.impute_dict.is_none() && a.artifacts_in.is_none() {
                anyhow::bail!("fill needs --impute-dict FILE or --artifacts-in DIR");
            }
            let splits = match args::splits(&a.splits) {
                Some(s) => s,
                None => split_folders(&a.input)
                    .with_context(|| format!("input {}", a.input.display()))?,
            };
            execute(
                runner,
                Invocation {
                    kind: JobKind::Fill,
                    common: &a.common,
                    input: &a.input,
                    output: Some(&a.output),
                    artifacts_out: a.output.join("model_artifacts"),
                    artifacts_in: a.artifacts_in.as_deref(),
                    impute_dict: a.impute_dict.as_deref(),
                    splits: Some(splits),
                },
            )
        }
        Command::Fit(a) => execute(
            runner,
            Invocation {
                kind: JobKind::Fit,
                common: &a.common,
                input: &a.input,
                output: None,
                artifacts_out: a.artifacts_out.clone(),
                artifacts_in: None,
                impute_dict: None,
                splits: None,
            },
        ),
    }
}

/// WASI (preview 1) has no threads: rayon runs everything on the current
/// thread, whatever `--threads` asks (the output is the same bytes).
#[cfg(target_os = "wasi")]
fn start_threads(_asked: Option<usize>) -> anyhow::Result<()> {
    Ok(())
}

/// The thread pool: `--threads`, at most 8 per core.
#[cfg(not(target_os = "wasi"))]
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

fn execute(runner: &Runner<'_>, inv: Invocation<'_>) -> anyhow::Result<()> {
    let started = Instant::now();
    let settings = inv.common.settings(std::env::vars())?;
    start_threads(inv.common.threads)?;
    let bar = progress_bar(inv.common.quiet);
    let progress = on_progress(&bar);
    let ctl = Control {
        cancel: Some(&INTERRUPTED),
        progress: Some(&progress),
    };
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let folders = Folders {
        input: inv.input,
        output: inv.output,
        artifacts_out: &inv.artifacts_out,
        artifacts_in: inv.artifacts_in,
        impute_dict: inv.impute_dict,
        splits: inv.splits,
        overwrite: inv.common.overwrite,
    };
    let result = runner(inv.kind, settings, folders, ctl, &utc_timestamp(now));
    bar.finish_and_clear();
    let job = result.with_context(|| format!("input {}", inv.input.display()))?;
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

/// Whether stderr is a terminal. Under WASI the host says so in
/// `SHARDIMPUTE_STDERR_TTY=1` (runtimes report pipes as terminals there).
fn stderr_is_terminal() -> bool {
    #[cfg(target_os = "wasi")]
    return std::env::var_os("SHARDIMPUTE_STDERR_TTY").is_some_and(|v| v == "1");
    #[cfg(not(target_os = "wasi"))]
    return std::io::IsTerminal::is_terminal(&std::io::stderr());
}

/// A progress bar on stderr, hidden when it is not a terminal or `--quiet`.
fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !stderr_is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix:>7} [{bar:30}] {msg} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    // the tick runs on a thread of its own, which WASI does not have
    if cfg!(not(target_os = "wasi")) {
        bar.enable_steady_tick(Duration::from_millis(200));
    }
    bar
}

fn on_progress(bar: &ProgressBar) -> impl Fn(&Progress) + Sync + '_ {
    move |p: &Progress| {
        release_free_memory();
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

#[cfg(test)]
mod tests {
    use super::without_os_error_numbers;

    #[test]
    fn os_error_numbers_are_left_out_and_nothing_else() {
        assert_eq!(
            without_os_error_numbers("a: cannot read: No such file or directory (os error 2)"),
            "a: cannot read: No such file or directory"
        );
        assert_eq!(
            without_os_error_numbers("x (os error 44): y (os error 13)"),
            "x: y"
        );
        for kept in ["(os error x)", "a (os error )", "a (os error 2", "plain"] {
            assert_eq!(without_os_error_numbers(kept), kept);
        }
    }
}
