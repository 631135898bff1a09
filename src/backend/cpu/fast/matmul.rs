//! `MatMul` on the fast backend: activations quantized once (in parallel by rows), weight
//! rows split into fixed tasks over the pool, each task writing its columns of `[n, m]`.

use crate::error::Result;
use crate::DType;
use edgeplane_kernels::cpu::decode::{self, matmul_decode_rows, DecodeActivation};
use edgeplane_kernels::cpu::interleaved::{Interleaved, TILE_ROWS};
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
    let weights = WeightMatrix {
        dtype,
        rows: m,
        k,
        bytes: w,
    };
    let per_task = rows_per_task(m, threads);
    let mut out = vec![0.0f32; n * m];
    if n == 1 {
        // One activation row: `[1, m]` is weight-major already, tasks own disjoint slices.
        let a = DecodeActivation::new(simd, dtype, x, k);
        out.par_chunks_mut(per_task)
            .enumerate()
            .try_for_each(|(t, chunk)| {
                let start = t * per_task;
                matmul_decode_rows(&weights, start..start + chunk.len(), &a, chunk)
            })?;
    } else {
        let columns = Columns {
            ptr: out.as_mut_ptr(),
            m,
        };
        let tasks = 0..m.div_ceil(per_task);
        let task_rows = |t: usize| t * per_task..((t + 1) * per_task).min(m);
        if decode::serves(simd, dtype, n) {
            let a = DecodeActivation::new(simd, dtype, x, k);
            tasks.into_par_iter().try_for_each(|t| {
                let rows = task_rows(t);
                let mut local = vec![0.0f32; rows.len() * n];
                matmul_decode_rows(&weights, rows.clone(), &a, &mut local)?;
                columns.scatter(rows, n, &local);
                Ok::<(), edgeplane_kernels::quant::QuantError>(())
            })?;
        } else {
            let acts = quantize_activations(ActivationFormat::for_weight(dtype), x, n, k);
            tasks.into_par_iter().try_for_each(|t| {
                let rows = task_rows(t);
                let mut local = vec![0.0f32; rows.len() * n];
                matmul_rows(simd, &weights, rows.clone(), &acts, &mut local)?;
                columns.scatter(rows, n, &local);
                Ok::<(), edgeplane_kernels::quant::QuantError>(())
            })?;
        }
    }
    add_bias(&mut out, m, bias);
    Ok(out)
}

/// `y = x · Wᵀ (+ b)` with `W` repacked into row-interleaved tiles (Q4_K, Q6_K): tasks own whole
/// tiles of 16 weight rows, each output is one tile kernel's lane, so results do not
/// depend on the split.
#[allow(clippy::too_many_arguments)]
pub fn matmul_interleaved(
    simd: Simd,
    threads: usize,
    x: &[f32],
    n: usize,
    k: usize,
    w: &Interleaved,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let m = w.rows();
    let tiles = m / TILE_ROWS;
    let per_task = tiles.div_ceil(threads.max(1) * 8).max(1);
    let acts = quantize_activations(ActivationFormat::for_weight(w.dtype()), x, n, k);
    let mut out = vec![0.0f32; n * m];
    if n == 1 {
        out.par_chunks_mut(per_task * TILE_ROWS)
            .enumerate()
            .for_each(|(t, chunk)| {
                let start = t * per_task;
                w.matmul_tiles(simd, start..start + chunk.len() / TILE_ROWS, &acts, chunk);
            });
    } else {
        let columns = Columns {
            ptr: out.as_mut_ptr(),
            m,
        };
        (0..tiles.div_ceil(per_task)).into_par_iter().for_each(|t| {
            let range = t * per_task..((t + 1) * per_task).min(tiles);
            let rows = range.start * TILE_ROWS..range.end * TILE_ROWS;
            let mut local = vec![0.0f32; rows.len() * n];
            w.matmul_tiles(simd, range, &acts, &mut local);
            columns.scatter(rows, n, &local);
        });
    }
    add_bias(&mut out, m, bias);
    out
}

/// Adds `bias` to every row of `out` (`[n, m]`).
fn add_bias(out: &mut [f32], m: usize, bias: Option<&[f32]>) {
    if let Some(b) = bias {
        out.par_chunks_mut(m).for_each(|row| {
            row.iter_mut().zip(b).for_each(|(o, &v)| *o += v);
        });
    }
}

/// The `[n, m]` output shared by the weight-row tasks. Each task writes only the columns
/// of its own weight rows, so no two threads write the same element.
struct Columns {
    ptr: *mut f32,
    m: usize,
}

// SAFETY: tasks write disjoint columns (their own weight rows) of a buffer that outlives
// the parallel loop; no element is read or written by two threads.
unsafe impl Sync for Columns {}

impl Columns {
    /// Writes a task's `[rows, n]` results (weight-major) into columns `rows`.
    fn scatter(&self, rows: std::ops::Range<usize>, n: usize, local: &[f32]) {
        assert_eq!(local.len(), rows.len() * n, "task results cover its rows");
        for i in 0..n {
            for (j, r) in rows.clone().enumerate() {
                // SAFETY: `i < n` and `r < m` keep `i * m + r` inside the `n * m` buffer;
                // column `r` belongs to this task alone (see the `Sync` impl).
                unsafe { *self.ptr.add(i * self.m + r) = local[j * n + i] };
            }
        }
    }
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
