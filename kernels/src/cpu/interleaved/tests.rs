use super::*;
use crate::cpu::activation::ActivationRows;
use crate::noise::noise;

/// Random Q4_K rows with small finite `d` and `dmin`.
fn q4_k_rows(rows: usize, k: usize, seed: u64) -> Vec<u8> {
    let mut w: Vec<u8> = noise(seed, rows * k / 256 * q4_k::BYTES)
        .into_iter()
        .map(|v| ((v + 1.0) * 127.9) as u8)
        .collect();
    for (i, blk) in w.chunks_exact_mut(q4_k::BYTES).enumerate() {
        blk[..2].copy_from_slice(&half::f16::from_f32(0.01 + 0.001 * (i % 5) as f32).to_le_bytes());
        blk[2..4]
            .copy_from_slice(&half::f16::from_f32(0.002 + 0.001 * (i % 3) as f32).to_le_bytes());
    }
    w
}

#[test]
fn tiles_match_the_scalar_row_dot_at_every_level() {
    let (rows, k) = (48, 768);
    let w = q4_k_rows(rows, k, 11);
    let matrix = WeightMatrix {
        dtype: DType::Q4K,
        rows,
        k,
        bytes: &w,
    };
    let packed = InterleavedQ4K::new(&matrix).expect("Q4_K with whole tiles");
    for n in [1, 3, 4, 7] {
        let x = noise(n as u64, n * k);
        let acts = ActivationRows::new(ActivationFormat::for_weight(DType::Q4K), &x, k);
        for level in SimdLevel::available() {
            let simd = Simd::new(level).expect("listed as available");
            // Tiles 1..3: rows 16..48.
            let mut got = vec![f32::NAN; 32 * n];
            packed.matmul_tiles(simd, 1..3, &acts, &mut got);
            for r in 16..48 {
                for i in 0..n {
                    let want = crate::cpu::scalar::dot_q4_k(matrix.row(r), &acts.row(i));
                    let g = got[(r - 16) * n + i];
                    assert!(
                        (g - want).abs() <= 1e-5 * want.abs().max(1.0),
                        "{level} n={n} row {r} act {i}: {g} vs {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn only_whole_q4_k_tiles_are_repacked() {
    let w = q4_k_rows(8, 256, 1);
    let matrix = WeightMatrix {
        dtype: DType::Q4K,
        rows: 8,
        k: 256,
        bytes: &w,
    };
    assert!(
        InterleavedQ4K::new(&matrix).is_none(),
        "8 rows are half a tile"
    );
    let matrix = WeightMatrix {
        dtype: DType::Q8_0,
        rows: 16,
        k: 64,
        bytes: &w[..16 * 68],
    };
    assert!(InterleavedQ4K::new(&matrix).is_none(), "not Q4_K");
}
