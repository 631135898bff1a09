//! Output shapes of each op, and the checks that reject inputs outside the op's contract.
//! The one place these rules live: the graph builder calls it, backends rely on it.

use crate::error::{Error, Result};
use crate::op::Op;
use crate::tensor::TensorDesc;
use crate::DType;

fn fail<T>(op: &Op, msg: String) -> Result<T> {
    Err(Error::Shape(format!("{:?}: {msg}", op.kind())))
}

fn matrix(op: &Op, what: &str, d: &TensorDesc) -> Result<(usize, usize)> {
    match d.shape.dims() {
        [r, c] => Ok((*r, *c)),
        _ => fail(op, format!("{what} must be 2-D, got {d}")),
    }
}

fn vector(op: &Op, what: &str, d: &TensorDesc) -> Result<usize> {
    match d.shape.dims() {
        [n] => Ok(*n),
        _ => fail(op, format!("{what} must be 1-D, got {d}")),
    }
}

fn want_dtype(op: &Op, what: &str, d: &TensorDesc, ok: &[DType]) -> Result<()> {
    if ok.contains(&d.dtype) {
        Ok(())
    } else {
        Err(Error::UnsupportedDType {
            dtype: d.dtype,
            context: format!("{:?} {what} (allowed: {ok:?})", op.kind()),
        })
    }
}

fn weight_dtype(op: &Op, what: &str, d: &TensorDesc) -> Result<()> {
    want_dtype(op, what, d, &DType::WEIGHTS)?;
    if !d.shape.cols().is_multiple_of(d.dtype.block_size()) {
        return fail(
            op,
            format!(
                "{what} {d}: rows of {} are not whole {}-value blocks",
                d.shape.cols(),
                d.dtype.block_size()
            ),
        );
    }
    Ok(())
}

