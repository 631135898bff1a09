//! The built-in layer: one llama-style decoder layer made in memory, with Q4_0 attention
//! weights and Q4_K feed-forward weights, so the tour, `check`, `bench` and `plan` have a
//! realistic quantized workload without downloading a model.
//!
//! [`LayerConfig::one_b`] is Llama-3.2-1B's geometry (hidden 2048, ffn 8192, 32 query and
//! 8 KV heads of 64, 16 layers); [`LayerConfig::reduced`] keeps the structure at a size the
//! reference backend checks in well under a second.

use super::workload::{values, weight_bytes};
use crate::error::Result;
use crate::graph::{Graph, TensorId};
use crate::op::{Op, RopeMode};
use crate::tensor::{Bytes, HostTensor, TensorDesc};
use crate::DType;

/// Geometry and weight formats of the built-in layer.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LayerConfig {
    /// Model width.
    pub hidden: usize,
    /// Feed-forward width.
    pub ffn: usize,
    /// Query heads.
    pub n_head: usize,
    /// KV heads.
    pub n_kv_head: usize,
    /// KV cache capacity (positions).
    pub context: usize,
    /// Format of the attention projections.
    pub attn_dtype: DType,
    /// Format of the feed-forward projections.
    pub ffn_dtype: DType,
    /// Layers of the model this layer stands for (for the tokens/s estimate).
    pub n_layer: usize,
    /// Vocabulary (the output head, for the tokens/s estimate).
    pub vocab: usize,
}

impl LayerConfig {
    /// Llama-3.2-1B's geometry.
    pub fn one_b() -> Self {
        LayerConfig {
            hidden: 2048,
            ffn: 8192,
            n_head: 32,
            n_kv_head: 8,
            context: 512,
            attn_dtype: DType::Q4_0,
            ffn_dtype: DType::Q4K,
            n_layer: 16,
            vocab: 128256,
        }
    }

    /// The same structure at 1/8 the width: for conformance checks and tests.
    pub fn reduced() -> Self {
        LayerConfig {
            hidden: 256,
            ffn: 1024,
            n_head: 4,
            n_kv_head: 2,
            context: 64,
            ..Self::one_b()
        }
    }

    /// Dims per head.
    pub fn head_dim(&self) -> usize {
        self.hidden / self.n_head
    }

    /// Bytes of weights in one layer.
    pub fn weight_bytes(&self) -> u64 {
        let kv = self.n_kv_head * self.head_dim();
        let b =
            |dt: DType, rows: usize, cols: usize| dt.bytes_for((rows * cols) as u64).unwrap_or(0);
        b(self.attn_dtype, self.hidden, self.hidden) * 2
            + b(self.attn_dtype, kv, self.hidden) * 2
            + b(self.ffn_dtype, self.ffn, self.hidden) * 3
            + 2 * 4 * self.hidden as u64
    }
}

/// A built layer: the graph and the ids a caller needs.
#[derive(Clone, Debug)]
pub struct Layer {
    /// The configuration.
    pub config: LayerConfig,
    /// The graph: inputs `x [n, hidden]`, `positions [n]`; output `[n, hidden]`.
    pub graph: Graph,
    /// The K and V cache state tensors.
    pub caches: [TensorId; 2],
}

fn weight(
    g: &mut Graph,
    name: &str,
    dt: DType,
    rows: usize,
    cols: usize,
    seed: u64,
) -> Result<TensorId> {
    // Spread like a trained layer (~1/sqrt(cols)) so activations stay O(1) through it.
    let bytes = weight_bytes(dt, rows, cols, 1.0 / (cols as f32).sqrt(), seed);
    g.constant(
        name,
        TensorDesc::new(dt, [rows, cols]),
        Bytes::from_vec(bytes),
    )
}

fn norm(g: &mut Graph, name: &str, d: usize, seed: u64) -> Result<TensorId> {
    let v: Vec<f32> = values(d, seed).iter().map(|x| 1.0 + 0.1 * x).collect();
    g.constant(
        name,
        TensorDesc::new(DType::F32, [d]),
        Bytes::from_vec(bytemuck::cast_slice(&v).to_vec()),
    )
}

