//! `y = x · Wᵀ (+ b)` with W in any weight dtype, dequantized one row at a time.

use crate::error::Result;
use crate::DType;
use edgeplane_kernels::quant::dequantize_row;

/// The sizes of a matmul: `x [n, k]`, `w [m, k]`, `y [n, m]`.
#[derive(Clone, Copy, Debug)]
pub struct MatMulShape {
    /// Rows of `x` (tokens).
    pub n: usize,
    /// The shared inner dim.
    pub k: usize,
    /// Rows of `w` (outputs).
    pub m: usize,
}

/// Each output is an f64 dot product of a row of `x` with a dequantized row of `w`, plus the
/// bias, rounded to f32 once.
pub fn matmul(
    x: &[f32],
    w_dtype: DType,
    w: &[u8],
    bias: Option<&[f32]>,
    shape: MatMulShape,
) -> Result<Vec<f32>> {
    let MatMulShape { n, k, m } = shape;
    let row_bytes = k / w_dtype.block_size() * w_dtype.block_bytes();
    let mut y = vec![0.0f32; n * m];
    let mut w_row = vec![0.0f32; k];
    for j in 0..m {
        dequantize_row(w_dtype, &w[j * row_bytes..(j + 1) * row_bytes], &mut w_row)?;
        for i in 0..n {
            let x_row = &x[i * k..(i + 1) * k];
            let mut sum = 0.0f64;
            for (a, b) in x_row.iter().zip(&w_row) {
                sum += f64::from(*a) * f64::from(*b);
            }
            if let Some(b) = bias {
                sum += f64::from(b[j]);
            }
            y[i * m + j] = sum as f32;
        }
    }
    Ok(y)
}
