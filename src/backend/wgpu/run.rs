//! `run`: writes the inputs, records every dispatch of the graph into one command buffer,
//! copies the outputs to mappable buffers, submits once and reads back once.

use super::buffers::padded;
use super::compile::Compiled;
use super::errors;
use crate::error::{Error, Result};
use crate::graph::{TensorId, TensorKind};
use crate::op::Op;
use crate::tensor::HostTensor;
use crate::Executable;

impl Compiled {
    /// Positions given as inputs must address the KV cache: a write past its end would be
    /// silently dropped on the device, so it is refused here.
    fn check_positions(&self, inputs: &[HostTensor]) -> Result<()> {
        for node in self.graph.nodes() {
            let (cache, pos) = match node.op {
                Op::KvWrite => (node.inputs[0], node.inputs[2]),
                Op::Attention { .. } => (node.inputs[1], node.inputs[3]),
                _ => continue,
            };
            let Some(k) = self.graph.inputs().iter().position(|&i| i == pos) else {
                continue;
            };
            let capacity = self.graph.tensor(cache).desc.shape.rows();
            for p in inputs[k].to_i32()? {
                if p < 0 || p as usize >= capacity {
                    return Err(Error::InvalidInput(format!(
                        "{:?}: position {p} outside the KV cache of {capacity} rows",
                        node.op.kind()
                    )));
                }
            }
        }
        Ok(())
    }

    fn write_inputs(&self, inputs: &[HostTensor]) -> Result<()> {
        for (id, t) in self.graph.inputs().iter().zip(inputs) {
            let buffer = self.whole(*id)?;
            let mut data = t.data.clone();
            data.resize(data.len().div_ceil(4) * 4, 0);
            if !data.is_empty() {
                self.gpu.queue.write_buffer(buffer, 0, &data);
            }
        }
        Ok(())
    }

    /// Copies `ids` to mappable buffers in `encoder`'s submission and reads them back.
    fn read_back(
        &self,
        mut encoder: ::wgpu::CommandEncoder,
        ids: &[TensorId],
    ) -> Result<Vec<HostTensor>> {
        let gpu = &self.gpu;
        let mut staging = Vec::new();
        for &id in ids {
            let desc = self.graph.tensor(id).desc.clone();
            let len = desc.byte_len()?;
            let size = padded(len);
            let buffer = gpu.device.create_buffer(&::wgpu::BufferDescriptor {
                label: Some("readback"),
                size,
                usage: ::wgpu::BufferUsages::MAP_READ | ::wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            encoder.copy_buffer_to_buffer(self.whole(id)?, 0, &buffer, 0, size);
            staging.push((desc, len, buffer));
        }
        let index = gpu.queue.submit([encoder.finish()]);
        for (_, _, b) in &staging {
            b.slice(..).map_async(::wgpu::MapMode::Read, |_| {});
        }
        gpu.device
            .poll(::wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: None,
            })
            .map_err(|e| Error::Device {
                backend: gpu.name.clone(),
                message: format!("waiting for the graph: {e}"),
            })?;
        gpu.health.check(&gpu.name)?;
        let mut out = Vec::new();
        for (desc, len, b) in staging {
            let data = b
                .slice(..)
                .get_mapped_range()
                .map_err(|e| super::buffers::map_error(gpu, "readback", e))?[..len]
                .to_vec();
            b.unmap();
            out.push(HostTensor { desc, data });
        }
        Ok(out)
    }

    fn state_ids(&self) -> Vec<TensorId> {
        (0..self.graph.tensors().len())
            .map(TensorId)
            .filter(|&i| matches!(self.graph.tensor(i).kind, TensorKind::State))
            .collect()
    }
}

impl Executable for Compiled {
    fn run(&mut self, inputs: &[HostTensor]) -> Result<Vec<HostTensor>> {
        self.graph.check_inputs(inputs)?;
        self.check_positions(inputs)?;
        let gpu = self.gpu.clone();
        errors::scoped(
            &gpu.device,
            &gpu.health,
            &gpu.name,
            "running a graph",
            || {
                self.write_inputs(inputs)?;
                let mut encoder = gpu.device.create_command_encoder(&Default::default());
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    for step in &self.steps {
                        pass.set_pipeline(&step.pipeline);
                        pass.set_bind_group(0, &step.bind_group, &[]);
                        let [x, y, z] = step.workgroups;
                        pass.dispatch_workgroups(x, y, z);
                    }
                }
                let outputs = self.graph.outputs().to_vec();
                self.read_back(encoder, &outputs)
            },
        )
    }

    fn reset_state(&mut self) -> Result<()> {
        let gpu = self.gpu.clone();
        errors::scoped(
            &gpu.device,
            &gpu.health,
            &gpu.name,
            "resetting state",
            || {
                let mut encoder = gpu.device.create_command_encoder(&Default::default());
                for id in self.state_ids() {
                    encoder.clear_buffer(self.whole(id)?, 0, None);
                }
                gpu.queue.submit([encoder.finish()]);
                Ok(())
            },
        )
    }

    fn write_state(&mut self, id: TensorId, value: &HostTensor) -> Result<()> {
        if !self.state_ids().contains(&id) {
            return Err(Error::InvalidInput(format!(
                "tensor {} is not a state tensor",
                id.0
            )));
        }
        let want = &self.graph.tensor(id).desc;
        if &value.desc != want || value.data.len() != want.byte_len()? {
            return Err(Error::InvalidInput(format!(
                "state tensor {}: expected {want}, got {} ({} bytes)",
                id.0,
                value.desc,
                value.data.len()
            )));
        }
        let gpu = self.gpu.clone();
        errors::scoped(&gpu.device, &gpu.health, &gpu.name, "writing state", || {
            let mut data = value.data.clone();
            data.resize(data.len().div_ceil(4) * 4, 0);
            gpu.queue.write_buffer(self.whole(id)?, 0, &data);
            gpu.queue.submit([]);
            Ok(())
        })
    }

    fn read_state(&self, id: TensorId) -> Result<HostTensor> {
        if !self.state_ids().contains(&id) {
            return Err(Error::InvalidInput(format!(
                "tensor {} is not a state tensor",
                id.0
            )));
        }
        let gpu = self.gpu.clone();
        errors::scoped(&gpu.device, &gpu.health, &gpu.name, "reading state", || {
            let encoder = gpu.device.create_command_encoder(&Default::default());
            let mut out = self.read_back(encoder, &[id])?;
            out.pop()
                .ok_or_else(|| Error::InvalidInput("no state read".into()))
        })
    }
}
