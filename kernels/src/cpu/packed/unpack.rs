//! Every quantized weight block rewritten as unsigned codes with one shared shape:
//!
//! `value[i] = d · scale[i / 16] · u[i] − offset[i / G]`
//!
//! with `u` small unsigned integers (≤ 63 for the K-quants, ≤ 255 for the 32-blocks),
//! integer sub-block scales (K-quants only; the 32-blocks have one float scale `d`),
//! and a float offset per group of `G` values (16 for K-quants, 32 for the 32-blocks) that
//! absorbs each format's zero point (Q4_0's `-8`, Q6_K's `-32`, Q4_K's `dmin·m`, Q4_1's
//! `+m`). With this shape one integer kernel serves all ten formats, and the offsets
//! become a small float dot against the activations' group sums.
//!
//! The field layouts are ggml's, as `crate::quant`'s block structs document them; the tests
//! check every unpacked block against that block's own dequantizer.

use crate::quant::k_scales::scale_min_k4;
use crate::quant::{
    BlockQ2K, BlockQ3K, BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0, BlockQ5_1, BlockQ6K,
    BlockQ8_0, GgmlBlock,
};

/// A block in the unsigned-code shape of this module.
pub trait Unpack: GgmlBlock {
    /// Writes `u` (one code per value), `scales` (one per 16 values; K-quants only, empty
    /// slice for 32-blocks) and `offsets` (one per group), and returns `d`.
    fn unpack(&self, u: &mut [u8], scales: &mut [i16], offsets: &mut [f32]) -> f32;
}

/// Q4_0: `d · (q − 8)`.
impl Unpack for BlockQ4_0 {
    fn unpack(&self, u: &mut [u8], _: &mut [i16], offsets: &mut [f32]) -> f32 {
        split_nibbles(&self.qs, u);
        let d = self.d.to_f32();
        offsets[0] = 8.0 * d;
        d
    }
}

/// Q4_1: `d · q + m`.
impl Unpack for BlockQ4_1 {
    fn unpack(&self, u: &mut [u8], _: &mut [i16], offsets: &mut [f32]) -> f32 {
        split_nibbles(&self.qs, u);
        offsets[0] = -self.m.to_f32();
        self.d.to_f32()
    }
}

/// Q5_0: `d · (q − 16)`, `q` with its fifth bit from `qh`.
impl Unpack for BlockQ5_0 {
    fn unpack(&self, u: &mut [u8], _: &mut [i16], offsets: &mut [f32]) -> f32 {
        split_nibbles(&self.qs, u);
        add_fifth_bits(u32::from_le_bytes(self.qh), u);
        let d = self.d.to_f32();
        offsets[0] = 16.0 * d;
        d
    }
}

/// Q5_1: `d · q + m`.
impl Unpack for BlockQ5_1 {
    fn unpack(&self, u: &mut [u8], _: &mut [i16], offsets: &mut [f32]) -> f32 {
        split_nibbles(&self.qs, u);
        add_fifth_bits(u32::from_le_bytes(self.qh), u);
        offsets[0] = -self.m.to_f32();
        self.d.to_f32()
    }
}

/// Q8_0: `d · q` with signed `q`, as `d · (q + 128) − 128 · d`.
impl Unpack for BlockQ8_0 {
    fn unpack(&self, u: &mut [u8], _: &mut [i16], offsets: &mut [f32]) -> f32 {
        for (o, &q) in u.iter_mut().zip(&self.qs) {
            *o = (q as u8) ^ 0x80;
        }
        let d = self.d.to_f32();
        offsets[0] = 128.0 * d;
        d
    }
}

