//! The Q8_0 tile kernel on AVX-512 VNNI: one zmm lane per weight row.
//!
//! Per group of four values: one 64-byte load (sixteen rows × four codes) and per
//! activation row one `vpdpbusd` against the row's four values broadcast to every lane; up
//! to eight activation rows share each load. A block's i32 sum starts at `−128 · Σ y` (the
//! codes' bias), so after eight groups it is the exact signed dot; it is folded into the
//! f32 accumulators with one multiply of the rows' scales by the activation's and one FMA.

use super::q8_0::TileQ8_0;
use super::{prefetch_lines, Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use std::arch::x86_64::*;

/// `out[i][r] = Σ_b W[r]·x_i` over the tiles of `tile` (one tile row of a matrix) for the
/// `R` activation rows `acts`.
///
/// # Panics
/// If an activation row does not have `256 · tile.len()` values.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn dot_tile<const R: usize>(
    tile: &[TileQ8_0],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers {
        quants,
        sums,
        scales,
    } = super::checked_rows(tile.len(), &acts);
    let mut acc = [_mm512_setzero_ps(); R];
    for (b, t) in tile.iter().enumerate() {
        let codes = t.codes.as_ptr().cast::<u8>();
        let base = (t as *const TileQ8_0).cast::<u8>();
        // The scale lines (256 bytes) of the tile ahead; its code lines are asked for in
        // the group loop. A prefetch is a hint: any address will do.
        prefetch_lines(base, TileQ8_0::HEADER_LINES);
        for s in 0..8 {
            let blk = 8 * b + s;
            // Two chains per row (even / odd groups) so the `vpdpbusd`s do not wait on
            // each other; the bias correction rides on the even one.
            // SAFETY (all reads below): every row has `256 · tile.len()` quants, one sum and
            // one scale per 32 of them (asserted), and `blk < 8 · tile.len()`, `g < 64`.
            let mut even: [__m512i; R] = std::array::from_fn(|i| unsafe {
                _mm512_set1_epi32(-128 * i32::from(*sums[i].add(blk)))
            });
            let mut odd = [_mm512_setzero_si512(); R];
            for g in (8 * s..8 * s + 8).step_by(2) {
                prefetch_lines(codes.wrapping_add(64 * g), 2);
                let (w0, w1) = unsafe {
                    (
                        _mm512_loadu_si512(codes.add(64 * g).cast()),
                        _mm512_loadu_si512(codes.add(64 * g + 64).cast()),
                    )
                };
                for i in 0..R {
                    let (y0, y1) = unsafe {
                        let y = quants[i].add(256 * b + 4 * g).cast::<i32>();
                        (
                            _mm512_set1_epi32(y.read_unaligned()),
                            _mm512_set1_epi32(y.add(1).read_unaligned()),
                        )
                    };
                    even[i] = _mm512_dpbusd_epi32(even[i], w0, y0);
                    odd[i] = _mm512_dpbusd_epi32(odd[i], w1, y1);
                }
            }
            let d = unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(t.d[s].as_ptr().cast())) };
            for i in 0..R {
                let sum = _mm512_cvtepi32_ps(_mm512_add_epi32(even[i], odd[i]));
                let scale = _mm512_mul_ps(d, _mm512_set1_ps(unsafe { *scales[i].add(blk) }));
                acc[i] = _mm512_fmadd_ps(sum, scale, acc[i]);
            }
        }
    }
    super::lanes_out(acc)
}
