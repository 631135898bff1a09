//! Weights repacked at load with rows interleaved (ggml's `q4_K_8x8`, candle's x86 tiles):
//! sixteen weight rows' codes for the same four input values sit side by side, so one
//! 512-bit `vpdpbusd` against a broadcast of four activation values advances sixteen dot
//! products at once and no horizontal sums are needed. The row-at-a-time kernels spend
//! most of their instructions on per-row reductions and per-sub-block scale shuffles;
//! here scales are applied to sixteen rows with one multiply.
//!
//! Only Q4_K so far, and only for whole tiles of 16 rows. The tile keeps the block's
//! integer scales (6-bit, one byte each) and `d`/`dmin` as f32, 2432 bytes per 16 rows ×
//! 256 values against 2304 for the raw blocks (+5.6 %), so decode reads about the same
//! bytes from memory.

#[cfg(target_arch = "x86_64")]
mod q4_k_avx512;

use super::activation::{ActivationFormat, ActivationRows};
use super::layout::{f16_at, q4_k};
use super::matmul::WeightMatrix;
use super::simd::{Simd, SimdLevel};
use crate::DType;
use std::array::from_fn;
use std::ops::Range;

/// Rows per tile.
pub const TILE_ROWS: usize = 16;

/// One 256-value block of sixteen Q4_K rows.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C)]
pub struct TileQ4K {
    /// Each row's block scale `d`.
    pub d: [f32; TILE_ROWS],
    /// Each row's block `dmin`.
    pub dmin: [f32; TILE_ROWS],
    /// Sub-block `s`'s 6-bit scale of each row.
    pub scales: [[u8; TILE_ROWS]; 8],
    /// Sub-block `s`'s 6-bit min of each row.
    pub mins: [[u8; TILE_ROWS]; 8],
    /// Per group `g` of eight values (`8g..8g + 8`), per row, four bytes: byte `j` holds
    /// value `8g + j`'s code in its low nibble and value `8g + 4 + j`'s in its high one.
    pub codes: [[[u8; 4]; TILE_ROWS]; 32],
}

/// A Q4_K weight matrix `[rows, k]` repacked into tiles: `tiles[t * blocks + b]` is block
/// `b` of rows `16t..16t + 16`.
#[derive(Debug)]
pub struct InterleavedQ4K {
    rows: usize,
    k: usize,
    tiles: Vec<TileQ4K>,
}

/// The 4-bit code of value `v` (0..256) of a raw Q4_K block.
fn q4_k_code(blk: &[u8], v: usize) -> u8 {
    let byte = blk[q4_k::QS + 32 * (v / 64) + v % 32];
    if v % 64 < 32 {
        byte & 0xF
    } else {
        byte >> 4
    }
}

impl InterleavedQ4K {
    /// Repacks `w`; `None` unless it is Q4_K with a multiple of 16 rows.
    pub fn new(w: &WeightMatrix) -> Option<InterleavedQ4K> {
        if w.dtype != DType::Q4K || !w.rows.is_multiple_of(TILE_ROWS) || !w.k.is_multiple_of(256) {
            return None;
        }
        let blocks = w.k / 256;
        let mut tiles = Vec::with_capacity(w.rows / TILE_ROWS * blocks);
        for t in 0..w.rows / TILE_ROWS {
            for b in 0..blocks {
                let mut tile: TileQ4K = bytemuck::Zeroable::zeroed();
                for r in 0..TILE_ROWS {
                    let row = w.row(TILE_ROWS * t + r);
                    let blk = &row[b * q4_k::BYTES..(b + 1) * q4_k::BYTES];
                    tile.d[r] = f16_at(blk);
                    tile.dmin[r] = f16_at(&blk[2..]);
                    let (sc, mn) = q4_k::scales_and_mins(&blk[q4_k::SCALES..q4_k::QS]);
                    for s in 0..8 {
                        tile.scales[s][r] = sc[s];
                        tile.mins[s][r] = mn[s];
                    }
                    for g in 0..32 {
                        for j in 0..4 {
                            tile.codes[g][r][j] =
                                q4_k_code(blk, 8 * g + j) | (q4_k_code(blk, 8 * g + 4 + j) << 4);
                        }
                    }
                }
                tiles.push(tile);
            }
        }
        Some(InterleavedQ4K {
            rows: w.rows,
            k: w.k,
            tiles,
        })
    }

