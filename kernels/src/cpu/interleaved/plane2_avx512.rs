//! The Q2_K and Q3_K tile kernels on AVX-512 VNNI: one zmm lane per weight row.
//!
//! Per 16-value sub-block: one load of the plane, four registers of byte codes out of it
//! (a shift and a mask each; Q3_K adds its third bits with one masked byte add per
//! register), then per activation row four `vpdpbusd` against broadcast activation bytes
//! in two chains, and the sub-block's scales applied in i32 with one `vpmulld`. Q3_K's
//! `−4` starts each sub-block's chain as `−4 · Σ y` (exact: 16 sub-blocks × 32 ×
//! (16 × 7 × 127 + 4 × 2032) < 2³¹); Q2_K's mins take one `vpdpwssd` per two sub-blocks,
//! their mins as an i16 pair against the activation's two per-16 sums. The block is folded into the f32 accumulators
//! once (Q2_K twice: scales and mins).

use super::plane2::{TileQ2K, TileQ3K};
use super::{prefetch_lines, Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use crate::cpu::packed::avx512::dpwssd;
use std::arch::x86_64::*;

/// Values `16s + 4f + j` (`f` = 0..4) of each row as bytes, from a plane.
#[inline(always)]
fn plane_codes(plane: *const u8) -> [__m512i; 4] {
    // SAFETY: the callers pass a 64-byte plane of a tile, and run with AVX-512 F/BW.
    unsafe {
        let p = _mm512_loadu_si512(plane.cast());
        let m3 = _mm512_set1_epi8(3);
        [
            _mm512_and_si512(p, m3),
            _mm512_and_si512(_mm512_srli_epi16::<2>(p), m3),
            _mm512_and_si512(_mm512_srli_epi16::<4>(p), m3),
            _mm512_and_si512(_mm512_srli_epi16::<6>(p), m3),
        ]
    }
}

/// Per activation row, `start + Σ codes[f] · y[4f..4f + 4]` in two chains (`y` at the
/// sub-block's first quant).
///
/// # Safety
/// AVX-512 VNNI, and `y..y + 16` readable.
#[inline(always)]
unsafe fn sub_block_dot(start: __m512i, codes: &[__m512i; 4], y: *const i8) -> __m512i {
    // SAFETY: the caller's contract.
    unsafe {
        let y = y.cast::<i32>();
        let at = |f: usize| _mm512_set1_epi32(y.add(f).read_unaligned());
        let mut c0 = _mm512_dpbusd_epi32(start, codes[0], at(0));
        let mut c1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), codes[1], at(1));
        c0 = _mm512_dpbusd_epi32(c0, codes[2], at(2));
        c1 = _mm512_dpbusd_epi32(c1, codes[3], at(3));
        _mm512_add_epi32(c0, c1)
    }
}

