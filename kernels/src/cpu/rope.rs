//! Rotary position embedding for one row, all heads at once: the angles depend only on the
//! position and pair index, so cos/sin are computed once per row (in f64, then rounded)
//! and applied to every head.

/// Pair layout, mirroring `edgeplane::RopeMode` (this crate does not depend on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopePairs {
    /// `(2i, 2i+1)`.
    Adjacent,
    /// `(i, i + n_dims/2)`.
    HalfSplit,
}

/// RoPE parameters.
#[derive(Clone, Copy, Debug)]
pub struct RopeParams {
    /// Pair layout.
    pub pairs: RopePairs,
    /// Dims per head.
    pub head_dim: usize,
    /// Rotated dims per head.
    pub n_dims: usize,
    /// θ base.
    pub freq_base: f32,
    /// Linear position scale.
    pub freq_scale: f32,
}

/// Rotates `row` (`heads × head_dim`) in place for absolute position `pos`.
pub fn rope_row(p: &RopeParams, pos: i32, row: &mut [f32]) {
    let half = p.n_dims / 2;
    let trig: Vec<(f32, f32)> = (0..half)
        .map(|i| {
            let theta = f64::from(pos)
                * f64::from(p.freq_scale)
                * f64::from(p.freq_base).powf(-2.0 * i as f64 / p.n_dims as f64);
            (theta.cos() as f32, theta.sin() as f32)
        })
        .collect();
    for head in row.chunks_exact_mut(p.head_dim) {
        for (i, &(c, s)) in trig.iter().enumerate() {
            let (a, b) = match p.pairs {
                RopePairs::Adjacent => (2 * i, 2 * i + 1),
                RopePairs::HalfSplit => (i, i + half),
            };
            let (x0, x1) = (head[a], head[b]);
            head[a] = x0 * c - x1 * s;
            head[b] = x0 * s + x1 * c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_zero_is_identity_and_rotation_keeps_norms() {
        let p = RopeParams {
            pairs: RopePairs::HalfSplit,
            head_dim: 8,
            n_dims: 6,
            freq_base: 10000.0,
            freq_scale: 1.0,
        };
        let x: Vec<f32> = (0..16).map(|i| i as f32 - 7.5).collect();
        let mut y = x.clone();
        rope_row(&p, 0, &mut y);
        assert_eq!(x, y);
        rope_row(&p, 5, &mut y);
        assert_eq!(y[6..8], x[6..8], "dims past n_dims pass through");
        let n0 = x[0] * x[0] + x[3] * x[3];
        let n1 = y[0] * y[0] + y[3] * y[3];
        assert!((n0 - n1).abs() < 1e-3);
        assert!((y[0] - (x[0] * 5f32.cos() - x[3] * 5f32.sin())).abs() < 1e-4);
    }
}
