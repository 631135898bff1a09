//! Gated activations and broadcasting arithmetic.

/// `silu(gate) * up`, `silu(g) = g / (1 + e^-g)`.
pub fn swiglu(gate: &[f32], up: &[f32]) -> Vec<f32> {
    gate.iter()
        .zip(up)
        .map(|(&g, &u)| {
            let g = f64::from(g);
            (g / (1.0 + (-g).exp()) * f64::from(u)) as f32
        })
        .collect()
}

/// `gelu(gate) * up` with the tanh approximation ggml uses:
/// `0.5·g·(1 + tanh(√(2/π)·(g + 0.044715·g³)))`.
pub fn geglu(gate: &[f32], up: &[f32]) -> Vec<f32> {
    let sqrt_2_over_pi = (2.0 / std::f64::consts::PI).sqrt();
    gate.iter()
        .zip(up)
        .map(|(&g, &u)| {
            let g = f64::from(g);
            let gelu = 0.5 * g * (1.0 + (sqrt_2_over_pi * (g + 0.044715 * g * g * g)).tanh());
            (gelu * f64::from(u)) as f32
        })
        .collect()
}

/// Applies `f` to `a` and `b`, where `b` has `a`'s length or is one row broadcast over
/// `a`'s rows (the graph checked that its length divides `a`'s).
fn broadcast(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> Vec<f32> {
    if b.is_empty() {
        return a.to_vec();
    }
    a.iter()
        .enumerate()
        .map(|(i, &x)| f(x, b[i % b.len()]))
        .collect()
}

/// `a + b`, `b` the same shape or one row broadcast over rows.
pub fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    broadcast(a, b, |x, y| x + y)
}

/// `a * b`, broadcast as [`add`].
pub fn mul(a: &[f32], b: &[f32]) -> Vec<f32> {
    broadcast(a, b, |x, y| x * y)
}
