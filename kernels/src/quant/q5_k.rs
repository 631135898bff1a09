//! Q5_K: Q4_K's scale layout with a fifth bit per weight in `qh`. Dequantize only.

use super::k_scales::scale_min_k4;
use super::GgmlBlock;
use crate::DType;
use bytemuck::{Pod, Zeroable};
use half::f16;

/// ggml's `block_q5_K`.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ5K {
    /// Super-block scale of the sub-block scales.
    pub d: f16,
    /// Super-block scale of the sub-block mins.
    pub dmin: f16,
    /// Eight 6-bit scales and eight 6-bit mins, packed as in Q4_K.
    pub scales: [u8; 12],
    /// Fifth bits: bit `k` of byte `l` belongs to weight `32 * k + l`.
    pub qh: [u8; 32],
    /// Low 4 bits: each 32-byte group holds 64 weights, low nibbles first.
    pub qs: [u8; 128],
}

impl GgmlBlock for BlockQ5K {
    const DTYPE: DType = DType::Q5K;
    const BLOCK_SIZE: usize = 256;

    /// `d1 * q - m1`, as ggml's `dequantize_row_q5_K`.
    fn dequantize(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        let min = self.dmin.to_f32();
        for (group, (ql, y)) in self
            .qs
            .chunks_exact(32)
            .zip(out[..256].chunks_exact_mut(64))
            .enumerate()
        {
            let (sc1, m1) = scale_min_k4(2 * group, &self.scales);
            let (sc2, m2) = scale_min_k4(2 * group + 1, &self.scales);
            let (d1, m1) = (d * sc1 as f32, min * m1 as f32);
            let (d2, m2) = (d * sc2 as f32, min * m2 as f32);
            let (u1, u2) = (1u8 << (2 * group), 2u8 << (2 * group));
            let (low, high) = y.split_at_mut(32);
            for (l, (lo, hi)) in low.iter_mut().zip(high).enumerate() {
                let h1 = if self.qh[l] & u1 != 0 { 16 } else { 0 };
                let h2 = if self.qh[l] & u2 != 0 { 16 } else { 0 };
                *lo = d1 * ((ql[l] & 0x0f) + h1) as f32 - m1;
                *hi = d2 * ((ql[l] >> 4) + h2) as f32 - m2;
            }
        }
    }
}
