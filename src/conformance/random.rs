//! Seeded random inputs: a tiny PRNG (splitmix64) so cases are identical on every machine
//! and need no dependency, and weight generation for every weight dtype.

use crate::DType;
use edgeplane_kernels::quant::{quantize, QuantError};

/// splitmix64: small, fast, and good enough for test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from a case name (FNV-1a), so a case's inputs depend only on it.
    pub fn for_case(name: &str) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * unit
    }

    /// `len` values uniform in `[-scale, scale)`.
    pub fn values(&mut self, len: usize, scale: f32) -> Vec<f32> {
        (0..len).map(|_| self.uniform(-scale, scale)).collect()
    }

    /// Uniform integer in `0..bound` (`bound > 0`).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
}

/// `rows × cols` weights in `dtype`: random f32 in [-1, 1) quantized with the reference
/// quantizer where the dtype has one, else random valid blocks (random quant bits and
/// finite, small f16 scales), which is what the K-quants without a quantizer get.
pub fn weights(rng: &mut Rng, dtype: DType, rows: usize, cols: usize) -> Vec<u8> {
    let values = rng.values(rows * cols, 1.0);
    match quantize(dtype, &values) {
        Ok(bytes) => bytes,
        Err(QuantError::Unsupported { .. }) | Err(QuantError::Length { .. }) => {
            random_blocks(rng, dtype, rows * cols)
        }
    }
}

/// Random valid blocks for `elements` values of a quantized `dtype`.
fn random_blocks(rng: &mut Rng, dtype: DType, elements: usize) -> Vec<u8> {
    let blocks = elements / dtype.block_size();
    let block_bytes = dtype.block_bytes();
    let mut out: Vec<u8> = (0..blocks * block_bytes)
        .map(|_| (rng.next_u64() & 0xff) as u8)
        .collect();
    for block in out.chunks_exact_mut(block_bytes) {
        for (field, &offset) in dtype.f16_fields().iter().enumerate() {
            // The scale (first field) is positive; a min may be small either way.
            let value = if field == 0 {
                rng.uniform(0.005, 0.05)
            } else {
                rng.uniform(-0.05, 0.05)
            };
            block[offset..offset + 2].copy_from_slice(&half::f16::from_f32(value).to_le_bytes());
        }
    }
    out
}
