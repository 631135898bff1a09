//! `Attention` on the fast backend. Work is split into tasks of (query row, KV head, chunk
//! of keys); each task reads its K/V rows once for all query heads of its GQA group. Chunk
//! boundaries depend only on the shape and partial results merge in chunk order, so the
//! output is the same for any thread count and schedule.

use super::value::zeroed;
use crate::error::{Error, Result};
use edgeplane_kernels::cpu::{attend_group, AttentionParams, KvCache, Partial, Simd};
use rayon::prelude::*;

/// Keys per task: long caches are split so decode (one query row) still feeds every thread.
const KV_CHUNK: usize = 256;

/// Output `[n, n_head*head_dim]` of attention for queries `q` at `positions` over caches
/// `k`, `v` of `capacity` rows.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    out: Vec<f32>,
    simd: Simd,
    p: &AttentionParams,
    causal: bool,
    q: &[f32],
    k: KvCache,
    v: KvCache,
    capacity: usize,
    positions: &[i32],
) -> Result<Vec<f32>> {
    let n = positions.len();
    let mut valid = 0usize;
    for &pos in positions {
        if pos < 0 || pos as usize >= capacity {
            return Err(Error::InvalidInput(format!(
                "attention position {pos} outside the KV cache of {capacity} rows"
            )));
        }
        valid = valid.max(pos as usize + 1);
    }
    let group_width = p.group() * p.head_dim;
    let width = p.n_head * p.head_dim;
    let chunks_per_row = valid.div_ceil(KV_CHUNK);
    let tasks = n * p.n_kv_head * chunks_per_row;
    let partials: Vec<Partial> = (0..tasks)
        .into_par_iter()
        .map(|t| {
            let c = t % chunks_per_row;
            let g = (t / chunks_per_row) % p.n_kv_head;
            let i = t / chunks_per_row / p.n_kv_head;
            let end_key = if causal {
                positions[i] as usize + 1
            } else {
                valid
            };
            let keys = (c * KV_CHUNK).min(end_key)..((c + 1) * KV_CHUNK).min(end_key);
            let qs = &q[i * width + g * group_width..i * width + (g + 1) * group_width];
            attend_group(simd, p, qs, k, v, g, keys)
        })
        .collect();
    let mut out = zeroed(out, n * width);
    out.par_chunks_mut(group_width)
        .zip(partials.par_chunks(chunks_per_row))
        .for_each(|(o, parts)| Partial::merge(parts, p.head_dim, o));
    Ok(out)
}
