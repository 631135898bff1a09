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

#[test]
fn every_weight_dtype_matmul_and_get_rows() {
    for settings in both_variants() {
        let Some(backend) = backend(&settings) else {
            return;
        };
        for dtype in DType::WEIGHTS {
            check_dtype(&backend, dtype);
        }
    }
}
