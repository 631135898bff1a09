//! `compile`: uploads constants once (splitting big weights by rows), allocates state and
//! intermediates (pooled), and builds every pipeline, uniform buffer and bind group, so
//! `run` only records dispatches.

use super::buffers::{self, BufferPool, RowChunk, TensorBuffer};
use super::device::Gpu;
use super::errors;
use super::lower::{self, Binding, Dispatch};
use crate::error::{Error, Result};
use crate::graph::{Graph, TensorId, TensorKind};
use crate::op::Op;
use std::sync::Arc;

/// One recorded dispatch, ready to replay.
pub struct Step {
    /// Pipeline.
    pub pipeline: Arc<::wgpu::ComputePipeline>,
    /// Its bind group.
    pub bind_group: ::wgpu::BindGroup,
    /// Workgroup counts.
    pub workgroups: [u32; 3],
}

/// A graph compiled for one device.
pub struct Compiled {
    /// The device.
    pub gpu: Arc<Gpu>,
    /// The graph (for input checks and output descriptions).
    pub graph: Graph,
    /// Buffer of each tensor, by id (`None` for tensors no node touches).
    pub buffers: Vec<Option<TensorBuffer>>,
    /// Dispatches in order.
    pub steps: Vec<Step>,
}

impl Compiled {
    /// The single buffer of tensor `id`.
    pub fn whole(&self, id: TensorId) -> Result<&Arc<::wgpu::Buffer>> {
        match self.buffers.get(id.0) {
            Some(Some(TensorBuffer::Whole(b))) => Ok(b),
            _ => Err(Error::Device {
                backend: self.gpu.name.clone(),
                message: format!("tensor {} has no single device buffer", id.0),
            }),
        }
    }
}

/// Uploads a constant, split into row chunks when it exceeds the binding limit.
fn upload_constant(gpu: &Gpu, graph: &Graph, id: TensorId, bytes: &[u8]) -> Result<TensorBuffer> {
    let info = graph.tensor(id);
    let limit = gpu.max_binding_bytes as usize;
    if bytes.len() <= limit {
        return Ok(TensorBuffer::Whole(buffers::upload(
            gpu, &info.name, bytes,
        )?));
    }
    let row_bytes = info.desc.row_bytes().max(1);
    let rows = info.desc.shape.rows();
    let per_chunk = (limit.saturating_sub(16)) / row_bytes;
    if per_chunk == 0 || info.desc.shape.rank() != 2 {
        return Err(Error::OutOfMemory {
            backend: gpu.name.clone(),
            message: format!(
                "{} ({}, {} bytes) cannot be split into bindings of {limit} bytes",
                info.name,
                info.desc,
                bytes.len()
            ),
        });
    }
    let mut chunks = Vec::new();
    let mut first = 0;
    while first < rows {
        let n = per_chunk.min(rows - first);
        let data = &bytes[first * row_bytes..(first + n) * row_bytes];
        chunks.push(RowChunk {
            buffer: buffers::upload(gpu, &format!("{}[{first}..]", info.name), data)?,
            first_row: first,
            rows: n,
        });
        first += n;
    }
    log::debug!("{}: split into {} chunks", info.name, chunks.len());
    Ok(TensorBuffer::Rows(chunks))
}

/// Compiles `graph` on `gpu`.
pub fn compile(gpu: &Arc<Gpu>, graph: &Graph) -> Result<Compiled> {
    errors::scoped(
        &gpu.device,
        &gpu.health,
        &gpu.name,
        "compiling a graph",
        || compile_inner(gpu, graph),
    )
}

