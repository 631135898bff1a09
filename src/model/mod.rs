//! Transformer models (llama family) built as graphs from GGUF weights.
//!
//! In the flow of DESIGN.md this is the step between the GGUF reader and the backends: a
//! [`ModelSource`] (a GGUF file, or a model made in memory) gives metadata and tensors,
//! [`ModelConfig`] reads the hyperparameters, [`ModelWeights`] finds and checks the tensors
//! by their llama.cpp names, [`build_forward`] turns them into a [`crate::Graph`], and a
//! [`Session`] compiles that graph on a [`crate::Backend`] and runs a sequence through it
//! with a KV cache.
//!
//! Supported architectures: `llama` (and models llama.cpp converts as `llama`, such as
//! Mistral 7B) and `qwen2`; see [`Architecture`].

mod build;
mod config;
mod sample;
mod session;
mod source;
pub mod testing;
mod weights;

pub use build::{build_forward, ForwardGraph, Logits};
pub use config::{Architecture, ModelConfig};
pub use sample::Sampler;
pub use session::{Session, SessionOptions, DEFAULT_CONTEXT_CAP, MAX_BATCH_GRAPHS};
pub use source::{MemorySource, MetaValue, ModelSource};
pub use weights::{LayerWeights, ModelWeights, Weight};

use crate::error::{Error, Result};
use crate::tokenizer::{Tokenizer, TokenizerSpec};
use crate::DType;
pub(crate) use source::Meta;

/// Typed metadata reads over `source` (for the tokenizer's loader).
pub(crate) fn source_meta(source: &dyn ModelSource) -> Meta<'_> {
    Meta { source }
}

/// A loaded model: configuration, checked weights and, when the file has one, its
/// tokenizer.
#[derive(Debug)]
pub struct Model {
    /// Hyperparameters.
    pub config: ModelConfig,
    /// Tensors.
    pub weights: ModelWeights,
    /// The tokenizer from `tokenizer.ggml.*`, if present.
    pub tokenizer: Option<Tokenizer>,
}

impl Model {
    /// Reads configuration, weights and tokenizer from `source`, checking that they agree.
    pub fn from_source(source: &dyn ModelSource) -> Result<Self> {
        let config = ModelConfig::from_source(source)?;
        let weights = ModelWeights::load(source, &config)?;
        let tokenizer = match TokenizerSpec::from_source(source)? {
            Some(spec) => Some(Tokenizer::new(spec)?),
            None => None,
        };
        if let Some(t) = &tokenizer {
            if t.vocab_size() != weights.vocab_size {
                return Err(Error::Model(format!(
                    "{}: the tokenizer has {} tokens but token_embd.weight has {} rows",
                    source.describe(),
                    t.vocab_size(),
                    weights.vocab_size
                )));
            }
        }
        Ok(Model {
            config,
            weights,
            tokenizer,
        })
    }

    /// Vocabulary size (rows of the logits).
    pub fn vocab_size(&self) -> usize {
        self.weights.vocab_size
    }

    /// The forward graph for `n_tokens` tokens per run over KV caches of `kv_capacity`
    /// positions, with `logits` for every token or the last.
    pub fn build_graph(
        &self,
        n_tokens: usize,
        kv_capacity: usize,
        kv_dtype: DType,
        logits: Logits,
    ) -> Result<ForwardGraph> {
        build_forward(
            &self.config,
            &self.weights,
            n_tokens,
            kv_capacity,
            kv_dtype,
            logits,
        )
    }

    /// The tokenizer, or a model error saying the file has none.
    pub fn tokenizer(&self) -> Result<&Tokenizer> {
        self.tokenizer
            .as_ref()
            .ok_or_else(|| Error::Model("the model file has no tokenizer.ggml.* metadata".into()))
    }
}
