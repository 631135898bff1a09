//! Op classes and the work a node does: the vocabulary the profile, the cost model and the
//! planner share.
//!
//! A class groups nodes that run the same kernel family on a device (a matmul's speed
//! depends on the weight format and on whether it is a matrix-vector or matrix-matrix
//! product; an attention's on the query block size). Within a class, time is a function of
//! the node's [`Work`] (bytes moved and flops), which the fitted cost model maps to time.

use crate::graph::{Graph, Node};
use crate::op::{Op, OpKind};
use crate::DType;
use std::fmt;

/// How many query/activation rows a node processes, bucketed the way kernels specialise:
/// matrix-vector (decode), a few rows (speculative or batched decode), many rows (prefill).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum BatchClass {
    /// One row: a matrix-vector product, bound by reading the weights.
    Decode,
    /// 2..=16 rows.
    Small,
    /// More than 16 rows: a matrix-matrix product, bound by arithmetic.
    Prefill,
}

impl BatchClass {
    /// The bucket of `rows`.
    pub fn of(rows: usize) -> Self {
        match rows {
            0 | 1 => BatchClass::Decode,
            2..=16 => BatchClass::Small,
            _ => BatchClass::Prefill,
        }
    }
}

/// A kernel family on a device: the key of a fitted cost model.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum OpClass {
    /// `MatMul` with weights of this dtype over this many rows.
    MatMul {
        /// The weight format.
        weight: DType,
        /// Rows of `x`.
        batch: BatchClass,
    },
    /// `Attention` with this many query rows; the KV length is a size axis of the fit.
    Attention {
        /// Query rows.
        batch: BatchClass,
    },
    /// Any other op: bandwidth-bound elementwise or row-wise work.
    Small(OpKind),
}

impl OpClass {
    /// The class of `node` in `graph`.
    pub fn of(graph: &Graph, node: &Node) -> Self {
        let rows = |i: usize| graph.tensor(node.inputs[i]).desc.shape.rows().max(1);
        match node.op {
            Op::MatMul { .. } => OpClass::MatMul {
                weight: graph.tensor(node.inputs[1]).desc.dtype,
                batch: BatchClass::of(rows(0)),
            },
            Op::Attention { .. } => OpClass::Attention {
                batch: BatchClass::of(rows(0)),
            },
            ref op => OpClass::Small(op.kind()),
        }
    }

    /// The op kind the class belongs to.
    pub fn kind(&self) -> OpKind {
        match self {
            OpClass::MatMul { .. } => OpKind::MatMul,
            OpClass::Attention { .. } => OpKind::Attention,
            OpClass::Small(k) => *k,
        }
    }
}

impl fmt::Display for OpClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let batch = |b: &BatchClass| match b {
            BatchClass::Decode => "n=1",
            BatchClass::Small => "n≤16",
            BatchClass::Prefill => "n>16",
        };
        match self {
            OpClass::MatMul { weight, batch: b } => write!(f, "matmul {weight} {}", batch(b)),
            OpClass::Attention { batch: b } => write!(f, "attention {}", batch(b)),
            OpClass::Small(k) => write!(f, "{}", format!("{k:?}").to_lowercase()),
        }
    }
}

/// What a node costs independent of the device: bytes it reads and writes, and arithmetic.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Work {
    /// Bytes read (inputs, weights, the valid part of a KV cache) plus bytes written.
    pub bytes: f64,
    /// Floating-point operations (a multiply-add counts two).
    pub flops: f64,
}

/// The work of `node` in `graph`. Attention is costed at the full KV capacity: at plan time
/// the fill level is unknown, and the capacity is the bound the plan must survive.
pub fn node_work(graph: &Graph, node: &Node) -> Work {
    let desc = |i: usize| &graph.tensor(node.inputs[i]).desc;
    let bytes_of = |i: usize| desc(i).byte_len().unwrap_or(0) as f64;
    let out = &graph.tensor(node.output).desc;
    let out_bytes = out.byte_len().unwrap_or(0) as f64;
    let out_elems = out.shape.elements() as f64;
    let in_bytes: f64 = (0..node.inputs.len()).map(bytes_of).sum();
    match &node.op {
        Op::MatMul { .. } => {
            let n = desc(0).shape.rows() as f64;
            let (m, k) = (desc(1).shape.rows() as f64, desc(1).shape.cols() as f64);
            Work {
                bytes: in_bytes + out_bytes,
                flops: 2.0 * n * m * k,
            }
        }
        Op::Attention {
            n_head, head_dim, ..
        } => {
            let n = desc(0).shape.rows() as f64;
            let kv = desc(1).shape.rows() as f64;
            Work {
                bytes: in_bytes + out_bytes,
                flops: 4.0 * n * kv * (*n_head * *head_dim) as f64,
            }
        }
        // KvWrite touches only the new rows, not the whole cache it aliases.
        Op::KvWrite => Work {
            bytes: 2.0 * bytes_of(1) + bytes_of(2),
            flops: desc(1).shape.elements() as f64,
        },
        Op::GetRows => Work {
            bytes: 2.0 * out_bytes,
            flops: out_elems,
        },
        op => {
            let per_element = match op {
                Op::RmsNorm { .. } => 4.0,
                Op::LayerNorm { .. } => 7.0,
                Op::Rope { .. } => 6.0,
                Op::SwiGlu | Op::GeGlu | Op::Softmax { .. } => 5.0,
                _ => 1.0,
            };
            Work {
                bytes: in_bytes + out_bytes,
                flops: per_element * out_elems,
            }
        }
    }
}
