//! `edgeplane logits`: the f32 logits of a token sequence, as a `[n_tokens, n_vocab]` .npy.

use super::model_args::{parse_tokens, ModelArgs};
use edgeplane::{Error, Result};
use std::path::PathBuf;

/// How the tokens go through the model.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// All tokens as one prefill.
    Batch,
    /// One token at a time through the KV cache.
    Step,
}

/// Arguments of `edgeplane logits`.
#[derive(clap::Args, Debug)]
pub struct LogitsArgs {
    /// Model and backend.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Comma-separated token ids.
    #[arg(long)]
    pub tokens: String,
    /// Batch prefill or one token at a time.
    #[arg(long, value_enum, default_value = "batch")]
    pub mode: Mode,
    /// Output .npy file (float32, shape [n_tokens, n_vocab]).
    #[arg(long)]
    pub npy: PathBuf,
}

/// Evaluates the tokens and writes the logits.
pub fn run(args: &LogitsArgs) -> Result<()> {
    let tokens = parse_tokens(&args.tokens)?;
    let mut session = args.model.open_session()?;
    let logits = match args.mode {
        Mode::Batch => session.eval(&tokens)?,
        Mode::Step => session.eval_steps(&tokens)?,
    };
    let vocab = session.model().vocab_size();
    if logits.len() != tokens.len() * vocab {
        return Err(Error::Shape(format!(
            "{} logits for {} tokens of a {vocab}-token vocabulary",
            logits.len(),
            tokens.len()
        )));
    }
    super::tensor::write_npy(&args.npy, &[tokens.len() as u64, vocab as u64], &logits)?;
    println!(
        "wrote {} × {vocab} logits to {}",
        tokens.len(),
        args.npy.display()
    );
    Ok(())
}
