//! llama.cpp itself (through `llama-cpp-sys-2`) as the oracle for whole models: load a GGUF
//! with `llama_model_load_from_file`, decode tokens in one batch or one at a time, read the
//! logits, and tokenize text, so tests can compare edgeplane's model runner and tokenizer
//! with the implementation the GGUF format comes from.
//!
//! Every llama.cpp call of the model tests goes through this file; the rest sees safe
//! types. The context is set up to be as exact as llama.cpp allows: F32 KV cache, no flash
//! attention, CPU only, every position's logits kept.

use crate::error::{Error, Result};
use crate::model::Logits;
use llama_cpp_sys_2 as sys;
use std::ffi::CString;
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Once;

fn llama_error(message: impl Into<String>) -> Error {
    Error::Device {
        backend: "llama.cpp".into(),
        message: message.into(),
    }
}

/// Drops llama.cpp's log lines (tests print enough of their own).
unsafe extern "C" fn quiet_log(
    _level: sys::ggml_log_level,
    _text: *const std::os::raw::c_char,
    _user_data: *mut std::os::raw::c_void,
) {
}

/// Initializes llama.cpp's backends once per process, with its logging silenced unless
/// `EDGEPLANE_LLAMA_LOG` is set.
fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // SAFETY: called once, before any other llama.cpp call of this module; the log
        // callback is a plain function that ignores its arguments.
        unsafe {
            if std::env::var_os("EDGEPLANE_LLAMA_LOG").is_none() {
                sys::llama_log_set(Some(quiet_log), std::ptr::null_mut());
            }
            sys::llama_backend_init();
        }
    });
}

/// A model loaded by llama.cpp.
pub struct LlamaModel {
    model: NonNull<sys::llama_model>,
    vocab: NonNull<sys::llama_vocab>,
    n_vocab: usize,
}

// SAFETY: a llama_model is immutable after loading and llama.cpp allows using it from any
// thread; contexts (which are not shared) hold the mutable state.
unsafe impl Send for LlamaModel {}

impl LlamaModel {
    /// Loads `path` on the CPU.
    pub fn load(path: &Path) -> Result<Self> {
        init();
        let c_path = CString::new(path.to_string_lossy().as_bytes())
            .map_err(|_| llama_error(format!("{}: path contains a NUL byte", path.display())))?;
        // SAFETY: default params are plain values; the path is a valid C string that
        // outlives the call; a null result means failure and is checked.
        let model = unsafe {
            let mut params = sys::llama_model_default_params();
            params.n_gpu_layers = 0;
            sys::llama_model_load_from_file(c_path.as_ptr(), params)
        };
        let model = NonNull::new(model).ok_or_else(|| {
            llama_error(format!(
                "llama_model_load_from_file failed for {} (set EDGEPLANE_LLAMA_LOG=1 for its log)",
                path.display()
            ))
        })?;
        // SAFETY: `model` is a live model; the vocab pointer lives as long as the model.
        let (vocab, n_vocab) = unsafe {
            let vocab = sys::llama_model_get_vocab(model.as_ptr());
            (vocab, sys::llama_vocab_n_tokens(vocab))
        };
        let loaded = LlamaModel {
            model,
            vocab: NonNull::new(vocab.cast_mut())
                .ok_or_else(|| llama_error("model has no vocabulary"))?,
            n_vocab: usize::try_from(n_vocab)
                .map_err(|_| llama_error(format!("vocabulary size {n_vocab}")))?,
        };
        Ok(loaded)
    }

    /// Vocabulary size.
    pub fn n_vocab(&self) -> usize {
        self.n_vocab
    }

    /// Tokenizes `text` as llama.cpp does (`llama_tokenize`).
    pub fn tokenize(&self, text: &str, add_special: bool, parse_special: bool) -> Result<Vec<u32>> {
        let len = i32::try_from(text.len()).map_err(|_| llama_error("text too long"))?;
        let mut capacity = text.len() + 8;
        loop {
            let mut out = vec![0 as sys::llama_token; capacity];
            // SAFETY: `text` is valid for `len` bytes (llama_tokenize takes a length, no NUL
            // needed); `out` has room for `capacity` tokens; the vocab is alive.
            let n = unsafe {
                sys::llama_tokenize(
                    self.vocab.as_ptr(),
                    text.as_ptr().cast(),
                    len,
                    out.as_mut_ptr(),
                    capacity as i32,
                    add_special,
                    parse_special,
                )
            };
            if n >= 0 {
                out.truncate(n as usize);
                return Ok(out.into_iter().map(|t| t as u32).collect());
            }
            if n == i32::MIN {
                return Err(llama_error("llama_tokenize overflowed"));
            }
            // A negative count is the room needed.
            capacity = n.unsigned_abs() as usize;
        }
    }