fn compile_inner(gpu: &Arc<Gpu>, graph: &Graph) -> Result<Compiled> {
    let tensors = graph.tensors();
    // Last node reading each tensor, so intermediates can go back to the pool.
    let mut last_use = vec![None; tensors.len()];
    for (i, node) in graph.nodes().iter().enumerate() {
        for t in &node.inputs {
            last_use[t.0] = Some(i);
        }
    }
    let mut pinned = vec![false; tensors.len()];
    for t in graph.outputs() {
        pinned[t.0] = true;
    }
    let mut bufs: Vec<Option<TensorBuffer>> = vec![None; tensors.len()];
    for (i, info) in tensors.iter().enumerate() {
        let len = info.desc.byte_len()?;
        if len as u64 > gpu.adapter_binding_bytes && !matches!(info.kind, TensorKind::Constant(_)) {
            return Err(Error::OutOfMemory {
                backend: gpu.name.clone(),
                message: format!("{} ({len} bytes) exceeds the binding limit", info.name),
            });
        }
        bufs[i] =
            match &info.kind {
                TensorKind::Constant(bytes) => {
                    Some(upload_constant(gpu, graph, TensorId(i), bytes.as_slice())?)
                }
                TensorKind::Input | TensorKind::State => Some(TensorBuffer::Whole(
                    buffers::upload(gpu, &info.name, &vec![0; len])?,
                )),
                TensorKind::Computed(_) => None,
            };
    }
    let mut pool = BufferPool::default();
    let dummy = buffers::upload(gpu, "dummy", &[0; 16])?;
    let mut steps = Vec::new();
    for (i, node) in graph.nodes().iter().enumerate() {
        let out = node.output;
        // KvWrite's output aliases the cache it writes.
        bufs[out.0] = Some(if matches!(node.op, Op::KvWrite) {
            bufs[node.inputs[0].0]
                .clone()
                .ok_or_else(|| missing(gpu, node.inputs[0]))?
        } else {
            TensorBuffer::Whole(pool.take(gpu, graph.tensor(out).desc.byte_len()?))
        });
        let chunk_rows = |id: TensorId| -> Vec<(usize, usize)> {
            let rows = graph.tensor(id).desc.shape.rows();
            match &bufs[id.0] {
                Some(b) => b
                    .chunks(rows)
                    .iter()
                    .map(|c| (c.first_row, c.rows))
                    .collect(),
                None => vec![(0, rows)],
            }
        };
        let mut scratch = dummy.clone();
        for d in lower::lower(gpu, graph, node, &chunk_rows)? {
            steps.push(build_step(gpu, &bufs, &dummy, &mut scratch, &d)?);
        }
        // Free intermediates whose last reader this node was.
        for t in &node.inputs {
            let t = *t;
            if last_use[t.0] == Some(i)
                && !pinned[t.0]
                && matches!(tensors[t.0].kind, TensorKind::Computed(_))
                && !is_kv_alias(graph, t)
            {
                if let Some(TensorBuffer::Whole(b)) = &bufs[t.0] {
                    pool.give(b.clone());
                }
            }
        }
    }
    log::debug!(
        "compiled: {} dispatches, {} buffers created, {} reused",
        steps.len(),
        pool.created,
        pool.reused
    );
    Ok(Compiled {
        gpu: gpu.clone(),
        graph: graph.clone(),
        buffers: bufs,
        steps,
    })
}

fn is_kv_alias(graph: &Graph, t: TensorId) -> bool {
    matches!(graph.tensor(t).kind, TensorKind::Computed(n) if matches!(graph.nodes()[n.0].op, Op::KvWrite))
}

fn missing(gpu: &Gpu, id: TensorId) -> Error {
    Error::Device {
        backend: gpu.name.clone(),
        message: format!("tensor {} has no buffer when needed", id.0),
    }
}

/// Builds one dispatch. `scratch` is the last scratch buffer created for this node, for a
/// later dispatch of the node that reads it.
fn build_step(
    gpu: &Gpu,
    bufs: &[Option<TensorBuffer>],
    dummy: &Arc<::wgpu::Buffer>,
    scratch: &mut Arc<::wgpu::Buffer>,
    d: &Dispatch,
) -> Result<Step> {
    let pipeline = gpu.pipeline(&d.key)?;
    let mut params: Vec<u8> = bytemuck::cast_slice(&d.params).to_vec();
    params.resize(buffers::padded(params.len()) as usize, 0);
    let uniform = gpu.device.create_buffer(&::wgpu::BufferDescriptor {
        label: Some("params"),
        size: params.len() as u64,
        usage: ::wgpu::BufferUsages::UNIFORM,
        mapped_at_creation: true,
    });
    uniform
        .slice(..)
        .get_mapped_range_mut()
        .map_err(|e| buffers::map_error(gpu, "params", e))?
        .copy_from_slice(&params);
    uniform.unmap();
    let mut resolved: Vec<Arc<::wgpu::Buffer>> = Vec::new();
    for b in &d.bindings {
        resolved.push(match *b {
            Binding::Dummy => dummy.clone(),
            Binding::Scratch(bytes) => {
                *scratch = Arc::new(gpu.device.create_buffer(&::wgpu::BufferDescriptor {
                    label: Some("scratch"),
                    size: buffers::padded(bytes),
                    usage: buffers::STORAGE,
                    mapped_at_creation: false,
                }));
                scratch.clone()
            }
            Binding::LastScratch => scratch.clone(),
            Binding::Tensor(id) => match &bufs[id.0] {
                Some(TensorBuffer::Whole(b)) => b.clone(),
                _ => return Err(missing(gpu, id)),
            },
            Binding::Chunk(id, c) => match &bufs[id.0] {
                Some(TensorBuffer::Whole(b)) if c == 0 => b.clone(),
                Some(TensorBuffer::Rows(chunks)) if c < chunks.len() => chunks[c].buffer.clone(),
                _ => return Err(missing(gpu, id)),
            },
        });
    }
    let mut entries = vec![::wgpu::BindGroupEntry {
        binding: 0,
        resource: uniform.as_entire_binding(),
    }];
    for (i, b) in resolved.iter().enumerate() {
        entries.push(::wgpu::BindGroupEntry {
            binding: i as u32 + 1,
            resource: b.as_entire_binding(),
        });
    }
    let bind_group = gpu.device.create_bind_group(&::wgpu::BindGroupDescriptor {
        label: Some(&format!("{:?}", d.key.kernel)),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    Ok(Step {
        pipeline,
        bind_group,
        workgroups: d.workgroups,
    })
}
