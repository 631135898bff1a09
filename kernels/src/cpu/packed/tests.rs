//! The packed GEMM against an f64 dot of the dequantized weights with the dequantized
//! activations (what every kernel must compute, up to rounding), on every SIMD level, for
//! shapes that exercise padding rows, odd activation counts and half 64-steps.

use super::*;
use crate::cpu::activation::ActivationFormat;
use crate::noise::noise;
use crate::quant::{can_quantize, dequantize, quantize};
use crate::DType;

/// Weights of `dtype`: quantized noise where we have a quantizer, else random bytes with
/// small finite f16 scales at the format's scale offsets.
fn weights(dtype: DType, m: usize, k: usize) -> Vec<u8> {
    if can_quantize(dtype) {
        return quantize(dtype, &noise(11, m * k)).unwrap();
    }
    let bytes = m * k / dtype.block_size() * dtype.block_bytes();
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut w: Vec<u8> = (0..bytes)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as u8
        })
        .collect();
    // (offset of d, offset of dmin) in each block.
    let scale_at: &[usize] = match dtype {
        DType::Q2K => &[80, 82],
        DType::Q3K => &[108],
        DType::Q5K => &[0, 2],
        _ => &[],
    };
    let h = half::f16::from_f32(0.01).to_le_bytes();
    for blk in w.chunks_exact_mut(dtype.block_bytes()) {
        for &o in scale_at {
            blk[o..o + 2].copy_from_slice(&h);
        }
    }
    w
}

fn check(dtype: DType, m: usize, k: usize, n: usize) {
    let w = weights(dtype, m, k);
    let wf = dequantize(dtype, &w, m * k).unwrap();
    let x = noise(12, n * k);
    let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, k);
    let matrix = WeightMatrix {
        dtype,
        rows: m,
        k,
        bytes: &w,
    };
    for level in SimdLevel::available() {
        let simd = Simd::new(level).unwrap();
        let mut out = vec![0f32; m * n];
        // Rows 1.. only: a range not starting at 0 and not a multiple of the tile.
        matmul_rows(simd, &matrix, 1..m, &acts, &mut out[n..]).unwrap();
        for r in 1..m {
            for i in 0..n {
                let a = acts.row(i);
                let block = acts.format().block_size();
                let (mut want, mut mag) = (0f64, 0f64);
                for j in 0..k {
                    let xv = f64::from(a.quants[j]) * f64::from(a.scales[j / block]);
                    want += f64::from(wf[r * k + j]) * xv;
                    mag += (f64::from(wf[r * k + j]) * xv).abs();
                }
                let got = f64::from(out[r * n + i]);
                assert!(
                    (got - want).abs() <= 2e-6 * mag + 1e-9,
                    "{dtype} {level} row {r} act {i}: {got} vs {want} (magnitude {mag})"
                );
            }
        }
    }
}

#[test]
fn every_format_matches_the_dequantized_dot_on_every_level() {
    for dtype in [DType::Q2K, DType::Q3K, DType::Q4K, DType::Q5K, DType::Q6K] {
        check(dtype, 11, 512, 5);
    }
    for dtype in [
        DType::Q4_0,
        DType::Q4_1,
        DType::Q5_0,
        DType::Q5_1,
        DType::Q8_0,
    ] {
        check(dtype, 11, 224, 5);
        check(dtype, 6, 256, 3);
    }
}

#[test]
fn packed_and_direct_kernels_agree_where_both_exist() {
    let (m, k, n) = (9, 512, 12);
    for dtype in [DType::Q4_0, DType::Q8_0, DType::Q4K, DType::Q6K] {
        let w = weights(dtype, m, k);
        let x = noise(5, n * k);
        let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, k);
        let matrix = WeightMatrix {
            dtype,
            rows: m,
            k,
            bytes: &w,
        };
        for level in SimdLevel::available() {
            let simd = Simd::new(level).unwrap();
            let mut packed = vec![0f32; m * n];
            matmul_rows(simd, &matrix, 0..m, &acts, &mut packed).unwrap();
            for r in 0..m {
                for i in 0..n {
                    let direct = crate::cpu::dot::dot(simd, dtype, matrix.row(r), &acts.row(i));
                    let p = packed[r * n + i];
                    assert!(
                        (p - direct).abs() <= 1e-5 * (1.0 + direct.abs()),
                        "{dtype} {level} [{r},{i}]: packed {p} direct {direct}"
                    );
                }
            }
        }
    }
}
