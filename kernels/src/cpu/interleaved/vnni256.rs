//! The tile kernels on 256-bit lanes with `vpdpbusd`, for CPUs that have VNNI without
//! AVX-512 (AVX-VNNI: Intel since Alder Lake, AMD since Zen 5's laptop parts). They walk
//! the tiles as the AVX2 kernels do (a 64-byte group is rows 0–7, then rows 8–15; both
//! halves within each tile, so the weights stay one stream) and do the AVX-512 kernels'
//! arithmetic: unsigned codes × signed activations straight into i32 (no `maddubs` i16
//! limit, so Q8_0 keeps its `q + 128` codes), biases taken back through the activation
//! sums.
//!
//! The instruction has two encodings with one result, VEX (AVX-VNNI) and EVEX (AVX-512
//! VNNI + VL). The bodies are written once, generic over [`Dpbusd`], and compiled for
//! each: a CPU with AVX-512 VNNI runs the EVEX copy, which is how this level is tested on
//! machines without AVX-VNNI. Only the encoding of one instruction differs.

use super::avx2::{
    add_q6_k_bias, fold, fold_with_mins, join, load8, nibble_codes, pair_scales, prefetch_ahead,
    q6_k_codes,
};
use super::nibble32::Nibble32Tile;
use super::plane2::{TileQ2K, TileQ3K};
use super::plane2_avx2::{self, Vnni};
use super::q4_k::K4Tile;
use super::q6_k::TileQ6K;
use super::q8_0::TileQ8_0;
use super::{checked_rows, RowPointers, Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use std::arch::x86_64::*;

/// `acc + Σ₄ u8 × i8` per i32 lane, in one encoding.
pub trait Dpbusd {
    /// # Safety
    /// The CPU must have the encoding's feature.
    unsafe fn dpbusd(acc: __m256i, unsigned: __m256i, signed: __m256i) -> __m256i;
}

/// AVX-VNNI's VEX encoding.
pub struct Vex;

/// AVX-512 VNNI + VL's EVEX encoding of the same instruction.
pub struct Evex;

impl Dpbusd for Vex {
    #[inline(always)]
    unsafe fn dpbusd(acc: __m256i, unsigned: __m256i, signed: __m256i) -> __m256i {
        // SAFETY: the caller's contract (AVX-VNNI).
        unsafe { _mm256_dpbusd_avx_epi32(acc, unsigned, signed) }
    }
}

impl Dpbusd for Evex {
    #[inline(always)]
    unsafe fn dpbusd(acc: __m256i, unsigned: __m256i, signed: __m256i) -> __m256i {
        // SAFETY: the caller's contract (AVX-512 VNNI + VL).
        unsafe { _mm256_dpbusd_epi32(acc, unsigned, signed) }
    }
}

/// Whether this CPU has the VEX encoding (preferred when it has both: no EVEX prefix).
pub fn has_vex() -> bool {
    std::arch::is_x86_feature_detected!("avxvnni")
}

/// Broadcasts the four activation bytes at `p` to every i32 lane.
///
/// # Safety
/// AVX2, and `p..p + 4` readable.
#[inline(always)]
unsafe fn broadcast4(p: *const i8) -> __m256i {
    // SAFETY: the caller's contract.
    unsafe { _mm256_set1_epi32(p.cast::<i32>().read_unaligned()) }
}

/// A unit of a Q8_0 tile (eight values of sixteen rows, two lines) as two registers of
/// half `h`'s eight rows: values `8u..8u + 4` and `8u + 4..8u + 8`, codes `q + 128`.
///
/// # Safety
/// AVX2, and `at..at + 32`, `at + 64..at + 96` readable.
#[inline(always)]
unsafe fn q8_0_unit(at: *const u8) -> (__m256i, __m256i) {
    // SAFETY: the caller's contract.
    unsafe {
        (
            _mm256_loadu_si256(at.cast()),
            _mm256_loadu_si256(at.add(64).cast()),
        )
    }
}

/// Q8_0: per half and block, two chains per activation row (a unit's first and second
/// four values), the first starting at the codes' bias `−128 · Σy`; the block's scales
/// fold the sum into the f32 accumulators.
///
/// # Safety
/// AVX2, FMA, F16C and `E`'s feature.
#[inline(always)]
unsafe fn q8_0<E: Dpbusd, const R: usize>(
    tile: &[TileQ8_0],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let RowPointers {
        quants,
        sums,
        scales,
    } = checked_rows(tile.len(), &acts);
    // SAFETY: the caller's features; every read is in range: rows have `256 · tile.len()`
    // quants and a sum and scale per 32 (checked above); a tile's 32 units of 128 bytes
    // are its codes (`u < 32`, `h < 2`, `s < 8`).
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); R]; 2];
        for (b, t) in tile.iter().enumerate() {
            for (h, acc) in acc.iter_mut().enumerate() {
                prefetch_ahead((t as *const TileQ8_0).cast(), TileQ8_0::HEADER_LINES, h);
                let first_code = t.codes.as_ptr().cast::<u8>();
                let codes = first_code.add(32 * h);
                for s in 0..8 {
                    let blk = 8 * b + s;
                    let mut first = [_mm256_setzero_si256(); R];
                    let mut second = [_mm256_setzero_si256(); R];
                    for i in 0..R {
                        first[i] = _mm256_set1_epi32(-128 * i32::from(*sums[i].add(blk)));
                    }
                    for u in 4 * s..4 * s + 4 {
                        let at = 128 * u;
                        prefetch_ahead(first_code.wrapping_add(at), 2, h);
                        let (w0, w1) = q8_0_unit(codes.add(at));
                        for i in 0..R {
                            let y = quants[i].add(256 * b + 8 * u);
                            first[i] = E::dpbusd(first[i], w0, broadcast4(y));
                            second[i] = E::dpbusd(second[i], w1, broadcast4(y.add(4)));
                        }
                    }
                    let d = _mm256_cvtph_ps(_mm_loadu_si128(t.d[s].as_ptr().add(8 * h).cast()));
                    for i in 0..R {
                        let sum = _mm256_cvtepi32_ps(_mm256_add_epi32(first[i], second[i]));
                        let scale = _mm256_mul_ps(d, _mm256_set1_ps(*scales[i].add(blk)));
                        acc[i] = _mm256_fmadd_ps(sum, scale, acc[i]);
                    }
                }
            }
        }
        join(acc)
    }
}

