//! The kernel of the Q4_K and Q5_K tiles ([`K4Tile`]) on AVX-512 VNNI: one zmm lane per
//! weight row.
//!
//! Per group of eight values: one 64-byte load (sixteen rows × four code bytes), the low and
//! high nibbles split with three logic ops, Q5_K's fifth bits added to each half with one
//! byte add under a mask read from the tile, and per activation row two `vpdpbusd` against
//! four activation bytes broadcast to every lane; up to eight activation rows share each
//! unpacked group. A sub-block's i32 sums are scaled by the rows' 6-bit scales with one
//! `vpmulld` (exact: |sum| ≤ 32·31·127, × 63 × 8 < 2³¹), the mins' term with one
//! `vpdpwssd` of (min, min) pairs against the activation's two per-16 sums, and the block
//! is folded into the f32 accumulators with two FMAs per activation row.

use super::nibble32_avx512::nibble_codes;
use super::q4_k::K4Tile;
use super::{prefetch_lines, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use crate::cpu::packed::avx512::dpwssd;
use std::arch::x86_64::*;

/// `out[i][r] = Σ_b W[r]·x_i` over the blocks of `tile` (one tile row of a matrix) for the
/// `R` activation rows `acts`.
///
/// # Panics
/// If an activation row does not have `256 · tile.len()` values.
#[target_feature(enable = "avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn dot_tile<T: K4Tile, const R: usize>(
    tile: &[T],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers { quants, sums, .. } = super::checked_rows(tile.len(), &acts);
    let mut acc = [_mm512_setzero_ps(); R];
    for (b, t) in tile.iter().enumerate() {
        // The header lines (d, dmin, scales, mins: 384 bytes) of the tile ahead; its code
        // (and mask) lines are asked for as they are reached. A prefetch is a hint: any
        // address will do.
        prefetch_lines((t as *const T).cast(), T::HEADER_LINES);
        let mut isum = [_mm512_setzero_si512(); R];
        let mut imin = [_mm512_setzero_si512(); R];
        for s in 0..8 {
            let high = t.fifth_bits(s);
            if let Some(h) = high {
                prefetch_lines(h.as_ptr().cast(), 1);
            }
            // Two chains per row (low / high nibbles) so the `vpdpbusd`s do not wait on
            // each other.
            let mut sub_lo = [_mm512_setzero_si512(); R];
            let mut sub_hi = [_mm512_setzero_si512(); R];
            for u in 0..4 {
                let g = 4 * s + u;
                let group = t.group(g);
                prefetch_lines(group.as_ptr().cast(), 1);
                let (lo, hi) = nibble_codes(group, high.map(|masks| &masks[u]));
                for i in 0..R {
                    // SAFETY: every row has `256 · tile.len()` quants (asserted), so bytes
                    // `256b + 8g .. 256b + 8g + 8` are in range.
                    let (ylo, yhi) = unsafe {
                        let y = quants[i].add(256 * b + 8 * g);
                        (
                            _mm512_set1_epi32(y.cast::<i32>().read_unaligned()),
                            _mm512_set1_epi32(y.add(4).cast::<i32>().read_unaligned()),
                        )
                    };
                    sub_lo[i] = _mm512_dpbusd_epi32(sub_lo[i], lo, ylo);
                    sub_hi[i] = _mm512_dpbusd_epi32(sub_hi[i], hi, yhi);
                }
            }
            // SAFETY: each `scales[s]` / `mins[s]` row is 16 bytes.
            let (sc, mn) = unsafe {
                (
                    _mm512_cvtepu8_epi32(_mm_loadu_si128(t.scales()[s].as_ptr().cast())),
                    _mm512_cvtepu8_epi32(_mm_loadu_si128(t.mins()[s].as_ptr().cast())),
                )
            };
            let mn_pair = _mm512_or_si512(mn, _mm512_slli_epi32::<16>(mn));
            for i in 0..R {
                let sub = _mm512_add_epi32(sub_lo[i], sub_hi[i]);
                isum[i] = _mm512_add_epi32(isum[i], _mm512_mullo_epi32(sub, sc));
                // The sub-block's two per-16 sums as one i16 pair, broadcast, against
                // (min, min): one `vpdpwssd` adds min · Σy (was two scalar loads, an add,
                // a broadcast, a `vpmulld` and an add).
                // SAFETY: each row has 16 sums per tile (asserted) and `2s + 1 < 16`.
                let pair = unsafe {
                    _mm512_set1_epi32(sums[i].add(16 * b + 2 * s).cast::<i32>().read_unaligned())
                };
                imin[i] = dpwssd(imin[i], mn_pair, pair);
            }
        }
        // SAFETY: `d` and `dmin` are 16 f16 (32 bytes) each.
        let (d, dmin) = unsafe {
            (
                _mm512_cvtph_ps(_mm256_loadu_si256(t.d().as_ptr().cast())),
                _mm512_cvtph_ps(_mm256_loadu_si256(t.dmin().as_ptr().cast())),
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
