//! The tile kernels on AVX2 without VNNI (most laptops): a 64-byte group is two 32-byte
//! halves, rows 0–7 and rows 8–15, done one after the other within each tile (so the
//! weights are still one stream) with each half's integer sums in registers. `vpdpbusd` becomes
//! `vpmaddubsw` (u8 × i8 pairs into i16) and `vpmaddwd` (pairs into i32), which is exact
//! only while a pair of products fits i16: the 4- and 6-bit codes do (two `maddubs` are
//! even added before widening), Q8_0's do not, so Q8_0 multiplies `|q|` by `y` carrying
//! `q`'s sign (ggml's trick). Where a sub-block scale applies, it rides in the `vpmaddwd`
//! instead of a separate multiply.

use super::nibble32::{Nibble32Tile, NibbleGroup};
use super::q4_k::K4Tile;
use super::q6_k::TileQ6K;
use super::q8_0::TileQ8_0;
use super::{Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use std::arch::x86_64::*;
use std::array::from_fn;

/// The two halves' f32 accumulators (rows 0–7, rows 8–15) out as sixteen sums per row.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn join<const R: usize>(acc: [[__m256; R]; 2]) -> [[f32; TILE_ROWS]; R] {
    let mut out = [[0.0f32; TILE_ROWS]; R];
    for (h, half) in acc.iter().enumerate() {
        for (o, v) in out.iter_mut().zip(half) {
            // SAFETY: `o[8h..8h + 8]` is eight f32.
            unsafe { _mm256_storeu_ps(o.as_mut_ptr().add(8 * h), *v) };
        }
    }
    out
}

/// Eight rows' scales (one per i32 lane) copied into both i16 halves of their lane: what
/// `vpmaddwd` multiplies a lane's two i16 partial sums by.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn pair_scales(lanes: __m256i) -> __m256i {
    _mm256_or_si256(
        _mm256_and_si256(lanes, _mm256_set1_epi32(0xFFFF)),
        _mm256_slli_epi32::<16>(lanes),
    )
}

/// Folds a half-tile's (or block's) integer sums into its f32 accumulators,
/// `acc += da · d · dot` per row lane with `da` each activation row's scale: the epilogue
/// of the 256-bit kernels.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn fold<const R: usize>(
    acc: &mut [__m256; R],
    dot: &[__m256i; R],
    d: __m256,
    da: [f32; R],
) {
    for i in 0..R {
        let scale = _mm256_mul_ps(d, _mm256_set1_ps(da[i]));
        acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[i]), scale, acc[i]);
    }
}

/// [`fold`], then `acc −= da · dmin · min`: the epilogue of the K-quants with mins (Q4_K,
/// Q5_K, Q2_K) at AVX2 and AVX-VNNI.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn fold_with_mins<const R: usize>(
    acc: &mut [__m256; R],
    (dot, min): (&[__m256i; R], &[__m256i; R]),
    (d, dmin): (__m256, __m256),
    da: [f32; R],
) {
    fold(acc, dot, d, da);
    for i in 0..R {
        let scale = _mm256_mul_ps(dmin, _mm256_set1_ps(da[i]));
        acc[i] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(min[i]), scale, acc[i]);
    }
}

/// Half `h`'s rows of two sub-blocks' signed scales (`two[0]`, `two[1]`) times `factor`,
/// as one i16 pair per row's lane, for one `vpmaddwd` against an activation's two adjacent
/// per-16 sums.
///
/// # Panics
/// If `two` is not two rows or `h > 1`.
#[inline]
#[target_feature(enable = "avx2")]
fn scaled_pairs(two: &[[i8; TILE_ROWS]], h: usize, factor: i16) -> __m256i {
    assert!(two.len() == 2 && h < 2, "two rows of scales, half 0 or 1");
    // SAFETY: each row is 16 bytes and `8h + 8 ≤ 16`.
    let (first, second) = unsafe {
        (
            load8(two[0].as_ptr().add(8 * h).cast()),
            load8(two[1].as_ptr().add(8 * h).cast()),
        )
    };
    let pairs = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(first, second));
    _mm256_mullo_epi16(pairs, _mm256_set1_epi16(factor))
}

