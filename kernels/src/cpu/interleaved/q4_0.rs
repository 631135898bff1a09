//! The Q4_0 tile: 256 values (eight Q4_0 blocks) of sixteen rows as nibble pairs laid out
//! like the Q4_K tile's codes ([`NibbleGroup`]), and the eight per-block f16 scales of each row side by side:
//! 2304 bytes, exactly the raw blocks. A code `c` stands for `c − 8`; the `−8` is taken
//! back per block with the activation's integer block sum.

use super::nibble32::{pack_rows, Nibble32Tile, NibbleGroup};
use super::{Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use crate::cpu::layout::{q4_0, u16_at};
use crate::DType;

/// Eight 32-value blocks of sixteen Q4_0 rows.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C, align(64))]
pub struct TileQ4_0 {
    /// Block `s`'s scale `d` of each row, as f16 bits.
    pub d: [[u16; TILE_ROWS]; 8],
    /// Per group `g` of eight values, per row, four bytes: byte `j` holds value `8g + j`'s
    /// code in its low nibble and value `8g + 4 + j`'s in its high one.
    pub codes: [NibbleGroup; 32],
}

impl Tile for TileQ4_0 {
    const DTYPE: DType = DType::Q4_0;
    const HEADER_LINES: usize = std::mem::offset_of!(TileQ4_0, codes).div_ceil(64);
    const AVX2_GROUP: usize = super::GROUP;
    const AVX512_GROUP: usize = 4;

    fn pack_into(tile: &mut TileQ4_0, blocks: [&[u8]; TILE_ROWS]) {
        pack_rows(blocks, q4_0::BYTES, q4_0::QS, |s, r, blk, groups| {
            tile.d[s][r] = u16_at(blk, 0);
            for (t, g) in groups.into_iter().enumerate() {
                tile.codes[4 * s + t][r] = g;
            }
        });
    }

    super::family_kernels!(
        TileQ4_0,
        Nibble32Tile,
        nibble32_avx512::dot_tile,
        avx2::dot_nibble32,
        vnni256::dot_nibble32,
        neon::dot_nibble32
    );
}

impl Nibble32Tile for TileQ4_0 {
    const BIAS: i32 = -8;
    fn d(&self) -> &[[u16; TILE_ROWS]; 8] {
        &self.d
    }
    fn m(&self) -> Option<&[[u16; TILE_ROWS]; 8]> {
        None
    }
    #[inline(always)]
    fn group(&self, g: usize) -> &NibbleGroup {
        &self.codes[g]
    }
    #[inline(always)]
    fn fifth_bits(&self, _: usize) -> Option<&[[u64; 2]; 4]> {
        None
    }
}
