//! The NEON kernels against the scalar specs, through the emulated intrinsics on x86 (on
//! aarch64 the same tests run the real instructions, bar the two that check the emulation).

use super::arch::*;
use super::{dotprod, float, plain, PanelRows};
use crate::cpu::activation::{ActivationFormat, ActivationRows};
use crate::cpu::matmul::WeightMatrix;
use crate::cpu::packed::{self, Family, Panel, TILE_ROWS};
use crate::cpu::scalar;
use crate::noise::{noise, random_blocks};
use crate::DType;

/// Whether the dotprod kernels may run here: always on the emulated intrinsics; on aarch64
/// when the CPU has FEAT_DotProd.
fn dotprod_runs() -> bool {
    #[cfg(target_arch = "aarch64")]
    return std::arch::is_aarch64_feature_detected!("dotprod");
    #[cfg(not(target_arch = "aarch64"))]
    true
}

type RowDot = unsafe fn(&[u8], &crate::cpu::ActivationRow) -> f32;
type SpecDot = fn(&[u8], &crate::cpu::ActivationRow) -> f32;

/// Both levels' kernels for `dtype`.
fn kernels(dtype: DType) -> [(&'static str, RowDot); 2] {
    match dtype {
        DType::Q4_0 => [("neon", plain::dot_q4_0), ("dotprod", dotprod::dot_q4_0)],
        DType::Q8_0 => [("neon", plain::dot_q8_0), ("dotprod", dotprod::dot_q8_0)],
        DType::Q4_1 => [("neon", plain::dot_q4_1), ("dotprod", dotprod::dot_q4_1)],
        DType::Q5_0 => [("neon", plain::dot_q5_0), ("dotprod", dotprod::dot_q5_0)],
        DType::Q5_1 => [("neon", plain::dot_q5_1), ("dotprod", dotprod::dot_q5_1)],
        DType::Q2K => [("neon", plain::dot_q2_k), ("dotprod", dotprod::dot_q2_k)],
        DType::Q3K => [("neon", plain::dot_q3_k), ("dotprod", dotprod::dot_q3_k)],
        DType::Q4K => [("neon", plain::dot_q4_k), ("dotprod", dotprod::dot_q4_k)],
        DType::Q5K => [("neon", plain::dot_q5_k), ("dotprod", dotprod::dot_q5_k)],
        DType::Q6K => [("neon", plain::dot_q6_k), ("dotprod", dotprod::dot_q6_k)],
        _ => unreachable!("no NEON row kernel for {dtype}"),
    }
}

#[test]
fn quantized_row_dots_match_the_scalar_spec() {
    let specs: [(DType, SpecDot); 10] = [
        (DType::Q4_0, scalar::dot_q4_0),
        (DType::Q4_1, scalar::dot_q4_1),
        (DType::Q5_0, scalar::dot_q5_0),
        (DType::Q5_1, scalar::dot_q5_1),
        (DType::Q8_0, scalar::dot_q8_0),
        (DType::Q2K, scalar::dot_q2_k),
        (DType::Q3K, scalar::dot_q3_k),
        (DType::Q4K, scalar::dot_q4_k),
        (DType::Q5K, scalar::dot_q5_k),
        (DType::Q6K, scalar::dot_q6_k),
    ];
    for (dtype, spec) in specs {
        let k = if dtype.block_size() == 32 { 544 } else { 768 };
        for seed in 0..4 {
            let w = random_blocks(dtype, k, seed + 10);
            let x = noise(seed, k);
            let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, k);
            let row = acts.row(0);
            let want = spec(&w, &row);
            assert!(want.is_finite() && want != 0.0, "{dtype}: spec gave {want}");
            for (level, kernel) in kernels(dtype) {
                if level == "dotprod" && !dotprod_runs() {
                    continue;
                }
                // SAFETY: off aarch64 the kernels run the portable intrinsics; on aarch64
                // plain NEON is always there and dotprod runs only if present.
                let got = unsafe { kernel(&w, &row) };
                let tol = 1e-5 * want.abs().max(1.0);
                assert!(
                    (got - want).abs() <= tol,
                    "{dtype} {level} seed {seed}: got {got}, spec {want}"
                );
            }
        }
    }
}

