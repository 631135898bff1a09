use super::*;
use crate::cpu::activation::ActivationRows;
use crate::noise::noise;

#[test]
fn block32_decode_matches_the_scalar_dot_at_every_level() {
    // 544 = 17 blocks (8 pairs and a tail block), 608 = 19 (9 pairs: the unrolled loop's
    // leftover pair too), 4096 = 128 (whole unrolled steps).
    for (dtype, k) in [DType::Q4_0, DType::Q8_0]
        .into_iter()
        .flat_map(|d| [544, 608, 4096].map(|k| (d, k)))
    {
        let rows = 7;
        let w = crate::noise::random_blocks(dtype, rows * k, k as u64);
        let x = noise(3, k);
        let matrix = WeightMatrix {
            dtype,
            rows,
            k,
            bytes: &w,
        };
        let spec_acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, k);
        let want: Vec<f32> = (0..rows)
            .map(|r| crate::cpu::dot::dot(Simd::scalar(), dtype, matrix.row(r), &spec_acts.row(0)))
            .collect();
        for level in SimdLevel::available() {
            let simd = Simd::new(level).expect("listed as available");
            let a = DecodeActivation::new(simd, dtype, &x, k);
            let mut got = vec![0.0f32; rows - 2];
            matmul_decode_rows(&matrix, 2..rows, &a, &mut got).expect("same dtype");
            for (g, w) in got.iter().zip(&want[2..]) {
                assert!(
                    (g - w).abs() <= 1e-5 * w.abs().max(1.0),
                    "{dtype} {level} k={k}: {g} vs {w}"
                );
            }
        }
    }
}

#[test]
fn decode_refuses_weights_of_another_dtype() {
    let x = noise(1, 64);
    let a = DecodeActivation::new(Simd::best(), DType::Q4_0, &x, 64);
    let w = vec![0u8; 68];
    let matrix = WeightMatrix {
        dtype: DType::Q8_0,
        rows: 1,
        k: 64,
        bytes: &w,
    };
    assert!(matmul_decode_rows(&matrix, 0..1, &a, &mut [0.0]).is_err());
}

#[test]
fn a_few_activation_rows_match_the_scalar_dot_at_every_level() {
    // 1–7 rows: every group size (4, 3, 2, 1) and a group split over two; 19 weight rows
    // span two weight tiles. k = 544 has an odd tail block.
    for (dtype, k) in [DType::Q4_0, DType::Q8_0]
        .into_iter()
        .flat_map(|d| [544, 1024].map(|k| (d, k)))
    {
        let rows = 19;
        let w = crate::noise::random_blocks(dtype, rows * k, 7 + k as u64);
        let matrix = WeightMatrix {
            dtype,
            rows,
            k,
            bytes: &w,
        };
        for n in 1..=7 {
            let x = noise(n as u64, n * k);
            let spec_acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, k);
            for level in SimdLevel::available() {
                let simd = Simd::new(level).expect("listed as available");
                let a = DecodeActivation::new(simd, dtype, &x, k);
                let mut got = vec![f32::NAN; (rows - 1) * n];
                matmul_decode_rows(&matrix, 1..rows, &a, &mut got).expect("same dtype");
                for r in 1..rows {
                    for i in 0..n {
                        let want = crate::cpu::dot::dot(
                            Simd::scalar(),
                            dtype,
                            matrix.row(r),
                            &spec_acts.row(i),
                        );
                        let g = got[(r - 1) * n + i];
                        assert!(
                            (g - want).abs() <= 1e-5 * want.abs().max(1.0),
                            "{dtype} {level} k={k} n={n} row {r} act {i}: {g} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
