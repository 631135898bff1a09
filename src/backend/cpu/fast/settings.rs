//! Settings of the fast CPU backend: a typed struct with defaults. `EDGEPLANE_THREADS`,
//! `EDGEPLANE_REPACK` and `EDGEPLANE_SIMD` are read here and nowhere else.

use crate::error::{Error, Result};
use edgeplane_kernels::cpu::SimdLevel;

/// How the fast CPU backend runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastSettings {
    /// Worker threads in the backend's pool (≥ 1).
    pub threads: usize,
    /// SIMD level to use; `None` takes `EDGEPLANE_SIMD` when set (`scalar`, `avx2`,
    /// `avx-vnni`, `avx512-vnni`) and otherwise the widest level the CPU has.
    pub simd: Option<SimdLevel>,
    /// Repack constant weights at compile into row-interleaved tiles where a kernel for
    /// them exists (every quantized format at every x86 SIMD level: 2–6× faster batches,
    /// and on AVX-512 faster or level decode).
    /// Costs memory (the tiles are a second copy of those weights, +0–6 % of their size,
    /// next to the graph's) and load time (~1.5 s for a 1B Q4_K_M model on two cores, once
    /// per backend: executables share the tiles). Off with `EDGEPLANE_REPACK=0`.
    pub repack: bool,
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

    /// The level `EDGEPLANE_SIMD` names, `None` when it is unset or empty. Errors:
    /// `InvalidInput` for a name that is no level (a typo must not silently run another).
    pub fn env_simd() -> Result<Option<SimdLevel>> {
        let Ok(name) = std::env::var("EDGEPLANE_SIMD") else {
            return Ok(None);
        };
        let name = name.trim();
        if name.is_empty() {
            return Ok(None);
        }
        SimdLevel::from_name(name).map(Some).ok_or_else(|| {
            let known: Vec<_> = SimdLevel::ALL.iter().map(|l| l.name()).collect();
            Error::InvalidInput(format!(
                "EDGEPLANE_SIMD={name} names no SIMD level (one of: {})",
                known.join(", ")
            ))
        })
    }

    /// Repacking is on unless `EDGEPLANE_REPACK` is `0`, `false` or `off`.
    pub fn default_repack() -> bool {
        std::env::var("EDGEPLANE_REPACK")
            .map(|v| !matches!(v.trim(), "0" | "false" | "off"))
            .unwrap_or(true)
    }
}

impl Default for FastSettings {
    fn default() -> Self {
        FastSettings {
            threads: FastSettings::default_threads(),
            simd: None,
            repack: FastSettings::default_repack(),
        }
    }
}
