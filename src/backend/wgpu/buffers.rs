//! Device buffers of a compiled graph: one per tensor, weights split into row chunks when
//! they exceed the binding limit, and a pool that lets intermediates whose last reader has
//! run share memory with later ones.

use super::device::Gpu;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Rows `first_row .. first_row + rows` of a weight, in a buffer of their own.
#[derive(Clone)]
pub struct RowChunk {
    /// The buffer, starting at the chunk's first row.
    pub buffer: Arc<::wgpu::Buffer>,
    /// First row of the weight held.
    pub first_row: usize,
    /// Rows held.
    pub rows: usize,
}

/// Where a tensor lives on the device.
#[derive(Clone)]
pub enum TensorBuffer {
    /// One buffer.
    Whole(Arc<::wgpu::Buffer>),
    /// A weight split by rows (each chunk fits one binding).
    Rows(Vec<RowChunk>),
}

impl TensorBuffer {
    /// Chunks as a list (a whole buffer is one chunk of every row).
    pub fn chunks(&self, rows: usize) -> Vec<RowChunk> {
        match self {
            TensorBuffer::Whole(b) => vec![RowChunk {
                buffer: b.clone(),
                first_row: 0,
                rows,
            }],
            TensorBuffer::Rows(c) => c.clone(),
        }
    }
}

/// Storage buffer size for `bytes` of data: at least 16 and a multiple of 16, as bindings
/// and copies need.
pub fn padded(bytes: usize) -> u64 {
    (bytes.max(16) as u64).div_ceil(16) * 16
}

/// Usage of every storage buffer: bound in shaders, written from and copied to the host.
pub const STORAGE: ::wgpu::BufferUsages = ::wgpu::BufferUsages::STORAGE
    .union(::wgpu::BufferUsages::COPY_DST)
    .union(::wgpu::BufferUsages::COPY_SRC);

/// Creates a storage buffer holding `data` (padded with zeros).
pub fn upload(gpu: &Gpu, label: &str, data: &[u8]) -> Result<Arc<::wgpu::Buffer>> {
    let buffer = gpu.device.create_buffer(&::wgpu::BufferDescriptor {
        label: Some(label),
        size: padded(data.len()),
        usage: STORAGE,
        mapped_at_creation: false,
    });
    // Queue writes need 4-byte sizes: the aligned body, then the tail padded with zeros.
    let body = data.len() / 4 * 4;
    if body > 0 {
        gpu.queue.write_buffer(&buffer, 0, &data[..body]);
    }
    if body < data.len() {
        let mut tail = [0u8; 4];
        tail[..data.len() - body].copy_from_slice(&data[body..]);
        gpu.queue.write_buffer(&buffer, body as u64, &tail);
    }
    Ok(Arc::new(buffer))
}

/// Reuses buffers of intermediates once their last reader has been recorded. Sizes are
/// rounded up to a power of two so buffers fit more later requests.
#[derive(Default)]
pub struct BufferPool {
    free: BTreeMap<u64, Vec<Arc<::wgpu::Buffer>>>,
    /// Buffers created (for tests and logs).
    pub created: usize,
    /// Requests served from the pool.
    pub reused: usize,
}

impl BufferPool {
    /// A buffer of at least `bytes`, reused when one is free.
    pub fn take(&mut self, gpu: &Gpu, bytes: usize) -> Arc<::wgpu::Buffer> {
        let mut size = padded(bytes).next_power_of_two();
        if size > gpu.adapter_binding_bytes {
            size = padded(bytes);
        }
        if let Some(b) = self.free.get_mut(&size).and_then(|v| v.pop()) {
            self.reused += 1;
            return b;
        }
        self.created += 1;
        Arc::new(gpu.device.create_buffer(&::wgpu::BufferDescriptor {
            label: Some("intermediate"),
            size,
            usage: STORAGE,
            mapped_at_creation: false,
        }))
    }

    /// Returns a buffer whose contents are no longer needed.
    pub fn give(&mut self, buffer: Arc<::wgpu::Buffer>) {
        self.free.entry(buffer.size()).or_default().push(buffer);
    }
}

/// A failed buffer mapping as a device error.
pub fn map_error(gpu: &Gpu, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Device {
        backend: gpu.name.clone(),
        message: format!("mapping buffer {what}: {e}"),
    }
}
