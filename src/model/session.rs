//! Running a model on a backend: one sequence, its KV cache, batched prefill and one-token
//! decode.
//!
//! **Design.** A [`Graph`](crate::Graph) has fixed shapes, so a graph is built and compiled
//! per token count `n` (lazily, kept for reuse): `n = prompt length` for a batched prefill,
//! `n = 1` for decode; and per [`Logits`]: a prompt that only needs its last token's
//! logits ([`Session::eval_last`]) gets a graph that projects just that row. Every graph of a session has KV caches of the same capacity. The
//! caches are state inside an executable, so the sequence lives in one executable at a
//! time (its "holder"). When the next call uses another `n`, the caches are moved with
//! [`Executable::read_state`] / [`Executable::write_state`]. Where a backend cannot do that
//! (both are optional), the session falls back to the one-token executable for the rest of
//! the sequence, replaying the tokens seen so far through it: slower, always correct.

use super::{Logits, Model};
use crate::backend::{Backend, Executable};
use crate::error::{Error, Result};
use crate::tensor::HostTensor;
use crate::DType;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Context used when the caller sets no limit and the model's own is larger: KV caches are
/// allocated up front, and a 128k-token cache for every block would not fit most devices.
pub const DEFAULT_CONTEXT_CAP: usize = 4096;

/// How a session sizes and stores its KV cache.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// Positions the KV cache holds; `None`: the model's context length, capped at
    /// [`DEFAULT_CONTEXT_CAP`]. Never more than the model's context length.
    pub context: Option<usize>,
    /// KV cache dtype, F32 (default: exact) or F16 (half the memory).
    pub kv_dtype: DType,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            context: None,
            kv_dtype: DType::F32,
        }
    }
}

/// A compiled graph's token count and logit rows (one token's graph is always `All`).
type Key = (usize, Logits);

fn key(n: usize, logits: Logits) -> Key {
    (n, if n == 1 { Logits::All } else { logits })
}

/// Batch graphs (more than one token) a session keeps compiled, besides the one-token
/// graph: a chat's prompts come in every length, and each executable holds its graph and
/// its backend's buffers (the fast backend keeps a run's largest set of live values, tens
/// of MB for a few hundred tokens), so the least recently used one goes when a new length
/// would exceed this.
pub const MAX_BATCH_GRAPHS: usize = 4;

struct Compiled {
    forward: super::ForwardGraph,
    exe: Box<dyn Executable>,
    /// The session's run count when this graph last ran (or was compiled).
    last_used: u64,
}

/// One sequence of a model running on one backend.
pub struct Session {
    model: Arc<Model>,
    backend: Arc<dyn Backend>,
    capacity: usize,
    kv_dtype: DType,
    compiled: BTreeMap<Key, Compiled>,
    /// The token count of the executable whose state holds the sequence.
    holder: Option<Key>,
    /// Whether moving state between executables failed once (then only `n = 1` is used).
    stepping_only: bool,
    history: Vec<u32>,
    /// Runs so far (the clock of `Compiled::last_used`).
    runs: u64,
}

impl Session {
    /// A new, empty sequence of `model` on `backend`. Nothing is compiled yet.
    pub fn new(
        model: Arc<Model>,
        backend: Arc<dyn Backend>,
        options: SessionOptions,
    ) -> Result<Self> {
        let limit = model.config.context_length;
        let capacity = match options.context {
            Some(0) => return Err(Error::InvalidInput("context size must be positive".into())),
            Some(c) if c > limit => {
                return Err(Error::InvalidInput(format!(
                    "context {c} is larger than the model's context length {limit}"
                )))
            }
            Some(c) => c,
            None => limit.min(DEFAULT_CONTEXT_CAP),
        };
        if !matches!(options.kv_dtype, DType::F32 | DType::F16) {
            return Err(Error::UnsupportedDType {
                dtype: options.kv_dtype,
                context: "KV cache (f32 or f16)".into(),
            });
        }
        Ok(Session {
            model,
            backend,
            capacity,
            kv_dtype: options.kv_dtype,
            compiled: BTreeMap::new(),
            holder: None,
            stepping_only: false,
            history: Vec::new(),
            runs: 0,
        })
    }

    /// The model.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// Tokens in the sequence so far (the next token's position).
    pub fn position(&self) -> usize {
        self.history.len()
    }

    /// Positions the KV cache holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the sequence had to fall back to one-token steps because the backend cannot
    /// move KV caches between executables.
    pub fn is_stepping_only(&self) -> bool {
        self.stepping_only
    }

    /// Starts a new sequence.
    pub fn reset(&mut self) -> Result<()> {
        for c in self.compiled.values_mut() {
            c.exe.reset_state()?;
        }
        self.holder = None;
        self.history.clear();
        Ok(())
    }

    /// Feeds `tokens` as one batch and returns their logits, `tokens.len() × vocab` values
    /// row by row. Errors: `ContextOverflow` past the capacity, `InvalidInput` for ids
    /// outside the vocabulary, and whatever the backend reports.
    pub fn eval(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        self.eval_for(tokens, Logits::All)
    }

    /// Feeds `tokens` as one batch and returns the last one's logits (`vocab` values):
    /// what generation needs after a prompt, without projecting every other token onto the
    /// vocabulary. Errors as [`Session::eval`].
    pub fn eval_last(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        let mut logits = self.eval_for(tokens, Logits::Last)?;
        let vocab = self.model.vocab_size();
        Ok(logits.split_off(logits.len() - vocab))
    }

    fn eval_for(&mut self, tokens: &[u32], logits: Logits) -> Result<Vec<f32>> {
        self.check(tokens)?;
        let key = key(tokens.len(), logits);
        if !self.stepping_only && self.make_holder(key)? {
            return self.run(key, tokens);
        }
        self.make_holder_by_replay()?;
        self.eval_steps(tokens)
    }

