//! The one place a SIMD level is turned into code: every dot product the CPU kernels use
//! goes through these functions, which match on the [`Simd`] token.

use super::activation::ActivationRow;
use super::scalar;
use super::simd::{Simd, SimdLevel};
use crate::DType;

/// The row dot of every weight format, from module `$q` (quantized; `$q4_0` and `$q8_0`
/// name those two formats' kernels, which some levels have in a wide form) and module `$f`
/// (`dot_f32_bytes`, `dot_f16_bytes`, `dot_bf16_bytes`): one list for every SIMD level.
macro_rules! row_dot {
    ($q:ident, $q4_0:ident, $q8_0:ident, $f:ident, $dtype:ident, $w:ident, $a:ident) => {
        match $dtype {
            DType::Q4_0 => $q::$q4_0($w, $a),
            DType::Q4_1 => $q::dot_q4_1($w, $a),
            DType::Q5_0 => $q::dot_q5_0($w, $a),
            DType::Q5_1 => $q::dot_q5_1($w, $a),
            DType::Q8_0 => $q::$q8_0($w, $a),
            DType::Q2K => $q::dot_q2_k($w, $a),
            DType::Q3K => $q::dot_q3_k($w, $a),
            DType::Q4K => $q::dot_q4_k($w, $a),
            DType::Q5K => $q::dot_q5_k($w, $a),
            DType::Q6K => $q::dot_q6_k($w, $a),
            DType::F32 => $f::dot_f32_bytes($w, $a.floats),
            DType::F16 => $f::dot_f16_bytes($w, $a.floats),
            DType::BF16 => $f::dot_bf16_bytes($w, $a.floats),
            _ => unreachable!(
                "dot has no kernel for {}; matmul dequantizes it first",
                $dtype
            ),
        }
    };
}

/// Whether [`dot`] has a direct kernel for weights of `dtype`: every weight format does.
/// Other dtypes are dequantized to f32 first (see `matmul.rs`).
pub fn has_direct_kernel(dtype: DType) -> bool {
    DType::WEIGHTS.contains(&dtype)
}

/// One weight row (raw bytes of `dtype`) · one activation row in the format
/// [`super::activation::ActivationFormat::for_weight`] gives for `dtype`.
///
/// # Panics
/// For a dtype without a direct kernel ([`has_direct_kernel`] is false): callers route those
/// through dequantization, so reaching here is an internal bug.
pub fn dot(simd: Simd, dtype: DType, w: &[u8], a: &ActivationRow) -> f32 {
    match simd.level() {
        SimdLevel::Scalar => row_dot!(scalar, dot_q4_0, dot_q8_0, scalar, dtype, w, a),
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 | SimdLevel::AvxVnni => {
            use super::avx2 as k;
            // SAFETY: a `Simd` with level Avx2 or AvxVnni exists only when the CPU has AVX2,
            // FMA and F16C (`Simd::new` checks), which is what these kernels are compiled for.
            unsafe { row_dot!(k, dot_q4_0, dot_q8_0, k, dtype, w, a) }
        }
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512Vnni => {
            use super::avx512 as k;
            // SAFETY: a `Simd` with level Avx512Vnni exists only when the CPU has AVX2, FMA,
            // F16C and AVX-512 F/BW/VL/VNNI (`Simd::new` checks).
            unsafe { row_dot!(k, dot_q4_0_wide, dot_q8_0_wide, k, dtype, w, a) }
        }
        #[cfg(any(target_arch = "aarch64", edgeplane_neon_emulated))]
        SimdLevel::Neon => {
            use super::neon::{float as f, plain as k};
            // SAFETY: plain NEON is part of every AArch64 target.
            unsafe { row_dot!(k, dot_q4_0, dot_q8_0, f, dtype, w, a) }
        }
        #[cfg(any(target_arch = "aarch64", edgeplane_neon_emulated))]
        SimdLevel::NeonDotprod => {
            use super::neon::{dotprod as k, float as f};
            // SAFETY: a `Simd` with level NeonDotprod exists only when the CPU reports
            // FEAT_DotProd (`Simd::new` checks), which these kernels are compiled for.
            unsafe { row_dot!(k, dot_q4_0, dot_q8_0, f, dtype, w, a) }
        }
        // The other architecture's levels: no token for them can exist here.
        #[allow(unreachable_patterns)]
        _ => dot(Simd::scalar(), dtype, w, a),
    }
}

