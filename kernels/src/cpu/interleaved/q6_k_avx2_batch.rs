//! AVX2 Q6_K batches over codes unpacked once per tile row. The row-group kernel
//! ([`super::avx2::dot_q6_k`]) rebuilds every 6-bit code from its three planes for each
//! group of activation rows, and adds the codes' `−32` through the activation sums in a
//! separate pass: together about a quarter of its vector ops at six rows per pass. Here a
//! tile row's codes are unpacked once into signed bytes (`code − 32`) beside their widened
//! scales, and every activation row of the batch is swept over them. The activations go
//! in as `y + 128` (unsigned, as `vpmaddubsw` needs one side), so the `−32` leaves the
//! loop and the `+128` is taken back by one constant per row and half tile,
//! `128 · Σ scale · Σ (code − 32)`, computed while unpacking.
//!
//! Bounds: `|code − 32| ≤ 32` and `y + 128 ≤ 255`, so a `vpmaddubsw` pair is at most
//! 16320 and two added in i16 at most 32640, as in the row-group kernel.
//!
//! Unpacking reads a tile row in one burst, so the first activation group over a tile row
//! asks for the next one into L2 as it goes (n = 8–24 +3–17 %, larger batches level).
//!
//! The integer sums are the row-group kernel's exactly (the outputs were bit-equal on
//! every shape measured). Speed against the row-group kernel: see [`MIN_ROWS`]. Tried and
//! dropped: both halves per broadcast with three rows (LLVM keeps a sub-block's eight code
//! registers across the rows and spills the sums; forcing memory operands through
//! volatile reads measured ~5 % faster, within this VM's noise and not worth steering the
//! register allocator that way; through inline asm level to 20 % slower).

use super::avx2::{broadcast4, fold, join, load8, pair_scales, q6_k_codes, sub_block};
use super::q6_k::TileQ6K;
use super::{TiledMatrix, TILE_ROWS};
use crate::cpu::activation::{ActivationRow, ActivationRows};
use bytemuck::Zeroable;
use std::arch::x86_64::*;
use std::array::from_fn;
use std::cell::RefCell;
use std::ops::Range;

/// One tile unpacked for the batch kernel (5.2 KiB against the tile's 3.3 KiB; one tile
/// row of them is live per thread).
#[derive(Clone, Copy, bytemuck::Zeroable)]
#[repr(C, align(64))]
struct Unpacked {
    /// `codes[s][h][k]`: half `h`'s eight rows' `code − 32` of values `16s + 4k + j`,
    /// `j` = 0..4 the bytes of each row's lane.
    codes: [[[__m256i; 4]; 2]; 16],
    /// `scales[s][h]`: the eight rows' sub-block scales, each in both i16 halves of its
    /// lane ([`pair_scales`]).
    scales: [[__m256i; 2]; 16],
    /// `−128 · Σ_s scale_s · Σ (code − 32)` per row of half `h`: where a half's sums start,
    /// taking back what the `+128` of the activations adds.
    start: [__m256i; 2],
    /// Each half's rows' `d`.
    d: [__m256; 2],
}

/// Unpacks `tile` into `u`.
#[inline]
#[target_feature(enable = "avx2")]
fn unpack(tile: &TileQ6K, u: &mut Unpacked) {
    let base = tile.codes.as_ptr().cast::<u8>();
    let (offset, biased) = (_mm256_set1_epi8(32), _mm256_set1_epi8(-128));
    let mut start = [_mm256_setzero_si256(); 2];
    for s in 0..16 {
        for (h, start) in start.iter_mut().enumerate() {
            // SAFETY: sub-block `s` is three 64-byte planes from `192s`; half `h` reads 32
            // bytes of each. Each `scales[s]` row is 16 bytes; `8h + 8 ≤ 16`.
            let (c, sc) = unsafe {
                (
                    q6_k_codes(base.add(192 * s + 32 * h)),
                    load8(tile.scales[s].as_ptr().add(8 * h).cast()),
                )
            };
            let c = c.map(|c| _mm256_sub_epi8(c, offset));
            let sc = pair_scales(_mm256_cvtepi8_epi32(sc));
            *start = _mm256_sub_epi32(*start, sub_block([biased; 4], c, sc));
            u.codes[s][h] = c;
            u.scales[s][h] = sc;
        }
    }
    u.start = start;
    // SAFETY: `d` is 16 f32.
    u.d = from_fn(|h| unsafe { _mm256_loadu_ps(tile.d.as_ptr().add(8 * h)) });
}

/// The sixteen rows of an unpacked tile row against `R` activation rows: `quants[i]` row
/// `i`'s `y + 128` (`256 · tiles.len()` bytes), `scales[i]` its block scales. Unless
/// `next` is null, the kernel asks for the packed tile row there (the next one to unpack)
/// into L2 as it goes, a couple of lines per sub-block.
///
/// # Safety
/// AVX2, FMA and F16C; every `quants[i]` readable for `256 · tiles.len()` bytes and
/// `scales[i]` for `tiles.len()` f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot<const R: usize>(
    tiles: &[Unpacked],
    quants: [*const u8; R],
    scales: [*const f32; R],
    next: *const TileQ6K,
) -> [[f32; TILE_ROWS]; R] {
    let mut acc = [[_mm256_setzero_ps(); R]; 2];
    for (b, u) in tiles.iter().enumerate() {
        // SAFETY: the caller's contract, `b < tiles.len()`.
        let da = from_fn(|i| unsafe { *scales[i].add(b) });
        // Tile `b` of the next tile row: 53 lines, two asked for per (half, sub-block).
        let ahead = next.wrapping_add(b).cast::<u8>();
        for (h, acc) in acc.iter_mut().enumerate() {
            let mut isum = [u.start[h]; R];
            for s in 0..16 {
                if !next.is_null() {
                    super::prefetch::<{ _MM_HINT_T1 }>(ahead.wrapping_add(128 * (16 * h + s)), 2);
                }
                let (c, sc) = (&u.codes[s][h], u.scales[s][h]);
                for (i, isum) in isum.iter_mut().enumerate() {
                    // SAFETY: the caller's contract; `256b + 16s + 16 ≤ 256 · tiles.len()`.
                    let y = unsafe { quants[i].add(256 * b + 16 * s).cast::<i8>() };
                    let y = from_fn(|k| unsafe { broadcast4(y.add(4 * k)) });
                    *isum = _mm256_add_epi32(*isum, sub_block(y, *c, sc));
                }
            }
            fold(acc, &isum, u.d[h], da);
        }
    }
    join(acc)
}