    /// Feeds `tokens` one at a time through the one-token graph; returns their logits as
    /// [`Session::eval`] does.
    pub fn eval_steps(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        self.check(tokens)?;
        if !self.make_holder(key(1, Logits::All))? {
            self.make_holder_by_replay()?;
        }
        let mut logits = Vec::with_capacity(tokens.len() * self.model.vocab_size());
        for &t in tokens {
            logits.extend(self.run(key(1, Logits::All), &[t])?);
        }
        Ok(logits)
    }

    fn check(&self, tokens: &[u32]) -> Result<()> {
        if tokens.is_empty() {
            return Err(Error::InvalidInput("no tokens to evaluate".into()));
        }
        let needed = self.history.len() + tokens.len();
        if needed > self.capacity {
            return Err(Error::ContextOverflow {
                needed,
                limit: self.capacity,
            });
        }
        let vocab = self.model.vocab_size();
        if let Some(bad) = tokens.iter().find(|&&t| t as usize >= vocab) {
            return Err(Error::InvalidInput(format!(
                "token id {bad} is outside the vocabulary of {vocab} tokens"
            )));
        }
        Ok(())
    }

    fn compile(&mut self, key: Key) -> Result<()> {
        if !self.compiled.contains_key(&key) {
            let (n, logits) = key;
            if n > 1 {
                // Before compiling: the dropped executable's memory is free for the new one.
                self.evict_batch_graph();
            }
            let forward = self
                .model
                .build_graph(n, self.capacity, self.kv_dtype, logits)?;
            let exe = self.backend.compile(&forward.graph)?;
            let last_used = self.runs;
            self.compiled.insert(
                key,
                Compiled {
                    forward,
                    exe,
                    last_used,
                },
            );
        }
        Ok(())
    }

    /// Drops the least recently used batch graph that does not hold the sequence when
    /// [`MAX_BATCH_GRAPHS`] are compiled.
    fn evict_batch_graph(&mut self) {
        if self.compiled.keys().filter(|k| k.0 > 1).count() < MAX_BATCH_GRAPHS {
            return;
        }
        let oldest = self
            .compiled
            .iter()
            .filter(|(k, _)| k.0 > 1 && Some(**k) != self.holder)
            .min_by_key(|(_, c)| c.last_used)
            .map(|(k, _)| *k);
        if let Some(k) = oldest {
            self.compiled.remove(&k);
        }
    }

    /// Graphs compiled and kept (the one-token graph and up to [`MAX_BATCH_GRAPHS`] batch
    /// graphs).
    pub fn compiled_graphs(&self) -> usize {
        self.compiled.len()
    }

    /// Makes the executable of `key` hold the sequence, moving the KV caches if another
    /// one holds them. Returns false when the backend cannot move state.
    fn make_holder(&mut self, key: Key) -> Result<bool> {
        self.compile(key)?;
        let from = match self.holder {
            Some(h) if h != key => h,
            _ => {
                self.holder = Some(key);
                return Ok(true);
            }
        };
        let mut moved = Vec::new();
        {
            let source = &self.compiled[&from];
            for &(k, v) in &source.forward.kv_caches {
                for id in [k, v] {
                    match source.exe.read_state(id) {
                        Ok(t) => moved.push(t),
                        Err(Error::Unsupported { .. }) => return Ok(false),
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        let target = self
            .compiled
            .get_mut(&key)
            .expect("compile(key) inserted the executable");
        let ids = target.forward.kv_caches.iter().flat_map(|&(k, v)| [k, v]);
        for (id, value) in ids.zip(&moved) {
            match target.exe.write_state(id, value) {
                Ok(()) => {}
                Err(Error::Unsupported { .. }) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        self.holder = Some(key);
        Ok(true)
    }

    /// The fallback: from now on the one-token executable holds the sequence, rebuilt by
    /// replaying every token seen so far.
    fn make_holder_by_replay(&mut self) -> Result<()> {
        self.stepping_only = true;
        let one = key(1, Logits::All);
        self.compile(one)?;
        if self.holder == Some(one) {
            return Ok(());
        }
        log::info!(
            "{}: cannot move KV caches between executables; replaying {} tokens one at a time",
            self.backend.info().backend,
            self.history.len()
        );
        let history = std::mem::take(&mut self.history);
        let compiled = self
            .compiled
            .get_mut(&one)
            .expect("compile(one) inserted it");
        compiled.exe.reset_state()?;
        self.holder = Some(one);
        for &t in &history {
            self.run(one, &[t])?;
        }
        Ok(())
    }

    /// One run of the executable of `key` at the current position; appends to history.
    fn run(&mut self, key: Key, tokens: &[u32]) -> Result<Vec<f32>> {
        let n = key.0;
        let start = self.history.len();
        let ids: Vec<i32> = tokens.iter().map(|&t| t as i32).collect();
        let positions: Vec<i32> = (start..start + n).map(|p| p as i32).collect();
        let inputs = [
            HostTensor::from_i32([n], &ids)?,
            HostTensor::from_i32([n], &positions)?,
        ];
        let compiled = self
            .compiled
            .get_mut(&key)
            .expect("callers compile before running");
        self.runs += 1;
        compiled.last_used = self.runs;
        let outputs = compiled.exe.run(&inputs)?;
        let logits = outputs.first().ok_or_else(|| Error::Device {
            backend: self.backend.info().backend,
            message: "run returned no outputs for a graph with one".into(),
        })?;
        let values = logits.to_f32()?;
        self.history.extend_from_slice(tokens);
        Ok(values)
    }
}
