//! Property tests: quantize → dequantize stays within each format's error bound, and bad
//! lengths are refused with [`QuantError::Length`] instead of panicking.
//!
//! The bounds follow from each quantizer's rule plus the rounding of its scales to f16
//! (relative error at most 2^-11, [`F16_REL`]): a round-to-nearest code is off by at most
//! half a step, a clamped extreme code (Q4_0, Q5_0) by at most one step.

use super::*;
use proptest::prelude::*;

/// Worst relative error of rounding a normal f32 to f16.
const F16_REL: f32 = 1.0 / 2048.0;

/// A block of `n` values: uniform in [-1, 1] times a per-block magnitude from 1e-2 to 1e2,
/// so f16 scales stay normal, plus an optional shift to make one-signed blocks.
fn block(n: usize) -> impl Strategy<Value = Vec<f32>> {
    (
        prop::collection::vec(-1.0f32..1.0, n),
        -2.0f32..2.0,
        prop::bool::ANY,
    )
        .prop_map(|(v, exponent, shifted)| {
            let scale = 10f32.powf(exponent);
            v.into_iter()
                .map(|x| {
                    if shifted {
                        (x + 1.5) * scale
                    } else {
                        x * scale
                    }
                })
                .collect()
        })
}

fn round_trip(dtype: DType, x: &[f32]) -> Vec<f32> {
    let bytes = quantize(dtype, x).expect("whole blocks");
    dequantize(dtype, &bytes, x.len()).expect("whole blocks")
}

fn max_error(x: &[f32], y: &[f32]) -> f32 {
    x.iter().zip(y).fold(0.0, |m, (a, b)| m.max((a - b).abs()))
}

fn abs_max(x: &[f32]) -> f32 {
    x.iter().fold(0.0, |m, v| m.max(v.abs()))
}

fn range(x: &[f32]) -> (f32, f32) {
    let min = x.iter().copied().fold(f32::INFINITY, f32::min);
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (min, max)
}

/// Slack for the f32 arithmetic itself (a few ulps of the block's magnitude).
fn ulps(x: &[f32]) -> f32 {
    abs_max(x) * 8.0 * f32::EPSILON
}