/// One weight row · four activation rows, with the weight blocks unpacked once (the
/// prefill GEMM's inner kernel). Equal to four [`dot`] calls up to float summation order;
/// the scalar level and the float dtypes are exactly four `dot` calls.
pub fn dot4(simd: Simd, dtype: DType, w: &[u8], a: &[ActivationRow; 4]) -> [f32; 4] {
    macro_rules! rows {
        ($k:ident) => {
            match dtype {
                DType::Q4_0 => Some($k::rows_q4_0::<4>(w, a)),
                DType::Q8_0 => Some($k::rows_q8_0::<4>(w, a)),
                DType::Q4_1 => Some($k::rows_q4_1::<4>(w, a)),
                DType::Q5_0 => Some($k::rows_q5_0::<4>(w, a)),
                DType::Q5_1 => Some($k::rows_q5_1::<4>(w, a)),
                DType::Q2K => Some($k::rows_q2_k::<4>(w, a)),
                DType::Q3K => Some($k::rows_q3_k::<4>(w, a)),
                DType::Q4K => Some($k::rows_q4_k::<4>(w, a)),
                DType::Q5K => Some($k::rows_q5_k::<4>(w, a)),
                DType::Q6K => Some($k::rows_q6_k::<4>(w, a)),
                _ => None,
            }
        };
    }
    let fused = match simd.level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2+FMA+F16C.
        SimdLevel::Avx2 | SimdLevel::AvxVnni => unsafe {
            use super::avx2 as k;
            rows!(k)
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX-512 F/BW/VL/VNNI with AVX2+FMA+F16C.
        SimdLevel::Avx512Vnni => unsafe {
            use super::avx512 as k;
            match dtype {
                DType::Q4_0 => Some(k::rows_q4_0_wide::<4>(w, a)),
                DType::Q8_0 => Some(k::rows_q8_0_wide::<4>(w, a)),
                _ => rows!(k),
            }
        },
        _ => None,
    };
    fused.unwrap_or_else(|| std::array::from_fn(|r| dot(simd, dtype, w, &a[r])))
}

/// `Σ a·b` over f32 slices (attention scores).
pub fn dot_f32(simd: Simd, a: &[f32], b: &[f32]) -> f32 {
    match simd.level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2+FMA+F16C.
        SimdLevel::Avx2 | SimdLevel::AvxVnni => unsafe { super::avx2::dot_f32(a, b) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX-512 F/BW/VL/VNNI with AVX2+FMA+F16C.
        SimdLevel::Avx512Vnni => unsafe { super::avx512::dot_f32(a, b) },
        #[cfg(any(target_arch = "aarch64", edgeplane_neon_emulated))]
        SimdLevel::Neon | SimdLevel::NeonDotprod => super::neon::float::dot_f32(a, b),
        _ => scalar::dot_f32(a, b),
    }
}

/// `acc += p · v` (attention's value accumulation).
pub fn axpy(simd: Simd, acc: &mut [f32], p: f32, v: &[f32]) {
    match simd.level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2+FMA+F16C.
        SimdLevel::Avx2 | SimdLevel::AvxVnni => unsafe { super::avx2::axpy(acc, p, v) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX-512 F/BW/VL/VNNI with AVX2+FMA+F16C.
        SimdLevel::Avx512Vnni => unsafe { super::avx512::axpy(acc, p, v) },
        #[cfg(any(target_arch = "aarch64", edgeplane_neon_emulated))]
        SimdLevel::Neon | SimdLevel::NeonDotprod => super::neon::float::axpy(acc, p, v),
        _ => scalar::axpy(acc, p, v),
    }
}

