//! The 12-byte packing of eight 6-bit scales and eight 6-bit mins shared by Q4_K and Q5_K
//! (ggml's `get_scale_min_k4`). Sub-blocks 0..4 keep their six bits whole in bytes 0..8;
//! sub-blocks 4..8 put their low nibbles in bytes 8..12 and their top two bits in the
//! spare high bits of bytes 0..8.

/// Scale and min of sub-block `j` (0..8).
#[inline]
pub(crate) fn scale_min_k4(j: usize, scales: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (scales[j] & 63, scales[j + 4] & 63)
    } else {
        let scale = (scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4);
        let min = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
        (scale, min)
    }
}

/// Inverse of [`scale_min_k4`] for eight 6-bit scales and mins (values above 63 are the
/// caller's bug; they are masked).
pub(crate) fn pack_scale_min_k4(scale: &[u8; 8], min: &[u8; 8]) -> [u8; 12] {
    let mut out = [0u8; 12];
    for j in 0..8 {
        let (ls, lm) = (scale[j] & 63, min[j] & 63);
        if j < 4 {
            out[j] = ls;
            out[j + 4] = lm;
        } else {
            out[j + 4] = (ls & 0x0f) | ((lm & 0x0f) << 4);
            out[j - 4] |= (ls >> 4) << 6;
            out[j] |= (lm >> 4) << 6;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips_every_position() {
        let scale = [0, 63, 17, 32, 63, 1, 48, 33];
        let min = [63, 0, 5, 40, 16, 62, 31, 47];
        let packed = pack_scale_min_k4(&scale, &min);
        for j in 0..8 {
            assert_eq!(
                scale_min_k4(j, &packed),
                (scale[j], min[j]),
                "sub-block {j}"
            );
        }
    }
}
