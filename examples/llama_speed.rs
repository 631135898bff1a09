//! llama.cpp's prompt and decode speed on a GGUF file, printed like `edgeplane run` prints
//! its own, so the two can be compared on the same file, machine and thread count:
//!
//! ```text
//! cargo run --release --features anchor-ggml --example llama_speed -- \
//!     --model /tmp/95m.gguf --prompt "the cat sat on the mat" -n 64 --threads 2
//! cargo run --release -- run --model /tmp/95m.gguf --prompt "the cat sat on the mat" -n 64
//! ```
//!
//! llama.cpp runs through `edgeplane::anchor::llama` (ggml's CPU backend, the whole prompt
//! as one batch, then one token per step, greedy), so its build flags are the bench's
//! (README: `GGML_AVX512=ON …` for this machine's AVX-512).

use clap::Parser;
use edgeplane::anchor::llama::{LlamaContextOptions, LlamaModel};
use std::path::PathBuf;
use std::time::Instant;

/// Times llama.cpp on a prompt and `n` greedy decode steps.
#[derive(Parser)]
struct Args {
    /// The GGUF model.
    #[arg(long)]
    model: PathBuf,
    /// The prompt text (tokenized by llama.cpp, with BOS).
    #[arg(long)]
    prompt: String,
    /// Tokens to decode after the prompt.
    #[arg(short, default_value_t = 64)]
    n: usize,
    /// llama.cpp threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

fn main() -> edgeplane::Result<()> {
    let args = Args::parse();
    let model = LlamaModel::load(&args.model)?;
    let prompt = model.tokenize(&args.prompt, true, false)?;
    let mut ctx = model.context_with(&LlamaContextOptions::new(
        prompt.len() + args.n + 1,
        args.threads,
    ))?;
    let vocab = model.n_vocab();
    let argmax = |logits: &[f32]| {
        logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i as u32)
    };
    let t = Instant::now();
    let logits = ctx.decode_last(&prompt, 0)?;
    let prompt_s = t.elapsed().as_secs_f64();
    let mut next = argmax(&logits[logits.len() - vocab..]);
    let t = Instant::now();
    for step in 0..args.n {
        let logits = ctx.decode(&[next], prompt.len() + step)?;
        next = argmax(&logits);
    }
    let decode_s = t.elapsed().as_secs_f64();
    println!(
        "llama.cpp ({} threads): prompt: {} tokens in {prompt_s:.3} s ({:.1} tokens/s); \
         decode: {} tokens in {decode_s:.3} s ({:.1} tokens/s)",
        args.threads,
        prompt.len(),
        prompt.len() as f64 / prompt_s,
        args.n,
        args.n as f64 / decode_s
    );
    Ok(())
}