/// Adds a Q6_K block's `−32 · scale · Σy` terms to half `h`'s integer sums of several
/// activation rows: per two sub-blocks one `vpmaddwd` per row of the rows' (−32·scale)
/// pairs ([`scaled_pairs`], shared by all activation rows) against the row's two adjacent
/// per-16 sums (`sums[i]`: the row's 16 sums of this block), where a scalar multiply, a
/// broadcast and a `vpmulld` per sub-block and activation row were (one core from L2,
/// n = 16: AVX2 +11 %, avx-vnni +4 %).
///
/// # Safety
/// `sums[i]..sums[i] + 16` readable for every row.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn add_q6_k_bias<const R: usize>(
    isum: &mut [__m256i; R],
    tile: &TileQ6K,
    h: usize,
    sums: [*const i16; R],
) {
    for p in 0..8 {
        let pairs = scaled_pairs(&tile.scales[2 * p..2 * p + 2], h, -32);
        for (total, row) in isum.iter_mut().zip(sums) {
            // SAFETY: the caller's contract, `2p + 1 < 16`.
            let pair = unsafe { row.add(2 * p).cast::<i32>().read_unaligned() };
            let bias = _mm256_madd_epi16(pairs, _mm256_set1_epi32(pair));
            *total = _mm256_add_epi32(*total, bias);
        }
    }
}

/// Eight bytes at `p` as a 128-bit register.
///
/// # Safety
/// `p..p + 8` must be readable.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn load8(p: *const u8) -> __m128i {
    // SAFETY: the caller's contract.
    unsafe { _mm_loadl_epi64(p.cast()) }
}

/// [`super::prefetch_lines`] on a tile's first half only (the second half reads what the
/// first brought in). The kernels ask for each line as they reach it: asking for a whole
/// tile's 40–70 lines at once filled the miss buffers and stalled the loads behind them
/// (AVX2 Q8_0 decode from L3 ~14 GB/s a core).
#[inline(always)]
pub(super) fn prefetch_ahead(at: *const u8, lines: usize, h: usize) {
    if h == 0 {
        super::prefetch_lines(at, lines);
    }
}

/// One half (eight rows) of a Q6_K tile's sub-block as four registers of full 6-bit codes:
/// values `16s + j`, `16s + 4 + j`, `16s + 8 + j`, `16s + 12 + j` of each row, the first
/// three the low six bits of the three planes starting at `at`, the fourth gathered from
/// their top two bits (`TileQ6K::codes`; 16-bit shifts, whose bits from the next byte the
/// masks drop).
///
/// # Safety
/// `at..at + 32`, `at + 64..at + 96` and `at + 128..at + 160` must be readable.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn q6_k_codes(at: *const u8) -> [__m256i; 4] {
    // SAFETY: the caller's contract.
    let planes: [__m256i; 3] = from_fn(|p| unsafe { _mm256_loadu_si256(at.add(64 * p).cast()) });
    let top = |v: __m256i, mask: i8| _mm256_and_si256(v, _mm256_set1_epi8(mask));
    let fourth = _mm256_or_si256(
        _mm256_or_si256(
            top(_mm256_srli_epi16::<6>(planes[0]), 0x03),
            top(_mm256_srli_epi16::<4>(planes[1]), 0x0C),
        ),
        top(_mm256_srli_epi16::<2>(planes[2]), 0x30),
    );
    [
        top(planes[0], 0x3F),
        top(planes[1], 0x3F),
        top(planes[2], 0x3F),
        fourth,
    ]
}

/// One Q6_K sub-block of eight rows: `Σ_k u[k] · s[k]` by `vpmaddubsw` (`u` the unsigned
/// side), the four products added two by two in i16, each pair of those times the rows'
/// scales `sc` ([`pair_scales`]) by `vpmaddwd`. Exact while two `vpmaddubsw` pairs fit
/// i16: 6-bit codes against activations (≤ 32004), or `code − 32` against `y + 128`
/// (≤ 32640).
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn sub_block(u: [__m256i; 4], s: [__m256i; 4], sc: __m256i) -> __m256i {
    let p01 = _mm256_add_epi16(
        _mm256_maddubs_epi16(u[0], s[0]),
        _mm256_maddubs_epi16(u[1], s[1]),
    );
    let p23 = _mm256_add_epi16(
        _mm256_maddubs_epi16(u[2], s[2]),
        _mm256_maddubs_epi16(u[3], s[3]),
    );
    _mm256_add_epi32(_mm256_madd_epi16(p01, sc), _mm256_madd_epi16(p23, sc))
}

