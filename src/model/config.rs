//! Hyperparameters of a llama-family model, read from `{arch}.*` metadata as llama.cpp
//! reads them.

use super::source::{Meta, ModelSource};
use crate::error::{Error, Result};
use crate::op::RopeMode;

/// The architectures edgeplane runs. They share one graph; they differ in the RoPE layout
/// llama.cpp applies to them (which is what their converted weights expect).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// `llama` (also Mistral 7B and other llama-shaped models, which llama.cpp's converter
    /// writes as `llama`): adjacent-pair RoPE.
    Llama,
    /// `qwen2`: half-split (NeoX) RoPE, Q/K/V biases.
    Qwen2,
}

impl Architecture {
    /// Names accepted in `general.architecture`.
    pub const SUPPORTED: [&'static str; 2] = ["llama", "qwen2"];

    /// From `general.architecture`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "llama" => Ok(Architecture::Llama),
            "qwen2" => Ok(Architecture::Qwen2),
            other => Err(Error::Model(format!(
                "unsupported architecture {other:?} (edgeplane runs: {})",
                Self::SUPPORTED.join(", ")
            ))),
        }
    }

    /// The metadata prefix (`llama.embedding_length`).
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Llama => "llama",
            Architecture::Qwen2 => "qwen2",
        }
    }

    /// The RoPE layout llama.cpp uses for this architecture (`LLAMA_ROPE_TYPE_NORM` for
    /// llama, `NEOX` for qwen2).
    pub fn rope_mode(self) -> RopeMode {
        match self {
            Architecture::Llama => RopeMode::Normal,
            Architecture::Qwen2 => RopeMode::Neox,
        }
    }
}

/// The hyperparameters a graph is built from.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    /// The architecture.
    pub arch: Architecture,
    /// Width of the residual stream (`embedding_length`).
    pub embedding_length: usize,
    /// Transformer blocks (`block_count`).
    pub block_count: usize,
    /// Hidden width of the feed-forward network (`feed_forward_length`).
    pub feed_forward_length: usize,
    /// Query heads (`attention.head_count`).
    pub head_count: usize,
    /// Key/value heads (`attention.head_count_kv`, default `head_count`).
    pub head_count_kv: usize,
    /// Dims per head (`attention.key_length`, default `embedding_length / head_count`).
    pub head_dim: usize,
    /// RMSNorm epsilon (`attention.layer_norm_rms_epsilon`).
    pub rms_epsilon: f32,
    /// RoPE θ base (`rope.freq_base`, default 10000).
    pub rope_freq_base: f32,
    /// Rotated dims per head (`rope.dimension_count`, default `head_dim`).
    pub rope_dims: usize,
    /// Position scale of linear RoPE scaling: `1 / rope.scaling.factor` when
    /// `rope.scaling.type` is `linear` (llama.cpp's default type), else 1.
    pub rope_freq_scale: f32,
    /// Positions the model was trained for (`context_length`).
    pub context_length: usize,
}

