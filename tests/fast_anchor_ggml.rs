//! The fast backend against ggml itself: weights quantized by ggml's own quantizer, the
//! same activations through ggml's `mul_mat` and `flash_attn_ext` and through edgeplane.
//! This is what proves our kernels read ggml's block layouts as ggml does. Runs only with
//! `--features anchor-ggml`.
#![cfg(feature = "anchor-ggml")]

use edgeplane::anchor::ggml::{quantize, AttentionShape, GgmlAttention, GgmlMatMul};
use edgeplane::backend::cpu::fast::{Fast, FastSettings};
use edgeplane::conformance::nmse;
use edgeplane::{Backend, DType, Graph, HostTensor, Op, TensorDesc};
use edgeplane_kernels::cpu::SimdLevel;
use edgeplane_kernels::noise::noise;

#[test]
fn matmul_agrees_with_ggml_on_ggml_quantized_weights() {
    let (n, m, k) = (6, 40, 512);
    let x = noise(1, n * k);
    let wf = noise(2, m * k);
    for dtype in [DType::Q4_0, DType::Q8_0, DType::Q4K, DType::Q6K, DType::F16] {
        let w = quantize(dtype, &wf, k).unwrap();
        let mut g = GgmlMatMul::new(dtype, &w, m, k, n, 2).unwrap();
        let want = g.run(&x).unwrap().to_vec();
        for level in SimdLevel::available() {
            let b = Fast::new(FastSettings {
                threads: 2,
                simd: Some(level),
                repack: FastSettings::default_repack(),
            })
            .unwrap();
            let mut graph = Graph::new();
            let xi = graph
                .input("x", TensorDesc::new(DType::F32, [n, k]))
                .unwrap();
            let wi = graph
                .constant("w", TensorDesc::new(dtype, [m, k]), w.clone().into())
                .unwrap();
            let y = graph
                .add(Op::MatMul { has_bias: false }, &[xi, wi])
                .unwrap();
            graph.mark_output(y).unwrap();
            let got = b
                .compile(&graph)
                .unwrap()
                .run(&[HostTensor::from_f32([n, k], &x).unwrap()])
                .unwrap()[0]
                .to_f32()
                .unwrap();
            let e = nmse(&want, &got);
            eprintln!("{dtype} {level}: nmse vs ggml {e:.3e}");
            // Both quantize activations to 8 bits (ggml rounds its scales to f16 for Q8_0).
            assert!(e < 1e-4, "{dtype} {level}: nmse vs ggml {e}");
        }
    }
}

#[test]
fn decode_attention_agrees_with_ggml_flash_attention() {
    let s = AttentionShape {
        n: 1,
        n_head: 8,
        n_kv_head: 2,
        head_dim: 64,
        kv_len: 300,
    };
    let width = s.n_kv_head * s.head_dim;
    let k: Vec<half::f16> = noise(3, s.kv_len * width)
        .iter()
        .map(|&v| half::f16::from_f32(v))
        .collect();
    let v: Vec<half::f16> = noise(4, s.kv_len * width)
        .iter()
        .map(|&v| half::f16::from_f32(v))
        .collect();
    let q = noise(5, s.n_head * s.head_dim);
    let scale = 0.125;
    let mut ga = GgmlAttention::new(s, &k, &v, scale, 2).unwrap();
    let want = ga.run(&q).unwrap().to_vec();
    let b = Fast::new(FastSettings {
        threads: 2,
        simd: None,
        repack: FastSettings::default_repack(),
    })
    .unwrap();
    let mut g = Graph::new();
    let qi = g
        .input("q", TensorDesc::new(DType::F32, [1, s.n_head * s.head_dim]))
        .unwrap();
    let pi = g.input("pos", TensorDesc::new(DType::I32, [1])).unwrap();
    let kd = TensorDesc::new(DType::F16, [s.kv_len, width]);
    let ki = g
        .constant("k", kd.clone(), bytemuck::cast_slice(&k).to_vec().into())
        .unwrap();
    let vi = g
        .constant("v", kd, bytemuck::cast_slice(&v).to_vec().into())
        .unwrap();
    let o = g
        .add(
            Op::Attention {
                n_head: s.n_head,
                n_kv_head: s.n_kv_head,
                head_dim: s.head_dim,
                scale,
                causal: false,
                softcap: None,
            },
            &[qi, ki, vi, pi],
        )
        .unwrap();
    g.mark_output(o).unwrap();
    let got = b
        .compile(&g)
        .unwrap()
        .run(&[
            HostTensor::from_f32([1, s.n_head * s.head_dim], &q).unwrap(),
            HostTensor::from_i32([1], &[s.kv_len as i32 - 1]).unwrap(),
        ])
        .unwrap()[0]
        .to_f32()
        .unwrap();
    let e = nmse(&want, &got);
    // ggml's CPU flash attention rounds Q to f16 for its K dot products.
    assert!(e < 1e-5, "nmse vs ggml {e}");
}

#[test]
fn ggml_matmul_copies_each_compute_the_same_product() {
    let (n, m, k) = (2, 32, 256);
    let x = noise(6, n * k);
    let w = quantize(DType::Q4_0, &noise(7, m * k), k).unwrap();
    let want = GgmlMatMul::new(DType::Q4_0, &w, m, k, n, 2)
        .unwrap()
        .run(&x)
        .unwrap()
        .to_vec();
    let mut g = GgmlMatMul::with_copies(DType::Q4_0, &w, m, k, n, 2, 3).unwrap();
    for copy in [2, 0, 1] {
        assert_eq!(g.run_copy(copy, &x).unwrap(), &want[..], "copy {copy}");
    }
    assert!(g.run_copy(3, &x).is_err(), "only copies 0..3 exist");
    assert!(GgmlMatMul::with_copies(DType::Q4_0, &w, m, k, n, 2, 0).is_err());
}
