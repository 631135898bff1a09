//! Matmul (decode and prefill kernels) and get_rows for every weight dtype, on random block
//! bytes, against f64 loops over weights dequantized by the test's own ggml-order
//! dequantizers. Default and fallback shader variants.

mod wgpu_support;

use edgeplane::{Backend, Bytes, DType, Graph, HostTensor, Op, TensorDesc};
use wgpu_support::ggml_dequant::{dequantize, random_bytes};
use wgpu_support::*;

fn check_dtype(backend: &dyn Backend, dtype: DType) {
    let (m, k) = (9, 512);
    let wb = random_bytes(dtype, m * k, 5 + dtype.ggml_type() as u64);
    let wf = dequantize(dtype, &wb);
    assert_eq!(wf.len(), m * k);
    // The test's dequantizer agrees with the crate's (edgeplane_kernels::quant).
    let canonical = edgeplane_kernels::quant::dequantize(dtype, &wb, m * k).unwrap();
    assert_eq!(
        wf, canonical,
        "test dequantizer vs edgeplane_kernels for {dtype}"
    );
    for n in [1usize, 3, 10] {
        let x = values(n * k, 77 + n as u64);
        let ids = [8i32, 0, 4];
        let mut g = Graph::new();
        let xi = g.input("x", TensorDesc::new(DType::F32, [n, k])).unwrap();
        let ii = g.input("ids", TensorDesc::new(DType::I32, [3])).unwrap();
        let w = g
            .constant(
                "w",
                TensorDesc::new(dtype, [m, k]),
                Bytes::from_vec(wb.clone()),
            )
            .unwrap();
        let y = g.add(Op::MatMul { has_bias: false }, &[xi, w]).unwrap();
        let r = g.add(Op::GetRows, &[w, ii]).unwrap();
        g.mark_output(y).unwrap();
        g.mark_output(r).unwrap();
        let out = backend
            .compile(&g)
            .unwrap()
            .run(&[
                HostTensor::from_f32([n, k], &x).unwrap(),
                HostTensor::from_i32([3], &ids).unwrap(),
            ])
            .unwrap();
        let want = matmul_ref(&x, &wf, n, k, m);
        let e = nmse(&out[0].to_f32().unwrap(), &want);
        assert!(e < 1e-9, "matmul {dtype} n={n}: nmse {e:e}");
        let rows: Vec<f32> = ids
            .iter()
            .flat_map(|&i| wf[i as usize * k..(i as usize + 1) * k].to_vec())
            .collect();
        assert_eq!(out[1].to_f32().unwrap(), rows, "get_rows {dtype}");
    }
}

/// Weights quantized from smooth values by the crate's quantizer (realistic scales), decode
/// and prefill, against the crate's dequantizer. False when the crate has no quantizer for
/// `dtype` (K-quant quantizers may be missing; their unpacking is covered by random blocks).
fn check_quantized(backend: &dyn Backend, dtype: DType) -> bool {
    let (m, k) = (5, 256);
    let wv = values(m * k, 900 + dtype.ggml_type() as u64);
    let Ok(wb) = edgeplane_kernels::quant::quantize(dtype, &wv) else {
        assert!(dtype.block_size() == 256, "no quantizer for {dtype}");
        return false;
    };
    let wf = edgeplane_kernels::quant::dequantize(dtype, &wb, m * k).unwrap();
    for n in [2usize, 9] {
        let x = values(n * k, 5);
        let mut g = Graph::new();
        let xi = g.input("x", TensorDesc::new(DType::F32, [n, k])).unwrap();
        let w = g
            .constant(
                "w",
                TensorDesc::new(dtype, [m, k]),
                Bytes::from_vec(wb.clone()),
            )
            .unwrap();
        let y = g.add(Op::MatMul { has_bias: false }, &[xi, w]).unwrap();
        g.mark_output(y).unwrap();
        let out = backend
            .compile(&g)
            .unwrap()
            .run(&[HostTensor::from_f32([n, k], &x).unwrap()])
            .unwrap();
        let e = nmse(&out[0].to_f32().unwrap(), &matmul_ref(&x, &wf, n, k, m));
        assert!(e < 1e-9, "quantized {dtype} n={n}: nmse {e:e}");
    }
    true
}

#[test]
fn every_weight_dtype_matmul_and_get_rows() {
    for settings in both_variants() {
        let Some(backend) = backend(&settings) else {
            return;
        };
        let mut quantized = 0;
        for dtype in DType::WEIGHTS {
            check_dtype(&backend, dtype);
            quantized += usize::from(check_quantized(&backend, dtype));
        }
        assert!(quantized >= 8, "only {quantized} dtypes had a quantizer");
    }
}
