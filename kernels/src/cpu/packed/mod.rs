//! The packed GEMM: weight rows unpacked once into a panel of unsigned 8-bit codes with
//! SIMD-ready scales, then swept against every activation row.
//!
//! Why: the per-row dot kernels in `x86_kernels.rs` unpack each weight block again for every
//! group of four activation rows, so at prefill sizes (n ≥ 16) most of their instructions
//! are unpacking, not multiplying. Unpacking a panel of rows once (see [`unpack`]) costs the
//! same as one decode pass and leaves an inner loop of two integer instructions per 64
//! multiply-adds for every format.
//!
//! Each output is `main − offsets`: `main` is the integer dot scaled per block, `offsets`
//! the float dot of the panel row's group offsets with the activation row's scaled group
//! sums (see [`unpack`] for the shape every format is put in). The result equals the
//! direct kernels' up to float summation order.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
mod panel;
pub(crate) mod scalar;
pub mod unpack;

pub use panel::{Family, Panel};

use super::activation::ActivationRows;
use super::matmul::WeightMatrix;
use super::simd::{Simd, SimdLevel};
use crate::quant::QuantError;
use std::ops::Range;

/// Weight rows unpacked per panel: 16 rows of a 4096-wide matrix are ~150 KiB of codes and
/// scales, which stay in L2 while every activation row streams past them.
const PANEL_ROWS: usize = 16;
/// Weight rows per micro-tile (the register block).
pub const TILE_ROWS: usize = 4;
/// Activation rows per micro-tile.
const TILE_ACTS: usize = 3;

/// Whether [`matmul_rows`] should take `dtype`'s matmul of `n` activation rows at `simd`.
/// Formats without a direct dot kernel always do; the others from [`PACKED_MIN_ROWS`] on,
/// where a SIMD packed kernel exists: AVX-512 VNNI, and AVX2 and NEON except for Q8_0 (its
/// codes overflow `maddubs` and are not signed bytes for `sdot`). Measured at AVX2 (4096²,
/// n = 512): Q4_0 202 → 148 ms, Q4_K 140 → 133 ms, Q6_K 148 → 135 ms against the per-row
/// kernels. On NEON (no Arm hardware here) it is by instruction count: a row kernel decodes
/// every weight block again for each activation row (~11 instructions per 32 products for
/// Q4_0), the 4 × 3 packed tile ~5 after one unpacking pass per call.
pub fn prefers_packed(simd: Simd, dtype: crate::DType, n: usize, has_direct: bool) -> bool {
    if Family::of(dtype).is_none() {
        return false;
    }
    let simd_packs = match simd.level() {
        SimdLevel::Avx512Vnni => true,
        SimdLevel::Avx2 | SimdLevel::AvxVnni | SimdLevel::Neon | SimdLevel::NeonDotprod => {
            dtype != crate::DType::Q8_0
        }
        SimdLevel::Scalar => false,
    };
    !has_direct || (simd_packs && n >= PACKED_MIN_ROWS)
}

/// From this many activation rows on, unpacking a panel once beats the per-row kernels.
/// Measured on an idle machine (q4_K 4096², 2 threads): n = 16 takes 3.9 ms direct and
/// 5.4 ms packed, n = 512 far less packed; the marginal costs (0.235 vs 0.13 ms per row)
/// cross near 30 rows, because unpacking the panels costs about one scalar pass over the
/// weights per call.
pub const PACKED_MIN_ROWS: usize = 32;

