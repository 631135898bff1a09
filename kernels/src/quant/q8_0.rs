//! Q8_0: 32 signed 8-bit weights and one f16 scale; the near-lossless storage format and
//! the activation format of ggml's Q4_0/Q8_0 dot products.

use super::rounding::round_half_away;
use super::{GgmlBlock, QuantizeBlock};
use crate::DType;
use bytemuck::{Pod, Zeroable};
use half::f16;

/// ggml's `block_q8_0`.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ8_0 {
    /// Scale.
    pub d: f16,
    /// Signed codes, one per weight.
    pub qs: [i8; 32],
}

impl GgmlBlock for BlockQ8_0 {
    const DTYPE: DType = DType::Q8_0;
    const BLOCK_SIZE: usize = 32;

    fn dequantize(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        for (o, &q) in out[..32].iter_mut().zip(&self.qs) {
            *o = q as f32 * d;
        }
    }
}

impl QuantizeBlock for BlockQ8_0 {
    /// ggml's `quantize_row_q8_0_ref`: scale = absmax / 127, codes by C `roundf`.
    fn quantize(src: &[f32]) -> Self {
        let src = &src[..32];
        let amax = src.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let mut qs = [0i8; 32];
        for (q, &x) in qs.iter_mut().zip(src) {
            *q = round_half_away(x * id) as i8;
        }
        BlockQ8_0 {
            d: f16::from_f32(d),
            qs,
        }
    }
}
