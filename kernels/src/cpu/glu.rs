//! Gated linear units, fused: one pass reads gate and up and writes the product.

/// `silu(gate) · up`.
pub fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = g / (1.0 + (-g).exp()) * u;
    }
}

/// `gelu(gate) · up`, gelu by its tanh approximation.
pub fn geglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        let inner = SQRT_2_OVER_PI * g * (1.0 + 0.044_715 * g * g);
        *o = 0.5 * g * (1.0 + inner.tanh()) * u;
    }
}

/// Softmax of `x · scale` for one row.
pub fn softmax_row(x: &[f32], scale: f32, out: &mut [f32]) {
    let m = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v * scale));
    let mut sum = 0.0f32;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (v * scale - m).exp();
        sum += *o;
    }
    let inv = 1.0 / sum;
    out.iter_mut().for_each(|o| *o *= inv);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let mut o = [0.0; 2];
        swiglu(&[0.0, 2.0], &[5.0, 3.0], &mut o);
        assert_eq!(o[0], 0.0);
        assert!((o[1] - 2.0 / (1.0 + (-2f32).exp()) * 3.0).abs() < 1e-6);
        geglu(&[1.0, -3.0], &[1.0, 1.0], &mut o);
        assert!((o[0] - 0.841_192).abs() < 1e-4, "{}", o[0]);
        assert!(o[1].abs() < 0.01);
        let mut s = [0.0; 3];
        softmax_row(&[1.0, 2.0, 3.0], 2.0, &mut s);
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((s[2] / s[1] - 2f32.exp()).abs() < 1e-4);
    }
}
