//! The blocked attention kernel on AVX2 (and AVX-VNNI, which adds nothing for floats):
//! eight f32 lanes, two vectors (16 dims) per head in the V accumulation, so four heads'
//! eight accumulators, the V row's two vectors and a weight fit the sixteen registers.

use super::Lanes;
use crate::cpu::attention::{AttentionParams, KvCache, Partial};
use std::arch::x86_64::*;
use std::ops::Range;

/// Vectors per head in the V accumulation.
const VECS: usize = 2;

/// Eight f32 lanes.
#[derive(Clone, Copy)]
struct Ymm(__m256);

/// Whether [`attend_group`] takes this shape: head_dim a multiple of 16.
pub fn supports(p: &AttentionParams) -> bool {
    super::supports::<Ymm, VECS>(p)
}

/// The query heads of KV head `g` over `keys` (see the parent module).
///
/// # Panics
/// If the shape is not [`supports`]ed or the caches are shorter than `keys` needs.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn attend_group(
    p: &AttentionParams,
    q: &[f32],
    k: KvCache,
    v: KvCache,
    g: usize,
    keys: Range<usize>,
) -> Partial {
    // SAFETY: this function's features are the ones `Ymm`'s methods use.
    unsafe { super::attend_group::<Ymm, VECS>(p, q, k, v, g, keys) }
}

impl Lanes for Ymm {
    const N: usize = 8;

    #[inline(always)]
    unsafe fn zero() -> Ymm {
        // SAFETY: AVX (the trait's contract).
        Ymm(unsafe { _mm256_setzero_ps() })
    }

    #[inline(always)]
    unsafe fn splat(x: f32) -> Ymm {
        // SAFETY: AVX (the trait's contract).
        Ymm(unsafe { _mm256_set1_ps(x) })
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Ymm {
        // SAFETY: the caller's contract: eight readable f32 (no alignment needed).
        Ymm(unsafe { _mm256_loadu_ps(p) })
    }

    #[inline(always)]
    unsafe fn load_f16(p: *const half::f16) -> Ymm {
        // SAFETY: the caller's contract: eight readable f16 (16 bytes); F16C.
        Ymm(unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast())) })
    }

    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller's contract: eight writable f32.
        unsafe { _mm256_storeu_ps(p, self.0) }
    }

    #[inline(always)]
    unsafe fn mul_add(a: Ymm, b: Ymm, c: Ymm) -> Ymm {
        // SAFETY: FMA (the trait's contract).
        Ymm(unsafe { _mm256_fmadd_ps(a.0, b.0, c.0) })
    }

    #[inline(always)]
    unsafe fn add(a: Ymm, b: Ymm) -> Ymm {
        // SAFETY: AVX (the trait's contract).
        Ymm(unsafe { _mm256_add_ps(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn sub(a: Ymm, b: Ymm) -> Ymm {
        // SAFETY: AVX2 (the trait's contract).
        Ymm(unsafe { _mm256_sub_ps(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn mul(a: Ymm, b: Ymm) -> Ymm {
        // SAFETY: AVX2 (the trait's contract).
        Ymm(unsafe { _mm256_mul_ps(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn max(a: Ymm, b: Ymm) -> Ymm {
        // SAFETY: AVX2 (the trait's contract).
        Ymm(unsafe { _mm256_max_ps(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn pow2(n: Ymm) -> Ymm {
        // SAFETY: AVX2 (the trait's contract).
        unsafe {
            let biased = _mm256_add_epi32(_mm256_cvtps_epi32(n.0), _mm256_set1_epi32(127));
            Ymm(_mm256_castsi256_ps(_mm256_slli_epi32::<23>(biased)))
        }
    }

    #[inline(always)]
    unsafe fn sum4(v: [Ymm; 4]) -> [f32; 4] {
        // SAFETY: AVX (the trait's contract); `out` has room for four f32.
        unsafe {
            // Pairwise adds across the four registers, then the two 128-bit halves.
            let t = _mm256_hadd_ps(
                _mm256_hadd_ps(v[0].0, v[1].0),
                _mm256_hadd_ps(v[2].0, v[3].0),
            );
            let s = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps::<1>(t));
            let mut out = [0.0f32; 4];
            _mm_storeu_ps(out.as_mut_ptr(), s);
            out
        }
    }
}
