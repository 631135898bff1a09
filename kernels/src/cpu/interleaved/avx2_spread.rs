//! AVX2 batch kernels over *spread* activations, for the tiles with Q4_K's layout (Q4_K,
//! Q5_K). A tile register holds eight weight rows × four values, so every `vpmaddubsw`
//! needs its four activation values broadcast to all eight lanes; the row-group kernel
//! ([`super::avx2::dot_k4`]) broadcasts them again for every half tile and every tile row,
//! one shuffle-port op per multiply. Here a tile column's activations are broadcast once
//! into a buffer of 64 registers per row ([`Spread`]), and every tile row of a chunk reads
//! them as the multiply's memory operand: a load, no vector op. With the broadcasts gone
//! the groups of a sub-block are also summed in i16 before one `vpmaddwd` applies the
//! scale ([`K4Tile::I16_GROUPS`] gives the bound). llvm-mca (znver3) on a sub-block of
//! four activation rows: 38.8 → 28 cycles.
//!
//! The loop order changes with it: a chunk of tile rows ([`chunk_tile_rows`]) is swept
//! over every activation row group, tile column by tile column, each (tile row, half,
//! activation row) accumulator kept in memory between columns.
//!
//! Measured in the fast backend's matmul (two Zen 3 vCPUs, the two paths alternating in
//! one process, 2026-12-03): Q4_K 4096² n = 16/128/512 and 11008×4096 n = 128 +5–11 %,
//! Q5_K 4096² n = 16/128 +5–9 %, Q4_K 4096×14336 (tile rows of 132 KB, chunks of four)
//! level. Q6_K keeps its row-group kernel: its spread kernel measured level at 4096 wide
//! and 6–12 % slower at 14336. A second one folded the codes' `−32` into wrapping i16
//! sums (per sub-block one `vpmaddwd` and no separate bias pass, which is ~18 % of the
//! row-group kernel's profile; llvm-mca ~30 against ~35 cycles per sub-block of six rows)
//! and still measured 3–15 % slower in the matmul and level from L2 (six rows' registers
//! spill; four or three rows were slower still).

use super::avx2::{fold_with_mins, join, load8, nibble_codes, pair_scales};
use super::q4_k::K4Tile;
use super::{checked_rows, TiledMatrix, MAX_AVX2_GROUP, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use bytemuck::Zeroable;
use std::arch::x86_64::*;
use std::array::from_fn;
use std::ops::Range;

/// One activation row's 256 values of a tile column, spread for the kernel (2.1 KiB).
#[derive(Clone, Copy, bytemuck::Zeroable)]
#[repr(C)]
pub(super) struct Spread {
    /// Register `w` holds values `4w..4w + 4` in each of its eight lanes.
    values: [__m256i; 64],
    /// Register `p` holds sub-blocks `2p` and `2p + 1`'s sums (32 values each, at most
    /// 32 · 128 in magnitude) as one i16 pair in every lane: what one `vpmaddwd` against
    /// two sub-blocks' (min, min) pairs takes.
    pair_sums: [__m256i; 4],
}

/// Bytes of tile rows a chunk should take: a chunk is read once per activation row group,
/// from L2 if it fits there (512 KiB per core on Zen 3) beside the spread buffers and the
/// streaming activation rows.
const CHUNK_BYTES: usize = 384 << 10;

/// The fewest tile rows in a chunk: each broadcast serves two halves per tile row, and
/// filling the buffer costs about a store per broadcast, so fewer rows would not repay it
/// (chunks of 128 KiB, three Q6_K tile rows when Q6_K took this path, measured 20 %
/// slower than chunks of eight). Wide rows take this many and stream from L3.
const MIN_CHUNK: usize = 4;

/// The most tile rows in a chunk (the accumulators of each live on the stack).
pub(super) const MAX_CHUNK: usize = 16;

/// Tile rows per chunk for tile rows of `row_bytes` each: as many as fit
/// [`CHUNK_BYTES`], between [`MIN_CHUNK`] and [`MAX_CHUNK`].
pub(super) fn chunk_tile_rows(row_bytes: usize) -> usize {
    (CHUNK_BYTES / row_bytes.max(1)).clamp(MIN_CHUNK, MAX_CHUNK)
}

/// Tile rows `tiles` of `m` against the activation rows `rows` (see [`super::Tile::avx2_batch`]):
/// chunks of tile rows small enough for L2 ([`chunk_tile_rows`]), each swept over every
/// activation row, [`super::Tile::AVX2_GROUP`] at a time.
///
/// # Safety
/// AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn matmul<T: K4Tile>(
    m: &TiledMatrix<T>,
    tiles: Range<usize>,
    rows: &[ActivationRow],
    sink: &mut dyn FnMut(usize, usize, &[f32; TILE_ROWS]),
) {
    let blocks = m.padded_k() / 256;
    let per_chunk = chunk_tile_rows(blocks * std::mem::size_of::<T>());
    let group = super::avx2_group::<T>();
    // The spread buffers, zeroed once here: `spread` overwrites a group's rows per column.
    let mut x = [Spread::zeroed(); MAX_AVX2_GROUP];
    for first in tiles.clone().step_by(per_chunk) {
        let chunk = first..(first + per_chunk).min(tiles.end);
        let mut i = 0;
        while i < rows.len() {
            let g = group.min(rows.len() - i);
            // The sweep for this group's row count (a const generic: one arm per count).
            macro_rules! by_group {
                ($($rows:literal),*) => {
                    match g {
                        $($rows => {
                            let mut put = |t: usize, sums: &[[f32; TILE_ROWS]; $rows]| {
                                for (j, row_sums) in sums.iter().enumerate() {
                                    sink(i + j, TILE_ROWS * t, row_sums);
                                }
                            };
                            let acts = from_fn(|j| &rows[i + j]);
                            let x = x.first_chunk_mut::<$rows>().expect("groups fit");
                            let chunk = chunk.clone();
                            // SAFETY: the features are the caller's contract.
                            unsafe { sweep::<T, $rows>(&m.tiles, blocks, chunk, acts, x, &mut put) }
                        })*
                        _ => unreachable!("groups hold 1 to {MAX_AVX2_GROUP} rows"),
                    }
                };
            }
            by_group!(6, 5, 4, 3, 2, 1);
            i += g;
        }
    }
}

