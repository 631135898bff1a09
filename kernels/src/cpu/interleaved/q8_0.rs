//! The Q8_0 tile: 256 values (eight Q8_0 blocks) of sixteen rows, codes stored as unsigned
//! bytes `q + 128` so `vpdpbusd` (unsigned × signed) takes them directly, and the eight
//! per-block f16 scales of each row side by side: 4352 bytes, exactly the raw blocks.
//! The `+128` is taken back per block with the activation's integer block sum.

use super::{Tile, TILE_ROWS};
use crate::cpu::activation::ActivationRow;
use crate::cpu::layout::{q8_0, u16_at};
use crate::DType;

/// Eight 32-value blocks of sixteen Q8_0 rows.
#[derive(Clone, Copy, Debug, bytemuck::Zeroable, bytemuck::Pod)]
#[repr(C, align(64))]
pub struct TileQ8_0 {
    /// Block `s`'s scale `d` of each row, as f16 bits (converted in registers: keeping the
    /// raw width keeps decode's bytes equal to the raw weights').
    pub d: [[u16; TILE_ROWS]; 8],
    /// Per group `g` of four values (`4g..4g + 4`), per row, their codes `q + 128`.
    pub codes: [[[u8; 4]; TILE_ROWS]; 64],
}

impl Tile for TileQ8_0 {
    const DTYPE: DType = DType::Q8_0;
    const HEADER_LINES: usize = std::mem::offset_of!(TileQ8_0, codes).div_ceil(64);

    fn pack_into(tile: &mut TileQ8_0, blocks: [&[u8]; TILE_ROWS]) {
        for (r, raw) in blocks.into_iter().enumerate() {
            for (s, blk) in raw.chunks_exact(q8_0::BYTES).enumerate() {
                tile.d[s][r] = u16_at(blk, 0);
                let qs: [u32; 8] = super::words(&blk[q8_0::QS..]);
                for (i, q) in qs.into_iter().enumerate() {
                    tile.codes[8 * s + i][r] = (q ^ 0x8080_8080).to_le_bytes();
                }
            }
        }
    }

    fn dot_scalar(tiles: &[TileQ8_0], a: &ActivationRow) -> [f32; TILE_ROWS] {
        let mut out = [0.0f32; TILE_ROWS];
        for (b, t) in tiles.iter().enumerate() {
            for (r, o) in out.iter_mut().enumerate() {
                for s in 0..8 {
                    let blk = 8 * b + s;
                    let mut sumi = 0i32;
                    for v in 32 * s..32 * s + 32 {
                        let c = i32::from(t.codes[v / 4][r][v % 4]) - 128;
                        sumi += c * i32::from(a.quants[256 * b + v]);
                    }
                    let d = half::f16::from_bits(t.d[s][r]).to_f32();
                    *o += d * a.scales[blk] * sumi as f32;
                }
            }
        }
        out
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx512<const R: usize>(
        tiles: &[TileQ8_0],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees AVX-512 VNNI (the trait's contract).
        unsafe { super::q8_0_avx512::dot_tile::<R>(tiles, acts) }
    }

    #[cfg(any(target_arch = "aarch64", test, edgeplane_neon_emulated))]
    unsafe fn dot_neon<const R: usize>(
        tiles: &[TileQ8_0],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees FEAT_DotProd (the trait's contract).
        unsafe { super::neon::dot_q8_0::<R>(tiles, acts) }
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_vnni256<const R: usize>(
        tiles: &[TileQ8_0],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        super::vnni256::dispatch!(dot_q8_0, tiles, acts)
    }

    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2<const R: usize>(
        tiles: &[TileQ8_0],
        acts: [&ActivationRow; R],
    ) -> [[f32; TILE_ROWS]; R] {
        // SAFETY: the caller guarantees AVX2, FMA and F16C (the trait's contract).
        unsafe { super::avx2::dot_q8_0::<R>(tiles, acts) }
    }
}
