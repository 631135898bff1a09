//! CPU kernels for `edgeplane`'s fast backend: quantized dot products and matmul per weight
//! dtype, attention with online softmax, and fused rmsnorm / rope / GLU, over plain slices.
//!
//! SIMD: one file per instruction set (`avx2.rs`, `avx512.rs`, generated from the shared
//! `x86_kernels.rs` body), `scalar.rs` as the spec, and one dispatch point (`dot.rs`) keyed
//! by a [`Simd`] token that proves the CPU has the level. NEON is not written yet: on
//! aarch64 the scalar kernels run.
//!
//! Direct integer kernels exist for Q4_0, Q8_0 (activations as 32-blocks) and Q4_K, Q6_K
//! (256-blocks with sums), plus f32/f16/bf16 float dots; the other formats (Q4_1, Q5_0,
//! Q5_1, Q2_K, Q3_K, Q5_K) are dequantized to f32 per row and use the f32 dot, which is
//! correct but not fast.

pub mod activation;
pub mod attention;
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
pub mod dot;
pub mod exp;
pub mod glu;
pub mod layout;
pub mod matmul;
pub mod norm;
pub mod rope;
pub mod scalar;
pub mod simd;
#[cfg(target_arch = "x86_64")]
mod x86_kernels;

pub use activation::{ActivationFormat, ActivationRow, ActivationRows};
pub use attention::{attend_group, AttentionParams, KvCache, Partial};
pub use matmul::{matmul_rows, WeightMatrix};
pub use simd::{Simd, SimdLevel};
