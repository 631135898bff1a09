//! The Q6_K tile: each code whole in the low six bits of a byte, three of every four
//! values that way and the fourth's six bits spread over the three bytes' top two bits,
//! signed scales one byte per row, `d` as f32: 3392 bytes per 16 rows × 256 values
//! against 3360 raw (+1 %). A code byte per value would be simpler to read but +31 %,
//! which memory-bound decode pays for in full.
//!
//! Why this split (2026-12-04): the first layout kept Q6_K's own split, the low four bits
//! as nibble pairs and the high two bits in a plane of their own, so every code was
//! rebuilt from two registers (17 vector ops per four registers of codes on AVX2). Here
//! three registers are one AND each and the fourth is three shifts, three ANDs and two
//! ORs (11 ops): AVX2 decode of a 4096² matrix from L3 on one Zen 3 core ran 12–19 %
//! faster, the same bytes read.

use super::{Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use crate::cpu::layout::{f16_at, q6_k};
use crate::DType;
use std::array::from_fn;

/// The 256 six-bit codes of a raw Q6_K block in value order: value `v`'s low four bits are
/// nibble `(v mod 128) / 64` of `ql[64 (v / 128) + v mod 32 + 32 ((v / 32) mod 2)]`, its
/// high two bits bits `2 ((v mod 128) / 32)..` of `qh[32 (v / 128) + v mod 32]`.
pub(super) fn block_codes(blk: &[u8]) -> [u8; 256] {
    from_fn(|v| {
        let (h, q, i) = (v / 128, (v % 128) / 32, v % 32);
        let low = (blk[64 * h + 32 * (q % 2) + i] >> (4 * (q / 2))) & 0xF;
        let high = (blk[q6_k::QH + 32 * h + i] >> (2 * q)) & 3;
        low | (high << 4)
    })
}

/// Four six-bit codes as the tile's three bytes: codes 0–2 whole in bits 0–5, code 3's
/// bits `2p..2p + 2` in bits 6–7 of byte `p`.
pub(super) fn spread_codes(c: [u8; 4]) -> [u8; 3] {
    from_fn(|p| (c[p] & 0x3F) | (((c[3] >> (2 * p)) & 3) << 6))
}

/// [`spread_codes`] undone: what every kernel computes, a register of bytes at a time.
pub(super) fn gather_codes(b: [u8; 3]) -> [u8; 4] {
    let fourth = (b[0] >> 6) | ((b[1] >> 6) << 2) | ((b[2] >> 6) << 4);
    [b[0] & 0x3F, b[1] & 0x3F, b[2] & 0x3F, fourth]
}

/// One 256-value block of sixteen Q6_K rows.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C, align(64))]
pub struct TileQ6K {
    /// Each row's block scale `d`.
    pub d: [f32; TILE_ROWS],
    /// Sub-block `s`'s (values `16s..16s + 16`) signed scale of each row.
    pub scales: [[i8; TILE_ROWS]; 16],
    /// Per sub-block `s` (values `16s..16s + 16`) three 64-byte planes, per row four bytes
    /// each, so a kernel reads the tile front to back in one stream: byte `j` of plane `p`
    /// (`p` = 0, 1, 2) holds the code of value `16s + 4p + j` in bits 0–5 and bits
    /// `2p..2p + 2` of the code of value `16s + 12 + j` in bits 6–7 ([`spread_codes`]).
    pub codes: [[[[u8; 4]; TILE_ROWS]; 3]; 16],
}

impl Tile for TileQ6K {
    const DTYPE: DType = DType::Q6K;
    const HEADER_LINES: usize = std::mem::offset_of!(TileQ6K, codes).div_ceil(64);

    fn pack_into(tile: &mut TileQ6K, blocks: [&[u8]; TILE_ROWS]) {
        for (r, blk) in blocks.into_iter().enumerate() {
            tile.d[r] = f16_at(&blk[q6_k::D..]);
            let codes = block_codes(blk);
            for (s, planes) in tile.codes.iter_mut().enumerate() {
                tile.scales[s][r] = blk[q6_k::SCALES + s] as i8;
                for j in 0..4 {
                    let bytes = spread_codes(from_fn(|f| codes[16 * s + 4 * f + j]));
                    for (plane, byte) in planes.iter_mut().zip(bytes) {
                        plane[r][j] = byte;
                    }
                }
            }
        }
    }

    fn dot_scalar(tiles: &[TileQ6K], a: &ActivationRow) -> [f32; TILE_ROWS] {
        let mut out = [0.0f32; TILE_ROWS];
        for (b, t) in tiles.iter().enumerate() {
            let y = &a.quants[b * 256..b * 256 + 256];
            for (r, o) in out.iter_mut().enumerate() {
                let mut sumi = 0i32;
                for s in 0..16 {
                    let mut sub = 0i32;
                    for j in 0..4 {
                        let codes = gather_codes(from_fn(|p| t.codes[s][p][r][j]));
                        for (f, c) in codes.into_iter().enumerate() {
                            sub += (i32::from(c) - 32) * i32::from(y[16 * s + 4 * f + j]);
                        }
                    }
                    sumi += i32::from(t.scales[s][r]) * sub;
                }
                *o += t.d[r] * a.scales[b] * sumi as f32;
            }
        }
        out
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx512<const R: usize>(
        tiles: &[TileQ6K],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees AVX-512 VNNI (the trait's contract).
        unsafe { super::q6_k_avx512::dot_tile::<R>(tiles, acts) }
    }

    #[cfg(any(target_arch = "aarch64", test, edgeplane_neon_emulated))]
    unsafe fn dot_neon<const R: usize>(
        tiles: &[TileQ6K],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees FEAT_DotProd (the trait's contract).
        unsafe { super::neon::dot_q6_k::<R>(tiles, acts) }
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_vnni256<const R: usize>(
        tiles: &[TileQ6K],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        super::vnni256::dispatch!(dot_q6_k, tiles, acts)
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn avx2_batch(
        m: &super::TiledMatrix<TileQ6K>,
        tiles: std::ops::Range<usize>,
        acts: &super::ActivationRows,
        rows: &[ActivationRow],
        sink: &mut dyn FnMut(usize, usize, &[f32; TILE_ROWS]),
    ) -> bool {
        if rows.len() < super::q6_k_avx2_batch::MIN_ROWS {
            return false;
        }
        // SAFETY: the caller guarantees AVX2, FMA and F16C (the trait's contract).
        unsafe { super::q6_k_avx2_batch::matmul(m, tiles, acts, rows, sink) };
        true
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2<const R: usize>(
        tiles: &[TileQ6K],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees AVX2, FMA and F16C (the trait's contract).
        unsafe { super::avx2::dot_q6_k::<R>(tiles, acts) }
    }
}
