//! The Q2_K and Q3_K tile kernels on 256-bit lanes, AVX2 and AVX-VNNI (see
//! [`super::avx2`] for the half-tile walk): per sub-block and half, four registers of byte
//! codes out of the plane (Q3_K's third bits spread from its masks), the sub-block's dot
//! per row, and one `vpmaddwd` that applies the sub-block scale. The two levels differ only
//! in how the dot is formed ([`PlaneDot`]): AVX2 adds four `maddubs` in i16 (codes ≤ 7:
//! ≤ 4 · 1778) and the scale goes into both i16 halves of each lane; with VNNI four
//! `vpdpbusd` give the dot in i32, which fits i16 (≤ 16 · 7 · 128 + 8192), so the scale
//! sits in the low i16 with 0 above. Q3_K's `−4 · Σy` joins the dot before the scale;
//! Q2_K's mins take one `vpmaddwd` per two sub-blocks, their mins as an i16 pair against
//! the activation's two per-16 sums.

use super::avx2::{fold, fold_with_mins, join, load8, mask_bytes, pair_scales, prefetch_ahead};
use super::plane2::{Q3Pair, TileQ2K, TileQ3K};
use super::vnni256::Dpbusd;
use super::{checked_rows, RowPointers, Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use std::arch::x86_64::*;
use std::marker::PhantomData;

/// Half `h` of a plane: values `16s + 4f + j` of eight rows as bytes, `f` = 0..4.
///
/// # Safety
/// `plane + 32h .. + 32` must be readable.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn plane_codes(plane: *const u8, h: usize) -> [__m256i; 4] {
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

/// How a level forms a sub-block's dot for the one `vpmaddwd` that scales it.
pub(super) trait PlaneDot {
    /// `bias + Σ codes[f] · y[4f..4f + 4]` per row lane (`y` at the sub-block's first
    /// quant, `|bias| ≤ 8192`), as `vpmaddwd`'s first operand.
    ///
    /// # Safety
    /// AVX2 and the level's features, and `y..y + 16` readable.
    unsafe fn dot(codes: &[__m256i; 4], y: *const i8, bias: i32) -> __m256i;

    /// The rows' scales (one i32 per lane, in i16 range) as `vpmaddwd`'s second operand.
    ///
    /// # Safety
    /// AVX2.
    unsafe fn scale(lanes: __m256i) -> __m256i;
}

/// AVX2: the dot as i16 pairs from four `maddubs`, the bias in the low i16 of each pair
/// (≤ 7112 + 8192, still exact), the scale in both i16 halves.
pub(super) struct Maddubs;

impl PlaneDot for Maddubs {
    #[inline(always)]
    unsafe fn dot(codes: &[__m256i; 4], y: *const i8, bias: i32) -> __m256i {
        let y = y.cast::<i32>();
        // SAFETY: the caller's contract.
        unsafe {
            let at = |f: usize| _mm256_set1_epi32(y.add(f).read_unaligned());
            let pairs = _mm256_add_epi16(
                _mm256_add_epi16(
                    _mm256_maddubs_epi16(codes[0], at(0)),
                    _mm256_maddubs_epi16(codes[1], at(1)),
                ),
                _mm256_add_epi16(
                    _mm256_maddubs_epi16(codes[2], at(2)),
                    _mm256_maddubs_epi16(codes[3], at(3)),
                ),
            );
            _mm256_add_epi16(pairs, _mm256_set1_epi32(i32::from(bias as u16)))
        }
    }

    #[inline(always)]
    unsafe fn scale(lanes: __m256i) -> __m256i {
        // SAFETY: the caller's contract (AVX2).
        unsafe { pair_scales(lanes) }
    }
}

/// VNNI in encoding `E`: the dot in i32 from four `vpdpbusd` in one chain starting at the
/// bias; it fits i16, so it is its lane's low i16, and the scale sits in the low i16 with
/// 0 above (the high i16, the dot's sign bits, meets the 0).
pub(super) struct Vnni<E>(PhantomData<E>);

impl<E: Dpbusd> PlaneDot for Vnni<E> {
    #[inline(always)]
    unsafe fn dot(codes: &[__m256i; 4], y: *const i8, bias: i32) -> __m256i {
        let y = y.cast::<i32>();
        // SAFETY: the caller's contract.
        unsafe {
            let mut dot = _mm256_set1_epi32(bias);
            for (f, &c) in codes.iter().enumerate() {
                dot = E::dpbusd(dot, c, _mm256_set1_epi32(y.add(f).read_unaligned()));
            }
            dot
        }
    }

    #[inline(always)]
    unsafe fn scale(lanes: __m256i) -> __m256i {
        // SAFETY: the caller's contract (AVX2).
        unsafe { _mm256_and_si256(lanes, _mm256_set1_epi32(0xFFFF)) }
    }
}

/// Q2_K tiles at a 256-bit level.
///
/// # Safety
/// AVX2, FMA, F16C and `P`'s features.
#[inline(always)]
pub(super) unsafe fn q2_k<P: PlaneDot, const R: usize>(
    tile: &[TileQ2K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let RowPointers {
        quants,
        sums,
        scales,
    } = checked_rows(tile.len(), &acts);
    // SAFETY: the caller's features; every read is in range: a plane is 64 bytes, a
    // `scales[s]` row 16 and `d` / `dmin` 16 f16 (`8h + 8 ≤ 16`); rows have
    // `256 · tile.len()` quants and 16 sums per tile (checked above), `s < 16`.
    unsafe {
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
                        let codes = plane_codes(plane, h);
                        let raw = _mm256_cvtepu8_epi32(load8(t.scales[s].as_ptr().add(8 * h)));
                        let sc = P::scale(_mm256_and_si256(raw, m4));
                        mins[half] = _mm256_srli_epi32::<4>(raw);
                        for i in 0..R {
                            let dot = P::dot(&codes, quants[i].add(256 * b + 16 * s), 0);
                            isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(dot, sc));
                        }
                    }
                    let mins = _mm256_or_si256(mins[0], _mm256_slli_epi32::<16>(mins[1]));
                    for i in 0..R {
                        let pair = sums[i].add(16 * b + 2 * pair).cast::<i32>();
                        let pair = _mm256_set1_epi32(pair.read_unaligned());
                        imin[i] = _mm256_add_epi32(imin[i], _mm256_madd_epi16(mins, pair));
                    }
                }
                let d = _mm256_cvtph_ps(_mm_loadu_si128(t.d.as_ptr().add(8 * h).cast()));
                let dmin = _mm256_cvtph_ps(_mm_loadu_si128(t.dmin.as_ptr().add(8 * h).cast()));
                let da = std::array::from_fn(|i| *scales[i].add(b));
                fold_with_mins(acc, (&isum, &imin), (d, dmin), da);
            }
        }
        join(acc)
    }
}