impl ModelConfig {
    /// Reads the configuration, checking that the numbers fit together; errors name the
    /// key and the file.
    pub fn from_source(source: &dyn ModelSource) -> Result<Self> {
        let meta = Meta { source };
        let arch = Architecture::from_name(&meta.str("general.architecture")?)?;
        let key = |k: &str| format!("{}.{k}", arch.name());
        let embedding_length = meta.usize(&key("embedding_length"))?;
        let head_count = meta.usize(&key("attention.head_count"))?;
        let head_count_kv = meta
            .opt_usize(&key("attention.head_count_kv"))?
            .unwrap_or(head_count);
        let bad = |what: String| Err(Error::Model(format!("{}: {what}", source.describe())));
        if head_count == 0 || embedding_length == 0 {
            return bad(format!(
                "{} = {embedding_length} and {} = {head_count} must be positive",
                key("embedding_length"),
                key("attention.head_count")
            ));
        }
        if head_count_kv == 0 || head_count % head_count_kv != 0 {
            return bad(format!(
                "{} = {head_count_kv} must divide {} = {head_count}",
                key("attention.head_count_kv"),
                key("attention.head_count")
            ));
        }
        let head_dim = match meta.opt_usize(&key("attention.key_length"))? {
            Some(d) => d,
            None if embedding_length % head_count == 0 => embedding_length / head_count,
            None => {
                return bad(format!(
                    "{} = {embedding_length} is not a multiple of {} = {head_count}",
                    key("embedding_length"),
                    key("attention.head_count")
                ))
            }
        };
        if let Some(v) = meta.opt_usize(&key("attention.value_length"))? {
            if v != head_dim {
                return bad(format!(
                    "{} = {v} differs from the key length {head_dim}; not supported",
                    key("attention.value_length")
                ));
            }
        }
        let rope_dims = meta
            .opt_usize(&key("rope.dimension_count"))?
            .unwrap_or(head_dim);
        if rope_dims != head_dim {
            // llama.cpp asserts the same for both architectures.
            return bad(format!(
                "{} = {rope_dims} must equal the head dim {head_dim} for {}",
                key("rope.dimension_count"),
                arch.name()
            ));
        }
        if head_dim % 2 != 0 {
            return bad(format!("head dim {head_dim} must be even for RoPE"));
        }
        if let Some(experts) = meta.opt_usize(&key("expert_count"))? {
            if experts > 0 {
                return bad(format!(
                    "{} = {experts}: mixture-of-experts models are not supported",
                    key("expert_count")
                ));
            }
        }
        // llama.cpp reads the type with "linear" as the default and the factor from
        // `rope.scaling.factor` or the older `rope.scale_linear`; 0 or absent means 1.
        let scaling = meta
            .opt_str(&key("rope.scaling.type"))?
            .unwrap_or_else(|| "linear".into());
        let factor = match meta.opt_f32(&key("rope.scaling.factor"))? {
            Some(f) => Some(f),
            None => meta.opt_f32(&key("rope.scale_linear"))?,
        }
        .filter(|&f| f != 0.0);
        let rope_freq_scale = match (scaling.as_str(), factor) {
            ("none", _) | ("linear", None) => 1.0,
            ("linear", Some(f)) if f.is_finite() && f > 0.0 => 1.0 / f,
            ("linear", Some(f)) => {
                return bad(format!(
                    "{} = {f} must be a positive number",
                    key("rope.scaling.factor")
                ))
            }
            (kind, _) => {
                return bad(format!(
                    "{} = {kind:?}: only linear RoPE scaling is supported",
                    key("rope.scaling.type")
                ))
            }
        };
        let config = ModelConfig {
            arch,
            embedding_length,
            block_count: meta.usize(&key("block_count"))?,
            feed_forward_length: meta.usize(&key("feed_forward_length"))?,
            head_count,
            head_count_kv,
            head_dim,
            rms_epsilon: meta
                .opt_f32(&key("attention.layer_norm_rms_epsilon"))?
                .ok_or_else(|| {
                    Error::Model(format!(
                        "{}: required metadata key {} is missing",
                        source.describe(),
                        key("attention.layer_norm_rms_epsilon")
                    ))
                })?,
            rope_freq_base: meta.opt_f32(&key("rope.freq_base"))?.unwrap_or(10000.0),
            rope_dims,
            rope_freq_scale,
            context_length: meta.usize(&key("context_length"))?,
        };
        if config.block_count == 0 || config.feed_forward_length == 0 || config.context_length == 0
        {
            return bad(format!(
                "block_count {}, feed_forward_length {} and context_length {} must be positive",
                config.block_count, config.feed_forward_length, config.context_length
            ));
        }
        Ok(config)
    }

    /// Width of the query projection (`head_count * head_dim`).
    pub fn q_width(&self) -> usize {
        self.head_count * self.head_dim
    }

    /// Width of each of the key and value projections (`head_count_kv * head_dim`).
    pub fn kv_width(&self) -> usize {
        self.head_count_kv * self.head_dim
    }
}
