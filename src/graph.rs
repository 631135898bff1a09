//! A `Graph` is a DAG of [`Op`] nodes over tensor ids, with every shape known and checked
//! when the node is added, so backends can trust what they compile.

use crate::error::{Error, Result};
use crate::op::Op;
use crate::tensor::{Bytes, TensorDesc};
use crate::DType;

/// Index of a tensor in its graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(pub usize);

/// Index of a node in its graph (nodes are in topological order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);

/// Where a tensor's value comes from.
#[derive(Clone, Debug)]
pub enum TensorKind {
    /// Given to every [`crate::Executable::run`] call, in the order inputs were declared.
    Input,
    /// Fixed data (weights), uploaded once at compile time.
    Constant(Bytes),
    /// Persistent, zero-initialised data owned by the executable that survives between runs
    /// (the KV cache). Written only through [`Op::KvWrite`].
    State,
    /// Produced by a node.
    Computed(NodeId),
}

/// A tensor of the graph.
#[derive(Clone, Debug)]
pub struct TensorInfo {
    /// A name for messages and debugging (GGUF tensor name for weights).
    pub name: String,
    /// dtype and shape.
    pub desc: TensorDesc,
    /// Where its value comes from.
    pub kind: TensorKind,
}

/// One op applied to tensors.
#[derive(Clone, Debug)]
pub struct Node {
    /// The op.
    pub op: Op,
    /// Its inputs, in the op's order.
    pub inputs: Vec<TensorId>,
    /// The tensor it produces.
    pub output: TensorId,
}

/// A DAG of ops with checked shapes. Nodes are appended in topological order by
/// construction: a node can only use tensors that already exist.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    tensors: Vec<TensorInfo>,
    nodes: Vec<Node>,
    inputs: Vec<TensorId>,
    outputs: Vec<TensorId>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    fn push_tensor(&mut self, name: String, desc: TensorDesc, kind: TensorKind) -> TensorId {
        self.tensors.push(TensorInfo { name, desc, kind });
        TensorId(self.tensors.len() - 1)
    }

    /// Declares a run-time input; inputs are passed to `run` in declaration order.
    pub fn input(&mut self, name: impl Into<String>, desc: TensorDesc) -> Result<TensorId> {
        desc.byte_len()?;
        let id = self.push_tensor(name.into(), desc, TensorKind::Input);
        self.inputs.push(id);
        Ok(id)
    }

    /// Adds a constant (weights); `bytes` must be exactly what `desc` needs.
    pub fn constant(
        &mut self,
        name: impl Into<String>,
        desc: TensorDesc,
        bytes: Bytes,
    ) -> Result<TensorId> {
        let name = name.into();
        let want = desc.byte_len()?;
        if bytes.len() != want {
            return Err(Error::Shape(format!(
                "constant {name}: {desc} needs {want} bytes, got {}",
                bytes.len()
            )));
        }
        Ok(self.push_tensor(name, desc, TensorKind::Constant(bytes)))
    }

    /// Adds a persistent state tensor (a KV cache), F32 or F16, zero at first run.
    pub fn state(&mut self, name: impl Into<String>, desc: TensorDesc) -> Result<TensorId> {
        let name = name.into();
        if !matches!(desc.dtype, DType::F32 | DType::F16) {
            return Err(Error::UnsupportedDType {
                dtype: desc.dtype,
                context: format!("state tensor {name} (KV caches are f32 or f16)"),
            });
        }
        desc.byte_len()?;
        Ok(self.push_tensor(name, desc, TensorKind::State))
    }

    /// Appends a node after checking its inputs against the op's contract; returns the
    /// output tensor.
    pub fn add(&mut self, op: Op, inputs: &[TensorId]) -> Result<TensorId> {
        for id in inputs {
            if id.0 >= self.tensors.len() {
                return Err(Error::Shape(format!("{op:?}: unknown tensor id {}", id.0)));
            }
        }
        let descs: Vec<&TensorDesc> = inputs.iter().map(|&i| &self.tensors[i.0].desc).collect();
        let out = crate::shape_check::output_desc(&op, &descs)?;
        if matches!(op, Op::KvWrite) && !matches!(self.tensors[inputs[0].0].kind, TensorKind::State)
        {
            return Err(Error::Shape(format!(
                "KvWrite: first input {} must be a state tensor",
                self.tensors[inputs[0].0].name
            )));
        }
        let node = NodeId(self.nodes.len());
        let name = format!("{}#{}", op.kind(), node.0);
        let output = self.push_tensor(name, out, TensorKind::Computed(node));
        self.nodes.push(Node {
            op,
            inputs: inputs.to_vec(),
            output,
        });
        Ok(output)
    }

    /// Marks a tensor as a graph output; `run` returns outputs in marking order.
    pub fn mark_output(&mut self, id: TensorId) -> Result<()> {
        if id.0 >= self.tensors.len() {
            return Err(Error::Shape(format!("unknown output tensor id {}", id.0)));
        }
        self.outputs.push(id);
        Ok(())
    }

    /// Renames a tensor (for messages).
    pub fn set_name(&mut self, id: TensorId, name: impl Into<String>) {
        if let Some(t) = self.tensors.get_mut(id.0) {
            t.name = name.into();
        }
    }

    /// All tensors, indexed by `TensorId.0`.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// One tensor.
    pub fn tensor(&self, id: TensorId) -> &TensorInfo {
        &self.tensors[id.0]
    }

    /// Nodes in topological order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Declared inputs in order.
    pub fn inputs(&self) -> &[TensorId] {
        &self.inputs
    }

    /// Marked outputs in order.
    pub fn outputs(&self) -> &[TensorId] {
        &self.outputs
    }

    /// Checks run-time inputs against the declared inputs: count, dtype, shape and size.
    pub fn check_inputs(&self, given: &[crate::HostTensor]) -> Result<()> {
        if given.len() != self.inputs.len() {
            return Err(Error::InvalidInput(format!(
                "graph takes {} inputs, got {}",
                self.inputs.len(),
                given.len()
            )));
        }
        for (id, t) in self.inputs.iter().zip(given) {
            let info = self.tensor(*id);
            if t.desc != info.desc || t.data.len() != info.desc.byte_len()? {
                return Err(Error::InvalidInput(format!(
                    "input {}: expected {}, got {} ({} bytes)",
                    info.name,
                    info.desc,
                    t.desc,
                    t.data.len()
                )));
            }
        }
        Ok(())
    }
}
