//! The tile kernels on NEON with the Armv8.2 dot product (level `neon-dotprod`: every
//! phone core since Cortex-A55/A75, every Apple core), for every tiled format.
//!
//! The tiles' layout needs nothing new: a 64-byte group (sixteen rows × four code bytes)
//! is four 128-bit registers of four rows each, and `sdot` *by element*
//! (`sdot v.4s, w.16b, y.4b[L]`) adds to each row's i32 lane the dot of its four codes
//! with four activation values taken from one lane of a 16-byte activation register — the
//! broadcast x86 needs a separate instruction for is part of the instruction here, and no
//! horizontal sums are needed (ggml's `q4_0_4x4` Arm layout is the same idea on 4 rows).
//! Codes are unsigned (`0..64`; Q8_0's `q + 128` flipped back to signed with one `eor`),
//! which `sdot`'s signed × signed takes as they are; biases, mins and scales go in as on
//! x86: integer block or sub-block sums from a `bias · Σy` start, sub-block scales by one
//! `mla` of the rows' widened scales, and one float fold per block.
//!
//! Sixteen rows take four accumulators per activation row (one zmm on AVX-512), so a pass
//! serves at most `NEON_GROUP` (two) activation rows: the f32 accumulators, the block's
//! i32 sums, a sub-block's and one group's codes then fit the 32 registers.
//!
//! Speed is unmeasured (no Arm hardware here). By instruction count (Q4_0, two activation
//! rows per pass): per group 4 loads and 8 logic ops shared, 8 `sdot` per activation row,
//! about 3.6 instructions per 32-value row dot against ~11 in the row kernels
//! (`neon/quant.rs`) and ~5 in the packed 4 × 3 tile after its unpacking pass.
//! Correctness: `interleaved/tests.rs` runs these kernels on the emulated intrinsics
//! (`neon/emulated.rs`) against every tile's scalar spec, and `tests/aarch64_neon.rs`
//! checks the two instructions they add (`sdot` by element, `fcvtl`) on qemu.

use super::nibble32::{Nibble32Tile, NibbleGroup};
use super::plane2::{Plane2, TileQ2K, TileQ3K};
use super::q4_k::K4Tile;
use super::q6_k::TileQ6K;
use super::q8_0::TileQ8_0;
use super::TILE_ROWS;
use crate::cpu::activation::ActivationRow;
use crate::cpu::neon::arch::*;
use crate::cpu::neon::dotprod::dot_lane;
use crate::cpu::neon::load_f16x4;
use std::array::from_fn;

/// Sixteen rows as four registers of four (register `q`: rows `4q..4q + 4`).
type Quads<T> = [T; 4];

/// The four registers of sixteen rows' four code bytes at `p` (a 64-byte group).
///
/// # Safety
/// `p` must be valid for reading 64 bytes.
#[inline(always)]
unsafe fn load_group(p: *const u8) -> Quads<uint8x16_t> {
    // SAFETY: the caller's contract; `ld1` needs no alignment.
    from_fn(|q| unsafe { vld1q_u8(p.add(16 * q)) })
}

/// Adds to each row's lane of `sums[i]` the dot of that row's codes `w` with quadruple `L`
/// of activation register `y[i]`, for every activation row `i` of the pass.
#[cfg_attr(target_arch = "aarch64", target_feature(enable = "neon,dotprod"))]
#[inline]
unsafe fn dots<const L: i32, const R: usize>(
    sums: &mut [Quads<int32x4_t>; R],
    w: &Quads<int8x16_t>,
    y: &[int8x16_t; R],
) {
    for (sum, y) in sums.iter_mut().zip(y) {
        for (s, &w) in sum.iter_mut().zip(w) {
            // SAFETY: the caller runs on FEAT_DotProd (this module's contract).
            *s = unsafe { dot_lane::<L>(*s, w, *y) };
        }
    }
}

