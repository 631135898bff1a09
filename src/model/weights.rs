//! The model's tensors, found by their GGUF names and checked against the shapes the
//! metadata implies, so a wrong file fails at load with the tensor's name instead of deep
//! inside a backend.

use super::config::ModelConfig;
use super::source::ModelSource;
use crate::error::{Error, Result};
use crate::tensor::{Bytes, TensorDesc};
use crate::DType;

/// One tensor: its GGUF name, description and bytes.
#[derive(Clone, Debug)]
pub struct Weight {
    /// GGUF name (`blk.0.attn_q.weight`).
    pub name: String,
    /// dtype and row-major shape.
    pub desc: TensorDesc,
    /// The data, shared with the source (no copy for memory-mapped files).
    pub bytes: Bytes,
}

/// The tensors of one transformer block.
#[derive(Clone, Debug)]
pub struct LayerWeights {
    /// `attn_norm` `[d]`.
    pub attn_norm: Weight,
    /// `attn_q` `[q_width, d]` and its optional bias.
    pub q: (Weight, Option<Weight>),
    /// `attn_k` `[kv_width, d]` and its optional bias.
    pub k: (Weight, Option<Weight>),
    /// `attn_v` `[kv_width, d]` and its optional bias.
    pub v: (Weight, Option<Weight>),
    /// `attn_output` `[d, q_width]` and its optional bias.
    pub o: (Weight, Option<Weight>),
    /// `ffn_norm` `[d]`.
    pub ffn_norm: Weight,
    /// `ffn_gate` `[ff, d]` and its optional bias.
    pub gate: (Weight, Option<Weight>),
    /// `ffn_up` `[ff, d]` and its optional bias.
    pub up: (Weight, Option<Weight>),
    /// `ffn_down` `[d, ff]` and its optional bias.
    pub down: (Weight, Option<Weight>),
}

/// All tensors of a model.
#[derive(Clone, Debug)]
pub struct ModelWeights {
    /// `token_embd` `[vocab, d]`.
    pub token_embd: Weight,
    /// The blocks, in order.
    pub layers: Vec<LayerWeights>,
    /// `output_norm` `[d]`.
    pub output_norm: Weight,
    /// `output` `[vocab, d]` with its optional bias; `None` when the embeddings are tied
    /// (the file has no `output.weight` and `token_embd` is reused, as llama.cpp does).
    pub output: Option<(Weight, Option<Weight>)>,
    /// Vocabulary size, from `token_embd`.
    pub vocab_size: usize,
}

struct Loader<'a> {
    source: &'a dyn ModelSource,
    arch: &'static str,
}

impl Loader<'_> {
    fn get(&self, name: &str) -> Option<Weight> {
        self.source.tensor(name).map(|(desc, bytes)| Weight {
            name: name.to_string(),
            desc,
            bytes,
        })
    }

    fn required(&self, name: &str) -> Result<Weight> {
        self.get(name).ok_or_else(|| {
            Error::Model(format!(
                "{}: missing tensor {name} (required by the {} architecture)",
                self.source.describe(),
                self.arch
            ))
        })
    }

    /// Checks `w`'s shape against `want`, naming where `want` comes from.
    fn check_shape(&self, w: &Weight, want: &[usize], why: &str) -> Result<()> {
        if w.desc.shape.dims() != want {
            return Err(Error::Model(format!(
                "{}: tensor {} has shape {} but the metadata implies {want:?} ({why})",
                self.source.describe(),
                w.name,
                w.desc.shape
            )));
        }
        Ok(())
    }

    /// A matrix `[rows, cols]` in any weight dtype.
    fn matrix(&self, name: &str, rows: usize, cols: usize, why: &str) -> Result<Weight> {
        let w = self.required(name)?;
        self.check_shape(&w, &[rows, cols], why)?;
        if !DType::WEIGHTS.contains(&w.desc.dtype) {
            return Err(Error::Model(format!(
                "{}: tensor {name} has dtype {}, which is not a weight dtype",
                self.source.describe(),
                w.desc.dtype
            )));
        }
        Ok(w)
    }

    /// A vector `[len]`, widened to f32 (norms and biases are f32 in the graph).
    fn vector(&self, w: Weight, len: usize, why: &str) -> Result<Weight> {
        self.check_shape(&w, &[len], why)?;
        if w.desc.dtype == DType::F32 {
            return Ok(w);
        }
        let values = edgeplane_kernels::quant::dequantize(w.desc.dtype, w.bytes.as_slice(), len)
            .map_err(|e| {
                Error::Model(format!(
                    "{}: tensor {}: {e}",
                    self.source.describe(),
                    w.name
                ))
            })?;
        Ok(Weight {
            name: w.name,
            desc: TensorDesc::new(DType::F32, [len]),
            bytes: Bytes::from_vec(bytemuck::cast_slice(&values).to_vec()),
        })
    }

    fn required_vector(&self, name: &str, len: usize, why: &str) -> Result<Weight> {
        let w = self.required(name)?;
        self.vector(w, len, why)
    }

    /// `{prefix}.weight` `[rows, cols]` and an optional `{prefix}.bias` `[rows]`.
    fn linear(
        &self,
        prefix: &str,
        rows: usize,
        cols: usize,
        why: &str,
    ) -> Result<(Weight, Option<Weight>)> {
        let w = self.matrix(&format!("{prefix}.weight"), rows, cols, why)?;
        let b = match self.get(&format!("{prefix}.bias")) {
            Some(b) => Some(self.vector(b, rows, why)?),
            None => None,
        };
        Ok((w, b))
    }
}

