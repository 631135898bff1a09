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
    /// CPUs the process may use (a value that is no count is reported by [`Fast::new`]).
    ///
    /// [`Fast::new`]: super::Fast::new
    pub fn default_threads() -> usize {
        FastSettings::env_threads()
            .ok()
            .flatten()
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// The thread count `EDGEPLANE_THREADS` gives, `None` when it is unset or empty.
    /// Errors: `InvalidInput` for anything but a positive integer.
    pub fn env_threads() -> Result<Option<usize>> {
        let Some(value) = env_value("EDGEPLANE_THREADS") else {
            return Ok(None);
        };
        match value.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(Error::InvalidInput(format!(
                "EDGEPLANE_THREADS={value} is not a positive number of threads"
            ))),
        }
    }

    /// The level `EDGEPLANE_SIMD` names, `None` when it is unset or empty. Errors:
    /// `InvalidInput` for a name that is no level (a typo must not silently run another).
    pub fn env_simd() -> Result<Option<SimdLevel>> {
        let Some(name) = env_value("EDGEPLANE_SIMD") else {
            return Ok(None);
        };
        SimdLevel::from_name(&name).map(Some).ok_or_else(|| {
            let known: Vec<_> = SimdLevel::ALL.iter().map(|l| l.name()).collect();
            Error::InvalidInput(format!(
                "EDGEPLANE_SIMD={name} names no SIMD level (one of: {})",
                known.join(", ")
            ))
        })
    }

    /// Repacking is on unless `EDGEPLANE_REPACK` turns it off (see [`Self::env_repack`]).
    pub fn default_repack() -> bool {
        FastSettings::env_repack().ok().flatten().unwrap_or(true)
    }

    /// What `EDGEPLANE_REPACK` says, `None` when it is unset or empty: `0`, `false`, `off`
    /// turn repacking off, `1`, `true`, `on` on. Errors: `InvalidInput` for anything else
    /// (a misspelt "off" must not silently keep it on).
    pub fn env_repack() -> Result<Option<bool>> {
        let Some(value) = env_value("EDGEPLANE_REPACK") else {
            return Ok(None);
        };
        match value.to_ascii_lowercase().as_str() {
            "0" | "false" | "off" => Ok(Some(false)),
            "1" | "true" | "on" => Ok(Some(true)),
            _ => Err(Error::InvalidInput(format!(
                "EDGEPLANE_REPACK={value} is none of 0, false, off, 1, true, on"
            ))),
        }
    }
}

/// The trimmed value of variable `name`, `None` when it is unset or empty. A value that is
/// not Unicode is kept as its lossy text, so that the check rejects it with its name.
fn env_value(name: &str) -> Option<String> {
    let value = std::env::var_os(name)?;
    let value = value.to_string_lossy().trim().to_owned();
    (!value.is_empty()).then_some(value)
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
