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
    /// A new device-only buffer of this many bytes (split-KV partials).
    Scratch(usize),
    /// The scratch buffer of the previous dispatch of the same node.
    LastScratch,
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

/// Keys per split of split-KV attention at n = 1; caches up to this long are not split.
pub const SPLIT_KEYS: usize = 256;

/// Most splits of split-KV attention.
pub const MAX_SPLITS: usize = 64;

/// Weight rows per workgroup of the decode kernel.
pub const MATVEC_ROWS: u32 = 4;

/// Tokens at or below which matmul uses the decode kernel.
pub const DECODE_MAX_N: usize = 8;

/// Largest head_dim the attention kernel holds (4 dims per invocation of 64).
pub const MAX_HEAD_DIM: usize = 256;

/// Whether the wgpu backend can run `op` on these inputs: the op's contract
/// (`shape_check`) plus this backend's own limits.
pub fn supports(op: &Op, inputs: &[TensorDesc]) -> bool {
    let refs: Vec<&TensorDesc> = inputs.iter().collect();
    if crate::shape_check::output_desc(op, &refs).is_err() {
        return false;
    }
    match op {
        Op::Attention { head_dim, .. } => *head_dim <= MAX_HEAD_DIM,
        Op::KvWrite => inputs[0].dtype == DType::F32 || inputs[0].shape.cols().is_multiple_of(2),
        _ => true,
    }
}