/// `out[(r - rows.start) * n + i] = W[r] · x[i]` through panels; same contract as
/// [`super::matmul::matmul_rows`]. `acts` must be in `Family::of(w.dtype)`'s format.
pub fn matmul_rows(
    simd: Simd,
    w: &WeightMatrix,
    rows: Range<usize>,
    acts: &ActivationRows,
    out: &mut [f32],
) -> Result<(), QuantError> {
    let n = acts.rows();
    let family = Family::of(w.dtype).ok_or(QuantError::Unsupported {
        dtype: w.dtype,
        direction: "unpack",
    })?;
    let mut panel = Panel::new(family, w.k, PANEL_ROWS);
    let mut p0 = rows.start;
    while p0 < rows.end {
        let p1 = (p0 + PANEL_ROWS).min(rows.end);
        panel.fill(w, p0..p1)?;
        let mut write = |g: usize, a: usize, tile: &[f32], width: usize| {
            for r in 0..TILE_ROWS {
                let row = p0 + g + r;
                if row < p1 {
                    let o = (row - rows.start) * n + a;
                    out[o..o + width].copy_from_slice(&tile[r * width..(r + 1) * width]);
                }
            }
        };
        let mut a = 0;
        while a + TILE_ACTS <= n {
            let group: [_; TILE_ACTS] = std::array::from_fn(|j| acts.row(a + j));
            for g in (0..panel.rows()).step_by(TILE_ROWS) {
                let t = tile::<TILE_ACTS>(simd, &panel, g, &group);
                write(g, a, t.as_flattened(), TILE_ACTS);
            }
            a += TILE_ACTS;
        }
        while a < n {
            let one = [acts.row(a)];
            for g in (0..panel.rows()).step_by(TILE_ROWS) {
                let t = tile::<1>(simd, &panel, g, &one);
                write(g, a, t.as_flattened(), 1);
            }
            a += 1;
        }
        p0 = p1;
    }
    Ok(())
}

/// `TILE_ROWS` panel rows from `row` × `RA` activation
/// rows: `[r][a]`.
fn tile<const RA: usize>(
    simd: Simd,
    panel: &Panel,
    row: usize,
    acts: &[super::activation::ActivationRow; RA],
) -> [[f32; RA]; TILE_ROWS] {
    match simd.level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX-512 F/BW/VL/VNNI (and AVX2/FMA/F16C).
        SimdLevel::Avx512Vnni => unsafe {
            match panel.family() {
                Family::K => avx512::tile_k::<TILE_ROWS, RA>(panel, row, acts),
                Family::Block32 => avx512::tile_32::<TILE_ROWS, RA>(panel, row, acts),
            }
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2+FMA+F16C. Q8_0 codes exceed `maddubs`' range.
        SimdLevel::Avx2 | SimdLevel::AvxVnni if panel.dtype() != crate::DType::Q8_0 => unsafe {
            match panel.family() {
                Family::K => avx2::tile_k::<TILE_ROWS, RA>(panel, row, acts),
                Family::Block32 => avx2::tile_32::<TILE_ROWS, RA>(panel, row, acts),
            }
        },
        #[cfg(any(target_arch = "aarch64", edgeplane_neon_emulated))]
        SimdLevel::Neon | SimdLevel::NeonDotprod if panel.dtype() != crate::DType::Q8_0 => {
            use super::neon;
            let rows = neon::PanelRows::<TILE_ROWS> {
                codes: std::array::from_fn(|r| panel.codes(row + r)),
                scales: std::array::from_fn(|r| panel.pair_scales(row + r)),
                d: std::array::from_fn(|r| panel.d(row + r)),
                offsets: std::array::from_fn(|r| panel.offsets(row + r)),
            };
            let dotprod = simd.level() == SimdLevel::NeonDotprod;
            // SAFETY: plain NEON is part of every AArch64 target, and a NeonDotprod token
            // exists only on a CPU with FEAT_DotProd. Q8_0's codes (up to 255) are not
            // signed bytes and stay on the scalar kernel (it has a direct row kernel).
            unsafe {
                match (panel.family(), dotprod) {
                    (Family::K, true) => neon::dotprod::tile_k(&rows, acts),
                    (Family::K, false) => neon::plain::tile_k(&rows, acts),
                    (Family::Block32, true) => neon::dotprod::tile_32(&rows, acts),
                    (Family::Block32, false) => neon::plain::tile_32(&rows, acts),
                }
            }
        }
        _ => {
            std::array::from_fn(|r| std::array::from_fn(|a| scalar::dot(panel, row + r, &acts[a])))
        }
    }
}

#[cfg(test)]
mod tests;
