//! The Q4_0 tile: 256 values (eight Q4_0 blocks) of sixteen rows as nibble pairs laid out
//! like the Q4_K tile's codes, and the eight per-block f16 scales of each row side by side:
//! 2304 bytes, exactly the raw blocks. A code `c` stands for `c − 8`; the `−8` is taken
//! back per block with the activation's integer block sum.

use super::{Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use crate::cpu::layout::q4_0;
use crate::DType;

/// Eight 32-value blocks of sixteen Q4_0 rows.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C, align(64))]
pub struct TileQ4_0 {
    /// Block `s`'s scale `d` of each row, as f16 bits.
    pub d: [[u16; TILE_ROWS]; 8],
    /// Per group `g` of eight values, per row, four bytes: byte `j` holds value `8g + j`'s
    /// code in its low nibble and value `8g + 4 + j`'s in its high one.
    pub codes: [[[u8; 4]; TILE_ROWS]; 32],
}

impl Tile for TileQ4_0 {
    const DTYPE: DType = DType::Q4_0;
    const HEADER_LINES: usize = std::mem::offset_of!(TileQ4_0, codes).div_ceil(64);

    fn pack_into(tile: &mut TileQ4_0, blocks: [&[u8]; TILE_ROWS]) {
        for (r, raw) in blocks.into_iter().enumerate() {
            for (s, blk) in raw.chunks_exact(q4_0::BYTES).enumerate() {
                tile.d[s][r] = u16::from_le_bytes([blk[0], blk[1]]);
                // Byte `i` holds value `i` (low nibble) and value `i + 16` (high): groups
                // `4s`, `4s + 1` are low nibbles of bytes 0–7, 8–15, the next two high ones.
                let qs: [u32; 4] = super::words(&blk[q4_0::QS..]);
                for t in 0..4 {
                    let at = 2 * (t % 2);
                    tile.codes[4 * s + t][r] = super::nibble_pairs(qs[at], qs[at + 1], t >= 2);
                }
            }
        }
    }

    fn dot_scalar(tiles: &[TileQ4_0], a: &ActivationRow) -> [f32; TILE_ROWS] {
        let mut out = [0.0f32; TILE_ROWS];
        for (b, t) in tiles.iter().enumerate() {
            for (r, o) in out.iter_mut().enumerate() {
                for s in 0..8 {
                    let mut sumi = 0i32;
                    for v in 32 * s..32 * s + 32 {
                        let byte = t.codes[v / 8][r][v % 4];
                        let code = if v % 8 < 4 { byte & 0xF } else { byte >> 4 };
                        sumi += (i32::from(code) - 8) * i32::from(a.quants[256 * b + v]);
                    }
                    let d = half::f16::from_bits(t.d[s][r]).to_f32();
                    *o += d * a.scales[8 * b + s] * sumi as f32;
                }
            }
        }
        out
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx512<const R: usize>(
        tiles: &[TileQ4_0],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees AVX-512 VNNI (the trait's contract).
        unsafe { super::q4_0_avx512::dot_tile::<R>(tiles, acts) }
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_vnni256<const R: usize>(
        tiles: &[TileQ4_0],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        super::vnni256::dispatch!(dot_q4_0, tiles, acts)
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2<const R: usize>(
        tiles: &[TileQ4_0],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees AVX2, FMA and F16C (the trait's contract).
        unsafe { super::avx2::dot_q4_0::<R>(tiles, acts) }
    }
}
