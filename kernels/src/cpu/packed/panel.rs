//! A panel: a few weight rows unpacked into the layout the packed kernels load directly.

use super::unpack::Unpack;
use super::TILE_ROWS;
use crate::cpu::matmul::WeightMatrix;
use crate::quant::{
    BlockQ2K, BlockQ3K, BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0, BlockQ5_1, BlockQ6K,
    BlockQ8_0, QuantError,
};
use crate::DType;
use std::ops::Range;

/// The two shapes a format unpacks to (see [`super::unpack`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// 256-value super-blocks with integer scales per 16 values (Q2_K…Q6_K), against
    /// 256-blocks of activations.
    K,
    /// 32-value blocks with one float scale (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), against
    /// 32-blocks of activations.
    Block32,
}

impl Family {
    /// The family of a quantized weight dtype; `None` for float and activation-only types.
    pub fn of(dtype: DType) -> Option<Family> {
        match dtype {
            DType::Q2K | DType::Q3K | DType::Q4K | DType::Q5K | DType::Q6K => Some(Family::K),
            DType::Q4_0 | DType::Q4_1 | DType::Q5_0 | DType::Q5_1 | DType::Q8_0 => {
                Some(Family::Block32)
            }
            _ => None,
        }
    }

    /// Values per weight block.
    pub fn block(self) -> usize {
        match self {
            Family::K => 256,
            Family::Block32 => 32,
        }
    }

    /// Values per offset group (and per activation group sum).
    pub fn group(self) -> usize {
        match self {
            Family::K => 16,
            Family::Block32 => 32,
        }
    }
}

/// Unpacked weight rows. Per row: `k` codes; for [`Family::K`] one i16 scale per pair of
/// values (the lane `maddubs` produces) and one `d` per 256 values; for [`Family::Block32`]
/// one `d` per four values (the lane `vpdpbusd` produces); and one offset per group. Rows
/// past the filled ones are zero, so a micro-tile may run over them and get zeros.
#[derive(Clone, Debug)]
pub struct Panel {
    family: Family,
    dtype: DType,
    k: usize,
    rows: usize,
    codes: Vec<u8>,
    pair_scales: Vec<i16>,
    d: Vec<f32>,
    offsets: Vec<f32>,
}

impl Panel {
    /// An empty panel for up to `capacity` rows of `k` values.
    pub fn new(family: Family, k: usize, capacity: usize) -> Panel {
        let cap = capacity.next_multiple_of(TILE_ROWS);
        let pair_scales = match family {
            Family::K => vec![0; cap * k / 2],
            Family::Block32 => Vec::new(),
        };
        Panel {
            family,
            dtype: DType::F32,
            k,
            rows: 0,
            codes: vec![0; cap * k],
            pair_scales,
            d: vec![0.0; cap * Self::d_per_row(family, k)],
            offsets: vec![0.0; cap * k / family.group()],
        }
    }

    fn d_per_row(family: Family, k: usize) -> usize {
        match family {
            Family::K => k / 256,
            Family::Block32 => k / 4,
        }
    }

    /// Unpacks weight rows `range` of `w` into rows `0..`, zeroing the rest of the last
    /// micro-tile. `w.k` must equal the panel's `k`.
    pub fn fill(&mut self, w: &WeightMatrix, range: Range<usize>) -> Result<(), QuantError> {
        let filled = range.len();
        self.dtype = w.dtype;
        self.rows = filled.next_multiple_of(TILE_ROWS);
        assert!(
            self.rows * self.k <= self.codes.len() && w.k == self.k,
            "panel sized for the matmul"
        );
        for (i, r) in range.enumerate() {
            self.fill_row(w.dtype, w.row(r), i)?;
        }
        for i in filled..self.rows {
            self.zero_row(i);
        }
        Ok(())
    }

