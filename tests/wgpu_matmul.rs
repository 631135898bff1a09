//! Matmul on the wgpu backend against plain f64 loops over the dequantized weights, for
//! decode (n <= 8) and prefill (tiled) shapes, with and without bias, default and fallback
//! shader variants.

mod wgpu_support;

use edgeplane::{Backend, Bytes, DType, Graph, HostTensor, Op, TensorDesc};
use wgpu_support::*;

fn weights(dtype: DType, m: usize, k: usize, seed: u64) -> (Vec<u8>, Vec<f32>) {
    let v = values(m * k, seed);
    match dtype {
        DType::F32 => (bytemuck::cast_slice(&v).to_vec(), v),
        DType::Q8_0 => {
            let b = quantize_q8_0(&v);
            let d = dequantize_q8_0(&b);
            (b, d)
        }
        DType::Q4_0 => {
            let b = quantize_q4_0(&v);
            let d = dequantize_q4_0(&b);
            (b, d)
        }
        _ => unreachable!("test covers f32, q8_0, q4_0"),
    }
}

fn check(backend: &dyn Backend, dtype: DType, n: usize, k: usize, m: usize, bias: bool) {
    let (wb, wf) = weights(dtype, m, k, 7 + m as u64);
    let x = values(n * k, 3);
    let b = values(m, 11);
    let mut g = Graph::new();
    let xi = g.input("x", TensorDesc::new(DType::F32, [n, k])).unwrap();
    let wi = g
        .constant("w", TensorDesc::new(dtype, [m, k]), Bytes::from_vec(wb))
        .unwrap();
    let mut ins = vec![xi, wi];
    if bias {
        let bytes = bytemuck::cast_slice(&b).to_vec();
        ins.push(
            g.constant(
                "b",
                TensorDesc::new(DType::F32, [m]),
                Bytes::from_vec(bytes),
            )
            .unwrap(),
        );
    }
    let y = g.add(Op::MatMul { has_bias: bias }, &ins).unwrap();
    g.mark_output(y).unwrap();
    let mut exe = backend.compile(&g).unwrap();
    let out = exe
        .run(&[HostTensor::from_f32([n, k], &x).unwrap()])
        .unwrap();
    let got = out[0].to_f32().unwrap();
    let mut want = matmul_ref(&x, &wf, n, k, m);
    if bias {
        for t in 0..n {
            for r in 0..m {
                want[t * m + r] += b[r];
            }
        }
    }
    let e = nmse(&got, &want);
    assert!(
        e < 1e-10,
        "{dtype} n={n} k={k} m={m} bias={bias}: nmse {e:e}"
    );
}

#[test]
fn matmul_f32_q8_0_q4_0_decode_and_prefill() {
    for settings in both_variants() {
        let Some(backend) = backend(&settings) else {
            return;
        };
        for dtype in [DType::F32, DType::Q8_0, DType::Q4_0] {
            check(&backend, dtype, 1, 64, 37, false);
            check(&backend, dtype, 3, 128, 16, true);
            check(&backend, dtype, 19, 96, 41, true);
        }
    }
}
