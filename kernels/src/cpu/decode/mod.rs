//! Decode (one activation row): matrix-vector kernels that get their speed from laying the
//! activation row out once per call for the kernel, so the loop over the weights — run once
//! per weight row, millions of times per token — does only the weight side's work.
//!
//! Why a separate path from [`super::dot`]: the per-row dot kernels take activations in the
//! format every caller shares (ggml's block order) and pay for it inside the loop: shuffles
//! that line the activation quants up with the weights' nibble order, and a second integer
//! dot for the `−8` offset of Q4_0. Here [`DecodeActivation::new`] does that work once per
//! call (a few µs at most for a 4096-wide row) and the weight loop shrinks to what the weight
//! bytes need. Formats and SIMD levels without such a kernel fall back to the dot kernels.

#[cfg(target_arch = "x86_64")]
mod avx512_q4_0;
#[cfg(target_arch = "x86_64")]
mod avx512_q8_0;

use super::activation::{ActivationFormat, ActivationRows};
use super::matmul::{matmul_rows, WeightMatrix};
use super::simd::{Simd, SimdLevel};
use crate::quant::QuantError;
use crate::DType;
use std::ops::Range;

/// One activation row, converted for `dtype`'s weights and laid out for the decode kernel
/// of `simd` where there is one.
#[derive(Debug)]
pub struct DecodeActivation {
    simd: Simd,
    dtype: DType,
    acts: ActivationRows,
    layout: Layout,
}

/// The kernel-specific copy of the activation row.
#[derive(Debug)]
enum Layout {
    /// No decode kernel: the dot kernels read `acts` directly.
    Shared,
    /// Q4_0 on AVX-512 VNNI, per pair of 32-blocks (see [`avx512_q4_0`]).
    #[cfg(target_arch = "x86_64")]
    Q4_0Pairs(avx512_q4_0::Pairs),
    /// Q8_0 on AVX-512 VNNI: the shared row plus per-lane offsets (see [`avx512_q8_0`]).
    #[cfg(target_arch = "x86_64")]
    Q8_0Offsets(avx512_q8_0::Offsets),
}

impl DecodeActivation {
    /// Quantizes `x` (one row of `k` values) for `dtype`'s weights and prepares the layout
    /// the decode kernel for `dtype` at `simd` reads.
    pub fn new(simd: Simd, dtype: DType, x: &[f32]) -> DecodeActivation {
        let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), x, x.len());
        let layout = match (simd.level(), dtype) {
            #[cfg(target_arch = "x86_64")]
            (SimdLevel::Avx512Vnni, DType::Q4_0) => {
                Layout::Q4_0Pairs(avx512_q4_0::Pairs::new(&acts.row(0)))
            }
            #[cfg(target_arch = "x86_64")]
            (SimdLevel::Avx512Vnni, DType::Q8_0) => {
                Layout::Q8_0Offsets(avx512_q8_0::Offsets::new(&acts.row(0)))
            }
            _ => Layout::Shared,
        };
        DecodeActivation {
            simd,
            dtype,
            acts,
            layout,
        }
    }

    /// The quantized row every kernel shares.
    pub fn rows(&self) -> &ActivationRows {
        &self.acts
    }
}

/// `out[r - rows.start] = W[r] · x` for `r` in `rows`. `w.dtype` must be the dtype `a` was
/// prepared for (checked: a mismatch is a caller bug and returns an error).
pub fn matvec_rows(
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
    debug_assert_eq!(out.len(), rows.len());
    match &a.layout {
        #[cfg(target_arch = "x86_64")]
        Layout::Q4_0Pairs(pairs) => {
            for (o, r) in out.iter_mut().zip(rows) {
                // SAFETY: `Pairs` is only built at the AVX-512 VNNI level, which the `Simd`
                // token proved this CPU has.
                *o = unsafe { avx512_q4_0::dot(w.row(r), pairs, &a.acts.row(0)) };
            }
            Ok(())
        }
        #[cfg(target_arch = "x86_64")]
        Layout::Q8_0Offsets(offsets) => {
            for (o, r) in out.iter_mut().zip(rows) {
                // SAFETY: `Offsets` is only built at the AVX-512 VNNI level, which the
                // `Simd` token proved this CPU has.
                *o = unsafe { avx512_q8_0::dot(w.row(r), offsets, &a.acts.row(0)) };
            }
            Ok(())
        }
        Layout::Shared => matmul_rows(a.simd, w, rows, &a.acts, out),
    }
}

#[cfg(test)]
mod tests;