fn key(
    gpu: &Gpu,
    kernel: Kernel,
    dtype: Option<DType>,
    constants: Vec<(&'static str, u32)>,
) -> PipelineKey {
    let f16_data = dtype == Some(DType::F16) || constants.contains(&("KV_F16", 1));
    PipelineKey {
        kernel,
        dtype,
        variant: gpu.variant(kernel, f16_data),
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
                    key: key(
                        gpu,
                        kernel,
                        Some(w.dtype),
                        if kernel == Kernel::MatVec {
                            vec![("N", u(n))]
                        } else {
                            vec![]
                        },
                    ),
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
                        groups_2d(rows.div_ceil(MATVEC_ROWS as usize))
                    } else {
                        [rows.div_ceil(32) as u32, n.div_ceil(32) as u32, 1]
                    },
                })
                .collect()
        }
        Op::GetRows => {
            let t = &descs[0];
            let n = dims(1)[0];
            let d = t.shape.cols();
            chunks(node.inputs[0])
                .into_iter()
                .enumerate()
                .map(|(c, (first, rows))| Dispatch {
                    key: key(gpu, Kernel::GetRows, Some(t.dtype), vec![]),
                    params: vec![
                        u(n),
                        u(d),
                        u(t.row_bytes()),
                        u(first),
                        u(rows),
                        u(t.shape.rows()),
                        0,
                        0,
                    ],
                    bindings: vec![
                        Binding::Chunk(node.inputs[0], c),
                        Binding::Tensor(node.inputs[1]),
                        Binding::Tensor(out),
                    ],
                    workgroups: groups_2d((n * d).div_ceil(64)),
                })
                .collect()
        }
        Op::Cast { to } => {
            let count = descs[0].shape.elements();
            let (kind, words) = match to {
                DType::F32 => (0, count),
                DType::F16 => (1, count.div_ceil(2)),
                _ => (2, count.div_ceil(2)),
            };
            vec![Dispatch {
                key: key(
                    gpu,
                    Kernel::Cast,
                    Some(descs[0].dtype),
                    vec![("OUT_KIND", kind)],
                ),
                params: vec![u(count), u(words), 0, 0],
                bindings: vec![Binding::Tensor(node.inputs[0]), Binding::Tensor(out)],
                workgroups: groups_2d(words.div_ceil(64)),
            }]
        }
        Op::RmsNorm { eps } | Op::LayerNorm { eps } => {
            let layer = matches!(node.op, Op::LayerNorm { .. });
            let (rows, d) = (dims(0)[0], dims(0)[1]);
            let b = if layer {
                Binding::Tensor(node.inputs[2])
            } else {
                Binding::Dummy
            };
            vec![Dispatch {
                key: key(gpu, Kernel::Norm, None, vec![("LAYER", u32::from(layer))]),
                params: vec![u(d), eps.to_bits(), u(rows), 0],
                bindings: vec![
                    Binding::Tensor(node.inputs[0]),
                    Binding::Tensor(node.inputs[1]),
                    b,
                    Binding::Tensor(out),
                ],
                workgroups: groups_2d(rows),
            }]
        }
        Op::Softmax { scale } => {
            let (rows, d) = (dims(0)[0], dims(0)[1]);
            vec![Dispatch {
                key: key(gpu, Kernel::Softmax, None, vec![]),
                params: vec![u(d), scale.to_bits(), u(rows), 0],
                bindings: vec![Binding::Tensor(node.inputs[0]), Binding::Tensor(out)],
                workgroups: groups_2d(rows),
            }]
        }
        Op::Rope {
            mode,
            head_dim,
            n_dims,
            freq_base,
            freq_scale,
        } => {
            let (n, width) = (dims(0)[0], dims(0)[1]);
            let neox = u32::from(*mode == RopeMode::Neox);
            vec![Dispatch {
                key: key(gpu, Kernel::Rope, None, vec![("NEOX", neox)]),
                params: vec![
                    u(n),
                    u(width),
                    u(*head_dim),
                    u(*n_dims),
                    freq_base.to_bits(),
                    freq_scale.to_bits(),
                    0,
                    0,
                ],
                bindings: vec![
                    Binding::Tensor(node.inputs[0]),
                    Binding::Tensor(node.inputs[1]),
                    Binding::Tensor(out),
                ],
                workgroups: groups_2d((n * width).div_ceil(64)),
            }]
        }
        Op::SwiGlu | Op::GeGlu | Op::Add | Op::Mul => {
            let which = match node.op {
                Op::SwiGlu => 0,
                Op::GeGlu => 1,
                Op::Add => 2,
                _ => 3,
            };
            let count = descs[0].shape.elements();
            let b_len = descs[1].shape.elements().max(1);
            vec![Dispatch {
                key: key(gpu, Kernel::Elementwise, None, vec![("OP", which)]),
                params: vec![u(count), u(b_len), 0, 0],
                bindings: vec![
                    Binding::Tensor(node.inputs[0]),
                    Binding::Tensor(node.inputs[1]),
                    Binding::Tensor(out),
                ],
                workgroups: groups_2d(count.div_ceil(64)),
            }]
        }
        Op::Attention {
            n_head,
            n_kv_head,
            head_dim,
            scale,
            causal,
            softcap,
        } => {
            let n = dims(0)[0];
            let kv_rows = dims(1)[0];
            let f16 = u32::from(descs[1].dtype == DType::F16);
            if descs[2].dtype != descs[1].dtype {
                return Err(Error::Unsupported {
                    backend: gpu.name.clone(),
                    op: "attention with K and V in different dtypes".into(),
                });
            }
            let splits = if n == 1 && kv_rows > SPLIT_KEYS {
                kv_rows.div_ceil(SPLIT_KEYS).min(MAX_SPLITS)
            } else {
                1
            };
            let split_keys = kv_rows.div_ceil(splits);
            let mut bindings: Vec<Binding> = (0..4)
                .map(|i| Binding::Tensor(node.inputs[i]))
                .chain([Binding::Tensor(out)])
                .collect();
            let partial_bytes = n * n_head * splits * (head_dim + 2) * 4;
            bindings.push(if splits > 1 {
                Binding::Scratch(partial_bytes)
            } else {
                Binding::Dummy
            });
            let constants = vec![("KV_F16", f16), ("SPLITS", u(splits))];
            let mut dispatches = vec![Dispatch {
                key: key(gpu, Kernel::Attention, None, constants),
                params: vec![
                    u(n),
                    u(*n_head),
                    u(*n_kv_head),
                    u(*head_dim),
                    u(kv_rows),
                    scale.to_bits(),
                    u32::from(*causal),
                    softcap.unwrap_or(0.0).to_bits(),
                    u(split_keys),
                    0,
                    0,
                    0,
                ],
                bindings,
                workgroups: [u(*n_head), u(n), u(splits)],
            }];
            if splits > 1 {
                dispatches.push(Dispatch {
                    key: key(gpu, Kernel::AttentionCombine, None, vec![]),
                    params: vec![u(n), u(*n_head), u(*head_dim), u(splits)],
                    bindings: vec![Binding::LastScratch, Binding::Tensor(out)],
                    workgroups: groups_2d((n * n_head * head_dim).div_ceil(64)),
                });
            }
            dispatches
        }
        Op::KvWrite => {
            let (capacity, width) = (dims(0)[0], dims(0)[1]);
            let n = dims(1)[0];
            let f16 = descs[0].dtype == DType::F16;
            let words = n * if f16 { width / 2 } else { width };
            vec![Dispatch {
                key: key(gpu, Kernel::KvWrite, None, vec![("KV_F16", u32::from(f16))]),
                params: vec![u(n), u(width), u(capacity), 0],
                bindings: vec![
                    Binding::Tensor(node.inputs[0]),
                    Binding::Tensor(node.inputs[1]),
                    Binding::Tensor(node.inputs[2]),
                ],
                workgroups: groups_2d(words.div_ceil(64)),
            }]
        }
    })
}
