//! The built-in layer's conformance check: run it on a backend and on the reference with
//! the same inputs, step after step through the KV cache, and compare.
//!
//! This is the tour's quick proof that a backend computes the same layer as the reference;
//! the per-op tables with per-op bounds live in [`crate::conformance`].

use super::layer::{Layer, LayerConfig};
use crate::backend::Backend;
use crate::error::Result;
use crate::tensor::HostTensor;

/// Normalised mean squared error a whole layer may show against the reference: several
/// quantized matmuls (activations may be quantized to 8 bits on the way, as ggml does),
/// an f16 KV cache and an attention compound their per-op errors.
pub const LAYER_NMSE_BOUND: f64 = 2e-3;

/// The outcome of checking one backend.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LayerCheck {
    /// Backend name.
    pub backend: String,
    /// Worst NMSE over every step checked (`None` if it failed to run).
    pub nmse: Option<f64>,
    /// The bound it is held to.
    pub bound: f64,
    /// Steps compared (decode steps plus one prefill).
    pub steps: usize,
    /// Passed: ran, and within the bound.
    pub pass: bool,
    /// Why it failed to run, if it did.
    pub error: Option<String>,
}

/// `Σ(got-want)² / Σwant²`; infinite when shapes differ or values are not finite.
pub fn nmse(got: &HostTensor, want: &HostTensor) -> f64 {
    let (Ok(g), Ok(w)) = (got.to_f32(), want.to_f32()) else {
        return f64::INFINITY;
    };
    if g.len() != w.len() || got.desc != want.desc {
        return f64::INFINITY;
    }
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (a, b) in g.iter().zip(&w) {
        let d = f64::from(*a) - f64::from(*b);
        num += d * d;
        den += f64::from(*b) * f64::from(*b);
    }
    if !num.is_finite() {
        return f64::INFINITY;
    }
    num / den.max(f64::MIN_POSITIVE)
}

fn runs(
    backend: &dyn Backend,
    layer: &Layer,
    steps: &[Vec<HostTensor>],
) -> Result<Vec<Vec<HostTensor>>> {
    let mut exe = backend.compile(&layer.graph)?;
    steps.iter().map(|inputs| exe.run(inputs)).collect()
}

/// Checks `backend` against `reference` on the layer of `config`: `decode_steps` single
/// tokens through one KV cache, then a prefill of `decode_steps` tokens at once.
pub fn check_layer(
    backend: &dyn Backend,
    reference: &dyn Backend,
    config: LayerConfig,
    decode_steps: usize,
) -> LayerCheck {
    let name = backend.info().backend;
    let result = (|| -> Result<f64> {
        let decode = Layer::build(config, 1)?;
        let prefill = Layer::build(config, decode_steps)?;
        let decode_inputs: Vec<Vec<HostTensor>> = (0..decode_steps)
            .map(|p| decode.inputs(p, 1, 1000 + p as u64))
            .collect::<Result<_>>()?;
        let prefill_inputs = vec![prefill.inputs(0, decode_steps, 2000)?];
        let mut worst = 0.0f64;
        for (layer, inputs) in [(&decode, &decode_inputs), (&prefill, &prefill_inputs)] {
            let want = runs(reference, layer, inputs)?;
            let got = runs(backend, layer, inputs)?;
            for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
                worst = worst.max(nmse(g, w));
            }
        }
        Ok(worst)
    })();
    match result {
        Ok(e) => LayerCheck {
            backend: name,
            nmse: Some(e),
            bound: LAYER_NMSE_BOUND,
            steps: decode_steps + 1,
            pass: e <= LAYER_NMSE_BOUND,
            error: None,
        },
        Err(e) => LayerCheck {
            backend: name,
            nmse: None,
            bound: LAYER_NMSE_BOUND,
            steps: 0,
            pass: false,
            error: Some(e.to_string()),
        },
    }
}
