//! The fast backend against candle's `QMatMul`: the same ggml block bytes and activations
//! through candle and through edgeplane. This proves the candle bench anchor computes the
//! same product (candle reads our bytes as its own block structs) before its speed is
//! compared; likewise the attention anchor. Runs only with `--features anchor-candle`.
//!
//! Shapes cover candle's three CPU paths: the plain `vec_dot` loop (weight rows not a
//! multiple of its 16-row tiles), its repacked x86 tiles (Q4_K always, Q8_0 with VNNI,
//! Q6_K from 2 rows), and, where the CPU has AMX, its AMX Q4_K path (32+ rows).
#![cfg(feature = "anchor-candle")]

use edgeplane::anchor::candle::CandleMatMul;
use edgeplane::backend::cpu::fast::{Fast, FastSettings};
use edgeplane::conformance::nmse;
use edgeplane::{Backend, DType, Graph, HostTensor, Op, TensorDesc};
use edgeplane_kernels::noise::noise;
use edgeplane_kernels::quant::quantize;

fn fast_matmul(dtype: DType, w: &[u8], x: &[f32], n: usize, m: usize, k: usize) -> Vec<f32> {
    let backend = Fast::new(FastSettings {
        threads: 2,
        simd: None,
        repack: FastSettings::default_repack(),
    })
    .unwrap();
    let mut g = Graph::new();
    let xi = g.input("x", TensorDesc::new(DType::F32, [n, k])).unwrap();
    let wi = g
        .constant("w", TensorDesc::new(dtype, [m, k]), w.to_vec().into())
        .unwrap();
    let y = g.add(Op::MatMul { has_bias: false }, &[xi, wi]).unwrap();
    g.mark_output(y).unwrap();
    backend
        .compile(&g)
        .unwrap()
        .run(&[HostTensor::from_f32([n, k], x).unwrap()])
        .unwrap()[0]
        .to_f32()
        .unwrap()
}

#[test]
fn candle_qmatmul_agrees_with_fast_backend() {
    let k = 512;
    for (m, n) in [(48, 1), (48, 5), (48, 40), (40, 3)] {
        let x = noise(10 + n as u64, n * k);
        let wf = noise(20 + m as u64, m * k);
        for dtype in [DType::Q4_0, DType::Q8_0, DType::Q4K, DType::Q6K] {
            let w = quantize(dtype, &wf).unwrap();
            let want = fast_matmul(dtype, &w, &x, n, m, k);
            let got = CandleMatMul::new(dtype, &w, m, k)
                .unwrap()
                .run(&x, n)
                .unwrap();
            assert_eq!(got.len(), n * m);
            let e = nmse(&want, &got);
            eprintln!("{dtype} m={m} n={n} k={k}: nmse candle vs fast {e:.3e}");
            // Both quantize activations to 8-bit blocks (Q8_0 or Q8_K) before integer dot
            // products; a layout misread would give nmse near 1, not 1e-4.
            assert!(e < 1e-4, "{dtype} m={m} n={n}: nmse candle vs fast {e}");
        }
    }
}

#[test]
fn candle_rejects_wrong_weight_size() {
    let w = vec![0u8; 10];
    let err = CandleMatMul::new(DType::Q4_0, &w, 32, 64)
        .err()
        .expect("10 bytes are not a 32x64 Q4_0 matrix");
    assert!(err.to_string().contains("needs"), "{err}");
}

/// The decode-attention anchor (`CandleAttention`, built from candle-core ops) against the
/// fast backend's `Attention` op on the same f16 K/V rows: the bench compares their speed
/// only after this shows they compute the same thing (grouped-query heads in the same
/// order, the same scale).
#[test]
fn candle_attention_agrees_with_fast_backend() {
    use edgeplane::anchor::candle::CandleAttention;
    let (n_head, n_kv_head, head_dim, kv) = (8usize, 2usize, 64usize, 100usize);
    let width = n_kv_head * head_dim;
    let f16s = |seed: u64| -> Vec<half::f16> {
        noise(seed, kv * width)
            .iter()
            .map(|&v| half::f16::from_f32(v))
            .collect()
    };
    let (k, v) = (f16s(31), f16s(32));
    let q = noise(33, n_head * head_dim);
    let scale = 1.0 / (head_dim as f32).sqrt();

    let backend = Fast::new(FastSettings::default()).unwrap();
    let mut g = Graph::new();
    let qi = g
        .input("q", TensorDesc::new(DType::F32, [1, n_head * head_dim]))
        .unwrap();
    let pi = g.input("pos", TensorDesc::new(DType::I32, [1])).unwrap();
    let kd = TensorDesc::new(DType::F16, [kv, width]);
    let ki = g
        .constant("k", kd.clone(), bytemuck::cast_slice(&k).to_vec().into())
        .unwrap();
    let vi = g
        .constant("v", kd, bytemuck::cast_slice(&v).to_vec().into())
        .unwrap();
    let attention = Op::Attention {
        n_head,
        n_kv_head,
        head_dim,
        scale,
        causal: false,
        softcap: None,
    };
    let o = g.add(attention, &[qi, ki, vi, pi]).unwrap();
    g.mark_output(o).unwrap();
    let want = backend
        .compile(&g)
        .unwrap()
        .run(&[
            HostTensor::from_f32([1, n_head * head_dim], &q).unwrap(),
            HostTensor::from_i32([1], &[kv as i32 - 1]).unwrap(),
        ])
        .unwrap()[0]
        .to_f32()
        .unwrap();

    let got = CandleAttention::new(n_head, n_kv_head, head_dim, &k, &v, scale)
        .unwrap()
        .run(&q)
        .unwrap();
    assert_eq!(got.len(), want.len());
    let e = nmse(&want, &got);
    eprintln!("attention: nmse candle vs fast {e:.3e}");
    // candle rounds the query and the probabilities to f16 for its f16 matmuls (~1e-3
    // relative); swapped heads or a wrong scale give nmse near 1.
    assert!(e < 1e-4, "attention: nmse candle vs fast {e}");
}
