//! Small random-weight models and vocabularies for tests, benches and demos.
//!
//! Real checkpoints cannot be downloaded here, and random weights test the same code: the
//! models are written with llama.cpp's tensor names and metadata (so llama.cpp loads the
//! very same file as the oracle), in F32 or quantized, with the shapes that matter (head dim
//! 64 and 128, grouped-query ratios 1/4/8, tied or separate output, Q/K/V biases).

mod gguf_write;
mod vocab;

pub use gguf_write::write_gguf;
pub use vocab::{bpe_vocab, sentencepiece_vocab, set_tokenizer_metadata, CORPUS};

use super::config::Architecture;
use super::source::{MemorySource, MetaValue};
use crate::error::Result;
use crate::tensor::{Bytes, TensorDesc};
use crate::DType;

/// A deterministic generator (splitmix64), so every test model is reproducible by seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-1, 1)`.
    pub fn symmetric(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Which dtypes the weight matrices get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightTypes {
    /// Every matrix in this dtype.
    All(DType),
    /// Like llama.cpp's Q4_K_M: Q6_K for `attn_v`, `ffn_down` and `output`, Q4_K elsewhere.
    Q4KM,
    /// Like a real Q4_0 file: Q4_0 everywhere but `output` (and tied embeddings), Q6_K.
    Q4_0WithQ6KOutput,
}

impl WeightTypes {
    /// The dtype of the matrix named `name`, whose rows hold `cols` values. K-quants need
    /// rows of whole 256-value blocks; where they do not fit (widths such as Qwen2.5-0.5B's
    /// 896) llama.cpp's quantizer falls back to a 32-block format — Q4_K → Q5_0, Q5_K →
    /// Q5_1, Q6_K → Q8_0 (Q2_K/Q3_K → IQ4_NL there, Q4_0 here) — and so do these models.
    pub fn dtype_for(self, name: &str, tied: bool, cols: usize) -> DType {
        let dtype = self.preferred(name, tied);
        if dtype.block_size() != 256 || cols.is_multiple_of(256) {
            return dtype;
        }
        match dtype {
            DType::Q4K => DType::Q5_0,
            DType::Q5K => DType::Q5_1,
            DType::Q6K => DType::Q8_0,
            _ => DType::Q4_0,
        }
    }

    /// The dtype the mix names for `name`, before the fallback for short rows.
    fn preferred(self, name: &str, tied: bool) -> DType {
        let is_output = name == "output.weight" || (tied && name == "token_embd.weight");
        match self {
            WeightTypes::All(d) => d,
            WeightTypes::Q4KM => {
                if is_output || name.contains("attn_v") || name.contains("ffn_down") {
                    DType::Q6K
                } else {
                    DType::Q4K
                }
            }
            WeightTypes::Q4_0WithQ6KOutput => {
                if is_output {
                    DType::Q6K
                } else {
                    DType::Q4_0
                }
            }
        }
    }
}

/// The tokenizer a test model carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestVocab {
    /// SentencePiece (`llama`) with byte tokens.
    SentencePiece,
    /// Byte-level BPE (`gpt2`) with merges learned from [`CORPUS`], pre-tokenizer named.
    BytePairEncoding(&'static str),
}

/// Shape and contents of a test model.
#[derive(Clone, Debug)]
pub struct TestModelSpec {
    /// Architecture written to `general.architecture`.
    pub arch: Architecture,
    /// Residual width.
    pub embedding_length: usize,
    /// Blocks.
    pub block_count: usize,
    /// FFN hidden width.
    pub feed_forward_length: usize,
    /// Query heads.
    pub head_count: usize,
    /// Key/value heads.
    pub head_count_kv: usize,
    /// Context length written to the metadata.
    pub context_length: usize,
    /// Matrix dtypes.
    pub weights: WeightTypes,
    /// Reuse `token_embd` as the output projection (no `output.weight`).
    pub tied_embeddings: bool,
    /// Add `attn_q/k/v.bias`.
    pub qkv_bias: bool,
    /// The tokenizer.
    pub vocab: TestVocab,
    /// Vocabulary rows, if more than the test tokenizer has: the rest are unused tokens,
    /// so the embedding and output matrices have a real model's size (Qwen2.5's 151936,
    /// Llama 3's 128256) — the output projection is a large share of a small model's
    /// work — while text still encodes with the small vocabulary.
    pub vocab_rows: Option<usize>,
    /// RoPE base.
    pub rope_freq_base: f32,
    /// Linear RoPE scaling factor (`rope.scaling.type = linear`), if any.
    pub rope_scaling_factor: Option<f32>,
    /// Seed of the weights.
    pub seed: u64,
}

impl TestModelSpec {
    /// A small llama with head dim 64, no GQA, SentencePiece vocabulary, F32 weights.
    pub fn tiny_llama() -> Self {
        TestModelSpec {
            arch: Architecture::Llama,
            embedding_length: 256,
            block_count: 2,
            feed_forward_length: 512,
            head_count: 4,
            head_count_kv: 4,
            context_length: 256,
            weights: WeightTypes::All(DType::F32),
            tied_embeddings: false,
            qkv_bias: false,
            vocab: TestVocab::SentencePiece,
            vocab_rows: None,
            rope_freq_base: 10000.0,
            rope_scaling_factor: None,
            seed: 1,
        }
    }

    /// A small qwen2 with head dim 64, GQA 4, Q/K/V biases, tied embeddings, BPE vocabulary.
    pub fn tiny_qwen2() -> Self {
        TestModelSpec {
            arch: Architecture::Qwen2,
            head_count: 8,
            head_count_kv: 2,
            embedding_length: 512,
            tied_embeddings: true,
            qkv_bias: true,
            vocab: TestVocab::BytePairEncoding("qwen2"),
            rope_freq_base: 1_000_000.0,
            seed: 2,
            ..Self::tiny_llama()
        }
    }

    /// Head dim (`embedding_length / head_count`).
    pub fn head_dim(&self) -> usize {
        self.embedding_length / self.head_count
    }
}

/// Appends unused tokens (`<unused_N>`, type `Unused`, score 0) until `vocab` has `rows`.
fn pad_vocab(vocab: &mut crate::tokenizer::TokenizerSpec, rows: usize) {
    let start = vocab.tokens.len();
    for i in start..rows {
        vocab.tokens.push(format!("<unused_{i}>"));
        if !vocab.scores.is_empty() {
            vocab.scores.push(0.0);
        }
        if !vocab.token_types.is_empty() {
            vocab.token_types.push(crate::tokenizer::TokenType::Unused);
        }
    }
}

/// Random values for a matrix `[rows, cols]`, scaled by `1/sqrt(cols)` so activations stay
/// near unit size through the blocks.
fn random_matrix(rng: &mut Rng, rows: usize, cols: usize) -> Vec<f32> {
    let scale = (3.0 / cols as f32).sqrt();
    (0..rows * cols).map(|_| rng.symmetric() * scale).collect()
}

/// Stores `values` as `dtype` (quantizing as needed).
fn tensor(
    name: &str,
    dtype: DType,
    shape: &[usize],
    values: &[f32],
) -> Result<(TensorDesc, Bytes)> {
    let desc = TensorDesc::new(dtype, shape.to_vec());
    let bytes = edgeplane_kernels::quant::quantize(dtype, values)
        .map_err(|e| crate::Error::Model(format!("test model tensor {name}: {e}")))?;
    Ok((desc, Bytes::from_vec(bytes)))
}

/// Builds the model described by `spec` in memory: llama.cpp's metadata keys and tensor
/// names, random weights quantized as `spec.weights` says.
pub fn build_test_model(spec: &TestModelSpec) -> Result<MemorySource> {
    let mut rng = Rng::new(spec.seed);
    let mut m = MemorySource::default();
    let arch = spec.arch.name();
    let mut vocab = match spec.vocab {
        TestVocab::SentencePiece => sentencepiece_vocab(CORPUS, 800),
        TestVocab::BytePairEncoding(pre) => bpe_vocab(CORPUS, pre, 300)?,
    };
    pad_vocab(&mut vocab, spec.vocab_rows.unwrap_or(0));
    let n_vocab = vocab.tokens.len();
    let int = |v: usize| MetaValue::Int(v as i64);
    m.set("general.architecture", MetaValue::Str(arch.into()));
    m.set(
        "general.name",
        MetaValue::Str(format!("edgeplane test {arch}")),
    );
    m.set(format!("{arch}.context_length"), int(spec.context_length));
    m.set(
        format!("{arch}.embedding_length"),
        int(spec.embedding_length),
    );
    m.set(format!("{arch}.block_count"), int(spec.block_count));
    m.set(
        format!("{arch}.feed_forward_length"),
        int(spec.feed_forward_length),
    );
    m.set(format!("{arch}.attention.head_count"), int(spec.head_count));
    m.set(
        format!("{arch}.attention.head_count_kv"),
        int(spec.head_count_kv),
    );
    m.set(
        format!("{arch}.attention.layer_norm_rms_epsilon"),
        MetaValue::Float(1e-5),
    );
    m.set(
        format!("{arch}.rope.freq_base"),
        MetaValue::Float(spec.rope_freq_base as f64),
    );
    m.set(format!("{arch}.rope.dimension_count"), int(spec.head_dim()));
    if let Some(factor) = spec.rope_scaling_factor {
        m.set(
            format!("{arch}.rope.scaling.type"),
            MetaValue::Str("linear".into()),
        );
        m.set(
            format!("{arch}.rope.scaling.factor"),
            MetaValue::Float(factor as f64),
        );
    }
    set_tokenizer_metadata(&mut m, &vocab);

    let d = spec.embedding_length;
    let ff = spec.feed_forward_length;
    let q = spec.head_count * spec.head_dim();
    let kv = spec.head_count_kv * spec.head_dim();
    let add_matrix = |m: &mut MemorySource,
                      rng: &mut Rng,
                      name: String,
                      rows: usize,
                      cols: usize|
     -> Result<()> {
        let dtype = spec.weights.dtype_for(&name, spec.tied_embeddings, cols);
        let values = random_matrix(rng, rows, cols);
        let (desc, bytes) = tensor(&name, dtype, &[rows, cols], &values)?;
        m.add_tensor(name, desc, bytes);
        Ok(())
    };
    let add_vector = |m: &mut MemorySource,
                      rng: &mut Rng,
                      name: String,
                      len: usize,
                      base: f32,
                      spread: f32|
     -> Result<()> {
        let values: Vec<f32> = (0..len).map(|_| base + spread * rng.symmetric()).collect();
        let (desc, bytes) = tensor(&name, DType::F32, &[len], &values)?;
        m.add_tensor(name, desc, bytes);
        Ok(())
    };
    // Embeddings are larger than the other matrices so the residual stream starts near
    // unit size.
    let embd: Vec<f32> = (0..n_vocab * d).map(|_| rng.symmetric()).collect();
    let name = "token_embd.weight";
    let (desc, bytes) = tensor(
        name,
        spec.weights.dtype_for(name, spec.tied_embeddings, d),
        &[n_vocab, d],
        &embd,
    )?;
    m.add_tensor(name, desc, bytes);
    for i in 0..spec.block_count {
        let p = |t: &str| format!("blk.{i}.{t}");
        add_vector(&mut m, &mut rng, p("attn_norm.weight"), d, 1.0, 0.2)?;
        add_matrix(&mut m, &mut rng, p("attn_q.weight"), q, d)?;
        add_matrix(&mut m, &mut rng, p("attn_k.weight"), kv, d)?;
        add_matrix(&mut m, &mut rng, p("attn_v.weight"), kv, d)?;
        if spec.qkv_bias {
            add_vector(&mut m, &mut rng, p("attn_q.bias"), q, 0.0, 0.5)?;
            add_vector(&mut m, &mut rng, p("attn_k.bias"), kv, 0.0, 0.5)?;
            add_vector(&mut m, &mut rng, p("attn_v.bias"), kv, 0.0, 0.5)?;
        }
        add_matrix(&mut m, &mut rng, p("attn_output.weight"), d, q)?;
        add_vector(&mut m, &mut rng, p("ffn_norm.weight"), d, 1.0, 0.2)?;
        add_matrix(&mut m, &mut rng, p("ffn_gate.weight"), ff, d)?;
        add_matrix(&mut m, &mut rng, p("ffn_up.weight"), ff, d)?;
        add_matrix(&mut m, &mut rng, p("ffn_down.weight"), d, ff)?;
    }
    add_vector(&mut m, &mut rng, "output_norm.weight".into(), d, 1.0, 0.2)?;
    if !spec.tied_embeddings {
        // Larger than 1/sqrt(d) so the logits spread over several units and the argmax is
        // decided by more than rounding noise.
        let values: Vec<f32> = random_matrix(&mut rng, n_vocab, d)
            .iter()
            .map(|v| v * 4.0)
            .collect();
        let name = "output.weight";
        let (desc, bytes) = tensor(
            name,
            spec.weights.dtype_for(name, false, d),
            &[n_vocab, d],
            &values,
        )?;
        m.add_tensor(name, desc, bytes);
    }
    Ok(m)
}

/// A copy of `source` with every quantized tensor replaced by its dequantized F32 values:
/// the same model without weight-format arithmetic. llama.cpp runs it with f32 activations
/// (nothing to round them to 8 bits for), which is what a backend that dequantizes weights
/// and multiplies in f32 (`cpu-ref`, `wgpu`) computes on the quantized file.
pub fn dequantized(source: &MemorySource) -> Result<MemorySource> {
    let mut out = MemorySource {
        metadata: source.metadata.clone(),
        tensors: Vec::with_capacity(source.tensors.len()),
    };
    for (name, desc, bytes) in &source.tensors {
        if desc.dtype == DType::F32 {
            out.tensors
                .push((name.clone(), desc.clone(), bytes.clone()));
            continue;
        }
        let values = edgeplane_kernels::quant::dequantize(
            desc.dtype,
            bytes.as_slice(),
            desc.shape.elements(),
        )
        .map_err(|e| crate::Error::Model(format!("dequantizing {name}: {e}")))?;
        let (desc, bytes) = tensor(name, DType::F32, desc.shape.dims(), &values)?;
        out.tensors.push((name.clone(), desc, bytes));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::WeightTypes;
    use crate::DType;

    #[test]
    fn k_quants_fall_back_to_32_blocks_where_rows_are_not_whole_blocks() {
        let mix = WeightTypes::Q4KM;
        assert_eq!(
            mix.dtype_for("blk.0.attn_q.weight", false, 1024),
            DType::Q4K
        );
        assert_eq!(
            mix.dtype_for("blk.0.attn_q.weight", false, 896),
            DType::Q5_0
        );
        assert_eq!(
            mix.dtype_for("blk.0.attn_v.weight", false, 896),
            DType::Q8_0
        );
        assert_eq!(
            mix.dtype_for("blk.0.ffn_down.weight", false, 4864),
            DType::Q6K
        );
        assert_eq!(mix.dtype_for("token_embd.weight", true, 896), DType::Q8_0);
        let all = |d| WeightTypes::All(d).dtype_for("x", false, 896);
        assert_eq!(all(DType::Q5K), DType::Q5_1);
        assert_eq!(all(DType::Q3K), DType::Q4_0);
        assert_eq!(all(DType::Q4_0), DType::Q4_0);
        assert_eq!(all(DType::F16), DType::F16);
    }
}
