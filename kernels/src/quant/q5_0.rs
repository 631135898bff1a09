//! Q5_0: like Q4_0 with a fifth bit per weight kept in a separate 32-bit mask, offset 16.

use super::q4_0::signed_absmax;
use super::{GgmlBlock, QuantizeBlock};
use crate::DType;
use bytemuck::{Pod, Zeroable};
use half::f16;

/// ggml's `block_q5_0`. Bit `j` of the little-endian `qh` is the fifth bit of weight `j`.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ5_0 {
    /// Scale.
    pub d: f16,
    /// Fifth bits, a little-endian u32 stored as bytes (ggml keeps it unaligned).
    pub qh: [u8; 4],
    /// Low 4 bits: low nibbles weights 0..16, high nibbles 16..32.
    pub qs: [u8; 16],
}

impl GgmlBlock for BlockQ5_0 {
    const DTYPE: DType = DType::Q5_0;
    const BLOCK_SIZE: usize = 32;

    fn dequantize(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        let qh = u32::from_le_bytes(self.qh);
        let (low, high) = out[..32].split_at_mut(16);
        for (j, (lo, hi)) in low.iter_mut().zip(high).enumerate() {
            let h0 = ((qh >> j) << 4) & 0x10;
            let h1 = (qh >> (j + 12)) & 0x10;
            let q = self.qs[j] as u32;
            *lo = (((q & 0x0f) | h0) as i32 - 16) as f32 * d;
            *hi = (((q >> 4) | h1) as i32 - 16) as f32 * d;
        }
    }
}

impl QuantizeBlock for BlockQ5_0 {
    /// ggml's `quantize_row_q5_0_ref`; the largest magnitude maps to -16. The multiply-add
    /// is done in f64 like gguf-py (see [`super::BlockQ4_0`]'s quantizer for why).
    fn quantize(src: &[f32]) -> Self {
        let src = &src[..32];
        let max = signed_absmax(src);
        let d = max / -16.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let code = |x: f32| (((x as f64) * (id as f64) + 16.5).trunc() as i32).clamp(0, 31) as u32;
        let mut qs = [0u8; 16];
        let mut qh = 0u32;
        for (j, q) in qs.iter_mut().enumerate() {
            let (c0, c1) = (code(src[j]), code(src[j + 16]));
            *q = ((c0 & 0x0f) | ((c1 & 0x0f) << 4)) as u8;
            qh |= ((c0 & 0x10) >> 4) << j;
            qh |= ((c1 & 0x10) >> 4) << (j + 16);
        }
        BlockQ5_0 {
            d: f16::from_f32(d),
            qh: qh.to_le_bytes(),
            qs,
        }
    }
}
