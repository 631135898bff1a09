//! The wgpu backend: WGSL kernels from `shaders/` on any GPU wgpu reaches (Vulkan, Metal,
//! DX12, GL).
//!
//! Flow: [`settings`] (env, once) → [`adapter`] (which device) → [`device`] (features,
//! limits, pipeline cache) → [`compile`] (weights uploaded once, buffers, bind groups, via
//! [`lower`] per node and [`kernels`] for shader composition) → [`run`] (one command
//! buffer, one submit, one readback). [`errors`] turns wgpu's error reporting into
//! `edgeplane::Error`.

pub mod adapter;
pub mod buffers;
pub mod compile;
pub mod device;
pub mod errors;
pub mod kernels;
pub mod lower;
pub mod run;
pub mod settings;

use crate::backend::{Backend, DeviceInfo, DeviceKind, Executable};
use crate::error::Result;
use crate::graph::Graph;
use crate::op::Op;
use crate::tensor::TensorDesc;
pub use settings::{GraphicsApi, WgpuSettings};
use std::sync::Arc;

/// The wgpu backend on one device.
pub struct Wgpu {
    gpu: Arc<device::Gpu>,
}

impl Wgpu {
    /// Opens the device the settings pick; `NotAvailable` if there is no adapter.
    pub fn new(settings: &WgpuSettings) -> Result<Wgpu> {
        Ok(Wgpu {
            gpu: Arc::new(device::Gpu::open(settings)?),
        })
    }

    /// Opens the device chosen by the `EDGEPLANE_WGPU_*` environment variables.
    pub fn from_env() -> Result<Wgpu> {
        Wgpu::new(&WgpuSettings::from_env())
    }

    /// The open device (features, limits, adapter info).
    pub fn gpu(&self) -> &device::Gpu {
        &self.gpu
    }
}

impl Backend for Wgpu {
    fn info(&self) -> DeviceInfo {
        let g = &self.gpu;
        let mut features = Vec::new();
        if g.adapter_features.contains(::wgpu::Features::SHADER_F16) {
            features.push("shader-f16".to_string());
        }
        if g.adapter_features.contains(::wgpu::Features::SUBGROUP) {
            features.push("subgroup".to_string());
        }
        if !(g.use_f16 || g.use_subgroup) {
            features.push("plain-shaders".to_string());
        }
        features.push(format!("max-binding={}", g.max_binding_bytes));
        DeviceInfo {
            backend: g.name.clone(),
            device: g.info.name.clone(),
            kind: match g.info.device_type {
                ::wgpu::DeviceType::Cpu => DeviceKind::Cpu,
                _ => DeviceKind::Gpu,
            },
            api: g.info.backend.to_str().to_string(),
            driver: format!("{} {}", g.info.driver, g.info.driver_info),
            memory_bytes: None,
            features,
        }
    }

    fn supports(&self, op: &Op, inputs: &[TensorDesc]) -> bool {
        lower::supports(op, inputs)
    }

    fn compile(&self, graph: &Graph) -> Result<Box<dyn Executable>> {
        Ok(Box::new(compile::compile(&self.gpu, graph)?))
    }
}
