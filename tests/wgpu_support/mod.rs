//! Shared helpers of the wgpu tests: opening the device (or skipping, or failing under
//! `EDGEPLANE_REQUIRE_GPU=1`), seeded data and small block quantizers.
#![allow(dead_code)]

pub mod ggml_dequant;

use edgeplane::backend::wgpu::{Wgpu, WgpuSettings};

/// The backend, or `None` (with a note) when no adapter exists. Panics when
/// `EDGEPLANE_REQUIRE_GPU=1` and the device is missing or is not the expected one.
pub fn backend(settings: &WgpuSettings) -> Option<Wgpu> {
    let required = std::env::var("EDGEPLANE_REQUIRE_GPU").is_ok_and(|v| v == "1");
    match Wgpu::new(settings) {
        Ok(b) => {
            let info = b.gpu().info.clone();
            if required {
                assert_eq!(
                    info.backend,
                    wgpu::Backend::Vulkan,
                    "EDGEPLANE_REQUIRE_GPU=1 but the adapter is {} on {:?} (silent GL fallback?)",
                    info.name,
                    info.backend
                );
                let f = b.gpu().adapter_features;
                assert!(
                    f.contains(wgpu::Features::SHADER_F16) && f.contains(wgpu::Features::SUBGROUP),
                    "EDGEPLANE_REQUIRE_GPU=1 but {} lacks SHADER_F16/SUBGROUP: {f:?}",
                    info.name
                );
            }
            Some(b)
        }
        Err(e) if required => panic!("EDGEPLANE_REQUIRE_GPU=1 but no wgpu device: {e}"),
        Err(e) => {
            eprintln!("skipping wgpu test: {e}");
            None
        }
    }
}

/// Settings for the default variants and for forced fallbacks.
pub fn both_variants() -> [WgpuSettings; 2] {
    [
        WgpuSettings::default(),
        WgpuSettings {
            force_fallback: true,
            ..WgpuSettings::default()
        },
    ]
}

/// Deterministic values in [-1, 1).
pub fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Q8_0 blocks of `v` (ggml's reference rounding).
pub fn quantize_q8_0(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::new();
    for b in v.chunks(32) {
        let amax = b.iter().fold(0f32, |a, x| a.max(x.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
        out.extend(b.iter().map(|x| (x * id).round() as i8 as u8));
    }
    out
}

/// Q4_0 blocks of `v`.
pub fn quantize_q4_0(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::new();
    for b in v.chunks(32) {
        let max = b
            .iter()
            .fold(0f32, |a, &x| if x.abs() > a.abs() { x } else { a });
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
        let q = |x: f32| ((x * id + 8.5) as i32).clamp(0, 15) as u8;
        for j in 0..16 {
            out.push(q(b[j]) | (q(b[j + 16]) << 4));
        }
    }
    out
}

/// Values of Q8_0 blocks.
pub fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks(34)
        .flat_map(|b| {
            let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
            b[2..]
                .iter()
                .map(move |&q| d * q as i8 as f32)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Values of Q4_0 blocks.
pub fn dequantize_q4_0(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks(18)
        .flat_map(|b| {
            let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
            let lo = b[2..].iter().map(move |&q| d * ((q & 15) as f32 - 8.0));
            let hi = b[2..].iter().map(move |&q| d * ((q >> 4) as f32 - 8.0));
            lo.chain(hi).collect::<Vec<_>>()
        })
        .collect()
}

/// `x [n, k] · w [m, k]ᵀ` in f64.
pub fn matmul_ref(x: &[f32], w: &[f32], n: usize, k: usize, m: usize) -> Vec<f32> {
    let mut y = vec![0f32; n * m];
    for t in 0..n {
        for r in 0..m {
            let s: f64 = (0..k)
                .map(|c| x[t * k + c] as f64 * w[r * k + c] as f64)
                .sum();
            y[t * m + r] = s as f32;
        }
    }
    y
}

/// Normalized mean squared error of `got` against `want`.
pub fn nmse(got: &[f32], want: &[f32]) -> f64 {
    edgeplane::conformance::nmse(want, got)
}