/// Q2_K: `d · sc · q − dmin · m` per 16 values, 2-bit `q`.
impl Unpack for BlockQ2K {
    fn unpack(&self, u: &mut [u8], scales: &mut [i16], offsets: &mut [f32]) -> f32 {
        let dmin = self.dmin.to_f32();
        for (y, o) in u[..256].iter_mut().enumerate() {
            let (half, shift, lane) = (y / 128, (y % 128) / 32, y % 32);
            *o = (self.qs[32 * half + lane] >> (2 * shift)) & 3;
        }
        for (g, &sc) in self.scales.iter().enumerate() {
            scales[g] = i16::from(sc & 0x0f);
            offsets[g] = dmin * f32::from(sc >> 4);
        }
        self.d.to_f32()
    }
}

/// Q3_K: `d · sc · (q − 4)` per 16 values, 3-bit `q` (two low bits plus `hmask`).
impl Unpack for BlockQ3K {
    fn unpack(&self, u: &mut [u8], scales: &mut [i16], offsets: &mut [f32]) -> f32 {
        let d = self.d.to_f32();
        for (y, o) in u[..256].iter_mut().enumerate() {
            let (half, shift, lane) = (y / 128, (y % 128) / 32, y % 32);
            let low = (self.qs[32 * half + lane] >> (2 * shift)) & 3;
            let high = (self.hmask[lane] >> (4 * half + shift)) & 1;
            *o = low | (high << 2);
        }
        for (g, &sc) in self.sub_scales().iter().enumerate() {
            scales[g] = i16::from(sc);
            offsets[g] = 4.0 * d * f32::from(sc);
        }
        d
    }
}

/// Q4_K: `d · sc · q − dmin · m` per 32 values, 4-bit `q`.
impl Unpack for BlockQ4K {
    fn unpack(&self, u: &mut [u8], scales: &mut [i16], offsets: &mut [f32]) -> f32 {
        for (group, q) in self.qs.chunks_exact(32).enumerate() {
            let (low, high) = u[64 * group..64 * group + 64].split_at_mut(32);
            for ((&byte, lo), hi) in q.iter().zip(low).zip(high) {
                *lo = byte & 0x0f;
                *hi = byte >> 4;
            }
        }
        k4_scales(&self.scales, self.dmin.to_f32(), scales, offsets);
        self.d.to_f32()
    }
}

/// Q5_K: Q4_K with a fifth bit per code from `qh`.
impl Unpack for BlockQ5K {
    fn unpack(&self, u: &mut [u8], scales: &mut [i16], offsets: &mut [f32]) -> f32 {
        for (group, q) in self.qs.chunks_exact(32).enumerate() {
            let (low, high) = u[64 * group..64 * group + 64].split_at_mut(32);
            for (l, (lo, hi)) in low.iter_mut().zip(high).enumerate() {
                let h = self.qh[l] >> (2 * group);
                *lo = (q[l] & 0x0f) | ((h & 1) << 4);
                *hi = (q[l] >> 4) | ((h & 2) << 3);
            }
        }
        k4_scales(&self.scales, self.dmin.to_f32(), scales, offsets);
        self.d.to_f32()
    }
}