/// The fewest activation rows this path takes; fewer go to the row-group kernel, which
/// needs no unpacked copy. Measured with both alternating in one process on two Zen 3
/// vCPUs, this path's speed over the row-group kernel's: 4096² n = 6 0.73×, 8 0.85×, 12
/// 0.94–0.97×, 16 1.01–1.09× (11008×4096: 1.06–1.13×), 24–32 1.01–1.12×, 64 1.23–1.28×,
/// 128–512 1.30–1.33×; 11008×4096 n = 128 1.29–1.48×, 4096×14336 1.10–1.23×. (Before the
/// kernel asked for the next tile row ahead, n = 16 was 0.91–1.05× and this was 24.)
pub(super) const MIN_ROWS: usize = 16;

/// Activation rows one pass serves: four rows' sums, a sub-block's four code registers,
/// its scales and the broadcasts fit the sixteen registers (six and five measured level
/// with four, both halves at once spilled).
const GROUP: usize = 4;

/// Tile rows `tiles` of `m` against the activation rows `rows` (`acts` converted; see
/// [`super::Tile::avx2_batch`]): each tile row unpacked once, then every activation row
/// swept over it, [`GROUP`] at a time.
///
/// # Safety
/// AVX2, FMA and F16C.
///
/// # Panics
/// If `tiles` reaches past `m` or an activation row does not cover its tile rows.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn matmul(
    m: &TiledMatrix<TileQ6K>,
    tiles: Range<usize>,
    acts: &ActivationRows,
    rows: &[ActivationRow],
    sink: &mut dyn FnMut(usize, usize, &[f32; TILE_ROWS]),
) {
    let blocks = m.padded_k() / 256;
    let k = 256 * blocks;
    let offset = acts.offset_quants();
    assert!(
        acts.k() == k && offset.len() == rows.len() * k,
        "activation rows match the tiles"
    );
    for a in rows {
        assert_eq!(a.scales.len(), blocks, "one scale per block");
    }
    UNPACKED.with_borrow_mut(|unpacked| {
        // Every tile is written by `unpack` before it is read; the fill only sizes it.
        unpacked.resize(blocks, Unpacked::zeroed());
        // SAFETY: the features are the caller's contract; the rows were checked above.
        unsafe { sweep(m, tiles, offset, rows, unpacked, sink) };
    });
}

thread_local! {
    /// Each thread's unpacked tile row, kept between calls so a matmul allocates nothing
    /// for it after a thread's first (84 KiB for a 4096-wide row, 290 KiB at 14336).
    static UNPACKED: RefCell<Vec<Unpacked>> = const { RefCell::new(Vec::new()) };
}

/// [`matmul`]'s loop, `offset` the activations' `y + 128` and `unpacked` one tile row's
/// worth of buffer.
///
/// # Safety
/// AVX2, FMA and F16C; checked as [`matmul`] does.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn sweep(
    m: &TiledMatrix<TileQ6K>,
    tiles: Range<usize>,
    offset: &[u8],
    rows: &[ActivationRow],
    unpacked: &mut [Unpacked],
    sink: &mut dyn FnMut(usize, usize, &[f32; TILE_ROWS]),
) {
    let blocks = unpacked.len();
    let k = 256 * blocks;
    let last = tiles.end;
    for t in tiles {
        for (u, tile) in unpacked
            .iter_mut()
            .zip(&m.tiles[t * blocks..(t + 1) * blocks])
        {
            unpack(tile, u);
        }
        let mut i = 0;
        while i < rows.len() {
            let g = GROUP.min(rows.len() - i);
            let quants = |j: usize| offset[(i + j) * k..].as_ptr();
            let scales = |j: usize| rows[i + j].scales.as_ptr();
            // The first group asks for the next tile row while it computes: unpacking
            // reads a tile row in one burst, which would otherwise wait on memory.
            let next = if i == 0 && t + 1 < last {
                m.tiles[(t + 1) * blocks..].as_ptr()
            } else {
                std::ptr::null()
            };
            macro_rules! by_group {
                ($($rows:literal),*) => {
                    match g {
                        $($rows => {
                            // SAFETY: the features are the caller's contract; rows
                            // `i..i + g` have `k` offset quants and `blocks` scales
                            // (checked above).
                            let sums = unsafe {
                                dot::<$rows>(unpacked, from_fn(quants), from_fn(scales), next)
                            };
                            for (j, row_sums) in sums.iter().enumerate() {
                                sink(i + j, TILE_ROWS * t, row_sums);
                            }
                        })*
                        _ => unreachable!("groups hold 1 to {GROUP} rows"),
                    }
                };
            }
            by_group!(4, 3, 2, 1);
            i += g;
        }
    }
}
