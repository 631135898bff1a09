//! Q8_K: ggml's activation format for K-quant dot products: 256 signed 8-bit values, an
//! f32 scale, and the sums of each 16 codes (which fold the K-quant mins into one product).

use super::rounding::nearest_int;
use super::{GgmlBlock, QuantizeBlock};
use crate::DType;
use bytemuck::{Pod, Zeroable};

/// ggml's `block_q8_K`.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ8K {
    /// Scale (f32, unlike the storage formats).
    pub d: f32,
    /// Signed codes.
    pub qs: [i8; 256],
    /// Sum of each group of 16 codes.
    pub bsums: [i16; 16],
}

impl GgmlBlock for BlockQ8K {
    const DTYPE: DType = DType::Q8K;
    const BLOCK_SIZE: usize = 256;

    fn dequantize(&self, out: &mut [f32]) {
        for (o, &q) in out[..256].iter_mut().zip(&self.qs) {
            *o = self.d * q as f32;
        }
    }
}

impl QuantizeBlock for BlockQ8K {
    /// ggml's `quantize_row_q8_K_ref`: the value of largest magnitude maps to -127 (ggml
    /// moved from -128 so SIMD kernels never see -128), codes by `nearest_int`.
    fn quantize(src: &[f32]) -> Self {
        let x = &src[..256];
        let (mut amax, mut max) = (0f32, 0f32);
        for &v in x {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        let mut block = BlockQ8K::zeroed();
        if amax == 0.0 {
            return block;
        }
        let iscale = -127.0 / max;
        for (q, &v) in block.qs.iter_mut().zip(x) {
            *q = nearest_int(iscale * v).min(127) as i8;
        }
        for (sum, group) in block.bsums.iter_mut().zip(block.qs.chunks_exact(16)) {
            *sum = group.iter().map(|&q| q as i16).sum();
        }
        block.d = 1.0 / iscale;
        block
    }
}
