//! The Q2_K and Q3_K tile kernels on AVX-512 VNNI: one zmm lane per weight row.
//!
//! Per 16-value sub-block: one load of the plane, four registers of byte codes out of it
//! (a shift and a mask each; Q3_K adds its third bits with one masked byte add per
//! register), then per activation row four `vpdpbusd` against broadcast activation bytes
//! in one chain, whose dot fits i16, so the sub-block's scales go in with one `vpdpwssd`
//! (see `scale_in`); up to eight activation rows share each unpacked sub-block. Q3_K's
//! `−4` takes one `vpdpwssd` per two sub-blocks, the rows' (−4·scale) i16 pairs against
//! the activation's two per-16 sums (exact: 16 sub-blocks × 32 × (16 × 7 × 128 + 4 ×
//! 2048) < 2³¹); Q2_K's mins the same, their mins as an i16 pair. The block is folded into the f32 accumulators once (Q2_K
//! twice: scales and mins).

use super::plane2::{TileQ2K, TileQ3K};
use super::q6_k_avx512::scaled_pairs;
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

/// Per activation row, `Σ codes[f] · y[4f..4f + 4]` in one chain (`y` at the sub-block's
/// first quant): with codes ≤ 7, at most 16 · 7 · 128 = 14336 in magnitude, so it is also
/// the lane's low i16 (see [`scale_in`]).
///
/// # Safety
/// AVX-512 VNNI, and `y..y + 16` readable.
#[inline(always)]
unsafe fn sub_block_dot(codes: &[__m512i; 4], y: *const i8) -> __m512i {
    // SAFETY: the caller's contract.
    unsafe {
        let y = y.cast::<i32>();
        let mut dot = _mm512_setzero_si512();
        for (f, &c) in codes.iter().enumerate() {
            dot = _mm512_dpbusd_epi32(dot, c, _mm512_set1_epi32(y.add(f).read_unaligned()));
        }
        dot
    }
}

/// `total + dot · scale` per lane for a sub-block dot that fits i16 and `scale` in the low
/// i16 of its lane with 0 above: one `vpdpwssd` (the lane's high i16, the dot's sign
/// bits, meets the 0), where `vpmulld` and an add took two slower ops.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn scale_in(total: __m512i, dot: __m512i, scale: __m512i) -> __m512i {
    dpwssd(total, dot, scale)
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
                    let sub = unsafe { sub_block_dot(&codes, quants[i].add(256 * b + 16 * s)) };
                    isum[i] = scale_in(isum[i], sub, sc);
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
            // The signed scale in the low i16 of each lane, 0 above (see `scale_in`).
            let sc = _mm512_and_si512(sc, _mm512_set1_epi32(0xFFFF));
            // Every other sub-block: the `−4` of this one and the next, one `vpdpwssd` per
            // activation row (as Q6_K's `−32`).
            let bias_pairs = (s % 2 == 0).then(|| scaled_pairs(&t.scales[s..s + 2], -4));
            for i in 0..R {
                // SAFETY: as in `dot_q2_k`; sums `16b + s`, `16b + s + 1` (even `s`) exist.
                unsafe {
                    let y = quants[i].add(256 * b + 16 * s);
                    total[i] = scale_in(total[i], sub_block_dot(&codes, y), sc);
                    if let Some(pairs) = bias_pairs {
                        let sum_pair = sums[i].add(16 * b + s).cast::<i32>().read_unaligned();
                        total[i] = dpwssd(total[i], pairs, _mm512_set1_epi32(sum_pair));
                    }
                }
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