/// The 4-bit 32-block tiles (Q4_0, Q4_1, Q5_0, Q5_1; see [`Nibble32Tile`]): per half and
/// block two chains per activation row (a group's low and high nibbles' values, fifth bits
/// spread from the masks as on AVX2), the first starting at `BIAS · Σy`; the block's
/// scales (and min) fold the sum into the f32 accumulators.
///
/// # Safety
/// AVX2, FMA, F16C and `E`'s feature.
#[inline(always)]
unsafe fn nibble32<E: Dpbusd, T: Nibble32Tile, const R: usize>(
    tile: &[T],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let RowPointers {
        quants,
        sums,
        scales,
    } = checked_rows(tile.len(), &acts);
    // SAFETY: the caller's features; every read is in range: rows have `256 · tile.len()`
    // quants and a sum and scale per 32 (checked above); each row of `d` / `m` is 16 f16
    // (`8h + 8 ≤ 16`), `g < 32`, `s < 8`.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); R]; 2];
        for (b, t) in tile.iter().enumerate() {
            for (h, acc) in acc.iter_mut().enumerate() {
                prefetch_ahead((t as *const T).cast(), T::HEADER_LINES, h);
                for s in 0..8 {
                    let blk = 8 * b + s;
                    let high = t.fifth_bits(s);
                    if let Some(masks) = high {
                        prefetch_ahead(masks.as_ptr().cast(), 1, h);
                    }
                    let mut first = [_mm256_setzero_si256(); R];
                    let mut second = [_mm256_setzero_si256(); R];
                    for i in 0..R {
                        first[i] = _mm256_set1_epi32(T::BIAS * i32::from(*sums[i].add(blk)));
                    }
                    for u in 0..4 {
                        let g = 4 * s + u;
                        let group = t.group(g);
                        prefetch_ahead(group.as_ptr().cast(), 1, h);
                        let (lo, hi) = nibble_codes(group, h, high.map(|masks| &masks[u]));
                        for i in 0..R {
                            let y = quants[i].add(256 * b + 8 * g);
                            first[i] = E::dpbusd(first[i], lo, broadcast4(y));
                            second[i] = E::dpbusd(second[i], hi, broadcast4(y.add(4)));
                        }
                    }
                    let d = _mm256_cvtph_ps(_mm_loadu_si128(t.d()[s].as_ptr().add(8 * h).cast()));
                    let m = t
                        .m()
                        .map(|m| _mm256_cvtph_ps(_mm_loadu_si128(m[s].as_ptr().add(8 * h).cast())));
                    for i in 0..R {
                        let da = *scales[i].add(blk);
                        let sum = _mm256_cvtepi32_ps(_mm256_add_epi32(first[i], second[i]));
                        let scale = _mm256_mul_ps(d, _mm256_set1_ps(da));
                        acc[i] = _mm256_fmadd_ps(sum, scale, acc[i]);
                        if let Some(m) = m {
                            let sy = da * f32::from(*sums[i].add(blk));
                            acc[i] = _mm256_fmadd_ps(m, _mm256_set1_ps(sy), acc[i]);
                        }
                    }
                }
            }
        }
        join(acc)
    }
}

