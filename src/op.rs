//! The closed vocabulary of transformer ops. Every backend implements (or declines) these
//! and nothing else; each variant's doc is the contract for its inputs and output.
//!
//! Conventions, for every op: activations are row-major `[rows, cols]` f32 tensors (a
//! leading token dim `n` and a feature dim); weights are `[out, in]`; token ids and
//! positions are i32; "heads" are packed along the feature dim, head `h` owning columns
//! `h*head_dim .. (h+1)*head_dim`.

use crate::DType;
use std::fmt;

/// How RoPE pairs up the rotated dims.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RopeMode {
    /// Adjacent pairs `(2i, 2i+1)`; llama.cpp's `LLAMA_ROPE_TYPE_NORM` (llama, mistral).
    Normal,
    /// Half-split pairs `(i, i + n_dims/2)`; llama.cpp's `NEOX` (qwen2, phi3, gemma).
    Neox,
}

/// One operation. Inputs are listed in order as `inputs[i]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    /// `y = x · Wᵀ (+ b)`. Inputs: `x [n, k]` f32, `w [m, k]` any weight dtype,
    /// optionally `b [m]` f32. Output `[n, m]` f32.
    MatMul {
        /// Whether a third input, the bias, is present.
        has_bias: bool,
    },
    /// Scaled dot-product attention of a query block over a KV cache (one sequence).
    ///
    /// Inputs: `q [n, n_head*head_dim]` f32, `k [kv_capacity, n_kv_head*head_dim]` and
    /// `v` (same shape) in F32 or F16, `positions [n]` i32 (the absolute position of each
    /// query row). Keys `0 ..= max(positions)` are valid; with `causal`, query `i` sees only
    /// keys `j <= positions[i]`. Query head `h` reads KV head `h / (n_head / n_kv_head)`
    /// (GQA/MQA). Output `[n, n_head*head_dim]` f32.
    Attention {
        /// Query heads.
        n_head: usize,
        /// Key/value heads; divides `n_head`.
        n_kv_head: usize,
        /// Dims per head.
        head_dim: usize,
        /// Multiplies `q·k` before softmax (usually `1/sqrt(head_dim)`).
        scale: f32,
        /// Mask keys after each query's position.
        causal: bool,
        /// If set, scores become `softcap * tanh(score / softcap)` before softmax (gemma2).
        softcap: Option<f32>,
    },
    /// Writes new rows into a KV cache in place. Inputs: `cache [capacity, width]` (a state
    /// tensor, F32 or F16), `new [n, width]` f32, `positions [n]` i32. Row `i` of `new` goes
    /// to row `positions[i]` of the cache (converted to the cache dtype). The output aliases
    /// the cache after the write; attention reads that output so the order is explicit.
    KvWrite,
    /// `y = x / sqrt(mean(x²) + eps) * w` per row. Inputs `x [n, d]`, `w [d]`. Output `[n, d]`.
    RmsNorm {
        /// Added to the mean square.
        eps: f32,
    },
    /// `y = (x - mean) / sqrt(var + eps) * w + b` per row. Inputs `x [n, d]`, `w [d]`,
    /// `b [d]`. Output `[n, d]`.
    LayerNorm {
        /// Added to the variance.
        eps: f32,
    },
    /// Rotary position embedding. Inputs `x [n, n_heads*head_dim]`, `positions [n]` i32.
    /// In each head the first `n_dims` dims are rotated by angle
    /// `p * freq_scale * freq_base^(-2i/n_dims)` for pair `i`; the rest pass through.
    Rope {
        /// Pair layout.
        mode: RopeMode,
        /// Dims per head.
        head_dim: usize,
        /// Rotated dims per head (even, at most `head_dim`).
        n_dims: usize,
        /// θ base (10000 for llama 1/2, 500000 for llama 3, 1000000 for qwen2).
        freq_base: f32,
        /// Linear position scaling (1.0 for none).
        freq_scale: f32,
    },
    /// `silu(gate) * up`. Inputs `gate [n, d]`, `up [n, d]`.
    SwiGlu,
    /// `gelu(gate) * up` with gelu's tanh approximation, as ggml computes it.
    /// Inputs `gate [n, d]`, `up [n, d]`.
    GeGlu,
    /// `a + b`. `b` has `a`'s shape, or `[cols]` and is broadcast over rows.
    Add,
    /// `a * b`, broadcast as for [`Op::Add`].
    Mul,
    /// Softmax over the innermost dim of `x * scale`. Input `x [n, d]`.
    Softmax {
        /// Multiplies the input first.
        scale: f32,
    },
    /// Embedding lookup. Inputs `table [vocab, d]` in any weight dtype, `ids [n]` i32.
    /// Output `[n, d]` f32, rows dequantized.
    GetRows,
    /// Converts `x` to `to` (F32, F16 or BF16). Output has `x`'s shape.
    Cast {
        /// Target dtype.
        to: DType,
    },
}

/// The op's kind without parameters: what profiles and support tables key on.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum OpKind {
    /// [`Op::MatMul`]
    MatMul,
    /// [`Op::Attention`]
    Attention,
    /// [`Op::KvWrite`]
    KvWrite,
    /// [`Op::RmsNorm`]
    RmsNorm,
    /// [`Op::LayerNorm`]
    LayerNorm,
    /// [`Op::Rope`]
    Rope,
    /// [`Op::SwiGlu`]
    SwiGlu,
    /// [`Op::GeGlu`]
    GeGlu,
    /// [`Op::Add`]
    Add,
    /// [`Op::Mul`]
    Mul,
    /// [`Op::Softmax`]
    Softmax,
    /// [`Op::GetRows`]
    GetRows,
    /// [`Op::Cast`]
    Cast,
}

impl OpKind {
    /// Every kind.
    pub const ALL: [OpKind; 13] = [
        OpKind::MatMul,
        OpKind::Attention,
        OpKind::KvWrite,
        OpKind::RmsNorm,
        OpKind::LayerNorm,
        OpKind::Rope,
        OpKind::SwiGlu,
        OpKind::GeGlu,
        OpKind::Add,
        OpKind::Mul,
        OpKind::Softmax,
        OpKind::GetRows,
        OpKind::Cast,
    ];
}

impl Op {
    /// The op's kind.
    pub fn kind(&self) -> OpKind {
        match self {
            Op::MatMul { .. } => OpKind::MatMul,
            Op::Attention { .. } => OpKind::Attention,
            Op::KvWrite => OpKind::KvWrite,
            Op::RmsNorm { .. } => OpKind::RmsNorm,
            Op::LayerNorm { .. } => OpKind::LayerNorm,
            Op::Rope { .. } => OpKind::Rope,
            Op::SwiGlu => OpKind::SwiGlu,
            Op::GeGlu => OpKind::GeGlu,
            Op::Add => OpKind::Add,
            Op::Mul => OpKind::Mul,
            Op::Softmax { .. } => OpKind::Softmax,
            Op::GetRows => OpKind::GetRows,
            Op::Cast { .. } => OpKind::Cast,
        }
    }

    /// How many inputs the op takes.
    pub fn input_count(&self) -> usize {
        match self {
            Op::MatMul { has_bias } => 2 + usize::from(*has_bias),
            Op::Attention { .. } => 4,
            Op::KvWrite => 3,
            Op::RmsNorm { .. } => 2,
            Op::LayerNorm { .. } => 3,
            Op::Rope { .. } => 2,
            Op::SwiGlu | Op::GeGlu | Op::Add | Op::Mul | Op::GetRows => 2,
            Op::Softmax { .. } | Op::Cast { .. } => 1,
        }
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
