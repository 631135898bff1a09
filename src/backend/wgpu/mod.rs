//! The wgpu backend: WGSL kernels from `shaders/` on any GPU wgpu reaches (Vulkan, Metal, DX12, GL).
