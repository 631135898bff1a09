//! The Q6_K tile: the low four bits of every code as nibble pairs (laid out like Q4_K's
//! codes), the high two bits as a separate plane, signed scales one byte per row, `d` as
//! f32: 3392 bytes per 16 rows × 256 values against 3360 raw (+1 %). Full-byte codes would
//! be simpler to read but +31 %, which memory-bound decode pays for in full.

use super::{Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use crate::cpu::layout::{f16_at, q6_k};
use crate::DType;

/// One 256-value block of sixteen Q6_K rows.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C, align(64))]
pub struct TileQ6K {
    /// Each row's block scale `d`.
    pub d: [f32; TILE_ROWS],
    /// Sub-block `s`'s (values `16s..16s + 16`) signed scale of each row.
    pub scales: [[i8; TILE_ROWS]; 16],
    /// Per sub-block `s` (values `16s..16s + 16`) three 64-byte planes, so a kernel reads
    /// the tile front to back in one stream (two interleaved streams, the low bits then
    /// the high, streamed from DRAM at 0.6× the rate):
    /// - `codes[s][h]`, `h` = 0, 1 (group `g = 2s + h` of eight values): per row four
    ///   bytes, byte `j` holding the low four bits of value `8g + j`'s code in its low
    ///   nibble and of value `8g + 4 + j`'s in its high;
    /// - `codes[s][2]`: per row four bytes, byte `j` holding the high two bits of values
    ///   `16s + j`, `16s + 4 + j`, `16s + 8 + j` and `16s + 12 + j` in bits 0–1, 2–3, 4–5,
    ///   6–7.
    pub codes: [[[[u8; 4]; TILE_ROWS]; 3]; 16],
}

impl Tile for TileQ6K {
    const DTYPE: DType = DType::Q6K;
    const HEADER_LINES: usize = std::mem::offset_of!(TileQ6K, codes).div_ceil(64);

    fn pack_into(tile: &mut TileQ6K, blocks: [&[u8]; TILE_ROWS]) {
        for (r, blk) in blocks.into_iter().enumerate() {
            tile.d[r] = f16_at(&blk[q6_k::D..]);
            // Half `h` of 128 values, quarter `q` of 32: the low four bits are the low
            // (`q` = 0, 1) or high (`q` = 2, 3) nibbles of `ql[64h + 32(q mod 2) ..]`, the
            // high two bits bits `2q..2q + 2` of `qh[32h ..]`.
            let ql: [u32; 32] = super::words(blk);
            let qh: [u32; 16] = super::words(&blk[q6_k::QH..]);
            for g in 0..32 {
                let (h, q, i) = (g / 16, (g % 16) / 4, 2 * (g % 4));
                let at = 16 * h + 8 * (q % 2) + i;
                tile.codes[g / 2][g % 2][r] = super::nibble_pairs(ql[at], ql[at + 1], q >= 2);
            }
            for (s, planes) in tile.codes.iter_mut().enumerate() {
                tile.scales[s][r] = blk[q6_k::SCALES + s] as i8;
                let (h, q, i) = (s / 8, (s % 8) / 2, 4 * (s % 2));
                let mut bits = 0u32;
                for f in 0..4 {
                    bits |= ((qh[8 * h + i + f] >> (2 * q)) & 0x0303_0303) << (2 * f);
                }
                planes[2][r] = bits.to_le_bytes();
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
                    for (v, &yv) in y.iter().enumerate().skip(16 * s).take(16) {
                        let (g, j, upper) = (v / 8, v % 4, v % 8 >= 4);
                        let nib = t.codes[g / 2][g % 2][r][j];
                        let low = if upper { nib >> 4 } else { nib & 0xF };
                        let f = (v % 16) / 4;
                        let high = (t.codes[s][2][r][j] >> (2 * f)) & 3;
                        let c = i32::from(low | (high << 4)) - 32;
                        sub += c * i32::from(yv);
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
