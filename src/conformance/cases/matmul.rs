//! MatMul over every weight dtype: odd output counts, the fewest whole blocks that make `k`
//! odd in blocks, token counts from decode (1) to prefill (64; 512 in the Full tier), with
//! and without bias; plus one shape of whole 16-row × 256-value tiles, the layout a backend
//! may repack weights into (the fast CPU backend's interleaved tiles).

use super::{push, CaseBuilder};
use crate::conformance::{Case, CaseFilter, Tier};
use crate::op::{Op, OpKind};
use crate::DType;

/// `(n, m, k)` for `dtype` in `tier`: `k` is a whole number of blocks (odd where the
/// block allows: 67 for floats, 3 blocks of 32, one 256 super-block), `m` is odd, except
/// in the tile shape (32 × 512).
fn shapes(dtype: DType, tier: Tier) -> Vec<(usize, usize, usize)> {
    let (k_small, k_big) = match dtype.block_size() {
        1 => (67, 1023),
        256 => (256, 1280),
        block => (3 * block, 33 * block),
    };
    let mut shapes: Vec<_> = [1, 2, 7, 64].iter().map(|&n| (n, 37, k_small)).collect();
    shapes.push((5, 32, 512));
    if tier == Tier::Full {
        shapes.push((512, 255, k_big));
        shapes.push((1, 1023, k_big));
    }
    shapes
}

/// Appends the matmul cases.
pub fn cases(filter: &CaseFilter, out: &mut Vec<Case>) {
    for dtype in DType::WEIGHTS {
        for (i, (n, m, k)) in shapes(dtype, filter.tier).into_iter().enumerate() {
            let has_bias = i % 2 == 1;
            let name = format!(
                "matmul/{dtype}/n{n}/m{m}k{k}{}",
                if has_bias { "/bias" } else { "" }
            );
            push(
                out,
                filter,
                OpKind::MatMul,
                &[dtype],
                name,
                |mut b: CaseBuilder| {
                    let x = b.random("x", &[n, k], 1.0)?;
                    let w = b.weights("w", dtype, m, k)?;
                    let mut inputs = vec![x, w];
                    if has_bias {
                        inputs.push(b.random("bias", &[m], 1.0)?);
                    }
                    let y = b.add(Op::MatMul { has_bias }, &inputs)?;
                    b.finish(OpKind::MatMul, y)
                },
            );
        }
    }
}
