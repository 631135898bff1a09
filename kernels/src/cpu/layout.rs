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

/// Q4_1: `d: f16, m: f16`, then Q4_0's nibbles; value `d · q + m`.
pub mod q4_1 {
    /// Bytes per block.
    pub const BYTES: usize = 20;
    /// Offset of `m`.
    pub const M: usize = 2;
    /// Offset of the quants.
    pub const QS: usize = 4;
}

/// Q5_0: `d: f16, qh: [u8; 4]`, then Q4_0's nibbles; bit `i` of `qh` (little-endian u32) is
/// value `i`'s fifth bit; value `d · (q − 16)`.
pub mod q5_0 {
    /// Bytes per block.
    pub const BYTES: usize = 22;
    /// Offset of the fifth bits.
    pub const QH: usize = 2;
    /// Offset of the quants.
    pub const QS: usize = 6;
}

/// Q5_1: `d: f16, m: f16, qh: [u8; 4]`, then the nibbles; value `d · q + m`.
pub mod q5_1 {
    /// Bytes per block.
    pub const BYTES: usize = 24;
    /// Offset of `m`.
    pub const M: usize = 2;
    /// Offset of the fifth bits.
    pub const QH: usize = 4;
    /// Offset of the quants.
    pub const QS: usize = 8;
}

/// Reads the little-endian u16 at `bytes[at..at + 2]` (an f16's bits).
#[inline(always)]
pub fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

/// Reads the little-endian u32 at `bytes[at..at + 4]` (Q5_0/Q5_1's `qh`).
#[inline(always)]
pub fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Q5_0/Q5_1's fifth code bits as bytes: `0x10` at value `i` where bit `i` of `qh` is set.
#[inline(always)]
pub fn fifth_bits(qh: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (((qh >> i) & 1) as u8) << 4;
    }
    out
}

