//! pandas' and Python's semantics, in one place: which CSV field texts are
//! missing, which are booleans, how numbers are read, and how Python
//! prints and parses floats. Every other module asks here.

mod na;
mod number;
mod pyfloat;

pub use na::{NaMatcher, DEFAULT_NA_VALUES};
pub use number::parse as parse_csv_number;
pub use pyfloat::{parse_python_float, repr};

/// pandas' boolean spellings in a CSV field (`True`/`TRUE`/`true`, and the
/// same for false); anything else is not a boolean.
#[inline]
pub fn parse_bool(text: &[u8]) -> Option<bool> {
    match text {
        b"True" | b"TRUE" | b"true" => Some(true),
        b"False" | b"FALSE" | b"false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) use pyfloat::tests::python as tests_python;