/// Fills `x[i]` with activation row `i`'s values and sub-block sums of tile column `b`
/// (see [`Spread`]), `sums[i]` the row's per-16 sums.
///
/// # Safety
/// `quants[i] + 256b .. + 256` and `sums[i] + 16b .. + 16` readable for every row.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn spread<const R: usize>(
    x: &mut [Spread; R],
    quants: [*const i8; R],
    sums: [*const i16; R],
    b: usize,
) {
    for ((row, q), sums) in x.iter_mut().zip(quants).zip(sums) {
        for (w, reg) in row.values.iter_mut().enumerate() {
            // SAFETY: the caller's contract, `4w + 4 ≤ 256`.
            let word = unsafe { q.add(256 * b + 4 * w).cast::<i32>().read_unaligned() };
            *reg = _mm256_set1_epi32(word);
        }
        // SAFETY: the caller's contract, `4p + 4 ≤ 16`.
        let per16 = |j: usize| i32::from(unsafe { *sums.add(16 * b + j) });
        for (p, reg) in row.pair_sums.iter_mut().enumerate() {
            let (first, second) = (
                per16(4 * p) + per16(4 * p + 1),
                per16(4 * p + 2) + per16(4 * p + 3),
            );
            *reg = _mm256_set1_epi32((first & 0xFFFF) | (second << 16));
        }
    }
}

/// Computes tile rows `chunk` of `tiles` (`blocks` tile columns per row) against the `R`
/// activation rows `acts`, handing each tile row's sums to `sink(t, sums)` (`sums[i]`: its
/// sixteen weight rows' dots with activation row `i`). `x` holds the spread activations
/// of one tile column at a time (its contents on entry do not matter).
///
/// # Safety
/// AVX2, FMA and F16C.
///
/// # Panics
/// If an activation row does not cover `blocks` tiles, or `chunk` holds more than
/// [`MAX_CHUNK`] tile rows or any outside `tiles`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn sweep<T: K4Tile, const R: usize>(
    tiles: &[T],
    blocks: usize,
    chunk: Range<usize>,
    acts: [&ActivationRow; R],
    x: &mut [Spread; R],
    sink: &mut dyn FnMut(usize, &[[f32; TILE_ROWS]; R]),
) {
    assert!(
        chunk.len() <= MAX_CHUNK && chunk.end * blocks <= tiles.len(),
        "a chunk of at most {MAX_CHUNK} tile rows of the matrix"
    );
    let rows = checked_rows(blocks, &acts);
    let mut acc = [[[_mm256_setzero_ps(); R]; 2]; MAX_CHUNK];
    for b in 0..blocks {
        // SAFETY: every row has `256 · blocks` quants, 16 sums and one scale per block
        // (checked above).
        unsafe { spread(x, rows.quants, rows.sums, b) };
        let da = from_fn(|i| unsafe { *rows.scales[i].add(b) });
        for (t, acc) in chunk.clone().zip(acc.iter_mut()) {
            let tile = &tiles[t * blocks + b];
            // The tile after this one (the next tile row's, or the chunk's first of the next
            // column): a line-strided jump the hardware prefetcher does not follow.
            let next = if t + 1 < chunk.end {
                (t + 1) * blocks + b
            } else {
                chunk.start * blocks + b + 1
            };
            let next = tiles.as_ptr().wrapping_add(next).cast::<u8>();
            for (h, acc) in acc.iter_mut().enumerate() {
                let lines = std::mem::size_of::<T>() / 64;
                let from = h * lines / 2;
                super::prefetch::<{ _MM_HINT_T0 }>(
                    next.wrapping_add(64 * from),
                    lines / 2 + h * (lines % 2),
                );
                // SAFETY: the features are the caller's contract.
                unsafe { half(tile, h, x, da, acc) };
            }
        }
    }
    for (t, acc) in chunk.zip(acc) {
        sink(t, &join(acc));
    }
}

