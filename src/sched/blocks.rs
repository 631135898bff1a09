//! Random but well-formed quantized weights, for timing and for the built-in layer when a
//! real quantizer is missing (or too slow for a 16-million-value tensor).
//!
//! Uniform random bytes are not good enough: f16 scales can come out NaN, infinite or
//! subnormal, and the unsigned quants of the formats with a minimum (Q4_1, Q4_K, ...) would
//! all be positive, so a layer's activations grow without bound and overflow an f16 KV
//! cache. Here every block gets uniform random quants and sub-scales, and its f16 scale and
//! minimum are then written so each weight has mean ≈ 0 and standard deviation ≈ `sigma`.
//! This knows only where each format keeps its f16 fields and the spread of its integer
//! part; the formats themselves are defined in `edgeplane_kernels::quant`.

use crate::DType;

/// Per format: offsets of the f16 scale `d` and of the f16 minimum (`None` without one),
/// the standard deviation of `integer part × sub-scale` for uniform random bytes, and the
/// mean of the integer part (what the minimum must cancel).
fn geometry(dtype: DType) -> Option<(usize, Option<usize>, f32, f32)> {
    // Uniform integers on [0, n): std = n / sqrt(12). 6-bit sub-scales: RMS ≈ 36.4;
    // 4-bit: ≈ 8.8; signed 6-bit (Q3_K, minus 32): ≈ 18.5; i8 (Q6_K): ≈ 73.9.
    let u = |n: f32| n / 12f32.sqrt();
    Some(match dtype {
        DType::Q4_0 => (0, None, u(16.0), 0.0),
        DType::Q4_1 => (0, Some(2), u(16.0), 7.5),
        DType::Q5_0 => (0, None, u(32.0), 0.0),
        DType::Q5_1 => (0, Some(2), u(32.0), 15.5),
        DType::Q8_0 => (0, None, u(256.0), 0.0),
        DType::Q2K => (80, Some(82), u(4.0) * 8.8, 1.5),
        DType::Q3K => (108, None, u(8.0) * 18.5, 0.0),
        DType::Q4K => (0, Some(2), u(16.0) * 36.4, 7.5),
        DType::Q5K => (0, Some(2), u(32.0) * 36.4, 15.5),
        DType::Q6K => (208, None, u(64.0) * 73.9, 0.0),
        _ => return None,
    })
}

/// `rows × cols` weights of `dtype` with mean ≈ 0 and standard deviation ≈ `sigma`, from
/// `random` bytes (any deterministic source). `None` for dtypes without blocks here
/// (floats: quantize those exactly instead).
pub fn random_weights(
    dtype: DType,
    elements: usize,
    sigma: f32,
    random: &mut impl FnMut() -> u8,
) -> Option<Vec<u8>> {
    let (d_at, min_at, spread, mean) = geometry(dtype)?;
    let len = usize::try_from(dtype.bytes_for(elements as u64)?).ok()?;
    let mut bytes: Vec<u8> = (0..len).map(|_| random()).collect();
    let d = sigma / spread;
    // Formats with a minimum compute `d·sc·q − dmin·m` (K) or `d·q + m` (Q4_1/Q5_1): pick
    // the minimum so the mean of the integer part cancels on average.
    let (d_bytes, min_bytes) = match dtype {
        DType::Q4_1 | DType::Q5_1 => (half::f16::from_f32(d), half::f16::from_f32(-mean * d)),
        _ => (half::f16::from_f32(d), half::f16::from_f32(mean * d)),
    };
    for block in bytes.chunks_exact_mut(dtype.block_bytes()) {
        block[d_at..d_at + 2].copy_from_slice(&d_bytes.to_le_bytes());
        if let Some(m) = min_at {
            block[m..m + 2].copy_from_slice(&min_bytes.to_le_bytes());
        }
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_sit_where_the_block_layout_says() {
        // Each f16 field must lie inside the block, and the minimum right after `d` where
        // the format keeps them together.
        for dt in DType::WEIGHTS {
            if let Some((d, m, spread, _)) = geometry(dt) {
                assert!(d + 2 <= dt.block_bytes(), "{dt}");
                assert!(m.is_none_or(|m| m + 2 <= dt.block_bytes()), "{dt}");
                assert!(spread > 0.0);
            }
        }
        let mut n = 0u8;
        let mut next = || {
            n = n.wrapping_mul(31).wrapping_add(7);
            n
        };
        let b = random_weights(DType::Q4_0, 64, 0.1, &mut next).unwrap();
        assert_eq!(b.len(), 36);
        assert_eq!(
            half::f16::from_le_bytes([b[18], b[19]]),
            half::f16::from_f32(0.1 / (16.0 / 12f32.sqrt()))
        );
        assert!(random_weights(DType::F32, 64, 0.1, &mut next).is_none());
    }
}
