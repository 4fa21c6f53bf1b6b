//! The command line: subcommands, flags, and how flags become a [`Config`].
//!
//! Every setting can come from the reference's environment variable or from
//! a flag; flags win. The mapping from flag to setting lives only here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use shardimpute_core::{Config, JobType};

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

Exit codes: 0 success, 1 the run failed (the message names the file and
place), 2 bad command line.";

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
    #[arg(long, value_name = "TYPE")]
    pub job_type: String,
    /// The dataset folder (holding train/ val/ test/, or the job's split folder).
    #[arg(long, value_name = "DIR")]
    pub input: PathBuf,
    /// Where imputed shards go, as OUTPUT/<split>/<same file name>.
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// Saved artifacts (impute_dict.pkl or .json); every file here is also
    /// copied to the output artifacts. Required for non-training jobs.
    #[arg(long, value_name = "DIR")]
    pub artifacts_in: Option<PathBuf>,
    /// Where the artifacts go [default: OUTPUT/model_artifacts].
    #[arg(long, value_name = "DIR")]
    pub artifacts_out: Option<PathBuf>,
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
    /// A folder holding impute_dict.pkl (or .json).
    #[arg(long, value_name = "DIR")]
    pub artifacts_in: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

/// Settings shared by every subcommand. Each overrides its environment variable.
#[derive(Args, Debug, Default)]
pub struct Common {
    /// Splits to fill, comma-separated [default: train,val,test for training,
    /// else the job's split].
    #[arg(long, value_name = "LIST")]
    pub splits: Option<String>,
    /// Worker threads [default: all cores; RAYON_NUM_THREADS is honoured].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar and no summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// The label column, never imputed [env: LABEL_FIELD; default: target].
    #[arg(long, value_name = "NAME")]
    pub label_field: Option<String>,
    /// Columns never imputed, comma-separated [env: EXCLUDE_COLUMNS].
    #[arg(long, value_name = "LIST")]
    pub exclude_columns: Option<String>,
    /// mean, median or constant [env: DEFAULT_NUMERICAL_STRATEGY; default: mean].
    #[arg(long, value_name = "S")]
    pub default_numerical_strategy: Option<String>,
    /// mode or constant [env: DEFAULT_CATEGORICAL_STRATEGY; default: mode].
    #[arg(long, value_name = "S")]
    pub default_categorical_strategy: Option<String>,
    /// mode, constant or empty [env: DEFAULT_TEXT_STRATEGY; default: mode].
    #[arg(long, value_name = "S")]
    pub default_text_strategy: Option<String>,
    /// [env: NUMERICAL_CONSTANT_VALUE; default: 0]
    #[arg(long, value_name = "X")]
    pub numerical_constant_value: Option<String>,
    /// [env: CATEGORICAL_CONSTANT_VALUE; default: Unknown]
    #[arg(long, value_name = "TEXT")]
    pub categorical_constant_value: Option<String>,
    /// [env: TEXT_CONSTANT_VALUE; default: Unknown]
    #[arg(long, value_name = "TEXT")]
    pub text_constant_value: Option<String>,
    /// true or false [env: AUTO_DETECT_CATEGORICAL; default: true].
    #[arg(long, value_name = "BOOL")]
    pub auto_detect_categorical: Option<String>,
    /// [env: CATEGORICAL_UNIQUE_RATIO_THRESHOLD; default: 0.1]
    #[arg(long, value_name = "X")]
    pub categorical_unique_ratio_threshold: Option<String>,
    /// true or false [env: VALIDATE_FILL_VALUES; default: true].
    #[arg(long, value_name = "BOOL")]
    pub validate_fill_values: Option<String>,
    /// COLUMN=STRATEGY, repeatable [env: COLUMN_STRATEGY_<column>].
    #[arg(long, value_name = "COL=S")]
    pub column_strategy: Vec<String>,
    /// Field texts read as missing, comma-separated, replacing pandas'
    /// default list (the empty field is always missing) [env: NA_VALUES].
    #[arg(long, value_name = "LIST")]
    pub na_values: Option<String>,
    /// Write `__DOT__` in column names as `.` (the reference's streaming output).
    #[arg(long)]
    pub rename_dots: bool,
}

impl Common {
    /// The run's settings: environment variables, then flags on top.
    pub fn config<I>(&self, env: I) -> anyhow::Result<Config>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut c = Config::from_env_vars(env)?;
        let flags = [
            ("LABEL_FIELD", &self.label_field),
            ("EXCLUDE_COLUMNS", &self.exclude_columns),
            (
                "DEFAULT_NUMERICAL_STRATEGY",
                &self.default_numerical_strategy,
            ),
            (
                "DEFAULT_CATEGORICAL_STRATEGY",
                &self.default_categorical_strategy,
            ),
            ("DEFAULT_TEXT_STRATEGY", &self.default_text_strategy),
            ("NUMERICAL_CONSTANT_VALUE", &self.numerical_constant_value),
            (
                "CATEGORICAL_CONSTANT_VALUE",
                &self.categorical_constant_value,
            ),
            ("TEXT_CONSTANT_VALUE", &self.text_constant_value),
            ("AUTO_DETECT_CATEGORICAL", &self.auto_detect_categorical),
            (
                "CATEGORICAL_UNIQUE_RATIO_THRESHOLD",
                &self.categorical_unique_ratio_threshold,
            ),
            ("VALIDATE_FILL_VALUES", &self.validate_fill_values),
            ("NA_VALUES", &self.na_values),
        ];
        for (key, value) in flags {
            if let Some(v) = value {
                c.set(key, v)?;
            }
        }
        for cs in &self.column_strategy {
            let (col, s) = cs.split_once('=').ok_or_else(|| {
                anyhow::anyhow!("--column-strategy {cs}: expected COLUMN=STRATEGY")
            })?;
            c.set(&format!("COLUMN_STRATEGY_{col}"), s)?;
        }
        if self.rename_dots {
            c.rename_dots = true;
        }
        c.validate()?;
        Ok(c)
    }

    /// The splits to fill for `job`.
    pub fn splits(&self, job: JobType) -> Vec<String> {
        match &self.splits {
            Some(s) => shardimpute_core::config::split_list(s),
            None => job.default_splits(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_override_env() {
        let cli = Cli::try_parse_from([
            "shardimpute",
            "run",
            "--job-type",
            "training",
            "--input",
            "in",
            "--output",
            "out",
            "--label-field",
            "y",
            "--column-strategy",
            "Price=median",
            "--na-values",
            "NULL",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("expected run")
        };
        let env = vec![
            ("LABEL_FIELD".to_string(), "target2".to_string()),
            ("DEFAULT_TEXT_STRATEGY".to_string(), "empty".to_string()),
        ];
        let c = run.common.config(env).unwrap();
        assert_eq!(c.label_field, "y");
        assert_eq!(c.default_text_strategy, "empty");
        assert_eq!(c.column_strategy("Price"), Some("median"));
        assert_eq!(c.na_values, vec!["NULL"]);
        assert_eq!(
            run.common.splits(JobType::Training),
            vec!["train", "val", "test"]
        );
    }

    #[test]
    fn bad_flag_values_are_errors() {
        let common = Common {
            auto_detect_categorical: Some("perhaps".into()),
            ..Common::default()
        };
        assert!(common.config(Vec::new()).is_err());
        let common = Common {
            column_strategy: vec!["nostrategy".into()],
            ..Common::default()
        };
        assert!(common.config(Vec::new()).is_err());
    }
}