/// Half `h`'s 32 code bytes' extra bit as bytes `value` or 0: bit `32h + i` of `mask` for
/// byte `i` (the AVX-512 kernels use a tile's masks as they are; here they are spread with
/// a byte shuffle, a bit select and a compare). `0x10` for fifth bits, 4 for Q3_K's third.
/// The half's 32 bits are broadcast straight from memory (shifted out of the u64 in a
/// general register, they cost a shift and a move per register and spilled).
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn mask_bytes(mask: &u64, h: usize, value: i8) -> __m256i {
    // Little-endian (x86): word 0 holds bits 0–31.
    let bits = bytemuck::cast_ref::<u64, [u32; 2]>(mask)[h];
    // Byte `i` takes mask byte `i / 8`, then keeps bit `i % 8` of it.
    let spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(bits as i32),
        _mm256_setr_epi64x(
            0,
            0x0101_0101_0101_0101,
            0x0202_0202_0202_0202,
            0x0303_0303_0303_0303,
        ),
    );
    let select = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
    let set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select);
    _mm256_and_si256(set, _mm256_set1_epi8(value))
}

/// Half `h` of a group's codes as two registers, the low nibbles' values (`8g + j`) and the
/// high nibbles' (`8g + 4 + j`), with the fifth bits added from the group's `[low, high]`
/// masks where the tile has them.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn nibble_codes(
    group: &NibbleGroup,
    h: usize,
    fifth: Option<&[u64; 2]>,
) -> (__m256i, __m256i) {
    let m4 = _mm256_set1_epi8(0xF);
    // SAFETY: a group is 64 bytes and `h < 2`.
    let w = unsafe { _mm256_loadu_si256(group.as_ptr().cast::<u8>().add(32 * h).cast()) };
    let (lo, hi) = (
        _mm256_and_si256(w, m4),
        _mm256_and_si256(_mm256_srli_epi16::<4>(w), m4),
    );
    match fifth {
        Some([low, high]) => (
            _mm256_or_si256(lo, mask_bytes(low, h, 0x10)),
            _mm256_or_si256(hi, mask_bytes(high, h, 0x10)),
        ),
        None => (lo, hi),
    }
}

/// The 4-bit 32-block tiles (Q4_0, Q4_1, Q5_0, Q5_1; see [`Nibble32Tile`]) on AVX2. Each
/// block's sum starts as `BIAS · Σy`; codes ≤ 31, so each `maddubs` pair ≤ 7874 and two
/// of them ≤ 15748, exact in i16.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_nibble32<T: Nibble32Tile, const R: usize>(
    tile: &[T],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers {
        quants,
        sums,
        scales,
    } = super::checked_rows(tile.len(), &acts);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_ps(); R]; 2];
    for (b, t) in tile.iter().enumerate() {
        // Both halves of a tile before the next one: one stream through the weights.
        for (h, acc) in acc.iter_mut().enumerate() {
            prefetch_ahead((t as *const T).cast(), T::HEADER_LINES, h);
            for s in 0..8 {
                let blk = 8 * b + s;
                let high = t.fifth_bits(s);
                if let Some(masks) = high {
                    prefetch_ahead(masks.as_ptr().cast(), 1, h);
                }
                // SAFETY (all reads below): rows have `256 · tile.len()` quants and one sum and
                // scale per 32 (checked above); `g < 32`, `h < 2`, `s < 8`.
                let mut isum: [__m256i; R] = std::array::from_fn(|i| unsafe {
                    _mm256_set1_epi32(T::BIAS * i32::from(*sums[i].add(blk)))
                });
                for u in 0..4 {
                    let g = 4 * s + u;
                    let group = t.group(g);
                    prefetch_ahead(group.as_ptr().cast(), 1, h);
                    let (lo, hi) = nibble_codes(group, h, high.map(|masks| &masks[u]));
                    for i in 0..R {
                        let y = unsafe { quants[i].add(256 * b + 8 * g).cast::<i32>() };
                        let (y0, y1) = unsafe {
                            (
                                _mm256_set1_epi32(y.read_unaligned()),
                                _mm256_set1_epi32(y.add(1).read_unaligned()),
                            )
                        };
                        let p = _mm256_add_epi16(
                            _mm256_maddubs_epi16(lo, y0),
                            _mm256_maddubs_epi16(hi, y1),
                        );
                        isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(p, ones));
                    }
                }
                // SAFETY: each row of `d` / `m` is 16 f16; `8h + 8 ≤ 16`.
                let f16x8 = |p: &[u16; TILE_ROWS]| unsafe {
                    _mm256_cvtph_ps(_mm_loadu_si128(p.as_ptr().add(8 * h).cast()))
                };
                let d = f16x8(&t.d()[s]);
                let m = t.m().map(|m| f16x8(&m[s]));
                for i in 0..R {
                    let da = unsafe { *scales[i].add(blk) };
                    let scale = _mm256_mul_ps(d, _mm256_set1_ps(da));
                    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[i]), scale, acc[i]);
                    if let Some(m) = m {
                        let sy = da * f32::from(unsafe { *sums[i].add(blk) });
                        acc[i] = _mm256_fmadd_ps(m, _mm256_set1_ps(sy), acc[i]);
                    }
                }
            }
        }
    }
    join(acc)
}