#[test]
#[cfg(not(target_arch = "aarch64"))]
fn both_byte_dot_steps_sum_the_same_products() {
    let a: [i8; 16] = std::array::from_fn(|i| (i as i8 * 37).wrapping_sub(100));
    let b: [i8; 16] = std::array::from_fn(|i| if i % 3 == 0 { -128 } else { 127 - i as i8 });
    let want: i32 = a
        .iter()
        .zip(&b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    let (va, vb) = (super::load_s8(&a, 0), super::load_s8(&b, 0));
    let start = vdupq_n_s32(5);
    // `sdot` keeps each quadruple in its own lane.
    let lanes = sdot(start, va, vb);
    for (i, lane) in lanes.0.iter().enumerate() {
        let quad: i32 = (4 * i..4 * i + 4)
            .map(|j| i32::from(a[j]) * i32::from(b[j]))
            .sum();
        assert_eq!(*lane, 5 + quad);
    }
    assert_eq!(vaddvq_s32(lanes), 20 + want);
    let widened = vpadalq_s16(
        vpadalq_s16(start, vmull_s8(vget_low_s8(va), vget_low_s8(vb))),
        vmull_high_s8(va, vb),
    );
    assert_eq!(vaddvq_s32(widened), 20 + want);
}

#[test]
#[cfg(not(target_arch = "aarch64"))]
fn emulated_lane_orders_follow_arm() {
    // `addp` takes pairs from the first operand into the low half.
    let a = int16x8_t([1, 2, 3, 4, 5, 6, 7, 8]);
    let b = int16x8_t([10, 20, 30, 40, 50, 60, 70, 80]);
    assert_eq!(vpaddq_s16(a, b).0, [3, 7, 11, 15, 30, 70, 110, 150]);
    // `sadalp` adds neighbouring pairs, widened.
    let p = vpadalq_s16(
        vdupq_n_s32(1),
        int16x8_t([i16::MAX, i16::MAX, -1, -2, 3, 4, 0, 0]),
    );
    assert_eq!(p.0, [1 + 2 * i32::from(i16::MAX), -2, 8, 1]);
    assert_eq!(vshrq_n_u8::<4>(vdupq_n_u8(0xAB)).0, [0x0A; 16]);
    assert_eq!(vshlq_n_u8::<4>(vdupq_n_u8(0xAB)).0, [0xB0; 16]);
    // `faddp` twice adds (l0 + l1) + (l2 + l3): each 1 is lost next to 1e8 (in order it
    // would survive as the last term).
    assert_eq!(vaddvq_f32(float32x4_t([1e8, 1.0, -1e8, 1.0])), 0.0);
}

#[test]
fn float_helpers_match_the_scalar_spec() {
    for len in [0, 3, 16, 131] {
        let a = noise(1, len);
        let b = noise(2, len);
        let want = scalar::dot_f32(&a, &b);
        assert!(
            (float::dot_f32(&a, &b) - want).abs() <= 1e-4,
            "dot_f32 len {len}"
        );
        let bytes: Vec<u8> = a.iter().flat_map(|v| v.to_le_bytes()).collect();
        let from_bytes = float::dot_f32_bytes(&bytes, &b);
        assert!((from_bytes - want).abs() <= 1e-4, "dot_f32_bytes len {len}");
        let mut acc = a.clone();
        let mut spec = a.clone();
        float::axpy(&mut acc, 0.37, &b);
        scalar::axpy(&mut spec, 0.37, &b);
        assert_eq!(acc, spec, "axpy len {len} is fused like the spec");
        let h: Vec<half::f16> = a.iter().map(|&v| half::f16::from_f32(v)).collect();
        let mut widened = vec![0.0; len];
        let mut want = vec![0.0; len];
        float::f16_to_f32(&h, &mut widened);
        scalar::f16_to_f32(&h, &mut want);
        assert_eq!(widened, want, "f16_to_f32 len {len}");
        // 16-bit float weight rows: the spec's lanes and order, so equal bit for bit
        // (with one weight more than `b` has values: the extra one is ignored).
        let f16_bytes: Vec<u8> = h
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .chain([1, 2])
            .collect();
        let bf16_bytes: Vec<u8> = a
            .iter()
            .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
            .collect();
        assert_eq!(
            float::dot_f16_bytes(&f16_bytes, &b).to_bits(),
            scalar::dot_f16_bytes(&f16_bytes, &b).to_bits(),
            "dot_f16_bytes len {len}"
        );
        assert_eq!(
            float::dot_bf16_bytes(&bf16_bytes, &b).to_bits(),
            scalar::dot_bf16_bytes(&bf16_bytes, &b).to_bits(),
            "dot_bf16_bytes len {len}"
        );
    }
}

#[test]
fn packed_tiles_match_the_packed_scalar_kernel() {
    // Every format the NEON packed kernels take (Q8_0's codes are not signed bytes).
    let formats = [
        DType::Q4_0,
        DType::Q4_1,
        DType::Q5_0,
        DType::Q5_1,
        DType::Q2K,
        DType::Q3K,
        DType::Q4K,
        DType::Q5K,
        DType::Q6K,
    ];
    let k = 512;
    for dtype in formats {
        let w = random_blocks(dtype, TILE_ROWS * k, 30);
        let matrix = WeightMatrix {
            dtype,
            rows: TILE_ROWS,
            k,
            bytes: &w,
        };
        let family = Family::of(dtype).expect("a quantized format");
        let mut panel = Panel::new(family, k, TILE_ROWS);
        panel.fill(&matrix, 0..TILE_ROWS).expect("valid blocks");
        let rows = PanelRows::<TILE_ROWS> {
            codes: std::array::from_fn(|r| panel.codes(r)),
            scales: std::array::from_fn(|r| panel.pair_scales(r)),
            d: std::array::from_fn(|r| panel.d(r)),
            offsets: std::array::from_fn(|r| panel.offsets(r)),
        };
        let x = noise(31, 3 * k);
        let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, k);
        let three: [_; 3] = std::array::from_fn(|a| acts.row(a));
        let want: Vec<Vec<f32>> = (0..TILE_ROWS)
            .map(|r| {
                three
                    .iter()
                    .map(|a| packed::scalar::dot(&panel, r, a))
                    .collect()
            })
            .collect();
        let mut got = Vec::new();
        // SAFETY: off aarch64 the kernels run the portable intrinsics; on aarch64 plain NEON
        // is always there and dotprod runs only if present.
        unsafe {
            got.push(match family {
                Family::K => ("neon", plain::tile_k(&rows, &three)),
                Family::Block32 => ("neon", plain::tile_32(&rows, &three)),
            });
            if dotprod_runs() {
                got.push(match family {
                    Family::K => ("dotprod", dotprod::tile_k(&rows, &three)),
                    Family::Block32 => ("dotprod", dotprod::tile_32(&rows, &three)),
                });
            }
        }
        for (level, tile) in got {
            for r in 0..TILE_ROWS {
                for a in 0..3 {
                    let (g, e) = (tile[r][a], want[r][a]);
                    assert!(
                        e.is_finite() && (g - e).abs() <= 1e-4 * e.abs().max(1.0),
                        "{dtype} {level} row {r} act {a}: got {g}, packed spec {e}"
                    );
                }
            }
        }
    }
}

