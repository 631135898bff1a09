//! The kernel of the 4-bit 32-block tiles (Q4_0, Q4_1, Q5_0, Q5_1) on AVX-512 VNNI: one
//! zmm lane per weight row.
//!
//! Per group of eight values: one 64-byte load (sixteen rows × four code bytes), the low and
//! high nibbles split with three logic ops, the fifth bits (Q5_0, Q5_1) added to each half
//! with one byte add under a mask read from the tile, and per activation row two `vpdpbusd`
//! against four activation values each, broadcast to every lane; up to four activation rows
//! (eight for Q5_0/Q5_1, see `Tile::AVX512_GROUP`) share each unpacked group. A block's
//! i32 sum starts at `BIAS · Σ y` (Q4_0 `−8`, Q5_0 `−16`), so after four groups it is the
//! exact signed dot, folded into the f32 accumulators with one multiply of the rows' scales
//! by the activation's and one FMA; a min (Q4_1, Q5_1) adds one more FMA of the rows' `m`
//! by the activation's scaled sum.

use super::nibble32::{Nibble32Tile, NibbleGroup};
use super::{prefetch_lines, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use std::arch::x86_64::*;

/// A group's codes as two registers, the low nibbles' values (`8g + j`) and the high
/// nibbles' (`8g + 4 + j`), with the fifth bits added under the group's `[low, high]` masks
/// where the tile has them (also the Q4_K/Q5_K kernel's).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn nibble_codes(group: &NibbleGroup, fifth: Option<&[u64; 2]>) -> (__m512i, __m512i) {
    let m4 = _mm512_set1_epi8(0xF);
    // SAFETY: a group is 64 bytes.
    let w = unsafe { _mm512_loadu_si512(group.as_ptr().cast()) };
    let (lo, hi) = (
        _mm512_and_si512(w, m4),
        _mm512_and_si512(_mm512_srli_epi16::<4>(w), m4),
    );
    match fifth {
        Some(&[low, high]) => {
            let bit = _mm512_set1_epi8(0x10);
            (
                _mm512_mask_add_epi8(lo, low, lo, bit),
                _mm512_mask_add_epi8(hi, high, hi, bit),
            )
        }
        None => (lo, hi),
    }
}

/// `out[i][r] = Σ_b W[r]·x_i` over the tiles of `tile` (one tile row of a matrix) for the
/// `R` activation rows `acts`.
///
/// # Panics
/// If an activation row does not have `256 · tile.len()` values.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn dot_tile<T: Nibble32Tile, const R: usize>(
    tile: &[T],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers {
        quants,
        sums,
        scales,
    } = super::checked_rows(tile.len(), &acts);
    let mut acc = [_mm512_setzero_ps(); R];
    for (b, t) in tile.iter().enumerate() {
        // The header lines (the rows' `d`, `m`) of the tile ahead; its code and mask lines
        // are asked for as they are reached. A prefetch is a hint: any address will do.
        prefetch_lines((t as *const T).cast(), T::HEADER_LINES);
        for s in 0..8 {
            let blk = 8 * b + s;
            let high = t.fifth_bits(s);
            if let Some(h) = high {
                prefetch_lines(h.as_ptr().cast(), 1);
            }
            // Two chains per row (low / high nibbles) so the `vpdpbusd`s do not wait on
            // each other; the bias rides on the low one.
            // SAFETY (all reads below): every row has `256 · tile.len()` quants, one sum and
            // one scale per 32 of them (asserted), and `blk < 8 · tile.len()`, `g < 32`.
            let mut lo: [__m512i; R] = std::array::from_fn(|i| {
                _mm512_set1_epi32(T::BIAS * i32::from(unsafe { *sums[i].add(blk) }))
            });
            let mut hi = [_mm512_setzero_si512(); R];
            for u in 0..4 {
                let g = 4 * s + u;
                let group = t.group(g);
                prefetch_lines(group.as_ptr().cast(), 1);
                let (wlo, whi) = nibble_codes(group, high.map(|masks| &masks[u]));
                for i in 0..R {
                    let (y0, y1) = unsafe {
                        let y = quants[i].add(256 * b + 8 * g).cast::<i32>();
                        (
                            _mm512_set1_epi32(y.read_unaligned()),
                            _mm512_set1_epi32(y.add(1).read_unaligned()),
                        )
                    };
                    lo[i] = _mm512_dpbusd_epi32(lo[i], wlo, y0);
                    hi[i] = _mm512_dpbusd_epi32(hi[i], whi, y1);
                }
            }
            // SAFETY: each row of `d` / `m` is 16 f16.
            let f16x16 = |p: &[u16; TILE_ROWS]| unsafe {
                _mm512_cvtph_ps(_mm256_loadu_si256(p.as_ptr().cast()))
            };
            let d = f16x16(&t.d()[s]);
            let m = t.m().map(|m| f16x16(&m[s]));
            for i in 0..R {
                let sum = _mm512_cvtepi32_ps(_mm512_add_epi32(lo[i], hi[i]));
                let da = unsafe { *scales[i].add(blk) };
                acc[i] = _mm512_fmadd_ps(sum, _mm512_mul_ps(d, _mm512_set1_ps(da)), acc[i]);
                if let Some(m) = m {
                    let sy = da * f32::from(unsafe { *sums[i].add(blk) });
                    acc[i] = _mm512_fmadd_ps(m, _mm512_set1_ps(sy), acc[i]);
                }
            }
        }
    }
    super::lanes_out(acc)
}
