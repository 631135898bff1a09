//! The Q2_K and Q3_K tile kernels on AVX2 (see [`super::avx2`] for the half-tile walk):
//! per sub-block and half, four registers of byte codes out of the plane (Q3_K's third
//! bits spread from its masks), four `maddubs` added in i16 (codes ≤ 7: ≤ 4 · 1778), and
//! one `vpmaddwd` that applies the sub-block scale in both i16 halves of each lane. Q3_K's
//! `−4` rides in the same `vpmaddwd` (`−4 · Σy` added to one i16 of each pair first);
//! Q2_K's mins take one per two sub-blocks, their mins as an i16 pair against the
//! activation's two per-16 sums.

use super::avx2::{fold_with_mins, join, load8, mask_bytes, pair_scales, prefetch_ahead};
use super::plane2::{TileQ2K, TileQ3K};
use super::{Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use std::arch::x86_64::*;

/// Half `h` of a plane: values `16s + 4f + j` of eight rows as bytes, `f` = 0..4.
///
/// # Safety
/// `plane + 32h .. + 32` must be readable.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn plane_codes(plane: *const u8, h: usize) -> [__m256i; 4] {
    // SAFETY: the caller's contract.
    let p = unsafe { _mm256_loadu_si256(plane.add(32 * h).cast()) };
    let m3 = _mm256_set1_epi8(3);
    [
        _mm256_and_si256(p, m3),
        _mm256_and_si256(_mm256_srli_epi16::<2>(p), m3),
        _mm256_and_si256(_mm256_srli_epi16::<4>(p), m3),
        _mm256_and_si256(_mm256_srli_epi16::<6>(p), m3),
    ]
}

/// `Σ codes · y` over a sub-block's sixteen values per row, as i16 pairs (`y` at the
/// sub-block's first quant).
///
/// # Safety
/// `y..y + 16` must be readable.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn sub_block_pairs(codes: &[__m256i; 4], y: *const i8) -> __m256i {
    let y = y.cast::<i32>();
    // SAFETY: the caller's contract.
    let at = |f: usize| _mm256_set1_epi32(unsafe { y.add(f).read_unaligned() });
    _mm256_add_epi16(
        _mm256_add_epi16(
            _mm256_maddubs_epi16(codes[0], at(0)),
            _mm256_maddubs_epi16(codes[1], at(1)),
        ),
        _mm256_add_epi16(
            _mm256_maddubs_epi16(codes[2], at(2)),
            _mm256_maddubs_epi16(codes[3], at(3)),
        ),
    )
}

/// Q2_K tiles on AVX2.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_q2_k<const R: usize>(
    tile: &[TileQ2K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers {
        quants,
        sums,
        scales,
    } = super::checked_rows(tile.len(), &acts);
    let m4 = _mm256_set1_epi32(0xF);
    let mut acc = [[_mm256_setzero_ps(); R]; 2];
    for (b, t) in tile.iter().enumerate() {
        // Both halves of a tile before the next one: one stream through the weights.
        for (h, acc) in acc.iter_mut().enumerate() {
            prefetch_ahead((t as *const TileQ2K).cast(), TileQ2K::HEADER_LINES, h);
            let mut isum = [_mm256_setzero_si256(); R];
            let mut imin = [_mm256_setzero_si256(); R];
            for pair in 0..8 {
                let mut mins = [_mm256_setzero_si256(); 2];
                for (half, s) in [2 * pair, 2 * pair + 1].into_iter().enumerate() {
                    let plane = t.planes[s].as_ptr().cast::<u8>();
                    prefetch_ahead(plane, 1, h);
                    // SAFETY (all reads below): a plane is 64 bytes and a `scales[s]` row 16;
                    // rows have `256 · tile.len()` quants and 16 sums per tile (checked above).
                    let codes = unsafe { plane_codes(plane, h) };
                    let raw =
                        unsafe { _mm256_cvtepu8_epi32(load8(t.scales[s].as_ptr().add(8 * h))) };
                    let sc = pair_scales(_mm256_and_si256(raw, m4));
                    mins[half] = _mm256_srli_epi32::<4>(raw);
                    for i in 0..R {
                        let p = unsafe { sub_block_pairs(&codes, quants[i].add(256 * b + 16 * s)) };
                        isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(p, sc));
                    }
                }
                let mins = _mm256_or_si256(mins[0], _mm256_slli_epi32::<16>(mins[1]));
                for i in 0..R {
                    let pair = unsafe {
                        _mm256_set1_epi32(
                            sums[i]
                                .add(16 * b + 2 * pair)
                                .cast::<i32>()
                                .read_unaligned(),
                        )
                    };
                    imin[i] = _mm256_add_epi32(imin[i], _mm256_madd_epi16(mins, pair));
                }
            }
            // SAFETY: `d` and `dmin` are 16 f16 each; `8h + 8 ≤ 16`.
            let (d, dmin) = unsafe {
                (
                    _mm256_cvtph_ps(_mm_loadu_si128(t.d.as_ptr().add(8 * h).cast())),
                    _mm256_cvtph_ps(_mm_loadu_si128(t.dmin.as_ptr().add(8 * h).cast())),
                )
            };
            // SAFETY: each row has a scale per tile (checked above).
            let da = std::array::from_fn(|i| unsafe { *scales[i].add(b) });
            fold_with_mins(acc, (&isum, &imin), (d, dmin), da);
        }
    }
    join(acc)
}

