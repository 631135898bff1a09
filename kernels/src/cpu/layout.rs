//! Byte offsets and small unpacking helpers of the ggml block formats that the dot kernels
//! read directly. Offsets are ggml's `block_*` struct layouts; every SIMD file and the
//! scalar spec share these so a format's geometry is written once.

/// Reads a little-endian f16 at `bytes[0..2]` as f32.
#[inline(always)]
pub fn f16_at(bytes: &[u8]) -> f32 {
    half::f16::from_le_bytes([bytes[0], bytes[1]]).to_f32()
}

/// Q4_0: `d: f16`, then 16 bytes of nibbles (low nibble = value `i`, high = value `i+16`).
pub mod q4_0 {
    /// Bytes per block.
    pub const BYTES: usize = 18;
    /// Offset of the quants.
    pub const QS: usize = 2;
}

/// Q8_0: `d: f16`, then 32 signed bytes.
pub mod q8_0 {
    /// Bytes per block.
    pub const BYTES: usize = 34;
    /// Offset of the quants.
    pub const QS: usize = 2;
}

/// Q4_K: `d: f16, dmin: f16, scales: [u8; 12], qs: [u8; 128]` for 256 values.
pub mod q4_k {
    /// Bytes per block.
    pub const BYTES: usize = 144;
    /// Offset of the packed 6-bit scales and mins.
    pub const SCALES: usize = 4;
    /// Offset of the quants.
    pub const QS: usize = 16;

    /// Unpacks the eight 6-bit sub-block scales and eight 6-bit mins (ggml's
    /// `get_scale_min_k4` for every sub-block).
    #[inline(always)]
    pub fn scales_and_mins(s: &[u8]) -> ([u8; 8], [u8; 8]) {
        let mut sc = [0u8; 8];
        let mut mn = [0u8; 8];
        for j in 0..4 {
            sc[j] = s[j] & 63;
            mn[j] = s[j + 4] & 63;
        }
        for j in 4..8 {
            sc[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
            mn[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
        }
        (sc, mn)
    }
}

/// Q6_K: `ql: [u8; 128], qh: [u8; 64], scales: [i8; 16], d: f16` for 256 values.
pub mod q6_k {
    /// Bytes per block.
    pub const BYTES: usize = 210;
    /// Offset of the high 2-bit planes.
    pub const QH: usize = 128;
    /// Offset of the 16 signed sub-block scales.
    pub const SCALES: usize = 192;
    /// Offset of `d`.
    pub const D: usize = 208;
}
