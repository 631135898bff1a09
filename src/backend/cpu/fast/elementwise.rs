//! The row-wise ops of the fast backend: norms, RoPE, GLUs, softmax, broadcasts, casts,
//! embedding lookup and KV writes. Rows are independent, so large tensors are split by
//! rows over the pool; results do not depend on the split.

use super::value::{zeroed, Value};
use crate::error::{Error, Result};
use crate::op::RopeMode;
use crate::DType;
use edgeplane_kernels::cpu::{glu, norm, rope};
use rayon::prelude::*;

/// Rows per parallel task: small tensors run as one task (thread hand-off costs more).
fn rows_per_task(rows: usize, cols: usize) -> usize {
    const ELEMENTS_PER_TASK: usize = 16 * 1024;
    (ELEMENTS_PER_TASK / cols.max(1)).clamp(1, rows.max(1))
}

/// Applies `f(row_index, row_out)` to every row of a `[rows, cols]` output, built in `out`
/// (from the executable's buffer pool).
fn map_rows(
    out: Vec<f32>,
    rows: usize,
    cols: usize,
    f: impl Fn(usize, &mut [f32]) + Sync,
) -> Vec<f32> {
    let mut out = zeroed(out, rows * cols);
    if cols == 0 {
        return out;
    }
    let per = rows_per_task(rows, cols);
    out.par_chunks_mut(per * cols)
        .enumerate()
        .for_each(|(t, chunk)| {
            for (j, row) in chunk.chunks_exact_mut(cols).enumerate() {
                f(t * per + j, row);
            }
        });
    out
}

/// `RmsNorm`.
pub fn rms_norm(out: Vec<f32>, x: &[f32], w: &[f32], d: usize, eps: f32) -> Vec<f32> {
    map_rows(out, x.len() / d.max(1), d, |i, o| {
        norm::rms_norm_row(&x[i * d..(i + 1) * d], w, eps, o)
    })
}

/// `LayerNorm`.
pub fn layer_norm(out: Vec<f32>, x: &[f32], w: &[f32], b: &[f32], d: usize, eps: f32) -> Vec<f32> {
    map_rows(out, x.len() / d.max(1), d, |i, o| {
        norm::layer_norm_row(&x[i * d..(i + 1) * d], w, b, eps, o)
    })
}

/// `Rope`.
pub fn rope(
    out: Vec<f32>,
    x: &[f32],
    cols: usize,
    positions: &[i32],
    params: rope::RopeParams,
) -> Vec<f32> {
    map_rows(out, positions.len(), cols, |i, o| {
        o.copy_from_slice(&x[i * cols..(i + 1) * cols]);
        rope::rope_row(&params, positions[i], o);
    })
}

/// Maps the graph's RoPE mode to the kernel's pair layout.
pub fn rope_pairs(mode: RopeMode) -> rope::RopePairs {
    match mode {
        RopeMode::Normal => rope::RopePairs::Adjacent,
        RopeMode::Neox => rope::RopePairs::HalfSplit,
    }
}

/// `SwiGlu` (`gelu = false`) or `GeGlu`.
pub fn gated(out: Vec<f32>, gate: &[f32], up: &[f32], cols: usize, gelu: bool) -> Vec<f32> {
    map_rows(out, gate.len() / cols.max(1), cols, |i, o| {
        let r = i * cols..(i + 1) * cols;
        if gelu {
            glu::geglu(&gate[r.clone()], &up[r], o)
        } else {
            glu::swiglu(&gate[r.clone()], &up[r], o)
        }
    })
}

/// `Softmax`.
pub fn softmax(out: Vec<f32>, x: &[f32], cols: usize, scale: f32) -> Vec<f32> {
    map_rows(out, x.len() / cols.max(1), cols, |i, o| {
        glu::softmax_row(&x[i * cols..(i + 1) * cols], scale, o)
    })
}

/// `Add` (`mul = false`) or `Mul`, `b` equal-shaped or one row broadcast.
pub fn binary(out: Vec<f32>, a: &[f32], b: &[f32], cols: usize, mul: bool) -> Vec<f32> {
    let rows = a.len() / cols.max(1);
    let broadcast = b.len() != a.len();
    map_rows(out, rows, cols, |i, o| {
        let ar = &a[i * cols..(i + 1) * cols];
        let br = if broadcast {
            b
        } else {
            &b[i * cols..(i + 1) * cols]
        };
        for ((o, &x), &y) in o.iter_mut().zip(ar).zip(br) {
            *o = if mul { x * y } else { x + y };
        }
    })
}

/// `Cast` of any float value to `to`.
pub fn cast(out: Vec<f32>, x: &Value, from: DType, elements: usize, to: DType) -> Result<Value> {
    if to == DType::F32 {
        return Ok(Value::F32(x.widen_into(out, from, elements)?));
    }
    let f = x.to_f32_vec(from, elements)?;
    Ok(match to {
        DType::F16 => Value::F16(f.iter().map(|&v| half::f16::from_f32(v)).collect()),
        DType::BF16 => Value::BF16(f.iter().map(|&v| half::bf16::from_f32(v)).collect()),
        other => {
            return Err(Error::UnsupportedDType {
                dtype: other,
                context: "Cast target".into(),
            })
        }
    })
}

/// `GetRows`: rows `ids` of a `[vocab, d]` table in `dtype`, dequantized.
pub fn get_rows(
    out: Vec<f32>,
    table: &Value,
    dtype: DType,
    vocab: usize,
    d: usize,
    ids: &[i32],
) -> Result<Vec<f32>> {
    for &id in ids {
        if id < 0 || id as usize >= vocab {
            return Err(Error::InvalidInput(format!(
                "GetRows id {id} outside the table of {vocab} rows"
            )));
        }
    }
    if let Value::F32(t) = table {
        return Ok(map_rows(out, ids.len(), d, |i, o| {
            let r = ids[i] as usize;
            o.copy_from_slice(&t[r * d..(r + 1) * d]);
        }));
    }
    let bytes = table.bytes();
    let row_bytes = d / dtype.block_size() * dtype.block_bytes();
    let mut out = zeroed(out, ids.len() * d);
    for (o, &id) in out.chunks_exact_mut(d.max(1)).zip(ids) {
        let r = id as usize;
        edgeplane_kernels::quant::dequantize_row(
            dtype,
            &bytes[r * row_bytes..(r + 1) * row_bytes],
            o,
        )?;
    }
    Ok(out)
}

/// `KvWrite`: rows of `new` into `cache` (`[capacity, width]`) at `positions`.
pub fn kv_write(
    cache: &mut Value,
    capacity: usize,
    width: usize,
    new: &[f32],
    positions: &[i32],
) -> Result<()> {
    for &pos in positions {
        if pos < 0 || pos as usize >= capacity {
            return Err(Error::InvalidInput(format!(
                "KvWrite position {pos} outside the cache of {capacity} rows"
            )));
        }
    }
    for (row, &pos) in new.chunks_exact(width.max(1)).zip(positions) {
        let at = pos as usize * width;
        match cache {
            Value::F32(c) => c[at..at + width].copy_from_slice(row),
            Value::F16(c) => c[at..at + width]
                .iter_mut()
                .zip(row)
                .for_each(|(d, &s)| *d = half::f16::from_f32(s)),
            _ => {
                return Err(Error::InvalidInput(
                    "KvWrite cache must be f32 or f16 state".into(),
                ))
            }
        }
    }
    Ok(())
}
