//! The plain element types (F32, F16, BF16, I32): one value per "block", so they convert
//! value by value rather than through a block struct.

/// ggml's `ggml_compute_fp32_to_bf16`: round to nearest even on the upper 16 bits, NaNs kept
/// NaN by forcing the quiet bit (a plain truncation could turn a NaN into an infinity).
/// Subnormals are kept, as current ggml and gguf-py do.
#[inline]
pub fn f32_to_bf16_bits(value: f32) -> u16 {
    let bits = value.to_bits();
    if bits & 0x7fff_ffff > 0x7f80_0000 {
        return ((bits >> 16) | 0x40) as u16;
    }
    let rounding = 0x7fff + ((bits >> 16) & 1);
    ((bits as u64 + rounding as u64) >> 16) as u16
}

/// BF16 to f32 is exact: the 16 bits are the f32's upper half.
#[inline]
pub fn bf16_bits_to_f32(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

pub(crate) fn dequantize_f32(bytes: &[u8], out: &mut [f32]) {
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
}

pub(crate) fn dequantize_f16(bytes: &[u8], out: &mut [f32]) {
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *o = half::f16::from_le_bytes([c[0], c[1]]).to_f32();
    }
}

pub(crate) fn dequantize_bf16(bytes: &[u8], out: &mut [f32]) {
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *o = bf16_bits_to_f32(u16::from_le_bytes([c[0], c[1]]));
    }
}

pub(crate) fn dequantize_i32(bytes: &[u8], out: &mut [f32]) {
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *o = i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32;
    }
}

pub(crate) fn quantize_f32(src: &[f32], out: &mut [u8]) {
    for (c, v) in out.chunks_exact_mut(4).zip(src) {
        c.copy_from_slice(&v.to_le_bytes());
    }
}

/// IEEE round to nearest even, as F16C hardware and numpy's `astype(float16)` do.
pub(crate) fn quantize_f16(src: &[f32], out: &mut [u8]) {
    for (c, v) in out.chunks_exact_mut(2).zip(src) {
        c.copy_from_slice(&half::f16::from_f32(*v).to_le_bytes());
    }
}

pub(crate) fn quantize_bf16(src: &[f32], out: &mut [u8]) {
    for (c, v) in out.chunks_exact_mut(2).zip(src) {
        c.copy_from_slice(&f32_to_bf16_bits(*v).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounds_to_nearest_even_and_keeps_nan() {
        // 1 + 2^-8 is exactly halfway between two bf16 values: ties go to the even one (1.0).
        assert_eq!(f32_to_bf16_bits(1.0 + 1.0 / 256.0), 0x3f80);
        // 1 + 3 * 2^-8 is halfway again; now the even neighbour is above.
        assert_eq!(f32_to_bf16_bits(1.0 + 3.0 / 256.0), 0x3f82);
        // A signalling NaN whose payload sits in the low bits would truncate to infinity.
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x7f80_0001)), 0x7fc0);
        assert_eq!(f32_to_bf16_bits(f32::INFINITY), 0x7f80);
        assert_eq!(f32_to_bf16_bits(f32::MAX), 0x7f80, "rounds up to infinity");
        assert_eq!(bf16_bits_to_f32(0xc040), -3.0);
    }
}
