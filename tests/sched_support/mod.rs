//! Test doubles for the scheduler: a virtual clock, and a wrapper backend that charges a
//! deterministic, injected cost per op class on that clock (and can fail on purpose).
//!
//! The wrapped backend computes the real results; only the *time* is synthetic, so speed
//! assertions never depend on how busy the machine is.
#![allow(dead_code)]

use edgeplane::sched::class::node_work;
use edgeplane::sched::Clock;
use edgeplane::{
    Backend, DeviceInfo, Error, Executable, Graph, HostTensor, Op, OpKind, Result, TensorDesc,
    TensorId,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A clock that only moves when a throttled backend charges time.
#[derive(Default)]
pub struct VirtualClock(AtomicU64);

impl VirtualClock {
    /// Advances by `us` microseconds.
    pub fn advance_us(&self, us: f64) {
        self.0
            .fetch_add((us * 1000.0).round() as u64, Ordering::SeqCst);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

/// What a throttled device charges.
#[derive(Clone, Debug, Default)]
pub struct Costs {
    /// Per op kind: µs per MB of the node's work bytes.
    pub us_per_mb: HashMap<OpKind, f64>,
    /// Per op kind when not listed.
    pub default_us_per_mb: f64,
    /// Fixed cost per `run` call, µs.
    pub run_us: f64,
    /// Per MB of inputs and outputs passed to `run`, µs.
    pub io_us_per_mb: f64,
}

impl Costs {
    /// Everything at `us_per_mb`, but `kinds` at `fast_us_per_mb`.
    pub fn fast_at(kinds: &[OpKind], fast_us_per_mb: f64, us_per_mb: f64) -> Self {
        Costs {
            us_per_mb: kinds.iter().map(|k| (*k, fast_us_per_mb)).collect(),
            default_us_per_mb: us_per_mb,
            ..Default::default()
        }
    }

    fn graph_us(&self, graph: &Graph, inputs: &[HostTensor], outputs: &[HostTensor]) -> f64 {
        let mut us = self.run_us;
        let io: usize = inputs.iter().chain(outputs).map(|t| t.data.len()).sum();
        us += self.io_us_per_mb * io as f64 / 1e6;
        for node in graph.nodes() {
            let rate = self
                .us_per_mb
                .get(&node.op.kind())
                .copied()
                .unwrap_or(self.default_us_per_mb);
            us += rate * node_work(graph, node).bytes / 1e6;
        }
        us
    }
}

/// Shared switches and counters of a throttled device.
#[derive(Default)]
pub struct Switches {
    /// Runs made on any executable of this device.
    pub runs: AtomicUsize,
    /// Graphs compiled.
    pub compiles: AtomicUsize,
    /// When set, every run fails with `DeviceLost`.
    pub fail_runs: AtomicBool,
    /// When set, every compile fails with `Unsupported`.
    pub refuse_compiles: AtomicBool,
}

/// A backend that computes with `inner` and charges `costs` on `clock`.
pub struct Throttled {
    pub name: String,
    pub inner: Arc<dyn Backend>,
    pub clock: Arc<VirtualClock>,
    pub costs: Costs,
    pub switches: Arc<Switches>,
}

impl Throttled {
    pub fn new(
        name: &str,
        inner: Arc<dyn Backend>,
        clock: Arc<VirtualClock>,
        costs: Costs,
    ) -> Self {
        Throttled {
            name: name.into(),
            inner,
            clock,
            costs,
            switches: Arc::default(),
        }
    }
}

impl Backend for Throttled {
    fn info(&self) -> DeviceInfo {
        let mut info = self.inner.info();
        info.backend = self.name.clone();
        info.device = format!("{} (throttled)", info.device);
        info
    }

    fn supports(&self, op: &Op, inputs: &[TensorDesc]) -> bool {
        self.inner.supports(op, inputs)
    }

    fn compile(&self, graph: &Graph) -> Result<Box<dyn Executable>> {
        self.switches.compiles.fetch_add(1, Ordering::SeqCst);
        if self.switches.refuse_compiles.load(Ordering::SeqCst) {
            return Err(Error::Unsupported {
                backend: self.name.clone(),
                op: "anything (refusing on purpose)".into(),
            });
        }
        Ok(Box::new(ThrottledExe {
            name: self.name.clone(),
            graph: graph.clone(),
            inner: self.inner.compile(graph)?,
            clock: self.clock.clone(),
            costs: self.costs.clone(),
            switches: self.switches.clone(),
        }))
    }
}

struct ThrottledExe {
    name: String,
    graph: Graph,
    inner: Box<dyn Executable>,
    clock: Arc<VirtualClock>,
    costs: Costs,
    switches: Arc<Switches>,
}

impl Executable for ThrottledExe {
    fn run(&mut self, inputs: &[HostTensor]) -> Result<Vec<HostTensor>> {
        self.switches.runs.fetch_add(1, Ordering::SeqCst);
        if self.switches.fail_runs.load(Ordering::SeqCst) {
            return Err(Error::DeviceLost {
                backend: self.name.clone(),
                message: "lost on purpose".into(),
            });
        }
        let out = self.inner.run(inputs)?;
        self.clock
            .advance_us(self.costs.graph_us(&self.graph, inputs, &out));
        Ok(out)
    }

    fn reset_state(&mut self) -> Result<()> {
        self.inner.reset_state()
    }

    fn read_state(&self, id: TensorId) -> Result<HostTensor> {
        self.inner.read_state(id)
    }

    fn write_state(&mut self, id: TensorId, value: &HostTensor) -> Result<()> {
        self.inner.write_state(id, value)
    }
}