impl ModelWeights {
    /// Finds and checks every tensor `config` needs in `source`.
    pub fn load(source: &dyn ModelSource, config: &ModelConfig) -> Result<Self> {
        let l = Loader {
            source,
            arch: config.arch.name(),
        };
        let d = config.embedding_length;
        let ff = config.feed_forward_length;
        let a = config.arch.name();
        let token_embd = l.required("token_embd.weight")?;
        let vocab_size = match token_embd.desc.shape.dims() {
            [vocab, width] if *width == d && *vocab > 0 => *vocab,
            _ => {
                return Err(Error::Model(format!(
                    "{}: tensor token_embd.weight has shape {} but the metadata implies \
                     [n_vocab, {d}] ({a}.embedding_length = {d})",
                    source.describe(),
                    token_embd.desc.shape
                )))
            }
        };
        let why_d = format!("{a}.embedding_length = {d}");
        let why_q = format!(
            "{a}.attention.head_count = {} × head dim {}, by {why_d}",
            config.head_count, config.head_dim
        );
        let why_kv = format!(
            "{a}.attention.head_count_kv = {} × head dim {}, by {why_d}",
            config.head_count_kv, config.head_dim
        );
        let why_o = format!("{why_d} by the query width {}", config.q_width());
        let why_ff = format!("{a}.feed_forward_length = {ff}, by {why_d}");
        let why_down = format!("{why_d} by {a}.feed_forward_length = {ff}");
        let mut layers = Vec::with_capacity(config.block_count);
        for i in 0..config.block_count {
            let p = |t: &str| format!("blk.{i}.{t}");
            layers.push(LayerWeights {
                attn_norm: l.required_vector(&p("attn_norm.weight"), d, &why_d)?,
                q: l.linear(&p("attn_q"), config.q_width(), d, &why_q)?,
                k: l.linear(&p("attn_k"), config.kv_width(), d, &why_kv)?,
                v: l.linear(&p("attn_v"), config.kv_width(), d, &why_kv)?,
                o: l.linear(&p("attn_output"), d, config.q_width(), &why_o)?,
                ffn_norm: l.required_vector(&p("ffn_norm.weight"), d, &why_d)?,
                gate: l.linear(&p("ffn_gate"), ff, d, &why_ff)?,
                up: l.linear(&p("ffn_up"), ff, d, &why_ff)?,
                down: l.linear(&p("ffn_down"), d, ff, &why_down)?,
            });
        }
        let output_norm = l.required_vector("output_norm.weight", d, &why_d)?;
        let why_vocab = format!("token_embd has {vocab_size} rows, by {why_d}");
        let output = match l.get("output.weight") {
            Some(_) => Some(l.linear("output", vocab_size, d, &why_vocab)?),
            None => None,
        };
        if source.tensor("rope_freqs.weight").is_some() {
            return Err(Error::Model(format!(
                "{}: tensor rope_freqs.weight (llama 3.1 RoPE frequency factors) is not supported",
                source.describe()
            )));
        }
        Ok(ModelWeights {
            token_embd,
            layers,
            output_norm,
            output,
            vocab_size,
        })
    }
}
