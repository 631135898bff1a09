//! CPU kernels for `edgeplane`'s fast backend: quantized dot products and matmul per weight
//! dtype, attention with online softmax, and fused rmsnorm / rope / GLU, over plain slices.
//!
//! SIMD: one file per instruction set (`avx2.rs`, `avx512.rs`, generated from the shared
//! `x86_kernels.rs` body), `scalar.rs` as the spec, and one dispatch point (`dot.rs`) keyed
//! by a [`Simd`] token that proves the CPU has the level. On aarch64, `neon/` has the row
//! dots, the packed GEMM's micro-kernels and the f32 helpers for plain NEON and NEON with
//! `sdot` (written once against an intrinsics layer that x86 tests emulate); the
//! interleaved tiles and decode layouts have no NEON code, so they are not used there.
//!
//! Every weight format has a direct per-row integer dot kernel (the 32-block formats
//! against 32-block activations, the K-quants against 256-blocks with sums), plus
//! f32/f16/bf16 float dots; they serve decode and batches under
//! `packed::PACKED_MIN_ROWS`. Every quantized format also has the packed GEMM (`packed/`):
//! weight rows unpacked once into 8-bit codes, then an integer micro-kernel per register
//! tile, for prefill (n ≥ `packed::PACKED_MIN_ROWS`).

pub mod activation;
pub mod attention;
#[cfg(target_arch = "x86_64")]
mod attention_blocked;
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
pub mod decode;
pub mod dot;
pub mod exp;
pub mod glu;
pub mod interleaved;
pub mod layout;
pub mod matmul;
#[cfg(any(target_arch = "aarch64", test, edgeplane_neon_emulated))]
mod neon;
pub mod norm;
pub mod packed;
pub mod peak;
pub mod rope;
pub mod scalar;
pub mod simd;
#[cfg(target_arch = "x86_64")]
mod x86_kernels;

pub use activation::{ActivationFormat, ActivationPart, ActivationRow, ActivationRows};
pub use attention::{attend_group, AttentionParams, KvCache, Partial};
pub use matmul::{matmul_rows, WeightMatrix};
pub use simd::{Simd, SimdLevel};
