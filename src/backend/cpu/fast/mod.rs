//! The fast CPU backend: SIMD and threaded kernels from `edgeplane-kernels` behind the
//! [`Backend`] contract, named `"cpu"`.
//!
//! Where it sits in the flow (docs/architecture.md): the scheduler hands it (sub)graphs;
//! `compile` keeps weights as shared bytes (no copy of a GGUF mmap) and zeroes state;
//! `run` executes nodes in order, each op spread over one persistent rayon pool built when
//! the backend is made. SIMD is chosen once ([`FastSettings::simd`] or the widest the CPU
//! has) and carried as a token to every kernel.
//!
//! Determinism: every output value is computed by exactly one task in a fixed order
//! (matmul rows, attention chunks merged in key order, row-wise ops), so results are
//! bit-identical from run to run, whatever the scheduling.

mod attention;
mod buffers;
mod elementwise;
mod executable;
mod handoff;
mod matmul;
mod settings;
mod tiles;
mod value;

pub use executable::FastExecutable;
pub use settings::FastSettings;

use crate::backend::{Backend, DeviceInfo, DeviceKind, Executable};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::op::Op;
use crate::tensor::TensorDesc;
use crate::DType;
use edgeplane_kernels::cpu::dot::has_direct_kernel;
use edgeplane_kernels::cpu::{Simd, SimdLevel};
use std::sync::Arc;

/// The fast CPU backend.
pub struct Fast {
    simd: Simd,
    threads: usize,
    repack: bool,
    pool: Arc<rayon::ThreadPool>,
    /// Repacked weights shared by this backend's executables.
    tiles: Arc<tiles::TileCache>,
}

impl Fast {
    /// A backend with `settings`. Errors: `NotAvailable` when the SIMD level asked for is
    /// not on this CPU, `InvalidInput` when `EDGEPLANE_SIMD`, `EDGEPLANE_THREADS` or
    /// `EDGEPLANE_REPACK` holds a value that means nothing (even where `settings` does not
    /// read it: a misspelt variable is a mistake worth hearing of), `Device` when the
    /// thread pool cannot start.
    pub fn new(settings: FastSettings) -> Result<Fast> {
        FastSettings::env_threads()?;
        FastSettings::env_repack()?;
        let level = settings
            .simd
            .or(FastSettings::env_simd()?)
            .unwrap_or_else(SimdLevel::best);
        let simd = Simd::new(level).ok_or_else(|| {
            Error::NotAvailable(format!("SIMD level {level} for the fast CPU backend"))
        })?;
        let threads = settings.threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("edgeplane-cpu-{i}"))
            .build()
            .map_err(|e| Error::Device {
                backend: "cpu".into(),
                message: format!("starting {threads} worker threads: {e}"),
            })?;
        Ok(Fast {
            simd,
            threads,
            repack: settings.repack,
            pool: Arc::new(pool),
            tiles: Arc::default(),
        })
    }

    /// The SIMD level in use.
    pub fn simd_level(&self) -> SimdLevel {
        self.simd.level()
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }
}

/// The CPU's model name, from `/proc/cpuinfo` where there is one.
fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| format!("{} CPU", std::env::consts::ARCH))
}

/// Whether matmul/get_rows can read weights of `dtype`: a direct kernel, or a dequantizer
/// in `edgeplane_kernels::quant` (probed on one zero block).
fn weights_readable(dtype: DType) -> bool {
    has_direct_kernel(dtype)
        || edgeplane_kernels::quant::dequantize(
            dtype,
            &vec![0u8; dtype.block_bytes()],
            dtype.block_size(),
        )
        .is_ok()
}

impl Backend for Fast {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            backend: "cpu".into(),
            device: cpu_name(),
            kind: DeviceKind::Cpu,
            api: "host".into(),
            driver: format!("edgeplane-kernels {}", env!("CARGO_PKG_VERSION")),
            memory_bytes: None,
            features: vec![
                self.simd.level().name().to_string(),
                format!("threads={}", self.threads),
                format!("repack={}", if self.repack { "on" } else { "off" }),
            ],
        }
    }

    fn supports(&self, op: &Op, inputs: &[TensorDesc]) -> bool {
        let refs: Vec<&TensorDesc> = inputs.iter().collect();
        if crate::shape_check::output_desc(op, &refs).is_err() {
            return false;
        }
        match op {
            Op::MatMul { .. } => weights_readable(inputs[1].dtype),
            Op::GetRows => weights_readable(inputs[0].dtype),
            _ => true,
        }
    }

    fn compile(&self, graph: &Graph) -> Result<Box<dyn Executable>> {
        for node in graph.nodes() {
            let descs: Vec<TensorDesc> = node
                .inputs
                .iter()
                .map(|&i| graph.tensor(i).desc.clone())
                .collect();
            if !self.supports(&node.op, &descs) {
                let shapes: Vec<String> = descs.iter().map(|d| d.to_string()).collect();
                return Err(Error::Unsupported {
                    backend: "cpu".into(),
                    op: format!("{} on {}", node.op.kind(), shapes.join(", ")),
                });
            }
        }
        Ok(Box::new(FastExecutable::new(
            graph,
            self.pool.clone(),
            self.simd,
            self.threads,
            self.repack.then_some(self.tiles.as_ref()),
        )))
    }
}
