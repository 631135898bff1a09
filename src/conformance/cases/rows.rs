//! Row-wise f32 ops: norms, softmax, rope, gated activations and broadcasting arithmetic,
//! each on a multi-row block and on a long single row (odd widths where the op allows).

use super::{push, CaseBuilder};
use crate::conformance::{Case, CaseFilter, Tier};
use crate::error::Result;
use crate::op::{Op, OpKind, RopeMode};
use crate::DType;

/// `(rows, cols)` of the row-wise cases.
fn widths(tier: Tier) -> Vec<(usize, usize)> {
    let mut shapes = vec![(7, 96), (1, 2049)];
    if tier == Tier::Full {
        shapes.push((64, 4096));
    }
    shapes
}

/// One rope configuration: `(mode, heads, head_dim, n_dims, freq_base, freq_scale)`.
type RopeCase = (RopeMode, usize, usize, usize, f32, f32);

const ROPE: [RopeCase; 4] = [
    (RopeMode::Normal, 4, 64, 64, 10000.0, 1.0),
    (RopeMode::Neox, 4, 64, 64, 10000.0, 1.0),
    (RopeMode::Neox, 2, 64, 32, 1_000_000.0, 0.5),
    (RopeMode::Normal, 2, 128, 128, 500_000.0, 1.0),
];

fn rope_case(mut b: CaseBuilder, r: RopeCase) -> Result<Case> {
    let (mode, heads, head_dim, n_dims, freq_base, freq_scale) = r;
    let x = b.random("x", &[7, heads * head_dim], 1.0)?;
    let positions: Vec<i32> = (0..7).map(|_| b.rng.below(600) as i32).collect();
    let positions = b.ints("positions", &positions)?;
    let op = Op::Rope {
        mode,
        head_dim,
        n_dims,
        freq_base,
        freq_scale,
    };
    let y = b.add(op, &[x, positions])?;
    b.finish(OpKind::Rope, y)
}

/// Appends the row-wise cases.
pub fn cases(filter: &CaseFilter, out: &mut Vec<Case>) {
    let f32_only = [DType::F32];
    for (n, d) in widths(filter.tier) {
        let name = format!("rms_norm/{n}x{d}");
        push(out, filter, OpKind::RmsNorm, &f32_only, name, |mut b| {
            let x = b.random("x", &[n, d], 3.0)?;
            let w = b.random("w", &[d], 1.0)?;
            let y = b.add(Op::RmsNorm { eps: 1e-5 }, &[x, w])?;
            b.finish(OpKind::RmsNorm, y)
        });
        let name = format!("layer_norm/{n}x{d}");
        push(out, filter, OpKind::LayerNorm, &f32_only, name, |mut b| {
            let x = b.random("x", &[n, d], 3.0)?;
            let w = b.random("w", &[d], 1.0)?;
            let bias = b.random("b", &[d], 1.0)?;
            let y = b.add(Op::LayerNorm { eps: 1e-5 }, &[x, w, bias])?;
            b.finish(OpKind::LayerNorm, y)
        });
        let name = format!("softmax/{n}x{d}");
        push(out, filter, OpKind::Softmax, &f32_only, name, |mut b| {
            let x = b.random("x", &[n, d], 8.0)?;
            let y = b.add(Op::Softmax { scale: 0.7 }, &[x])?;
            b.finish(OpKind::Softmax, y)
        });
        for (kind, op, label) in [
            (OpKind::SwiGlu, Op::SwiGlu, "swiglu"),
            (OpKind::GeGlu, Op::GeGlu, "geglu"),
        ] {
            push(
                out,
                filter,
                kind,
                &f32_only,
                format!("{label}/{n}x{d}"),
                |mut b| {
                    let gate = b.random("gate", &[n, d], 5.0)?;
                    let up = b.random("up", &[n, d], 1.0)?;
                    let y = b.add(op, &[gate, up])?;
                    b.finish(kind, y)
                },
            );
        }
        for (kind, op, label) in [(OpKind::Add, Op::Add, "add"), (OpKind::Mul, Op::Mul, "mul")] {
            for broadcast in [false, true] {
                let form = if broadcast { "row" } else { "same" };
                let name = format!("{label}/{n}x{d}/{form}");
                push(out, filter, kind, &f32_only, name, |mut b| {
                    let a = b.random("a", &[n, d], 1.0)?;
                    let other = if broadcast { vec![d] } else { vec![n, d] };
                    let rhs = b.random("b", &other, 1.0)?;
                    let y = b.add(op.clone(), &[a, rhs])?;
                    b.finish(kind, y)
                });
            }
        }
    }
    for r in ROPE {
        let (mode, heads, head_dim, n_dims, base, scale) = r;
        let mode_name = match mode {
            RopeMode::Normal => "normal",
            RopeMode::Neox => "neox",
        };
        let name =
            format!("rope/{mode_name}/h{heads}x{head_dim}/dims{n_dims}/base{base}/scale{scale}");
        push(out, filter, OpKind::Rope, &f32_only, name, |b| {
            rope_case(b, r)
        });
    }
}
