//! The Q5_K tile: the Q4_K tile's header (`d`, `dmin` as f16 bits, 6-bit scales and mins
//! one byte per row) and nibble pairs, with the codes' fifth bits as the two 64-bit masks
//! per group the kernel adds them with (as the Q5_0 tile stores them), each sub-block's
//! masks before its codes: 2880 bytes per 16 rows × 256 values against 2816 raw (+2.3 %).

use super::nibble32::{FifthBitBlock, NibbleGroup};
use super::q4_k::{codes, K4Tile};
use super::{Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use crate::cpu::layout::{q4_k, q5_k, u16_at};
use crate::DType;

/// The tile's size, as the module doc gives it (decode from DRAM reads every byte).
const _: () = assert!(std::mem::size_of::<TileQ5K>() == 2880);

/// One 256-value block of sixteen Q5_K rows.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C, align(64))]
pub struct TileQ5K {
    /// Each row's block scale `d`, as f16 bits.
    pub d: [u16; TILE_ROWS],
    /// Each row's block `dmin`, as f16 bits.
    pub dmin: [u16; TILE_ROWS],
    /// Sub-block `s`'s 6-bit scale of each row.
    pub scales: [[u8; TILE_ROWS]; 8],
    /// Sub-block `s`'s 6-bit min of each row.
    pub mins: [[u8; TILE_ROWS]; 8],
    /// Sub-block `s`'s fifth-bit masks and nibble pairs (groups `4s..4s + 4`).
    pub blocks: [FifthBitBlock; 8],
}

impl Tile for TileQ5K {
    const DTYPE: DType = DType::Q5K;
    const HEADER_LINES: usize = std::mem::offset_of!(TileQ5K, blocks).div_ceil(64);

    fn pack_into(tile: &mut TileQ5K, blocks: [&[u8]; TILE_ROWS]) {
        for (r, blk) in blocks.into_iter().enumerate() {
            tile.d[r] = u16_at(blk, 0);
            tile.dmin[r] = u16_at(blk, 2);
            let (sc, mn) = q4_k::scales_and_mins(&blk[q5_k::SCALES..q5_k::SCALES + 12]);
            for s in 0..8 {
                tile.scales[s][r] = sc[s];
                tile.mins[s][r] = mn[s];
            }
            let codes = codes(&blk[q5_k::QS..]);
            let qh = &blk[q5_k::QH..q5_k::QH + 32];
            for (g, group) in codes.chunks_exact(8).enumerate() {
                let block = &mut tile.blocks[g / 4];
                for j in 0..4 {
                    block.codes[g % 4][r][j] = group[j] | (group[4 + j] << 4);
                }
                // Value `v = 64c + i`'s fifth bit is bit `2c` of `qh[i]` (i < 32) or
                // `2c + 1` of `qh[i − 32]`.
                for half in 0..2 {
                    for j in 0..4 {
                        let v = 8 * g + 4 * half + j;
                        let (c, i) = (v / 64, v % 64);
                        let bit = (qh[i % 32] >> (2 * c + i / 32)) & 1;
                        block.high[g % 4][half] |= u64::from(bit) << (4 * r + j);
                    }
                }
            }
        }
    }

    super::spread_kernels!();

    super::family_kernels!(
        TileQ5K,
        K4Tile,
        k4_avx512::dot_tile,
        avx2::dot_k4,
        vnni256::dot_k4,
        neon::dot_k4
    );
}

impl K4Tile for TileQ5K {
    const FIFTH_BIT: bool = true;
    fn d(&self) -> &[u16; TILE_ROWS] {
        &self.d
    }
    fn dmin(&self) -> &[u16; TILE_ROWS] {
        &self.dmin
    }
    fn scales(&self) -> &[[u8; TILE_ROWS]; 8] {
        &self.scales
    }
    fn mins(&self) -> &[[u8; TILE_ROWS]; 8] {
        &self.mins
    }
    #[inline(always)]
    fn group(&self, g: usize) -> &NibbleGroup {
        &self.blocks[g / 4].codes[g % 4]
    }
    #[inline(always)]
    fn fifth_bits(&self, s: usize) -> Option<&[[u64; 2]; 4]> {
        Some(&self.blocks[s].high)
    }
}