proptest! {
    #[test]
    fn q8_0_error_within_half_step(x in block(32)) {
        let d = abs_max(&x) / 127.0;
        let bound = d * 0.5 + 127.0 * d * F16_REL + ulps(&x);
        prop_assert!(max_error(&x, &round_trip(DType::Q8_0, &x)) <= bound);
    }

    #[test]
    fn q4_0_error_within_one_step(x in block(32)) {
        // The extreme maps to -8; the other sign's extreme may clamp at +7: one full step.
        let d = abs_max(&x) / 8.0;
        let bound = d + 8.0 * d * F16_REL + ulps(&x);
        prop_assert!(max_error(&x, &round_trip(DType::Q4_0, &x)) <= bound);
    }

    #[test]
    fn q5_0_error_within_one_step(x in block(32)) {
        let d = abs_max(&x) / 16.0;
        let bound = d + 16.0 * d * F16_REL + ulps(&x);
        prop_assert!(max_error(&x, &round_trip(DType::Q5_0, &x)) <= bound);
    }

    #[test]
    fn q4_1_error_within_half_step(x in block(32)) {
        let (min, max) = range(&x);
        let d = (max - min) / 15.0;
        let bound = d * 0.5 + 15.0 * d * F16_REL + min.abs() * F16_REL + ulps(&x);
        prop_assert!(max_error(&x, &round_trip(DType::Q4_1, &x)) <= bound);
    }

    #[test]
    fn q5_1_error_within_half_step(x in block(32)) {
        let (min, max) = range(&x);
        let d = (max - min) / 31.0;
        let bound = d * 0.5 + 31.0 * d * F16_REL + min.abs() * F16_REL + ulps(&x);
        prop_assert!(max_error(&x, &round_trip(DType::Q5_1, &x)) <= bound);
    }

    #[test]
    fn q8_k_error_within_half_step(x in block(256)) {
        // f32 scale: only the half step and f32 rounding remain.
        let d = abs_max(&x) / 127.0;
        prop_assert!(max_error(&x, &round_trip(DType::Q8K, &x)) <= d * 0.5 + ulps(&x));
    }

    #[test]
    fn q8_k_block_sums_match_codes(x in block(256)) {
        let block = BlockQ8K::quantize(&x);
        for (g, sum) in block.bsums.iter().enumerate() {
            let want: i16 = block.qs[16 * g..16 * g + 16].iter().map(|&q| q as i16).sum();
            prop_assert_eq!(*sum, want);
        }
    }

    #[test]
    fn q4_k_error_within_scale_rounding_bound(x in block(256)) {
        // Bound from the stored block: one code step of the largest sub-block scale (63 d;
        // the search tries grids finer than the range, so an extreme code may clamp), plus the scale's 6-bit rounding (d / 2) times the largest code (15),
        // plus the min's rounding (dmin / 2).
        let bytes = quantize(DType::Q4K, &x).expect("whole blocks");
        let stored: BlockQ4K = bytemuck::pod_read_unaligned(&bytes);
        let (d, dmin) = (stored.d.to_f32().abs(), stored.dmin.to_f32().abs());
        let bound = 63.0 * d + 7.5 * d + 0.5 * dmin + ulps(&x);
        let err = max_error(&x, &dequantize(DType::Q4K, &bytes, 256).expect("whole blocks"));
        prop_assert!(err <= bound, "error {err} > bound {bound}");
    }

    #[test]
    fn q6_k_error_within_scale_rounding_bound(x in block(256)) {
        // One code step of the largest sub-block scale (128 d: the extreme maps to -32, the
        // other sign clamps at +31) plus the 8-bit scale rounding (d / 2) times the largest
        // code magnitude (32).
        let bytes = quantize(DType::Q6K, &x).expect("whole blocks");
        let stored: BlockQ6K = bytemuck::pod_read_unaligned(&bytes);
        let d = stored.d.to_f32().abs();
        let bound = 128.0 * d + 16.0 * d + ulps(&x);
        let err = max_error(&x, &dequantize(DType::Q6K, &bytes, 256).expect("whole blocks"));
        prop_assert!(err <= bound, "error {err} > bound {bound}");
    }

    #[test]
    fn f16_and_bf16_relative_error(x in block(64)) {
        for (dtype, rel) in [(DType::F16, F16_REL), (DType::BF16, 1.0 / 256.0)] {
            let y = round_trip(dtype, &x);
            for (a, b) in x.iter().zip(&y) {
                // Below f16's normal range the spacing is fixed: half of 2^-24.
                let subnormal = if dtype == DType::F16 { 2f32.powi(-25) } else { 0.0 };
                prop_assert!((a - b).abs() <= a.abs() * rel + subnormal, "{dtype}: {a} -> {b}");
            }
        }
    }

    #[test]
    fn partial_blocks_are_refused(extra in 1usize..32, blocks in 0usize..3) {
        for dtype in DType::ALL.into_iter().filter(|d| d.is_quantized()) {
            let n = blocks * dtype.block_size() + extra;
            let x = vec![0.5f32; n];
            if can_quantize(dtype) {
                let is_length_error = matches!(quantize(dtype, &x), Err(QuantError::Length { .. }));
                prop_assert!(is_length_error, "{}", dtype);
            }
            let bytes = vec![0u8; blocks * dtype.block_bytes()];
            let is_length_error =
                matches!(dequantize(dtype, &bytes, n), Err(QuantError::Length { .. }));
            prop_assert!(is_length_error, "{}", dtype);
        }
    }

    #[test]
    fn wrong_byte_counts_are_refused(delta in 1usize..40, blocks in 1usize..3) {
        for dtype in DType::ALL {
            let n = blocks * dtype.block_size();
            let mut out = vec![0f32; n];
            let long = vec![0u8; blocks * dtype.block_bytes() + delta];
            let is_length_error =
                matches!(dequantize_row(dtype, &long, &mut out), Err(QuantError::Length { .. }));
            prop_assert!(is_length_error, "{}", dtype);
            let short = &long[..(blocks * dtype.block_bytes()).saturating_sub(delta)];
            let is_length_error =
                matches!(dequantize_row(dtype, short, &mut out), Err(QuantError::Length { .. }));
            prop_assert!(is_length_error, "{}", dtype);
            if can_quantize(dtype) {
                let mut bytes = vec![0u8; blocks * dtype.block_bytes() + delta];
                let is_length_error =
                    matches!(quantize_row(dtype, &out, &mut bytes), Err(QuantError::Length { .. }));
                prop_assert!(is_length_error, "{}", dtype);
            }
        }
    }

    #[test]
    fn any_bytes_dequantize_without_panic(seed in prop::collection::vec(any::<u8>(), 292)) {
        for dtype in DType::ALL {
            let bytes: Vec<u8> = seed.iter().cycle().take(dtype.block_bytes()).copied().collect();
            let out = dequantize(dtype, &bytes, dtype.block_size());
            prop_assert!(out.is_ok(), "{}", dtype);
        }
    }
}

#[test]
fn formats_without_reference_quantizer_say_so() {
    for dtype in [DType::Q2K, DType::Q3K, DType::Q5K, DType::I32] {
        assert!(!can_quantize(dtype));
        assert_eq!(
            quantize(dtype, &vec![0.0; 256]),
            Err(QuantError::Unsupported {
                dtype,
                direction: "quantize"
            })
        );
    }
}

#[test]
fn zero_blocks_quantize_to_zeros() {
    for dtype in DType::ALL.into_iter().filter(|&d| can_quantize(d)) {
        let x = vec![0.0f32; 256];
        let y = round_trip(dtype, &x);
        assert!(y.iter().all(|&v| v == 0.0), "{dtype}: {y:?}");
    }
}
