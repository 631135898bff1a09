//! `edgeplane run`: generate text from a prompt, streaming tokens, with tokens/s.

use super::model_args::ModelArgs;
use edgeplane::model::Sampler;
use edgeplane::Result;
use std::io::Write;
use std::time::Instant;

/// Arguments of `edgeplane run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Model and backend.
    #[command(flatten)]
    pub model: ModelArgs,
    /// The prompt text.
    #[arg(long)]
    pub prompt: String,
    /// Tokens to generate at most.
    #[arg(short = 'n', long = "n-predict", default_value_t = 64)]
    pub n_predict: usize,
    /// Sampling temperature; 0 picks the most likely token.
    #[arg(long, default_value_t = 0.0)]
    pub temp: f32,
    /// Random seed for sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Prefills the prompt, then decodes one token at a time until EOS or `-n` tokens.
pub fn run(args: &RunArgs) -> Result<()> {
    let mut session = args.model.open_session()?;
    let model = session.model().clone();
    let tokenizer = model.tokenizer()?;
    let prompt = tokenizer.encode(&args.prompt, true, false)?;
    let vocab = model.vocab_size();
    let mut sampler = Sampler::new(args.temp, args.seed);
    let mut stream = tokenizer.stream();
    let mut out = std::io::stdout();

    print!("{}", args.prompt);
    let started = Instant::now();
    let logits = session.eval_last(&prompt)?;
    let prompt_secs = started.elapsed().as_secs_f64();
    let mut next = sampler.sample(&logits[logits.len() - vocab..]);

    let decode_started = Instant::now();
    let mut generated = 0;
    while generated < args.n_predict && Some(next) != tokenizer.eos() {
        let text = stream.push(tokenizer, next)?;
        print!("{text}");
        // A failed flush only delays the text; generation goes on.
        let _ = out.flush();
        generated += 1;
        if generated == args.n_predict || session.position() >= session.capacity() {
            break;
        }
        let logits = session.eval(&[next])?;
        next = sampler.sample(&logits);
    }
    println!("{}", stream.finish());
    let decode_secs = decode_started.elapsed().as_secs_f64();
    eprintln!(
        "prompt: {} tokens in {:.3} s ({:.1} tokens/s); decode: {generated} tokens in {:.3} s ({:.1} tokens/s)",
        prompt.len(),
        prompt_secs,
        prompt.len() as f64 / prompt_secs.max(1e-9),
        decode_secs,
        generated as f64 / decode_secs.max(1e-9),
    );
    Ok(())
}
