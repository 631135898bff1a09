//! Q4_K: 256 weights in 8 sub-blocks of 32, each with a 6-bit scale and 6-bit min (packed
//! in 12 bytes, see `k_scales`) under f16 super-scales `d` and `dmin`; 4-bit codes.

use super::k_scales::{pack_scale_min_k4, scale_min_k4};
use super::k_search::fit_scale_min;
use super::rounding::nearest_int;
use super::{GgmlBlock, QuantizeBlock};
use crate::DType;
use bytemuck::{Pod, Zeroable};
use half::f16;

/// ggml's `block_q4_K`.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ4K {
    /// Super-block scale of the sub-block scales.
    pub d: f16,
    /// Super-block scale of the sub-block mins.
    pub dmin: f16,
    /// Eight 6-bit scales and eight 6-bit mins.
    pub scales: [u8; 12],
    /// 4-bit codes: each 32-byte group holds 64 weights, low nibbles first.
    pub qs: [u8; 128],
}

impl GgmlBlock for BlockQ4K {
    const DTYPE: DType = DType::Q4K;
    const BLOCK_SIZE: usize = 256;

    /// `d1 * q - m1` with `d1 = d * scale`, `m1 = dmin * min`, as `dequantize_row_q4_K`.
    fn dequantize(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        let min = self.dmin.to_f32();
        for (group, (q, y)) in self
            .qs
            .chunks_exact(32)
            .zip(out[..256].chunks_exact_mut(64))
            .enumerate()
        {
            let (sc1, m1) = scale_min_k4(2 * group, &self.scales);
            let (sc2, m2) = scale_min_k4(2 * group + 1, &self.scales);
            let (d1, m1) = (d * sc1 as f32, min * m1 as f32);
            let (d2, m2) = (d * sc2 as f32, min * m2 as f32);
            let (low, high) = y.split_at_mut(32);
            for ((&byte, lo), hi) in q.iter().zip(low).zip(high) {
                *lo = d1 * (byte & 0x0f) as f32 - m1;
                *hi = d2 * (byte >> 4) as f32 - m2;
            }
        }
    }
}

impl QuantizeBlock for BlockQ4K {
    /// ggml's `quantize_row_q4_K_ref`: fit each sub-block's scale and min by the weighted
    /// search of `make_qkx2_quants` (weights `rms + |x|`), quantize those to 6 bits against
    /// the largest, then re-derive the codes from the stored (rounded) scales.
    fn quantize(src: &[f32]) -> Self {
        let x = &src[..256];
        let mut codes = [0u8; 256];
        let mut scales = [0f32; 8];
        let mut mins = [0f32; 8];
        let (mut max_scale, mut max_min) = (0f32, 0f32);
        for j in 0..8 {
            let sub = &x[32 * j..32 * j + 32];
            let sum_x2 = sub.iter().fold(0f32, |s, &v| s + v * v);
            let av_x = (sum_x2 / 32.0).sqrt();
            let mut weights = [0f32; 32];
            for (w, &v) in weights.iter_mut().zip(sub) {
                *w = av_x + v.abs();
            }
            let codes_j: &mut [u8; 32] = (&mut codes[32 * j..32 * j + 32])
                .try_into()
                .expect("sub-block slice is 32 long");
            let (scale, min) = fit_scale_min(sub, &weights, codes_j, 15, -1.0, 0.1, 20);
            scales[j] = scale;
            mins[j] = min;
            if scale > max_scale {
                max_scale = scale;
            }
            if min > max_min {
                max_min = min;
            }
        }
        let inv_scale = if max_scale > 0.0 {
            63.0 / max_scale
        } else {
            0.0
        };
        let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
        let mut ls = [0u8; 8];
        let mut lm = [0u8; 8];
        for j in 0..8 {
            // ggml stores the int in a uint8_t before clamping: keep that wrap.
            ls[j] = (nearest_int(inv_scale * scales[j]) as u8).min(63);
            lm[j] = (nearest_int(inv_min * mins[j]) as u8).min(63);
        }
        let packed = pack_scale_min_k4(&ls, &lm);
        let d = f16::from_f32(max_scale / 63.0);
        let dmin = f16::from_f32(max_min / 63.0);
        for j in 0..8 {
            let (sc, m) = scale_min_k4(j, &packed);
            let dj = d.to_f32() * sc as f32;
            if dj == 0.0 {
                continue;
            }
            let dm = dmin.to_f32() * m as f32;
            for i in 32 * j..32 * j + 32 {
                codes[i] = nearest_int((x[i] + dm) / dj).clamp(0, 15) as u8;
            }
        }
        let mut qs = [0u8; 128];
        for (group, q) in qs.chunks_exact_mut(32).enumerate() {
            for (l, byte) in q.iter_mut().enumerate() {
                *byte = codes[64 * group + l] | (codes[64 * group + l + 32] << 4);
            }
        }
        BlockQ4K {
            d,
            dmin,
            scales: packed,
            qs,
        }
    }
}
