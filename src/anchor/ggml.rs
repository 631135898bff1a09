//! ggml (from llama.cpp, through `llama-cpp-sys-2`) as an anchor: one-op graphs on ggml's
//! CPU backend with a persistent ggml thread pool, fed the same bytes and thread count as
//! edgeplane's backends, and ggml's own quantizer.
//!
//! Every ggml call goes through this file; the rest of the crate sees safe types. ggml
//! aborts the process on contract violations (bad shapes), so the constructors check
//! shapes and sizes before calling it.

use crate::error::{Error, Result};
use crate::DType;
use llama_cpp_sys_2 as sys;
use std::ptr::NonNull;

fn ggml_error(message: impl Into<String>) -> Error {
    Error::Device {
        backend: "ggml".into(),
        message: message.into(),
    }
}

/// The ggml type number for `dtype` (ggml and edgeplane share the numbering).
fn ggml_type(dtype: DType) -> sys::ggml_type {
    dtype.ggml_type() as sys::ggml_type
}

/// Quantizes `rows` rows of `k` values with ggml's quantizer (`ggml_quantize_chunk`), for
/// tests that check our formats are bit-compatible and benches that need ggml-made weights.
pub fn quantize(dtype: DType, src: &[f32], k: usize) -> Result<Vec<u8>> {
    if k == 0
        || !src.len().is_multiple_of(k)
        || !k.is_multiple_of(dtype.block_size())
        || dtype == DType::I32
    {
        return Err(Error::Shape(format!(
            "ggml quantize: {} values are not whole rows of {k} whole {dtype} blocks",
            src.len()
        )));
    }
    let rows = src.len() / k;
    let bytes = rows * k / dtype.block_size() * dtype.block_bytes();
    let mut out = vec![0u8; bytes];
    // SAFETY: `src` holds rows*k f32 and `out` rows*row_size bytes (ggml's row size for these
    // types is k/block*block_bytes, the same table as DType's); no importance matrix is
    // passed, which the non-IQ types accept; ggml_cpu_init only fills lookup tables.
    let written = unsafe {
        sys::ggml_cpu_init();
        sys::ggml_quantize_chunk(
            ggml_type(dtype),
            src.as_ptr(),
            out.as_mut_ptr().cast(),
            0,
            rows as i64,
            k as i64,
            std::ptr::null(),
        )
    };
    if written != bytes {
        return Err(ggml_error(format!(
            "ggml_quantize_chunk wrote {written} bytes for {rows}x{k} {dtype}, expected {bytes}"
        )));
    }
    Ok(out)
}

/// A ggml context holding one op's tensors and graph (or several independent one-op
/// graphs, see [`GgmlMatMul::with_copies`]), plus one ggml thread pool and the work buffer
/// ggml's plan asks for. Dropping it frees both.
struct OneOpGraph {
    ctx: NonNull<sys::ggml_context>,
    /// One graph per output, each ending at that output tensor.
    graphs: Vec<(*mut sys::ggml_cgraph, *mut sys::ggml_tensor)>,
    threadpool: NonNull<sys::ggml_threadpool>,
    work: Vec<u8>,
    threads: usize,
}

/// Bytes of slack per tensor for ggml's data alignment inside a context.
const TENSOR_SLACK_BYTES: usize = 64;

impl OneOpGraph {
    /// A context with room for `data_bytes` of tensor data in up to `tensors` tensors and
    /// `graphs` graphs (plus overheads).
    fn context(
        data_bytes: usize,
        tensors: usize,
        graphs: usize,
    ) -> Result<NonNull<sys::ggml_context>> {
        // SAFETY: pure size queries.
        let overhead = unsafe {
            tensors * (sys::ggml_tensor_overhead() + TENSOR_SLACK_BYTES)
                + graphs * sys::ggml_graph_overhead()
        };
        let params = sys::ggml_init_params {
            mem_size: data_bytes + overhead + (1 << 20),
            mem_buffer: std::ptr::null_mut(),
            no_alloc: false,
        };
        // SAFETY: ggml_cpu_init fills ggml's lookup tables (idempotent); ggml_init allocates a
        // context of mem_size bytes it owns (mem_buffer null), or returns null on failure.
        let ctx = unsafe {
            sys::ggml_cpu_init();
            sys::ggml_init(params)
        };
        NonNull::new(ctx).ok_or_else(|| ggml_error("ggml_init failed (out of memory?)"))
    }