/// The 32 codes of a Q4_0-style block: low nibbles of `qs` for values 0–15, high nibbles
/// for 16–31, each with its fifth bit from `qh` ([`fifth_bits`]) when given.
#[inline(always)]
pub fn block32_codes(qs: &[u8], qh: Option<u32>) -> [u8; 32] {
    let fifth = qh.map_or([0; 32], fifth_bits);
    let mut out = [0u8; 32];
    for j in 0..16 {
        out[j] = (qs[j] & 0xF) | fifth[j];
        out[j + 16] = (qs[j] >> 4) | fifth[j + 16];
    }
    out
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
    /// `get_scale_min_k4` for every sub-block) with word-wide masks instead of sixteen
    /// byte lookups: the decode kernels call this once per 256 weights.
    #[inline(always)]
    pub fn scales_and_mins(s: &[u8]) -> ([u8; 8], [u8; 8]) {
        const LOW6: u32 = 0x3f3f_3f3f;
        const LOW4: u32 = 0x0f0f_0f0f;
        const LOW2: u32 = 0x0303_0303;
        let word = |i: usize| super::u32_at(s, 4 * i);
        let (w0, w1, w2) = (word(0), word(1), word(2));
        // Scales 0–3 and mins 0–3 are the low six bits of bytes 0–3 and 4–7; scales 4–7 and
        // mins 4–7 take the low / high nibbles of bytes 8–11 plus the top two bits of bytes
        // 0–3 / 4–7.
        let sc_lo = w0 & LOW6;
        let sc_hi = (w2 & LOW4) | (((w0 >> 6) & LOW2) << 4);
        let mn_lo = w1 & LOW6;
        let mn_hi = ((w2 >> 4) & LOW4) | (((w1 >> 6) & LOW2) << 4);
        let join = |lo: u32, hi: u32| {
            let mut out = [0u8; 8];
            out[..4].copy_from_slice(&lo.to_le_bytes());
            out[4..].copy_from_slice(&hi.to_le_bytes());
            out
        };
        (join(sc_lo, sc_hi), join(mn_lo, mn_hi))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn word_unpack_equals_the_byte_definition() {
            let mut seed = 0x1234_5678u32;
            for _ in 0..1000 {
                let mut s = [0u8; 12];
                for b in &mut s {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    *b = (seed >> 24) as u8;
                }
                let (sc, mn) = super::scales_and_mins(&s);
                for j in 0..4 {
                    assert_eq!(sc[j], s[j] & 63);
                    assert_eq!(mn[j], s[j + 4] & 63);
                }
                for j in 4..8 {
                    assert_eq!(sc[j], (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
                    assert_eq!(mn[j], (s[j + 4] >> 4) | ((s[j] >> 6) << 4));
                }
            }
        }
    }
}

/// Q5_K: Q4_K's fields with `qh: [u8; 32]` (the fifth bit of every code) before the
/// quants: `d, dmin: f16, scales: [u8; 12], qh: [u8; 32], qs: [u8; 128]`.
pub mod q5_k {
    /// Bytes per block.
    pub const BYTES: usize = 176;
    /// Offset of the packed 6-bit scales and mins (Q4_K's packing).
    pub const SCALES: usize = 4;
    /// Offset of the fifth bits: bit `2j` of byte `l` belongs to value `64j + l`, bit
    /// `2j + 1` to value `64j + 32 + l`.
    pub const QH: usize = 16;
    /// Offset of the low nibbles (Q4_K's layout).
    pub const QS: usize = 48;
}

/// Q3_K: `hmask: [u8; 32], qs: [u8; 64], scales: [u8; 12], d: f16` for 256 values. Value
/// `128h + 32k + l` has the two low bits `(qs[32h + l] >> 2k) & 3` and the third bit
/// `(hmask[l] >> (4h + k)) & 1`; its code is `low | third << 2` minus 4, scaled by
/// sub-block `(128h + 32k + l) / 16`'s signed 6-bit scale.
pub mod q3_k {
    /// Bytes per block.
    pub const BYTES: usize = 110;
    /// Offset of the third bits.
    pub const HMASK: usize = 0;
    /// Offset of the two low bits.
    pub const QS: usize = 32;
    /// Offset of the packed sub-block scales.
    pub const SCALES: usize = 96;
    /// Offset of `d`.
    pub const D: usize = 108;

    /// The sixteen sub-block scales from their twelve packed bytes, as four words of four
    /// unsigned bytes (the scale plus 32), word-wide: scales `4w..4w + 4` take a nibble of
    /// bytes `0..8` (the low nibbles for the first eight scales, the high ones for the
    /// rest) and two bits of bytes `8..12`. SIMD kernels put the words in a register and
    /// subtract 32 from every byte.
    #[inline(always)]
    pub fn biased_scale_words(s: &[u8]) -> [u32; 4] {
        const LOW4: u32 = 0x0f0f_0f0f;
        const LOW2: u32 = 0x0303_0303;
        let word = |i: usize| super::u32_at(s, 4 * i);
        let (w0, w1, top) = (word(0), word(1), word(2));
        [
            (w0 & LOW4) | ((top & LOW2) << 4),
            (w1 & LOW4) | (((top >> 2) & LOW2) << 4),
            ((w0 >> 4) & LOW4) | (((top >> 4) & LOW2) << 4),
            ((w1 >> 4) & LOW4) | (((top >> 6) & LOW2) << 4),
        ]
    }

    /// The sixteen signed sub-block scales ([`biased_scale_words`] minus 32).
    #[inline(always)]
    pub fn scales(s: &[u8]) -> [i8; 16] {
        let mut out = [0i8; 16];
        for (i, w) in biased_scale_words(s).into_iter().enumerate() {
            for (j, b) in w.to_le_bytes().into_iter().enumerate() {
                out[4 * i + j] = (b as i8).wrapping_sub(32);
            }
        }
        out
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn word_unpack_equals_the_byte_definition() {
            let mut seed = 0x9E37_79B9u32;
            for _ in 0..1000 {
                let mut s = [0u8; 12];
                for b in &mut s {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    *b = (seed >> 24) as u8;
                }
                let got = super::scales(&s);
                for (i, &g) in got.iter().enumerate() {
                    let low = (s[i % 8] >> (4 * (i / 8))) & 0x0f;
                    let high = (s[8 + i % 4] >> (2 * (i / 4))) & 0x03;
                    assert_eq!(g, ((low | (high << 4)) as i8).wrapping_sub(32), "scale {i}");
                }
            }
        }
    }
}

/// Q2_K: `scales: [u8; 16], qs: [u8; 64], d: f16, dmin: f16` for 256 values. Sub-block
/// `i`'s scale is the low nibble of `scales[i]`, its min the high one; value
/// `128h + 32k + l` is `(qs[32h + l] >> 2k) & 3`.
pub mod q2_k {
    /// Bytes per block.
    pub const BYTES: usize = 84;
    /// Offset of the scale/min nibbles.
    pub const SCALES: usize = 0;
    /// Offset of the 2-bit codes.
    pub const QS: usize = 16;
    /// Offset of `d`.
    pub const D: usize = 80;
    /// Offset of `dmin`.
    pub const DMIN: usize = 82;
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
