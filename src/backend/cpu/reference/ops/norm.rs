//! Row-wise normalizations: RMSNorm, LayerNorm and softmax, with f64 statistics.

/// `x / sqrt(mean(x²) + eps) * w` per row of `x [n, d]`, `d = w.len()`.
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let d = w.len();
    let mut y = vec![0.0f32; x.len()];
    for (x_row, y_row) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
        let mean_square = x_row.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / d as f64;
        let inv = 1.0 / (mean_square + f64::from(eps)).sqrt();
        for ((o, &v), &g) in y_row.iter_mut().zip(x_row).zip(w) {
            *o = (f64::from(v) * inv * f64::from(g)) as f32;
        }
    }
    y
}

/// `(x - mean) / sqrt(var + eps) * w + b` per row, the population variance.
pub fn layer_norm(x: &[f32], w: &[f32], b: &[f32], eps: f32) -> Vec<f32> {
    let d = w.len();
    let mut y = vec![0.0f32; x.len()];
    for (x_row, y_row) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
        let mean = x_row.iter().map(|&v| f64::from(v)).sum::<f64>() / d as f64;
        let var = x_row
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / d as f64;
        let inv = 1.0 / (var + f64::from(eps)).sqrt();
        for (i, o) in y_row.iter_mut().enumerate() {
            let normed = (f64::from(x_row[i]) - mean) * inv;
            *o = (normed * f64::from(w[i]) + f64::from(b[i])) as f32;
        }
    }
    y
}

/// Softmax of `x * scale` over each row of `d` values, max-subtracted for range.
pub fn softmax(x: &[f32], d: usize, scale: f32) -> Vec<f32> {
    let mut y = vec![0.0f32; x.len()];
    if d == 0 {
        return y;
    }
    for (x_row, y_row) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
        let scaled: Vec<f64> = x_row
            .iter()
            .map(|&v| f64::from(v) * f64::from(scale))
            .collect();
        let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = scaled.iter().map(|&s| (s - max).exp()).collect();
        let total: f64 = exps.iter().sum();
        for (o, e) in y_row.iter_mut().zip(&exps) {
            *o = (e / total) as f32;
        }
    }
    y
}