    /// Output rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes the tiles take.
    pub fn bytes(&self) -> usize {
        std::mem::size_of_val(self.tiles.as_slice())
    }

    fn blocks(&self) -> usize {
        self.k / 256
    }

    /// Computes `out[(r - 16·tiles.start) * n + i] = W[r] · x[i]` for the rows of `tiles`
    /// (weight-major, like [`super::matmul_rows`]). `acts` must be 256-block activations
    /// (`ActivationFormat::for_weight(DType::Q4K)`) of width `k`.
    ///
    /// # Panics
    /// If `acts` has another format or width, or `out` the wrong length.
    pub fn matmul_tiles(
        &self,
        simd: Simd,
        tiles: Range<usize>,
        acts: &ActivationRows,
        out: &mut [f32],
    ) {
        assert_eq!(acts.format(), ActivationFormat::for_weight(DType::Q4K));
        assert_eq!(acts.k(), self.k, "activation width matches the weights");
        let n = acts.rows();
        assert_eq!(
            out.len(),
            tiles.len() * TILE_ROWS * n,
            "one output per row and activation"
        );
        let blocks = self.blocks();
        let rows: Vec<_> = (0..n).map(|i| acts.row(i)).collect();
        for (o, t) in out.chunks_exact_mut(TILE_ROWS * n).zip(tiles) {
            let tile = &self.tiles[t * blocks..(t + 1) * blocks];
            let mut i = 0;
            while i < n {
                let g = GROUP.min(n - i);
                let at = |j: usize| &rows[i + j];
                let mut put = |j: usize, sums: &[f32; TILE_ROWS]| {
                    for (r, &s) in sums.iter().enumerate() {
                        o[r * n + i + j] = s;
                    }
                };
                match simd.level() {
                    #[cfg(target_arch = "x86_64")]
                    SimdLevel::Avx512Vnni => {
                        // SAFETY: the `Simd` token proves this CPU has AVX-512 VNNI.
                        let sums: Vec<[f32; TILE_ROWS]> = unsafe {
                            match g {
                                4 => q4_k_avx512::dot_tile::<4>(tile, from_fn(at)).to_vec(),
                                3 => q4_k_avx512::dot_tile::<3>(tile, from_fn(at)).to_vec(),
                                2 => q4_k_avx512::dot_tile::<2>(tile, from_fn(at)).to_vec(),
                                _ => q4_k_avx512::dot_tile::<1>(tile, from_fn(at)).to_vec(),
                            }
                        };
                        sums.iter().enumerate().for_each(|(j, s)| put(j, s));
                    }
                    _ => (0..g).for_each(|j| put(j, &dot_tile_scalar(tile, at(j)))),
                }
                i += g;
            }
        }
    }
}

/// Activation rows one pass over a tile serves: four keep the accumulators in registers.
const GROUP: usize = 4;

/// The spec of the tile kernel: sixteen rows' dots with one activation row, in the
/// scalar dot's arithmetic per row.
fn dot_tile_scalar(tile: &[TileQ4K], a: &super::activation::ActivationRow) -> [f32; TILE_ROWS] {
    let mut out = [0.0f32; TILE_ROWS];
    for (b, t) in tile.iter().enumerate() {
        let y = &a.quants[b * 256..b * 256 + 256];
        let bs = &a.sums[b * 16..b * 16 + 16];
        for (r, o) in out.iter_mut().enumerate() {
            let (mut sumi, mut summ) = (0i32, 0i32);
            for s in 0..8 {
                let mut sub = 0i32;
                for g in 4 * s..4 * s + 4 {
                    for j in 0..4 {
                        let c = t.codes[g][r][j];
                        sub += i32::from(c & 0xF) * i32::from(y[8 * g + j]);
                        sub += i32::from(c >> 4) * i32::from(y[8 * g + 4 + j]);
                    }
                }
                sumi += i32::from(t.scales[s][r]) * sub;
                summ += i32::from(t.mins[s][r]) * (i32::from(bs[2 * s]) + i32::from(bs[2 * s + 1]));
            }
            *o += a.scales[b] * (t.d[r] * sumi as f32 - t.dmin[r] * summ as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests;
