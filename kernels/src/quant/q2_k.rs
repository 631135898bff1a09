//! Q2_K: 256 weights in 16 sub-blocks of 16; each sub-block has a 4-bit scale and 4-bit min
//! (scaled by the super-block's f16 `d` and `dmin`) and 2-bit codes. Dequantize only: ggml's
//! Q2_K quantizer is an iterative search not needed here.

use super::GgmlBlock;
use crate::DType;
use bytemuck::{Pod, Zeroable};
use half::f16;

/// ggml's `block_q2_K`.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ2K {
    /// Low nibble: sub-block scale; high nibble: sub-block min.
    pub scales: [u8; 16],
    /// 2-bit codes: byte `l` of each 32-byte group holds four weights 32 apart.
    pub qs: [u8; 64],
    /// Super-block scale of the scales.
    pub d: f16,
    /// Super-block scale of the mins.
    pub dmin: f16,
}

impl GgmlBlock for BlockQ2K {
    const DTYPE: DType = DType::Q2K;
    const BLOCK_SIZE: usize = 256;

    /// `dl * q - ml` per weight, as ggml's `dequantize_row_q2_K`.
    fn dequantize(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        let min = self.dmin.to_f32();
        let out = &mut out[..256];
        let mut y = 0;
        let mut is = 0;
        for half_block in 0..2 {
            let q = &self.qs[half_block * 32..half_block * 32 + 32];
            for shift in [0u32, 2, 4, 6] {
                for part in 0..2 {
                    let sc = self.scales[is];
                    is += 1;
                    let dl = d * (sc & 0x0f) as f32;
                    let ml = min * (sc >> 4) as f32;
                    for &byte in &q[part * 16..part * 16 + 16] {
                        out[y] = dl * ((byte >> shift) & 3) as f32 - ml;
                        y += 1;
                    }
                }
            }
        }
    }
}
