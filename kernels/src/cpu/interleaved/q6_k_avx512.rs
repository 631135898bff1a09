//! The Q6_K tile kernel on AVX-512 VNNI: one zmm lane per weight row.
//!
//! Per sub-block of sixteen values: one load of the high-bit plane and two of nibble
//! pairs; each code byte is its nibble OR-ed with two high bits moved to bits 4–5 (shift
//! and mask), then per activation row four `vpdpbusd` against broadcast activation bytes.
//! The codes are unsigned (0..64); the `−32` is taken back once per sub-block through the
//! activation's per-16 sums, in i32 (|Σ| < 2³¹: 16 sub-blocks × 16 × 63 × 127 × 128 plus
//! 32 × the sums' term), so the block needs one convert and one FMA per activation row.

use super::q6_k::TileQ6K;
use super::{prefetch_lines, Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use std::arch::x86_64::*;

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
    let m4 = _mm512_set1_epi8(0xF);
    let m2 = _mm512_set1_epi8(0x30);
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
            let (w0, w1, h) = unsafe {
                (
                    _mm512_loadu_si512(codes.add(at).cast()),
                    _mm512_loadu_si512(codes.add(at + 64).cast()),
                    _mm512_loadu_si512(codes.add(at + 128).cast()),
                )
            };
            let with_high = |nib: __m512i, bits: __m512i| {
                _mm512_or_si512(_mm512_and_si512(nib, m4), _mm512_and_si512(bits, m2))
            };
            // Values 16s + j, 16s + 4 + j, 16s + 8 + j, 16s + 12 + j of each row.
            let codes = [
                with_high(w0, _mm512_slli_epi16::<4>(h)),
                with_high(_mm512_srli_epi16::<4>(w0), _mm512_slli_epi16::<2>(h)),
                with_high(w1, h),
                with_high(_mm512_srli_epi16::<4>(w1), _mm512_srli_epi16::<2>(h)),
            ];
            // SAFETY: each `scales[s]` row is 16 bytes.
            let sc = unsafe { _mm512_cvtepi8_epi32(_mm_loadu_si128(t.scales[s].as_ptr().cast())) };
            for i in 0..R {
                // SAFETY: every row has `256 · tile.len()` quants and one sum per 16 of
                // them (asserted), so bytes `256b + 16s .. 256b + 16s + 16` and sum
                // `16b + s` are in range.
                unsafe {
                    // Σ sc·(code − 32)·y = sc·(Σ code·y − 32·Σ y): the chain starts at the
                    // bias term.
                    let bsum = i32::from(*sums[i].add(16 * b + s));
                    let mut sub0 = _mm512_set1_epi32(-32 * bsum);
                    let mut sub1 = _mm512_setzero_si512();
                    let y = quants[i].add(256 * b + 16 * s).cast::<i32>();
                    sub0 =
                        _mm512_dpbusd_epi32(sub0, codes[0], _mm512_set1_epi32(y.read_unaligned()));
                    sub1 = _mm512_dpbusd_epi32(
                        sub1,
                        codes[1],
                        _mm512_set1_epi32(y.add(1).read_unaligned()),
                    );
                    sub0 = _mm512_dpbusd_epi32(
                        sub0,
                        codes[2],
                        _mm512_set1_epi32(y.add(2).read_unaligned()),
                    );
                    sub1 = _mm512_dpbusd_epi32(
                        sub1,
                        codes[3],
                        _mm512_set1_epi32(y.add(3).read_unaligned()),
                    );
                    let sub = _mm512_add_epi32(sub0, sub1);
                    total[i] = _mm512_add_epi32(total[i], _mm512_mullo_epi32(sub, sc));
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