/// Q3_K tiles on AVX2.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_q3_k<const R: usize>(
    tile: &[TileQ3K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers {
        quants,
        sums,
        scales,
    } = super::checked_rows(tile.len(), &acts);
    let mut acc = [[_mm256_setzero_ps(); R]; 2];
    for (b, t) in tile.iter().enumerate() {
        // Both halves of a tile before the next one: one stream through the weights.
        for (h, acc) in acc.iter_mut().enumerate() {
            prefetch_ahead((t as *const TileQ3K).cast(), TileQ3K::HEADER_LINES, h);
            let mut isum = [_mm256_setzero_si256(); R];
            for s in 0..16 {
                let pair = &t.pairs[s / 2];
                if s % 2 == 0 {
                    prefetch_ahead((pair as *const super::plane2::Q3Pair).cast(), 3, h);
                }
                // SAFETY (all reads below): a plane is 64 bytes and a `scales[s]` row 16;
                // rows have `256 · tile.len()` quants and 16 sums per tile (checked above).
                let mut codes = unsafe { plane_codes(pair.planes[s % 2].as_ptr().cast(), h) };
                for (c, mask) in codes.iter_mut().zip(&pair.third[s % 2]) {
                    *c = _mm256_or_si256(*c, mask_bytes(mask, h, 4));
                }
                let sc = pair_scales(unsafe {
                    _mm256_cvtepi8_epi32(load8(t.scales[s].as_ptr().add(8 * h).cast()))
                });
                for i in 0..R {
                    let (p, bsum) = unsafe {
                        (
                            sub_block_pairs(&codes, quants[i].add(256 * b + 16 * s)),
                            i32::from(*sums[i].add(16 * b + s)),
                        )
                    };
                    // −4·Σy (|·| ≤ 8128) added to the low i16 of each lane's pair (≤ 7112 +
                    // 8128, still exact in i16), so the one `vpmaddwd` by (sc, sc) applies
                    // the scale to the bias too.
                    let bias = _mm256_set1_epi32(i32::from((-4 * bsum) as u16));
                    let p = _mm256_add_epi16(p, bias);
                    isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(p, sc));
                }
            }
            // SAFETY: `d` is 16 f32; `8h + 8 ≤ 16`.
            let d = unsafe { _mm256_loadu_ps(t.d.as_ptr().add(8 * h)) };
            for i in 0..R {
                let da = _mm256_set1_ps(unsafe { *scales[i].add(b) });
                acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[i]), _mm256_mul_ps(d, da), acc[i]);
            }
        }
    }
    join(acc)
}
