//! The packed micro-kernels on AVX2 (laptops and desktops without AVX-512): the same tiles as
//! `avx512.rs` on 256-bit lanes, with `maddubs` + `madd` in place of the VNNI dots.
//!
//! `maddubs` adds two u8·i8 products into an i16 and saturates, so codes must stay ≤ 127:
//! true for every format but Q8_0 (codes up to 255), which the dispatcher keeps on the
//! scalar kernel here (Q8_0 has a direct AVX2 kernel and never needs the panel on AVX2).

// Register tiles index several arrays by the same row/activation/block counter.
#![allow(clippy::needless_range_loop)]

use super::Panel;
use crate::cpu::activation::ActivationRow;
use std::arch::x86_64::*;

/// Sum of the eight lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
}

/// Loads 32 bytes of `T` at element `at`; panics if out of range.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn load32<T: Copy>(s: &[T], at: usize) -> __m256i {
    let s = &s[at..at + 32 / std::mem::size_of::<T>()];
    // SAFETY: `s` covers exactly 32 readable bytes; loadu has no alignment need.
    unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
}

/// Loads eight f32 at `at`; panics if out of range.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn load8f(s: &[f32], at: usize) -> __m256 {
    _mm256_castsi256_ps(load32(s, at))
}

/// K-quant panel rows `row..row + RW` · `acts`: `[r][a]`. AVX2 has sixteen vector
/// registers, so the tile runs as 2 × 2 sub-tiles (2 × 1 for an odd activation): a 4 × 3
/// tile's 24 accumulators spilled and ran slower than the per-row kernels.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn tile_k<const RW: usize, const RA: usize>(
    p: &Panel,
    row: usize,
    acts: &[ActivationRow; RA],
) -> [[f32; RA]; RW] {
    let mut out = [[0.0f32; RA]; RW];
    for r0 in (0..RW).step_by(2) {
        let mut a = 0;
        while a + 2 <= RA {
            let t = sub_tile_k::<2>(p, row + r0, [&acts[a], &acts[a + 1]]);
            for (r, t) in t.iter().enumerate() {
                out[r0 + r][a..a + 2].copy_from_slice(t);
            }
            a += 2;
        }
        if a < RA {
            let t = sub_tile_k::<1>(p, row + r0, [&acts[a]]);
            for (r, t) in t.iter().enumerate() {
                out[r0 + r][a] = t[0];
            }
        }
    }
    out
}

/// Two panel rows from `row` · `RA` activation rows.
#[target_feature(enable = "avx2,fma,f16c")]
fn sub_tile_k<const RA: usize>(
    p: &Panel,
    row: usize,
    acts: [&ActivationRow; RA],
) -> [[f32; RA]; 2] {
    const RW: usize = 2;
    let codes: [&[u8]; RW] = std::array::from_fn(|r| p.codes(row + r));
    let scales: [&[i16]; RW] = std::array::from_fn(|r| p.pair_scales(row + r));
    let ds: [&[f32]; RW] = std::array::from_fn(|r| p.d(row + r));
    let offsets: [&[f32]; RW] = std::array::from_fn(|r| p.offsets(row + r));
    let mut acc = [[_mm256_setzero_ps(); RA]; RW];
    for b in 0..p.k() / 256 {
        let mut sumi = [[_mm256_setzero_si256(); RA]; RW];
        for c in 0..8 {
            let off = b * 256 + c * 32;
            let w: [__m256i; RW] = std::array::from_fn(|r| load32(codes[r], off));
            let s: [__m256i; RW] = std::array::from_fn(|r| load32(scales[r], off / 2));
            for a in 0..RA {
                let y = load32(acts[a].quants, off);
                for r in 0..RW {
                    let pairs = _mm256_maddubs_epi16(w[r], y);
                    sumi[r][a] = _mm256_add_epi32(sumi[r][a], _mm256_madd_epi16(pairs, s[r]));
                }
            }
        }
        for r in 0..RW {
            let dw = ds[r][b];
            for a in 0..RA {
                let scale = _mm256_set1_ps(dw * acts[a].scales[b]);
                let v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r][a]), scale, acc[r][a]);
                // Sixteen group offsets per block, eight per step.
                let g = b * 16;
                let v = _mm256_fnmadd_ps(load8f(offsets[r], g), load8f(acts[a].group_sums, g), v);
                acc[r][a] = _mm256_fnmadd_ps(
                    load8f(offsets[r], g + 8),
                    load8f(acts[a].group_sums, g + 8),
                    v,
                );
            }
        }
    }
    let mut out = [[0.0f32; RA]; RW];
    for r in 0..RW {
        for a in 0..RA {
            out[r][a] = hsum(acc[r][a]);
        }
    }
    out
}

/// 32-block panel rows `row..row + RW` · `acts`: `[r][a]`; codes must be ≤ 127.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn tile_32<const RW: usize, const RA: usize>(
    p: &Panel,
    row: usize,
    acts: &[ActivationRow; RA],
) -> [[f32; RA]; RW] {
    let k = p.k();
    let codes: [&[u8]; RW] = std::array::from_fn(|r| p.codes(row + r));
    let ds: [&[f32]; RW] = std::array::from_fn(|r| p.d(row + r));
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_ps(); RA]; RW];
    for blk in 0..k / 32 {
        let off = blk * 32;
        let w: [__m256i; RW] = std::array::from_fn(|r| load32(codes[r], off));
        for a in 0..RA {
            let y = load32(acts[a].quants, off);
            let dy = acts[a].scales[blk];
            for r in 0..RW {
                let sums = _mm256_madd_epi16(_mm256_maddubs_epi16(w[r], y), ones);
                let scale = _mm256_set1_ps(ds[r][off / 4] * dy);
                acc[r][a] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), scale, acc[r][a]);
            }
        }
    }
    let mut out = [[0.0f32; RA]; RW];
    for r in 0..RW {
        let offsets = p.offsets(row + r);
        for a in 0..RA {
            let mut o = _mm256_setzero_ps();
            let mut g = 0;
            while g + 8 <= offsets.len() {
                o = _mm256_fmadd_ps(load8f(offsets, g), load8f(acts[a].group_sums, g), o);
                g += 8;
            }
            let tail: f32 = offsets[g..]
                .iter()
                .zip(&acts[a].group_sums[g..])
                .map(|(c, s)| c * s)
                .sum();
            out[r][a] = hsum(acc[r][a]) - hsum(o) - tail;
        }
    }
    out
}
