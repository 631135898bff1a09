//! Recovery: an executable over a plan that survives a device failing. When a device
//! reports a failure at run time (device lost, out of memory, a device error) or refuses a
//! compile (`Unsupported`, `NotAvailable`), the scheduler marks it, re-plans the graph
//! without it, recompiles and reruns; the caller gets the result and a warning.
//!
//! State (the KV cache) held by the failed device's segments is lost with it: the rerun
//! starts those caches from zero, and the warning says so, so a caller mid-sequence knows
//! to replay its prompt. Caches on devices that still work are read before the re-plan and
//! written into their new segments (`read_state`/`write_state`).

use super::exec::{compile_segments, run_segments, CompiledSegment, DeviceError};
use super::partition::partition;
use super::plan::Plan;
use super::scheduler::Scheduler;
use crate::backend::Executable;
use crate::error::{Error, Result};
use crate::graph::{Graph, TensorId};
use crate::tensor::HostTensor;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The result of a run, with what went wrong on the way.
#[derive(Debug)]
pub struct RunOutcome {
    /// The graph's outputs.
    pub outputs: Vec<HostTensor>,
    /// Devices that failed and what was done about it (empty when all went well).
    pub warnings: Vec<String>,
}

/// A planned graph, compiled per device, that re-plans around failing devices.
pub struct AutoExecutable {
    sched: Scheduler,
    graph: Graph,
    plan: Plan,
    /// Scheduler device index of each plan device.
    devices: Vec<usize>,
    segments: Vec<CompiledSegment>,
    /// Devices left out of this graph's plans (refused it).
    excluded: BTreeSet<String>,
    /// Warnings not yet returned by a run.
    pending: Vec<String>,
}

impl AutoExecutable {
    /// Plans and compiles `graph`, re-planning around devices that refuse it.
    pub fn new(sched: Scheduler, graph: Graph) -> Result<Self> {
        let mut exe = AutoExecutable {
            sched,
            graph,
            plan: Plan {
                devices: Vec::new(),
                nodes: Vec::new(),
                total_us: 0.0,
                boundary_us: 0.0,
                segments: 0,
                single_device_us: Vec::new(),
            },
            devices: Vec::new(),
            segments: Vec::new(),
            excluded: BTreeSet::new(),
            pending: Vec::new(),
        };
        exe.rebuild()?;
        Ok(exe)
    }

    /// The plan currently compiled.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Warnings from compiling that no run has returned yet.
    pub fn pending_warnings(&self) -> &[String] {
        &self.pending
    }

    fn device_name(&self, plan_device: usize) -> String {
        self.plan
            .devices
            .get(plan_device)
            .cloned()
            .unwrap_or_default()
    }

    fn warn(&mut self, msg: String) {
        log::warn!("{msg}");
        self.pending.push(msg);
    }

    /// Plans, partitions and compiles until every segment compiles or no device is left.
    fn rebuild(&mut self) -> Result<()> {
        let limit = self.sched.devices().len() + 1;
        for _ in 0..limit {
            let (plan, devices) = self.sched.plan_excluding(&self.graph, &self.excluded)?;
            let segments = partition(&self.graph, &plan.assignment())?;
            let backends: Vec<Arc<dyn crate::Backend>> = devices
                .iter()
                .map(|&d| self.sched.devices()[d].backend.clone())
                .collect();
            self.plan = plan;
            self.devices = devices;
            match compile_segments(segments, &backends) {
                Ok(compiled) => {
                    self.segments = compiled;
                    log::info!("plan: {}", self.plan.why());
                    return Ok(());
                }
                Err(DeviceError { device, error }) => {
                    let name = self.device_name(device);
                    match error {
                        Error::Unsupported { .. } | Error::NotAvailable(_) => {
                            self.warn(format!(
                                "{name} refused its part of the graph ({error}); re-planned without it"
                            ));
                            self.excluded.insert(name);
                        }
                        e if e.is_device_failure() => {
                            self.warn(format!(
                                "{name} failed while compiling ({e}); re-planned without it"
                            ));
                            self.sched.mark_failed(&name);
                        }
                        e => return Err(e),
                    }
                }
            }
        }
        Err(Error::Schedule("every device refused the graph".into()))
    }

