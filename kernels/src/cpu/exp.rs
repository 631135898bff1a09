//! A branch-free `exp` for softmax weights that the compiler can vectorize (libm's `expf`
//! is a call per value). Range reduction to `r ∈ [-ln2/2, ln2/2]`, a degree-6 Taylor
//! polynomial (relative error < 2e-7), and the power of two built in the exponent bits.

/// `e^x` for `x ≤ 0` up to float rounding (softmax arguments are `score - max`); inputs
/// below -87 give 0, never NaN or denormal garbage.
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding and subtracting 1.5·2^23 rounds to the nearest integer without a round
    // instruction (SSE2-vectorizable).
    const ROUND: f32 = 12_582_912.0;
    let x = x.max(-87.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_libm_over_the_softmax_range() {
        let mut worst = 0.0f32;
        for i in 0..=20_000 {
            let x = -(i as f32) * 0.0043;
            let want = x.exp();
            let got = exp_nonpositive(x);
            worst = worst.max((got - want).abs() / want.max(f32::MIN_POSITIVE));
        }
        assert!(worst < 5e-7, "worst relative error {worst}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert!(exp_nonpositive(-1000.0) < 1e-37);
        assert!(exp_nonpositive(f32::NEG_INFINITY) >= 0.0);
    }
}