/// The sixteen bytes a per-code-byte mask (the tiles' fifth and third bits: bit `4r + j`
/// for row `r`, byte `j`) gives register `q`: `value` where the bit is set. Bits
/// `16q..16q + 16` are bytes `2q` and `2q + 1` of the mask, each spread over eight lanes
/// and tested against one bit per lane.
#[inline(always)]
fn mask_bytes(mask: u64, q: usize, value: u8) -> uint8x16_t {
    let bits = (mask >> (16 * q)) as u16;
    const LANE_BITS: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
    // SAFETY: register arithmetic of plain NEON; `LANE_BITS` is sixteen readable bytes.
    unsafe {
        let spread = vcombine_u8(vdup_n_u8(bits as u8), vdup_n_u8((bits >> 8) as u8));
        let set = vtstq_u8(spread, vld1q_u8(LANE_BITS.as_ptr()));
        vandq_u8(set, vdupq_n_u8(value))
    }
}

/// A nibble group's codes as the low-nibble values' registers (`8g + j`) and the high
/// ones' (`8g + 4 + j`), with the fifth bits of the `[low, high]` masks where the tile has
/// them.
#[inline(always)]
fn nibble_codes(
    group: &NibbleGroup,
    fifth: Option<&[u64; 2]>,
) -> (Quads<int8x16_t>, Quads<int8x16_t>) {
    // SAFETY: a group is 64 bytes; the rest is register arithmetic of plain NEON.
    unsafe {
        let w = load_group(group.as_ptr().cast());
        let m4 = vdupq_n_u8(0xF);
        let code = |q: usize, high: bool| {
            let nibble = if high {
                vshrq_n_u8::<4>(w[q])
            } else {
                vandq_u8(w[q], m4)
            };
            let nibble = match fifth {
                Some(masks) => vorrq_u8(nibble, mask_bytes(masks[usize::from(high)], q, 0x10)),
                None => nibble,
            };
            vreinterpretq_s8_u8(nibble)
        };
        (from_fn(|q| code(q, false)), from_fn(|q| code(q, true)))
    }
}

/// Sixteen activation values against their codes, added to `sums`: the activation rows'
/// values at `y[i]` are one register, and `codes[L]` (each row's codes of values
/// `4L..4L + 4`) meets its quadruple `L` — every kernel's step.
///
/// # Safety
/// FEAT_DotProd; each `y[i]` valid for reading 16 bytes.
#[cfg_attr(target_arch = "aarch64", target_feature(enable = "neon,dotprod"))]
#[inline]
unsafe fn sixteen_values<const R: usize>(
    sums: &mut [Quads<int32x4_t>; R],
    codes: &[Quads<int8x16_t>; 4],
    y: [*const i8; R],
) {
    // SAFETY: the caller's contract.
    unsafe {
        let yv: [int8x16_t; R] = from_fn(|i| vld1q_s8(y[i]));
        dots::<0, R>(sums, &codes[0], &yv);
        dots::<1, R>(sums, &codes[1], &yv);
        dots::<2, R>(sums, &codes[2], &yv);
        dots::<3, R>(sums, &codes[3], &yv);
    }
}

/// Each activation row's `bias · sums[i][at]` in every lane: the start of a block's or
/// sub-block's sums that takes back its unsigned codes' bias.
///
/// # Safety
/// Each `sums[i]` valid for reading at `at`.
#[inline(always)]
unsafe fn bias_start<const R: usize>(
    sums: [*const i16; R],
    at: usize,
    bias: i32,
) -> [Quads<int32x4_t>; R] {
    // SAFETY: the caller's contract.
    from_fn(|i| [vdupq_n_s32(bias * i32::from(unsafe { *sums[i].add(at) })); 4])
}

