//! The compiled form of a graph on the fast backend: the node list, a value slot per
//! tensor (constants and state persist, the rest is refilled each run) and the backend's
//! thread pool. Nodes run in graph order; each op's kernel uses the whole pool.

use super::buffers::{release_points, BufferPool};
use super::tiles::TileCache;
use super::value::Value;
use super::{attention, elementwise, handoff, matmul};
use crate::backend::Executable;
use crate::error::{Error, Result};
use crate::graph::{Graph, Node, TensorId, TensorKind};
use crate::op::Op;
use crate::tensor::HostTensor;
use crate::DType;
use edgeplane_kernels::cpu::decode;
use edgeplane_kernels::cpu::interleaved::{self, Interleaved};
use edgeplane_kernels::cpu::{
    rope::RopeParams, ActivationRows, AttentionParams, KvCache, Simd, WeightMatrix,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A graph compiled for [`super::Fast`].
pub struct FastExecutable {
    /// Everything a run touches, boxed so that a run can move it onto a pool thread and
    /// back (`handoff::run_on_pool`); `None` only while a run has it.
    compiled: Option<Box<Compiled>>,
    /// How long the last run took on the pool: how long the next one polls for it.
    last_run: Duration,
}

/// The graph with its values, tiles and buffers.
struct Compiled {
    graph: Graph,
    pool: Arc<rayon::ThreadPool>,
    simd: Simd,
    threads: usize,
    values: Vec<Option<Value>>,
    /// Row-interleaved copies of constant matmul weights (see `FastSettings::repack`),
    /// per tensor.
    repacked: Vec<Option<Arc<Interleaved>>>,
    /// Where each tensor's value lives: itself, or the state a `KvWrite` output aliases.
    storage: Vec<usize>,
    /// f32 buffers for inputs and node outputs, recycled within and across runs.
    buffers: BufferPool,
    /// Per node, the tensors whose value goes back to the pool once it ran.
    release_after: Vec<Vec<usize>>,
    /// The tiled matmuls' converted activations, refilled by each (nodes run one at a
    /// time), so a run allocates nothing for them after the first.
    activations: ActivationRows,
}

impl FastExecutable {
    /// Takes the constants and zeroed state of `graph`; given a tile cache, uses (or
    /// repacks into it) interleaved tiles for the constant matmul weights that have a
    /// kernel at `simd`.
    pub fn new(
        graph: &Graph,
        pool: Arc<rayon::ThreadPool>,
        simd: Simd,
        threads: usize,
        tiles: Option<&TileCache>,
    ) -> Self {
        let compiled = Compiled::new(graph, pool, simd, threads, tiles);
        FastExecutable {
            compiled: Some(Box::new(compiled)),
            last_run: Duration::ZERO,
        }
    }

    fn compiled(&self) -> &Compiled {
        self.compiled
            .as_deref()
            .expect("a run puts the compiled graph back before it returns")
    }

    fn compiled_mut(&mut self) -> &mut Compiled {
        self.compiled
            .as_deref_mut()
            .expect("a run puts the compiled graph back before it returns")
    }
}

impl Compiled {
    fn new(
        graph: &Graph,
        pool: Arc<rayon::ThreadPool>,
        simd: Simd,
        threads: usize,
        tiles: Option<&TileCache>,
    ) -> Self {
        let mut storage: Vec<usize> = (0..graph.tensors().len()).collect();
        for node in graph.nodes() {
            if matches!(node.op, Op::KvWrite) {
                storage[node.output.0] = storage[node.inputs[0].0];
            }
        }
        let values = graph
            .tensors()
            .iter()
            .map(|t| match &t.kind {
                TensorKind::Constant(b) => Some(Value::from_constant(t.desc.dtype, b)),
                TensorKind::State => Some(Value::zeros(&t.desc)),
                _ => None,
            })
            .collect();
        let mut repacked: Vec<Option<Arc<Interleaved>>> = vec![None; graph.tensors().len()];
        if let Some(cache) = tiles.filter(|_| interleaved::has_kernels(simd.level())) {
            let mut ids: Vec<TensorId> = graph
                .nodes()
                .iter()
                .filter(|node| matches!(node.op, Op::MatMul { .. }))
                .filter_map(|node| node.inputs.get(1).copied())
                .collect();
            ids.sort_by_key(|id| id.0);
            ids.dedup();
            let (ids, weights): (Vec<TensorId>, Vec<WeightMatrix>) = ids
                .into_iter()
                .filter_map(|id| {
                    let t = graph.tensor(id);
                    let TensorKind::Constant(b) = &t.kind else {
                        return None;
                    };
                    let matrix = WeightMatrix {
                        dtype: t.desc.dtype,
                        rows: t.desc.shape.rows(),
                        k: t.desc.shape.cols(),
                        bytes: b.as_slice(),
                    };
                    Some((id, matrix))
                })
                .unzip();
            for (id, t) in ids
                .into_iter()
                .zip(cache.get_or_pack(&pool, simd.level(), &weights))
            {
                repacked[id.0] = t;
            }
        }
        let mut release_after = vec![Vec::new(); graph.nodes().len()];
        for (id, last) in release_points(graph, &storage).into_iter().enumerate() {
            if let Some(node) = last {
                release_after[node].push(id);
            }
        }
        Compiled {
            graph: graph.clone(),
            pool,
            simd,
            threads,
            values,
            repacked,
            storage,
            buffers: BufferPool::default(),
            release_after,
            activations: ActivationRows::default(),
        }
    }

    fn value(&self, id: TensorId) -> Result<&Value> {
        self.values[self.storage[id.0]].as_ref().ok_or_else(|| {
            Error::InvalidInput(format!(
                "tensor {} has no value (graph order broken?)",
                self.graph.tensor(id).name
            ))
        })
    }

    fn f32s(&self, id: TensorId) -> Result<&[f32]> {
        self.value(id)?.f32s(&self.graph.tensor(id).name)
    }

    fn i32s(&self, id: TensorId) -> Result<&[i32]> {
        self.value(id)?.i32s(&self.graph.tensor(id).name)
    }

    fn kv(&self, id: TensorId) -> Result<KvCache<'_>> {
        match self.value(id)? {
            Value::F32(v) => Ok(KvCache::F32(v)),
            Value::F16(v) => Ok(KvCache::F16(v)),
            _ => Err(Error::InvalidInput(format!(
                "attention K/V {} must be f32 or f16",
                self.graph.tensor(id).name
            ))),
        }
    }

    /// Computes one node's output (every op but `KvWrite`, which writes in place); f32
    /// outputs are built in `out` (from the pool).
    fn eval(&self, node: &Node, out: Vec<f32>, acts: &mut ActivationRows) -> Result<Value> {
        let inp = &node.inputs;
        let desc = |i: usize| &self.graph.tensor(inp[i]).desc;
        let cols = desc(0).shape.cols();
        Ok(Value::F32(match &node.op {
            Op::MatMul { has_bias } => {
                let (n, k) = (desc(0).shape.rows(), cols);
                let m = desc(1).shape.rows();
                let bias = if *has_bias {
                    Some(self.f32s(inp[2])?)
                } else {
                    None
                };
                // Tiles padded to whole tiles (a `k` such as 896) read their zero blocks
                // too. Where the raw rows have a decode kernel (Q4_0/Q8_0 on AVX-512 VNNI)
                // one activation row takes those, which are still there: from DRAM they
                // stream ~20 % faster than the padded tiles (Q8_0 4864×896: 0.23 against
                // 0.26–0.30 ms). The other formats' raw row kernels are compute-bound and
                // slower than the padded tiles even from DRAM (Q5_0: 0.28 against 0.18).
                let tiles = self.repacked[inp[1].0].as_ref().filter(|w| {
                    n > 1 || w.padded_k() == w.k() || !decode::has_kernel(self.simd, w.dtype())
                });
                if let Some(w) = tiles {
                    return Ok(Value::F32(matmul::matmul_interleaved(
                        acts,
                        out,
                        self.simd,
                        self.threads,
                        self.f32s(inp[0])?,
                        n,
                        k,
                        w,
                        bias,
                    )?));
                }
                matmul::matmul(
                    out,
                    self.simd,
                    self.threads,
                    self.f32s(inp[0])?,
                    n,
                    k,
                    desc(1).dtype,
                    self.value(inp[1])?.bytes(),
                    m,
                    bias,
                )?
            }
            Op::Attention {
                n_head,
                n_kv_head,
                head_dim,
                scale,
                causal,
                softcap,
            } => {
                let params = AttentionParams {
                    n_head: *n_head,
                    n_kv_head: *n_kv_head,
                    head_dim: *head_dim,
                    scale: *scale,
                    softcap: *softcap,
                };
                attention::attention(
                    out,
                    self.simd,
                    &params,
                    *causal,
                    self.f32s(inp[0])?,
                    self.kv(inp[1])?,
                    self.kv(inp[2])?,
                    desc(1).shape.rows(),
                    self.i32s(inp[3])?,
                )?
            }
            Op::RmsNorm { eps } => {
                elementwise::rms_norm(out, self.f32s(inp[0])?, self.f32s(inp[1])?, cols, *eps)
            }
            Op::LayerNorm { eps } => elementwise::layer_norm(
                out,
                self.f32s(inp[0])?,
                self.f32s(inp[1])?,
                self.f32s(inp[2])?,
                cols,
                *eps,
            ),
            Op::Rope {
                mode,
                head_dim,
                n_dims,
                freq_base,
                freq_scale,
            } => elementwise::rope(
                out,
                self.f32s(inp[0])?,
                cols,
                self.i32s(inp[1])?,
                RopeParams {
                    pairs: elementwise::rope_pairs(*mode),
                    head_dim: *head_dim,
                    n_dims: *n_dims,
                    freq_base: *freq_base,
                    freq_scale: *freq_scale,
                },
            ),
            Op::SwiGlu | Op::GeGlu => elementwise::gated(
                out,
                self.f32s(inp[0])?,
                self.f32s(inp[1])?,
                cols,
                matches!(node.op, Op::GeGlu),
            ),
            Op::Add | Op::Mul => elementwise::binary(
                out,
                self.f32s(inp[0])?,
                self.f32s(inp[1])?,
                cols,
                matches!(node.op, Op::Mul),
            ),
            Op::Softmax { scale } => elementwise::softmax(out, self.f32s(inp[0])?, cols, *scale),
            Op::GetRows => elementwise::get_rows(
                out,
                self.value(inp[0])?,
                desc(0).dtype,
                desc(0).shape.rows(),
                cols,
                self.i32s(inp[1])?,
            )?,
            Op::Cast { to } => {
                return elementwise::cast(
                    out,
                    self.value(inp[0])?,
                    desc(0).dtype,
                    desc(0).shape.elements(),
                    *to,
                )
            }
            Op::KvWrite => unreachable!("KvWrite is run in place by run_node"),
        }))
    }

    /// Runs node `index`, then gives the values it read last back to the pool.
    fn run_node(&mut self, index: usize) -> Result<()> {
        self.compute_node(index)?;
        for j in 0..self.release_after[index].len() {
            self.release(self.release_after[index][j]);
        }
        Ok(())
    }

    fn compute_node(&mut self, index: usize) -> Result<()> {
        let node = self.graph.nodes()[index].clone();
        if matches!(node.op, Op::KvWrite) {
            let desc = self.graph.tensor(node.inputs[0]).desc.clone();
            let slot = self.storage[node.inputs[0].0];
            let mut cache = self.values[slot]
                .take()
                .ok_or_else(|| Error::InvalidInput("KvWrite: cache state has no value".into()))?;
            let result = (|| {
                elementwise::kv_write(
                    &mut cache,
                    desc.shape.rows(),
                    desc.shape.cols(),
                    self.f32s(node.inputs[1])?,
                    self.i32s(node.inputs[2])?,
                )
            })();
            self.values[slot] = Some(cache);
            return result;
        }
        let desc = &self.graph.tensor(node.output).desc;
        let out = if desc.dtype == DType::F32 {
            self.buffers.take(desc.shape.elements())
        } else {
            Vec::new()
        };
        let mut acts = std::mem::take(&mut self.activations);
        let v = self.eval(&node, out, &mut acts);
        self.activations = acts;
        self.values[node.output.0] = Some(v?);
        Ok(())
    }

    /// Drops tensor `id`'s value, its buffer back to the pool.
    fn release(&mut self, id: usize) {
        if let Some(Value::F32(v)) = self.values[id].take() {
            self.buffers.give(v);
        }
    }
}

