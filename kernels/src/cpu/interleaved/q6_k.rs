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

/// The 6-bit codes (0..64; the value is `d · scale · (code − 32)`) of a raw Q6_K block's
/// 256 values, in value order. Half `h` of 128 values: quarter `q`'s low four bits are
/// the low (`q` = 0, 1) or high (`q` = 2, 3) nibbles of `ql[64h + 32(q mod 2) ..]`, its
/// high two bits bits `2q..2q + 2` of `qh[32h ..]`.
fn codes(blk: &[u8]) -> [u8; 256] {
    let mut out = [0u8; 256];
    for h in 0..2 {
        let ql = &blk[64 * h..64 * h + 64];
        let qh = &blk[q6_k::QH + 32 * h..q6_k::QH + 32 * h + 32];
        for q in 0..4 {
            let low = &ql[32 * (q % 2)..32 * (q % 2) + 32];
            let shift = if q < 2 { 0 } else { 4 };
            let dst = &mut out[128 * h + 32 * q..128 * h + 32 * q + 32];
            for ((d, &l), &hi) in dst.iter_mut().zip(low).zip(qh) {
                *d = ((l >> shift) & 0xF) | (((hi >> (2 * q)) & 3) << 4);
            }
        }
    }
    out
}

impl Tile for TileQ6K {
    const DTYPE: DType = DType::Q6K;

    fn pack(blocks: [&[u8]; TILE_ROWS]) -> TileQ6K {
        let mut tile: TileQ6K = bytemuck::Zeroable::zeroed();
        for (r, blk) in blocks.into_iter().enumerate() {
            tile.d[r] = f16_at(&blk[q6_k::D..]);
            let codes = codes(blk);
            for s in 0..16 {
                tile.scales[s][r] = blk[q6_k::SCALES + s] as i8;
                for j in 0..4 {
                    let mut bits = 0u8;
                    for f in 0..4 {
                        bits |= (codes[16 * s + 4 * f + j] >> 4) << (2 * f);
                    }
                    tile.codes[s][2][r][j] = bits;
                }
            }
            for (g, group) in codes.chunks_exact(8).enumerate() {
                for j in 0..4 {
                    tile.codes[g / 2][g % 2][r][j] = (group[j] & 0xF) | ((group[4 + j] & 0xF) << 4);
                }
            }
        }
        tile
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

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_vnni256<const R: usize>(
        tiles: &[TileQ6K],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        super::vnni256::dispatch!(dot_q6_k, tiles, acts)
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
