//! Tiles of the 32-block formats with 4-bit codes, a fifth bit and/or a min: Q4_1
//! (`d · u + m`), Q5_0 (`d · (u − 16)`) and Q5_1 (`d · u + m`), eight blocks of sixteen
//! rows each, laid out like the Q4_0 tile (whose kernel they share, [`Nibble32Tile`]).
//!
//! The nibbles are Q4_0's nibble pairs; the fifth bits are stored as the two 64-bit masks a
//! group's low- and high-nibble registers need (bit `4r + j` for row `r`, byte `j`), so
//! the kernel sets them with one masked byte add each and the tiles hold exactly the raw
//! bytes: Q4_1 2560, Q5_0 2816, Q5_1 3072 per 16 rows × 256 values. The rows' `d` (and
//! `m`) of all eight blocks come first, then block after block its masks and its codes,
//! one stream in the order the kernel reads it.

use super::{Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use crate::cpu::layout::{q4_1, q5_0, q5_1, u16_at, u32_at};
use crate::DType;

/// Sixteen rows' codes of one group of eight values (`8g..8g + 8`): per row four bytes,
/// byte `j` holding value `8g + j`'s low four bits in its low nibble and value
/// `8g + 4 + j`'s in its high one.
pub type NibbleGroup = [[u8; 4]; TILE_ROWS];

/// One 32-value block of sixteen rows with fifth bits: per group, the masks of the low-
/// and the high-nibble values' fifth bits (bit `4r + j`: row `r`, value `8g + j` resp.
/// `8g + 4 + j`), then the four groups' nibbles.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C)]
pub struct FifthBitBlock {
    /// `[low, high]` fifth-bit masks of each of the block's four groups.
    pub high: [[u64; 2]; 4],
    /// The four groups' nibbles.
    pub codes: [NibbleGroup; 4],
}

/// Eight Q4_1 blocks of sixteen rows.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C, align(64))]
pub struct TileQ4_1 {
    /// Block `s`'s `d` of each row, as f16 bits.
    pub d: [[u16; TILE_ROWS]; 8],
    /// Block `s`'s `m` of each row, as f16 bits.
    pub m: [[u16; TILE_ROWS]; 8],
    /// The 32 groups' nibbles.
    pub codes: [NibbleGroup; 32],
}

/// Eight Q5_0 blocks of sixteen rows.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C, align(64))]
pub struct TileQ5_0 {
    /// Block `s`'s `d` of each row, as f16 bits.
    pub d: [[u16; TILE_ROWS]; 8],
    /// The eight blocks' fifth bits and nibbles.
    pub blocks: [FifthBitBlock; 8],
}

/// Eight Q5_1 blocks of sixteen rows.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C, align(64))]
pub struct TileQ5_1 {
    /// Block `s`'s `d` of each row, as f16 bits.
    pub d: [[u16; TILE_ROWS]; 8],
    /// Block `s`'s `m` of each row, as f16 bits.
    pub m: [[u16; TILE_ROWS]; 8],
    /// The eight blocks' fifth bits and nibbles.
    pub blocks: [FifthBitBlock; 8],
}

/// What the Q4_0, Q4_1, Q5_0 and Q5_1 tiles differ in, for their shared kernel and spec:
/// value `d · (u + BIAS) + m` for the unsigned code `u` (four bits, plus the fifth where
/// the tile has them, plus `m` where it has one).
pub trait Nibble32Tile: Tile {
    /// The codes' bias, taken back in integer through the activation's block sum: `−8`
    /// (Q4_0), `−16` (Q5_0), 0 where a min `m` does that job.
    const BIAS: i32;
    /// Block `s`'s f16 `d` of each row.
    fn d(&self) -> &[[u16; TILE_ROWS]; 8];
    /// Block `s`'s f16 `m` of each row, for the formats with a min.
    fn m(&self) -> Option<&[[u16; TILE_ROWS]; 8]>;
    /// Group `g`'s nibbles (`g < 32`).
    fn group(&self, g: usize) -> &NibbleGroup;
    /// Block `s`'s fifth-bit masks, for the 5-bit formats.
    fn fifth_bits(&self, s: usize) -> Option<&[[u64; 2]; 4]>;

    /// The spec: the sixteen rows' dots with one activation row, integer block sums as the
    /// kernel forms them.
    fn spec(tiles: &[Self], a: &ActivationRow) -> [f32; TILE_ROWS] {
        let mut out = [0.0f32; TILE_ROWS];
        for (b, t) in tiles.iter().enumerate() {
            for (r, o) in out.iter_mut().enumerate() {
                for s in 0..8 {
                    let blk = 8 * b + s;
                    let mut sumi = Self::BIAS * i32::from(a.sums[blk]);
                    for v in 32 * s..32 * s + 32 {
                        let (g, j) = (v / 8, v % 8);
                        let fifth = t.fifth_bits(s).map(|high| &high[g % 4]);
                        let code = nibble_code(t.group(g), fifth, r, j);
                        sumi += i32::from(code) * i32::from(a.quants[256 * b + v]);
                    }
                    let d = half::f16::from_bits(t.d()[s][r]).to_f32();
                    let m = t
                        .m()
                        .map_or(0.0, |m| half::f16::from_bits(m[s][r]).to_f32());
                    *o += a.scales[blk] * (d * sumi as f32 + m * f32::from(a.sums[blk]));
                }
            }
        }
        out
    }
}

/// The code of value `8g + j` of row `r` from its group's nibbles (`j < 4`: a low nibble,
/// else a high one) and, where the tile has them, the group's `[low, high]` fifth-bit
/// masks: the specs' reading of the layout the kernels read in registers.
pub(super) fn nibble_code(group: &NibbleGroup, fifth: Option<&[u64; 2]>, r: usize, j: usize) -> u8 {
    let byte = group[r][j % 4];
    let low = if j < 4 { byte & 0xF } else { byte >> 4 };
    let bit = fifth.map_or(0, |masks| (masks[j / 4] >> (4 * r + j % 4)) & 1);
    low | (bit as u8) << 4
}

/// Block `blk`'s nibbles as four groups: Q4_0's byte `i` holds value `i` (low nibble) and
/// value `i + 16` (high), so groups 0 and 1 are the low nibbles of bytes 0–7 and 8–15,
/// groups 2 and 3 their high ones.
fn nibble_groups(qs: &[u8]) -> [[u8; 4]; 4] {
    let qs: [u32; 4] = super::words(qs);
    std::array::from_fn(|t| {
        let at = 2 * (t % 2);
        super::nibble_pairs(qs[at], qs[at + 1], t >= 2)
    })
}

/// Ors one row's fifth bits (`qh`, bit `i` for value `i` of the block) into the block's
/// group masks at row `r`'s four bits.
fn add_fifth_bits(high: &mut [[u64; 2]; 4], r: usize, qh: u32) {
    for (t, masks) in high.iter_mut().enumerate() {
        masks[0] |= u64::from((qh >> (8 * t)) & 0xF) << (4 * r);
        masks[1] |= u64::from((qh >> (8 * t + 4)) & 0xF) << (4 * r);
    }
}

/// Walks sixteen rows' raw 32-blocks of `bytes` each, nibbles at `qs_at`: `put` takes
/// block `s`, row `r`, the raw block (for `d`, `m`, `qh`) and its nibbles as groups.
pub(super) fn pack_rows(
    blocks: [&[u8]; TILE_ROWS],
    bytes: usize,
    qs_at: usize,
    mut put: impl FnMut(usize, usize, &[u8], [[u8; 4]; 4]),
) {
    for (r, raw) in blocks.into_iter().enumerate() {
        for (s, blk) in raw.chunks_exact(bytes).enumerate() {
            put(s, r, blk, nibble_groups(&blk[qs_at..]));
        }
    }
}

impl Tile for TileQ4_1 {
    const DTYPE: DType = DType::Q4_1;
    const HEADER_LINES: usize = std::mem::offset_of!(TileQ4_1, codes).div_ceil(64);
    const AVX2_GROUP: usize = super::GROUP;
    const AVX512_GROUP: usize = 4;

    fn pack_into(tile: &mut TileQ4_1, blocks: [&[u8]; TILE_ROWS]) {
        pack_rows(blocks, q4_1::BYTES, q4_1::QS, |s, r, blk, groups| {
            tile.d[s][r] = u16_at(blk, 0);
            tile.m[s][r] = u16_at(blk, q4_1::M);
            for (t, g) in groups.into_iter().enumerate() {
                tile.codes[4 * s + t][r] = g;
            }
        });
    }

    super::family_kernels!(
        TileQ4_1,
        Nibble32Tile,
        nibble32_avx512::dot_tile,
        avx2::dot_nibble32,
        vnni256::dot_nibble32,
        neon::dot_nibble32
    );
}

impl Nibble32Tile for TileQ4_1 {
    const BIAS: i32 = 0;
    fn d(&self) -> &[[u16; TILE_ROWS]; 8] {
        &self.d
    }
    fn m(&self) -> Option<&[[u16; TILE_ROWS]; 8]> {
        Some(&self.m)
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

impl Tile for TileQ5_0 {
    const DTYPE: DType = DType::Q5_0;
    const HEADER_LINES: usize = std::mem::offset_of!(TileQ5_0, blocks).div_ceil(64);

    fn pack_into(tile: &mut TileQ5_0, blocks: [&[u8]; TILE_ROWS]) {
        pack_rows(blocks, q5_0::BYTES, q5_0::QS, |s, r, blk, groups| {
            tile.d[s][r] = u16_at(blk, 0);
            let block = &mut tile.blocks[s];
            add_fifth_bits(&mut block.high, r, u32_at(blk, q5_0::QH));
            for (t, g) in groups.into_iter().enumerate() {
                block.codes[t][r] = g;
            }
        });
    }

    super::family_kernels!(
        TileQ5_0,
        Nibble32Tile,
        nibble32_avx512::dot_tile,
        avx2::dot_nibble32,
        vnni256::dot_nibble32,
        neon::dot_nibble32
    );
}

impl Nibble32Tile for TileQ5_0 {
    const BIAS: i32 = -16;
    fn d(&self) -> &[[u16; TILE_ROWS]; 8] {
        &self.d
    }
    fn m(&self) -> Option<&[[u16; TILE_ROWS]; 8]> {
        None
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

impl Tile for TileQ5_1 {
    const DTYPE: DType = DType::Q5_1;
    const HEADER_LINES: usize = std::mem::offset_of!(TileQ5_1, blocks).div_ceil(64);

    fn pack_into(tile: &mut TileQ5_1, blocks: [&[u8]; TILE_ROWS]) {
        pack_rows(blocks, q5_1::BYTES, q5_1::QS, |s, r, blk, groups| {
            tile.d[s][r] = u16_at(blk, 0);
            tile.m[s][r] = u16_at(blk, q5_1::M);
            let block = &mut tile.blocks[s];
            add_fifth_bits(&mut block.high, r, u32_at(blk, q5_1::QH));
            for (t, g) in groups.into_iter().enumerate() {
                block.codes[t][r] = g;
            }
        });
    }

    super::family_kernels!(
        TileQ5_1,
        Nibble32Tile,
        nibble32_avx512::dot_tile,
        avx2::dot_nibble32,
        vnni256::dot_nibble32,
        neon::dot_nibble32
    );
}

impl Nibble32Tile for TileQ5_1 {
    const BIAS: i32 = 0;
    fn d(&self) -> &[[u16; TILE_ROWS]; 8] {
        &self.d
    }
    fn m(&self) -> Option<&[[u16; TILE_ROWS]; 8]> {
        Some(&self.m)
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