/// The Q4_K and Q5_K tiles ([`K4Tile`]): per sub-block two chains per activation row (low
/// and high nibbles' values, Q5_K's fifth bits spread from its masks as on AVX2); their
/// sum (up to 32·31·128, past i16, so no `vpmaddwd`) is scaled by the rows' 6-bit scales
/// with one `vpmulld`, as on AVX-512; the mins' term is one `vpmaddwd` of (min, min) pairs
/// against the activation's two per-16 sums.
///
/// # Safety
/// AVX2, FMA, F16C and `E`'s feature.
#[inline(always)]
unsafe fn k4<E: Dpbusd, T: K4Tile, const R: usize>(
    tile: &[T],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let RowPointers {
        quants,
        sums,
        scales,
    } = checked_rows(tile.len(), &acts);
    // SAFETY: the caller's features; every read is in range: each `scales[s]` / `mins[s]`
    // row and `d` / `dmin` hold 16 entries (`8h + 8 ≤ 16`), rows have `256 · tile.len()`
    // quants and 16 sums per tile (checked above), `g < 32`, `s < 8`.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); R]; 2];
        for (b, t) in tile.iter().enumerate() {
            for (h, acc) in acc.iter_mut().enumerate() {
                prefetch_ahead((t as *const T).cast(), T::HEADER_LINES, h);
                let mut isum = [_mm256_setzero_si256(); R];
                let mut imin = [_mm256_setzero_si256(); R];
                for s in 0..8 {
                    let high = t.fifth_bits(s);
                    if let Some(masks) = high {
                        prefetch_ahead(masks.as_ptr().cast(), 1, h);
                    }
                    let mut sub_lo = [_mm256_setzero_si256(); R];
                    let mut sub_hi = [_mm256_setzero_si256(); R];
                    for u in 0..4 {
                        let g = 4 * s + u;
                        let group = t.group(g);
                        prefetch_ahead(group.as_ptr().cast(), 1, h);
                        let (lo, hi) = nibble_codes(group, h, high.map(|masks| &masks[u]));
                        for i in 0..R {
                            let y = quants[i].add(256 * b + 8 * g);
                            sub_lo[i] = E::dpbusd(sub_lo[i], lo, broadcast4(y));
                            sub_hi[i] = E::dpbusd(sub_hi[i], hi, broadcast4(y.add(4)));
                        }
                    }
                    let sc = _mm256_cvtepu8_epi32(load8(t.scales()[s].as_ptr().add(8 * h)));
                    let mn =
                        pair_scales(_mm256_cvtepu8_epi32(load8(t.mins()[s].as_ptr().add(8 * h))));
                    for i in 0..R {
                        let sub = _mm256_add_epi32(sub_lo[i], sub_hi[i]);
                        isum[i] = _mm256_add_epi32(isum[i], _mm256_mullo_epi32(sub, sc));
                        // The sub-block's two per-16 sums as one i16 pair against (min, min).
                        let pair = sums[i].add(16 * b + 2 * s).cast::<i32>().read_unaligned();
                        imin[i] = _mm256_add_epi32(
                            imin[i],
                            _mm256_madd_epi16(mn, _mm256_set1_epi32(pair)),
                        );
                    }
                }
                let d = _mm256_cvtph_ps(_mm_loadu_si128(t.d().as_ptr().add(8 * h).cast()));
                let dmin = _mm256_cvtph_ps(_mm_loadu_si128(t.dmin().as_ptr().add(8 * h).cast()));
                let da = std::array::from_fn(|i| *scales[i].add(b));
                fold_with_mins(acc, (&isum, &imin), (d, dmin), da);
            }
        }
        join(acc)
    }
}

