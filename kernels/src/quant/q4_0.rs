//! Q4_0: 32 weights share one f16 scale; each weight is a 4-bit code with an implied offset
//! of 8, so the grid is symmetric around zero with the largest magnitude mapped to -8.

use super::{GgmlBlock, QuantizeBlock};
use crate::DType;
use bytemuck::{Pod, Zeroable};
use half::f16;

/// ggml's `block_q4_0`: the low nibbles of `qs` hold weights 0..16, the high nibbles 16..32.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ4_0 {
    /// Scale.
    pub d: f16,
    /// Packed 4-bit codes.
    pub qs: [u8; 16],
}

impl GgmlBlock for BlockQ4_0 {
    const DTYPE: DType = DType::Q4_0;
    const BLOCK_SIZE: usize = 32;

    fn dequantize(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        let (low, high) = out[..32].split_at_mut(16);
        for ((&q, lo), hi) in self.qs.iter().zip(low).zip(high) {
            *lo = ((q & 0x0f) as i32 - 8) as f32 * d;
            *hi = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

impl QuantizeBlock for BlockQ4_0 {
    /// ggml's `quantize_row_q4_0_ref`. The scale maps the value of largest magnitude (keeping
    /// its sign) to -8, so that one extreme uses the grid's extra negative step.
    ///
    /// ggml computes `x * id + 8.5` where the compiler may fuse the multiply-add; gguf-py
    /// settles the ambiguity by doing it in f64, which is also what an FMA rounds like in all
    /// but pathological cases. We follow gguf-py so the bytes are reproducible.
    fn quantize(src: &[f32]) -> Self {
        let src = &src[..32];
        let max = signed_absmax(src);
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let code = |x: f32| (((x as f64) * (id as f64) + 8.5).trunc() as i32).clamp(0, 15) as u8;
        let mut qs = [0u8; 16];
        for (j, q) in qs.iter_mut().enumerate() {
            *q = code(src[j]) | (code(src[j + 16]) << 4);
        }
        BlockQ4_0 {
            d: f16::from_f32(d),
            qs,
        }
    }
}

/// The value of largest magnitude with its sign; the first one wins ties, as in ggml.
pub(crate) fn signed_absmax(src: &[f32]) -> f32 {
    let mut amax = 0.0f32;
    let mut max = 0.0f32;
    for &v in src {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    max
}
