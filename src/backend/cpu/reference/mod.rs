//! The reference CPU backend: plain loops, f64 accumulation, clarity over speed.
//!
//! In the flow of DESIGN.md this is the ground truth: [`crate::conformance`] runs every
//! case on a backend under test and here, and measures the difference. So every op is
//! written the obvious way, straight from its doc in [`crate::op`]: weights are dequantized
//! row by row with `edgeplane_kernels::quant::dequantize_row`, dot products, norms, softmax
//! and attention accumulate in f64, and nothing is fused or reordered. It is deliberately
//! slow; never schedule real work on it.
//!
//! Layout: `executable.rs` ([`ReferenceExecutable`]) interprets a compiled [`Graph`] node by node; `ops/` holds one
//! file per op family over plain slices.

mod executable;
pub mod ops;

pub use executable::ReferenceExecutable;

use crate::backend::{Backend, DeviceInfo, DeviceKind, Executable};
use crate::error::Result;
use crate::graph::Graph;
use crate::op::Op;
use crate::tensor::TensorDesc;

/// The name the reference reports in [`DeviceInfo::backend`]; the scheduler and the CLI
/// recognise the ground truth by it.
pub const BACKEND_NAME: &str = "cpu-ref";

/// The naive, obviously-right CPU backend. Stateless: each [`Executable`] owns its state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reference;

impl Reference {
    /// The reference backend (it has no settings: there is one right answer).
    pub fn new() -> Self {
        Reference
    }
}

impl Backend for Reference {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            backend: BACKEND_NAME.into(),
            device: "host CPU (reference loops, f64 accumulation)".into(),
            kind: DeviceKind::Cpu,
            api: "host".into(),
            driver: format!("edgeplane {}", env!("CARGO_PKG_VERSION")),
            memory_bytes: None,
            features: vec!["f64-accumulation".into()],
        }
    }

    /// Every op over every input the graph builder accepts: the shape checker is the
    /// reference's contract too.
    fn supports(&self, op: &Op, inputs: &[TensorDesc]) -> bool {
        let refs: Vec<&TensorDesc> = inputs.iter().collect();
        crate::shape_check::output_desc(op, &refs).is_ok()
    }

    fn compile(&self, graph: &Graph) -> Result<Box<dyn Executable>> {
        Ok(Box::new(ReferenceExecutable::new(graph)?))
    }
}