/// Q8_0 tiles on AVX2: `|q| · (y with q's sign)`, each pair ≤ 2 · 128 · 127, exact in i16.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_q8_0<const R: usize>(
    tile: &[TileQ8_0],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    if R == 1 {
        let one = dot_q8_0_one_row(tile, acts[0]);
        return from_fn(|_| one);
    }
    let super::RowPointers { quants, scales, .. } = super::checked_rows(tile.len(), &acts);
    let mut acc = [[_mm256_setzero_ps(); R]; 2];
    for (b, t) in tile.iter().enumerate() {
        // Both halves of a tile before the next one: one stream through the weights.
        for (h, acc) in acc.iter_mut().enumerate() {
            prefetch_ahead((t as *const TileQ8_0).cast(), TileQ8_0::HEADER_LINES, h);
            let codes = t.codes.as_ptr().cast::<u8>().wrapping_add(32 * h);
            for s in 0..8 {
                let blk = 8 * b + s;
                let mut isum = [_mm256_setzero_si256(); R];
                for g in 8 * s..8 * s + 8 {
                    prefetch_ahead(t.codes.as_ptr().cast::<u8>().wrapping_add(64 * g), 1, h);
                    // SAFETY (all reads below): rows have `256 · tile.len()` quants and one
                    // scale per 32 (checked above); `g < 64`, `h < 2`, `s < 8`.
                    let q = unsafe { q8_0_codes(codes.add(64 * g)) };
                    let magnitude = _mm256_abs_epi8(q);
                    for i in 0..R {
                        let y = unsafe { broadcast4(quants[i].add(256 * b + 4 * g)) };
                        isum[i] = _mm256_add_epi32(isum[i], q8_0_dot(magnitude, q, y));
                    }
                }
                let d =
                    unsafe { _mm256_cvtph_ps(_mm_loadu_si128(t.d[s].as_ptr().add(8 * h).cast())) };
                fold(acc, &isum, d, from_fn(|i| unsafe { *scales[i].add(blk) }));
            }
        }
    }
    join(acc)
}

