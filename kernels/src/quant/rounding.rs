//! The integer rounding helpers ggml's reference quantizers use, reproduced bit for bit so
//! our quantized bytes equal ggml's.

/// ggml's `nearest_int`: adds 1.5 * 2^23 so the float's low mantissa bits hold the rounded
/// integer (round half to even). Valid for |x| <= 4194303, like ggml's; outside that range
/// the result is as meaningless as ggml's, but never panics.
#[inline]
pub(crate) fn nearest_int(x: f32) -> i32 {
    let shifted = x + 12_582_912.0;
    (shifted.to_bits() & 0x007f_ffff) as i32 - 0x0040_0000
}

/// C's `roundf`: half away from zero (Rust's `f32::round` is the same rule).
#[inline]
pub(crate) fn round_half_away(x: f32) -> f32 {
    x.round()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_int_rounds_half_to_even() {
        assert_eq!(nearest_int(0.5), 0);
        assert_eq!(nearest_int(1.5), 2);
        assert_eq!(nearest_int(2.5), 2);
        assert_eq!(nearest_int(-0.5), 0);
        assert_eq!(nearest_int(-1.5), -2);
        assert_eq!(nearest_int(-3.7), -4);
        assert_eq!(nearest_int(31.49), 31);
    }

    #[test]
    fn roundf_is_half_away() {
        assert_eq!(round_half_away(2.5), 3.0);
        assert_eq!(round_half_away(-2.5), -3.0);
        assert_eq!(round_half_away(0.49), 0.0);
    }
}