/// `out[i][r] = Σ_b W[r]·x_i` over the blocks of `tile` for the `R` activation rows `acts`.
///
/// # Panics
/// If an activation row does not have `256 · tile.len()` values.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn dot_q2_k<const R: usize>(
    tile: &[TileQ2K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers { quants, sums, .. } = super::checked_rows(tile.len(), &acts);
    let m4 = _mm512_set1_epi32(0xF);
    let mut acc = [_mm512_setzero_ps(); R];
    for (b, t) in tile.iter().enumerate() {
        // The header lines (d, dmin, scales) of the tile ahead; the planes' lines are asked
        // for as they are reached. A prefetch is a hint: any address will do.
        prefetch_lines((t as *const TileQ2K).cast(), TileQ2K::HEADER_LINES);
        let mut isum = [_mm512_setzero_si512(); R];
        let mut imin = [_mm512_setzero_si512(); R];
        for pair in 0..8 {
            // The two sub-blocks' mins, one per i16 half of each lane.
            let mut mins = [_mm512_setzero_si512(); 2];
            for (half, s) in [2 * pair, 2 * pair + 1].into_iter().enumerate() {
                let plane = t.planes[s].as_ptr().cast::<u8>();
                prefetch_lines(plane, 1);
                let codes = plane_codes(plane);
                // SAFETY: each `scales[s]` row is 16 bytes.
                let raw =
                    unsafe { _mm512_cvtepu8_epi32(_mm_loadu_si128(t.scales[s].as_ptr().cast())) };
                let sc = _mm512_and_si512(raw, m4);
                mins[half] = _mm512_srli_epi32::<4>(raw);
                for i in 0..R {
                    // SAFETY: every row has `256 · tile.len()` quants (asserted), so quants
                    // `256b + 16s ..+ 16` exist.
                    let sub = unsafe {
                        sub_block_dot(
                            _mm512_setzero_si512(),
                            &codes,
                            quants[i].add(256 * b + 16 * s),
                        )
                    };
                    isum[i] = _mm512_add_epi32(isum[i], _mm512_mullo_epi32(sub, sc));
                }
            }
            let mins = _mm512_or_si512(mins[0], _mm512_slli_epi32::<16>(mins[1]));
            for i in 0..R {
                // The two per-16 sums as one i16 pair against the mins: one `vpdpwssd`.
                // SAFETY: each row has 16 sums per tile (asserted) and `2·pair + 1 < 16`.
                let pair = unsafe {
                    _mm512_set1_epi32(
                        sums[i]
                            .add(16 * b + 2 * pair)
                            .cast::<i32>()
                            .read_unaligned(),
                    )
                };
                imin[i] = dpwssd(imin[i], mins, pair);
            }
        }
        // SAFETY: `d` and `dmin` are 16 f16 each.
        let (d, dmin) = unsafe {
            (
                _mm512_cvtph_ps(_mm256_loadu_si256(t.d.as_ptr().cast())),
                _mm512_cvtph_ps(_mm256_loadu_si256(t.dmin.as_ptr().cast())),
            )
        };
        for i in 0..R {
            let da = _mm512_set1_ps(acts[i].scales[b]);
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[i]), _mm512_mul_ps(d, da), acc[i]);
            acc[i] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(imin[i]), _mm512_mul_ps(dmin, da), acc[i]);
        }
    }
    super::lanes_out(acc)
}

/// `out[i][r] = Σ_b W[r]·x_i` over the blocks of `tile` for the `R` activation rows `acts`.
///
/// # Panics
/// If an activation row does not have `256 · tile.len()` values.
#[target_feature(enable = "avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn dot_q3_k<const R: usize>(
    tile: &[TileQ3K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers { quants, sums, .. } = super::checked_rows(tile.len(), &acts);
    let four = _mm512_set1_epi8(4);
    let mut acc = [_mm512_setzero_ps(); R];
    for (b, t) in tile.iter().enumerate() {
        // The header lines (d, scales) of the tile ahead; the pairs' lines are asked for as
        // they are reached. A prefetch is a hint: any address will do.
        prefetch_lines((t as *const TileQ3K).cast(), TileQ3K::HEADER_LINES);
        let mut total = [_mm512_setzero_si512(); R];
        for s in 0..16 {
            let pair = &t.pairs[s / 2];
            if s % 2 == 0 {
                prefetch_lines((pair as *const super::plane2::Q3Pair).cast(), 3);
            }
            let mut codes = plane_codes(pair.planes[s % 2].as_ptr().cast());
            for (c, &mask) in codes.iter_mut().zip(&pair.third[s % 2]) {
                *c = _mm512_mask_add_epi8(*c, mask, *c, four);
            }
            // SAFETY: each `scales[s]` row is 16 bytes.
            let sc = unsafe { _mm512_cvtepi8_epi32(_mm_loadu_si128(t.scales[s].as_ptr().cast())) };
            for i in 0..R {
                // SAFETY: as in `dot_q2_k`.
                let sub = unsafe {
                    let bsum = i32::from(*sums[i].add(16 * b + s));
                    let y = quants[i].add(256 * b + 16 * s);
                    sub_block_dot(_mm512_set1_epi32(-4 * bsum), &codes, y)
                };
                total[i] = _mm512_add_epi32(total[i], _mm512_mullo_epi32(sub, sc));
            }
        }
        // SAFETY: `d` is 16 f32.
        let d = unsafe { _mm512_loadu_ps(t.d.as_ptr()) };
        for i in 0..R {
            let da = _mm512_set1_ps(acts[i].scales[b]);
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total[i]), _mm512_mul_ps(d, da), acc[i]);
        }
    }
    super::lanes_out(acc)
}
