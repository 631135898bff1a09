//! The opened device: queue, features actually enabled, limits, error plumbing, and the
//! pipeline cache keyed by (kernel, dtype, variant, override constants).

use super::adapter;
use super::errors::{self, DeviceHealth};
use super::kernels::{self, Kernel, Variant};
use super::settings::WgpuSettings;
use crate::error::{Error, Result};
use crate::DType;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What identifies a compiled pipeline: the kernel family, the dtype it unpacks, the
/// feature variant and its override constants.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PipelineKey {
    /// Kernel family.
    pub kernel: Kernel,
    /// Unpacked dtype, for kernels that take one.
    pub dtype: Option<DType>,
    /// Feature variant.
    pub variant: Variant,
    /// WGSL `override` constants, by name.
    pub constants: Vec<(&'static str, u32)>,
}

/// An open wgpu device with everything the backend shares between executables.
pub struct Gpu {
    /// The device.
    pub device: ::wgpu::Device,
    /// Its queue.
    pub queue: ::wgpu::Queue,
    /// Lost-device and uncaptured-error state.
    pub health: Arc<DeviceHealth>,
    /// Adapter description.
    pub info: ::wgpu::AdapterInfo,
    /// Backend instance name (`wgpu:vulkan:llvmpipe...`).
    pub name: String,
    /// Native f16 shaders usable (feature present and not forced off).
    pub use_f16: bool,
    /// Subgroup shaders usable (feature present and not forced off).
    pub use_subgroup: bool,
    /// Features the adapter offers (reported even when forced off).
    pub adapter_features: ::wgpu::Features,
    /// Weights larger than this many bytes are split by rows (the adapter's binding limit,
    /// or lower when the settings ask, to test splitting).
    pub max_binding_bytes: u64,
    /// The adapter's storage binding limit, in bytes (activations must fit it).
    pub adapter_binding_bytes: u64,
    /// Largest buffer, in bytes.
    pub max_buffer_bytes: u64,
    pipelines: Mutex<HashMap<PipelineKey, Arc<::wgpu::ComputePipeline>>>,
}

impl Gpu {
    /// Opens the adapter the settings choose. `NotAvailable` when there is none.
    pub fn open(settings: &WgpuSettings) -> Result<Gpu> {
        let instance = adapter::instance(settings);
        let adapter = adapter::choose(&instance, settings)?;
        let info = adapter.get_info();
        let offered = adapter.features();
        let wanted = ::wgpu::Features::SHADER_F16
            | ::wgpu::Features::SUBGROUP
            | ::wgpu::Features::TIMESTAMP_QUERY;
        let limits = adapter.limits();
        let desc = ::wgpu::DeviceDescriptor {
            label: Some("edgeplane"),
            required_features: offered & wanted,
            required_limits: limits.clone(),
            ..Default::default()
        };
        let name = format!(
            "wgpu:{}:{}",
            info.backend.to_str(),
            info.name.split_whitespace().next().unwrap_or("adapter")
        );
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| Error::NotAvailable(format!("a device on adapter {}: {e}", info.name)))?;
        let health = DeviceHealth::install(&device);
        let adapter_binding_bytes = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size)
            & !255;
        let max_binding_bytes = settings
            .max_binding_bytes
            .unwrap_or(u64::MAX)
            .min(adapter_binding_bytes);
        Ok(Gpu {
            device,
            queue,
            health,
            name,
            use_f16: offered.contains(::wgpu::Features::SHADER_F16) && !settings.force_fallback,
            use_subgroup: offered.contains(::wgpu::Features::SUBGROUP) && !settings.force_fallback,
            adapter_features: offered,
            max_binding_bytes,
            adapter_binding_bytes,
            max_buffer_bytes: limits.max_buffer_size,
            info,
            pipelines: Mutex::new(HashMap::new()),
        })
    }

    /// The variant to use for `kernel` on data that is (`f16_data`) or is not f16: every
    /// feature the device allows that the kernel has a variant for. Weight unpacking has no
    /// f16 variant: naga 30 types `bitcast<vec2<f16>>(u32)` wrongly, which it would need.
    pub fn variant(&self, kernel: Kernel, f16_data: bool) -> Variant {
        Variant {
            f16: self.use_f16 && f16_data && kernel.has_f16_variant(),
            subgroup: self.use_subgroup && kernel.has_subgroup_variant(),
        }
    }

    /// The pipeline for `key`, built (and cached) on first use.
    pub fn pipeline(&self, key: &PipelineKey) -> Result<Arc<::wgpu::ComputePipeline>> {
        if let Some(p) = self.pipelines.lock().ok().and_then(|m| m.get(key).cloned()) {
            return Ok(p);
        }
        let source = kernels::compose(key.kernel, key.dtype, key.variant)?;
        let label = format!("{:?}/{:?}/{:?}", key.kernel, key.dtype, key.variant);
        let constants: Vec<(&str, f64)> = key
            .constants
            .iter()
            .map(|&(n, v)| (n, f64::from(v)))
            .collect();
        let pipeline = errors::scoped(
            &self.device,
            &self.health,
            &self.name,
            &format!("building pipeline {label}"),
            || {
                let module = self
                    .device
                    .create_shader_module(::wgpu::ShaderModuleDescriptor {
                        label: Some(&label),
                        source: ::wgpu::ShaderSource::Wgsl(source.into()),
                    });
                Ok(self
                    .device
                    .create_compute_pipeline(&::wgpu::ComputePipelineDescriptor {
                        label: Some(&label),
                        layout: None,
                        module: &module,
                        entry_point: Some("main"),
                        compilation_options: ::wgpu::PipelineCompilationOptions {
                            constants: &constants,
                            zero_initialize_workgroup_memory: false,
                        },
                        cache: None,
                    }))
            },
        )?;
        let pipeline = Arc::new(pipeline);
        if let Ok(mut m) = self.pipelines.lock() {
            m.insert(key.clone(), pipeline.clone());
        }
        Ok(pipeline)
    }
}