/// Q3_K tiles at a 256-bit level: the dot starts at `−4 · Σy`, the signed scale applies
/// to both.
///
/// # Safety
/// AVX2, FMA, F16C and `P`'s features.
#[inline(always)]
pub(super) unsafe fn q3_k<P: PlaneDot, const R: usize>(
    tile: &[TileQ3K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let RowPointers {
        quants,
        sums,
        scales,
    } = checked_rows(tile.len(), &acts);
    // SAFETY: the caller's features; every read is in range: a plane is 64 bytes, a
    // `scales[s]` row 16 and `d` 16 f32 (`8h + 8 ≤ 16`); rows have `256 · tile.len()`
    // quants and 16 sums per tile (checked above), `s < 16`.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); R]; 2];
        for (b, t) in tile.iter().enumerate() {
            // Both halves of a tile before the next one: one stream through the weights.
            for (h, acc) in acc.iter_mut().enumerate() {
                prefetch_ahead((t as *const TileQ3K).cast(), TileQ3K::HEADER_LINES, h);
                let mut isum = [_mm256_setzero_si256(); R];
                for s in 0..16 {
                    let pair = &t.pairs[s / 2];
                    if s % 2 == 0 {
                        prefetch_ahead((pair as *const Q3Pair).cast(), 3, h);
                    }
                    let mut codes = plane_codes(pair.planes[s % 2].as_ptr().cast(), h);
                    for (c, mask) in codes.iter_mut().zip(&pair.third[s % 2]) {
                        *c = _mm256_or_si256(*c, mask_bytes(mask, h, 4));
                    }
                    let sc = _mm256_cvtepi8_epi32(load8(t.scales[s].as_ptr().add(8 * h).cast()));
                    let sc = P::scale(sc);
                    for i in 0..R {
                        let bias = -4 * i32::from(*sums[i].add(16 * b + s));
                        let dot = P::dot(&codes, quants[i].add(256 * b + 16 * s), bias);
                        isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(dot, sc));
                    }
                }
                let d = _mm256_loadu_ps(t.d.as_ptr().add(8 * h));
                fold(acc, &isum, d, std::array::from_fn(|i| *scales[i].add(b)));
            }
        }
        join(acc)
    }
}

/// Q2_K tiles on AVX2.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_q2_k<const R: usize>(
    tile: &[TileQ2K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    // SAFETY: this function's features are the body's contract.
    unsafe { q2_k::<Maddubs, R>(tile, acts) }
}

/// Q3_K tiles on AVX2.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_q3_k<const R: usize>(
    tile: &[TileQ3K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    // SAFETY: this function's features are the body's contract.
    unsafe { q3_k::<Maddubs, R>(tile, acts) }
}