/// The output of `op` over `inputs`, or a shape/dtype error naming what does not fit.
pub fn output_desc(op: &Op, inputs: &[&TensorDesc]) -> Result<TensorDesc> {
    if inputs.len() != op.input_count() {
        return fail(
            op,
            format!("takes {} inputs, got {}", op.input_count(), inputs.len()),
        );
    }
    let f32_only = [DType::F32];
    match op {
        Op::MatMul { has_bias } => {
            want_dtype(op, "x", inputs[0], &f32_only)?;
            weight_dtype(op, "weight", inputs[1])?;
            let (n, k) = matrix(op, "x", inputs[0])?;
            let (m, wk) = matrix(op, "weight", inputs[1])?;
            if k != wk {
                return fail(
                    op,
                    format!(
                        "x {} has {k} columns, weight {} has {wk}",
                        inputs[0], inputs[1]
                    ),
                );
            }
            if *has_bias {
                want_dtype(op, "bias", inputs[2], &f32_only)?;
                if vector(op, "bias", inputs[2])? != m {
                    return fail(op, format!("bias {} does not match {m} outputs", inputs[2]));
                }
            }
            Ok(TensorDesc::new(DType::F32, [n, m]))
        }
        Op::Attention {
            n_head,
            n_kv_head,
            head_dim,
            softcap,
            ..
        } => {
            if *n_head == 0 || *n_kv_head == 0 || *head_dim == 0 || n_head % n_kv_head != 0 {
                return fail(op, format!("n_head {n_head} must be a positive multiple of n_kv_head {n_kv_head}, head_dim {head_dim} > 0"));
            }
            if softcap.is_some_and(|c| c <= 0.0 || !c.is_finite()) {
                return fail(op, "softcap must be positive and finite".into());
            }
            want_dtype(op, "q", inputs[0], &f32_only)?;
            want_dtype(op, "k", inputs[1], &[DType::F32, DType::F16])?;
            want_dtype(op, "v", inputs[2], &[DType::F32, DType::F16])?;
            want_dtype(op, "positions", inputs[3], &[DType::I32])?;
            let (n, qw) = matrix(op, "q", inputs[0])?;
            let (cap, kw) = matrix(op, "k", inputs[1])?;
            if qw != n_head * head_dim {
                return fail(
                    op,
                    format!("q {} is not {n_head} heads of {head_dim}", inputs[0]),
                );
            }
            if kw != n_kv_head * head_dim || inputs[2].shape != inputs[1].shape {
                return fail(
                    op,
                    format!(
                        "k {} and v {} must both be [capacity, {n_kv_head}*{head_dim}]",
                        inputs[1], inputs[2]
                    ),
                );
            }
            if cap == 0 {
                return fail(op, "KV capacity is 0".into());
            }
            if vector(op, "positions", inputs[3])? != n {
                return fail(
                    op,
                    format!(
                        "positions {} must have one entry per query row ({n})",
                        inputs[3]
                    ),
                );
            }
            Ok(TensorDesc::new(DType::F32, [n, qw]))
        }
        Op::KvWrite => {
            want_dtype(op, "cache", inputs[0], &[DType::F32, DType::F16])?;
            want_dtype(op, "new rows", inputs[1], &f32_only)?;
            want_dtype(op, "positions", inputs[2], &[DType::I32])?;
            let (_, w) = matrix(op, "cache", inputs[0])?;
            let (n, nw) = matrix(op, "new rows", inputs[1])?;
            if w != nw {
                return fail(
                    op,
                    format!(
                        "cache {} and new rows {} differ in width",
                        inputs[0], inputs[1]
                    ),
                );
            }
            if vector(op, "positions", inputs[2])? != n {
                return fail(
                    op,
                    format!(
                        "positions {} must have one entry per new row ({n})",
                        inputs[2]
                    ),
                );
            }
            Ok(inputs[0].clone())
        }
        Op::RmsNorm { .. } | Op::LayerNorm { .. } => {
            want_dtype(op, "x", inputs[0], &f32_only)?;
            let (_, d) = matrix(op, "x", inputs[0])?;
            for (i, p) in inputs[1..].iter().enumerate() {
                want_dtype(op, "parameter", p, &f32_only)?;
                if vector(op, "parameter", p)? != d {
                    return fail(
                        op,
                        format!("parameter {} {p} does not match width {d}", i + 1),
                    );
                }
            }
            Ok(inputs[0].clone())
        }
        Op::Rope {
            head_dim, n_dims, ..
        } => {
            want_dtype(op, "x", inputs[0], &f32_only)?;
            want_dtype(op, "positions", inputs[1], &[DType::I32])?;
            let (n, w) = matrix(op, "x", inputs[0])?;
            if *head_dim == 0
                || w % head_dim != 0
                || *n_dims > *head_dim
                || n_dims % 2 != 0
                || *n_dims == 0
            {
                return fail(op, format!("x {} with head_dim {head_dim}, n_dims {n_dims}: width must be a multiple of head_dim and n_dims even, in 2..=head_dim", inputs[0]));
            }
            if vector(op, "positions", inputs[1])? != n {
                return fail(
                    op,
                    format!("positions {} must have one entry per row ({n})", inputs[1]),
                );
            }
            Ok(inputs[0].clone())
        }
        Op::SwiGlu | Op::GeGlu => {
            want_dtype(op, "gate", inputs[0], &f32_only)?;
            want_dtype(op, "up", inputs[1], &f32_only)?;
            matrix(op, "gate", inputs[0])?;
            if inputs[0].shape != inputs[1].shape {
                return fail(
                    op,
                    format!("gate {} and up {} differ", inputs[0], inputs[1]),
                );
            }
            Ok(inputs[0].clone())
        }
        Op::Add | Op::Mul => {
            want_dtype(op, "a", inputs[0], &f32_only)?;
            want_dtype(op, "b", inputs[1], &f32_only)?;
            let a = &inputs[0].shape;
            let b = &inputs[1].shape;
            if a != b && !(b.rank() == 1 && b.cols() == a.cols()) {
                return fail(
                    op,
                    format!(
                        "b {} must equal a {} or be [{}]",
                        inputs[1],
                        inputs[0],
                        a.cols()
                    ),
                );
            }
            Ok(inputs[0].clone())
        }
        Op::Softmax { .. } => {
            want_dtype(op, "x", inputs[0], &f32_only)?;
            matrix(op, "x", inputs[0])?;
            Ok(inputs[0].clone())
        }
        Op::GetRows => {
            weight_dtype(op, "table", inputs[0])?;
            want_dtype(op, "ids", inputs[1], &[DType::I32])?;
            let (_, d) = matrix(op, "table", inputs[0])?;
            let n = vector(op, "ids", inputs[1])?;
            Ok(TensorDesc::new(DType::F32, [n, d]))
        }
        Op::Cast { to } => {
            let floats = [DType::F32, DType::F16, DType::BF16];
            want_dtype(op, "x", inputs[0], &floats)?;
            want_dtype(op, "target", &TensorDesc::new(*to, [1]), &floats)?;
            Ok(TensorDesc {
                dtype: *to,
                shape: inputs[0].shape.clone(),
            })
        }
    }
}
