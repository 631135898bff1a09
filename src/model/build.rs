//! Builds the forward pass of a llama-family model as one [`Graph`] for a fixed number of
//! tokens per run: embeddings, then per block RMSNorm → Q/K/V → RoPE → KV cache write →
//! attention → output projection → residual, RMSNorm → SwiGLU FFN → residual, then the
//! final norm and the vocabulary projection. The KV caches are state tensors, so they live
//! in the executable and survive between runs.

use super::config::ModelConfig;
use super::weights::{ModelWeights, Weight};
use crate::error::Result;
use crate::graph::{Graph, TensorId};
use crate::op::Op;
use crate::tensor::TensorDesc;
use crate::DType;

/// Which tokens of a run get logits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Logits {
    /// Every token's: `[n, vocab]`.
    All,
    /// The last token's only: `[1, vocab]`. What generation needs after a prompt, and the
    /// vocabulary projection is a large share of a small model's work (Qwen2.5-0.5B: 136M
    /// of its 494M multiply-adds per token), so a prompt skips it for all other tokens (as
    /// llama.cpp does by default).
    Last,
}

/// The ids a caller needs to run a built graph: inputs in order are `token_ids [n]` i32
/// then `positions [n]` i32; the one output is `logits [n, vocab]` f32 (`[1, vocab]` with
/// [`Logits::Last`]).
#[derive(Clone, Debug)]
pub struct ForwardGraph {
    /// The graph.
    pub graph: Graph,
    /// Tokens per run.
    pub n_tokens: usize,
    /// Per block, the key cache and value cache state tensors `[kv_capacity, kv_width]`.
    pub kv_caches: Vec<(TensorId, TensorId)>,
    /// The logits output.
    pub logits: TensorId,
}

/// Adds `w` as a constant.
fn constant(g: &mut Graph, w: &Weight) -> Result<TensorId> {
    g.constant(w.name.clone(), w.desc.clone(), w.bytes.clone())
}

/// `x · Wᵀ (+ b)`.
fn linear(g: &mut Graph, x: TensorId, (w, b): &(Weight, Option<Weight>)) -> Result<TensorId> {
    let w = constant(g, w)?;
    match b {
        Some(b) => {
            let b = constant(g, b)?;
            g.add(Op::MatMul { has_bias: true }, &[x, w, b])
        }
        None => g.add(Op::MatMul { has_bias: false }, &[x, w]),
    }
}

/// Builds the graph for `n_tokens` tokens per run over KV caches of `kv_capacity` rows of
/// `kv_dtype` (F32 or F16), with `logits` for every token or the last.
pub fn build_forward(
    config: &ModelConfig,
    weights: &ModelWeights,
    n_tokens: usize,
    kv_capacity: usize,
    kv_dtype: DType,
    logits: Logits,
) -> Result<ForwardGraph> {
    let mut g = Graph::new();
    let ids = g.input("token_ids", TensorDesc::new(DType::I32, [n_tokens]))?;
    let positions = g.input("positions", TensorDesc::new(DType::I32, [n_tokens]))?;
    let embd = constant(&mut g, &weights.token_embd)?;
    let mut x = g.add(Op::GetRows, &[embd, ids])?;
    let rms = Op::RmsNorm {
        eps: config.rms_epsilon,
    };
    let rope = Op::Rope {
        mode: config.arch.rope_mode(),
        head_dim: config.head_dim,
        n_dims: config.rope_dims,
        freq_base: config.rope_freq_base,
        freq_scale: config.rope_freq_scale,
    };
    let attention = Op::Attention {
        n_head: config.head_count,
        n_kv_head: config.head_count_kv,
        head_dim: config.head_dim,
        scale: 1.0 / (config.head_dim as f32).sqrt(),
        causal: true,
        softcap: None,
    };
    let mut kv_caches = Vec::with_capacity(weights.layers.len());
    for (i, layer) in weights.layers.iter().enumerate() {
        let cache_desc = TensorDesc::new(kv_dtype, [kv_capacity, config.kv_width()]);
        let k_cache = g.state(format!("blk.{i}.k_cache"), cache_desc.clone())?;
        let v_cache = g.state(format!("blk.{i}.v_cache"), cache_desc)?;
        kv_caches.push((k_cache, v_cache));

        let norm_w = constant(&mut g, &layer.attn_norm)?;
        let h = g.add(rms.clone(), &[x, norm_w])?;
        let q = linear(&mut g, h, &layer.q)?;
        let k = linear(&mut g, h, &layer.k)?;
        let v = linear(&mut g, h, &layer.v)?;
        let q = g.add(rope.clone(), &[q, positions])?;
        let k = g.add(rope.clone(), &[k, positions])?;
        let keys = g.add(Op::KvWrite, &[k_cache, k, positions])?;
        let values = g.add(Op::KvWrite, &[v_cache, v, positions])?;
        let attended = g.add(attention.clone(), &[q, keys, values, positions])?;
        let projected = linear(&mut g, attended, &layer.o)?;
        x = g.add(Op::Add, &[x, projected])?;

        let norm_w = constant(&mut g, &layer.ffn_norm)?;
        let h = g.add(rms.clone(), &[x, norm_w])?;
        let gate = linear(&mut g, h, &layer.gate)?;
        let up = linear(&mut g, h, &layer.up)?;
        let hidden = g.add(Op::SwiGlu, &[gate, up])?;
        let down = linear(&mut g, hidden, &layer.down)?;
        x = g.add(Op::Add, &[x, down])?;
        g.set_name(x, format!("blk.{i}.out"));
    }
    if logits == Logits::Last && n_tokens > 1 {
        // The last row of the blocks' output: the final norm is row-wise, so selecting
        // before it gives that row's logits exactly.
        let last = i32::try_from(n_tokens - 1).map_err(|_| {
            crate::error::Error::InvalidInput(format!("{n_tokens} tokens in one run"))
        })?;
        let last = g.constant(
            "last_token",
            TensorDesc::new(DType::I32, [1]),
            last.to_le_bytes().to_vec().into(),
        )?;
        x = g.add(Op::GetRows, &[x, last])?;
    }
    let norm_w = constant(&mut g, &weights.output_norm)?;
    let x = g.add(rms, &[x, norm_w])?;
    let logits = match &weights.output {
        Some(output) => linear(&mut g, x, output)?,
        None => linear(&mut g, x, &(weights.token_embd.clone(), None))?,
    };
    g.set_name(logits, "logits");
    g.mark_output(logits)?;
    Ok(ForwardGraph {
        graph: g,
        n_tokens,
        kv_caches,
        logits,
    })
}