#[test]
#[cfg(not(target_arch = "aarch64"))]
fn sdot_by_element_meets_one_quadruple_of_y_in_every_lane() {
    let w: [i8; 16] = std::array::from_fn(|i| (i as i8 * 53).wrapping_sub(90));
    let y: [i8; 16] = std::array::from_fn(|i| if i % 5 == 0 { -128 } else { 120 - 9 * i as i8 });
    let (vw, vy) = (super::load_s8(&w, 0), super::load_s8(&y, 0));
    let start = int32x4_t([3, -3, 1 << 24, -(1 << 24)]);
    let lanes = [
        sdot_lane::<0>(start, vw, vy),
        sdot_lane::<1>(start, vw, vy),
        sdot_lane::<2>(start, vw, vy),
        sdot_lane::<3>(start, vw, vy),
    ];
    for (l, got) in lanes.iter().enumerate() {
        for r in 0..4 {
            let dot: i32 = (0..4)
                .map(|j| i32::from(w[4 * r + j]) * i32::from(y[4 * l + j]))
                .sum();
            assert_eq!(got.0[r], start.0[r] + dot, "lane {l}, row {r}");
        }
    }
    // `fcvtl` widens exactly, subnormals and infinities included.
    let bits = uint16x4_t([0x0001, 0x83FF, 0x7C00, 0xC500]);
    let wide = fcvtl(bits);
    assert_eq!(
        wide.0,
        [
            2f32.powi(-24),
            -1023.0 * 2f32.powi(-24),
            f32::INFINITY,
            -5.0
        ]
    );
}
