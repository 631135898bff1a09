//! `MatMul` on the fast backend: activations quantized once (in parallel by rows), weight
//! rows split into fixed tasks over the pool, each task writing its columns of `[n, m]`.

use super::value::{overwritten, zeroed};
use crate::error::Result;
use crate::DType;
use edgeplane_kernels::cpu::decode::{matmul_decode_rows, DecodeActivation};
use edgeplane_kernels::cpu::interleaved::{Interleaved, TILE_ROWS};
use edgeplane_kernels::cpu::{ActivationFormat, ActivationRows, Simd, WeightMatrix};
use edgeplane_kernels::quant::QuantError;
use rayon::prelude::*;
use std::ops::Range;

/// Weight rows per task for `m` rows on `threads`: about eight tasks per thread so uneven
/// progress evens out, never fewer than 4 rows. Each output is computed whole by one task,
/// so the split does not change any result.
fn rows_per_task(m: usize, threads: usize) -> usize {
    m.div_ceil(threads.max(1) * 8).max(4)
}

/// `y = x · Wᵀ (+ b)`: `x [n, k]`, `W [m, k]` in `dtype` (raw bytes), output `[n, m]`.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    out: Vec<f32>,
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
    let format = ActivationFormat::for_weight(dtype);
    let mut acts = ActivationRows::empty(format);
    quantize_activations(&mut acts, format, x, n, k, k);
    let a = DecodeActivation::from_rows(simd, dtype, acts);
    let mut out = zeroed(out, n * m);
    run_tasks(&mut out, n, m, rows_per_task(m, threads), |rows, local| {
        matmul_decode_rows(&weights, rows, &a, local)
    })?;
    add_bias(&mut out, m, bias);
    Ok(out)
}

/// `y = x · Wᵀ (+ b)` with `W` repacked into row-interleaved tiles (see `Interleaved`):
/// tasks own whole tiles of 16 weight rows, each output is one tile kernel's lane, so
/// results do not depend on the split. Each kernel result (sixteen weight rows of one
/// activation row) is stored side by side into `[n, m]`: no per-task buffer and no
/// transpose (the transpose's strided stores were ~8 % of n = 512). The activations are
/// converted into `acts`, a buffer the caller keeps from call to call.
#[allow(clippy::too_many_arguments)]
pub fn matmul_interleaved(
    acts: &mut ActivationRows,
    out: Vec<f32>,
    simd: Simd,
    threads: usize,
    x: &[f32],
    n: usize,
    k: usize,
    w: &Interleaved,
    bias: Option<&[f32]>,
) -> Result<Vec<f32>> {
    let m = w.rows();
    let tile_rows = m / TILE_ROWS;
    let format = ActivationFormat::for_weight(w.dtype());
    quantize_activations(acts, format, x, n, k, w.padded_k());
    let acts = &*acts;
    // Every element is written below (the tiles cover every row, the sinks every
    // activation row), so the recycled buffer is not zeroed first.
    let mut out = overwritten(out, n * m);
    // Decode keeps eight tasks per thread (measured); batches, whose tasks are longer,
    // take sixteen so a core the VM takes away holds up less of the work.
    let tasks_per_thread = if n == 1 { 8 } else { 16 };
    let tiles_per_task = tile_rows.div_ceil(threads.max(1) * tasks_per_thread).max(1);
    let columns = Columns {
        ptr: out.as_mut_ptr(),
        n,
        m,
    };
    (0..tile_rows.div_ceil(tiles_per_task))
        .into_par_iter()
        .for_each(|t| {
            let tiles = t * tiles_per_task..((t + 1) * tiles_per_task).min(tile_rows);
            w.matmul_tiles_with(simd, tiles, acts, |i, row, sums| columns.put(i, row, sums));
        });
    add_bias(&mut out, m, bias);
    Ok(out)
}

/// Splits the `m` weight rows into tasks of `per_task` rows over the pool; `kernel(rows,
/// local)` fills `local` with those rows' outputs, weight-major (`[rows, n]`), which land
/// in the `[n, m]` output `out`: directly for one activation row (the layouts agree),
/// through [`Columns`] otherwise.
fn run_tasks(
    out: &mut [f32],
    n: usize,
    m: usize,
    per_task: usize,
    kernel: impl Fn(Range<usize>, &mut [f32]) -> std::result::Result<(), QuantError> + Sync,
) -> std::result::Result<(), QuantError> {
    if n == 1 {
        return out
            .par_chunks_mut(per_task)
            .enumerate()
            .try_for_each(|(t, chunk)| {
                let start = t * per_task;
                kernel(start..start + chunk.len(), chunk)
            });
    }
    let columns = Columns {
        ptr: out.as_mut_ptr(),
        n,
        m,
    };
    (0..m.div_ceil(per_task)).into_par_iter().try_for_each(|t| {
        let rows = t * per_task..((t + 1) * per_task).min(m);
        let mut local = vec![0.0f32; rows.len() * n];
        kernel(rows.clone(), &mut local)?;
        columns.scatter(rows, &local);
        Ok(())
    })
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
    n: usize,
    m: usize,
}

// SAFETY: tasks write disjoint columns (their own weight rows) of a buffer that outlives
// the parallel loop; no element is read or written by two threads.
unsafe impl Sync for Columns {}

impl Columns {
    /// Writes a task's `[rows, n]` results (weight-major) into columns `rows`.
    fn scatter(&self, rows: Range<usize>, local: &[f32]) {
        let n = self.n;
        assert_eq!(local.len(), rows.len() * n, "task results cover its rows");
        assert!(rows.end <= self.m, "rows inside the output");
        for i in 0..n {
            for (j, r) in rows.clone().enumerate() {
                // SAFETY: `i < n` and `r < m` keep `i * m + r` inside the `n * m` buffer;
                // column `r` belongs to this task alone (see the `Sync` impl).
                unsafe { *self.ptr.add(i * self.m + r) = local[j * n + i] };
            }
        }
    }

    /// Writes `W[row + r] · x[i]` for the sixteen weight rows of one tile (the task's own).
    ///
    /// # Panics
    /// If `i` or the rows are outside the output.
    fn put(&self, i: usize, row: usize, sums: &[f32; TILE_ROWS]) {
        assert!(i < self.n && row + TILE_ROWS <= self.m, "inside the output");
        // SAFETY: checked just above that the sixteen elements lie inside the `n * m`
        // buffer; columns `row..row + 16` belong to this task alone (see the `Sync` impl).
        unsafe {
            std::ptr::copy_nonoverlapping(sums.as_ptr(), self.ptr.add(i * self.m + row), TILE_ROWS)
        };
    }
}

/// Converts activations (`n` rows of `k`) into `acts` in `format`, each row padded with
/// zeros to `width` values (the width of padded tiles; `k` otherwise), by blocks of 16
/// rows in parallel when there are many. Reuses `acts`' allocations.
fn quantize_activations(
    acts: &mut ActivationRows,
    format: ActivationFormat,
    x: &[f32],
    n: usize,
    k: usize,
    width: usize,
) {
    const ROWS_PER_PART: usize = 16;
    let mut parts = acts.parts(format, n, width, ROWS_PER_PART);
    if n < ROWS_PER_PART {
        parts.iter_mut().for_each(|p| p.fill(x, k));
        return;
    }
    parts
        .into_par_iter()
        .zip(x.par_chunks(ROWS_PER_PART * k))
        .for_each(|(mut part, x)| part.fill(x, k));
}