/// Adds one 32-value block of nibble groups (`groups[u]`: values `8u..8u + 8` of the
/// block, fifth bits from `fifth[u]`) to `sums`, against the activation rows' 32 values at
/// `y[i]`: group `u`'s low nibbles meet quadruple `2(u mod 2)` of the register holding
/// values `16(u / 2)..`, its high nibbles the next quadruple.
///
/// # Safety
/// FEAT_DotProd; each `y[i]` valid for reading 32 bytes.
#[cfg_attr(target_arch = "aarch64", target_feature(enable = "neon,dotprod"))]
#[inline]
unsafe fn nibble_block<const R: usize>(
    sums: &mut [Quads<int32x4_t>; R],
    groups: [&NibbleGroup; 4],
    fifth: Option<&[[u64; 2]; 4]>,
    y: [*const i8; R],
) {
    for half in 0..2 {
        let (lo0, hi0) = nibble_codes(groups[2 * half], fifth.map(|m| &m[2 * half]));
        let (lo1, hi1) = nibble_codes(groups[2 * half + 1], fifth.map(|m| &m[2 * half + 1]));
        // SAFETY: the caller's contract (32 readable bytes at each `y[i]`, FEAT_DotProd).
        unsafe {
            let y = from_fn(|i| y[i].add(16 * half));
            sixteen_values(sums, &[lo0, hi0, lo1, hi1], y);
        }
    }
}

/// Sixteen per-row bytes (a tile's scales or mins).
#[inline(always)]
fn load_bytes<T: bytemuck::Pod>(bytes: &[T; TILE_ROWS]) -> uint8x16_t {
    let bytes: &[u8] = bytemuck::cast_slice(bytes);
    // SAFETY: a tile row of one-byte values is sixteen readable bytes.
    unsafe { vld1q_u8(bytes[..TILE_ROWS].as_ptr()) }
}

/// Sixteen u8 (or i8, `signed`) per-row values widened to four i32 registers.
#[inline(always)]
fn widen_rows(v: uint8x16_t, signed: bool) -> Quads<int32x4_t> {
    // SAFETY: register arithmetic of plain NEON.
    unsafe {
        if signed {
            let v = vreinterpretq_s8_u8(v);
            let (lo, hi) = (vmovl_s8(vget_low_s8(v)), vmovl_high_s8(v));
            [
                vmovl_s16(vget_low_s16(lo)),
                vmovl_high_s16(lo),
                vmovl_s16(vget_low_s16(hi)),
                vmovl_high_s16(hi),
            ]
        } else {
            let (lo, hi) = (vmovl_u8(vget_low_u8(v)), vmovl_high_u8(v));
            [
                vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(lo))),
                vreinterpretq_s32_u32(vmovl_high_u16(lo)),
                vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(hi))),
                vreinterpretq_s32_u32(vmovl_high_u16(hi)),
            ]
        }
    }
}

/// Sixteen rows' f16 values (a tile's `d`, `m`, `dmin`) as four f32 registers.
#[inline(always)]
fn widen_f16(row: &[u16; TILE_ROWS]) -> Quads<float32x4_t> {
    from_fn(|q| load_f16x4(row, 4 * q))
}

/// Sixteen rows' f32 values as four registers.
#[inline(always)]
fn load_rows(row: &[f32; TILE_ROWS]) -> Quads<float32x4_t> {
    // SAFETY: `row` is sixteen readable f32.
    from_fn(|q| unsafe { vld1q_f32(row.as_ptr().add(4 * q)) })
}

/// The f32 accumulators out as arrays.
fn rows_out<const R: usize>(acc: [Quads<float32x4_t>; R]) -> [[f32; TILE_ROWS]; R] {
    let mut out = [[0.0f32; TILE_ROWS]; R];
    for (o, a) in out.iter_mut().zip(acc) {
        for (q, v) in a.into_iter().enumerate() {
            // SAFETY: `o[4q..4q + 4]` is four writable f32.
            unsafe { vst1q_f32(o.as_mut_ptr().add(4 * q), v) };
        }
    }
    out
}

/// `sums[i][q] += sub[i][q] · scales[q]` for every activation row: a sub-block's dots
/// scaled by the rows' integer scales into the block's sums.
#[inline(always)]
fn add_scaled<const R: usize>(
    sums: &mut [Quads<int32x4_t>; R],
    sub: &[Quads<int32x4_t>; R],
    scales: &Quads<int32x4_t>,
) {
    for (sums, sub) in sums.iter_mut().zip(sub) {
        for q in 0..4 {
            sums[q] = vmlaq_s32(sums[q], sub[q], scales[q]);
        }
    }
}

