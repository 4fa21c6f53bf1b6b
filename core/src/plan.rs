//! From pass 1 statistics to fill values (SPEC sections 2, 4, 5).
//!
//! Decides each column's type (numerical / categorical / text), its
//! strategy, and its fill value, and says why in warnings where the
//! configuration could not be followed as written.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::pandas::{self, NaMatcher};
use crate::settings::{Settings, Strategy};
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
            FillValue::Number(x) => pandas::repr(*x),
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
            FillValue::Text(s) => pandas::parse_python_float(s),
        }
    }

    /// `text` read as a value of the same kind as `self` (the edit rule):
    /// a number for numbers (Python's `float()`), `True`/`False` for
    /// booleans, any text for text. `None` when it does not fit.
    pub fn parse_like(&self, text: &str) -> Option<FillValue> {
        match self {
            FillValue::Number(_) | FillValue::Int(_) => {
                let x = pandas::parse_python_float(text.trim())?;
                Some(match self {
                    FillValue::Int(_) if x.fract() == 0.0 && x.abs() < 9.0e15 => {
                        FillValue::Int(x as i64)
                    }
                    _ => FillValue::Number(x),
                })
            }
            FillValue::Bool(_) => pandas::parse_bool(text.trim().as_bytes()).map(FillValue::Bool),
            FillValue::Text(_) => Some(FillValue::Text(text.to_string())),
        }
    }

    /// An error unless the value is a finite number or a text.
    pub fn check_finite(&self, column: &str, cause: &str) -> Result<()> {
        match self {
            FillValue::Number(x) if !x.is_finite() => Err(Error::fill_value(format!(
                "column `{column}`: the fill value is {} ({cause}); a fill value must be a finite \
                 number or a text: set COLUMN_STRATEGY_{column}=median or a constant",
                pandas::repr(*x)
            ))),
            _ => Ok(()),
        }
    }
}

/// The strategy a column of type `ctype` gets, and a warning when the
/// configured one does not apply to the type.
pub fn strategy_for(
    settings: &Settings,
    column: &str,
    ctype: ColumnType,
) -> (Strategy, Option<String>) {
    let (strategy, source) = match settings.column_strategy(column) {
        Some(s) => (s, format!("COLUMN_STRATEGY_{column}")),
        None => match ctype {
            ColumnType::Numerical => (
                settings.default_numerical_strategy,
                "DEFAULT_NUMERICAL_STRATEGY".into(),
            ),
            ColumnType::Categorical => (
                settings.default_categorical_strategy,
                "DEFAULT_CATEGORICAL_STRATEGY".into(),
            ),
            ColumnType::Text => (
                settings.default_text_strategy,
                "DEFAULT_TEXT_STRATEGY".into(),
            ),
        },
    };
    if ctype.allows(strategy) {
        return (strategy, None);
    }
    let d = ctype.default_strategy();
    let warning = format!(
        "column `{column}`: strategy `{}` ({source}) does not apply to a {} column; using `{}`",
        strategy.name(),
        ctype.name(),
        d.name()
    );
    (d, Some(warning))
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
    /// The fill values as bytes, to send to another process or machine
    /// (versioned and checksummed; numbers kept to the bit).
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::stats::codec::encode_dict(self)
    }

    /// Fill values from [`FillDict::to_bytes`]'s bytes; damaged bytes are
    /// an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<FillDict> {
        crate::stats::codec::decode_dict(bytes)
    }

    /// `impute_dict.pkl`'s bytes for these fill values.
    pub fn to_pickle(&self) -> Vec<u8> {
        crate::artifacts::dict_to_pickle(self)
    }

    /// Column -> fill value, for lookups over many columns.
    pub fn index(&self) -> std::collections::HashMap<&str, &FillValue> {
        self.entries.iter().map(|(c, v)| (c.as_str(), v)).collect()
    }

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
    /// Training rows seen by pass 1.
    pub rows: u64,
}

fn column_type(settings: &Settings, s: &ColumnStats) -> ColumnType {
    if s.is_numerical() {
        return ColumnType::Numerical;
    }
    let present = s.present();
    let ratio_small = present > 0
        && (s.distinct() as f64 / present as f64) < settings.categorical_unique_ratio_threshold;
    if s.dictionary || (settings.auto_detect_categorical && ratio_small) {
        ColumnType::Categorical
    } else {
        ColumnType::Text
    }
}

/// Validated constant for a string column (SPEC: `VALIDATE_FILL_VALUES`).
fn string_constant(
    settings: &Settings,
    column: &str,
    ctype: ColumnType,
    warnings: &mut Vec<String>,
) -> String {
    let (value, fallback) = match ctype {
        ColumnType::Categorical => (&settings.categorical_constant_value, "Missing"),
        _ => (&settings.text_constant_value, "Unknown"),
    };
    if settings.validate_fill_values
        && NaMatcher::new(&settings.na_values).is_missing(value.as_bytes())
    {
        warnings.push(format!(
            "column `{column}`: constant `{value}` would read back as missing; using `{fallback}`"
        ));
        return fallback.to_string();
    }
    value.clone()
}

