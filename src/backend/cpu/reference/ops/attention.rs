//! Scaled dot-product attention of a query block over a KV cache, one head at a time, in f64.

use super::checked_index;
use crate::error::Result;

/// The attention op's parameters plus the cache capacity.
#[derive(Clone, Copy, Debug)]
pub struct AttentionParams {
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads (divides `n_head`).
    pub n_kv_head: usize,
    /// Dims per head.
    pub head_dim: usize,
    /// Multiplies `q·k`.
    pub scale: f32,
    /// Whether query `i` sees only keys `j <= positions[i]`.
    pub causal: bool,
    /// `softcap * tanh(score / softcap)` before softmax, if set.
    pub softcap: Option<f32>,
    /// Rows of the cache.
    pub capacity: usize,
}

/// `q [n, n_head*head_dim]` over caches `k`, `v` `[capacity, n_kv_head*head_dim]` (already
/// f32). Keys `0 ..= max(positions)` are valid. A position outside `0..capacity` is
/// `InvalidInput`: the cache has no such row.
pub fn attention(
    p: &AttentionParams,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    positions: &[i32],
) -> Result<Vec<f32>> {
    let n = positions.len();
    let mut query_pos = Vec::with_capacity(n);
    for &pos in positions {
        query_pos.push(checked_index(pos, p.capacity, "attention position")?);
    }
    let valid_keys = query_pos.iter().max().map_or(0, |&m| m + 1);
    let q_width = p.n_head * p.head_dim;
    let kv_width = p.n_kv_head * p.head_dim;
    let group = p.n_head / p.n_kv_head;
    let mut out = vec![0.0f32; n * q_width];
    let mut scores = vec![0.0f64; valid_keys];
    for (i, &pos) in query_pos.iter().enumerate() {
        let seen = if p.causal { pos + 1 } else { valid_keys };
        for h in 0..p.n_head {
            let kv_h = h / group;
            let q_row = &q[i * q_width + h * p.head_dim..][..p.head_dim];
            for (j, s) in scores[..seen].iter_mut().enumerate() {
                let k_row = &k[j * kv_width + kv_h * p.head_dim..][..p.head_dim];
                let dot: f64 = q_row
                    .iter()
                    .zip(k_row)
                    .map(|(a, b)| f64::from(*a) * f64::from(*b))
                    .sum();
                let mut score = dot * f64::from(p.scale);
                if let Some(cap) = p.softcap {
                    let cap = f64::from(cap);
                    score = cap * (score / cap).tanh();
                }
                *s = score;
            }
            let max = scores[..seen]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            let mut total = 0.0f64;
            for s in &mut scores[..seen] {
                *s = (*s - max).exp();
                total += *s;
            }
            let out_row = &mut out[i * q_width + h * p.head_dim..][..p.head_dim];
            for (d, o) in out_row.iter_mut().enumerate() {
                let mut acc = 0.0f64;
                for (j, s) in scores[..seen].iter().enumerate() {
                    acc += s * f64::from(v[j * kv_width + kv_h * p.head_dim + d]);
                }
                *o = (acc / total) as f32;
            }
        }
    }
    Ok(out)
}
