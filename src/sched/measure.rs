//! Measuring: time the single-op graphs of [`super::workload`] on a device, with a warm-up
//! run and the fastest of a few timed runs, inside a wall-clock budget.
//!
//! Each run is timed end to end (`Executable::run`: upload inputs, compute, read back), by
//! the [`Clock`] in the settings. The run overhead (an empty graph whose input is its
//! output, at three sizes) is measured first and fitted as the device's partition-boundary
//! cost; op timings have the overhead for their own inputs and outputs subtracted, so a
//! chain of ops on one device is not charged a round trip per op. Timestamp queries would
//! be better on GPUs; the wgpu backend does not expose kernel times yet, and wall clock is
//! what a caller pays anyway.
//!
//! The library reports progress through a callback and logs; it never prints.

use super::class::{node_work, OpClass};
use super::fit::{fit, CostModel, Sample};
use super::settings::{Clock, MeasureScale};
use super::workload::{build, build_io, io_widths, ladder};
use crate::backend::{Backend, Executable};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::tensor::HostTensor;
use std::time::{Duration, Instant};

/// Progress of a measuring pass, given to the caller's callback after each point.
#[derive(Clone, Debug)]
pub struct MeasureProgress {
    /// Backend being measured.
    pub backend: String,
    /// What was just measured (`"matmul q4_0 n=1 [1, 2048, 2048]"`).
    pub label: String,
    /// Points done so far in this pass.
    pub done: usize,
    /// Points in this pass.
    pub total: usize,
}

/// A progress callback (the CLI draws a bar with it).
pub type ProgressFn = dyn Fn(&MeasureProgress) + Send + Sync;

/// Timed runs per point after the warm-up, at most.
const MAX_RUNS: usize = 7;
/// Wall-clock time one point may take for its timed runs; at least one run is always made.
const POINT_SLICE: Duration = Duration::from_millis(300);
/// A point slower than this skips the class's larger sizes (they would be slower still).
const SLOW_POINT: Duration = Duration::from_secs(2);

/// One measuring pass: shares a deadline and a progress count across devices and classes.
pub struct Measurer<'a> {
    clock: &'a dyn Clock,
    scale: MeasureScale,
    deadline: Instant,
    progress: Option<&'a ProgressFn>,
    /// Points planned in this pass (for progress).
    pub total: usize,
    /// Points done in this pass.
    pub done: usize,
    /// Executable runs made (warm-ups included): the test of "nothing was measured".
    pub runs: usize,
}

/// The outcome of measuring one class on one device.
#[derive(Debug, Default)]
pub struct ClassMeasurement {
    /// Measured points.
    pub samples: Vec<Sample>,
    /// The device refused the class.
    pub unsupported: bool,
    /// The budget ran out before every point was measured.
    pub cut_short: bool,
}

impl<'a> Measurer<'a> {
    /// A pass ending at `deadline`.
    pub fn new(
        clock: &'a dyn Clock,
        scale: MeasureScale,
        deadline: Instant,
        progress: Option<&'a ProgressFn>,
    ) -> Self {
        Measurer {
            clock,
            scale,
            deadline,
            progress,
            total: 0,
            done: 0,
            runs: 0,
        }
    }

    /// Points a class costs (for progress totals).
    pub fn points(&self, class: OpClass) -> usize {
        ladder(class, self.scale).len()
    }

    /// Points of the run-overhead measurement.
    pub fn io_points(&self) -> usize {
        io_widths(self.scale).len()
    }

    fn tick(&mut self, backend: &dyn Backend, label: String) {
        self.done += 1;
        if let Some(f) = self.progress {
            f(&MeasureProgress {
                backend: backend.info().backend,
                label,
                done: self.done,
                total: self.total,
            });
        }
    }

