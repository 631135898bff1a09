//! Adapter choice: the highest-performance adapter by default, or the one whose name
//! contains `EDGEPLANE_WGPU_ADAPTER`, restricted to `EDGEPLANE_WGPU_BACKEND`.

use super::settings::WgpuSettings;
use crate::error::{Error, Result};

/// Rank of a device type when no adapter is named: discrete GPUs first, CPUs last.
fn performance_rank(t: ::wgpu::DeviceType) -> u8 {
    match t {
        ::wgpu::DeviceType::DiscreteGpu => 0,
        ::wgpu::DeviceType::IntegratedGpu => 1,
        ::wgpu::DeviceType::VirtualGpu => 2,
        ::wgpu::DeviceType::Other => 3,
        ::wgpu::DeviceType::Cpu => 4,
    }
}

/// Rank of an API, so Vulkan/Metal/DX12 beat GL on the same device.
fn api_rank(b: ::wgpu::Backend) -> u8 {
    match b {
        ::wgpu::Backend::Vulkan | ::wgpu::Backend::Metal | ::wgpu::Backend::Dx12 => 0,
        _ => 1,
    }
}

/// The wgpu instance for these settings.
pub fn instance(settings: &WgpuSettings) -> ::wgpu::Instance {
    let mut desc = ::wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = settings.api.backends();
    ::wgpu::Instance::new(desc)
}

/// Picks the adapter; `NotAvailable` if none matches.
pub fn choose(instance: &::wgpu::Instance, settings: &WgpuSettings) -> Result<::wgpu::Adapter> {
    let adapters = pollster::block_on(instance.enumerate_adapters(settings.api.backends()));
    let names: Vec<String> = adapters
        .iter()
        .map(|a| {
            let i = a.get_info();
            format!("{} ({:?})", i.name, i.backend)
        })
        .collect();
    let mut candidates: Vec<::wgpu::Adapter> = adapters
        .into_iter()
        .filter(|a| match &settings.adapter {
            Some(want) => a
                .get_info()
                .name
                .to_lowercase()
                .contains(&want.to_lowercase()),
            None => true,
        })
        .collect();
    candidates.sort_by_key(|a| {
        let i = a.get_info();
        (performance_rank(i.device_type), api_rank(i.backend))
    });
    candidates.into_iter().next().ok_or_else(|| {
        Error::NotAvailable(format!(
            "a wgpu adapter (api {:?}, name filter {:?}; adapters seen: [{}])",
            settings.api,
            settings.adapter,
            names.join(", ")
        ))
    })
}
