//! Rotary position embedding with ggml's conventions: pair `i` of the first `n_dims` dims of
//! each head turns by `θ = p · freq_scale · freq_base^(-2i/n_dims)`; "normal" pairs dims
//! `(2i, 2i+1)`, "neox" pairs `(i, i + n_dims/2)`; dims past `n_dims` pass through.

use crate::op::RopeMode;

/// The rope op's parameters.
#[derive(Clone, Copy, Debug)]
pub struct RopeParams {
    /// Pair layout.
    pub mode: RopeMode,
    /// Dims per head.
    pub head_dim: usize,
    /// Rotated dims per head.
    pub n_dims: usize,
    /// θ base.
    pub freq_base: f32,
    /// Linear position scaling.
    pub freq_scale: f32,
}

/// Rotates every head of every row of `x [n, heads*head_dim]` by its row's position.
/// Angles and products are computed in f64 (any position is valid: rope has no table).
pub fn rope(p: &RopeParams, x: &[f32], positions: &[i32]) -> Vec<f32> {
    let mut y = x.to_vec();
    let width = if positions.is_empty() {
        0
    } else {
        x.len() / positions.len()
    };
    let half = p.n_dims / 2;
    for (row, &pos) in positions.iter().enumerate() {
        for head in (0..width).step_by(p.head_dim.max(1)) {
            let base = row * width + head;
            for i in 0..half {
                let exponent = -2.0 * i as f64 / p.n_dims as f64;
                let theta = f64::from(pos)
                    * f64::from(p.freq_scale)
                    * f64::from(p.freq_base).powf(exponent);
                let (a, b) = match p.mode {
                    RopeMode::Normal => (base + 2 * i, base + 2 * i + 1),
                    RopeMode::Neox => (base + i, base + i + half),
                };
                let (x0, x1) = (f64::from(x[a]), f64::from(x[b]));
                let (sin, cos) = theta.sin_cos();
                y[a] = (x0 * cos - x1 * sin) as f32;
                y[b] = (x0 * sin + x1 * cos) as f32;
            }
        }
    }
    y
}
