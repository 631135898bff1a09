//! The blocked attention kernel on AVX-512: sixteen f32 lanes, four vectors (64 dims) per
//! head in the V accumulation (sixteen of the 32 registers for four heads).

use super::Lanes;
use crate::cpu::attention::{AttentionParams, KvCache, Partial};
use std::arch::x86_64::*;
use std::ops::Range;

/// Vectors per head in the V accumulation.
const VECS: usize = 4;

/// Sixteen f32 lanes.
#[derive(Clone, Copy)]
struct Zmm(__m512);

/// Whether [`attend_group`] takes this shape: head_dim a multiple of 64.
pub fn supports(p: &AttentionParams) -> bool {
    super::supports::<Zmm, VECS>(p)
}

/// The query heads of KV head `g` over `keys` (see the parent module).
///
/// # Panics
/// If the shape is not [`supports`]ed or the caches are shorter than `keys` needs.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn attend_group(
    p: &AttentionParams,
    q: &[f32],
    k: KvCache,
    v: KvCache,
    g: usize,
    keys: Range<usize>,
) -> Partial {
    // SAFETY: this function's features are the ones `Zmm`'s methods use.
    unsafe { super::attend_group::<Zmm, VECS>(p, q, k, v, g, keys) }
}

impl Lanes for Zmm {
    const N: usize = 16;

    #[inline(always)]
    unsafe fn zero() -> Zmm {
        // SAFETY: AVX-512 F (the trait's contract).
        Zmm(unsafe { _mm512_setzero_ps() })
    }

    #[inline(always)]
    unsafe fn splat(x: f32) -> Zmm {
        // SAFETY: AVX-512 F (the trait's contract).
        Zmm(unsafe { _mm512_set1_ps(x) })
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Zmm {
        // SAFETY: the caller's contract: sixteen readable f32 (no alignment needed).
        Zmm(unsafe { _mm512_loadu_ps(p) })
    }

    #[inline(always)]
    unsafe fn load_f16(p: *const half::f16) -> Zmm {
        // SAFETY: the caller's contract: sixteen readable f16 (32 bytes).
        Zmm(unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(p.cast())) })
    }

    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller's contract: sixteen writable f32.
        unsafe { _mm512_storeu_ps(p, self.0) }
    }

    #[inline(always)]
    unsafe fn mul_add(a: Zmm, b: Zmm, c: Zmm) -> Zmm {
        // SAFETY: AVX-512 F (the trait's contract).
        Zmm(unsafe { _mm512_fmadd_ps(a.0, b.0, c.0) })
    }

    #[inline(always)]
    unsafe fn add(a: Zmm, b: Zmm) -> Zmm {
        // SAFETY: AVX-512 F (the trait's contract).
        Zmm(unsafe { _mm512_add_ps(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn sub(a: Zmm, b: Zmm) -> Zmm {
        // SAFETY: AVX-512 F (the trait's contract).
        Zmm(unsafe { _mm512_sub_ps(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn mul(a: Zmm, b: Zmm) -> Zmm {
        // SAFETY: AVX-512 F (the trait's contract).
        Zmm(unsafe { _mm512_mul_ps(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn max(a: Zmm, b: Zmm) -> Zmm {
        // SAFETY: AVX-512 F (the trait's contract).
        Zmm(unsafe { _mm512_max_ps(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn pow2(n: Zmm) -> Zmm {
        // SAFETY: AVX-512 F (the trait's contract).
        unsafe {
            let biased = _mm512_add_epi32(_mm512_cvtps_epi32(n.0), _mm512_set1_epi32(127));
            Zmm(_mm512_castsi512_ps(_mm512_slli_epi32::<23>(biased)))
        }
    }

    #[inline(always)]
    unsafe fn sum4(v: [Zmm; 4]) -> [f32; 4] {
        // SAFETY: AVX-512 F and AVX (the trait's contract); `out` has room for four f32.
        unsafe {
            // Halve each register, then pairwise adds across the four.
            let half = |a: __m512| {
                let high = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)));
                _mm256_add_ps(_mm512_castps512_ps256(a), high)
            };
            let t = _mm256_hadd_ps(
                _mm256_hadd_ps(half(v[0].0), half(v[1].0)),
                _mm256_hadd_ps(half(v[2].0), half(v[3].0)),
            );
            let s = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps::<1>(t));
            let mut out = [0.0f32; 4];
            _mm_storeu_ps(out.as_mut_ptr(), s);
            out
        }
    }
}
