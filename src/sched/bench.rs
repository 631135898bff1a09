//! Timing the built-in layer: the tour's benchmark table, and the comparison of the
//! scheduler's plan with the best single device.
//!
//! A decode step (one token) is timed at a KV fill of half the context, end to end
//! (`run`: upload, compute, read back), median over a few runs inside a time slice.

use super::layer::{Layer, LayerConfig};
use crate::backend::Backend;
use crate::error::Result;
use std::time::{Duration, Instant};

/// The layer's timing on one backend.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LayerTiming {
    /// Backend name.
    pub backend: String,
    /// Compile time (weights uploaded, pipelines built), ms.
    pub compile_ms: f64,
    /// Median decode step, ms.
    pub decode_ms: f64,
    /// Fastest decode step, ms.
    pub decode_min_ms: f64,
    /// Runs timed.
    pub runs: usize,
    /// Weight bytes read per second at the median, GB/s.
    pub weight_gbps: f64,
}

/// Times `runs` decode steps (at least 3, fewer only if `slice` runs out first) of
/// `layer` on `backend`.
pub fn time_layer(
    backend: &dyn Backend,
    layer: &Layer,
    max_runs: usize,
    slice: Duration,
) -> Result<LayerTiming> {
    let t = Instant::now();
    let mut exe = backend.compile(&layer.graph)?;
    let compile_ms = t.elapsed().as_secs_f64() * 1e3;
    let inputs = layer.inputs(layer.config.context / 2, 1, 7)?;
    exe.run(&inputs)?; // warm-up: first dispatches compile shaders on GPUs
    let start = Instant::now();
    let mut times = Vec::new();
    while times.len() < max_runs.max(1) && (times.len() < 3 || start.elapsed() < slice) {
        let t = Instant::now();
        exe.run(&inputs)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let decode_ms = times[times.len() / 2];
    Ok(LayerTiming {
        backend: backend.info().backend,
        compile_ms,
        decode_ms,
        decode_min_ms: times[0],
        runs: times.len(),
        weight_gbps: layer.config.weight_bytes() as f64 / (decode_ms * 1e-3) / 1e9,
    })
}

/// Decode tokens per second of a model of `config.n_layer` such layers plus an output
/// head, from one layer's step time and the head's estimate.
pub fn decode_tokens_per_s(config: &LayerConfig, layer_ms: f64, head_ms: f64) -> f64 {
    1e3 / (config.n_layer as f64 * layer_ms + head_ms)
}
