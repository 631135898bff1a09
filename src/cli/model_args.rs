//! What `logits` and `run` share: opening a GGUF model and choosing the backend by name.

use edgeplane::gguf::GgufFile;
use edgeplane::model::{Model, Session, SessionOptions};
use edgeplane::sched::{SchedSettings, Scheduler};
use edgeplane::{Backend, Error, Result};
use std::path::PathBuf;
use std::sync::Arc;

/// The model file and the device to run it on.
#[derive(clap::Args, Debug)]
pub struct ModelArgs {
    /// The GGUF model file (architecture `llama` or `qwen2`).
    #[arg(long)]
    pub model: PathBuf,
    /// `cpu-ref`, `cpu`, `wgpu` (the first wgpu adapter), a full backend name from
    /// `edgeplane devices`, or `auto` (the scheduler picks per node).
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// KV cache positions; default: the model's context, capped at 4096.
    #[arg(long)]
    pub context: Option<usize>,
}

impl ModelArgs {
    /// Opens the model and a fresh session on the chosen backend.
    pub fn open_session(&self) -> Result<Session> {
        let file = GgufFile::open(&self.model)?;
        let model = Arc::new(Model::from_source(&file)?);
        let backend = choose_backend(&self.backend)?;
        Session::new(
            model,
            backend,
            SessionOptions {
                context: self.context,
                ..SessionOptions::default()
            },
        )
    }
}

/// The backend called `name`; `NotAvailable` listing the names that exist otherwise.
pub fn choose_backend(name: &str) -> Result<Arc<dyn Backend>> {
    let backends = super::available_backends();
    if name == "auto" {
        return Ok(Arc::new(Scheduler::new(
            backends,
            SchedSettings::from_env(),
        )));
    }
    let names: Vec<String> = backends.iter().map(|b| b.info().backend).collect();
    let wanted = |b: &str| b == name || (name == "wgpu" && b.starts_with("wgpu:"));
    backends
        .into_iter()
        .find(|b| wanted(&b.info().backend))
        .ok_or_else(|| {
            Error::NotAvailable(format!(
                "backend {name} (present: {}, auto)",
                names.join(", ")
            ))
        })
}

/// Parses `1,300,17` into token ids.
pub fn parse_tokens(text: &str) -> Result<Vec<u32>> {
    text.split(',')
        .map(|t| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| Error::InvalidInput(format!("token id {t:?} is not a number")))
        })
        .collect()
}