/// [`dot_q8_0`] for one activation row (decode): both halves of each 64-byte group in
/// turn, so the weights stream in once, line by line. Half by half, a tile's lines were
/// each loaded for 32 bytes and read again from L1 for the other 32, and decode read
/// fewer bytes per second (two Zen 3 vCPUs, alternating builds, 2026-12-03: Q8_0 4096²
/// from DRAM 74–79 → 87–92 % of a plain read of the same bytes, 0.88–0.93 → 1.03–1.05×
/// ggml; 11008×4096 0.93–0.96 → 1.05–1.10×; from L3 4096² 1.38–1.73 → 1.87–1.93×).
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q8_0_one_row(tile: &[TileQ8_0], act: &ActivationRow) -> [f32; TILE_ROWS] {
    let super::RowPointers { quants, scales, .. } = super::checked_rows(tile.len(), &[act]);
    let mut acc = [[_mm256_setzero_ps(); 1]; 2];
    for (b, t) in tile.iter().enumerate() {
        super::prefetch_lines((t as *const TileQ8_0).cast(), TileQ8_0::HEADER_LINES);
        let codes = t.codes.as_ptr().cast::<u8>();
        for s in 0..8 {
            let blk = 8 * b + s;
            let mut isum = [[_mm256_setzero_si256(); 1]; 2];
            for g in 8 * s..8 * s + 8 {
                super::prefetch_lines(codes.wrapping_add(64 * g), 1);
                // SAFETY (all reads below): the row has `256 · tile.len()` quants and one
                // scale per 32 (checked above); `g < 64`, `h < 2`, `s < 8`.
                let y = unsafe { broadcast4(quants[0].add(256 * b + 4 * g)) };
                for (h, sum) in isum.iter_mut().enumerate() {
                    let q = unsafe { q8_0_codes(codes.add(64 * g + 32 * h)) };
                    sum[0] = _mm256_add_epi32(sum[0], q8_0_dot(_mm256_abs_epi8(q), q, y));
                }
            }
            let da = unsafe { *scales[0].add(blk) };
            for (h, (acc, isum)) in acc.iter_mut().zip(&isum).enumerate() {
                let d =
                    unsafe { _mm256_cvtph_ps(_mm_loadu_si128(t.d[s].as_ptr().add(8 * h).cast())) };
                fold(acc, isum, d, [da]);
            }
        }
    }
    join(acc)[0]
}

/// Half a group of Q8_0 tile codes (`q + 128`, eight rows × four values) as the signed `q`.
///
/// # Safety
/// `at..at + 32` must be readable.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn q8_0_codes(at: *const u8) -> __m256i {
    // SAFETY: the caller's contract.
    let codes = unsafe { _mm256_loadu_si256(at.cast()) };
    _mm256_xor_si256(codes, _mm256_set1_epi8(-128))
}

/// Each row lane's dot of its four codes `q` (with `magnitude` = `|q|`) and four activation
/// values `y`: `|q| · (y with q's sign)` through `vpmaddubsw` (each pair ≤ 2 · 128 · 127,
/// exact in i16) and `vpmaddwd`.
#[inline]
#[target_feature(enable = "avx2")]
fn q8_0_dot(magnitude: __m256i, q: __m256i, y: __m256i) -> __m256i {
    let pairs = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(y, q));
    _mm256_madd_epi16(pairs, _mm256_set1_epi16(1))
}

/// Four bytes at `p` in every 32-bit lane (an activation's four values of a group).
///
/// # Safety
/// `p..p + 4` must be readable.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn broadcast4(p: *const i8) -> __m256i {
    // SAFETY: the caller's contract (an unaligned read).
    _mm256_set1_epi32(unsafe { p.cast::<i32>().read_unaligned() })
}

