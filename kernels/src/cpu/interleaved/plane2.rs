//! The tiles of the 2-bit-plane K-quants, Q2_K and Q3_K: per 16-value sub-block one
//! 64-byte plane of sixteen rows' two low code bits (per row four bytes, byte `j` holding
//! values `16s + j`, `16s + 4 + j`, `16s + 8 + j`, `16s + 12 + j` in bits 0–1, 2–3, 4–5,
//! 6–7, as the Q6_K tile's high plane), so four registers of byte codes come out of one
//! load with a shift and a mask each. Q3_K's third bits are the four 64-bit masks per
//! sub-block the kernel adds them with (bit `4r + j` of mask `f`: row `r`, value
//! `16s + 4f + j`). Sizes: Q2_K 1344 bytes per 16 rows × 256 values (the raw size: its
//! scale/min nibble bytes and f16 `d`/`dmin` kept), Q3_K 1856 against 1760 raw (+5.5 %:
//! scales one signed byte per row, `d` as f32).

use super::{Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use crate::cpu::layout::{f16_at, q2_k, q3_k, u16_at};
use crate::DType;

/// One sub-block's plane: per row four bytes of four 2-bit codes each.
pub type Plane2 = [[u8; 4]; TILE_ROWS];

/// One 256-value block of sixteen Q2_K rows.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C, align(64))]
pub struct TileQ2K {
    /// Each row's `d`, as f16 bits.
    pub d: [u16; TILE_ROWS],
    /// Each row's `dmin`, as f16 bits.
    pub dmin: [u16; TILE_ROWS],
    /// Sub-block `s`'s raw scale byte of each row: the 4-bit scale in the low nibble, the
    /// 4-bit min in the high one.
    pub scales: [[u8; TILE_ROWS]; 16],
    /// Sub-block `s`'s plane.
    pub planes: [Plane2; 16],
}

/// Two sub-blocks of a Q3_K tile: their planes, then their third-bit masks (three whole
/// lines, so no load splits one).
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C)]
pub struct Q3Pair {
    /// Each sub-block's plane.
    pub planes: [Plane2; 2],
    /// Each sub-block's four third-bit masks.
    pub third: [[u64; 4]; 2],
}

/// One 256-value block of sixteen Q3_K rows.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C, align(64))]
pub struct TileQ3K {
    /// Each row's `d`.
    pub d: [f32; TILE_ROWS],
    /// Sub-block `s`'s signed 6-bit scale of each row.
    pub scales: [[i8; TILE_ROWS]; 16],
    /// Sub-blocks `2p`, `2p + 1`.
    pub pairs: [Q3Pair; 8],
}

/// The two low bits of value `v` of a raw Q2_K/Q3_K block's 2-bit field bytes `qs`
/// (`128h + 32k + l` is `(qs[32h + l] >> 2k) & 3`).
fn low_bits(qs: &[u8], v: usize) -> u8 {
    let (h, k, l) = (v / 128, (v % 128) / 32, v % 32);
    (qs[32 * h + l] >> (2 * k)) & 3
}

/// Row `r`'s plane bytes for sub-block `s` from a raw block's 2-bit fields.
fn plane_row(qs: &[u8], s: usize) -> [u8; 4] {
    std::array::from_fn(|j| {
        (0..4).fold(0u8, |byte, f| {
            byte | low_bits(qs, 16 * s + 4 * f + j) << (2 * f)
        })
    })
}

impl Tile for TileQ2K {
    const DTYPE: DType = DType::Q2K;
    const HEADER_LINES: usize = std::mem::offset_of!(TileQ2K, planes).div_ceil(64);

    fn pack_into(tile: &mut TileQ2K, blocks: [&[u8]; TILE_ROWS]) {
        for (r, blk) in blocks.into_iter().enumerate() {
            tile.d[r] = u16_at(blk, q2_k::D);
            tile.dmin[r] = u16_at(blk, q2_k::DMIN);
            let qs = &blk[q2_k::QS..q2_k::D];
            for s in 0..16 {
                tile.scales[s][r] = blk[q2_k::SCALES + s];
                tile.planes[s][r] = plane_row(qs, s);
            }
        }
    }

