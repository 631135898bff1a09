//! The packed micro-kernels on AVX-512 VNNI: `RW` panel rows × `RA` activation rows held in
//! registers, each 64-value step one load per row and per activation row.
//!
//! K-quants: `maddubs` (u8 codes × i8 activations → i16 pairs) then `vpdpwssd` with the
//! per-pair i16 scales, summed in i32 over a 256-block and scaled once per block.
//! 32-blocks: `vpdpbusd` per block, scaled per lane by `d_w · d_x`.

// Register tiles index several arrays by the same row/activation/block counter.
#![allow(clippy::needless_range_loop)]

use super::Panel;
use crate::cpu::activation::ActivationRow;
use std::arch::x86_64::*;

/// Loads 64 bytes of `T` at element `at`; panics if out of range.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn load64<T: Copy>(s: &[T], at: usize) -> __m512i {
    let s = &s[at..at + 64 / std::mem::size_of::<T>()];
    // SAFETY: `s` covers exactly 64 readable bytes; loadu has no alignment need.
    unsafe { _mm512_loadu_si512(s.as_ptr().cast()) }
}

/// Loads 32 bytes of `T` at element `at`; panics if out of range.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn load32<T: Copy>(s: &[T], at: usize) -> __m256i {
    let s = &s[at..at + 32 / std::mem::size_of::<T>()];
    // SAFETY: `s` covers exactly 32 readable bytes; loadu has no alignment need.
    unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
}

/// `acc += Σ pairs · scales` per i32 lane: `vpdpwssd`, written out because LLVM's generic
/// tuning splits the intrinsic into `vpmaddwd` + `vpaddd` (one more uop on the port that
/// limits this loop).
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(crate) fn dpwssd(acc: __m512i, pairs: __m512i, scales: __m512i) -> __m512i {
    let mut acc = acc;
    // SAFETY: a register-only instruction of AVX-512 VNNI, which this function's target
    // features (and so every caller's proof token) guarantee.
    unsafe {
        std::arch::asm!(
            "vpdpwssd {acc}, {p}, {s}",
            acc = inout(zmm_reg) acc,
            p = in(zmm_reg) pairs,
            s = in(zmm_reg) scales,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    acc
}

/// K-quant panel rows `row..row + RW` · `acts`: `[r][a]`.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn tile_k<const RW: usize, const RA: usize>(
    p: &Panel,
    row: usize,
    acts: &[ActivationRow; RA],
) -> [[f32; RA]; RW] {
    let k = p.k();
    let blocks = k / 256;
    let codes: [*const u8; RW] = std::array::from_fn(|r| {
        assert!(p.codes(row + r).len() >= k && p.pair_scales(row + r).len() >= k / 2);
        p.codes(row + r).as_ptr()
    });
    let scales: [*const i16; RW] = std::array::from_fn(|r| p.pair_scales(row + r).as_ptr());
    let ds: [&[f32]; RW] = std::array::from_fn(|r| &p.d(row + r)[..blocks]);
    let quants: [*const i8; RA] = std::array::from_fn(|a| {
        assert!(acts[a].quants.len() >= k && acts[a].scales.len() >= blocks);
        assert!(acts[a].group_sums.len() >= k / 16);
        acts[a].quants.as_ptr()
    });
    let group_sums: [*const f32; RA] = std::array::from_fn(|a| acts[a].group_sums.as_ptr());
    let offsets: [*const f32; RW] = std::array::from_fn(|r| {
        assert!(p.offsets(row + r).len() >= k / 16);
        p.offsets(row + r).as_ptr()
    });
    let mut acc = [[_mm512_setzero_ps(); RA]; RW];
    for b in 0..blocks {
        let mut sumi = [[_mm512_setzero_si512(); RA]; RW];
        for c in 0..4 {
            let off = b * 256 + c * 64;
            let mut w = [_mm512_setzero_si512(); RW];
            let mut s = [_mm512_setzero_si512(); RW];
            for r in 0..RW {
                // SAFETY: `off + 64 <= k` (blocks of 256, four 64-steps each) and the
                // asserts above: codes rows hold `k` bytes, scale rows `k / 2` i16.
                unsafe {
                    w[r] = _mm512_loadu_si512(codes[r].add(off).cast());
                    s[r] = _mm512_loadu_si512(scales[r].add(off / 2).cast());
                }
            }
            for a in 0..RA {
                // SAFETY: activation rows hold `k` quants (asserted), `off + 64 <= k`.
                let y = unsafe { _mm512_loadu_si512(quants[a].add(off).cast()) };
                for r in 0..RW {
                    let pairs = _mm512_maddubs_epi16(w[r], y);
                    sumi[r][a] = dpwssd(sumi[r][a], pairs, s[r]);
                }
            }
        }
        // The block's sixteen group offsets against the activations' group sums.
        // SAFETY: offsets and group sums hold `k / 16` floats (asserted); `b * 16 + 16`
        // is at most that.
        let sums: [__m512; RA] =
            std::array::from_fn(|a| unsafe { _mm512_loadu_ps(group_sums[a].add(b * 16)) });
        for r in 0..RW {
            // SAFETY: as above.
            let c = unsafe { _mm512_loadu_ps(offsets[r].add(b * 16)) };
            let dw = _mm512_set1_ps(ds[r][b]);
            for a in 0..RA {
                let scale = _mm512_mul_ps(dw, _mm512_set1_ps(acts[a].scales[b]));
                let v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[r][a]), scale, acc[r][a]);
                acc[r][a] = _mm512_fnmadd_ps(c, sums[a], v);
            }
        }
    }
    let mut out = [[0.0f32; RA]; RW];
    for r in 0..RW {
        for a in 0..RA {
            out[r][a] = _mm512_reduce_add_ps(acc[r][a]);
        }
    }
    out
}

