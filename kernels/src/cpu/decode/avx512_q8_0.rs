//! Q8_0 decode on AVX-512 VNNI (256-bit EVEX registers). `vpdpbusd` multiplies unsigned by
//! signed bytes, so the signed weights are flipped to `x + 128` with one `xor` and the
//! `128 · Σ y` this adds is taken back by starting each block's accumulator at
//! [`Offsets`]' precomputed `−128 · Σ y` per lane: per block, one logic op and one
//! `vpdpbusd` instead of the `abs`/sign-transfer pair of the shared kernel.

use crate::cpu::activation::ActivationRow;
use crate::cpu::layout::q8_0;
use std::arch::x86_64::*;

/// `−128 ×` the sum of the four activation values each i32 lane of a block meets.
#[derive(Debug)]
pub struct Offsets(Vec<i32>);

impl Offsets {
    /// The offsets of a Q8_0-style 32-block activation row.
    pub fn new(a: &ActivationRow) -> Offsets {
        Offsets(
            a.quants
                .chunks_exact(4)
                .map(|c| -128 * c.iter().map(|&v| i32::from(v)).sum::<i32>())
                .collect(),
        )
    }
}

/// One Q8_0 weight row (`w`, whole blocks) · the activation row `a` with its `offsets`.
///
/// # Panics
/// If `w` does not hold exactly the blocks `a` describes.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn dot(w: &[u8], offsets: &Offsets, a: &ActivationRow) -> f32 {
    let blocks = a.scales.len();
    assert_eq!(
        w.len(),
        blocks * q8_0::BYTES,
        "weight row matches the activation row"
    );
    assert_eq!(
        offsets.0.len(),
        blocks * 8,
        "offsets belong to this activation row"
    );
    assert_eq!(a.quants.len(), blocks * 32, "one activation row");
    let mut acc = [_mm256_setzero_ps(); 2];
    let (wp, yp, op, sp) = (
        w.as_ptr(),
        a.quants.as_ptr(),
        offsets.0.as_ptr(),
        a.scales.as_ptr(),
    );
    // Two accumulators so consecutive blocks' FMAs do not wait on each other.
    let mut b = 0;
    while b < blocks {
        // SAFETY: blocks `b` and (if `b + 1 < blocks`) `b + 1` cover weight bytes up to
        // `blocks·34 = w.len()`, quants, offsets and scales inside their asserted lengths;
        // the prefetch is a hint and may point anywhere.
        unsafe {
            let at = wp.add(b * q8_0::BYTES);
            _mm_prefetch::<_MM_HINT_T0>(
                at.wrapping_add(crate::cpu::x86_kernels::PREFETCH_AHEAD)
                    .cast(),
            );
            let (s0, d0) = block(at, yp.add(b * 32), op.add(b * 8), *sp.add(b));
            acc[0] = _mm256_fmadd_ps(s0, d0, acc[0]);
            if b + 1 < blocks {
                let at = at.add(q8_0::BYTES);
                let (s1, d1) = block(at, yp.add(b * 32 + 32), op.add(b * 8 + 8), *sp.add(b + 1));
                acc[1] = _mm256_fmadd_ps(s1, d1, acc[1]);
            }
        }
        b += 2;
    }
    let v = _mm256_add_ps(acc[0], acc[1]);
    let h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)))
}

/// One block at `at` against its activation quants `y`, lane offsets and scale: the lane
/// sums (as f32) and `d_w · d_a` in every lane.
///
/// # Safety
/// `at` must point at 34 readable weight bytes, `y` at 32 quants, `offsets` at 8 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn block(at: *const u8, y: *const i8, offsets: *const i32, scale: f32) -> (__m256, __m256) {
    // SAFETY: the caller guarantees every pointer's extent (see above).
    unsafe {
        let x = _mm256_xor_si256(
            _mm256_loadu_si256(at.add(q8_0::QS).cast()),
            _mm256_set1_epi8(-128),
        );
        let s = _mm256_dpbusd_epi32(
            _mm256_loadu_si256(offsets.cast()),
            x,
            _mm256_loadu_si256(y.cast()),
        );
        let dw = _mm256_cvtph_ps(_mm_set1_epi16(at.cast::<i16>().read_unaligned()));
        (
            _mm256_cvtepi32_ps(s),
            _mm256_mul_ps(dw, _mm256_set1_ps(scale)),
        )
    }
}

/// One Q8_0 weight row (`w`) against `R` activation rows at once (each with its
/// [`Offsets`]): every weight block is loaded and flipped once and used `R` times.
///
/// # Panics
/// If `w` does not hold exactly the blocks every activation row describes.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn dot_rows<const R: usize>(w: &[u8], acts: [(&Offsets, &ActivationRow); R]) -> [f32; R] {
    let blocks = w.len() / q8_0::BYTES;
    assert_eq!(w.len() % q8_0::BYTES, 0, "whole weight blocks");
    for (offsets, a) in &acts {
        assert_eq!(
            a.scales.len(),
            blocks,
            "weight row matches the activation row"
        );
        assert_eq!(a.quants.len(), blocks * 32, "one activation row");
        assert_eq!(
            offsets.0.len(),
            blocks * 8,
            "offsets belong to this activation row"
        );
    }
    let mut acc = [_mm256_setzero_ps(); R];
    let wp = w.as_ptr();
    for b in 0..blocks {
        // SAFETY: block `b < blocks` covers weight bytes up to `(b + 1)·34 = w.len()` at
        // most, quants, offsets and scales inside their asserted lengths; the prefetch is
        // a hint and may point anywhere.
        unsafe {
            let at = wp.add(b * q8_0::BYTES);
            _mm_prefetch::<_MM_HINT_T0>(
                at.wrapping_add(crate::cpu::x86_kernels::PREFETCH_AHEAD)
                    .cast(),
            );
            let x = _mm256_xor_si256(
                _mm256_loadu_si256(at.add(q8_0::QS).cast()),
                _mm256_set1_epi8(-128),
            );
            let dw = _mm256_cvtph_ps(_mm_set1_epi16(at.cast::<i16>().read_unaligned()));
            for (acc, (offsets, a)) in acc.iter_mut().zip(&acts) {
                let s = _mm256_dpbusd_epi32(
                    _mm256_loadu_si256(offsets.0.as_ptr().add(b * 8).cast()),
                    x,
                    _mm256_loadu_si256(a.quants.as_ptr().add(b * 32).cast()),
                );
                let d = _mm256_mul_ps(dw, _mm256_set1_ps(*a.scales.get_unchecked(b)));
                *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), d, *acc);
            }
        }
    }
    acc.map(|v| {
        let h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)))
    })
}
