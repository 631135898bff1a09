//! edgeplane runs quantized transformer layers on whatever silicon a device has — CPU,
//! GPU through wgpu, NPUs through NNAPI and CoreML — proves every backend against a CPU
//! reference, and picks the fastest device for each piece of work.
//!
//! The flow (see `docs/architecture.md`): a GGUF file is read by [`gguf`] into tensors; a
//! [`Graph`] of [`Op`]s is built over them; a [`Backend`] compiles the graph into an
//! [`Executable`] and runs it; [`conformance`] proves backends against
//! [`backend::cpu::reference::Reference`].
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod anchor;
pub mod backend;
pub mod conformance;
pub mod error;
pub mod gguf;
pub mod graph;
pub mod model;
pub mod op;
pub mod sched;
pub mod shape_check;
pub mod tensor;
pub mod tokenizer;

pub use backend::{Backend, DeviceInfo, DeviceKind, Executable};
pub use edgeplane_kernels::DType;
pub use error::{Error, Result};
pub use graph::{Graph, Node, NodeId, TensorId, TensorInfo, TensorKind};
pub use op::{Op, OpKind, RopeMode};
pub use tensor::{Bytes, HostTensor, Shape, TensorDesc};
