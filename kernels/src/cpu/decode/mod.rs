//! Decode (one activation row, or a few): matrix-vector kernels that get their speed from
//! laying the activation rows out once per call for the kernel, so the loop over the
//! weights — run once per weight row, millions of times per token — does only the weight
//! side's work.
//!
//! Why a separate path from [`super::dot`]: the per-row dot kernels take activations in the
//! format every caller shares (ggml's block order) and pay for it inside the loop: shuffles
//! that line the activation quants up with the weights' nibble order, and a second integer
//! dot for the `−8` offset of Q4_0. Here [`DecodeActivation::new`] does that work once per
//! call (a few µs per 4096-wide row) and the weight loop shrinks to what the weight bytes
//! need. With a few activation rows (small batches, speculative decode) each decoded weight
//! block is used for up to four rows while it is in registers. Formats and SIMD levels
//! without such a kernel fall back to the dot kernels.

#[cfg(target_arch = "x86_64")]
mod avx512_q4_0;
#[cfg(target_arch = "x86_64")]
mod avx512_q8_0;

use super::activation::{ActivationFormat, ActivationRows};
use super::matmul::{matmul_rows, WeightMatrix};
use super::packed::PACKED_MIN_ROWS;
use super::simd::{Simd, SimdLevel};
use crate::quant::QuantError;
use crate::DType;
use std::array::from_fn;
use std::ops::Range;

/// Whether `dtype` has a decode kernel on its raw rows at `simd` (Q4_0 and Q8_0 on
/// AVX-512 VNNI): those stream from DRAM as fast as the tiles do.
pub fn has_kernel(simd: Simd, dtype: DType) -> bool {
    matches!(
        (simd.level(), dtype),
        (SimdLevel::Avx512Vnni, DType::Q4_0 | DType::Q8_0)
    )
}

/// Activation rows, converted for `dtype`'s weights and laid out for the decode kernel of
/// `simd` where there is one.
#[derive(Debug)]
pub struct DecodeActivation {
    simd: Simd,
    dtype: DType,
    acts: ActivationRows,
    layout: Layout,
}

/// The kernel-specific copy of the activation rows (one entry per row).
#[derive(Debug)]
enum Layout {
    /// No decode kernel: the dot kernels read `acts` directly.
    Shared,
    /// Q4_0 on AVX-512 VNNI, per pair of 32-blocks (see [`avx512_q4_0`]).
    #[cfg(target_arch = "x86_64")]
    Q4_0Pairs(Vec<avx512_q4_0::Pairs>),
    /// Q8_0 on AVX-512 VNNI: the shared rows plus per-lane offsets (see [`avx512_q8_0`]).
    #[cfg(target_arch = "x86_64")]
    Q8_0Offsets(Vec<avx512_q8_0::Offsets>),
}

impl DecodeActivation {
    /// Quantizes `x` (rows of `k` values) for `dtype`'s weights and prepares the layout the
    /// decode kernel for `dtype` at `simd` reads.
    pub fn new(simd: Simd, dtype: DType, x: &[f32], k: usize) -> DecodeActivation {
        let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), x, k);
        DecodeActivation::from_rows(simd, dtype, acts)
    }

    /// Prepares already quantized rows (`ActivationFormat::for_weight(dtype)`) for the
    /// decode kernel of `dtype` at `simd`. From [`PACKED_MIN_ROWS`] rows on the packed GEMM
    /// beats the decode kernels, so the rows are left as they are for it.
    pub fn from_rows(simd: Simd, dtype: DType, acts: ActivationRows) -> DecodeActivation {
        let n = acts.rows();
        let layout = match (simd.level(), dtype) {
            _ if n >= PACKED_MIN_ROWS => Layout::Shared,
            #[cfg(target_arch = "x86_64")]
            (SimdLevel::Avx512Vnni, DType::Q4_0) => Layout::Q4_0Pairs(
                (0..n)
                    .map(|i| avx512_q4_0::Pairs::new(&acts.row(i)))
                    .collect(),
            ),
            #[cfg(target_arch = "x86_64")]
            (SimdLevel::Avx512Vnni, DType::Q8_0) => Layout::Q8_0Offsets(
                (0..n)
                    .map(|i| avx512_q8_0::Offsets::new(&acts.row(i)))
                    .collect(),
            ),
            _ => Layout::Shared,
        };
        DecodeActivation {
            simd,
            dtype,
            acts,
            layout,
        }
    }

    /// The quantized rows every kernel shares.
    pub fn rows(&self) -> &ActivationRows {
        &self.acts
    }
}