    /// Builds one graph ending at each of `outputs`, and a thread pool of `threads` that
    /// all of them share.
    fn finish(
        ctx: NonNull<sys::ggml_context>,
        outputs: &[*mut sys::ggml_tensor],
        threads: usize,
    ) -> Result<OneOpGraph> {
        if outputs.is_empty() || outputs.iter().any(|o| o.is_null()) {
            // SAFETY: ctx came from ggml_init and is freed once, here.
            unsafe { sys::ggml_free(ctx.as_ptr()) };
            return Err(ggml_error("ggml op returned no tensor"));
        }
        // SAFETY: ctx is live and was sized for one graph per output; each graph is
        // allocated inside it and lives as long as it.
        let graphs: Vec<_> = outputs
            .iter()
            .map(|&output| unsafe {
                let g = sys::ggml_new_graph(ctx.as_ptr());
                sys::ggml_build_forward_expand(g, output);
                (g, output)
            })
            .collect();
        // SAFETY: params_default returns a plain struct; threadpool_new copies it.
        let pool = unsafe {
            let mut params = sys::ggml_threadpool_params_default(threads as i32);
            sys::ggml_threadpool_new(&mut params)
        };
        let Some(threadpool) = NonNull::new(pool) else {
            // SAFETY: ctx came from ggml_init and is freed once, here.
            unsafe { sys::ggml_free(ctx.as_ptr()) };
            return Err(ggml_error("ggml_threadpool_new failed"));
        };
        // SAFETY: the graphs and the pool are live; the plans only report sizes.
        let work_size = graphs
            .iter()
            .map(|&(g, _)| unsafe {
                sys::ggml_graph_plan(g, threads as i32, threadpool.as_ptr()).work_size
            })
            .max()
            .unwrap_or(0);
        Ok(OneOpGraph {
            ctx,
            graphs,
            threadpool,
            work: vec![0u8; work_size],
            threads,
        })
    }

    /// Runs graph `index` (< `graphs.len()`, checked by callers) once on ggml's CPU backend.
    fn compute(&mut self, index: usize) -> Result<()> {
        let graph = self.graphs[index].0;
        // SAFETY: graph and threadpool are live (owned by self); the plan is re-made for this
        // graph and its work buffer points at `self.work`, grown to the size the plan asks
        // for, which outlives the call.
        let status = unsafe {
            let mut plan =
                sys::ggml_graph_plan(graph, self.threads as i32, self.threadpool.as_ptr());
            if plan.work_size > self.work.len() {
                self.work.resize(plan.work_size, 0);
            }
            plan.work_data = self.work.as_mut_ptr();
            sys::ggml_graph_compute(graph, &mut plan)
        };
        if status != sys::GGML_STATUS_SUCCESS {
            return Err(ggml_error(format!(
                "ggml_graph_compute returned status {status}"
            )));
        }
        Ok(())
    }

    /// Parks the pool's workers until the next run. After a run they poll for the next
    /// graph for a while, holding their cores; parked, they wait on a condition variable,
    /// and `ggml_graph_compute` resumes them.
    fn park(&mut self) {
        // SAFETY: the pool is live (owned by self); pausing only flips its state.
        unsafe { sys::ggml_threadpool_pause(self.threadpool.as_ptr()) };
    }

    /// Graph `index`'s output tensor data as f32 (`len` values).
    fn output_f32(&self, index: usize, len: usize) -> &[f32] {
        // SAFETY: each output is an f32 tensor of `len` elements allocated in ctx (no_alloc
        // was false) and lives as long as self; ggml data is suitably aligned for f32.
        unsafe {
            std::slice::from_raw_parts(sys::ggml_get_data(self.graphs[index].1).cast::<f32>(), len)
        }
    }
}

impl Drop for OneOpGraph {
    fn drop(&mut self) {
        // SAFETY: both were created by this value and are freed exactly once.
        unsafe {
            sys::ggml_threadpool_free(self.threadpool.as_ptr());
            sys::ggml_free(self.ctx.as_ptr());
        }
    }
}

/// Copies `src` bytes into a freshly allocated tensor's data.
///
/// # Safety
/// `t` must be a live tensor with data allocated in its context and `ggml_nbytes(t)` must
/// equal `src.len()` (checked here, so a mismatch is an error, not UB).
unsafe fn fill(t: *mut sys::ggml_tensor, src: &[u8]) -> Result<()> {
    // SAFETY: the caller guarantees `t` is live.
    let n = unsafe { sys::ggml_nbytes(t) };
    if n != src.len() {
        return Err(ggml_error(format!(
            "tensor needs {n} bytes, got {}",
            src.len()
        )));
    }
    // SAFETY: the tensor's data is n = src.len() writable bytes, distinct from `src`.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), sys::ggml_get_data(t).cast::<u8>(), n);
    }
    Ok(())
}