impl Compiled {
    /// Copies `inputs` into their values (checked against the graph first).
    fn load_inputs(&mut self, inputs: &[HostTensor]) -> Result<()> {
        self.graph.check_inputs(inputs)?;
        for (id, t) in self.graph.inputs().to_vec().into_iter().zip(inputs) {
            let buf = if t.desc.dtype == DType::F32 {
                self.buffers.take(t.desc.shape.elements())
            } else {
                Vec::new()
            };
            self.values[id.0] = Some(Value::from_bytes_into(t.desc.dtype, &t.data, buf));
        }
        Ok(())
    }

    /// Runs every node in graph order (on a pool thread: the ops' parallel loops use
    /// the pool from there).
    fn run_nodes(&mut self) -> Result<()> {
        (0..self.graph.nodes().len()).try_for_each(|i| self.run_node(i))
    }

    /// The outputs as host tensors; then every input and computed value goes back to the
    /// buffer pool.
    fn take_outputs(&mut self) -> Result<Vec<HostTensor>> {
        let outputs = self
            .graph
            .outputs()
            .iter()
            .map(|&id| self.value(id)?.to_host(&self.graph.tensor(id).desc))
            .collect::<Result<Vec<_>>>();
        for i in 0..self.values.len() {
            let kind = &self.graph.tensors()[i].kind;
            if matches!(kind, TensorKind::Input | TensorKind::Computed(_)) && self.storage[i] == i {
                self.release(i);
            }
        }
        outputs
    }
}

