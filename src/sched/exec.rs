//! Executing a plan: compile each segment on its device, then run the segments in order,
//! passing the tensors that cross a boundary through host memory.
//!
//! Every backend's `run` already takes and returns host tensors, so a boundary is a
//! read-back from one device and an upload to the next; this is the cost the planner
//! charges per cut.

use super::partition::Segment;
use crate::backend::{Backend, Executable};
use crate::error::Error;
use crate::graph::{Graph, TensorId, TensorKind};
use crate::tensor::HostTensor;
use std::collections::HashMap;
use std::sync::Arc;

/// A segment compiled on its device.
pub struct CompiledSegment {
    /// Device index in the plan.
    pub device: usize,
    /// The partition this came from.
    pub segment: Segment,
    /// The compiled sub-graph.
    pub exe: Box<dyn Executable>,
}

/// An error raised by one device while running or compiling a plan.
#[derive(Debug)]
pub struct DeviceError {
    /// Device index in the plan.
    pub device: usize,
    /// What it said.
    pub error: Error,
}

/// Compiles every segment on its device; on the first failure, says which device.
pub fn compile_segments(
    segments: Vec<Segment>,
    backends: &[Arc<dyn Backend>],
) -> std::result::Result<Vec<CompiledSegment>, DeviceError> {
    let mut out = Vec::with_capacity(segments.len());
    for segment in segments {
        let device = segment.device;
        let exe = backends[device]
            .compile(&segment.graph)
            .map_err(|error| DeviceError { device, error })?;
        out.push(CompiledSegment {
            device,
            segment,
            exe,
        });
    }
    Ok(out)
}

/// Runs compiled segments of `graph` on `inputs` (already checked against the graph).
/// Errors other than a device's come back with `device` = `usize::MAX`.
pub fn run_segments(
    graph: &Graph,
    segments: &mut [CompiledSegment],
    inputs: &[HostTensor],
) -> std::result::Result<Vec<HostTensor>, DeviceError> {
    let host_error = |error| DeviceError {
        device: usize::MAX,
        error,
    };
    let mut values: HashMap<TensorId, HostTensor> = graph
        .inputs()
        .iter()
        .copied()
        .zip(inputs.iter().cloned())
        .collect();
    for seg in segments.iter_mut() {
        let args: Vec<HostTensor> = seg
            .segment
            .inputs
            .iter()
            .map(|t| {
                values.get(t).cloned().ok_or_else(|| {
                    host_error(Error::Schedule(format!(
                        "tensor {} is needed before it is computed",
                        graph.tensor(*t).name
                    )))
                })
            })
            .collect::<std::result::Result<_, _>>()?;
        let results = seg.exe.run(&args).map_err(|error| DeviceError {
            device: seg.device,
            error,
        })?;
        if results.len() != seg.segment.outputs.len() {
            return Err(DeviceError {
                device: seg.device,
                error: Error::Device {
                    backend: format!("segment on device {}", seg.device),
                    message: format!(
                        "returned {} outputs, expected {}",
                        results.len(),
                        seg.segment.outputs.len()
                    ),
                },
            });
        }
        values.extend(seg.segment.outputs.iter().copied().zip(results));
    }
    graph
        .outputs()
        .iter()
        .map(|&t| match values.get(&t) {
            Some(v) => Ok(v.clone()),
            None => match &graph.tensor(t).kind {
                TensorKind::Constant(b) => {
                    HostTensor::new(graph.tensor(t).desc.clone(), b.as_slice().to_vec())
                        .map_err(host_error)
                }
                _ => Err(host_error(Error::Schedule(format!(
                    "output {} was not produced",
                    graph.tensor(t).name
                )))),
            },
        })
        .collect()
}
