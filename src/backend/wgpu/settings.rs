//! Settings of the wgpu backend, read from the environment in one place.
//!
//! Environment variables (documented in README.md):
//! - `EDGEPLANE_WGPU_ADAPTER`: a case-insensitive substring of the adapter name to pick.
//! - `EDGEPLANE_WGPU_BACKEND`: `vulkan`, `gl`, `metal` or `dx12`; restricts the wgpu backend.
//! - `EDGEPLANE_WGPU_FALLBACK=1`: force the plain shader variants (no f16, no subgroups).

/// Which graphics API to restrict adapter search to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphicsApi {
    /// Any API wgpu was built with.
    Any,
    /// Vulkan.
    Vulkan,
    /// OpenGL / GLES.
    Gl,
    /// Metal.
    Metal,
    /// Direct3D 12.
    Dx12,
}

impl GraphicsApi {
    /// Parses `vulkan|gl|metal|dx12` (case-insensitive); `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vulkan" | "vk" => Some(Self::Vulkan),
            "gl" | "gles" | "opengl" => Some(Self::Gl),
            "metal" => Some(Self::Metal),
            "dx12" | "d3d12" => Some(Self::Dx12),
            "" | "any" => Some(Self::Any),
            _ => None,
        }
    }

    /// The wgpu backend bits to search.
    pub fn backends(self) -> ::wgpu::Backends {
        match self {
            Self::Any => ::wgpu::Backends::all(),
            Self::Vulkan => ::wgpu::Backends::VULKAN,
            Self::Gl => ::wgpu::Backends::GL,
            Self::Metal => ::wgpu::Backends::METAL,
            Self::Dx12 => ::wgpu::Backends::DX12,
        }
    }
}

/// How the wgpu backend picks its device and its shader variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgpuSettings {
    /// Case-insensitive substring of the adapter name; `None` picks the highest-performance
    /// adapter.
    pub adapter: Option<String>,
    /// API to search.
    pub api: GraphicsApi,
    /// Use only the plain shader variants even when the adapter has f16 and subgroups.
    pub force_fallback: bool,
    /// Split weights larger than this many bytes by rows, below the adapter's binding limit
    /// (to test splitting on small tensors). `None` uses the adapter's limit.
    pub max_binding_bytes: Option<u64>,
}

impl Default for WgpuSettings {
    fn default() -> Self {
        WgpuSettings {
            adapter: None,
            api: GraphicsApi::Any,
            force_fallback: false,
            max_binding_bytes: None,
        }
    }
}

impl WgpuSettings {
    /// Defaults overridden by the `EDGEPLANE_WGPU_*` environment variables. An unknown
    /// `EDGEPLANE_WGPU_BACKEND` value is logged and ignored.
    pub fn from_env() -> Self {
        let mut s = WgpuSettings::default();
        if let Ok(name) = std::env::var("EDGEPLANE_WGPU_ADAPTER") {
            if !name.trim().is_empty() {
                s.adapter = Some(name);
            }
        }
        if let Ok(api) = std::env::var("EDGEPLANE_WGPU_BACKEND") {
            match GraphicsApi::parse(&api) {
                Some(a) => s.api = a,
                None => log::warn!("EDGEPLANE_WGPU_BACKEND={api:?} is not vulkan|gl|metal|dx12"),
            }
        }
        if let Ok(v) = std::env::var("EDGEPLANE_WGPU_FALLBACK") {
            s.force_fallback = matches!(v.trim(), "1" | "true" | "yes");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_api_names() {
        assert_eq!(GraphicsApi::parse("Vulkan"), Some(GraphicsApi::Vulkan));
        assert_eq!(GraphicsApi::parse("gl"), Some(GraphicsApi::Gl));
        assert_eq!(GraphicsApi::parse("dx12"), Some(GraphicsApi::Dx12));
        assert_eq!(GraphicsApi::parse("cuda"), None);
    }
}
