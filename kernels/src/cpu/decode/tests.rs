use super::*;
use crate::cpu::activation::ActivationRows;
use crate::noise::noise;

/// Random Q4_0 rows with small finite scales.
fn q4_0_rows(rows: usize, k: usize, seed: u64) -> Vec<u8> {
    let bytes = rows * k / 32 * 18;
    let mut w: Vec<u8> = noise(seed, bytes)
        .into_iter()
        .map(|v| ((v + 1.0) * 127.9) as u8)
        .collect();
    for (i, blk) in w.chunks_exact_mut(18).enumerate() {
        let d = half::f16::from_f32(0.01 + 0.001 * (i % 7) as f32).to_le_bytes();
        blk[..2].copy_from_slice(&d);
    }
    w
}

#[test]
fn decode_matches_the_scalar_dot_at_every_level() {
    // 544 = 17 blocks (8 pairs and a tail block), 608 = 19 (9 pairs: the unrolled loop's
    // leftover pair too), 4096 = 128 (whole unrolled steps).
    for k in [544, 608, 4096] {
        let rows = 7;
        let w = q4_0_rows(rows, k, k as u64);
        let x = noise(3, k);
        let matrix = WeightMatrix {
            dtype: DType::Q4_0,
            rows,
            k,
            bytes: &w,
        };
        let spec_acts = ActivationRows::new(ActivationFormat::for_weight(DType::Q4_0), &x, k);
        let want: Vec<f32> = (0..rows)
            .map(|r| crate::cpu::scalar::dot_q4_0(matrix.row(r), &spec_acts.row(0)))
            .collect();
        for level in SimdLevel::available() {
            let simd = Simd::new(level).expect("listed as available");
            let a = DecodeActivation::new(simd, DType::Q4_0, &x);
            let mut got = vec![0.0f32; rows - 2];
            matvec_rows(&matrix, 2..rows, &a, &mut got).expect("same dtype");
            for (g, w) in got.iter().zip(&want[2..]) {
                assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "{level} k={k}: {g} vs {w}");
            }
        }
    }
}

#[test]
fn decode_refuses_weights_of_another_dtype() {
    let x = noise(1, 64);
    let a = DecodeActivation::new(Simd::best(), DType::Q4_0, &x);
    let w = vec![0u8; 68];
    let matrix = WeightMatrix {
        dtype: DType::Q8_0,
        rows: 1,
        k: 64,
        bytes: &w,
    };
    assert!(matvec_rows(&matrix, 0..1, &a, &mut [0.0]).is_err());
}