/// `acc[q] += sums[q] · (d[q] · da)`, the block fold of the 32-block formats and the
/// K-quants' scale term.
#[inline(always)]
fn fold(acc: &mut Quads<float32x4_t>, sums: &Quads<int32x4_t>, d: &Quads<float32x4_t>, da: f32) {
    for q in 0..4 {
        // SAFETY: register arithmetic of plain NEON.
        acc[q] = unsafe { vfmaq_f32(acc[q], vcvtq_f32_s32(sums[q]), vmulq_n_f32(d[q], da)) };
    }
}

/// Q4_0, Q4_1, Q5_0 and Q5_1 tiles · `R` activation rows.
///
/// # Safety
/// The CPU must have FEAT_DotProd.
///
/// # Panics
/// If an activation row does not have `256 · tile.len()` values.
#[cfg_attr(target_arch = "aarch64", target_feature(enable = "neon,dotprod"))]
pub(super) unsafe fn dot_nibble32<T: Nibble32Tile, const R: usize>(
    tile: &[T],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers {
        quants,
        sums,
        scales,
    } = super::checked_rows(tile.len(), &acts);
    let mut acc = [[vdupq_n_f32(0.0); 4]; R];
    for (b, t) in tile.iter().enumerate() {
        for s in 0..8 {
            let blk = 8 * b + s;
            // SAFETY (all reads below): every row has `256 · tile.len()` quants and one sum
            // and one scale per 32 of them (asserted), and `blk < 8 · tile.len()`.
            let mut isum = unsafe { bias_start(sums, blk, T::BIAS) };
            let y = from_fn(|i| unsafe { quants[i].add(32 * blk) });
            let groups = from_fn(|u| t.group(4 * s + u));
            // SAFETY: FEAT_DotProd (this function's contract); 32 quants at each `y[i]`.
            unsafe { nibble_block(&mut isum, groups, t.fifth_bits(s), y) };
            let d = widen_f16(&t.d()[s]);
            let m = t.m().map(|m| widen_f16(&m[s]));
            for i in 0..R {
                let da = unsafe { *scales[i].add(blk) };
                fold(&mut acc[i], &isum[i], &d, da);
                if let Some(m) = &m {
                    let sy = da * f32::from(unsafe { *sums[i].add(blk) });
                    for q in 0..4 {
                        acc[i][q] = vfmaq_n_f32(acc[i][q], m[q], sy);
                    }
                }
            }
        }
    }
    rows_out(acc)
}

/// Q8_0 tiles · `R` activation rows.
///
/// # Safety
/// The CPU must have FEAT_DotProd.
///
/// # Panics
/// If an activation row does not have `256 · tile.len()` values.
#[cfg_attr(target_arch = "aarch64", target_feature(enable = "neon,dotprod"))]
pub(super) unsafe fn dot_q8_0<const R: usize>(
    tile: &[TileQ8_0],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers { quants, scales, .. } = super::checked_rows(tile.len(), &acts);
    let sign = vdupq_n_u8(0x80);
    let mut acc = [[vdupq_n_f32(0.0); 4]; R];
    for (b, t) in tile.iter().enumerate() {
        let codes = t.codes.as_ptr().cast::<u8>();
        for s in 0..8 {
            let blk = 8 * b + s;
            let mut isum = [[vdupq_n_s32(0); 4]; R];
            for half in 0..2 {
                // SAFETY (all reads below): every row has `256 · tile.len()` quants and one
                // scale per 32 (asserted); group `8s + 4·half + l < 64` of the tile;
                // FEAT_DotProd (this function's contract).
                let groups: [Quads<int8x16_t>; 4] = from_fn(|l| {
                    let w = unsafe { load_group(codes.add(64 * (8 * s + 4 * half + l))) };
                    // The stored `q + 128` back to the signed `q` `sdot` multiplies.
                    w.map(|w| vreinterpretq_s8_u8(veorq_u8(w, sign)))
                });
                unsafe {
                    let y = from_fn(|i| quants[i].add(32 * blk + 16 * half));
                    sixteen_values(&mut isum, &groups, y);
                }
            }
            let d = widen_f16(&t.d[s]);
            for i in 0..R {
                fold(&mut acc[i], &isum[i], &d, unsafe { *scales[i].add(blk) });
            }
        }
    }
    rows_out(acc)
}