/// Q6_K: codes rebuilt from the planes as the AVX2 kernel does, four `vpdpbusd` per
/// sub-block and activation row in two chains; the signed sub-block scale is one
/// `vpmulld` (the sums exceed i16), as on AVX-512; the `−32` starts the first chain at
/// `−32 · Σy` for one activation row, and goes in through [`add_q6_k_bias`] for more.
///
/// # Safety
/// AVX2, FMA, F16C and `E`'s feature.
#[inline(always)]
unsafe fn q6_k<E: Dpbusd, const R: usize>(
    tile: &[TileQ6K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let RowPointers {
        quants,
        sums,
        scales,
    } = checked_rows(tile.len(), &acts);
    // SAFETY: the caller's features; every read is in range: `s < 16` indexes one of the 16
    // sub-blocks of three 64-byte planes (`h < 2` picks 32 bytes of each), each `scales[s]`
    // row and `d` hold 16 entries, rows have `256 · tile.len()` quants and 16 sums per tile
    // (checked above).
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); R]; 2];
        for (b, t) in tile.iter().enumerate() {
            for (h, acc) in acc.iter_mut().enumerate() {
                prefetch_ahead((t as *const TileQ6K).cast(), TileQ6K::HEADER_LINES, h);
                let codes = t.codes.as_ptr().cast::<u8>().add(32 * h);
                let mut total = [_mm256_setzero_si256(); R];
                for s in 0..16 {
                    let at = 192 * s;
                    prefetch_ahead(t.codes.as_ptr().cast::<u8>().wrapping_add(at), 3, h);
                    let c = q6_k_codes(codes.add(at));
                    let sc = _mm256_cvtepi8_epi32(load8(t.scales[s].as_ptr().add(8 * h).cast()));
                    for i in 0..R {
                        let y = quants[i].add(256 * b + 16 * s);
                        // The bias: per sub-block at one activation row, else per block
                        // below (as on AVX2).
                        let mut sub0 = if R == 1 {
                            _mm256_set1_epi32(-32 * i32::from(*sums[i].add(16 * b + s)))
                        } else {
                            _mm256_setzero_si256()
                        };
                        let mut sub1 =
                            E::dpbusd(_mm256_setzero_si256(), c[1], broadcast4(y.add(4)));
                        sub0 = E::dpbusd(sub0, c[0], broadcast4(y));
                        sub0 = E::dpbusd(sub0, c[2], broadcast4(y.add(8)));
                        sub1 = E::dpbusd(sub1, c[3], broadcast4(y.add(12)));
                        let sub = _mm256_add_epi32(sub0, sub1);
                        total[i] = _mm256_add_epi32(total[i], _mm256_mullo_epi32(sub, sc));
                    }
                }
                if R > 1 {
                    add_q6_k_bias(
                        &mut total,
                        t,
                        h,
                        std::array::from_fn(|i| sums[i].add(16 * b)),
                    );
                }
                let d = _mm256_loadu_ps(t.d.as_ptr().add(8 * h));
                fold(acc, &total, d, std::array::from_fn(|i| *scales[i].add(b)));
            }
        }
        join(acc)
    }
}