/// The Q4_K and Q5_K tiles ([`K4Tile`]) on AVX2: the 6-bit sub-block scales ride in the
/// `vpmaddwd`; the mins' term is one `vpmaddwd` of (min, min) pairs against the
/// activation's two per-16 sums, per sub-block and activation row.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_k4<T: K4Tile, const R: usize>(
    tile: &[T],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    if R == 1 {
        let one = dot_k4_one_row(tile, acts[0]);
        return from_fn(|_| one);
    }
    let super::RowPointers {
        quants,
        sums,
        scales,
    } = super::checked_rows(tile.len(), &acts);
    let mut acc = [[_mm256_setzero_ps(); R]; 2];
    for (b, t) in tile.iter().enumerate() {
        // Both halves of a tile before the next one: one stream through the weights.
        for (h, acc) in acc.iter_mut().enumerate() {
            prefetch_ahead((t as *const T).cast(), T::HEADER_LINES, h);
            let mut isum = [_mm256_setzero_si256(); R];
            let mut imin = [_mm256_setzero_si256(); R];
            for s in 0..8 {
                let high = t.fifth_bits(s);
                if let Some(masks) = high {
                    prefetch_ahead(masks.as_ptr().cast(), 1, h);
                }
                // SAFETY (all reads below): each `scales[s]` / `mins[s]` row is 16 bytes,
                // rows have `256 · tile.len()` quants and 16 sums per tile (checked above);
                // `g < 32`, `h < 2`, `s < 8`.
                let (sc, mn) = unsafe {
                    (
                        pair_scales(_mm256_cvtepu8_epi32(load8(
                            t.scales()[s].as_ptr().add(8 * h),
                        ))),
                        pair_scales(_mm256_cvtepu8_epi32(load8(t.mins()[s].as_ptr().add(8 * h)))),
                    )
                };
                for u in 0..4 {
                    let g = 4 * s + u;
                    let group = t.group(g);
                    prefetch_ahead(group.as_ptr().cast(), 1, h);
                    let (lo, hi) = nibble_codes(group, h, high.map(|masks| &masks[u]));
                    for i in 0..R {
                        let y = unsafe { quants[i].add(256 * b + 8 * g).cast::<i32>() };
                        let (y0, y1) = unsafe {
                            (
                                _mm256_set1_epi32(y.read_unaligned()),
                                _mm256_set1_epi32(y.add(1).read_unaligned()),
                            )
                        };
                        // ≤ 15748 per i16 lane (5-bit codes); × a 6-bit scale, pairs summed:
                        // exact in i32.
                        let p = _mm256_add_epi16(
                            _mm256_maddubs_epi16(lo, y0),
                            _mm256_maddubs_epi16(hi, y1),
                        );
                        isum[i] = _mm256_add_epi32(isum[i], _mm256_madd_epi16(p, sc));
                    }
                }
                for i in 0..R {
                    // The sub-block's two per-16 sums as one i16 pair against (min, min).
                    let pair = unsafe {
                        _mm256_set1_epi32(
                            sums[i].add(16 * b + 2 * s).cast::<i32>().read_unaligned(),
                        )
                    };
                    imin[i] = _mm256_add_epi32(imin[i], _mm256_madd_epi16(mn, pair));
                }
            }
            // SAFETY: `d` and `dmin` are 16 f16 each; `8h + 8 ≤ 16`.
            let (d, dmin) = unsafe {
                (
                    _mm256_cvtph_ps(_mm_loadu_si128(t.d().as_ptr().add(8 * h).cast())),
                    _mm256_cvtph_ps(_mm_loadu_si128(t.dmin().as_ptr().add(8 * h).cast())),
                )
            };
            // SAFETY: each row has a scale per tile (checked above).
            let da = from_fn(|i| unsafe { *scales[i].add(b) });
            fold_with_mins(acc, (&isum, &imin), (d, dmin), da);
        }
    }
    join(acc)
}

/// Half `h`'s eight rows of sixteen unsigned byte scales, each zero-extended into both i16
/// halves of its row's lane ([`pair_scales`]'s result) by one byte shuffle of the sixteen
/// broadcast to both 128-bit halves. One core, Q4_K 4096² decode from L3, four runs
/// alternating in one process (2026-12-04): 4–7 % faster than widening to i32 and
/// pairing (three more ops per register), the sums bit-equal.
#[inline]
#[target_feature(enable = "avx2")]
fn unsigned_pairs(bytes: &[u8; TILE_ROWS], h: usize) -> __m256i {
    // SAFETY: `bytes` is sixteen bytes.
    let both = unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(bytes.as_ptr().cast())) };
    // Lane `r` (i32) takes byte `8h + r` into both of its i16 halves; -128 zeroes a byte.
    let order: [i8; 32] = from_fn(|i| {
        if i % 2 == 1 {
            -128
        } else {
            (8 * h + i / 4) as i8
        }
    });
    // SAFETY: `order` is 32 bytes.
    let order = unsafe { _mm256_loadu_si256(order.as_ptr().cast()) };
    _mm256_shuffle_epi8(both, order)
}