    /// A context of `n_ctx` positions running on `threads` threads, with the exact default
    /// settings of [`LlamaContextOptions::new`].
    pub fn context(&self, n_ctx: usize, threads: usize) -> Result<LlamaContext<'_>> {
        self.context_with(&LlamaContextOptions::new(n_ctx, threads))
    }

    /// A context set up as `options` says.
    pub fn context_with(&self, options: &LlamaContextOptions) -> Result<LlamaContext<'_>> {
        let n_ctx = u32::try_from(options.n_ctx).map_err(|_| llama_error("context too large"))?;
        let n_ubatch = u32::try_from(options.n_ubatch.clamp(1, options.n_ctx.max(1)))
            .map_err(|_| llama_error("micro-batch too large"))?;
        let threads = i32::try_from(options.threads.max(1)).unwrap_or(1);
        // SAFETY: default params are plain values; the model is alive for the context's
        // lifetime (the borrow ties them); a null result means failure and is checked.
        let ctx = unsafe {
            let mut params = sys::llama_context_default_params();
            params.n_ctx = n_ctx;
            params.n_batch = n_ctx;
            params.n_ubatch = n_ubatch;
            params.n_seq_max = 1;
            params.n_threads = threads;
            params.n_threads_batch = threads;
            params.type_k = sys::GGML_TYPE_F32;
            params.type_v = sys::GGML_TYPE_F32;
            params.flash_attn_type = if options.flash_attention {
                sys::LLAMA_FLASH_ATTN_TYPE_ENABLED
            } else {
                sys::LLAMA_FLASH_ATTN_TYPE_DISABLED
            };
            params.no_perf = true;
            sys::llama_init_from_model(self.model.as_ptr(), params)
        };
        let ctx = NonNull::new(ctx).ok_or_else(|| llama_error("llama_init_from_model failed"))?;
        // SAFETY: the model is alive; n_embd is a plain getter.
        let n_embd = unsafe { sys::llama_model_n_embd(self.model.as_ptr()) };
        Ok(LlamaContext {
            ctx,
            n_vocab: self.n_vocab,
            n_embd: usize::try_from(n_embd).unwrap_or(0),
            n_ctx: n_ctx as usize,
            _model: PhantomData,
        })
    }
}

/// How a [`LlamaContext`] computes. The defaults are the most exact settings llama.cpp has
/// (F32 KV cache, CPU only); the other settings exist to measure how much llama.cpp's own
/// logits move when only the order of float operations changes.
#[derive(Clone, Debug)]
pub struct LlamaContextOptions {
    /// Positions in the KV cache (also the largest batch).
    pub n_ctx: usize,
    /// Threads for both decode and prefill.
    pub threads: usize,
    /// Tokens per micro-batch (llama.cpp splits larger batches); `n_ctx` by default.
    pub n_ubatch: usize,
    /// Use ggml's fused flash-attention op (online softmax) instead of
    /// `mul_mat → soft_max → mul_mat`; off by default.
    pub flash_attention: bool,
}

impl LlamaContextOptions {
    /// `n_ctx` positions on `threads` threads, one micro-batch, no flash attention.
    pub fn new(n_ctx: usize, threads: usize) -> Self {
        LlamaContextOptions {
            n_ctx,
            threads,
            n_ubatch: n_ctx,
            flash_attention: false,
        }
    }
}

impl Drop for LlamaModel {
    fn drop(&mut self) {
        // SAFETY: the model was created by llama_model_load_from_file and every context
        // borrowing it has been dropped (the borrow checker ensures it).
        unsafe { sys::llama_model_free(self.model.as_ptr()) }
    }
}

/// A llama.cpp context: one sequence and its KV cache.
pub struct LlamaContext<'m> {
    ctx: NonNull<sys::llama_context>,
    n_vocab: usize,
    n_embd: usize,
    n_ctx: usize,
    _model: PhantomData<&'m LlamaModel>,
}

