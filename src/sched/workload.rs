//! The graphs measuring runs: one single-op graph per (op class, size), with deterministic
//! pseudo-random data, at the sizes a 1B-class layer uses so the fitted models interpolate
//! rather than extrapolate.
//!
//! The sizes of each class vary both the rows and the matrix so bytes and flops are not
//! collinear where the class spans several row counts (prefill): the fit can then tell a
//! bandwidth-bound device from a compute-bound one.

use super::class::{BatchClass, OpClass};
use super::settings::MeasureScale;
use crate::error::Result;
use crate::graph::Graph;
use crate::op::{Op, OpKind, RopeMode};
use crate::tensor::{Bytes, HostTensor, TensorDesc};
use crate::DType;

/// One measured size: rows, and the two other dims whose meaning depends on the class
/// (matmul: `m` outputs, `k` inputs; attention: `m` = KV length; small ops: `m` = width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizePoint {
    /// Rows (tokens).
    pub n: usize,
    /// Outputs / KV length / width.
    pub m: usize,
    /// Inputs (matmul only).
    pub k: usize,
}

const fn p(n: usize, m: usize, k: usize) -> SizePoint {
    SizePoint { n, m, k }
}

/// Attention geometry: (heads, kv heads, head dim). Llama-3.2-1B's at standard scale.
fn heads(scale: MeasureScale) -> (usize, usize, usize) {
    match scale {
        MeasureScale::Standard => (32, 8, 64),
        MeasureScale::Tiny => (4, 2, 16),
    }
}

/// The sizes measured for `class`, cheapest first (so a budget cut keeps the small ones).
pub fn ladder(class: OpClass, scale: MeasureScale) -> Vec<SizePoint> {
    use BatchClass::*;
    let standard = match class {
        OpClass::MatMul { batch: Decode, .. } => {
            [p(1, 1024, 1024), p(1, 2048, 2048), p(1, 8192, 2048)]
        }
        OpClass::MatMul { batch: Small, .. } => {
            [p(4, 1024, 1024), p(8, 2048, 2048), p(8, 8192, 2048)]
        }
        OpClass::MatMul { batch: Prefill, .. } => {
            [p(32, 1024, 1024), p(128, 1024, 1024), p(128, 2048, 2048)]
        }
        OpClass::Attention { batch: Decode } => [p(1, 128, 0), p(1, 512, 0), p(1, 2048, 0)],
        OpClass::Attention { batch: Small } => [p(4, 128, 0), p(8, 512, 0), p(8, 2048, 0)],
        OpClass::Attention { batch: Prefill } => [p(32, 128, 0), p(128, 256, 0), p(128, 512, 0)],
        OpClass::Small(_) => [p(1, 2048, 0), p(8, 8192, 0), p(128, 2048, 0)],
    };
    match scale {
        MeasureScale::Standard => standard.to_vec(),
        // Divide widths by 16 but keep whole 256-value blocks for the K-quants.
        MeasureScale::Tiny => standard
            .iter()
            .map(|s| {
                let n = s.n.min(24);
                match class {
                    OpClass::MatMul { .. } => p(n, (s.m / 16).max(32), (s.k / 8).max(256)),
                    OpClass::Attention { .. } => p(n.min(s.m / 16), (s.m / 16).max(8), 0),
                    OpClass::Small(_) => p(n, (s.m / 16).max(32), 0),
                }
            })
            .collect(),
    }
}

/// The run-overhead sizes: an `Add` of two `[1, width]` rows, for these widths.
pub fn io_widths(scale: MeasureScale) -> Vec<usize> {
    match scale {
        MeasureScale::Standard => vec![256, 65536, 1 << 20],
        MeasureScale::Tiny => vec![64, 4096, 65536],
    }
}

