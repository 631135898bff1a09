//! The Q6_K tile kernel on AVX-512 VNNI: one zmm lane per weight row.
//!
//! Per sub-block of sixteen values: three loads of code planes; three codes per row and
//! byte are their plane's low six bits (one AND), the fourth is gathered from the planes'
//! top two bits (three shifts, three ANDs, two ORs), then per activation row four
//! `vpdpbusd` against broadcast activation bytes in one chain, scaled by the rows' scales
//! with one `vpmulld`; up to eight activation rows share each unpacked sub-block. The codes are unsigned (0..64); the `−32` is taken back
//! per two sub-blocks with one `vpdpwssd` of the rows' (−32·scale) pairs against the
//! activation's two per-16 sums, in i32 (|Σ| < 2³¹: 16 sub-blocks × 128 × (16 × 63 × 128 +
//! 32 × 2048)), so the block needs one convert and one FMA per activation row.

use super::q6_k::TileQ6K;
use super::{prefetch_lines, Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use crate::cpu::packed::avx512::dpwssd;
use std::arch::x86_64::*;
use std::array::from_fn;

/// Two sub-blocks' signed scales of each row (`two[0]`, `two[1]`) times `factor`, as one
/// i16 pair per row's lane: what a `vpdpwssd` against an activation's two adjacent per-16
/// sums needs to add both sub-blocks' bias terms at once (also Q3_K's kernel's).
///
/// # Panics
/// If `two` is not two rows.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn scaled_pairs(two: &[[i8; TILE_ROWS]], factor: i16) -> __m512i {
    assert_eq!(two.len(), 2, "two rows of scales");
    // i16 lane `2r` takes row `r` of the first scale row, `2r + 1` row `r` of the second.
    let order = _mm512_set_epi16(
        31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4,
        19, 3, 18, 2, 17, 1, 16, 0,
    );
    // SAFETY: the two rows are 32 adjacent bytes (checked above).
    let both = unsafe { _mm256_loadu_si256(two.as_ptr().cast()) };
    let pairs = _mm512_permutexvar_epi16(order, _mm512_cvtepi8_epi16(both));
    _mm512_mullo_epi16(pairs, _mm512_set1_epi16(factor))
}

/// `out[i][r] = Σ_b W[r]·x_i` over the blocks of `tile` for the `R` activation rows `acts`.
///
/// # Panics
/// If an activation row does not have `256 · tile.len()` values.
#[target_feature(enable = "avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn dot_tile<const R: usize>(
    tile: &[TileQ6K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers { quants, sums, .. } = super::checked_rows(tile.len(), &acts);
    let top = |v: __m512i, mask: i8| _mm512_and_si512(v, _mm512_set1_epi8(mask));
    let mut acc = [_mm512_setzero_ps(); R];
    for (b, t) in tile.iter().enumerate() {
        let codes = t.codes.as_ptr().cast::<u8>();
        let base = (t as *const TileQ6K).cast::<u8>();
        // The header lines (d, scales: 320 bytes) of the tile ahead; both planes' lines are
        // asked for in the loop. Prefetches are hints: any address will do.
        prefetch_lines(base, TileQ6K::HEADER_LINES);
        let mut total = [_mm512_setzero_si512(); R];
        for s in 0..16 {
            let at = 192 * s;
            prefetch_lines(codes.wrapping_add(at), 3);
            // SAFETY: `s < 16` indexes one of the 16 sub-blocks of three 64-byte planes.
            let planes: [__m512i; 3] =
                from_fn(|p| unsafe { _mm512_loadu_si512(codes.add(at + 64 * p).cast()) });
            // Values 16s + j, 16s + 4 + j, 16s + 8 + j, 16s + 12 + j of each row: the low six
            // bits of each plane, then the fourth code from their top two bits
            // (`TileQ6K::codes`; the masks drop what 16-bit shifts bring from the next byte).
            let fourth = _mm512_or_si512(
                _mm512_or_si512(
                    top(_mm512_srli_epi16::<6>(planes[0]), 0x03),
                    top(_mm512_srli_epi16::<4>(planes[1]), 0x0C),
                ),
                top(_mm512_srli_epi16::<2>(planes[2]), 0x30),
            );
            let codes = [
                top(planes[0], 0x3F),
                top(planes[1], 0x3F),
                top(planes[2], 0x3F),
                fourth,
            ];
            // SAFETY: each `scales[s]` row is 16 bytes.
            let sc = unsafe { _mm512_cvtepi8_epi32(_mm_loadu_si128(t.scales[s].as_ptr().cast())) };
            // Every other sub-block: the `−32` bias of this one and the next through one
            // `vpdpwssd` per activation row, of the rows' (−32·scale, −32·scale′) i16 pairs
            // against the activation's two per-16 sums (was a scalar multiply and a
            // broadcast from a general register per sub-block and row).
            let bias_pairs = (s % 2 == 0).then(|| scaled_pairs(&t.scales[s..s + 2], -32));
            for i in 0..R {
                // SAFETY: every row has `256 · tile.len()` quants and one sum per 16 of
                // them (asserted), so bytes `256b + 16s .. 256b + 16s + 16` and sums
                // `16b + s`, `16b + s + 1` (for even `s`) are in range.
                unsafe {
                    // One chain per row and sub-block: the rows' chains (up to eight) and
                    // the next sub-block's keep `vpdpbusd` busy without a second one.
                    let y = quants[i].add(256 * b + 16 * s).cast::<i32>();
                    let mut sub = _mm512_setzero_si512();
                    for (j, &c) in codes.iter().enumerate() {
                        sub = _mm512_dpbusd_epi32(
                            sub,
                            c,
                            _mm512_set1_epi32(y.add(j).read_unaligned()),
                        );
                    }
                    total[i] = _mm512_add_epi32(total[i], _mm512_mullo_epi32(sub, sc));
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
