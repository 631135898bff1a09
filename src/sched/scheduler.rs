//! The `Scheduler`: devices, their profile and the policy, behind one cheap-to-clone
//! handle. It measures what a graph needs and is missing, plans, and compiles plans into
//! [`AutoExecutable`]s; it is also a [`Backend`] ("auto"), so the model runner can use it
//! like any single device.

use super::class::OpClass;
use super::measure::{Measurer, ProgressFn};
use super::plan::{plan, Candidate, Plan};
use super::probe::{probe, Device};
use super::profile::{DeviceProfile, LoadOutcome, Profile};
use super::recover::AutoExecutable;
use super::settings::{Policy, SchedSettings};
use crate::backend::{Backend, DeviceInfo, DeviceKind, Executable};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::op::Op;
use crate::tensor::TensorDesc;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Name of the reference backend, which the planner skips unless asked.
pub const REFERENCE_BACKEND: &str = crate::backend::cpu::reference::BACKEND_NAME;

/// What one measuring pass did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct MeasureReport {
    /// Classes measured, per backend.
    pub measured: Vec<(String, OpClass)>,
    /// Executable runs made.
    pub runs: usize,
    /// The budget ran out before everything was measured.
    pub cut_short: bool,
    /// Devices that failed while being measured.
    pub failed: Vec<String>,
}

struct Inner {
    devices: Vec<Device>,
    settings: SchedSettings,
    profile: Mutex<Profile>,
    load_outcome: LoadOutcome,
    failed: Mutex<BTreeSet<String>>,
    runs: AtomicUsize,
    progress: Option<Arc<ProgressFn>>,
}

