//! Reading a [`TokenizerSpec`] from GGUF's `tokenizer.ggml.*` keys.

use super::{TokenType, TokenizerKind, TokenizerSpec};
use crate::error::{Error, Result};
use crate::model::ModelSource;

impl TokenizerSpec {
    /// The spec stored in `source`, or `None` when it has no `tokenizer.ggml.model`.
    /// Errors name the key that is missing or malformed.
    pub fn from_source(source: &dyn ModelSource) -> Result<Option<Self>> {
        let meta = crate::model::source_meta(source);
        let Some(model) = meta.opt_str("tokenizer.ggml.model")? else {
            return Ok(None);
        };
        let kind = match model.as_str() {
            "llama" => TokenizerKind::SentencePiece,
            "gpt2" => TokenizerKind::BytePairEncoding,
            other => {
                return Err(Error::Model(format!(
                    "{}: tokenizer.ggml.model = {other:?} is not supported (llama, gpt2)",
                    source.describe()
                )))
            }
        };
        let tokens = meta
            .opt_str_array("tokenizer.ggml.tokens")?
            .ok_or_else(|| {
                Error::Model(format!(
                    "{}: tokenizer.ggml.model is set but tokenizer.ggml.tokens is missing",
                    source.describe()
                ))
            })?;
        let id = |key: &str| -> Result<Option<u32>> {
            meta.opt_usize(key)?
                .map(|v| {
                    u32::try_from(v).map_err(|_| {
                        Error::Model(format!("{}: {key} = {v} is too large", source.describe()))
                    })
                })
                .transpose()
        };
        let mut spec = TokenizerSpec::new(kind, tokens);
        spec.scores = meta
            .opt_f32_array("tokenizer.ggml.scores")?
            .unwrap_or_default();
        spec.token_types = meta
            .opt_i32_array("tokenizer.ggml.token_type")?
            .unwrap_or_default()
            .into_iter()
            .map(TokenType::from_gguf)
            .collect();
        spec.merges = meta
            .opt_str_array("tokenizer.ggml.merges")?
            .unwrap_or_default();
        spec.pre = meta.opt_str("tokenizer.ggml.pre")?;
        spec.bos = id("tokenizer.ggml.bos_token_id")?;
        spec.eos = id("tokenizer.ggml.eos_token_id")?;
        spec.unk = id("tokenizer.ggml.unknown_token_id")?;
        spec.add_bos = meta.opt_bool("tokenizer.ggml.add_bos_token")?;
        spec.add_eos = meta.opt_bool("tokenizer.ggml.add_eos_token")?;
        spec.add_space_prefix = meta.opt_bool("tokenizer.ggml.add_space_prefix")?;
        Ok(Some(spec))
    }
}