impl LlamaContext<'_> {
    /// Empties the KV cache (a new sequence).
    pub fn clear(&mut self) {
        // SAFETY: the context is alive; clearing its memory is always allowed.
        unsafe { sys::llama_memory_clear(sys::llama_get_memory(self.ctx.as_ptr()), true) }
    }

    /// Decodes `tokens` at positions `start..` as one batch and returns every position's
    /// logits, `tokens.len() × n_vocab` values.
    pub fn decode(&mut self, tokens: &[u32], start: usize) -> Result<Vec<f32>> {
        self.decode_tokens(tokens, start, Logits::All)
    }

    /// Decodes `tokens` at positions `start..` as one batch and returns the last one's
    /// logits (`n_vocab` values): llama.cpp asked for that row only, as its own tools do
    /// for a prompt.
    pub fn decode_last(&mut self, tokens: &[u32], start: usize) -> Result<Vec<f32>> {
        self.decode_tokens(tokens, start, Logits::Last)
    }

    fn decode_tokens(&mut self, tokens: &[u32], start: usize, rows: Logits) -> Result<Vec<f32>> {
        if let Some(bad) = tokens.iter().find(|&&t| t as usize >= self.n_vocab) {
            return Err(llama_error(format!("token {bad} outside the vocabulary")));
        }
        self.decode_input(BatchInput::Tokens(tokens), start, rows)
    }

    /// Decodes input embeddings (`n × n_embd` values, row-major: what the token embedding
    /// lookup would produce) at positions `start..` as one batch; returns every position's
    /// logits like [`LlamaContext::decode`]. Lets a test feed llama.cpp slightly perturbed
    /// inputs.
    pub fn decode_embeddings(&mut self, embeddings: &[f32], start: usize) -> Result<Vec<f32>> {
        if self.n_embd == 0 || !embeddings.len().is_multiple_of(self.n_embd) {
            return Err(llama_error(format!(
                "{} embedding values are not whole rows of {}",
                embeddings.len(),
                self.n_embd
            )));
        }
        self.decode_input(BatchInput::Embeddings(embeddings), start, Logits::All)
    }

    fn decode_input(&mut self, input: BatchInput, start: usize, rows: Logits) -> Result<Vec<f32>> {
        let (n, embd) = match input {
            BatchInput::Tokens(t) => (t.len(), 0),
            BatchInput::Embeddings(e) => (e.len() / self.n_embd.max(1), self.n_embd),
        };
        if n == 0 || start + n > self.n_ctx {
            return Err(llama_error(format!(
                "decode of {n} rows at {start} in a context of {}",
                self.n_ctx
            )));
        }
        // SAFETY: the batch is allocated for `n` rows (of `embd` floats when embeddings are
        // given, else token ids) and one sequence id each; every array is written only at
        // indices < n (embd: < n·embd); llama_decode reads it and the logits of row i
        // (requested by logits[i] = 1) hold n_vocab floats until the next decode; the batch
        // is freed on every path after use.
        unsafe {
            let batch = sys::llama_batch_init(n as i32, embd as i32, 1);
            let mut b = batch;
            b.n_tokens = n as i32;
            match input {
                BatchInput::Tokens(tokens) => {
                    for (i, &t) in tokens.iter().enumerate() {
                        *b.token.add(i) = t as sys::llama_token;
                    }
                }
                BatchInput::Embeddings(values) => {
                    std::ptr::copy_nonoverlapping(values.as_ptr(), b.embd, values.len());
                }
            }
            for i in 0..n {
                *b.pos.add(i) = (start + i) as sys::llama_pos;
                *b.n_seq_id.add(i) = 1;
                **b.seq_id.add(i) = 0;
                *b.logits.add(i) = i8::from(rows == Logits::All || i + 1 == n);
            }
            let status = sys::llama_decode(self.ctx.as_ptr(), b);
            if status != 0 {
                sys::llama_batch_free(batch);
                return Err(llama_error(format!("llama_decode returned {status}")));
            }
            let first = if rows == Logits::All { 0 } else { n - 1 };
            let mut logits = Vec::with_capacity((n - first) * self.n_vocab);
            for i in first..n {
                let row = sys::llama_get_logits_ith(self.ctx.as_ptr(), i as i32);
                if row.is_null() {
                    sys::llama_batch_free(batch);
                    return Err(llama_error(format!("no logits for batch row {i}")));
                }
                logits.extend_from_slice(std::slice::from_raw_parts(row, self.n_vocab));
            }
            sys::llama_batch_free(batch);
            Ok(logits)
        }
    }

    /// Decodes `tokens` one at a time from position `start`; returns their logits as
    /// [`LlamaContext::decode`] does.
    pub fn decode_steps(&mut self, tokens: &[u32], start: usize) -> Result<Vec<f32>> {
        let mut logits = Vec::with_capacity(tokens.len() * self.n_vocab);
        for (i, &t) in tokens.iter().enumerate() {
            logits.extend(self.decode(&[t], start + i)?);
        }
        Ok(logits)
    }
}

/// What a batch carries.
#[derive(Clone, Copy)]
enum BatchInput<'a> {
    Tokens(&'a [u32]),
    Embeddings(&'a [f32]),
}

impl Drop for LlamaContext<'_> {
    fn drop(&mut self) {
        // SAFETY: the context was created by llama_init_from_model and is freed once.
        unsafe { sys::llama_free(self.ctx.as_ptr()) }
    }
}