/// [`dot_k4`] for one activation row (decode): both halves of each 64-byte group in turn
/// (as [`dot_q8_0_one_row`], so the weights stream in once, line by line, and the two
/// halves share the group's activation broadcasts), a sub-block's groups summed in i16,
/// [`K4Tile::I16_GROUPS`] at a time, before the scale's `vpmaddwd`.
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_k4_one_row<T: K4Tile>(tile: &[T], act: &ActivationRow) -> [f32; TILE_ROWS] {
    let super::RowPointers {
        quants,
        sums,
        scales,
    } = super::checked_rows(tile.len(), &[act]);
    let zero = _mm256_setzero_si256();
    let mut acc = [[_mm256_setzero_ps(); 1]; 2];
    for (b, t) in tile.iter().enumerate() {
        super::prefetch_lines((t as *const T).cast(), T::HEADER_LINES);
        let mut isum = [[zero; 1]; 2];
        let mut imin = [[zero; 1]; 2];
        for s in 0..8 {
            let high = t.fifth_bits(s);
            if let Some(masks) = high {
                super::prefetch_lines(masks.as_ptr().cast(), 1);
            }
            // SAFETY (all reads below): each `scales[s]` / `mins[s]` row is 16 bytes, the
            // row has `256 · tile.len()` quants and 16 sums per tile (checked above);
            // `g < 32`, `h < 2`, `s < 8`.
            let sc = [
                unsigned_pairs(&t.scales()[s], 0),
                unsigned_pairs(&t.scales()[s], 1),
            ];
            let mut part = [zero; 2];
            for u in 0..4 {
                let g = 4 * s + u;
                super::prefetch_lines(t.group(g).as_ptr().cast(), 1);
                let y = unsafe { quants[0].add(256 * b + 8 * g) };
                let (y0, y1) = unsafe { (broadcast4(y), broadcast4(y.add(4))) };
                for (h, p) in part.iter_mut().enumerate() {
                    let (lo, hi) = nibble_codes(t.group(g), h, high.map(|masks| &masks[u]));
                    let two = _mm256_add_epi16(
                        _mm256_maddubs_epi16(lo, y0),
                        _mm256_maddubs_epi16(hi, y1),
                    );
                    *p = _mm256_add_epi16(*p, two);
                }
                if (u + 1) % T::I16_GROUPS == 0 {
                    for ((total, p), sc) in isum.iter_mut().zip(&mut part).zip(sc) {
                        total[0] = _mm256_add_epi32(total[0], _mm256_madd_epi16(*p, sc));
                        *p = zero;
                    }
                }
            }
            // The sub-block's two per-16 sums as one i16 pair against (min, min).
            let pair = _mm256_set1_epi32(unsafe {
                sums[0].add(16 * b + 2 * s).cast::<i32>().read_unaligned()
            });
            for (h, total) in imin.iter_mut().enumerate() {
                let mn = unsigned_pairs(&t.mins()[s], h);
                total[0] = _mm256_add_epi32(total[0], _mm256_madd_epi16(mn, pair));
            }
        }
        // SAFETY: the row has a scale per tile (checked above).
        let da = unsafe { *scales[0].add(b) };
        for (h, acc) in acc.iter_mut().enumerate() {
            // SAFETY: `d` and `dmin` are 16 f16 each; `8h + 8 ≤ 16`.
            let (d, dmin) = unsafe {
                (
                    _mm256_cvtph_ps(_mm_loadu_si128(t.d().as_ptr().add(8 * h).cast())),
                    _mm256_cvtph_ps(_mm_loadu_si128(t.dmin().as_ptr().add(8 * h).cast())),
                )
            };
            fold_with_mins(acc, (&isum[h], &imin[h]), (d, dmin), [da]);
        }
    }
    join(acc)[0]
}

/// Q6_K tiles on AVX2: codes ≤ 63, so two `maddubs` add in i16 (≤ 32004) before the
/// `vpmaddwd` that applies the signed sub-block scale; the `−32` is `−32 · sc · Σy`, per
/// two sub-blocks through [`add_q6_k_bias`] where several activation rows share it.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn dot_q6_k<const R: usize>(
    tile: &[TileQ6K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    if R == 1 {
        let one = dot_q6_k_one_row(tile, acts[0]);
        return from_fn(|_| one);
    }
    let super::RowPointers {
        quants,
        sums,
        scales,
    } = super::checked_rows(tile.len(), &acts);
    let mut acc = [[_mm256_setzero_ps(); R]; 2];
    for (b, t) in tile.iter().enumerate() {
        // Both halves of a tile before the next one: one stream through the weights.
        for (h, acc) in acc.iter_mut().enumerate() {
            prefetch_ahead((t as *const TileQ6K).cast(), TileQ6K::HEADER_LINES, h);
            let codes = t.codes.as_ptr().cast::<u8>().wrapping_add(32 * h);
            let mut isum = [_mm256_setzero_si256(); R];
            for s in 0..16 {
                let at = 192 * s;
                prefetch_ahead(t.codes.as_ptr().cast::<u8>().wrapping_add(at), 3, h);
                // SAFETY (all reads below): `s < 16` indexes one of the 16 sub-blocks of three
                // 64-byte planes (`h < 2` picks 32 bytes of each); each `scales[s]` row is 16
                // bytes; rows have `256 · tile.len()` quants and 16 sums per tile (checked above).
                let c = unsafe { q6_k_codes(codes.add(at)) };
                let sc = pair_scales(unsafe {
                    _mm256_cvtepi8_epi32(load8(t.scales[s].as_ptr().add(8 * h).cast()))
                });
                for i in 0..R {
                    let y = unsafe { quants[i].add(256 * b + 16 * s) };
                    let y = from_fn(|k| unsafe { broadcast4(y.add(4 * k)) });
                    isum[i] = _mm256_add_epi32(isum[i], sub_block(c, y, sc));
                }
            }
            // SAFETY: rows have 16 sums per tile (checked above).
            unsafe { add_q6_k_bias(&mut isum, t, h, from_fn(|i| sums[i].add(16 * b))) };
            // SAFETY: `d` is 16 f32; `8h + 8 ≤ 16`.
            let d = unsafe { _mm256_loadu_ps(t.d.as_ptr().add(8 * h)) };
            fold(acc, &isum, d, from_fn(|i| unsafe { *scales[i].add(b) }));
        }
    }
    join(acc)
}

