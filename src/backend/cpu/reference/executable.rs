//! The reference executable: an interpreter over the graph's nodes that keeps one value per
//! tensor id. Why an interpreter: it has nothing to get wrong between the graph and the
//! math, which is what the ground truth needs.
//!
//! State tensors (KV caches) live in the same table, are zero at compile and after
//! [`Executable::reset_state`], and persist between runs. A `KvWrite` writes into its state
//! in place; its output id is an alias of that state, so readers of the output see the
//! cache after the write.

use super::ops;
use super::BACKEND_NAME;
use crate::backend::Executable;
use crate::error::{Error, Result};
use crate::graph::{Graph, Node, TensorId, TensorKind};
use crate::op::Op;
use crate::tensor::{HostTensor, TensorDesc};
use crate::DType;

/// A compiled graph on the reference backend.
#[derive(Debug)]
pub struct ReferenceExecutable {
    graph: Graph,
    /// Current value per tensor id; `None` for constants (read from the graph) and for
    /// tensors not yet computed in this run.
    values: Vec<Option<HostTensor>>,
    /// For a `KvWrite` output, the state tensor it aliases.
    alias: Vec<Option<TensorId>>,
}

impl ReferenceExecutable {
    /// Prepares `graph`: allocates its state tensors, zeroed, and records the aliases.
    pub fn new(graph: &Graph) -> Result<Self> {
        let count = graph.tensors().len();
        let mut alias = vec![None; count];
        for node in graph.nodes() {
            if matches!(node.op, Op::KvWrite) {
                alias[node.output.0] = Some(node.inputs[0]);
            }
        }
        let mut exe = ReferenceExecutable {
            graph: graph.clone(),
            values: vec![None; count],
            alias,
        };
        exe.reset_state()?;
        Ok(exe)
    }

    /// The id whose storage holds `id`'s value (itself, or the state a `KvWrite` wrote).
    fn storage(&self, id: TensorId) -> TensorId {
        self.alias.get(id.0).copied().flatten().unwrap_or(id)
    }

    /// The description and bytes of a tensor's current value.
    fn bytes(&self, id: TensorId) -> Result<(&TensorDesc, &[u8])> {
        let id = self.storage(id);
        let info = self
            .graph
            .tensors()
            .get(id.0)
            .ok_or_else(|| Error::InvalidInput(format!("unknown tensor id {}", id.0)))?;
        if let TensorKind::Constant(bytes) = &info.kind {
            return Ok((&info.desc, bytes.as_slice()));
        }
        match &self.values[id.0] {
            Some(t) => Ok((&t.desc, &t.data)),
            None => Err(Error::InvalidInput(format!(
                "tensor {} has no value (computed after its use?)",
                info.name
            ))),
        }
    }

    /// A tensor's value as f32 (dequantized or widened).
    fn f32s(&self, id: TensorId) -> Result<Vec<f32>> {
        let (desc, data) = self.bytes(id)?;
        Ok(edgeplane_kernels::quant::dequantize(
            desc.dtype,
            data,
            desc.shape.elements(),
        )?)
    }

    /// A tensor's value as i32 (ids, positions).
    fn i32s(&self, id: TensorId) -> Result<Vec<i32>> {
        let (desc, data) = self.bytes(id)?;
        if desc.dtype != DType::I32 {
            return Err(Error::UnsupportedDType {
                dtype: desc.dtype,
                context: "reference: reading ids/positions".into(),
            });
        }
        Ok(bytemuck::pod_collect_to_vec(data))
    }

    fn desc(&self, id: TensorId) -> &TensorDesc {
        &self.graph.tensor(id).desc
    }