/// `acc[r][a] -= offsets(row + r) · group_sums(a)`, sixteen groups per step (the last
/// step masked), into the same lanes the main sums are reduced from.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn subtract_offsets<const RW: usize, const RA: usize>(
    p: &Panel,
    row: usize,
    acts: &[ActivationRow; RA],
    acc: &mut [[__m512; RA]; RW],
) {
    let groups = p.k() / p.family().group();
    let offsets: [&[f32]; RW] = std::array::from_fn(|r| p.offsets(row + r));
    let mut g = 0;
    while g < groups {
        let lanes = (groups - g).min(16);
        let mask: __mmask16 = if lanes == 16 {
            0xFFFF
        } else {
            (1 << lanes) - 1
        };
        let mut sums = [_mm512_setzero_ps(); RA];
        for a in 0..RA {
            let s = &acts[a].group_sums[g..g + lanes];
            // SAFETY: the mask enables exactly `lanes` elements, all inside `s`.
            sums[a] = unsafe { _mm512_maskz_loadu_ps(mask, s.as_ptr()) };
        }
        for r in 0..RW {
            let o = &offsets[r][g..g + lanes];
            // SAFETY: as above, `lanes` elements inside `o`.
            let c = unsafe { _mm512_maskz_loadu_ps(mask, o.as_ptr()) };
            for a in 0..RA {
                acc[r][a] = _mm512_fnmadd_ps(c, sums[a], acc[r][a]);
            }
        }
        g += lanes;
    }
}

/// 32-block panel rows `row..row + RW` · `acts`: `[r][a]`. A trailing
/// half step (k an odd number of 32-blocks) runs on 256-bit lanes.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn tile_32<const RW: usize, const RA: usize>(
    p: &Panel,
    row: usize,
    acts: &[ActivationRow; RA],
) -> [[f32; RA]; RW] {
    let k = p.k();
    let codes: [&[u8]; RW] = std::array::from_fn(|r| p.codes(row + r));
    let ds: [&[f32]; RW] = std::array::from_fn(|r| p.d(row + r));
    // Lanes 0–7 take the first block's activation scale, lanes 8–15 the second's.
    let pick = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    let zero = _mm512_setzero_si512();
    let mut acc = [[_mm512_setzero_ps(); RA]; RW];
    for c in 0..k / 64 {
        let off = c * 64;
        let mut w = [zero; RW];
        let mut dw = [_mm512_setzero_ps(); RW];
        for r in 0..RW {
            w[r] = load64(codes[r], off);
            dw[r] = _mm512_castsi512_ps(load64(ds[r], off / 4));
        }
        for a in 0..RA {
            let y = load64(acts[a].quants, off);
            let pair = _mm_setr_ps(acts[a].scales[2 * c], acts[a].scales[2 * c + 1], 0.0, 0.0);
            let dy = _mm512_permutexvar_ps(pick, _mm512_castps128_ps512(pair));
            for r in 0..RW {
                let sums = _mm512_dpbusd_epi32(zero, w[r], y);
                let scale = _mm512_mul_ps(dw[r], dy);
                acc[r][a] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), scale, acc[r][a]);
            }
        }
    }
    subtract_offsets(p, row, acts, &mut acc);
    let mut out = [[0.0f32; RA]; RW];
    for r in 0..RW {
        for a in 0..RA {
            out[r][a] = _mm512_reduce_add_ps(acc[r][a]);
        }
    }
    if !k.is_multiple_of(64) {
        let off = k - 32;
        for r in 0..RW {
            let w = load32(codes[r], off);
            let dw = _mm256_castsi256_ps(load32(ds[r], off / 4));
            for a in 0..RA {
                let y = load32(acts[a].quants, off);
                let sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, y);
                let scale = _mm256_mul_ps(dw, _mm256_set1_ps(acts[a].scales[off / 32]));
                let v = _mm256_mul_ps(_mm256_cvtepi32_ps(sums), scale);
                out[r][a] += _mm512_reduce_add_ps(_mm512_zextps256_ps512(v));
            }
        }
    }
    out
}