impl Executable for FastExecutable {
    fn run(&mut self, inputs: &[HostTensor]) -> Result<Vec<HostTensor>> {
        self.compiled_mut().load_inputs(inputs)?;
        let compiled = self.compiled.take().expect("not in a run");
        let pool = Arc::clone(&compiled.pool);
        let poll = handoff::poll_budget(self.last_run);
        let start = Instant::now();
        let (compiled, ran) = handoff::run_on_pool(&pool, compiled, poll, |c| c.run_nodes());
        self.last_run = start.elapsed();
        self.compiled = Some(compiled);
        match ran {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        }
        self.compiled_mut().take_outputs()
    }

    fn reset_state(&mut self) -> Result<()> {
        let c = self.compiled_mut();
        for (i, t) in c.graph.tensors().iter().enumerate() {
            if matches!(t.kind, TensorKind::State) {
                c.values[i] = Some(Value::zeros(&t.desc));
            }
        }
        Ok(())
    }

    fn write_state(&mut self, id: TensorId, value: &HostTensor) -> Result<()> {
        let c = self.compiled_mut();
        match c.graph.tensors().get(id.0) {
            Some(t) if matches!(t.kind, TensorKind::State) => {
                if value.desc != t.desc || value.data.len() != t.desc.byte_len()? {
                    return Err(Error::InvalidInput(format!(
                        "state {}: expected {}, got {}",
                        t.name, t.desc, value.desc
                    )));
                }
                c.values[id.0] = Some(Value::from_bytes(t.desc.dtype, &value.data));
                Ok(())
            }
            _ => Err(Error::InvalidInput(format!(
                "tensor {} is not a state tensor",
                id.0
            ))),
        }
    }

    fn read_state(&self, id: TensorId) -> Result<HostTensor> {
        let c = self.compiled();
        match c.graph.tensors().get(id.0) {
            Some(t) if matches!(t.kind, TensorKind::State) => c.value(id)?.to_host(&t.desc),
            _ => Err(Error::InvalidInput(format!(
                "tensor {} is not a state tensor",
                id.0
            ))),
        }
    }
}