/// `y = x · Wᵀ` as one ggml `mul_mat`: weights `[m, k]` in a ggml dtype, activations
/// `[n, k]` f32, output `[n, m]` f32.
pub struct GgmlMatMul {
    graph: OneOpGraph,
    x: *mut sys::ggml_tensor,
    n: usize,
    m: usize,
    k: usize,
}

impl GgmlMatMul {
    /// Uploads the weights and builds the graph for `n` activation rows on `threads`.
    pub fn new(
        dtype: DType,
        weight_bytes: &[u8],
        m: usize,
        k: usize,
        n: usize,
        threads: usize,
    ) -> Result<GgmlMatMul> {
        GgmlMatMul::with_copies(dtype, weight_bytes, m, k, n, threads, 1)
    }

    /// Like [`GgmlMatMul::new`] but with `copies` separate copies of the weights in memory,
    /// one `mul_mat` graph each, sharing one activation tensor and one thread pool. Cycling
    /// [`GgmlMatMul::run_copy`] over copies that together exceed the last-level cache
    /// makes every call read its weights from DRAM (the cold-cache decode bench).
    pub fn with_copies(
        dtype: DType,
        weight_bytes: &[u8],
        m: usize,
        k: usize,
        n: usize,
        threads: usize,
        copies: usize,
    ) -> Result<GgmlMatMul> {
        let want = crate::TensorDesc::new(dtype, [m, k]).byte_len()?;
        if weight_bytes.len() != want
            || n == 0
            || threads == 0
            || copies == 0
            || dtype == DType::I32
        {
            return Err(Error::Shape(format!(
                "ggml mul_mat: {dtype}[{m}, {k}] needs {want} bytes (got {}), n {n}, threads {threads} and copies {copies} must be > 0",
                weight_bytes.len()
            )));
        }
        let ctx = OneOpGraph::context(
            copies * (want + 4 * n * m) + 4 * n * k,
            2 * copies + 1,
            copies,
        )?;
        // SAFETY: ctx is live and sized for these tensors; tensors are allocated in it with
        // the sizes checked above; ggml mul_mat requires a.ne0 == b.ne0 (both k), which holds.
        let (x, outputs) = unsafe {
            let c = ctx.as_ptr();
            let x = sys::ggml_new_tensor_2d(c, sys::GGML_TYPE_F32, k as i64, n as i64);
            if x.is_null() {
                sys::ggml_free(c);
                return Err(ggml_error("tensor allocation failed"));
            }
            let mut outputs = Vec::with_capacity(copies);
            for _ in 0..copies {
                let w = sys::ggml_new_tensor_2d(c, ggml_type(dtype), k as i64, m as i64);
                if w.is_null() {
                    sys::ggml_free(c);
                    return Err(ggml_error("tensor allocation failed"));
                }
                if let Err(e) = fill(w, weight_bytes) {
                    sys::ggml_free(c);
                    return Err(e);
                }
                outputs.push(sys::ggml_mul_mat(c, w, x));
            }
            (x, outputs)
        };
        let graph = OneOpGraph::finish(ctx, &outputs, threads)?;
        Ok(GgmlMatMul { graph, x, n, m, k })
    }

    /// Runs with activations `x` (`n × k`) and returns the output `[n, m]`.
    pub fn run(&mut self, x: &[f32]) -> Result<&[f32]> {
        self.run_copy(0, x)
    }

    /// Runs on weight copy `copy` (see [`GgmlMatMul::with_copies`]) with activations `x`
    /// (`n × k`) and returns the output `[n, m]`.
    pub fn run_copy(&mut self, copy: usize, x: &[f32]) -> Result<&[f32]> {
        if x.len() != self.n * self.k || copy >= self.graph.graphs.len() {
            return Err(Error::InvalidInput(format!(
                "ggml mul_mat: x has {} values, expected {}x{}; copy {copy} of {}",
                x.len(),
                self.n,
                self.k,
                self.graph.graphs.len()
            )));
        }
        // SAFETY: self.x is a live f32 tensor of n*k elements in the graph's context.
        unsafe { fill(self.x, bytemuck::cast_slice(x))? };
        self.graph.compute(copy)?;
        Ok(self.graph.output_f32(copy, self.n * self.m))
    }

