//! ggml block formats: one `#[repr(C)]` block struct per format, each declaring its size,
//! its dequantization and (where ggml has a reference quantizer) its quantization, in one
//! place. Row functions dispatch on [`DType`] over raw bytes, which is what files and
//! devices hold.

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

fn check_len(dtype: DType, elements: usize, bytes: usize) -> Result<(), QuantError> {
    match dtype.bytes_for(elements as u64) {
        Some(b) if b == bytes as u64 => Ok(()),
        _ => Err(QuantError::Length {
            dtype,
            elements,
            bytes,
        }),
    }
}

/// Converts `bytes` of `dtype` to `out.len()` f32 values, exactly as ggml's `to_float` does.
pub fn dequantize_row(dtype: DType, bytes: &[u8], out: &mut [f32]) -> Result<(), QuantError> {
    check_len(dtype, out.len(), bytes.len())?;
    match dtype {
        DType::F32 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        DType::F16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::f16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }
        DType::BF16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::bf16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }
        DType::I32 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32;
            }
        }
        _ => {
            return Err(QuantError::Unsupported {
                dtype,
                direction: "dequantize",
            })
        }
    }
    Ok(())
}

/// Converts `src` to `dtype` blocks in `out` with ggml's reference (round-to-nearest)
/// quantizer.
pub fn quantize_row(dtype: DType, src: &[f32], out: &mut [u8]) -> Result<(), QuantError> {
    check_len(dtype, src.len(), out.len())?;
    match dtype {
        DType::F32 => {
            for (c, v) in out.chunks_exact_mut(4).zip(src) {
                c.copy_from_slice(&v.to_le_bytes());
            }
        }
        DType::F16 => {
            for (c, v) in out.chunks_exact_mut(2).zip(src) {
                c.copy_from_slice(&half::f16::from_f32(*v).to_le_bytes());
            }
        }
        DType::BF16 => {
            for (c, v) in out.chunks_exact_mut(2).zip(src) {
                c.copy_from_slice(&half::bf16::from_f32(*v).to_le_bytes());
            }
        }
        _ => {
            return Err(QuantError::Unsupported {
                dtype,
                direction: "quantize",
            })
        }
    }
    Ok(())
}

/// Allocating convenience over [`dequantize_row`].
pub fn dequantize(dtype: DType, bytes: &[u8], elements: usize) -> Result<Vec<f32>, QuantError> {
    let mut out = vec![0.0; elements];
    dequantize_row(dtype, bytes, &mut out)?;
    Ok(out)
}

/// Allocating convenience over [`quantize_row`].
pub fn quantize(dtype: DType, src: &[f32]) -> Result<Vec<u8>, QuantError> {
    let bytes = dtype
        .bytes_for(src.len() as u64)
        .ok_or(QuantError::Length {
            dtype,
            elements: src.len(),
            bytes: 0,
        })?;
    let mut out = vec![0u8; bytes as usize];
    quantize_row(dtype, src, &mut out)?;
    Ok(out)
}
