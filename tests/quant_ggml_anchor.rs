//! Our reference quantizers against ggml's own (`ggml_quantize_chunk` from llama.cpp's
//! vendored ggml, through `edgeplane::anchor::ggml`). gguf-py cannot encode K-quants, so
//! this is where Q4_K and Q6_K bytes are checked against ggml. Needs
//! `--features anchor-ggml` (builds ggml with cmake).
#![cfg(feature = "anchor-ggml")]

use edgeplane::DType;
use edgeplane_kernels::quant::{dequantize, quantize};

/// Deterministic inputs without a rand dependency: xorshift64* mapped to roughly normal
/// values (sum of four uniforms) at a per-block magnitude, plus edge blocks.
fn inputs(block_size: usize, blocks: usize) -> Vec<f32> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut uniform = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32
    };
    let mut x = Vec::with_capacity(block_size * blocks);
    for b in 0..blocks {
        let magnitude = 10f32.powf(uniform() * 5.0 - 3.0);
        for i in 0..block_size {
            let normal = (uniform() + uniform() + uniform() + uniform() - 2.0) * 1.7;
            x.push(match b {
                0 => 0.0,
                1 => 0.75,
                2 => (i as f32 - 100.0) * 0.01 + 0.3, // a ramp, all one sign for small i
                3 => normal.abs() * 1e3,
                4 => -normal.abs(),
                5 if i % 37 == 3 => 40.0 * magnitude, // sparse outliers
                _ => normal * magnitude,
            });
        }
    }
    x
}

#[test]
fn reference_quantizers_match_ggml_bytes() {
    for dtype in [
        DType::F16,
        DType::BF16,
        DType::Q4_0,
        DType::Q4_1,
        DType::Q5_0,
        DType::Q5_1,
        DType::Q8_0,
        DType::Q4K,
        DType::Q6K,
    ] {
        let block_size = dtype.block_size().max(32);
        let x = inputs(block_size, if block_size == 256 { 24 } else { 64 });
        let ours = quantize(dtype, &x).expect("whole blocks");
        let ggml = edgeplane::anchor::ggml::quantize(dtype, &x, x.len()).expect("ggml quantizes");
        assert_eq!(ours.len(), ggml.len(), "{dtype}: byte count");
        let block_bytes = dtype.block_bytes() * (block_size / dtype.block_size());
        let differing: Vec<usize> = (0..ours.len() / block_bytes)
            .filter(|&b| {
                let r = b * block_bytes..(b + 1) * block_bytes;
                ours[r.clone()] != ggml[r]
            })
            .collect();
        if let Some(&b) = differing.first() {
            let r = b * block_bytes..(b + 1) * block_bytes;
            let n = block_size;
            let ours_f = dequantize(dtype, &ours[r.clone()], n).expect("one block");
            let ggml_f = dequantize(dtype, &ggml[r.clone()], n).expect("one block");
            let err = |y: &[f32]| {
                let xs = &x[b * n..(b + 1) * n];
                xs.iter()
                    .zip(y)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f32>()
            };
            panic!(
                "{dtype}: {} of {} blocks differ from ggml; first is block {b} (squared error ours {} vs ggml {})\n ours: {:02x?}\n ggml: {:02x?}",
                differing.len(),
                ours.len() / block_bytes,
                err(&ours_f),
                err(&ggml_f),
                &ours[r.clone()],
                &ggml[r]
            );
        }
    }
}
