//! `y = x · Wᵀ` over a range of weight rows: the unit of work one thread takes. The caller
//! quantizes the activations once ([`ActivationRows`]) and splits the weight rows between
//! threads; each output value is one dot product computed by one thread in a fixed order,
//! so results do not depend on scheduling.
//!
//! Cache blocking (prefill): weight rows are taken in tiles small enough for L1/L2, and
//! activation rows in blocks that fit L2; every weight tile is swept over one activation
//! block before the next, so each weight byte comes from DRAM once per activation block
//! instead of once per activation row. For decode (one activation row) this degenerates to
//! streaming the weights once, which is the memory-bound optimum.

use super::activation::ActivationRows;
use super::dot::{dot, dot4, has_direct_kernel};
use super::simd::Simd;
use crate::quant::{dequantize_row, QuantError};
use crate::DType;
use std::ops::Range;

/// A weight matrix `[rows, k]` in a ggml dtype, as raw bytes.
#[derive(Clone, Copy, Debug)]
pub struct WeightMatrix<'a> {
    /// Storage dtype.
    pub dtype: DType,
    /// Output features (rows).
    pub rows: usize,
    /// Input features per row.
    pub k: usize,
    /// `rows * row_bytes()` bytes.
    pub bytes: &'a [u8],
}

impl WeightMatrix<'_> {
    /// Bytes per row.
    pub fn row_bytes(&self) -> usize {
        self.k / self.dtype.block_size() * self.dtype.block_bytes()
    }

    /// Row `r`'s bytes.
    pub fn row(&self, r: usize) -> &[u8] {
        let rb = self.row_bytes();
        &self.bytes[r * rb..(r + 1) * rb]
    }
}

/// Weight rows per tile: 16 rows of a 4096-wide Q4_0 matrix are 37 KiB.
const WEIGHT_TILE_ROWS: usize = 16;
/// Activation bytes per block: with a weight tile they stay close to L1 (48 KiB here).
const ACTIVATION_BLOCK_BYTES: usize = 64 * 1024;

/// Computes `out[(r - rows.start) * n + i] = W[r] · x[i]` for `r` in `rows` and every
/// activation row `i` (`n = acts.rows()`): weight-major, so threads own disjoint slices.
/// `acts` must be in the format `ActivationFormat::for_weight(w.dtype)` made. Prefill sizes
/// go through the packed GEMM ([`super::packed`]); a dtype without a dot kernel (none of
/// the weight formats today) would be dequantized to f32 row by row.
pub fn matmul_rows(
    simd: Simd,
    w: &WeightMatrix,
    rows: Range<usize>,
    acts: &ActivationRows,
    out: &mut [f32],
) -> Result<(), QuantError> {
    let n = acts.rows();
    debug_assert_eq!(out.len(), rows.len() * n);
    let direct = has_direct_kernel(w.dtype);
    if super::packed::prefers_packed(simd, w.dtype, n, direct) {
        return super::packed::matmul_rows(simd, w, rows, acts, out);
    }
    let act_row_bytes = acts.k().max(1) * if direct { 1 } else { 4 };
    let act_block = (ACTIVATION_BLOCK_BYTES / act_row_bytes).clamp(1, n.max(1));
    let mut scratch = if direct {
        Vec::new()
    } else {
        vec![0.0f32; w.k]
    };
    let mut tile_start = rows.start;
    while tile_start < rows.end {
        let tile = tile_start..(tile_start + WEIGHT_TILE_ROWS).min(rows.end);
        let mut a0 = 0;
        while a0 < n {
            let a1 = (a0 + act_block).min(n);
            for r in tile.clone() {
                let row_out = &mut out[(r - rows.start) * n..(r - rows.start + 1) * n];
                if direct {
                    let wr = w.row(r);
                    let mut i = a0;
                    while i + 4 <= a1 {
                        let rows4 = [
                            acts.row(i),
                            acts.row(i + 1),
                            acts.row(i + 2),
                            acts.row(i + 3),
                        ];
                        row_out[i..i + 4].copy_from_slice(&dot4(simd, w.dtype, wr, &rows4));
                        i += 4;
                    }
                    for (j, o) in row_out[i..a1].iter_mut().enumerate() {
                        *o = dot(simd, w.dtype, wr, &acts.row(i + j));
                    }
                } else {
                    dequantize_row(w.dtype, w.row(r), &mut scratch)?;
                    let wr: &[u8] = bytemuck::cast_slice(&scratch);
                    for (i, o) in row_out[a0..a1].iter_mut().enumerate() {
                        *o = dot(simd, DType::F32, wr, &acts.row(a0 + i));
                    }
                }
            }
            a0 = a1;
        }
        tile_start = tile.end;
    }
    Ok(())
}