/// Half `h` (rows `8h..8h + 8`) of tile `t` against `R` activation rows' spread values
/// `x`, folded into `acc` (one register of eight rows per activation row), `da[i]` row
/// `i`'s scale. A sub-block's groups are summed in i16, [`K4Tile::I16_GROUPS`] at a time,
/// before the `vpmaddwd` that applies the scale.
///
/// # Safety
/// AVX2, FMA and F16C.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn half<T: K4Tile, const R: usize>(
    t: &T,
    h: usize,
    x: &[Spread; R],
    da: [f32; R],
    acc: &mut [__m256; R],
) {
    let mut isum = [_mm256_setzero_si256(); R];
    for s in 0..8 {
        let high = t.fifth_bits(s);
        // SAFETY: each `scales[s]` row is 16 bytes; `8h + 8 ≤ 16`.
        let sc = pair_scales(_mm256_cvtepu8_epi32(unsafe {
            load8(t.scales()[s].as_ptr().add(8 * h))
        }));
        let mut part = [_mm256_setzero_si256(); R];
        for u in 0..4 {
            let g = 4 * s + u;
            let (lo, hi) = nibble_codes(t.group(g), h, high.map(|masks| &masks[u]));
            for (p, x) in part.iter_mut().zip(x) {
                let two = _mm256_add_epi16(
                    _mm256_maddubs_epi16(lo, x.values[2 * g]),
                    _mm256_maddubs_epi16(hi, x.values[2 * g + 1]),
                );
                *p = _mm256_add_epi16(*p, two);
            }
            if (u + 1) % T::I16_GROUPS == 0 {
                for (total, p) in isum.iter_mut().zip(&mut part) {
                    *total = _mm256_add_epi32(*total, _mm256_madd_epi16(*p, sc));
                    *p = _mm256_setzero_si256();
                }
            }
        }
    }
    // The mins' term, two sub-blocks per `vpmaddwd`: each row's mins of sub-blocks `2p`
    // and `2p + 1` as an i16 pair against the activation's two sub-block sums, made once
    // per tile column in [`spread`]. One `vpmaddwd` per sub-block against its two per-16
    // sums took twice the multiplies and a broadcast each, 15 % of the ops at four rows
    // (Zen 3, alternating builds, best of six: Q4_K 4096² n = 128 12.61 → 11.76 ms).
    let mut imin = [_mm256_setzero_si256(); R];
    for p in 0..4 {
        let mins = &t.mins()[2 * p..2 * p + 2];
        // SAFETY: each `mins[s]` row is 16 bytes; `8h + 8 ≤ 16`.
        let pairs = _mm256_cvtepu8_epi16(unsafe {
            _mm_unpacklo_epi8(
                load8(mins[0].as_ptr().add(8 * h)),
                load8(mins[1].as_ptr().add(8 * h)),
            )
        });
        for (total, x) in imin.iter_mut().zip(x) {
            *total = _mm256_add_epi32(*total, _mm256_madd_epi16(pairs, x.pair_sums[p]));
        }
    }
    // SAFETY: `d` and `dmin` are 16 f16 each; `8h + 8 ≤ 16`.
    let (d, dmin) = unsafe {
        (
            _mm256_cvtph_ps(_mm_loadu_si128(t.d().as_ptr().add(8 * h).cast())),
            _mm256_cvtph_ps(_mm_loadu_si128(t.dmin().as_ptr().add(8 * h).cast())),
        )
    };
    fold_with_mins(acc, (&isum, &imin), (d, dmin), da);
}