    fn dot_scalar(tiles: &[TileQ2K], a: &ActivationRow) -> [f32; TILE_ROWS] {
        let mut out = [0.0f32; TILE_ROWS];
        for (b, t) in tiles.iter().enumerate() {
            for (r, o) in out.iter_mut().enumerate() {
                let (mut sumi, mut summ) = (0i32, 0i32);
                for s in 0..16 {
                    let sub = plane_dot(&t.planes[s][r], None, &a.quants[256 * b + 16 * s..]);
                    let (scale, min) = (t.scales[s][r] & 0xF, t.scales[s][r] >> 4);
                    sumi += i32::from(scale) * sub;
                    summ += i32::from(min) * i32::from(a.sums[16 * b + s]);
                }
                let d = half::f16::from_bits(t.d[r]).to_f32();
                let dmin = half::f16::from_bits(t.dmin[r]).to_f32();
                *o += a.scales[b] * (d * sumi as f32 - dmin * summ as f32);
            }
        }
        out
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx512<const R: usize>(
        tiles: &[TileQ2K],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees AVX-512 VNNI (the trait's contract).
        unsafe { super::plane2_avx512::dot_q2_k::<R>(tiles, acts) }
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2<const R: usize>(
        tiles: &[TileQ2K],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees AVX2, FMA and F16C (the trait's contract).
        unsafe { super::plane2_avx2::dot_q2_k::<R>(tiles, acts) }
    }

    #[cfg(any(target_arch = "aarch64", test, edgeplane_neon_emulated))]
    unsafe fn dot_neon<const R: usize>(
        tiles: &[TileQ2K],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees FEAT_DotProd (the trait's contract).
        unsafe { super::neon::dot_q2_k::<R>(tiles, acts) }
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_vnni256<const R: usize>(
        tiles: &[TileQ2K],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        super::vnni256::dispatch!(dot_q2_k, tiles, acts)
    }
}

/// `Σ code · y` over one row's sixteen values of a sub-block: `plane` its four plane bytes,
/// `third` its four third-bit masks and row (Q3_K), `y` from the sub-block's first value.
fn plane_dot(plane: &[u8; 4], third: Option<(&[u64; 4], usize)>, y: &[i8]) -> i32 {
    let mut sum = 0i32;
    for f in 0..4 {
        for (j, &byte) in plane.iter().enumerate() {
            let mut code = (byte >> (2 * f)) & 3;
            if let Some((masks, r)) = third {
                code |= (((masks[f] >> (4 * r + j)) & 1) as u8) << 2;
            }
            sum += i32::from(code) * i32::from(y[4 * f + j]);
        }
    }
    sum
}

impl Tile for TileQ3K {
    const DTYPE: DType = DType::Q3K;
    const HEADER_LINES: usize = std::mem::offset_of!(TileQ3K, pairs).div_ceil(64);

    fn pack_into(tile: &mut TileQ3K, blocks: [&[u8]; TILE_ROWS]) {
        for (r, blk) in blocks.into_iter().enumerate() {
            tile.d[r] = f16_at(&blk[q3_k::D..]);
            let scales = q3_k::scales(&blk[q3_k::SCALES..q3_k::D]);
            let (qs, hmask) = (&blk[q3_k::QS..q3_k::SCALES], &blk[q3_k::HMASK..q3_k::QS]);
            for (s, &scale) in scales.iter().enumerate() {
                tile.scales[s][r] = scale;
                let pair = &mut tile.pairs[s / 2];
                pair.planes[s % 2][r] = plane_row(qs, s);
                for f in 0..4 {
                    for j in 0..4 {
                        // Value `128h + 32k + l`'s third bit is bit `4h + k` of `hmask[l]`.
                        let v = 16 * s + 4 * f + j;
                        let (h, k, l) = (v / 128, (v % 128) / 32, v % 32);
                        let bit = (hmask[l] >> (4 * h + k)) & 1;
                        pair.third[s % 2][f] |= u64::from(bit) << (4 * r + j);
                    }
                }
            }
        }
    }

    fn dot_scalar(tiles: &[TileQ3K], a: &ActivationRow) -> [f32; TILE_ROWS] {
        let mut out = [0.0f32; TILE_ROWS];
        for (b, t) in tiles.iter().enumerate() {
            for (r, o) in out.iter_mut().enumerate() {
                let mut sumi = 0i32;
                for s in 0..16 {
                    let pair = &t.pairs[s / 2];
                    let y = &a.quants[256 * b + 16 * s..];
                    let third = Some((&pair.third[s % 2], r));
                    // Codes `c` stand for `c − 4`: taken back with the sub-block's sum.
                    let sub = plane_dot(&pair.planes[s % 2][r], third, y)
                        - 4 * i32::from(a.sums[16 * b + s]);
                    sumi += i32::from(t.scales[s][r]) * sub;
                }
                *o += a.scales[b] * t.d[r] * sumi as f32;
            }
        }
        out
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx512<const R: usize>(
        tiles: &[TileQ3K],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees AVX-512 VNNI (the trait's contract).
        unsafe { super::plane2_avx512::dot_q3_k::<R>(tiles, acts) }
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2<const R: usize>(
        tiles: &[TileQ3K],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees AVX2, FMA and F16C (the trait's contract).
        unsafe { super::plane2_avx2::dot_q3_k::<R>(tiles, acts) }
    }

    #[cfg(any(target_arch = "aarch64", test, edgeplane_neon_emulated))]
    unsafe fn dot_neon<const R: usize>(
        tiles: &[TileQ3K],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees FEAT_DotProd (the trait's contract).
        unsafe { super::neon::dot_q3_k::<R>(tiles, acts) }
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_vnni256<const R: usize>(
        tiles: &[TileQ3K],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        super::vnni256::dispatch!(dot_q3_k, tiles, acts)
    }
}
