//! From pass 1 statistics to fill values (SPEC sections 2, 4, 5).
//!
//! Decides each column's type (numerical / categorical / text), its
//! strategy, and its fill value, and says why in warnings where the
//! configuration could not be followed as written.

use serde::Serialize;

use crate::config::{Config, Strategy};
use crate::error::Result;
use crate::pyfloat;
use crate::stats::{ColumnStats, Evidence, TrainStats};

/// A column's type, decided over the whole training split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Numbers (and booleans with no missing value).
    Numerical,
    /// Strings with few distinct values.
    Categorical,
    /// Other strings.
    Text,
}

impl ColumnType {
    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Numerical => "numerical",
            ColumnType::Categorical => "categorical",
            ColumnType::Text => "text",
        }
    }

    fn default_strategy(self) -> Strategy {
        match self {
            ColumnType::Numerical => Strategy::Mean,
            _ => Strategy::Mode,
        }
    }

    fn allows(self, s: Strategy) -> bool {
        matches!(
            (self, s),
            (
                ColumnType::Numerical,
                Strategy::Mean | Strategy::Median | Strategy::Constant
            ) | (ColumnType::Categorical, Strategy::Mode | Strategy::Constant)
                | (
                    ColumnType::Text,
                    Strategy::Mode | Strategy::Constant | Strategy::Empty
                )
        )
    }
}

/// A fill value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FillValue {
    /// A number (`float` in the pickle).
    Number(f64),
    /// An integer (from a saved pickle or JSON).
    Int(i64),
    /// A string.
    Text(String),
    /// A boolean mode (`True` / `False` in text, `1.0` / `0.0` in the pickle).
    Bool(bool),
}

impl FillValue {
    /// The text written into a CSV/TSV field (Python's `str()` of the value).
    pub fn to_text(&self) -> String {
        match self {
            FillValue::Number(x) => pyfloat::repr(*x),
            FillValue::Int(i) => i.to_string(),
            FillValue::Text(s) => s.clone(),
            FillValue::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        }
    }

    /// The value as a number, if it is one or its text is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            FillValue::Number(x) => Some(*x),
            FillValue::Int(i) => Some(*i as f64),
            FillValue::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            FillValue::Text(s) => pyfloat::parse_python_float(s),
        }
    }
}

/// The strategy a column of type `ctype` gets, and a warning when the
/// configured name is unknown or does not apply to the type.
pub fn strategy_for(
    config: &Config,
    column: &str,
    ctype: ColumnType,
) -> (Strategy, Option<String>) {
    let (name, source) = match config.column_strategy(column) {
        Some(s) => (s.to_string(), format!("COLUMN_STRATEGY_{column}")),
        None => match ctype {
            ColumnType::Numerical => (
                config.default_numerical_strategy.clone(),
                "DEFAULT_NUMERICAL_STRATEGY".into(),
            ),
            ColumnType::Categorical => (
                config.default_categorical_strategy.clone(),
                "DEFAULT_CATEGORICAL_STRATEGY".into(),
            ),
            ColumnType::Text => (
                config.default_text_strategy.clone(),
                "DEFAULT_TEXT_STRATEGY".into(),
            ),
        },
    };
    match Strategy::parse(&name) {
        Some(s) if ctype.allows(s) => (s, None),
        _ => {
            let d = ctype.default_strategy();
            let warning = format!(
                "column `{column}`: strategy `{name}` ({source}) does not apply to a {} column; using `{}`",
                ctype.name(),
                d.name()
            );
            (d, Some(warning))
        }
    }
}

/// Whether pass 1 must keep every number of `column` (for a median).
pub fn needs_values(config: &Config, column: &str) -> bool {
    strategy_for(config, column, ColumnType::Numerical).0 == Strategy::Median
}

/// One column's decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnPlan {
    /// Column name.
    pub name: String,
    /// Detected type.
    #[serde(rename = "type")]
    pub ctype: ColumnType,
    /// The strategy (for imputed columns).
    pub strategy: Option<Strategy>,
    /// The fill value (for imputed columns).
    pub fill_value: Option<FillValue>,
    /// Missing cells in training.
    pub missing_count: u64,
    /// Missing cells in training, percent of rows.
    pub missing_pct: f64,
    /// Distinct non-missing values (string columns).
    pub distinct: Option<u64>,
    /// Why the column is not imputed, if it is not.
    pub skipped: Option<String>,
}

