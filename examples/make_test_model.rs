//! Writes a random-weight GGUF model that `edgeplane run`/`logits` (and llama.cpp) load:
//! llama.cpp's tensor names and metadata, a small built-in tokenizer, weights in F32 or a
//! quantized mix. Real checkpoints are not needed to try the runner or measure its speed:
//! the cost of a forward pass depends on the shapes and dtypes, not on the values.
//!
//! ```text
//! cargo run --release --example make_test_model -- /tmp/tiny.gguf
//! cargo run --release --example make_test_model -- /tmp/1b.gguf --shape 1b --weights q4_0
//! cargo run --release -- run --model /tmp/1b.gguf --prompt "the cat" -n 32
//! ```

use edgeplane::model::testing::{build_test_model, write_gguf, TestModelSpec, WeightTypes};
use edgeplane::model::Architecture;
use edgeplane::DType;
use std::path::PathBuf;
use std::process::ExitCode;

/// Model shapes by name.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ShapeName {
    /// The unit tests' llama: width 256, 2 blocks, 4 heads (1M parameters).
    Tiny,
    /// Width 1024, 8 blocks, 16 heads / 4 KV heads, FFN 2816 (≈ 95M parameters).
    Small,
    /// TinyLlama-1.1B's blocks: width 2048, 22 blocks, 32 heads / 4 KV heads, FFN 5632
    /// (≈ 1.0B parameters; the test vocabulary is small, so no 32k-row embedding).
    #[value(name = "1b")]
    OneB,
    /// Qwen2.5-0.5B's blocks: width 896 (not whole 256-blocks: K-quant mixes store those
    /// matrices in 32-block formats), 24 blocks, 14 heads / 2 KV heads, FFN 4864
    /// (≈ 0.36B parameters without the 152k-row embedding).
    #[value(name = "0.5b")]
    HalfB,
}

/// Weight dtypes by name.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum WeightsName {
    F32,
    F16,
    #[value(name = "q8_0")]
    Q8_0,
    /// Q4_0 with a Q6_K output matrix, like llama.cpp's Q4_0 files.
    #[value(name = "q4_0")]
    Q4_0,
    /// Q4_K with Q6_K for attn_v, ffn_down and output, like llama.cpp's Q4_K_M.
    #[value(name = "q4_k_m")]
    Q4KM,
}

/// Write a random-weight llama-family GGUF model.
#[derive(clap::Parser, Debug)]
struct Args {
    /// Output file.
    out: PathBuf,
    /// Model shape.
    #[arg(long, value_enum, default_value_t = ShapeName::Tiny)]
    shape: ShapeName,
    /// Weight dtypes.
    #[arg(long, value_enum, default_value_t = WeightsName::Q4_0)]
    weights: WeightsName,
    /// Write a `qwen2` model (half-split RoPE, Q/K/V biases, tied embeddings) instead of
    /// `llama`.
    #[arg(long)]
    qwen2: bool,
    /// Seed of the random weights.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Vocabulary rows (embedding and output matrix), padded with unused tokens past the
    /// test tokenizer's few hundred: e.g. 151936 for Qwen2.5's, 128256 for Llama 3's.
    #[arg(long)]
    vocab: Option<usize>,
}

fn spec(args: &Args) -> TestModelSpec {
    let base = if args.qwen2 {
        TestModelSpec::tiny_qwen2()
    } else {
        TestModelSpec::tiny_llama()
    };
    let shaped = match args.shape {
        ShapeName::Tiny => base,
        ShapeName::Small => TestModelSpec {
            embedding_length: 1024,
            block_count: 8,
            feed_forward_length: 2816,
            head_count: 16,
            head_count_kv: 4,
            context_length: 2048,
            ..base
        },
        ShapeName::HalfB => TestModelSpec {
            embedding_length: 896,
            block_count: 24,
            feed_forward_length: 4864,
            head_count: 14,
            head_count_kv: 2,
            context_length: 2048,
            ..base
        },
        ShapeName::OneB => TestModelSpec {
            embedding_length: 2048,
            block_count: 22,
            feed_forward_length: 5632,
            head_count: 32,
            head_count_kv: 4,
            context_length: 2048,
            ..base
        },
    };
    TestModelSpec {
        arch: if args.qwen2 {
            Architecture::Qwen2
        } else {
            Architecture::Llama
        },
        weights: match args.weights {
            WeightsName::F32 => WeightTypes::All(DType::F32),
            WeightsName::F16 => WeightTypes::All(DType::F16),
            WeightsName::Q8_0 => WeightTypes::All(DType::Q8_0),
            WeightsName::Q4_0 => WeightTypes::Q4_0WithQ6KOutput,
            WeightsName::Q4KM => WeightTypes::Q4KM,
        },
        seed: args.seed,
        vocab_rows: args.vocab,
        ..shaped
    }
}

fn main() -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    let spec = spec(&args);
    let written = build_test_model(&spec).and_then(|m| write_gguf(&m, &args.out));
    match written {
        Ok(()) => {
            println!(
                "{}: {} width {}, {} blocks, FFN {}, {} heads / {} KV heads, {:?}",
                args.out.display(),
                spec.arch.name(),
                spec.embedding_length,
                spec.block_count,
                spec.feed_forward_length,
                spec.head_count,
                spec.head_count_kv,
                spec.weights
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