/// Deterministic values in [-1, 1): a fixed LCG, so runs and devices see the same data.
pub fn values(count: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..count)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Weights above this many values are only ever timed, never checked: they get random
/// well-formed blocks ([`super::blocks`]) instead of a real quantization, which for the
/// K-quants takes seconds at 1B-layer sizes.
pub const QUANTIZE_LIMIT: usize = 1 << 20;

/// Bytes of a `[rows, cols]` weight of `dtype` with values of spread `sigma`: `values`
/// quantized when small and a quantizer exists, else random well-formed blocks.
pub fn weight_bytes(dtype: DType, rows: usize, cols: usize, sigma: f32, seed: u64) -> Vec<u8> {
    let elements = rows * cols;
    if elements <= QUANTIZE_LIMIT || !dtype.is_quantized() {
        let v: Vec<f32> = values(elements, seed)
            .iter()
            .map(|x| x * sigma * 3f32.sqrt())
            .collect();
        if let Ok(b) = edgeplane_kernels::quant::quantize(dtype, &v) {
            return b;
        }
    }
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 32) as u8
    };
    super::blocks::random_weights(dtype, elements, sigma, &mut next)
        .unwrap_or_else(|| vec![0; dtype.bytes_for(elements as u64).unwrap_or(0) as usize])
}

fn f32_input(
    g: &mut Graph,
    name: &str,
    shape: &[usize],
    seed: u64,
) -> Result<(crate::TensorId, HostTensor)> {
    let id = g.input(name, TensorDesc::new(DType::F32, shape))?;
    let t = HostTensor::from_f32(shape, &values(shape.iter().product(), seed))?;
    Ok((id, t))
}

fn positions(g: &mut Graph, start: usize, n: usize) -> Result<(crate::TensorId, HostTensor)> {
    let id = g.input("positions", TensorDesc::new(DType::I32, [n]))?;
    let pos: Vec<i32> = (start..start + n).map(|x| x as i32).collect();
    Ok((id, HostTensor::from_i32([n], &pos)?))
}

fn f32_constant(g: &mut Graph, name: &str, shape: &[usize], seed: u64) -> Result<crate::TensorId> {
    let v = values(shape.iter().product(), seed);
    g.constant(
        name,
        TensorDesc::new(DType::F32, shape),
        Bytes::from_vec(bytemuck::cast_slice(&v).to_vec()),
    )
}

/// A single-op graph of `class` at `size`, with its inputs.
pub fn build(
    class: OpClass,
    size: SizePoint,
    scale: MeasureScale,
) -> Result<(Graph, Vec<HostTensor>)> {
    let mut g = Graph::new();
    let mut inputs = Vec::new();
    let SizePoint { n, m, k } = size;
    let out = match class {
        OpClass::MatMul { weight, .. } => {
            let (x, xt) = f32_input(&mut g, "x", &[n, k], 1)?;
            inputs.push(xt);
            let w = g.constant(
                "w",
                TensorDesc::new(weight, [m, k]),
                Bytes::from_vec(weight_bytes(weight, m, k, 1.0 / (k as f32).sqrt(), 2)),
            )?;
            g.add(Op::MatMul { has_bias: false }, &[x, w])?
        }
        OpClass::Attention { .. } => {
            let (h, kvh, hd) = heads(scale);
            let (q, qt) = f32_input(&mut g, "q", &[n, h * hd], 3)?;
            let kc = f32_constant(&mut g, "k", &[m, kvh * hd], 4)?;
            let vc = f32_constant(&mut g, "v", &[m, kvh * hd], 5)?;
            let (pos, pt) = positions(&mut g, m - n, n)?;
            inputs.extend([qt, pt]);
            let op = Op::Attention {
                n_head: h,
                n_kv_head: kvh,
                head_dim: hd,
                scale: 1.0 / (hd as f32).sqrt(),
                causal: true,
                softcap: None,
            };
            g.add(op, &[q, kc, vc, pos])?
        }
        OpClass::Small(kind) => small_op(&mut g, &mut inputs, kind, n, m)?,
    };
    g.mark_output(out)?;
    Ok((g, inputs))
}