/// The fill values of a run, in column order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FillDict {
    /// `(column, fill value)` pairs.
    pub entries: Vec<(String, FillValue)>,
}

impl FillDict {
    /// The fill value of a column.
    pub fn get(&self, column: &str) -> Option<&FillValue> {
        self.entries
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v)
    }
}

/// Pass 1's result: every column's decision, the fill values, and warnings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FillPlan {
    /// Every training column, in order.
    pub columns: Vec<ColumnPlan>,
    /// The fill values of the imputed columns.
    pub dict: FillDict,
    /// What could not be done as configured.
    pub warnings: Vec<String>,
}

fn column_type(config: &Config, s: &ColumnStats) -> ColumnType {
    if s.is_numerical() {
        return ColumnType::Numerical;
    }
    let present = s.present();
    let ratio_small = present > 0
        && (s.distinct() as f64 / present as f64) < config.categorical_unique_ratio_threshold;
    if s.dictionary || (config.auto_detect_categorical && ratio_small) {
        ColumnType::Categorical
    } else {
        ColumnType::Text
    }
}

/// Validated constant for a string column (SPEC: `VALIDATE_FILL_VALUES`).
fn string_constant(
    config: &Config,
    column: &str,
    ctype: ColumnType,
    warnings: &mut Vec<String>,
) -> String {
    let (value, fallback) = match ctype {
        ColumnType::Categorical => (&config.categorical_constant_value, "Missing"),
        _ => (&config.text_constant_value, "Unknown"),
    };
    if config.validate_fill_values && config.na_values.iter().any(|na| na == value) {
        warnings.push(format!(
            "column `{column}`: constant `{value}` would read back as missing; using `{fallback}`"
        ));
        return fallback.to_string();
    }
    value.clone()
}

/// Decides types, strategies and fill values from the merged pass 1 state.
pub fn plan(stats: &TrainStats, config: &Config) -> Result<FillPlan> {
    let mut out = FillPlan::default();
    for (name, s) in stats.columns.iter().zip(&stats.stats) {
        let ctype = column_type(config, s);
        let missing_pct = if s.rows == 0 {
            0.0
        } else {
            100.0 * s.missing as f64 / s.rows as f64
        };
        let mut col = ColumnPlan {
            name: name.clone(),
            ctype,
            strategy: None,
            fill_value: None,
            missing_count: s.missing,
            missing_pct,
            distinct: (!s.is_numerical()).then_some(s.distinct() as u64),
            skipped: None,
        };
        if *name == config.label_field {
            col.skipped = Some("label column".into());
        } else if config.exclude_columns.contains(name) {
            col.skipped = Some("excluded".into());
        } else if s.missing == 0 {
            col.skipped = Some("no missing value in training".into());
        } else if s.evidence() == Evidence::Unsupported {
            let t = s.arrow_type.clone().unwrap_or_default();
            out.warnings.push(format!(
                "column `{name}` has missing values but its type {t} cannot be imputed; left as is"
            ));
            col.skipped = Some(format!("unsupported type {t}"));
        }
        if col.skipped.is_some() {
            out.columns.push(col);
            continue;
        }
        let (strategy, warning) = strategy_for(config, name, ctype);
        out.warnings.extend(warning);
        let value = fill_value(config, name, s, ctype, strategy, &mut out.warnings);
        col.strategy = Some(strategy);
        col.fill_value = Some(value.clone());
        out.dict.entries.push((name.clone(), value));
        out.columns.push(col);
    }
    Ok(out)
}