/// Plans graphs onto the fastest devices. Clones share devices, profile and failures.
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep using it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Scheduler {
    /// Probes `backends` and loads the profile named by `settings` (a missing, stale or
    /// corrupt file is logged and means measuring again).
    pub fn new(backends: Vec<Arc<dyn Backend>>, settings: SchedSettings) -> Self {
        Self::with_progress(backends, settings, None)
    }

    /// As [`Scheduler::new`], reporting measuring progress to `progress`.
    pub fn with_progress(
        backends: Vec<Arc<dyn Backend>>,
        settings: SchedSettings,
        progress: Option<Arc<ProgressFn>>,
    ) -> Self {
        let devices = probe(backends);
        let (profile, load_outcome) = match settings.profile_path() {
            Some(path) => Profile::load(&path),
            None => (Profile::default(), LoadOutcome::Missing),
        };
        match &load_outcome {
            LoadOutcome::Loaded => log::info!("scheduler profile loaded"),
            LoadOutcome::Missing => {
                log::info!("no scheduler profile yet; devices will be measured")
            }
            LoadOutcome::Stale(why) => {
                log::info!("scheduler profile is stale ({why}); re-measuring")
            }
            LoadOutcome::Corrupt(why) => {
                log::warn!("scheduler profile unreadable ({why}); re-measuring")
            }
        }
        Scheduler {
            inner: Arc::new(Inner {
                devices,
                settings,
                profile: Mutex::new(profile),
                load_outcome,
                failed: Mutex::new(BTreeSet::new()),
                runs: AtomicUsize::new(0),
                progress,
            }),
        }
    }

    /// Every probed device.
    pub fn devices(&self) -> &[Device] {
        &self.inner.devices
    }

    /// The settings.
    pub fn settings(&self) -> &SchedSettings {
        &self.inner.settings
    }

    /// What loading the profile found.
    pub fn load_outcome(&self) -> &LoadOutcome {
        &self.inner.load_outcome
    }

    /// A copy of the current profile.
    pub fn profile(&self) -> Profile {
        lock(&self.inner.profile).clone()
    }

    /// Executable runs made for measuring since this scheduler was created.
    pub fn measurement_runs(&self) -> usize {
        self.inner.runs.load(Ordering::Relaxed)
    }

    /// Devices marked failed at run time.
    pub fn failed_devices(&self) -> Vec<String> {
        lock(&self.inner.failed).iter().cloned().collect()
    }

    /// Marks a device failed: no later plan uses it.
    pub fn mark_failed(&self, backend: &str) {
        lock(&self.inner.failed).insert(backend.to_string());
    }

    /// Indices of the devices a plan may use: allowed by the policy, not failed, not the
    /// reference unless asked for, not in `exclude`.
    pub fn candidates(&self, exclude: &BTreeSet<String>) -> Vec<usize> {
        let s = &self.inner.settings;
        let failed = lock(&self.inner.failed);
        self.inner
            .devices
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                let name = d.name();
                s.policy.allows(name)
                    && !failed.contains(name)
                    && !exclude.contains(name)
                    && (name != REFERENCE_BACKEND
                        || s.include_reference
                        || s.policy == Policy::Pin(name.to_string()))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Measures on `devices` every class in `classes` their profiles lack (and the run
    /// overhead), within the budget, then saves the profile. A device failing while
    /// measured is marked failed, not an error.
    pub fn ensure_measured(&self, devices: &[usize], classes: &[OpClass]) -> Result<MeasureReport> {
        let inner = &self.inner;
        let mut report = MeasureReport::default();
        let todo: Vec<(usize, bool, Vec<OpClass>)> = {
            let profile = lock(&inner.profile);
            devices
                .iter()
                .map(|&d| {
                    let p = profile.device(&inner.devices[d].key);
                    let io = p.is_none_or(|p| p.io_samples.is_empty());
                    let missing = classes
                        .iter()
                        .copied()
                        .filter(|c| p.and_then(|p| p.class(*c)).is_none())
                        .collect();
                    (d, io, missing)
                })
                .filter(|(_, io, m): &(usize, bool, Vec<OpClass>)| *io || !m.is_empty())
                .collect()
        };
        if todo.is_empty() {
            return Ok(report);
        }
        let deadline = Instant::now() + inner.settings.budget;
        let mut m = Measurer::new(
            inner.settings.clock.as_ref(),
            inner.settings.scale,
            deadline,
            inner.progress.as_deref(),
        );
        m.total = todo
            .iter()
            .map(|(_, io, cs)| {
                usize::from(*io) * m.io_points() + cs.iter().map(|c| m.points(*c)).sum::<usize>()
            })
            .sum();
        for (d, need_io, classes) in todo {
            let device = &inner.devices[d];
            let backend = device.backend.as_ref();
            let result = (|| -> Result<()> {
                let mut io = lock(&inner.profile).device(&device.key).and_then(|p| p.io);
                if need_io {
                    let (samples, model) = m.measure_io(backend)?;
                    let mut profile = lock(&inner.profile);
                    let p = profile.device_mut(&device.key);
                    p.io_samples = samples;
                    p.io = model;
                    io = model;
                }
                for class in classes {
                    let got = m.measure_class(backend, class, io)?;
                    report.cut_short |= got.cut_short;
                    if got.samples.is_empty() && !got.unsupported {
                        continue; // out of budget: stays unmeasured, estimated from neighbours
                    }
                    lock(&inner.profile).device_mut(&device.key).record(
                        class,
                        got.samples,
                        got.unsupported,
                    );
                    report.measured.push((device.name().to_string(), class));
                }
                Ok(())
            })();
            if let Err(e) = result {
                log::warn!(
                    "{} failed while being measured: {e}; not using it",
                    device.name()
                );
                self.mark_failed(device.name());
                report.failed.push(device.name().to_string());
            }
        }
        report.runs = m.runs;
        inner.runs.fetch_add(m.runs, Ordering::Relaxed);
        if report.cut_short {
            log::warn!(
                "measuring budget ({:?}) ran out; some estimates are borrowed",
                inner.settings.budget
            );
        }
        if let Some(path) = inner.settings.profile_path() {
            if let Err(e) = lock(&inner.profile).save(&path) {
                log::warn!("could not save the scheduler profile: {e}");
            }
        }
        Ok(report)
    }

    /// The op classes of `graph`'s nodes, each once.
    pub fn classes_of(graph: &Graph) -> Vec<OpClass> {
        let set: BTreeSet<OpClass> = graph
            .nodes()
            .iter()
            .map(|n| OpClass::of(graph, n))
            .collect();
        set.into_iter().collect()
    }

    /// Plans `graph` on the allowed devices, measuring what is missing first.
    pub fn plan(&self, graph: &Graph) -> Result<Plan> {
        self.plan_excluding(graph, &BTreeSet::new()).map(|(p, _)| p)
    }

    /// As [`Scheduler::plan`] without the devices in `exclude`; also returns the device
    /// index (into [`Scheduler::devices`]) of each of the plan's devices.
    pub fn plan_excluding(
        &self,
        graph: &Graph,
        exclude: &BTreeSet<String>,
    ) -> Result<(Plan, Vec<usize>)> {
        let devices = self.candidates(exclude);
        if devices.is_empty() {
            return Err(Error::Schedule(format!(
                "no usable device (policy {:?}, failed {:?}, excluded {exclude:?})",
                self.inner.settings.policy,
                self.failed_devices()
            )));
        }
        self.ensure_measured(&devices, &Self::classes_of(graph))?;
        // Measuring may have marked some failed.
        let devices: Vec<usize> = {
            let failed = lock(&self.inner.failed);
            devices
                .into_iter()
                .filter(|&d| !failed.contains(self.inner.devices[d].name()))
                .collect()
        };
        let profile = lock(&self.inner.profile).clone();
        let cands: Vec<Candidate> = devices
            .iter()
            .map(|&d| {
                let dev = &self.inner.devices[d];
                Candidate {
                    name: dev.name().to_string(),
                    profile: profile
                        .device(&dev.key)
                        .cloned()
                        .unwrap_or_else(|| DeviceProfile::new(dev.key.clone())),
                    memory_bytes: dev.info.memory_bytes,
                    supports: graph
                        .nodes()
                        .iter()
                        .map(|n| {
                            let descs: Vec<TensorDesc> = n
                                .inputs
                                .iter()
                                .map(|t| graph.tensor(*t).desc.clone())
                                .collect();
                            dev.backend.supports(&n.op, &descs)
                        })
                        .collect(),
                }
            })
            .collect();
        Ok((plan(graph, &cands)?, devices))
    }

    /// Plans and compiles `graph`; the result recovers from device failures.
    pub fn compile_auto(&self, graph: &Graph) -> Result<AutoExecutable> {
        AutoExecutable::new(self.clone(), graph.clone())
    }
}

impl Backend for Scheduler {
    fn info(&self) -> DeviceInfo {
        let names: Vec<String> = self
            .candidates(&BTreeSet::new())
            .iter()
            .map(|&d| self.inner.devices[d].name().to_string())
            .collect();
        DeviceInfo {
            backend: "auto".into(),
            device: format!("scheduler over {}", names.join(", ")),
            kind: DeviceKind::Cpu,
            api: "sched".into(),
            driver: format!("edgeplane {}", env!("CARGO_PKG_VERSION")),
            memory_bytes: None,
            features: names,
        }
    }

    fn supports(&self, op: &Op, inputs: &[TensorDesc]) -> bool {
        self.candidates(&BTreeSet::new())
            .iter()
            .any(|&d| self.inner.devices[d].backend.supports(op, inputs))
    }

    fn compile(&self, graph: &Graph) -> Result<Box<dyn Executable>> {
        Ok(Box::new(self.compile_auto(graph)?))
    }
}