/// Weight rows per tile: a tile is swept over every group of activation rows while it is
/// in L1 (16 rows of a 4096-wide Q4_0 matrix are 36 KiB).
const WEIGHT_TILE_ROWS: usize = 16;
/// Activation rows one weight row is dotted with at once: four keep the accumulators and
/// the decoded weight block in registers.
const GROUP: usize = 4;

/// Runs decode kernel module `$k` (its `dot` and `dot_rows::<R>`) over `rows` with the
/// per-row `$layouts` of `$a`, four activation rows at a time ([`tiled`]). Only for layouts
/// built at the AVX-512 VNNI level (the kernels' target features).
#[cfg(target_arch = "x86_64")]
macro_rules! grouped_dots {
    ($k:ident, $w:expr, $rows:expr, $n:expr, $out:expr, $layouts:expr, $a:expr) => {{
        let acts: Vec<_> = (0..$n).map(|i| $a.acts.row(i)).collect();
        tiled($rows, $n, $out, |r, i, o| {
            let wr = $w.row(r);
            let at = |j: usize| (&$layouts[i + j], &acts[i + j]);
            // SAFETY: the layout exists only at the AVX-512 VNNI level, which the `Simd`
            // token it was built with proved this CPU has.
            unsafe {
                match o.len() {
                    4 => o.copy_from_slice(&$k::dot_rows::<4>(wr, from_fn(at))),
                    3 => o.copy_from_slice(&$k::dot_rows::<3>(wr, from_fn(at))),
                    2 => o.copy_from_slice(&$k::dot_rows::<2>(wr, from_fn(at))),
                    _ => o[0] = $k::dot(wr, &$layouts[i], &acts[i]),
                }
            }
        })
    }};
}

/// `out[(r - rows.start) * n + i] = W[r] · x[i]` for `r` in `rows` and every activation
/// row `i` (weight-major, as [`matmul_rows`]). `w.dtype` must be the dtype `a` was
/// prepared for (checked: a mismatch is a caller bug and returns an error).
pub fn matmul_decode_rows(
    w: &WeightMatrix,
    rows: Range<usize>,
    a: &DecodeActivation,
    out: &mut [f32],
) -> Result<(), QuantError> {
    if w.dtype != a.dtype {
        return Err(QuantError::Unsupported {
            dtype: w.dtype,
            direction: "decode (the activations were prepared for another dtype)",
        });
    }
    let n = a.acts.rows();
    debug_assert_eq!(out.len(), rows.len() * n);
    match &a.layout {
        #[cfg(target_arch = "x86_64")]
        Layout::Q4_0Pairs(pairs) => {
            grouped_dots!(avx512_q4_0, w, rows, n, out, pairs, a);
            Ok(())
        }
        #[cfg(target_arch = "x86_64")]
        Layout::Q8_0Offsets(offsets) => {
            grouped_dots!(avx512_q8_0, w, rows, n, out, offsets, a);
            Ok(())
        }
        Layout::Shared => matmul_rows(a.simd, w, rows, &a.acts, out),
    }
}

/// Walks weight rows in tiles of [`WEIGHT_TILE_ROWS`] and, per tile, activation rows in
/// groups of up to [`GROUP`], calling `dot(r, i, out)` to fill `out` (the group's outputs
/// of weight row `r`, activation rows `i..i + out.len()`).
fn tiled(
    rows: Range<usize>,
    n: usize,
    out: &mut [f32],
    mut dot: impl FnMut(usize, usize, &mut [f32]),
) {
    let mut tile_start = rows.start;
    while tile_start < rows.end {
        let tile = tile_start..(tile_start + WEIGHT_TILE_ROWS).min(rows.end);
        let mut i = 0;
        while i < n {
            let g = GROUP.min(n - i);
            for r in tile.clone() {
                let at = (r - rows.start) * n + i;
                dot(r, i, &mut out[at..at + g]);
            }
            i += g;
        }
        tile_start = tile.end;
    }
}

#[cfg(test)]
mod tests;