    /// Computes one node's output as f32 values, or performs a `KvWrite` in place.
    fn eval(&mut self, node: &Node) -> Result<()> {
        let input = &node.inputs;
        let out_desc = self.desc(node.output).clone();
        let rows = |d: &TensorDesc| d.shape.rows();
        let cols = |d: &TensorDesc| d.shape.cols();
        let values: Vec<f32> = match &node.op {
            Op::MatMul { has_bias } => {
                let x = self.f32s(input[0])?;
                let (w_desc, w) = self.bytes(input[1])?;
                let bias = if *has_bias {
                    Some(self.f32s(input[2])?)
                } else {
                    None
                };
                let shape = ops::matmul::MatMulShape {
                    n: rows(self.desc(input[0])),
                    k: cols(w_desc),
                    m: rows(w_desc),
                };
                ops::matmul::matmul(&x, w_desc.dtype, w, bias.as_deref(), shape)?
            }
            Op::Attention {
                n_head,
                n_kv_head,
                head_dim,
                scale,
                causal,
                softcap,
            } => {
                let params = ops::attention::AttentionParams {
                    n_head: *n_head,
                    n_kv_head: *n_kv_head,
                    head_dim: *head_dim,
                    scale: *scale,
                    causal: *causal,
                    softcap: *softcap,
                    capacity: rows(self.desc(input[1])),
                };
                let q = self.f32s(input[0])?;
                let k = self.f32s(input[1])?;
                let v = self.f32s(input[2])?;
                let positions = self.i32s(input[3])?;
                ops::attention::attention(&params, &q, &k, &v, &positions)?
            }
            Op::KvWrite => return self.kv_write(node),
            Op::RmsNorm { eps } => {
                let x = self.f32s(input[0])?;
                ops::norm::rms_norm(&x, &self.f32s(input[1])?, *eps)
            }
            Op::LayerNorm { eps } => {
                let x = self.f32s(input[0])?;
                let (w, b) = (self.f32s(input[1])?, self.f32s(input[2])?);
                ops::norm::layer_norm(&x, &w, &b, *eps)
            }
            Op::Softmax { scale } => {
                let d = cols(self.desc(input[0]));
                ops::norm::softmax(&self.f32s(input[0])?, d, *scale)
            }
            Op::Rope {
                mode,
                head_dim,
                n_dims,
                freq_base,
                freq_scale,
            } => {
                let params = ops::rope::RopeParams {
                    mode: *mode,
                    head_dim: *head_dim,
                    n_dims: *n_dims,
                    freq_base: *freq_base,
                    freq_scale: *freq_scale,
                };
                let x = self.f32s(input[0])?;
                ops::rope::rope(&params, &x, &self.i32s(input[1])?)
            }
            Op::SwiGlu => ops::elementwise::swiglu(&self.f32s(input[0])?, &self.f32s(input[1])?),
            Op::GeGlu => ops::elementwise::geglu(&self.f32s(input[0])?, &self.f32s(input[1])?),
            Op::Add => ops::elementwise::add(&self.f32s(input[0])?, &self.f32s(input[1])?),
            Op::Mul => ops::elementwise::mul(&self.f32s(input[0])?, &self.f32s(input[1])?),
            Op::GetRows => {
                let (table_desc, table) = self.bytes(input[0])?;
                let ids = self.i32s(input[1])?;
                ops::get_rows::get_rows(table_desc, table, &ids)?
            }
            Op::Cast { to } => {
                let x = self.f32s(input[0])?;
                let data = ops::cast::cast(&x, *to)?;
                self.values[node.output.0] = Some(HostTensor::new(out_desc, data)?);
                return Ok(());
            }
        };
        let data = bytemuck::cast_slice(&values).to_vec();
        self.values[node.output.0] = Some(HostTensor::new(out_desc, data)?);
        Ok(())
    }

    /// `KvWrite`: converts the new rows to the cache dtype and stores them in the state.
    fn kv_write(&mut self, node: &Node) -> Result<()> {
        let new_rows = self.f32s(node.inputs[1])?;
        let positions = self.i32s(node.inputs[2])?;
        let cache_id = self.storage(node.inputs[0]);
        let cache = self.values[cache_id.0].as_mut().ok_or_else(|| {
            Error::InvalidInput(format!("KvWrite: state tensor {} missing", cache_id.0))
        })?;
        ops::kv_write::kv_write(cache, &new_rows, &positions)
    }
}

impl Executable for ReferenceExecutable {
    fn run(&mut self, inputs: &[HostTensor]) -> Result<Vec<HostTensor>> {
        self.graph.check_inputs(inputs)?;
        // Values computed in an earlier run must not leak into this one; state persists.
        for (i, info) in self.graph.tensors().iter().enumerate() {
            if matches!(info.kind, TensorKind::Computed(_) | TensorKind::Input) {
                self.values[i] = None;
            }
        }
        for (id, t) in self.graph.inputs().iter().zip(inputs) {
            self.values[id.0] = Some(t.clone());
        }
        let nodes = self.graph.nodes().to_vec();
        for node in &nodes {
            self.eval(node).map_err(|e| at_node(e, node))?;
        }
        self.graph
            .outputs()
            .iter()
            .map(|&id| {
                let (desc, data) = self.bytes(id)?;
                Ok(HostTensor {
                    desc: desc.clone(),
                    data: data.to_vec(),
                })
            })
            .collect()
    }

    fn reset_state(&mut self) -> Result<()> {
        for (i, info) in self.graph.tensors().iter().enumerate() {
            if matches!(info.kind, TensorKind::State) {
                self.values[i] = Some(HostTensor::zeros(info.desc.clone())?);
            }
        }
        Ok(())
    }

    fn read_state(&self, id: TensorId) -> Result<HostTensor> {
        let state = self.state_slot(id)?;
        self.values[state.0]
            .clone()
            .ok_or_else(|| Error::InvalidInput(format!("state tensor {} missing", id.0)))
    }

    fn write_state(&mut self, id: TensorId, value: &HostTensor) -> Result<()> {
        let state = self.state_slot(id)?;
        let desc = &self.graph.tensor(state).desc;
        if value.desc != *desc || value.data.len() != desc.byte_len()? {
            return Err(Error::InvalidInput(format!(
                "write_state: tensor {} is {desc}, got {} ({} bytes)",
                id.0,
                value.desc,
                value.data.len()
            )));
        }
        self.values[state.0] = Some(value.clone());
        Ok(())
    }
}

impl ReferenceExecutable {
    /// The storage id of a state tensor (or of a `KvWrite` output aliasing one), or
    /// `InvalidInput` when `id` is not state.
    fn state_slot(&self, id: TensorId) -> Result<TensorId> {
        let state = self.storage(id);
        match self.graph.tensors().get(state.0).map(|t| &t.kind) {
            Some(TensorKind::State) => Ok(state),
            _ => Err(Error::InvalidInput(format!(
                "tensor {} is not a state tensor of this graph",
                id.0
            ))),
        }
    }
}

/// Adds which node failed to run-time errors, so a bad position names its op.
fn at_node(e: Error, node: &Node) -> Error {
    match e {
        Error::InvalidInput(msg) => Error::InvalidInput(format!(
            "{BACKEND_NAME}: {:?} (output tensor {}): {msg}",
            node.op.kind(),
            node.output.0
        )),
        other => other,
    }
}
