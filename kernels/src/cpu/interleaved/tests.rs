use super::*;
use crate::cpu::activation::ActivationRows;
use crate::cpu::layout::q6_k;
use crate::noise::noise;

/// Random rows of a tiled format (every code byte random) with small finite f16 scales.
fn random_rows(dtype: DType, rows: usize, k: usize, seed: u64) -> Vec<u8> {
    let size = dtype.block_bytes();
    let mut w: Vec<u8> = noise(seed, rows * k / dtype.block_size() * size)
        .into_iter()
        .map(|v| ((v + 1.0) * 127.9) as u8)
        .collect();
    let offsets: &[usize] = match dtype {
        DType::Q6K => &[q6_k::D],
        DType::Q4K => &[0, 2],
        _ => &[0],
    };
    for (i, blk) in w.chunks_exact_mut(size).enumerate() {
        for (n, &o) in offsets.iter().enumerate() {
            let d = 0.01 + 0.001 * ((i + n) % 5) as f32;
            blk[o..o + 2].copy_from_slice(&half::f16::from_f32(d).to_le_bytes());
        }
    }
    w
}

#[test]
fn tiles_match_the_scalar_row_dots_at_every_level() {
    let (rows, k) = (48, 768);
    for dtype in [DType::Q4K, DType::Q6K, DType::Q4_0, DType::Q8_0] {
        let w = random_rows(dtype, rows, k, 11);
        let matrix = WeightMatrix {
            dtype,
            rows,
            k,
            bytes: &w,
        };
        let packed = Interleaved::new(&matrix).expect("a tiled format with whole tiles");
        assert_eq!((packed.dtype(), packed.rows()), (dtype, rows));
        for n in [1, 3, 4, 7] {
            let x = noise(n as u64, n * k);
            let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, k);
            for level in SimdLevel::available() {
                let simd = Simd::new(level).expect("listed as available");
                // Tiles 1..3: rows 16..48.
                let mut got = vec![f32::NAN; 32 * n];
                packed.matmul_tiles(simd, 1..3, &acts, &mut got);
                for r in 16..48 {
                    for i in 0..n {
                        let want = crate::cpu::dot::dot(
                            Simd::scalar(),
                            dtype,
                            matrix.row(r),
                            &acts.row(i),
                        );
                        let g = got[(r - 16) * n + i];
                        assert!(
                            (g - want).abs() <= 1e-5 * want.abs().max(1.0),
                            "{dtype} {level} n={n} row {r} act {i}: {g} vs {want}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn only_whole_tiles_of_tiled_formats_are_repacked() {
    let w = random_rows(DType::Q4K, 16, 256, 1);
    let matrix = |dtype, rows, k, bytes| WeightMatrix {
        dtype,
        rows,
        k,
        bytes,
    };
    assert!(
        Interleaved::new(&matrix(DType::Q4K, 8, 256, &w[..8 * 144])).is_none(),
        "8 rows are half a tile"
    );
    assert!(
        Interleaved::new(&matrix(DType::Q8_0, 16, 64, &w[..16 * 68])).is_none(),
        "64 values are a quarter of a tile"
    );
    assert!(
        Interleaved::new(&matrix(DType::Q2K, 16, 256, &w[..16 * 84])).is_none(),
        "Q2_K has no tiles"
    );
    assert!(Interleaved::new(&matrix(DType::Q4K, 16, 256, &w)).is_some());
}
