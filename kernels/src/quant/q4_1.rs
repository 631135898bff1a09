//! Q4_1: 32 weights with an f16 scale and an f16 minimum; 4-bit codes count up from the
//! minimum, which suits blocks that are not centred on zero.

use super::{GgmlBlock, QuantizeBlock};
use crate::DType;
use bytemuck::{Pod, Zeroable};
use half::f16;

/// ggml's `block_q4_1`: low nibbles hold weights 0..16, high nibbles 16..32.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ4_1 {
    /// Scale.
    pub d: f16,
    /// Minimum (the value of code 0).
    pub m: f16,
    /// Packed 4-bit codes.
    pub qs: [u8; 16],
}

impl GgmlBlock for BlockQ4_1 {
    const DTYPE: DType = DType::Q4_1;
    const BLOCK_SIZE: usize = 32;

    fn dequantize(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        let m = self.m.to_f32();
        let (low, high) = out[..32].split_at_mut(16);
        for ((&q, lo), hi) in self.qs.iter().zip(low).zip(high) {
            *lo = (q & 0x0f) as f32 * d + m;
            *hi = (q >> 4) as f32 * d + m;
        }
    }
}

impl QuantizeBlock for BlockQ4_1 {
    /// ggml's `quantize_row_q4_1_ref`: the range [min, max] split into 15 steps, codes
    /// rounded half up by truncating `x + 0.5` (all in f32, as ggml and gguf-py do).
    fn quantize(src: &[f32]) -> Self {
        let src = &src[..32];
        let (min, max) = min_max(src);
        let d = (max - min) / 15.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let code = |x: f32| (((x - min) * id + 0.5).trunc() as i32).clamp(0, 15) as u8;
        let mut qs = [0u8; 16];
        for (j, q) in qs.iter_mut().enumerate() {
            *q = code(src[j]) | (code(src[j + 16]) << 4);
        }
        BlockQ4_1 {
            d: f16::from_f32(d),
            m: f16::from_f32(min),
            qs,
        }
    }
}

/// Smallest and largest value, with ggml's strict comparisons.
pub(crate) fn min_max(src: &[f32]) -> (f32, f32) {
    let mut min = f32::MAX;
    let mut max = -f32::MAX;
    for &v in src {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    (min, max)
}