/// [`dot_q6_k`] for one activation row (decode): both halves of each sub-block in turn,
/// so the weights stream in once, line by line, and the halves share the sub-block's
/// activation broadcasts and its `−32 · Σy` (as [`dot_q8_0_one_row`] and
/// [`dot_k4_one_row`] do). Two Zen 3 vCPUs, both alternating in one process
/// (2026-12-03): 4096² from L3 1.03–1.04×, 11008×4096 1.08×, 1024×4096 1.03× the
/// half-by-half loop. Tried: scale pairs by a byte shuffle and widening, and the `−32`
/// through a `vpmaddwd` against `(Σy, Σy)` instead of `vpmulld`: 2–10 % slower.
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q6_k_one_row(tile: &[TileQ6K], act: &ActivationRow) -> [f32; TILE_ROWS] {
    let super::RowPointers {
        quants,
        sums,
        scales,
    } = super::checked_rows(tile.len(), &[act]);
    let mut acc = [[_mm256_setzero_ps(); 1]; 2];
    for (b, t) in tile.iter().enumerate() {
        super::prefetch_lines((t as *const TileQ6K).cast(), TileQ6K::HEADER_LINES);
        let codes = t.codes.as_ptr().cast::<u8>();
        let mut isum = [[_mm256_setzero_si256(); 1]; 2];
        for s in 0..16 {
            let at = 192 * s;
            super::prefetch_lines(codes.wrapping_add(at), 3);
            // SAFETY (all reads below): `s < 16` indexes one of the 16 sub-blocks of three
            // 64-byte planes (`h < 2` picks 32 bytes of each); each `scales[s]` row is 16
            // bytes; the row has `256 · tile.len()` quants and 16 sums per tile (checked
            // above).
            let y = unsafe { quants[0].add(256 * b + 16 * s) };
            let y: [__m256i; 4] = from_fn(|k| unsafe { broadcast4(y.add(4 * k)) });
            let bias = _mm256_set1_epi32(-32 * i32::from(unsafe { *sums[0].add(16 * b + s) }));
            for (h, sum) in isum.iter_mut().enumerate() {
                let c = unsafe { q6_k_codes(codes.add(at + 32 * h)) };
                let sc32 =
                    unsafe { _mm256_cvtepi8_epi32(load8(t.scales[s].as_ptr().add(8 * h).cast())) };
                let sc = pair_scales(sc32);
                let dot = _mm256_add_epi32(sub_block(c, y, sc), _mm256_mullo_epi32(sc32, bias));
                sum[0] = _mm256_add_epi32(sum[0], dot);
            }
        }
        // SAFETY: the row has a scale per tile (checked above).
        let da = unsafe { *scales[0].add(b) };
        for (h, (acc, isum)) in acc.iter_mut().zip(&isum).enumerate() {
            // SAFETY: `d` is 16 f32; `8h + 8 ≤ 16`.
            let d = unsafe { _mm256_loadu_ps(t.d.as_ptr().add(8 * h)) };
            fold(acc, isum, d, [da]);
        }
    }
    join(acc)[0]
}
