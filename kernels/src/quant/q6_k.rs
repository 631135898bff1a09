//! Q6_K: 256 weights in 16 sub-blocks of 16 with signed 8-bit scales under one f16 `d`;
//! 6-bit codes offset by 32 (low 4 bits in `ql`, high 2 bits in `qh`).

use super::k_search::fit_symmetric_scale;
use super::rounding::nearest_int;
use super::{GgmlBlock, QuantizeBlock};
use crate::DType;
use bytemuck::{Pod, Zeroable};
use half::f16;

/// ggml's `block_q6_K`.
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ6K {
    /// Low 4 bits: per 128-weight half, byte `l` holds weights `l` / `l + 64` and byte
    /// `l + 32` holds weights `l + 32` / `l + 96` (low / high nibble).
    pub ql: [u8; 128],
    /// High 2 bits: per half, byte `l` holds weights `l`, `l + 32`, `l + 64`, `l + 96`.
    pub qh: [u8; 64],
    /// Signed sub-block scales.
    pub scales: [i8; 16],
    /// Super-block scale.
    pub d: f16,
}

impl GgmlBlock for BlockQ6K {
    const DTYPE: DType = DType::Q6K;
    const BLOCK_SIZE: usize = 256;

    /// `d * scale * q` evaluated left to right, as ggml's `dequantize_row_q6_K`.
    fn dequantize(&self, out: &mut [f32]) {
        let d = self.d.to_f32();
        for (half_block, y) in out[..256].chunks_exact_mut(128).enumerate() {
            let ql = &self.ql[64 * half_block..64 * half_block + 64];
            let qh = &self.qh[32 * half_block..32 * half_block + 32];
            let sc = &self.scales[8 * half_block..8 * half_block + 8];
            for l in 0..32 {
                let is = l / 16;
                let q1 = ((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) as i32 - 32;
                let q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                y[l] = d * sc[is] as f32 * q1 as f32;
                y[l + 32] = d * sc[is + 2] as f32 * q2 as f32;
                y[l + 64] = d * sc[is + 4] as f32 * q3 as f32;
                y[l + 96] = d * sc[is + 6] as f32 * q4 as f32;
            }
        }
    }
}

impl QuantizeBlock for BlockQ6K {
    /// ggml's `quantize_row_q6_K_ref`: each sub-block's scale by `make_qx_quants` (weights
    /// x², ±0.9 search), scales quantized to i8 against the largest (which maps to -128),
    /// then the codes re-derived from the stored scales.
    fn quantize(src: &[f32]) -> Self {
        let x = &src[..256];
        let mut codes = [0u8; 256];
        let mut scales = [0f32; 16];
        let (mut max_scale, mut max_abs_scale) = (0f32, 0f32);
        for (ib, scale) in scales.iter_mut().enumerate() {
            let codes_ib: &mut [u8; 16] = (&mut codes[16 * ib..16 * ib + 16])
                .try_into()
                .expect("sub-block slice is 16 long");
            *scale = fit_symmetric_scale(&x[16 * ib..16 * ib + 16], codes_ib, 32);
            if scale.abs() > max_abs_scale {
                max_abs_scale = scale.abs();
                max_scale = *scale;
            }
        }
        if max_abs_scale < super::k_search::GROUP_MAX_EPS {
            return BlockQ6K::zeroed();
        }
        let iscale = -128.0 / max_scale;
        let d = f16::from_f32(1.0 / iscale);
        let mut block_scales = [0i8; 16];
        for (s, &scale) in block_scales.iter_mut().zip(&scales) {
            *s = nearest_int(iscale * scale).min(127) as i8;
        }
        for (j, &s) in block_scales.iter().enumerate() {
            let dj = d.to_f32() * s as f32;
            if dj == 0.0 {
                continue;
            }
            for i in 16 * j..16 * j + 16 {
                codes[i] = (nearest_int(x[i] / dj).clamp(-32, 31) + 32) as u8;
            }
        }
        let mut block = BlockQ6K {
            ql: [0; 128],
            qh: [0; 64],
            scales: block_scales,
            d,
        };
        for half_block in 0..2 {
            let c = &codes[128 * half_block..128 * half_block + 128];
            let ql = &mut block.ql[64 * half_block..64 * half_block + 64];
            for l in 0..32 {
                ql[l] = (c[l] & 0x0f) | ((c[l + 64] & 0x0f) << 4);
                ql[l + 32] = (c[l + 32] & 0x0f) | ((c[l + 96] & 0x0f) << 4);
            }
            let qh = &mut block.qh[32 * half_block..32 * half_block + 32];
            for (l, h) in qh.iter_mut().enumerate() {
                *h = (c[l] >> 4)
                    | ((c[l + 32] >> 4) << 2)
                    | ((c[l + 64] >> 4) << 4)
                    | ((c[l + 96] >> 4) << 6);
            }
        }
        block
    }
}
