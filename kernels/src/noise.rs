//! Deterministic pseudo-random data for tests and benches: the same seed gives the same
//! values on every machine, so failures reproduce and benches compare like with like.

/// `n` values in `[-1, 1)` from an xorshift64 generator seeded by `seed`.
pub fn noise(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