    /// Whether the budget is spent.
    pub fn out_of_time(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Measures the run overhead of `backend` and fits it (`flops` = 0).
    pub fn measure_io(
        &mut self,
        backend: &dyn Backend,
    ) -> Result<(Vec<Sample>, Option<CostModel>)> {
        let mut samples = Vec::new();
        for width in io_widths(self.scale) {
            if self.out_of_time() {
                break;
            }
            let (fastest, bytes) = match self.time_io(backend, width, false) {
                Ok(r) => r,
                Err(e) if !e.is_device_failure() => {
                    log::debug!(
                        "{}: empty graph refused ({e}); timing an Add",
                        backend.info().backend
                    );
                    self.time_io(backend, width, true)?
                }
                Err(e) => return Err(e),
            };
            samples.push(Sample {
                work: super::class::Work { bytes, flops: 0.0 },
                time_us: fastest.as_secs_f64() * 1e6,
            });
            self.tick(backend, format!("run overhead, {bytes} bytes"));
        }
        let model = fit(&samples);
        Ok((samples, model))
    }

    fn time_io(
        &mut self,
        backend: &dyn Backend,
        width: usize,
        with_add: bool,
    ) -> Result<(Duration, f64)> {
        let (graph, inputs) = build_io(width, with_add)?;
        let bytes = io_bytes(&inputs, &graph)?;
        let exe = backend.compile(&graph)?;
        Ok((self.time_runs(exe, &inputs)?, bytes))
    }

    /// Measures `class` on `backend` at each ladder size, subtracting the run overhead
    /// `io` predicts for the inputs and outputs. A device failure is returned as an error;
    /// an unsupported class is reported, not an error.
    pub fn measure_class(
        &mut self,
        backend: &dyn Backend,
        class: OpClass,
        io: Option<CostModel>,
    ) -> Result<ClassMeasurement> {
        let mut out = ClassMeasurement::default();
        let points = ladder(class, self.scale);
        for (i, size) in points.iter().enumerate() {
            if self.out_of_time() {
                out.cut_short = true;
                self.done += points.len() - i;
                break;
            }
            let (graph, inputs) = build(class, *size, self.scale)?;
            let node = &graph.nodes()[0];
            let descs: Vec<_> = node
                .inputs
                .iter()
                .map(|&t| graph.tensor(t).desc.clone())
                .collect();
            if !backend.supports(&node.op, &descs) {
                out.unsupported = true;
                self.done += points.len() - i;
                break;
            }
            let exe = match backend.compile(&graph) {
                Ok(e) => e,
                Err(Error::Unsupported { .. } | Error::NotAvailable(_)) => {
                    out.unsupported = true;
                    self.done += points.len() - i;
                    break;
                }
                Err(e) => return Err(e),
            };
            let start = Instant::now();
            let fastest = self.time_runs(exe, &inputs)?;
            let measured_us = fastest.as_secs_f64() * 1e6;
            let overhead_us = io.map_or(0.0, |m| {
                m.predict_us(super::class::Work {
                    bytes: io_bytes(&inputs, &graph).unwrap_or(0.0),
                    flops: 0.0,
                })
            });
            let work = node_work(&graph, node);
            // Keep at least 5 % of the measurement: the op did take some time.
            let time_us = (measured_us - overhead_us).max(0.05 * measured_us);
            out.samples.push(Sample { work, time_us });
            log::debug!(
                "{}: {class} n={} m={} k={}: {measured_us:.1} µs ({time_us:.1} µs net)",
                backend.info().backend,
                size.n,
                size.m,
                size.k
            );
            self.tick(
                backend,
                format!("{class} [{}, {}, {}]", size.n, size.m, size.k),
            );
            if start.elapsed() > SLOW_POINT {
                // Larger sizes would be slower still; the fit extrapolates from these.
                log::debug!("{class}: slow at this size, skipping the larger ones");
                self.done += points.len() - i - 1;
                break;
            }
        }
        Ok(out)
    }

    /// Warm-up, then up to [`MAX_RUNS`] timed runs within [`POINT_SLICE`]; the fastest.
    ///
    /// The minimum, not the median: on a shared machine other processes only ever add
    /// time, and the planner compares devices' capabilities, which the fastest run shows
    /// best. (Seen here with a load average of 8 on 2 cores: a median that made a 4× larger
    /// decode matmul take 28× longer.)
    fn time_runs(
        &mut self,
        mut exe: Box<dyn Executable>,
        inputs: &[HostTensor],
    ) -> Result<Duration> {
        let t0 = self.clock.now();
        exe.run(inputs)?;
        self.runs += 1;
        let warm = self.clock.now().saturating_sub(t0);
        let wall = Instant::now();
        let mut times = Vec::with_capacity(MAX_RUNS);
        // A very slow warm-up (a big prefill on a software GPU) is its own measurement.
        if warm > SLOW_POINT {
            return Ok(warm);
        }
        while times.len() < MAX_RUNS && (times.is_empty() || wall.elapsed() < POINT_SLICE) {
            let t = self.clock.now();
            exe.run(inputs)?;
            self.runs += 1;
            times.push(self.clock.now().saturating_sub(t));
        }
        Ok(times.into_iter().min().unwrap_or(warm))
    }
}

/// Bytes passed in and out of one run of `graph` with `inputs`.
fn io_bytes(inputs: &[HostTensor], graph: &Graph) -> Result<f64> {
    let mut bytes: usize = inputs.iter().map(|t| t.data.len()).sum();
    for &o in graph.outputs() {
        bytes += graph.tensor(o).desc.byte_len()?;
    }
    Ok(bytes as f64)
}