/// The kernels compiled for one encoding: each entry enables the features its
/// `#[inline(always)]` body needs, so the body is compiled with that encoding inside.
macro_rules! encoding {
    ($module:ident, $encoding:ty, $features:literal) => {
        /// The tile kernels in this encoding.
        pub mod $module {
            use super::*;

            /// The Q4_0-family tiles.
            #[target_feature(enable = $features)]
            pub fn dot_nibble32<T: Nibble32Tile, const R: usize>(
                tile: &[T],
                acts: [&ActivationRow; R],
            ) -> [[f32; TILE_ROWS]; R] {
                // SAFETY: this function's features are the body's contract.
                unsafe { nibble32::<$encoding, T, R>(tile, acts) }
            }

            /// Q8_0 tiles.
            #[target_feature(enable = $features)]
            pub fn dot_q8_0<const R: usize>(
                tile: &[TileQ8_0],
                acts: [&ActivationRow; R],
            ) -> [[f32; TILE_ROWS]; R] {
                // SAFETY: this function's features are the body's contract.
                unsafe { q8_0::<$encoding, R>(tile, acts) }
            }

            /// Q4_K and Q5_K tiles.
            #[target_feature(enable = $features)]
            pub fn dot_k4<T: K4Tile, const R: usize>(
                tile: &[T],
                acts: [&ActivationRow; R],
            ) -> [[f32; TILE_ROWS]; R] {
                // SAFETY: this function's features are the body's contract.
                unsafe { k4::<$encoding, T, R>(tile, acts) }
            }

            /// Q2_K tiles.
            #[target_feature(enable = $features)]
            pub fn dot_q2_k<const R: usize>(
                tile: &[TileQ2K],
                acts: [&ActivationRow; R],
            ) -> [[f32; TILE_ROWS]; R] {
                // SAFETY: this function's features are the body's contract.
                unsafe { plane2_avx2::q2_k::<Vnni<$encoding>, R>(tile, acts) }
            }

            /// Q3_K tiles.
            #[target_feature(enable = $features)]
            pub fn dot_q3_k<const R: usize>(
                tile: &[TileQ3K],
                acts: [&ActivationRow; R],
            ) -> [[f32; TILE_ROWS]; R] {
                // SAFETY: this function's features are the body's contract.
                unsafe { plane2_avx2::q3_k::<Vnni<$encoding>, R>(tile, acts) }
            }

            /// Q6_K tiles.
            #[target_feature(enable = $features)]
            pub fn dot_q6_k<const R: usize>(
                tile: &[TileQ6K],
                acts: [&ActivationRow; R],
            ) -> [[f32; TILE_ROWS]; R] {
                // SAFETY: this function's features are the body's contract.
                unsafe { q6_k::<$encoding, R>(tile, acts) }
            }
        }
    };
}

encoding!(vex, Vex, "avx2,fma,f16c,avxvnni");
encoding!(evex, Evex, "avx2,fma,f16c,avx512f,avx512vl,avx512vnni");

/// Picks the encoding this CPU has for one kernel.
macro_rules! dispatch {
    ($kernel:ident, $tile:ident, $acts:ident) => {
        if $crate::cpu::interleaved::vnni256::has_vex() {
            // SAFETY: the CPU has AVX-VNNI (just checked) and AVX2/FMA/F16C (the caller's).
            unsafe { $crate::cpu::interleaved::vnni256::vex::$kernel($tile, $acts) }
        } else {
            // SAFETY: without AVX-VNNI the level exists only with AVX-512 VNNI + VL.
            unsafe { $crate::cpu::interleaved::vnni256::evex::$kernel($tile, $acts) }
        }
    };
}
pub(super) use dispatch;