/// Q4_K and Q5_K tiles · `R` activation rows.
///
/// # Safety
/// The CPU must have FEAT_DotProd.
///
/// # Panics
/// If an activation row does not have `256 · tile.len()` values.
#[cfg_attr(target_arch = "aarch64", target_feature(enable = "neon,dotprod"))]
pub(super) unsafe fn dot_k4<T: K4Tile, const R: usize>(
    tile: &[T],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers { quants, sums, .. } = super::checked_rows(tile.len(), &acts);
    let mut acc = [[vdupq_n_f32(0.0); 4]; R];
    for (b, t) in tile.iter().enumerate() {
        let mut isum = [[vdupq_n_s32(0); 4]; R];
        for s in 0..8 {
            let mut sub = [[vdupq_n_s32(0); 4]; R];
            // SAFETY (all reads below): every row has `256 · tile.len()` quants and 16 sums
            // per 256 (asserted), so values `256b + 32s ..` and sums `16b + 2s`,
            // `16b + 2s + 1` are in range.
            let y = from_fn(|i| unsafe { quants[i].add(256 * b + 32 * s) });
            let groups = from_fn(|u| t.group(4 * s + u));
            // SAFETY: FEAT_DotProd (this function's contract); 32 quants at each `y[i]`.
            unsafe { nibble_block(&mut sub, groups, t.fifth_bits(s), y) };
            let sc = widen_rows(load_bytes(&t.scales()[s]), false);
            add_scaled(&mut isum, &sub, &sc);
        }
        // SAFETY: 16 sums per 256 values in every row (asserted).
        let pairs = |i: usize, s: usize| unsafe {
            i32::from(*sums[i].add(16 * b + 2 * s)) + i32::from(*sums[i].add(16 * b + 2 * s + 1))
        };
        let imin = mins_term(|s| load_bytes(&t.mins()[s]), 8, pairs);
        fold_with_mins(
            &mut acc,
            &isum,
            &imin,
            (widen_f16(t.d()), widen_f16(t.dmin())),
            acts,
            b,
        );
    }
    rows_out(acc)
}

/// `Σ_s min[s] · sum(i, s)` per row and activation row: the K-quants' mins term, in a pass
/// of its own after the codes' (its accumulators would not fit the registers beside
/// theirs at two activation rows). `mins(s)`: sub-block `s`'s sixteen rows' mins.
#[inline(always)]
fn mins_term<const R: usize>(
    mins: impl Fn(usize) -> uint8x16_t,
    subs: usize,
    sum: impl Fn(usize, usize) -> i32,
) -> [Quads<int32x4_t>; R] {
    let mut imin = [[vdupq_n_s32(0); 4]; R];
    for s in 0..subs {
        let mn = widen_rows(mins(s), false);
        for (i, rows) in imin.iter_mut().enumerate() {
            let sum = sum(i, s);
            for (m, &mn) in rows.iter_mut().zip(&mn) {
                *m = vmlaq_n_s32(*m, mn, sum);
            }
        }
    }
    imin
}

/// `acc += isum · (d · da) − imin · (dmin · da)` per activation row (`da` its scale of
/// block `b`): the K-quants-with-mins block fold.
#[inline(always)]
fn fold_with_mins<const R: usize>(
    acc: &mut [Quads<float32x4_t>; R],
    isum: &[Quads<int32x4_t>; R],
    imin: &[Quads<int32x4_t>; R],
    (d, dmin): (Quads<float32x4_t>, Quads<float32x4_t>),
    acts: [&ActivationRow; R],
    b: usize,
) {
    for i in 0..R {
        let da = acts[i].scales[b];
        fold(&mut acc[i], &isum[i], &d, da);
        for q in 0..4 {
            let m = vmulq_n_f32(dmin[q], da);
            acc[i][q] = vfmsq_f32(acc[i][q], vcvtq_f32_s32(imin[i][q]), m);
        }
    }
}

