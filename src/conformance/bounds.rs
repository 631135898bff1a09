//! The NMSE bound per op, and why. One table, so a reviewer can judge every bound at once.
//!
//! | op | bound | why |
//! |---|---|---|
//! | MatMul | 5e-4 | ggml's test-backend-ops bound for `mul_mat`: backends may quantize activations (q8_1/q8_K) and accumulate in f32 or f16 over long rows. |
//! | Attention | 5e-4 | ggml's bound for `flash_attn_ext`: backends may keep scores, softmax or the V sum in f16 and use an online softmax. |
//! | KvWrite | 1e-7 | a copy with one rounding to the cache dtype; any mistake (wrong row, wrong rounding) is far above this. |
//! | RmsNorm, LayerNorm, Softmax | 1e-6 | f32 sums over up to thousands of values against the reference's f64 (ggml's default is 1e-7; we allow for f32 reductions in a different order and fast `exp`). |
//! | Rope | 1e-6 | f32 angles `p·θ` lose about `p·ε` radians; positions in the cases are below ~600. |
//! | SwiGlu, GeGlu | 1e-6 | `exp`/`tanh` in f32 (ggml evaluates gelu through an f16 table, about 1e-6 NMSE). |
//! | Add, Mul | 1e-7 | one f32 operation per value; only a wrong index fails. |
//! | GetRows | 1e-7 | dequantization is exact arithmetic shared with the reference's definition. |
//! | Cast | 1e-7 | one rounding; round-to-nearest-even is required, truncation is measurable above this. |

use crate::op::OpKind;

/// The NMSE bound for cases of `op`, with the reasons in this module's table.
pub fn bound(op: OpKind) -> f64 {
    match op {
        OpKind::MatMul | OpKind::Attention => 5e-4,
        OpKind::RmsNorm | OpKind::LayerNorm | OpKind::Softmax => 1e-6,
        OpKind::Rope | OpKind::SwiGlu | OpKind::GeGlu => 1e-6,
        OpKind::KvWrite | OpKind::Add | OpKind::Mul | OpKind::GetRows | OpKind::Cast => 1e-7,
    }
}
