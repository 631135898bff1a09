//! Picking the next token from logits: greedy at temperature 0, otherwise a draw from the
//! softmax at that temperature with a seeded generator, so runs are reproducible.

/// A seeded sampler.
#[derive(Clone, Debug)]
pub struct Sampler {
    temperature: f32,
    state: u64,
}

impl Sampler {
    /// `temperature <= 0` (or not finite) means greedy.
    pub fn new(temperature: f32, seed: u64) -> Self {
        Sampler {
            temperature,
            state: seed,
        }
    }

    /// splitmix64: small, fast, and good enough to pick tokens.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `[0, 1)`.
    fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The id of the next token. Logits that are NaN are never picked.
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return argmax(logits);
        }
        let max = logits
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .fold(f32::NEG_INFINITY, f32::max);
        let weights: Vec<f64> = logits
            .iter()
            .map(|&v| {
                if v.is_nan() {
                    0.0
                } else {
                    (((v - max) / self.temperature) as f64).exp()
                }
            })
            .collect();
        let total: f64 = weights.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            return argmax(logits);
        }
        let mut target = self.next_unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if target < *w {
                return i as u32;
            }
            target -= w;
        }
        argmax(logits)
    }
}

/// Index of the largest value (the first one on ties), ignoring NaN.
pub fn argmax(values: &[f32]) -> u32 {
    let mut best = 0;
    let mut best_value = f32::NEG_INFINITY;
    for (i, &v) in values.iter().enumerate() {
        if v > best_value {
            best = i;
            best_value = v;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_picks_the_first_maximum() {
        let mut s = Sampler::new(0.0, 1);
        assert_eq!(s.sample(&[0.1, 3.0, f32::NAN, 3.0]), 1);
    }

    #[test]
    fn temperature_draws_follow_the_softmax_and_the_seed() {
        let logits = [0.0f32, (3.0f32).ln()];
        let mut s = Sampler::new(1.0, 42);
        let draws: Vec<u32> = (0..4000).map(|_| s.sample(&logits)).collect();
        let ones = draws.iter().filter(|&&d| d == 1).count() as f64 / 4000.0;
        assert!((ones - 0.75).abs() < 0.03, "P(1) = {ones}, want 0.75");
        let mut again = Sampler::new(1.0, 42);
        let repeat: Vec<u32> = (0..4000).map(|_| again.sample(&logits)).collect();
        assert_eq!(draws, repeat);
    }
}