impl Layer {
    /// Builds the layer for `n` tokens per run.
    pub fn build(config: LayerConfig, n: usize) -> Result<Layer> {
        let c = config;
        let (hd, kv) = (c.head_dim(), c.n_kv_head * c.head_dim());
        let mut g = Graph::new();
        let x = g.input("x", TensorDesc::new(DType::F32, [n, c.hidden]))?;
        let pos = g.input("positions", TensorDesc::new(DType::I32, [n]))?;
        let k_cache = g.state("cache_k", TensorDesc::new(DType::F16, [c.context, kv]))?;
        let v_cache = g.state("cache_v", TensorDesc::new(DType::F16, [c.context, kv]))?;
        let mm = Op::MatMul { has_bias: false };
        let rope = Op::Rope {
            mode: RopeMode::Normal,
            head_dim: hd,
            n_dims: hd,
            freq_base: 500000.0,
            freq_scale: 1.0,
        };

        let attn_norm = norm(&mut g, "attn_norm.weight", c.hidden, 20)?;
        let h = g.add(Op::RmsNorm { eps: 1e-5 }, &[x, attn_norm])?;
        g.set_name(h, "attn_norm");
        let proj = |g: &mut Graph, name: &str, rows, seed| -> Result<TensorId> {
            let w = weight(
                g,
                &format!("{name}.weight"),
                c.attn_dtype,
                rows,
                c.hidden,
                seed,
            )?;
            let out = g.add(mm.clone(), &[h, w])?;
            g.set_name(out, name);
            Ok(out)
        };
        let q = proj(&mut g, "attn_q", c.hidden, 21)?;
        let k = proj(&mut g, "attn_k", kv, 22)?;
        let v = proj(&mut g, "attn_v", kv, 23)?;
        let q = g.add(rope.clone(), &[q, pos])?;
        g.set_name(q, "q_rope");
        let k = g.add(rope, &[k, pos])?;
        g.set_name(k, "k_rope");
        let kc = g.add(Op::KvWrite, &[k_cache, k, pos])?;
        g.set_name(kc, "cache_k_write");
        let vc = g.add(Op::KvWrite, &[v_cache, v, pos])?;
        g.set_name(vc, "cache_v_write");
        let att = g.add(
            Op::Attention {
                n_head: c.n_head,
                n_kv_head: c.n_kv_head,
                head_dim: hd,
                scale: 1.0 / (hd as f32).sqrt(),
                causal: true,
                softcap: None,
            },
            &[q, kc, vc, pos],
        )?;
        g.set_name(att, "attention");
        let wo = weight(
            &mut g,
            "attn_output.weight",
            c.attn_dtype,
            c.hidden,
            c.hidden,
            24,
        )?;
        let o = g.add(mm.clone(), &[att, wo])?;
        g.set_name(o, "attn_output");
        let h1 = g.add(Op::Add, &[x, o])?;
        g.set_name(h1, "residual_1");

        let ffn_norm = norm(&mut g, "ffn_norm.weight", c.hidden, 25)?;
        let f = g.add(Op::RmsNorm { eps: 1e-5 }, &[h1, ffn_norm])?;
        g.set_name(f, "ffn_norm");
        let wg = weight(&mut g, "ffn_gate.weight", c.ffn_dtype, c.ffn, c.hidden, 26)?;
        let wu = weight(&mut g, "ffn_up.weight", c.ffn_dtype, c.ffn, c.hidden, 27)?;
        let wd = weight(&mut g, "ffn_down.weight", c.ffn_dtype, c.hidden, c.ffn, 28)?;
        let gate = g.add(mm.clone(), &[f, wg])?;
        g.set_name(gate, "ffn_gate");
        let up = g.add(mm.clone(), &[f, wu])?;
        g.set_name(up, "ffn_up");
        let s = g.add(Op::SwiGlu, &[gate, up])?;
        g.set_name(s, "ffn_swiglu");
        let down = g.add(mm, &[s, wd])?;
        g.set_name(down, "ffn_down");
        let out = g.add(Op::Add, &[h1, down])?;
        g.set_name(out, "residual_2");
        g.mark_output(out)?;
        Ok(Layer {
            config,
            graph: g,
            caches: [k_cache, v_cache],
        })
    }

    /// Inputs for a run of `n` tokens at positions `start..start+n`.
    pub fn inputs(&self, start: usize, n: usize, seed: u64) -> Result<Vec<HostTensor>> {
        let x = HostTensor::from_f32(
            [n, self.config.hidden],
            &values(n * self.config.hidden, seed),
        )?;
        let pos: Vec<i32> = (start..start + n).map(|p| p as i32).collect();
        Ok(vec![x, HostTensor::from_i32([n], &pos)?])
    }
}
