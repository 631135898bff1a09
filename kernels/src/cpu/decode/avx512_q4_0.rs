//! Q4_0 decode on AVX-512 VNNI (256-bit EVEX registers: every vector port takes them, and
//! 512-bit ones would leave only two).
//!
//! A pair of Q4_0 blocks is 32 nibble bytes; one 256-bit register holds both blocks'
//! bytes, masked once for the low nibbles (values 0–15 of each block) and shifted once for
//! the high ones (values 16–31). [`Pairs`] stores the activation quants in that order, the
//! `−8` offset as precomputed lane sums (`−8 · Σ y` over the values each i32 lane covers,
//! the accumulator's starting value), and the activation scales per lane, so per pair the
//! loop is two loads, three logic ops, two `vpdpbusd`, and the scale multiply.

use crate::cpu::activation::ActivationRow;
use crate::cpu::layout::q4_0;
use std::arch::x86_64::*;

/// An activation row laid out for [`dot`], per pair of 32-blocks `p`.
#[derive(Debug)]
pub struct Pairs {
    /// 64 bytes per pair: block `2p`'s values 0–15, block `2p+1`'s 0–15, then both
    /// blocks' values 16–31.
    quants: Vec<i8>,
    /// 8 lanes per pair: `−8 ×` the sum of the eight activation values lane `j` meets
    /// (lanes 0–3 block `2p`, 4–7 block `2p+1`).
    offsets: Vec<i32>,
    /// 8 lanes per pair: the block's activation scale, per lane.
    scales: Vec<f32>,
}

impl Pairs {
    /// Lays out the whole pairs of `a` (a Q8_0-style 32-block row); an odd last block is
    /// left to the caller's tail.
    pub fn new(a: &ActivationRow) -> Pairs {
        let pairs = a.scales.len() / 2;
        let mut quants = Vec::with_capacity(pairs * 64);
        let mut offsets = Vec::with_capacity(pairs * 8);
        let mut scales = Vec::with_capacity(pairs * 8);
        for p in 0..pairs {
            let (b0, b1) = (
                &a.quants[p * 64..p * 64 + 32],
                &a.quants[p * 64 + 32..p * 64 + 64],
            );
            quants.extend_from_slice(&b0[..16]);
            quants.extend_from_slice(&b1[..16]);
            quants.extend_from_slice(&b0[16..]);
            quants.extend_from_slice(&b1[16..]);
            for b in [b0, b1] {
                for j in 0..4 {
                    let lo: i32 = b[4 * j..4 * j + 4].iter().map(|&v| i32::from(v)).sum();
                    let hi: i32 = b[16 + 4 * j..20 + 4 * j]
                        .iter()
                        .map(|&v| i32::from(v))
                        .sum();
                    offsets.push(-8 * (lo + hi));
                }
            }
            scales.extend(std::iter::repeat_n(a.scales[2 * p], 4));
            scales.extend(std::iter::repeat_n(a.scales[2 * p + 1], 4));
        }
        Pairs {
            quants,
            offsets,
            scales,
        }
    }

    fn pairs(&self) -> usize {
        self.offsets.len() / 8
    }
}

/// One Q4_0 weight row (`w`, whole blocks) · the activation row `a` laid out as `pairs`.
///
/// # Panics
/// If `w` does not hold exactly the blocks `a` describes.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn dot(w: &[u8], pairs: &Pairs, a: &ActivationRow) -> f32 {
    let blocks = a.scales.len();
    assert_eq!(
        w.len(),
        blocks * q4_0::BYTES,
        "weight row matches the activation row"
    );
    let np = pairs.pairs();
    let mut acc = [_mm256_setzero_ps(); 2];
    let wp = w.as_ptr();
    let (qp, op, sp) = (
        pairs.quants.as_ptr(),
        pairs.offsets.as_ptr(),
        pairs.scales.as_ptr(),
    );
    // Two accumulators so consecutive pairs' FMAs do not wait on each other.
    let mut p = 0;
    while p + 2 <= np {
        // SAFETY: pairs `p, p + 1 < np ≤ blocks / 2` cover weight bytes up to
        // `(p + 2)·36 ≤ w.len()` (asserted above) and `pairs`' entries up to `(p + 2)·64`
        // and `(p + 2)·8`; the prefetch is a hint and may point anywhere.
        unsafe {
            let at = wp.add(p * 2 * q4_0::BYTES);
            _mm_prefetch::<_MM_HINT_T0>(
                at.wrapping_add(crate::cpu::x86_kernels::PREFETCH_AHEAD)
                    .cast(),
            );
            let (s0, d0) = pair(at, qp.add(p * 64), op.add(p * 8), sp.add(p * 8));
            acc[0] = _mm256_fmadd_ps(s0, d0, acc[0]);
            let at = at.add(2 * q4_0::BYTES);
            let (s1, d1) = pair(
                at,
                qp.add(p * 64 + 64),
                op.add(p * 8 + 8),
                sp.add(p * 8 + 8),
            );
            acc[1] = _mm256_fmadd_ps(s1, d1, acc[1]);
        }
        p += 2;
    }
    if p < np {
        // SAFETY: as above for the single pair `p < np`.
        unsafe {
            let at = wp.add(p * 2 * q4_0::BYTES);
            let (s0, d0) = pair(at, qp.add(p * 64), op.add(p * 8), sp.add(p * 8));
            acc[0] = _mm256_fmadd_ps(s0, d0, acc[0]);
        }
    }
    let v = _mm256_add_ps(acc[0], acc[1]);
    let h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    let mut sum = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
    if blocks % 2 == 1 {
        let b = blocks - 1;
        let tail = ActivationRow {
            scales: &a.scales[b..],
            quants: &a.quants[b * 32..],
            ..*a
        };
        sum += crate::cpu::scalar::dot_q4_0(&w[b * q4_0::BYTES..], &tail);
    }
    sum
}

