//! The one error type of the row conversions: what was asked, and why it cannot be done.

use crate::DType;
use std::fmt;

/// Why a row could not be converted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuantError {
    /// The dtype has no (de)quantizer here.
    Unsupported {
        /// The dtype asked for.
        dtype: DType,
        /// `"quantize"` or `"dequantize"`.
        direction: &'static str,
    },
    /// Byte or element counts disagree with the dtype's block geometry.
    Length {
        /// The dtype.
        dtype: DType,
        /// Elements in the row.
        elements: usize,
        /// Bytes given.
        bytes: usize,
    },
}

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantError::Unsupported { dtype, direction } => {
                write!(f, "no {direction} for dtype {dtype}")
            }
            QuantError::Length {
                dtype,
                elements,
                bytes,
            } => write!(
                f,
                "{elements} elements of {dtype} need {} bytes (block of {}), got {bytes}",
                dtype
                    .bytes_for(*elements as u64)
                    .map_or("a whole number of blocks".to_string(), |b| b.to_string()),
                dtype.block_size()
            ),
        }
    }
}

impl std::error::Error for QuantError {}

/// Checks that `bytes` of `dtype` hold exactly `elements` values.
pub(crate) fn check_len(dtype: DType, elements: usize, bytes: usize) -> Result<(), QuantError> {
    match dtype.bytes_for(elements as u64) {
        Some(b) if b == bytes as u64 => Ok(()),
        _ => Err(QuantError::Length {
            dtype,
            elements,
            bytes,
        }),
    }
}
