//! Q5_1: like Q4_1 (scale and minimum) with a fifth bit per weight in a 32-bit mask.

use super::q4_1::min_max;
use super::{GgmlBlock, QuantizeBlock};
use crate::DType;
use bytemuck::{Pod, Zeroable};
use half::f16;

/// ggml's `block_q5_1`. Bit `j` of the little-endian `qh` is the fifth bit of weight `j`.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ5_1 {
    /// Scale.
    pub d: f16,
    /// Minimum (the value of code 0).
    pub m: f16,
    /// Fifth bits, a little-endian u32 stored as bytes.
    pub qh: [u8; 4],
    /// Low 4 bits: low nibbles weights 0..16, high nibbles 16..32.
    pub qs: [u8; 16],
}

impl GgmlBlock for BlockQ5_1 {
    const DTYPE: DType = DType::Q5_1;
    const BLOCK_SIZE: usize = 32;

    fn dequantize(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        let m = self.m.to_f32();
        let qh = u32::from_le_bytes(self.qh);
        let (low, high) = out[..32].split_at_mut(16);
        for (j, (lo, hi)) in low.iter_mut().zip(high).enumerate() {
            let h0 = ((qh >> j) << 4) & 0x10;
            let h1 = (qh >> (j + 12)) & 0x10;
            let q = self.qs[j] as u32;
            *lo = ((q & 0x0f) | h0) as f32 * d + m;
            *hi = ((q >> 4) | h1) as f32 * d + m;
        }
    }
}

impl QuantizeBlock for BlockQ5_1 {
    /// ggml's `quantize_row_q5_1_ref`: [min, max] in 31 steps, f32 arithmetic throughout.
    fn quantize(src: &[f32]) -> Self {
        let src = &src[..32];
        let (min, max) = min_max(src);
        let d = (max - min) / 31.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let code = |x: f32| (((x - min) * id + 0.5).trunc() as i32).clamp(0, 31) as u32;
        let mut qs = [0u8; 16];
        let mut qh = 0u32;
        for (j, q) in qs.iter_mut().enumerate() {
            let (c0, c1) = (code(src[j]), code(src[j + 16]));
            *q = ((c0 & 0x0f) | ((c1 & 0x0f) << 4)) as u8;
            qh |= ((c0 & 0x10) >> 4) << j;
            qh |= ((c1 & 0x10) >> 4) << (j + 16);
        }
        BlockQ5_1 {
            d: f16::from_f32(d),
            m: f16::from_f32(min),
            qh: qh.to_le_bytes(),
            qs,
        }
    }
}
