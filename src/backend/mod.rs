//! The `Backend` contract every device implements, and the backends edgeplane ships.
//!
//! A backend compiles a whole [`Graph`] into an [`Executable`]: whole-graph compile is what
//! NPU delegates need (NNAPI and CoreML compile models, not ops) and lets GPU backends build
//! pipelines, upload weights and allocate state once. An executable then runs many times,
//! keeping its state (KV caches) between runs.

pub mod cpu;
pub mod wgpu;

use crate::error::Result;
use crate::graph::Graph;
use crate::op::Op;
use crate::tensor::{HostTensor, TensorDesc};

/// Every backend compiled in that opens on this machine, the CPU reference first. Backends
/// that fail to open (no GPU adapter, for instance) are logged and left out. Each new
/// backend adds itself here; the CLI's `devices`, `check`, `bench` and the tour all list
/// what this returns.
pub fn available_backends() -> Vec<std::sync::Arc<dyn Backend>> {
    use std::sync::Arc;
    let mut backends: Vec<Arc<dyn Backend>> = vec![Arc::new(cpu::reference::Reference::new())];
    match cpu::fast::Fast::new(cpu::fast::FastSettings::default()) {
        Ok(b) => backends.push(Arc::new(b)),
        Err(e) => log::warn!("fast CPU backend: {e}"),
    }
    match wgpu::Wgpu::from_env() {
        Ok(b) => backends.push(Arc::new(b)),
        Err(e) => log::warn!("wgpu backend: {e}"),
    }
    backends
}

/// What kind of silicon a device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DeviceKind {
    /// A CPU.
    Cpu,
    /// A GPU (or a software rasterizer exposing a GPU API, such as lavapipe).
    Gpu,
    /// A neural accelerator behind a platform delegate.
    Npu,
}

/// What a backend reports about its device.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeviceInfo {
    /// Short unique name of the backend instance (`"cpu-ref"`, `"cpu"`, `"wgpu:vulkan:0"`).
    pub backend: String,
    /// The device's own name (`"llvmpipe (LLVM 15.0.6, 256 bits)"`).
    pub device: String,
    /// Silicon kind.
    pub kind: DeviceKind,
    /// API used (`"host"`, `"vulkan"`, `"metal"`, `"nnapi"`, `"coreml"`).
    pub api: String,
    /// Driver name and version where known; part of the scheduler's profile key.
    pub driver: String,
    /// Memory the device can use, in bytes, where known.
    pub memory_bytes: Option<u64>,
    /// Features and settings worth reporting (`"avx2"`, `"shader-f16"`, `"threads=2"`).
    pub features: Vec<String>,
}

/// A device that runs graphs. Object-safe, shareable across threads.
pub trait Backend: Send + Sync {
    /// Describes the device. Cheap; never fails.
    fn info(&self) -> DeviceInfo;

    /// Whether this backend can run `op` on inputs of these descriptions. Must agree with
    /// `compile`: a graph whose every node is supported compiles, or fails only for device
    /// reasons (memory, a lost device), never with [`crate::Error::Unsupported`].
    fn supports(&self, op: &Op, inputs: &[TensorDesc]) -> bool;

    /// Compiles `graph`: checks support, uploads constants, allocates state and builds
    /// whatever the device needs to run it. Errors: `Unsupported` naming the first node it
    /// cannot run, `OutOfMemory`, `Device`/`DeviceLost`.
    fn compile(&self, graph: &Graph) -> Result<Box<dyn Executable>>;
}

/// A compiled graph, ready to run repeatedly. State tensors persist between runs.
pub trait Executable: Send {
    /// Runs the graph once. `inputs` follow [`Graph::inputs`] order and must match their
    /// declared descriptions (else `InvalidInput`); the result follows [`Graph::outputs`]
    /// order. Device failures come back as `Device`, `DeviceLost` or `OutOfMemory`; the
    /// executable's state is then unspecified.
    fn run(&mut self, inputs: &[HostTensor]) -> Result<Vec<HostTensor>>;

    /// Resets every state tensor to zero (a new sequence).
    fn reset_state(&mut self) -> Result<()>;

    /// Reads a state tensor by its id in the compiled graph, for tests and for moving a KV
    /// cache between devices. Optional: `Unsupported` by default.
    fn read_state(&self, id: crate::graph::TensorId) -> Result<HostTensor> {
        Err(crate::Error::Unsupported {
            backend: "this executable".into(),
            op: format!("reading state tensor {}", id.0),
        })
    }

    /// Overwrites a state tensor by its id in the compiled graph with `value` (same
    /// description), so a KV cache filled by one executable (a batched prefill) can continue
    /// in another (one-token decode) or on another device. Optional: `Unsupported` by
    /// default; `InvalidInput` when `value` does not match the state tensor.
    fn write_state(&mut self, id: crate::graph::TensorId, value: &HostTensor) -> Result<()> {
        let _ = value;
        Err(crate::Error::Unsupported {
            backend: "this executable".into(),
            op: format!("writing state tensor {}", id.0),
        })
    }
}
