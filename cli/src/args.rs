//! The command line: subcommands and flags. Every setting's flag comes from
//! core's settings table (`SETTINGS`), so its name, help and environment
//! variable are written once.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand};
use shardimpute_core::{split_list, FlagKind, Settings, SETTINGS};

const EXAMPLES: &str = "\
Examples:
  Training: pass 1 on input/train, pass 2 on train, val and test:
    $ shardimpute run --job-type training --input data/ --output out/
  Validation with the fill values a training run saved:
    $ shardimpute run --job-type validation --input data/ --output out/ \\
        --artifacts-in out/model_artifacts
  Only compute fill values (pass 1), or only fill (pass 2):
    $ shardimpute fit --input data/ --artifacts-out artifacts/
    $ shardimpute fill --input data/ --output out/ --impute-dict artifacts/impute_dict.pkl
  Settings as the reference's environment variables work too:
    $ DEFAULT_NUMERICAL_STRATEGY=median LABEL_FIELD=y shardimpute run ...

Memory: about (threads + 2) shards at a time, plus pass 1's value counts of
string columns (and every value of median columns).

Output: shards and artifacts are written under hidden temporary names and
renamed into place only when the whole run succeeded; then
_shardimpute_manifest.json (every file written) and, last, _SUCCESS. An
output is complete only when _SUCCESS exists. A folder holding an earlier
run's complete output is refused unless --overwrite; one holding files no
run wrote is always refused; an incomplete run's leftovers are removed.

Exit codes: 0 success, 1 the run failed (the message names the file and
place), 2 bad command line, 130 interrupted by Ctrl-C (the job stops before
its next shard and removes what it wrote).";

/// Fill missing values in sharded CSV/TSV/Parquet datasets, exactly.
#[derive(Parser, Debug)]
#[command(name = "shardimpute", version, about, after_long_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a job: pass 1 (training only) and pass 2, then write the artifacts.
    Run(RunArgs),
    /// Pass 1 only: compute fill values from `INPUT/train` and write the artifacts.
    Fit(FitArgs),
    /// Pass 2 only: fill every shard with saved fill values.
    Fill(FillArgs),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// training, validation, testing or calibration.
    #[arg(long, value_name = "TYPE", ignore_case = true, value_parser = ["training", "validation", "testing", "calibration"])]
    pub job_type: String,
    /// The dataset folder, holding the job's split folders: train/ val/
    /// test/ for training; validation/, testing/ or calibration/ otherwise.
    #[arg(long, value_name = "DIR")]
    pub input: PathBuf,
    /// Where imputed shards go, as OUTPUT/<split>/<same file name>.
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// Saved artifacts: every file here is copied to the output artifacts;
    /// non-training jobs read their fill values from impute_dict.pkl (else
    /// impute_dict.json) here.
    #[arg(long, value_name = "DIR")]
    pub artifacts_in: Option<PathBuf>,
    /// Where the artifacts go [default: OUTPUT/model_artifacts].
    #[arg(long, value_name = "DIR")]
    pub artifacts_out: Option<PathBuf>,
    /// Splits to fill, comma-separated [default: train,val,test for
    /// training, else the job's split].
    #[arg(long, value_name = "LIST")]
    pub splits: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct FitArgs {
    /// The dataset folder holding train/.
    #[arg(long, value_name = "DIR")]
    pub input: PathBuf,
    /// Where the artifacts go.
    #[arg(long, value_name = "DIR", default_value = "model_artifacts")]
    pub artifacts_out: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct FillArgs {
    /// The dataset folder.
    #[arg(long, value_name = "DIR")]
    pub input: PathBuf,
    /// Where imputed shards go.
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// The fill values: an impute_dict.pkl or impute_dict.json file.
    #[arg(long, value_name = "FILE", conflicts_with = "artifacts_in")]
    pub impute_dict: Option<PathBuf>,
    /// A folder holding impute_dict.pkl (or .json); its other files are
    /// copied to the output artifacts.
    #[arg(long, value_name = "DIR")]
    pub artifacts_in: Option<PathBuf>,
    /// Splits to fill, comma-separated [default: every sub-folder].
    #[arg(long, value_name = "LIST")]
    pub splits: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// Options shared by every subcommand.
#[derive(Args, Debug, Default)]
pub struct Common {
    /// Worker threads [default: all cores; RAYON_NUM_THREADS is honoured].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar and no summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Replace the complete output of an earlier run: remove the files its
    /// manifest lists (and nothing else) before writing.
    #[arg(long)]
    pub overwrite: bool,
    #[command(flatten)]
    pub settings: SettingFlags,
}

impl Common {
    /// The run's settings: environment variables, then flags on top.
    pub fn settings<I>(&self, env: I) -> shardimpute_core::Result<Settings>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut s = Settings::from_env_vars(env)?;
        for (setting, value) in &self.settings.0 {
            s.set_flag(setting, value)?;
        }
        s.validate()?;
        Ok(s)
    }
}

/// The setting flags given, in table order: one flag per entry of
/// `SETTINGS`, its help naming its environment variable.
#[derive(Debug, Default, Clone)]
pub struct SettingFlags(pub Vec<(&'static shardimpute_core::Setting, String)>);

impl FromArgMatches for SettingFlags {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut out = SettingFlags::default();
        out.update_from_arg_matches(m)?;
        Ok(out)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        for s in SETTINGS {
            match s.kind {
                FlagKind::Switch => {
                    if m.get_flag(s.flag) {
                        self.0.push((s, "true".into()));
                    }
                }
                _ => {
                    for v in m.get_many::<String>(s.flag).into_iter().flatten() {
                        self.0.push((s, v.clone()));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Args for SettingFlags {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for s in SETTINGS {
            let env = match s.kind {
                FlagKind::PerColumn => format!("{}<column>", s.env),
                _ => s.env.to_string(),
            };
            let arg = Arg::new(s.flag)
                .long(s.flag)
                .help(format!("{} [env: {env}]", s.help))
                .help_heading("Settings");
            cmd = cmd.arg(match s.kind {
                FlagKind::Switch => arg.action(ArgAction::SetTrue),
                FlagKind::PerColumn => arg.value_name(s.value_name).action(ArgAction::Append),
                FlagKind::Value => arg.value_name(s.value_name).action(ArgAction::Set),
            });
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// The splits named by `--splits`.
pub fn splits(list: &Option<String>) -> Option<Vec<String>> {
    list.as_deref().map(split_list)
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