fn small_op(
    g: &mut Graph,
    inputs: &mut Vec<HostTensor>,
    kind: OpKind,
    n: usize,
    d: usize,
) -> Result<crate::TensorId> {
    let mut x = |g: &mut Graph, name: &str, seed| -> Result<crate::TensorId> {
        let (id, t) = f32_input(g, name, &[n, d], seed)?;
        inputs.push(t);
        Ok(id)
    };
    match kind {
        OpKind::RmsNorm | OpKind::LayerNorm => {
            let a = x(g, "x", 6)?;
            let w = f32_constant(g, "w", &[d], 7)?;
            if kind == OpKind::RmsNorm {
                g.add(Op::RmsNorm { eps: 1e-5 }, &[a, w])
            } else {
                let b = f32_constant(g, "b", &[d], 8)?;
                g.add(Op::LayerNorm { eps: 1e-5 }, &[a, w, b])
            }
        }
        OpKind::Rope => {
            let a = x(g, "x", 6)?;
            let (pos, pt) = positions(g, 0, n)?;
            inputs.push(pt);
            let op = Op::Rope {
                mode: RopeMode::Normal,
                head_dim: 16.min(d),
                n_dims: 16.min(d),
                freq_base: 10000.0,
                freq_scale: 1.0,
            };
            g.add(op, &[a, pos])
        }
        OpKind::KvWrite => {
            let cache = g.state("cache", TensorDesc::new(DType::F32, [n.max(64), d]))?;
            let new = x(g, "new", 6)?;
            let (pos, pt) = positions(g, 0, n)?;
            inputs.push(pt);
            g.add(Op::KvWrite, &[cache, new, pos])
        }
        OpKind::GetRows => {
            let table = f32_constant(g, "table", &[256, d], 9)?;
            let id = g.input("ids", TensorDesc::new(DType::I32, [n]))?;
            let ids: Vec<i32> = (0..n).map(|i| (i * 37 % 256) as i32).collect();
            inputs.push(HostTensor::from_i32([n], &ids)?);
            g.add(Op::GetRows, &[table, id])
        }
        OpKind::Softmax => {
            let a = x(g, "x", 6)?;
            g.add(Op::Softmax { scale: 1.0 }, &[a])
        }
        OpKind::Cast => {
            let a = x(g, "x", 6)?;
            g.add(Op::Cast { to: DType::F16 }, &[a])
        }
        // Two-input elementwise ops; MatMul and Attention never reach here (they have their
        // own classes) but measure as an Add rather than fail if a caller asks.
        OpKind::SwiGlu
        | OpKind::GeGlu
        | OpKind::Add
        | OpKind::Mul
        | OpKind::MatMul
        | OpKind::Attention => {
            let a = x(g, "a", 6)?;
            let b = x(g, "b", 7)?;
            let op = match kind {
                OpKind::SwiGlu => Op::SwiGlu,
                OpKind::GeGlu => Op::GeGlu,
                OpKind::Mul => Op::Mul,
                _ => Op::Add,
            };
            g.add(op, &[a, b])
        }
    }
}

/// The run-overhead graph: no node at all, its input marked as its output, so a run is
/// exactly an upload and a read-back of `[1, width]` f32. With `with_add`, an `Add` of two
/// rows instead, for backends that refuse empty graphs (its compute then counts as
/// transfer, which errs towards keeping work on one device).
pub fn build_io(width: usize, with_add: bool) -> Result<(Graph, Vec<HostTensor>)> {
    let mut g = Graph::new();
    let (a, at) = f32_input(&mut g, "a", &[1, width], 10)?;
    if !with_add {
        g.mark_output(a)?;
        return Ok((g, vec![at]));
    }
    let (b, bt) = f32_input(&mut g, "b", &[1, width], 11)?;
    let out = g.add(Op::Add, &[a, b])?;
    g.mark_output(out)?;
    Ok((g, vec![at, bt]))
}
