//! Lowers each graph node to dispatches: which kernel, which override constants, the
//! uniform parameters, the buffers bound and the workgroup counts. `supports` and `lower`
//! agree by construction: `lower` refuses exactly what `supports` rejects.

use super::device::{Gpu, PipelineKey};
use super::kernels::Kernel;
use crate::error::{Error, Result};
use crate::graph::{Graph, Node, TensorId};
use crate::op::{Op, RopeMode};
use crate::tensor::TensorDesc;
use crate::DType;

/// A buffer bound by a dispatch (binding 0 is always the uniform parameters).
#[derive(Clone, Copy, Debug)]
pub enum Binding {
    /// A tensor's whole buffer.
    Tensor(TensorId),
    /// Chunk `usize` of a row-split weight.
    Chunk(TensorId, usize),
    /// A placeholder for an absent optional input (no bias).
    Dummy,
}

/// One compute dispatch.
#[derive(Clone, Debug)]
pub struct Dispatch {
    /// The pipeline.
    pub key: PipelineKey,
    /// Uniform parameters, as 32-bit words (f32 as bits).
    pub params: Vec<u32>,
    /// Bindings 1.. in order.
    pub bindings: Vec<Binding>,
    /// Workgroup counts.
    pub workgroups: [u32; 3],
}

/// Largest workgroup count per dispatch dimension that every adapter allows.
const MAX_GROUPS: usize = 65535;

/// Workgroups for `count` independent groups, folded into x and y.
fn groups_2d(count: usize) -> [u32; 3] {
    let x = count.clamp(1, MAX_GROUPS);
    [x as u32, count.div_ceil(x).max(1) as u32, 1]
}

fn u(v: usize) -> u32 {
    v as u32
}

/// Tokens at or below which matmul uses the decode kernel.
pub const DECODE_MAX_N: usize = 8;

/// Whether the wgpu backend can run `op` on these inputs.
pub fn supports(op: &Op, inputs: &[TensorDesc]) -> bool {
    let f32_in = |i: usize| inputs.get(i).is_some_and(|d| d.dtype == DType::F32);
    let weight = |i: usize| {
        inputs
            .get(i)
            .is_some_and(|d| DType::WEIGHTS.contains(&d.dtype))
    };
    match op {
        Op::MatMul { has_bias } => f32_in(0) && weight(1) && (!has_bias || f32_in(2)),
        Op::GetRows => weight(0) && inputs.get(1).is_some_and(|d| d.dtype == DType::I32),
        _ => false,
    }
}

fn key(
    gpu: &Gpu,
    kernel: Kernel,
    dtype: Option<DType>,
    constants: Vec<(&'static str, u32)>,
) -> PipelineKey {
    PipelineKey {
        kernel,
        dtype,
        variant: gpu.variant(kernel),
        constants,
    }
}

/// The dispatches of `node`. `chunks(id)` gives a weight's row chunks `(first_row, rows)`.
pub fn lower(
    gpu: &Gpu,
    graph: &Graph,
    node: &Node,
    chunks: &dyn Fn(TensorId) -> Vec<(usize, usize)>,
) -> Result<Vec<Dispatch>> {
    let descs: Vec<TensorDesc> = node
        .inputs
        .iter()
        .map(|&i| graph.tensor(i).desc.clone())
        .collect();
    if !supports(&node.op, &descs) {
        return Err(Error::Unsupported {
            backend: gpu.name.clone(),
            op: format!(
                "{:?} on {:?}",
                node.op,
                descs.iter().map(|d| d.to_string()).collect::<Vec<_>>()
            ),
        });
    }
    let out = node.output;
    let dims = |i: usize| descs[i].shape.dims().to_vec();
    Ok(match &node.op {
        Op::MatMul { has_bias } => {
            let (n, k) = (dims(0)[0], dims(0)[1]);
            let m = dims(1)[0];
            let w = &descs[1];
            let kernel = if n <= DECODE_MAX_N {
                Kernel::MatVec
            } else {
                Kernel::MatMulTiled
            };
            let bias = if *has_bias {
                Binding::Tensor(node.inputs[2])
            } else {
                Binding::Dummy
            };
            chunks(node.inputs[1])
                .into_iter()
                .enumerate()
                .map(|(c, (first, rows))| Dispatch {
                    key: key(gpu, kernel, Some(w.dtype), vec![]),
                    params: vec![
                        u(n),
                        u(k),
                        u(m),
                        u(first),
                        u(rows),
                        u32::from(*has_bias),
                        u(w.row_bytes()),
                        0,
                    ],
                    bindings: vec![
                        Binding::Chunk(node.inputs[1], c),
                        Binding::Tensor(node.inputs[0]),
                        bias,
                        Binding::Tensor(out),
                    ],
                    workgroups: if kernel == Kernel::MatVec {
                        groups_2d(rows)
                    } else {
                        [rows.div_ceil(32) as u32, n.div_ceil(32) as u32, 1]
                    },
                })
                .collect()
        }
        _ => {
            let _ = RopeMode::Normal;
            return Err(Error::Unsupported {
                backend: gpu.name.clone(),
                op: format!("{:?}", node.op),
            });
        }
    })
}
