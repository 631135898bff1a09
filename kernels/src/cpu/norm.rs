//! Row normalisations, each one pass to gather statistics and one fused pass to write
//! `normalised · weight (+ bias)`. Sums use eight fixed partial sums (vectorisable and
//! deterministic).

/// Σ f(x) with eight interleaved partial sums combined in a fixed order.
fn sum8(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for l in 0..8 {
            acc[l] += f(c[l]);
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
    acc.iter().sum::<f32>() + tail
}

/// `y = x / sqrt(mean(x²) + eps) · w` for one row.
pub fn rms_norm_row(x: &[f32], w: &[f32], eps: f32, y: &mut [f32]) {
    let mean_square = sum8(x, |v| v * v) / x.len() as f32;
    let inv = 1.0 / (mean_square + eps).sqrt();
    for ((o, &v), &g) in y.iter_mut().zip(x).zip(w) {
        *o = v * inv * g;
    }
}

/// `y = (x - mean) / sqrt(var + eps) · w + b` for one row.
pub fn layer_norm_row(x: &[f32], w: &[f32], b: &[f32], eps: f32, y: &mut [f32]) {
    let n = x.len() as f32;
    let mean = sum8(x, |v| v) / n;
    let var = sum8(x, |v| (v - mean) * (v - mean)) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for (((o, &v), &g), &c) in y.iter_mut().zip(x).zip(w).zip(b) {
        *o = (v - mean) * inv * g + c;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_norm_of_a_constant_row_is_the_weight() {
        let x = vec![3.0f32; 20];
        let w: Vec<f32> = (0..20).map(|i| i as f32).collect();
        let mut y = vec![0.0; 20];
        rms_norm_row(&x, &w, 0.0, &mut y);
        for (a, b) in y.iter().zip(&w) {
            assert!((a - b).abs() < 1e-5);
        }
        let x: Vec<f32> = (0..20).map(|i| i as f32).collect();
        let ones = vec![1.0; 20];
        let zeros = vec![0.0; 20];
        layer_norm_row(&x, &ones, &zeros, 0.0, &mut y);
        let mean: f32 = y.iter().sum::<f32>() / 20.0;
        let var: f32 = y.iter().map(|v| v * v).sum::<f32>() / 20.0;
        assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4);
    }
}