/// Decides types, strategies and fill values from the merged pass 1 state.
/// A fill value that is not finite (data holding infinities) is an error.
pub fn plan(stats: &TrainStats, settings: &Settings) -> Result<FillPlan> {
    let mut out = FillPlan {
        warnings: settings.warnings.clone(),
        rows: stats.rows,
        ..FillPlan::default()
    };
    if stats.rows == 0 {
        let unfilled: Vec<&String> = stats
            .columns
            .iter()
            .filter(|c| !settings.is_skipped(c))
            .collect();
        out.warnings.push(format!(
            "the training split has no rows (header-only shards): no column gets a fill value, \
             so missing cells in {} will not be filled in any split",
            name_list(&unfilled)
        ));
    }
    for (name, s) in stats.columns.iter().zip(&stats.stats) {
        let ctype = column_type(settings, s);
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
        if *name == settings.label_field {
            col.skipped = Some("label column".into());
        } else if settings.exclude_columns.contains(name) {
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
        let (strategy, warning) = strategy_for(settings, name, ctype);
        out.warnings.extend(warning);
        let value = fill_value(settings, name, s, ctype, strategy, &mut out.warnings);
        value.check_finite(
            name,
            &format!("the {} of the training values", strategy.name()),
        )?;
        col.strategy = Some(strategy);
        col.fill_value = Some(value.clone());
        out.dict.entries.push((name.clone(), value));
        out.columns.push(col);
    }
    Ok(out)
}

/// Column names for a message: `a`, `b` and `c`, the first 20 and how
/// many more.
pub(crate) fn name_list<S: AsRef<str>>(names: &[S]) -> String {
    const SHOWN: usize = 20;
    if names.is_empty() {
        return "no column".into();
    }
    let mut text: Vec<String> = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{}`", n.as_ref()))
        .collect();
    if names.len() > SHOWN {
        text.push(format!("{} more", names.len() - SHOWN));
    }
    let last = text.pop().unwrap_or_default();
    match text.len() {
        0 => format!("column {last}"),
        _ => format!("columns {} and {last}", text.join(", ")),
    }
}

fn fill_value(
    settings: &Settings,
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
        (ColumnType::Numerical, Strategy::Constant) => {
            FillValue::Number(settings.numerical_constant_value)
        }
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
        (_, Strategy::Constant) => {
            FillValue::Text(string_constant(settings, name, ctype, warnings))
        }
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
        let mut s = ColumnStats::new(crate::stats::Keep::Summary);
        for v in values {
            match v {
                Some(v) => s.add_text(v.as_bytes()),
                None => s.add_missing(),
            }
        }
        s.set_evidence(Evidence::Text, "train/part-00000.csv");
        s.settle();
        s
    }

    #[test]
    fn types_strategies_and_values() {
        let mut num = ColumnStats::new(crate::stats::Keep::Summary);
        for x in [1.0, 2.0, 4.0] {
            num.add_number(x);
        }
        num.add_missing();
        num.set_evidence(Evidence::Number, "s");
        let mut label = ColumnStats::new(crate::stats::Keep::Summary);
        label.add_missing();
        let many: Vec<Option<&str>> = vec![Some("a"), Some("b"), Some("c"), None];
        let mut few: Vec<Option<&str>> = vec![Some("k"); 30];
        few.push(None);
        let settings =
            Settings::from_env_text("COLUMN_STRATEGY_t=bogus\nTEXT_CONSTANT_VALUE=NA").unwrap();
        let p = plan(
            &stats(vec![
                ("x", num),
                ("target", label),
                ("t", text_col(&many)),
                ("c", text_col(&few)),
            ]),
            &settings,
        )
        .unwrap();
        assert_eq!(p.dict.get("x"), Some(&FillValue::Number(7.0 / 3.0)));
        assert_eq!(p.dict.get("target"), None);
        assert_eq!(p.columns[2].ctype, ColumnType::Text);
        assert_eq!(p.dict.get("t"), Some(&FillValue::Text("a".into())));
        assert_eq!(p.columns[3].ctype, ColumnType::Categorical);
        assert!(
            p.warnings.iter().any(|w| w.contains("bogus")),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn constants_validated_and_empty_columns_warned() {
        let settings = Settings::from_env_text(
            "DEFAULT_CATEGORICAL_STRATEGY=constant\nCATEGORICAL_CONSTANT_VALUE=NA\nDEFAULT_TEXT_STRATEGY=empty",
        )
        .unwrap();
        let mut few: Vec<Option<&str>> = vec![Some("k"); 30];
        few.push(None);
        let p = plan(
            &stats(vec![("c", text_col(&few)), ("e", text_col(&[None, None]))]),
            &settings,
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

    #[test]
    fn fill_values_must_be_finite() {
        let mut x = ColumnStats::new(crate::stats::Keep::Summary);
        x.add_number(f64::INFINITY);
        x.add_number(f64::NEG_INFINITY);
        x.add_missing();
        x.set_evidence(Evidence::Number, "s");
        let e = plan(&stats(vec![("x", x)]), &Settings::default()).unwrap_err();
        assert_eq!(e.kind().name(), "fill_value");
        let msg = e.to_string();
        assert!(msg.contains("column `x`") && msg.contains("nan"), "{msg}");
        assert!(msg.contains("COLUMN_STRATEGY_x=median"), "{msg}");
    }

    #[test]
    fn the_edit_rule() {
        let n = FillValue::Number(1.5);
        assert_eq!(n.parse_like(" 2 "), Some(FillValue::Number(2.0)));
        assert_eq!(n.parse_like("abc"), None);
        assert_eq!(FillValue::Int(3).parse_like("4"), Some(FillValue::Int(4)));
        assert_eq!(
            FillValue::Bool(true).parse_like("False"),
            Some(FillValue::Bool(false))
        );
        assert_eq!(FillValue::Bool(true).parse_like("maybe"), None);
        assert_eq!(
            FillValue::Text("a".into()).parse_like("b c"),
            Some(FillValue::Text("b c".into()))
        );
    }
}
