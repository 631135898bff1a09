//! `MatMul` on the fast backend: activations quantized once (in parallel by rows), weight
//! rows split into fixed tasks over the pool, results transposed back to `[n, m]`.

use crate::error::Result;
use crate::DType;
use edgeplane_kernels::cpu::{matmul_rows, ActivationFormat, ActivationRows, Simd, WeightMatrix};
use rayon::prelude::*;

/// Weight rows per task for `m` rows on `threads`: about eight tasks per thread so uneven
/// progress evens out, never fewer than 4 rows. Each output is computed whole by one task,
/// so the split does not change any result.
fn rows_per_task(m: usize, threads: usize) -> usize {
    m.div_ceil(threads.max(1) * 8).max(4)
}

/// `y = x · Wᵀ (+ b)`: `x [n, k]`, `W [m, k]` in `dtype` (raw bytes), output `[n, m]`.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    simd: Simd,
    threads: usize,
    x: &[f32],
    n: usize,
    k: usize,
    dtype: DType,
    w: &[u8],
    m: usize,
    bias: Option<&[f32]>,
) -> Result<Vec<f32>> {
    let format = ActivationFormat::for_weight(dtype);
    let acts = quantize_activations(format, x, n, k);
    let weights = WeightMatrix {
        dtype,
        rows: m,
        k,
        bytes: w,
    };
    let per_task = rows_per_task(m, threads);
    let mut by_weight = vec![0.0f32; m * n];
    by_weight
        .par_chunks_mut(per_task * n)
        .enumerate()
        .try_for_each(|(t, chunk)| {
            let start = t * per_task;
            let rows = start..start + chunk.len() / n;
            matmul_rows(simd, &weights, rows, &acts, chunk)
        })?;
    let mut out = if n == 1 {
        by_weight
    } else {
        let mut out = vec![0.0f32; n * m];
        out.par_chunks_mut(m).enumerate().for_each(|(i, row)| {
            for (r, o) in row.iter_mut().enumerate() {
                *o = by_weight[r * n + i];
            }
        });
        out
    };
    if let Some(b) = bias {
        out.par_chunks_mut(m).for_each(|row| {
            row.iter_mut().zip(b).for_each(|(o, &v)| *o += v);
        });
    }
    Ok(out)
}

/// Converts activations, by blocks of rows in parallel when there are many.
fn quantize_activations(format: ActivationFormat, x: &[f32], n: usize, k: usize) -> ActivationRows {
    if n < 16 {
        return ActivationRows::new(format, x, k);
    }
    let parts: Vec<ActivationRows> = x
        .par_chunks(16 * k)
        .map(|c| ActivationRows::new(format, c, k))
        .collect();
    ActivationRows::concat(format, k, &parts)
}