    /// Runs the graph; on a device failure, re-plans without that device and reruns.
    pub fn run_with_report(&mut self, inputs: &[HostTensor]) -> Result<RunOutcome> {
        self.graph.check_inputs(inputs)?;
        let limit = self.sched.devices().len() + 1;
        for _ in 0..limit {
            match run_segments(&self.graph, &mut self.segments, inputs) {
                Ok(outputs) => {
                    return Ok(RunOutcome {
                        outputs,
                        warnings: std::mem::take(&mut self.pending),
                    })
                }
                Err(DeviceError { device, error }) if error.is_device_failure() => {
                    let name = self.device_name(device);
                    let lost_state = self
                        .segments
                        .iter()
                        .any(|s| s.device == device && !s.segment.states.is_empty());
                    // KV caches on the devices that still work survive the re-plan.
                    let kept = self.save_states(device);
                    self.sched.mark_failed(&name);
                    self.warn(format!(
                        "{name} failed ({error}); re-planned without it and reran{}",
                        if lost_state {
                            "; its KV cache was lost and restarts from zero"
                        } else {
                            ""
                        }
                    ));
                    self.rebuild()?;
                    self.restore_states(kept);
                }
                Err(DeviceError { error, .. }) => return Err(error),
            }
        }
        Err(Error::Schedule("every device failed".into()))
    }
}

impl AutoExecutable {
    /// Reads every state tensor held by segments not on `failed` (best effort: a backend
    /// that cannot read its state just loses it).
    fn save_states(&self, failed: usize) -> Vec<(TensorId, HostTensor)> {
        let mut kept = Vec::new();
        for s in self.segments.iter().filter(|s| s.device != failed) {
            for (orig, sub) in &s.segment.states {
                if let Ok(v) = s.exe.read_state(*sub) {
                    kept.push((*orig, v));
                }
            }
        }
        kept
    }

    /// Writes saved state tensors into the segments that now hold them.
    fn restore_states(&mut self, kept: Vec<(TensorId, HostTensor)>) {
        for (id, value) in kept {
            if let Err(e) = self.write_state(id, &value) {
                self.warn(format!(
                    "the KV cache {} could not be moved to its new device ({e}); it restarts from zero",
                    self.graph.tensor(id).name
                ));
            }
        }
    }
}

impl Executable for AutoExecutable {
    fn run(&mut self, inputs: &[HostTensor]) -> Result<Vec<HostTensor>> {
        // Warnings were already logged as they happened.
        self.run_with_report(inputs).map(|o| o.outputs)
    }

    fn reset_state(&mut self) -> Result<()> {
        for s in &mut self.segments {
            s.exe.reset_state()?;
        }
        Ok(())
    }

    fn read_state(&self, id: TensorId) -> Result<HostTensor> {
        for s in &self.segments {
            if let Some((_, sub)) = s.segment.states.iter().find(|(orig, _)| *orig == id) {
                return s.exe.read_state(*sub);
            }
        }
        Err(Error::InvalidInput(format!(
            "tensor {} is not a state tensor of the graph",
            id.0
        )))
    }

    fn write_state(&mut self, id: TensorId, value: &HostTensor) -> Result<()> {
        for s in &mut self.segments {
            if let Some((_, sub)) = s.segment.states.iter().find(|(orig, _)| *orig == id) {
                let sub = *sub;
                return s.exe.write_state(sub, value);
            }
        }
        Err(Error::InvalidInput(format!(
            "tensor {} is not a state tensor of the graph",
            id.0
        )))
    }
}