/// One pair of blocks at `at` (weights) against its layout entries: the integer sums per
/// lane (as f32) and the per-lane scale `d_w · d_a`.
///
/// # Safety
/// `at` must point at 36 readable weight bytes, `y` at 64 quants, `offsets` and `scales` at
/// 8 entries each.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn pair(
    at: *const u8,
    y: *const i8,
    offsets: *const i32,
    scales: *const f32,
) -> (__m256, __m256) {
    let m4 = _mm256_set1_epi8(0xF);
    // SAFETY: the caller guarantees every pointer's extent (see above).
    unsafe {
        let x = _mm256_inserti128_si256::<1>(
            _mm256_castsi128_si256(_mm_loadu_si128(at.add(q4_0::QS).cast())),
            _mm_loadu_si128(at.add(q4_0::BYTES + q4_0::QS).cast()),
        );
        let lo = _mm256_and_si256(x, m4);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), m4);
        let mut s = _mm256_loadu_si256(offsets.cast());
        s = _mm256_dpbusd_epi32(s, lo, _mm256_loadu_si256(y.cast()));
        s = _mm256_dpbusd_epi32(s, hi, _mm256_loadu_si256(y.add(32).cast()));
        let bits = u32::from(at.cast::<u16>().read_unaligned())
            | (u32::from(at.add(q4_0::BYTES).cast::<u16>().read_unaligned()) << 16);
        let dw = _mm256_permutevar8x32_ps(
            _mm256_castps128_ps256(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32))),
            _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1),
        );
        (
            _mm256_cvtepi32_ps(s),
            _mm256_mul_ps(dw, _mm256_loadu_ps(scales)),
        )
    }
}

/// One Q4_0 weight row (`w`) against `R` activation rows at once (each laid out as its
/// [`Pairs`]): every pair of weight blocks is loaded and split into nibbles once and used
/// `R` times, which is what makes small batches (speculative decode, a few sequences)
/// cheaper per row than `R` separate [`dot`]s.
///
/// # Panics
/// If `w` does not hold exactly the blocks every activation row describes.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn dot_rows<const R: usize>(w: &[u8], acts: [(&Pairs, &ActivationRow); R]) -> [f32; R] {
    let blocks = w.len() / q4_0::BYTES;
    assert_eq!(w.len() % q4_0::BYTES, 0, "whole weight blocks");
    for (pairs, a) in &acts {
        assert_eq!(
            a.scales.len(),
            blocks,
            "weight row matches the activation row"
        );
        assert_eq!(
            pairs.pairs(),
            blocks / 2,
            "pairs belong to this activation row"
        );
    }
    let mut acc = [_mm256_setzero_ps(); R];
    let wp = w.as_ptr();
    let m4 = _mm256_set1_epi8(0xF);
    for p in 0..blocks / 2 {
        // SAFETY: pair `p < blocks / 2` covers weight bytes up to `(p + 1)·72 ≤ w.len()`
        // and each layout's entries up to `(p + 1)·64` and `(p + 1)·8` (asserted above);
        // the prefetch is a hint and may point anywhere.
        unsafe {
            let at = wp.add(p * 2 * q4_0::BYTES);
            _mm_prefetch::<_MM_HINT_T0>(
                at.wrapping_add(crate::cpu::x86_kernels::PREFETCH_AHEAD)
                    .cast(),
            );
            let x = _mm256_inserti128_si256::<1>(
                _mm256_castsi128_si256(_mm_loadu_si128(at.add(q4_0::QS).cast())),
                _mm_loadu_si128(at.add(q4_0::BYTES + q4_0::QS).cast()),
            );
            let lo = _mm256_and_si256(x, m4);
            let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), m4);
            let bits = u32::from(at.cast::<u16>().read_unaligned())
                | (u32::from(at.add(q4_0::BYTES).cast::<u16>().read_unaligned()) << 16);
            let dw = _mm256_permutevar8x32_ps(
                _mm256_castps128_ps256(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32))),
                _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1),
            );
            for (acc, (pairs, _)) in acc.iter_mut().zip(&acts) {
                let y = pairs.quants.as_ptr().add(p * 64);
                let mut s = _mm256_loadu_si256(pairs.offsets.as_ptr().add(p * 8).cast());
                s = _mm256_dpbusd_epi32(s, lo, _mm256_loadu_si256(y.cast()));
                s = _mm256_dpbusd_epi32(s, hi, _mm256_loadu_si256(y.add(32).cast()));
                let d = _mm256_mul_ps(dw, _mm256_loadu_ps(pairs.scales.as_ptr().add(p * 8)));
                *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), d, *acc);
            }
        }
    }
    let mut sums = [0.0f32; R];
    for ((sum, v), (_, a)) in sums.iter_mut().zip(acc).zip(&acts) {
        let h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        *sum = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
        if blocks % 2 == 1 {
            let b = blocks - 1;
            let tail = ActivationRow {
                scales: &a.scales[b..],
                quants: &a.quants[b * 32..],
                ..**a
            };
            *sum += crate::cpu::scalar::dot_q4_0(&w[b * q4_0::BYTES..], &tail);
        }
    }
    sums
}