/// Q6_K: `d · sc · (q − 32)` per 16 values, 6-bit `q` (four low bits in `ql`, two in `qh`).
impl Unpack for BlockQ6K {
    fn unpack(&self, u: &mut [u8], scales: &mut [i16], offsets: &mut [f32]) -> f32 {
        for (half, y) in u[..256].chunks_exact_mut(128).enumerate() {
            let ql = &self.ql[64 * half..64 * half + 64];
            let qh = &self.qh[32 * half..32 * half + 32];
            for l in 0..32 {
                y[l] = (ql[l] & 0x0f) | ((qh[l] & 3) << 4);
                y[l + 32] = (ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4);
                y[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
                y[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
            }
        }
        let d = self.d.to_f32();
        for (g, &sc) in self.scales.iter().enumerate() {
            scales[g] = i16::from(sc);
            offsets[g] = 32.0 * d * f32::from(sc);
        }
        d
    }
}

/// The 32-block nibble layout: low nibbles are values 0..16, high nibbles 16..32.
fn split_nibbles(qs: &[u8; 16], u: &mut [u8]) {
    let (low, high) = u[..32].split_at_mut(16);
    for ((&q, lo), hi) in qs.iter().zip(low).zip(high) {
        *lo = q & 0x0f;
        *hi = q >> 4;
    }
}

/// Q5_0/Q5_1's fifth bits: bit `i` of `qh` belongs to value `i`.
fn add_fifth_bits(qh: u32, u: &mut [u8]) {
    for (i, o) in u[..32].iter_mut().enumerate() {
        *o |= (((qh >> i) & 1) as u8) << 4;
    }
}

/// Q4_K/Q5_K's eight 6-bit scale/min pairs, each spread over its two 16-value groups.
fn k4_scales(packed: &[u8; 12], dmin: f32, scales: &mut [i16], offsets: &mut [f32]) {
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, packed);
        for g in [2 * j, 2 * j + 1] {
            scales[g] = i16::from(sc);
            offsets[g] = dmin * f32::from(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::noise;
    use crate::quant::quantize;
    use bytemuck::Pod;

    /// Rebuilds each block's values from its unpacked form and compares with the block's
    /// own dequantizer, on random bytes (every bit pattern a file may hold).
    fn check<B: Unpack + Pod>(group: usize) {
        let n = B::BLOCK_SIZE;
        let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ B::DTYPE.ggml_type() as u64;
        for _ in 0..64 {
            let mut bytes = vec![0u8; std::mem::size_of::<B>()];
            for b in &mut bytes {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = (seed >> 24) as u8;
            }
            // Finite, modest f16 scales: random bits would make inf/NaN comparisons moot.
            let block: B = *bytemuck::from_bytes(&bytes);
            let mut want = vec![0f32; n];
            block.dequantize(&mut want);
            if want.iter().any(|v| !v.is_finite()) {
                continue;
            }
            let mut u = vec![0u8; n];
            let mut scales = vec![0i16; n / 16];
            let mut offsets = vec![0f32; n / group];
            let d = block.unpack(&mut u, &mut scales, &mut offsets);
            for i in 0..n {
                let scale = if n == 256 {
                    f32::from(scales[i / 16])
                } else {
                    1.0
                };
                let got = d * scale * f32::from(u[i]) - offsets[i / group];
                let tol = 1e-5 * (want[i].abs() + offsets[i / group].abs() + 1.0);
                assert!(
                    (got - want[i]).abs() <= tol,
                    "{} value {i}: {got} vs {}",
                    B::DTYPE,
                    want[i]
                );
            }
        }
    }

    #[test]
    fn every_format_unpacks_to_its_dequantized_values() {
        check::<BlockQ4_0>(32);
        check::<BlockQ4_1>(32);
        check::<BlockQ5_0>(32);
        check::<BlockQ5_1>(32);
        check::<BlockQ8_0>(32);
        check::<BlockQ2K>(16);
        check::<BlockQ3K>(16);
        check::<BlockQ4K>(16);
        check::<BlockQ5K>(16);
        check::<BlockQ6K>(16);
    }

    #[test]
    fn quantized_noise_unpacks_exactly() {
        // Real quantizer output too, not just random bytes.
        let x = noise(7, 512);
        let bytes = quantize(crate::DType::Q4K, &x).unwrap();
        let blocks: &[BlockQ4K] = bytemuck::cast_slice(&bytes);
        let mut want = vec![0f32; 256];
        let mut u = vec![0u8; 256];
        let (mut s, mut o) = (vec![0i16; 16], vec![0f32; 16]);
        for b in blocks {
            b.dequantize(&mut want);
            let d = b.unpack(&mut u, &mut s, &mut o);
            for i in 0..256 {
                let got = d * f32::from(s[i / 16]) * f32::from(u[i]) - o[i / 16];
                assert!((got - want[i]).abs() <= 1e-6 * (1.0 + want[i].abs()));
            }
        }
    }
}