    fn fill_row(&mut self, dtype: DType, bytes: &[u8], i: usize) -> Result<(), QuantError> {
        match dtype {
            DType::Q4_0 => self.fill_blocks::<BlockQ4_0>(bytes, i),
            DType::Q4_1 => self.fill_blocks::<BlockQ4_1>(bytes, i),
            DType::Q5_0 => self.fill_blocks::<BlockQ5_0>(bytes, i),
            DType::Q5_1 => self.fill_blocks::<BlockQ5_1>(bytes, i),
            DType::Q8_0 => self.fill_blocks::<BlockQ8_0>(bytes, i),
            DType::Q2K => self.fill_blocks::<BlockQ2K>(bytes, i),
            DType::Q3K => self.fill_blocks::<BlockQ3K>(bytes, i),
            DType::Q4K => self.fill_blocks::<BlockQ4K>(bytes, i),
            DType::Q5K => self.fill_blocks::<BlockQ5K>(bytes, i),
            DType::Q6K => self.fill_blocks::<BlockQ6K>(bytes, i),
            _ => Err(QuantError::Unsupported {
                dtype,
                direction: "unpack",
            }),
        }
    }

    fn fill_blocks<B: Unpack>(&mut self, bytes: &[u8], i: usize) -> Result<(), QuantError> {
        let (k, n) = (self.k, B::BLOCK_SIZE);
        let size = std::mem::size_of::<B>();
        if bytes.len() != k / n * size {
            return Err(QuantError::Length {
                dtype: B::DTYPE,
                elements: k,
                bytes: bytes.len(),
            });
        }
        let group = self.family.group();
        let d_row = Self::d_per_row(self.family, k);
        let mut scales16 = [0i16; 16];
        for (b, raw) in bytes.chunks_exact(size).enumerate() {
            let block: B = bytemuck::pod_read_unaligned(raw);
            let v0 = b * n;
            let codes = &mut self.codes[i * k + v0..i * k + v0 + n];
            let offsets = &mut self.offsets[(i * k + v0) / group..(i * k + v0 + n) / group];
            let d = block.unpack(codes, &mut scales16[..n / 16], offsets);
            match self.family {
                Family::K => {
                    self.d[i * d_row + b] = d;
                    let pairs = &mut self.pair_scales[(i * k + v0) / 2..(i * k + v0 + n) / 2];
                    for (p, s) in pairs.iter_mut().enumerate() {
                        *s = scales16[p / 8];
                    }
                }
                Family::Block32 => {
                    self.d[i * d_row + v0 / 4..i * d_row + (v0 + n) / 4].fill(d);
                }
            }
        }
        Ok(())
    }

    fn zero_row(&mut self, i: usize) {
        let k = self.k;
        self.codes[i * k..(i + 1) * k].fill(0);
        if self.family == Family::K {
            self.pair_scales[i * k / 2..(i + 1) * k / 2].fill(0);
        }
        let d_row = Self::d_per_row(self.family, k);
        self.d[i * d_row..(i + 1) * d_row].fill(0.0);
        let g = k / self.family.group();
        self.offsets[i * g..(i + 1) * g].fill(0.0);
    }

    /// The dtype of the rows last filled in.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Values per row.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Rows in use, a multiple of [`TILE_ROWS`].
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Row `i`'s codes.
    pub fn codes(&self, i: usize) -> &[u8] {
        &self.codes[i * self.k..(i + 1) * self.k]
    }

    /// Row `i`'s per-pair scales ([`Family::K`]; empty for 32-blocks).
    pub fn pair_scales(&self, i: usize) -> &[i16] {
        if self.family == Family::K {
            &self.pair_scales[i * self.k / 2..(i + 1) * self.k / 2]
        } else {
            &[]
        }
    }

    /// Row `i`'s `d`: per 256 values ([`Family::K`]) or per 4 values ([`Family::Block32`]).
    pub fn d(&self, i: usize) -> &[f32] {
        let n = Self::d_per_row(self.family, self.k);
        &self.d[i * n..(i + 1) * n]
    }

    /// Row `i`'s offsets, one per group.
    pub fn offsets(&self, i: usize) -> &[f32] {
        let g = self.k / self.family.group();
        &self.offsets[i * g..(i + 1) * g]
    }
}