/// Q6_K tiles · `R` activation rows.
///
/// # Safety
/// The CPU must have FEAT_DotProd.
///
/// # Panics
/// If an activation row does not have `256 · tile.len()` values.
#[cfg_attr(target_arch = "aarch64", target_feature(enable = "neon,dotprod"))]
pub(super) unsafe fn dot_q6_k<const R: usize>(
    tile: &[TileQ6K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers { quants, sums, .. } = super::checked_rows(tile.len(), &acts);
    let low6 = vdupq_n_u8(0x3F);
    let mut acc = [[vdupq_n_f32(0.0); 4]; R];
    for (b, t) in tile.iter().enumerate() {
        let codes = t.codes.as_ptr().cast::<u8>();
        let mut total = [[vdupq_n_s32(0); 4]; R];
        for s in 0..16 {
            // SAFETY (all reads below): sub-block `s < 16` of three 64-byte planes; every
            // row has `256 · tile.len()` quants and one sum per 16 (asserted).
            let [p0, p1, p2] = unsafe {
                let at = codes.add(192 * s);
                [
                    load_group(at),
                    load_group(at.add(64)),
                    load_group(at.add(128)),
                ]
            };
            // Values 16s + j, 16s + 4 + j, 16s + 8 + j, 16s + 12 + j of each row: the low six
            // bits of each plane, then the fourth code from their top two bits
            // (`TileQ6K::codes`).
            let low = |plane: uint8x16_t| vreinterpretq_s8_u8(vandq_u8(plane, low6));
            let fourth = |q: usize| {
                let first = vshrq_n_u8::<6>(p0[q]);
                let second = vandq_u8(vshrq_n_u8::<4>(p1[q]), vdupq_n_u8(0x0C));
                let third = vandq_u8(vshrq_n_u8::<2>(p2[q]), vdupq_n_u8(0x30));
                vreinterpretq_s8_u8(vorrq_u8(vorrq_u8(first, second), third))
            };
            let codes = [
                from_fn(|q| low(p0[q])),
                from_fn(|q| low(p1[q])),
                from_fn(|q| low(p2[q])),
                from_fn(fourth),
            ];
            // The codes are unsigned; each row's sub-block sum starts at `−32 · Σy`.
            // SAFETY: FEAT_DotProd (this function's contract); one sum per 16 values and
            // 16 quants at each row's `256b + 16s`.
            let mut sub = unsafe { bias_start(sums, 16 * b + s, -32) };
            unsafe {
                let y = from_fn(|i| quants[i].add(256 * b + 16 * s));
                sixteen_values(&mut sub, &codes, y);
            }
            let sc = widen_rows(load_bytes(&t.scales[s]), true);
            add_scaled(&mut total, &sub, &sc);
        }
        let d = load_rows(&t.d);
        for i in 0..R {
            fold(&mut acc[i], &total[i], &d, acts[i].scales[b]);
        }
    }
    rows_out(acc)
}

/// The four code registers of a 2-bit plane (`4f + j` order: value `16s + 4f + j` in
/// register `f`, as the Q6_K tile's high plane), with Q3_K's third bits from its four
/// masks.
#[inline(always)]
fn plane_codes(plane: &Plane2, third: Option<&[u64; 4]>) -> [Quads<int8x16_t>; 4] {
    // SAFETY: a plane is 64 bytes; the rest is register arithmetic of plain NEON.
    unsafe {
        let p = load_group(plane.as_ptr().cast());
        let m3 = vdupq_n_u8(3);
        let fields: [Quads<uint8x16_t>; 4] = [
            from_fn(|q| vandq_u8(p[q], m3)),
            from_fn(|q| vandq_u8(vshrq_n_u8::<2>(p[q]), m3)),
            from_fn(|q| vandq_u8(vshrq_n_u8::<4>(p[q]), m3)),
            from_fn(|q| vshrq_n_u8::<6>(p[q])),
        ];
        from_fn(|f| {
            from_fn(|q| {
                let code = match third {
                    Some(masks) => vorrq_u8(fields[f][q], mask_bytes(masks[f], q, 4)),
                    None => fields[f][q],
                };
                vreinterpretq_s8_u8(code)
            })
        })
    }
}

/// Q2_K tiles · `R` activation rows.
///
/// # Safety
/// The CPU must have FEAT_DotProd.
///
/// # Panics
/// If an activation row does not have `256 · tile.len()` values.
#[cfg_attr(target_arch = "aarch64", target_feature(enable = "neon,dotprod"))]
pub(super) unsafe fn dot_q2_k<const R: usize>(
    tile: &[TileQ2K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers { quants, sums, .. } = super::checked_rows(tile.len(), &acts);
    let m4 = vdupq_n_u8(0xF);
    let mut acc = [[vdupq_n_f32(0.0); 4]; R];
    for (b, t) in tile.iter().enumerate() {
        let mut isum = [[vdupq_n_s32(0); 4]; R];
        for s in 0..16 {
            let mut sub = [[vdupq_n_s32(0); 4]; R];
            // SAFETY: every row has `256 · tile.len()` quants (asserted); FEAT_DotProd
            // (this function's contract).
            unsafe {
                let y = from_fn(|i| quants[i].add(256 * b + 16 * s));
                sixteen_values(&mut sub, &plane_codes(&t.planes[s], None), y);
            }
            // The scale is the raw byte's low nibble (the min its high one).
            let sc = widen_rows(vandq_u8(load_bytes(&t.scales[s]), m4), false);
            add_scaled(&mut isum, &sub, &sc);
        }
        // SAFETY: 16 sums per 256 values in every row (asserted).
        let sum = |i: usize, s: usize| i32::from(unsafe { *sums[i].add(16 * b + s) });
        let imin = mins_term(|s| vshrq_n_u8::<4>(load_bytes(&t.scales[s])), 16, sum);
        fold_with_mins(
            &mut acc,
            &isum,
            &imin,
            (widen_f16(&t.d), widen_f16(&t.dmin)),
            acts,
            b,
        );
    }
    rows_out(acc)
}

/// Q3_K tiles · `R` activation rows.
///
/// # Safety
/// The CPU must have FEAT_DotProd.
///
/// # Panics
/// If an activation row does not have `256 · tile.len()` values.
#[cfg_attr(target_arch = "aarch64", target_feature(enable = "neon,dotprod"))]
pub(super) unsafe fn dot_q3_k<const R: usize>(
    tile: &[TileQ3K],
    acts: [&ActivationRow; R],
) -> [[f32; TILE_ROWS]; R] {
    let super::RowPointers { quants, sums, .. } = super::checked_rows(tile.len(), &acts);
    let mut acc = [[vdupq_n_f32(0.0); 4]; R];
    for (b, t) in tile.iter().enumerate() {
        let mut isum = [[vdupq_n_s32(0); 4]; R];
        for s in 0..16 {
            let pair = &t.pairs[s / 2];
            // Codes `c` stand for `c − 4`: each row's sub-block sum starts at `−4 · Σy`.
            // SAFETY: every row has `256 · tile.len()` quants and one sum per 16
            // (asserted); FEAT_DotProd (this function's contract).
            let mut sub = unsafe { bias_start(sums, 16 * b + s, -4) };
            unsafe {
                let y = from_fn(|i| quants[i].add(256 * b + 16 * s));
                let codes = plane_codes(&pair.planes[s % 2], Some(&pair.third[s % 2]));
                sixteen_values(&mut sub, &codes, y);
            }
            let sc = widen_rows(load_bytes(&t.scales[s]), true);
            add_scaled(&mut isum, &sub, &sc);
        }
        let d = load_rows(&t.d);
        for i in 0..R {
            fold(&mut acc[i], &isum[i], &d, acts[i].scales[b]);
        }
    }
    rows_out(acc)
}
