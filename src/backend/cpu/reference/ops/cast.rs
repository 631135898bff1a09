//! Casts between F32, F16 and BF16, rounding to nearest even (the `half` crate's rule,
//! which is ggml's for F16; for BF16 ggml also rounds to nearest even).

use crate::error::{Error, Result};
use crate::DType;
use edgeplane_kernels::quant::quantize_row;

/// Encodes f32 values (already widened from the source dtype) as `to`.
pub fn cast(x: &[f32], to: DType) -> Result<Vec<u8>> {
    if !matches!(to, DType::F32 | DType::F16 | DType::BF16) {
        return Err(Error::UnsupportedDType {
            dtype: to,
            context: "reference Cast target".into(),
        });
    }
    let mut out = vec![0u8; x.len() * to.block_bytes()];
    quantize_row(to, x, &mut out)?;
    Ok(out)
}
