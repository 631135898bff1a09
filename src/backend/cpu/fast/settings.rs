//! Settings of the fast CPU backend: a typed struct with defaults. `EDGEPLANE_THREADS` is
//! read here and nowhere else.

use edgeplane_kernels::cpu::SimdLevel;

/// How the fast CPU backend runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastSettings {
    /// Worker threads in the backend's pool (≥ 1).
    pub threads: usize,
    /// SIMD level to use; `None` picks the widest the CPU has.
    pub simd: Option<SimdLevel>,
}

impl FastSettings {
    /// Threads from `EDGEPLANE_THREADS` when set to a positive integer, else the number of
    /// CPUs the process may use.
    pub fn default_threads() -> usize {
        std::env::var("EDGEPLANE_THREADS")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

impl Default for FastSettings {
    fn default() -> Self {
        FastSettings {
            threads: FastSettings::default_threads(),
            simd: None,
        }
    }
}
