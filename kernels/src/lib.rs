//! Leaf math for edgeplane: ggml's block formats, reference (de)quantization and the CPU
//! kernels, over plain slices. Nothing here knows about devices, graphs or files; the
//! `edgeplane` crate orchestrates, this crate computes.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod cpu;
pub mod dtype;
pub mod noise;
pub mod quant;

pub use dtype::DType;
