//! Q3_K: 256 weights in 16 sub-blocks of 16 with signed 6-bit scales and 3-bit codes (two
//! low bits in `qs`, the third in `hmask`; a *clear* mask bit subtracts 4). Dequantize only.

use super::GgmlBlock;
use crate::DType;
use bytemuck::{Pod, Zeroable};
use half::f16;

/// ggml's `block_q3_K`.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ3K {
    /// High bit of each code: bit `k` of byte `l` belongs to weight `32 * k + l`.
    pub hmask: [u8; 32],
    /// Low two bits of each code, four weights 32 apart per byte in each 128-weight half.
    pub qs: [u8; 64],
    /// Sixteen 6-bit scales, offset by 32 (see [`BlockQ3K::scales`]).
    pub scales: [u8; 12],
    /// Super-block scale.
    pub d: f16,
}

impl BlockQ3K {
    /// The sixteen signed sub-block scales. Bytes 0..8 hold the low nibbles (scales 0..8 in
    /// low halves, 8..16 in high halves); bytes 8..12 hold the top two bits, four per byte.
    pub fn sub_scales(&self) -> [i8; 16] {
        let mut out = [0i8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            let low = (self.scales[i % 8] >> (4 * (i / 8))) & 0x0f;
            let high = (self.scales[8 + i % 4] >> (2 * (i / 4))) & 0x03;
            *o = ((low | (high << 4)) as i8).wrapping_sub(32);
        }
        out
    }
}

impl GgmlBlock for BlockQ3K {
    const DTYPE: DType = DType::Q3K;
    const BLOCK_SIZE: usize = 256;

    /// `dl * q` with `dl = d * (scale - 32)`, as ggml's `dequantize_row_q3_K`.
    fn dequantize(&self, out: &mut [f32]) {
        let d_all = self.d.to_f32();
        let scales = self.sub_scales();
        let out = &mut out[..256];
        let mut y = 0;
        let mut is = 0;
        let mut mask_bit = 0;
        for half_block in 0..2 {
            let q = &self.qs[half_block * 32..half_block * 32 + 32];
            for shift in [0u32, 2, 4, 6] {
                for part in 0..2 {
                    let dl = d_all * scales[is] as f32;
                    is += 1;
                    let lanes = part * 16..part * 16 + 16;
                    for (&low, &hmask) in q[lanes.clone()].iter().zip(&self.hmask[lanes]) {
                        // A clear mask bit means the code is 4 lower (ggml's convention).
                        let high = if hmask & (1 << mask_bit) != 0 { 0 } else { 4 };
                        let code = ((low >> shift) & 3) as i32 - high;
                        out[y] = dl * code as f32;
                        y += 1;
                    }
                }
                mask_bit += 1;
            }
        }
    }
}