/// Widens f16 values to f32 (KV cache rows).
pub fn f16_to_f32(simd: Simd, src: &[half::f16], dst: &mut [f32]) {
    match simd.level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2+FMA+F16C.
        SimdLevel::Avx2 | SimdLevel::AvxVnni => unsafe { super::avx2::f16_to_f32(src, dst) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX-512 F/BW/VL/VNNI with AVX2+FMA+F16C.
        SimdLevel::Avx512Vnni => unsafe { super::avx512::f16_to_f32(src, dst) },
        #[cfg(any(target_arch = "aarch64", edgeplane_neon_emulated))]
        SimdLevel::Neon | SimdLevel::NeonDotprod => super::neon::float::f16_to_f32(src, dst),
        _ => scalar::f16_to_f32(src, dst),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::activation::{ActivationFormat, ActivationRow, ActivationRows};

    use crate::noise::noise;

    #[test]
    fn every_simd_level_matches_the_scalar_spec() {
        for dtype in [
            DType::Q4_0,
            DType::Q4_1,
            DType::Q5_0,
            DType::Q5_1,
            DType::Q8_0,
            DType::Q2K,
            DType::Q3K,
            DType::Q4K,
            DType::Q5K,
            DType::Q6K,
            DType::F32,
            DType::F16,
            DType::BF16,
        ] {
            // An odd number of 32-blocks exercises the wide kernels' tail.
            let k = if dtype.block_size() == 32 { 544 } else { 512 };
            for seed in 0..4 {
                let w = crate::noise::random_blocks(dtype, k, seed + 10);
                let x = noise(seed, k);
                let acts = ActivationRows::new(ActivationFormat::for_weight(dtype), &x, k);
                let want = dot(Simd::scalar(), dtype, &w, &acts.row(0));
                assert!(want.is_finite() && want != 0.0, "{dtype}: spec gave {want}");
                let x4 = noise(seed + 50, 4 * k);
                let acts4 = ActivationRows::new(ActivationFormat::for_weight(dtype), &x4, k);
                let rows4: [ActivationRow; 4] = std::array::from_fn(|r| acts4.row(r));
                let want4: Vec<f32> = rows4
                    .iter()
                    .map(|r| dot(Simd::scalar(), dtype, &w, r))
                    .collect();
                for level in SimdLevel::available() {
                    let simd = Simd::new(level).expect("listed as available");
                    let got4 = dot4(simd, dtype, &w, &rows4);
                    for r in 0..4 {
                        let tol = 1e-5 * want4[r].abs().max(1.0);
                        assert!(
                            (got4[r] - want4[r]).abs() <= tol,
                            "{dtype} {level} dot4 row {r}"
                        );
                    }
                    let got = dot(simd, dtype, &w, &acts.row(0));
                    let tol = 1e-5 * want.abs().max(1.0);
                    assert!(
                        (got - want).abs() <= tol,
                        "{dtype} {level}: got {got}, spec {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn float_helpers_match_scalar() {
        let a = noise(1, 131);
        let b = noise(2, 131);
        let want = scalar::dot_f32(&a, &b);
        let direct: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((want - direct).abs() < 1e-4);
        for level in SimdLevel::available() {
            let simd = Simd::new(level).expect("available");
            assert!((dot_f32(simd, &a, &b) - want).abs() < 1e-4, "{level}");
            let mut acc = a.clone();
            axpy(simd, &mut acc, 0.5, &b);
            for i in 0..a.len() {
                assert!((acc[i] - (a[i] + 0.5 * b[i])).abs() < 1e-6);
            }
            let h: Vec<half::f16> = a.iter().map(|&v| half::f16::from_f32(v)).collect();
            let mut out = vec![0.0; h.len()];
            f16_to_f32(simd, &h, &mut out);
            for i in 0..a.len() {
                assert_eq!(out[i], h[i].to_f32());
            }
        }
    }
}
