//! The reference's arithmetic, one file per op family, over plain slices. Each function
//! follows its op's doc in [`crate::op`] literally; sums that can lose precision (dot
//! products, norms, softmax, attention) accumulate in f64 and round to f32 once at the end.

pub mod attention;
pub mod cast;
pub mod elementwise;
pub mod get_rows;
pub mod kv_write;
pub mod matmul;
pub mod norm;
pub mod rope;

use crate::error::{Error, Result};

/// A position or id as an index below `limit`, or `InvalidInput` naming what it indexes:
/// these come from run-time inputs, so they are checked, never trusted.
pub fn checked_index(value: i32, limit: usize, what: &str) -> Result<usize> {
    usize::try_from(value)
        .ok()
        .filter(|&i| i < limit)
        .ok_or_else(|| Error::InvalidInput(format!("{what} {value} is outside 0..{limit}")))
}