    /// Parks ggml's worker threads until the next run: between runs they otherwise poll
    /// for work and hold cores that other code timed in between needs.
    pub fn park(&mut self) {
        self.graph.park();
    }
}

/// Attention of `n` query rows over a KV cache as one ggml `flash_attn_ext` (no mask:
/// every query sees every key, the decode case), K and V in f16.
pub struct GgmlAttention {
    graph: OneOpGraph,
    q: *mut sys::ggml_tensor,
    q_len: usize,
}

/// Geometry of a [`GgmlAttention`].
#[derive(Clone, Copy, Debug)]
pub struct AttentionShape {
    /// Query rows.
    pub n: usize,
    /// Query heads.
    pub n_head: usize,
    /// KV heads.
    pub n_kv_head: usize,
    /// Dims per head.
    pub head_dim: usize,
    /// Keys.
    pub kv_len: usize,
}

impl GgmlAttention {
    /// Uploads K and V (`[kv_len, n_kv_head*head_dim]` f16, row-major like our caches) and
    /// builds the graph.
    pub fn new(
        s: AttentionShape,
        k: &[half::f16],
        v: &[half::f16],
        scale: f32,
        threads: usize,
    ) -> Result<GgmlAttention> {
        let kv_values = s.kv_len * s.n_kv_head * s.head_dim;
        if k.len() != kv_values
            || v.len() != kv_values
            || s.n == 0
            || s.n_kv_head == 0
            || !s.n_head.is_multiple_of(s.n_kv_head)
            || threads == 0
        {
            return Err(Error::Shape(format!("ggml attention: bad shape {s:?}")));
        }
        let q_len = s.n * s.n_head * s.head_dim;
        let ctx = OneOpGraph::context(4 * kv_values + 8 * q_len, 16, 1)?;
        let (d, kv) = (s.head_dim as i64, s.kv_len as i64);
        // SAFETY: ctx is live; tensors are allocated with the checked sizes. Our row-major
        // [rows, heads*head_dim] is ggml ne [head_dim, heads, rows]; permuting axes 1 and 2
        // gives the [head_dim, rows, heads] views flash_attn_ext expects (as llama.cpp does).
        let (q, out) = unsafe {
            let c = ctx.as_ptr();
            let q = sys::ggml_new_tensor_3d(c, sys::GGML_TYPE_F32, d, s.n_head as i64, s.n as i64);
            let kt = sys::ggml_new_tensor_3d(c, sys::GGML_TYPE_F16, d, s.n_kv_head as i64, kv);
            let vt = sys::ggml_new_tensor_3d(c, sys::GGML_TYPE_F16, d, s.n_kv_head as i64, kv);
            if q.is_null() || kt.is_null() || vt.is_null() {
                sys::ggml_free(c);
                return Err(ggml_error("tensor allocation failed"));
            }
            for (t, src) in [(kt, k), (vt, v)] {
                if let Err(e) = fill(t, bytemuck::cast_slice(src)) {
                    sys::ggml_free(c);
                    return Err(e);
                }
            }
            let qp = sys::ggml_permute(c, q, 0, 2, 1, 3);
            let kp = sys::ggml_permute(c, kt, 0, 2, 1, 3);
            let vp = sys::ggml_permute(c, vt, 0, 2, 1, 3);
            let out =
                sys::ggml_flash_attn_ext(c, qp, kp, vp, std::ptr::null_mut(), scale, 0.0, 0.0);
            if !out.is_null() {
                sys::ggml_flash_attn_ext_set_prec(out, sys::GGML_PREC_F32);
            }
            (q, out)
        };
        let graph = OneOpGraph::finish(ctx, &[out], threads)?;
        Ok(GgmlAttention { graph, q, q_len })
    }

    /// Runs with queries `[n, n_head*head_dim]`; returns `[n, n_head*head_dim]`.
    pub fn run(&mut self, q: &[f32]) -> Result<&[f32]> {
        if q.len() != self.q_len {
            return Err(Error::InvalidInput(format!(
                "ggml attention: q has {} values, expected {}",
                q.len(),
                self.q_len
            )));
        }
        // SAFETY: self.q is a live f32 tensor of q_len elements in the graph's context.
        unsafe { fill(self.q, bytemuck::cast_slice(q))? };
        self.graph.compute(0)?;
        Ok(self.graph.output_f32(0, self.q_len))
    }

    /// Parks ggml's worker threads until the next run (see [`GgmlMatMul::park`]).
    pub fn park(&mut self) {
        self.graph.park();
    }
}
