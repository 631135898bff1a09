//! The Q4_K tile: codes as nibble pairs, 6-bit scales and mins one byte per row, `d` and
//! `dmin` as the raw f16 bits: 2368 bytes per 16 rows × 256 values against 2304 raw
//! (+2.8 %; with `d`/`dmin` widened to f32 it was 2432, +5.6 %, which decode from DRAM pays
//! in full).

use super::nibble32::{nibble_code, NibbleGroup};
use super::{Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use crate::cpu::layout::{q4_k, u16_at};
use crate::DType;

/// The tile's size, as the module doc gives it (decode from DRAM reads every byte).
const _: () = assert!(std::mem::size_of::<TileQ4K>() == 2368);

/// One 256-value block of sixteen Q4_K rows.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C, align(64))]
pub struct TileQ4K {
    /// Each row's block scale `d`, as f16 bits (the kernels widen sixteen at once).
    pub d: [u16; TILE_ROWS],
    /// Each row's block `dmin`, as f16 bits.
    pub dmin: [u16; TILE_ROWS],
    /// Sub-block `s`'s 6-bit scale of each row.
    pub scales: [[u8; TILE_ROWS]; 8],
    /// Sub-block `s`'s 6-bit min of each row.
    pub mins: [[u8; TILE_ROWS]; 8],
    /// Per group `g` of eight values (`8g..8g + 8`), per row, four bytes: byte `j` holds
    /// value `8g + j`'s code in its low nibble and value `8g + 4 + j`'s in its high one.
    pub codes: [NibbleGroup; 32],
}

/// What the Q4_K and Q5_K tiles (ggml's "K4" layout: 6-bit scales and mins per 32
/// values, `d`/`dmin` per 256) share, for their kernel and spec: value
/// `d · scale · u − dmin · min` for the unsigned code `u` (four bits, plus a fifth where
/// the tile has one).
pub trait K4Tile: Tile {
    /// Whether the codes have a fifth bit (Q5_K), which halves what i16 sums can hold.
    const FIFTH_BIT: bool;

    /// Groups of eight values whose AVX2 `vpmaddubsw` products may be summed in i16 before
    /// widening: with activations in ±127 one group's two products add to at most
    /// 2 · 2 · 15 · 127 = 7620 (four bits) or 15748 (five), so four groups, a whole
    /// sub-block, for Q4_K (30480) and two for Q5_K (31496).
    const I16_GROUPS: usize = if Self::FIFTH_BIT { 2 } else { 4 };
    /// Each row's `d`, as f16 bits.
    fn d(&self) -> &[u16; TILE_ROWS];
    /// Each row's `dmin`, as f16 bits.
    fn dmin(&self) -> &[u16; TILE_ROWS];
    /// Sub-block `s`'s 6-bit scale of each row.
    fn scales(&self) -> &[[u8; TILE_ROWS]; 8];
    /// Sub-block `s`'s 6-bit min of each row.
    fn mins(&self) -> &[[u8; TILE_ROWS]; 8];
    /// Group `g`'s nibble pairs (`g < 32`).
    fn group(&self, g: usize) -> &NibbleGroup;
    /// Sub-block `s`'s fifth-bit masks (as [`super::nibble32::FifthBitBlock`]'s), for Q5_K.
    fn fifth_bits(&self, s: usize) -> Option<&[[u64; 2]; 4]>;

    /// The spec: the sixteen rows' dots with one activation row, integer sums as the
    /// row kernels form them.
    fn spec(tiles: &[Self], a: &ActivationRow) -> [f32; TILE_ROWS] {
        let mut out = [0.0f32; TILE_ROWS];
        for (b, t) in tiles.iter().enumerate() {
            let y = &a.quants[b * 256..b * 256 + 256];
            let bs = &a.sums[b * 16..b * 16 + 16];
            for (r, o) in out.iter_mut().enumerate() {
                let (mut sumi, mut summ) = (0i32, 0i32);
                for s in 0..8 {
                    let mut sub = 0i32;
                    for g in 4 * s..4 * s + 4 {
                        for j in 0..8 {
                            let fifth = t.fifth_bits(s).map(|high| &high[g % 4]);
                            let code = nibble_code(t.group(g), fifth, r, j);
                            sub += i32::from(code) * i32::from(y[8 * g + j]);
                        }
                    }
                    sumi += i32::from(t.scales()[s][r]) * sub;
                    summ += i32::from(t.mins()[s][r])
                        * (i32::from(bs[2 * s]) + i32::from(bs[2 * s + 1]));
                }
                let f32_of = |bits: u16| half::f16::from_bits(bits).to_f32();
                let (d, dmin) = (f32_of(t.d()[r]), f32_of(t.dmin()[r]));
                *o += a.scales[b] * (d * sumi as f32 - dmin * summ as f32);
            }
        }
        out
    }
}

impl K4Tile for TileQ4K {
    const FIFTH_BIT: bool = false;
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
        &self.codes[g]
    }
    #[inline(always)]
    fn fifth_bits(&self, _: usize) -> Option<&[[u64; 2]; 4]> {
        None
    }
}

/// The 4-bit codes of a raw Q4_K block's 256 values from its nibbles `qs`, in value order: chunk `c` of 32
/// bytes holds values `64c..64c + 32` in its low nibbles and the next 32 in its high ones.
pub(super) fn codes(qs: &[u8]) -> [u8; 256] {
    let qs: &[u8; 128] = qs[..128].try_into().expect("a whole block");
    let mut out = [0u8; 256];
    for (c, chunk) in qs.chunks_exact(32).enumerate() {
        for (i, &byte) in chunk.iter().enumerate() {
            out[64 * c + i] = byte & 0xF;
            out[64 * c + 32 + i] = byte >> 4;
        }
    }
    out
}

impl Tile for TileQ4K {
    const DTYPE: DType = DType::Q4K;
    const HEADER_LINES: usize = std::mem::offset_of!(TileQ4K, codes).div_ceil(64);
    const AVX2_GROUP: usize = super::GROUP;

    fn pack_into(tile: &mut TileQ4K, blocks: [&[u8]; TILE_ROWS]) {
        for (r, blk) in blocks.into_iter().enumerate() {
            tile.d[r] = u16_at(blk, 0);
            tile.dmin[r] = u16_at(blk, 2);
            let (sc, mn) = q4_k::scales_and_mins(&blk[q4_k::SCALES..q4_k::QS]);
            for s in 0..8 {
                tile.scales[s][r] = sc[s];
                tile.mins[s][r] = mn[s];
            }
            let codes = codes(&blk[q4_k::QS..]);
            for (g, group) in codes.chunks_exact(8).enumerate() {
                for j in 0..4 {
                    tile.codes[g][r][j] = group[j] | (group[4 + j] << 4);
                }
            }
        }
    }

    super::spread_kernels!();

    super::family_kernels!(
        TileQ4K,
        K4Tile,
        k4_avx512::dot_tile,
        avx2::dot_k4,
        vnni256::dot_k4,
        neon::dot_k4
    );
}
