//! Deterministic pseudo-random data for tests and benches: the same seed gives the same
//! values on every machine, so failures reproduce and benches compare like with like.

use crate::DType;

/// `n` values in `[-1, 1)` from an xorshift64 generator seeded by `seed`.
pub fn noise(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// `elements` values of `dtype` for kernel tests and benches: block formats get every code
/// byte random and every f16 scale field small and finite, varying from block to block
/// (so a kernel reading another block's scale is caught); float dtypes get [`noise`].
///
/// # Panics
/// If `elements` is not a whole number of blocks, or `dtype` is not a weight format.
pub fn random_blocks(dtype: DType, elements: usize, seed: u64) -> Vec<u8> {
    match dtype {
        DType::F32 => return bytemuck::cast_slice(&noise(seed, elements)).to_vec(),
        DType::F16 => {
            return noise(seed, elements)
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect()
        }
        DType::BF16 => {
            return noise(seed, elements)
                .iter()
                .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
                .collect()
        }
        _ => {}
    }
    let len = dtype
        .bytes_for(elements as u64)
        .expect("a whole number of blocks of a weight format") as usize;
    let mut bytes: Vec<u8> = noise(seed, len)
        .into_iter()
        .map(|v| ((v + 1.0) * 127.9) as u8)
        .collect();
    for (i, block) in bytes.chunks_exact_mut(dtype.block_bytes()).enumerate() {
        for (f, &at) in dtype.f16_fields().iter().enumerate() {
            let scale = 0.01 + 0.001 * ((i + f) % 5) as f32;
            block[at..at + 2].copy_from_slice(&half::f16::from_f32(scale).to_le_bytes());
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_blocks_have_finite_small_scales_where_each_format_keeps_them() {
        for dtype in DType::ALL {
            if dtype.is_float() || matches!(dtype, DType::Q8K | DType::I32) {
                continue;
            }
            let w = random_blocks(dtype, 512, 3);
            assert_eq!(w.len() as u64, dtype.bytes_for(512).unwrap());
            let values = crate::quant::dequantize(dtype, &w, 512).expect("valid blocks");
            assert!(
                values.iter().all(|v| v.is_finite() && v.abs() < 100.0),
                "{dtype}: finite, small values"
            );
            assert!(values.iter().any(|&v| v != 0.0), "{dtype}: not all zero");
        }
    }
}