fn fill_value(
    config: &Config,
    name: &str,
    s: &ColumnStats,
    ctype: ColumnType,
    strategy: Strategy,
    warnings: &mut Vec<String>,
) -> FillValue {
    let mut none_present = || {
        warnings.push(format!(
            "column `{name}` has no non-missing value in training; filling with the {} default",
            ctype.name()
        ));
    };
    match (ctype, strategy) {
        (ColumnType::Numerical, Strategy::Constant) => FillValue::Number(
            pyfloat::parse_python_float(&config.numerical_constant_value).unwrap_or(0.0),
        ),
        (ColumnType::Numerical, Strategy::Median) => match s.median() {
            Some(m) => FillValue::Number(m),
            None => {
                none_present();
                FillValue::Number(0.0)
            }
        },
        (ColumnType::Numerical, _) => match s.mean() {
            Some(m) => FillValue::Number(m),
            None => {
                none_present();
                FillValue::Number(0.0)
            }
        },
        (_, Strategy::Constant) => FillValue::Text(string_constant(config, name, ctype, warnings)),
        (_, Strategy::Empty) => FillValue::Text(String::new()),
        (_, _) => match s.mode() {
            Some(m) if s.evidence() == Evidence::Bool => FillValue::Bool(m == "True"),
            Some(m) => FillValue::Text(m),
            None => {
                none_present();
                FillValue::Text("Unknown".into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(cols: Vec<(&str, ColumnStats)>) -> TrainStats {
        let rows = cols.first().map_or(0, |c| c.1.rows);
        let (names, s): (Vec<_>, Vec<_>) =
            cols.into_iter().map(|(n, s)| (n.to_string(), s)).unzip();
        TrainStats::of_shard("train/part-00000.csv", names, s, rows)
    }

    fn text_col(values: &[Option<&str>]) -> ColumnStats {
        let mut s = ColumnStats::new(false);
        for v in values {
            match v {
                Some(v) => s.add_text(v.as_bytes()),
                None => s.add_missing(),
            }
        }
        s.set_evidence(Evidence::Text, "train/part-00000.csv");
        s
    }

    #[test]
    fn types_strategies_and_values() {
        let mut num = ColumnStats::new(false);
        for x in [1.0, 2.0, 4.0] {
            num.add_number(x);
        }
        num.add_missing();
        num.set_evidence(Evidence::Number, "s");
        let mut label = ColumnStats::new(false);
        label.add_missing();
        let many: Vec<Option<&str>> = vec![Some("a"), Some("b"), Some("c"), None];
        let mut few: Vec<Option<&str>> = vec![Some("k"); 30];
        few.push(None);
        let config =
            Config::from_env_text("COLUMN_STRATEGY_t=bogus\nTEXT_CONSTANT_VALUE=NA").unwrap();
        let p = plan(
            &stats(vec![
                ("x", num),
                ("target", label),
                ("t", text_col(&many)),
                ("c", text_col(&few)),
            ]),
            &config,
        )
        .unwrap();
        assert_eq!(p.dict.get("x"), Some(&FillValue::Number(7.0 / 3.0)));
        assert_eq!(p.dict.get("target"), None);
        assert_eq!(p.columns[2].ctype, ColumnType::Text);
        assert_eq!(p.dict.get("t"), Some(&FillValue::Text("a".into())));
        assert_eq!(p.columns[3].ctype, ColumnType::Categorical);
        assert!(
            p.warnings.iter().any(|w| w.contains("`bogus`")),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn constants_validated_and_empty_columns_warned() {
        let config = Config::from_env_text(
            "DEFAULT_CATEGORICAL_STRATEGY=constant\nCATEGORICAL_CONSTANT_VALUE=NA\nDEFAULT_TEXT_STRATEGY=empty",
        )
        .unwrap();
        let mut few: Vec<Option<&str>> = vec![Some("k"); 30];
        few.push(None);
        let p = plan(
            &stats(vec![("c", text_col(&few)), ("e", text_col(&[None, None]))]),
            &config,
        )
        .unwrap();
        assert_eq!(p.dict.get("c"), Some(&FillValue::Text("Missing".into())));
        // an all-missing text column with the `empty` strategy
        assert_eq!(p.columns[1].ctype, ColumnType::Text);
        assert_eq!(p.dict.get("e"), Some(&FillValue::Text(String::new())));
        assert!(p
            .warnings
            .iter()
            .any(|w| w.contains("would read back as missing")));
    }
}
