//! A weight larger than the binding limit is split by rows across bindings and dispatches
//! and still gives the right matmul (decode and prefill kernels) and embedding lookup.
//! The limit is lowered through `WgpuSettings::max_binding_bytes` so the test stays small.

mod wgpu_support;

use edgeplane::backend::wgpu::WgpuSettings;
use edgeplane::{Backend, Bytes, DType, Graph, HostTensor, Op, TensorDesc};
use wgpu_support::*;

#[test]
fn split_weight_matmul_and_get_rows_are_correct() {
    let settings = WgpuSettings {
        max_binding_bytes: Some(4096),
        ..WgpuSettings::default()
    };
    let Some(backend) = backend(&settings) else {
        return;
    };
    assert_eq!(backend.gpu().max_binding_bytes, 4096);
    let (m, k) = (203, 64); // Q8_0 rows of 68 bytes: 13804 bytes, 4 bindings of <= 4096
    let wv = values(m * k, 41);
    let wq = quantize_q8_0(&wv);
    assert!(wq.len() as u64 > 3 * backend.gpu().max_binding_bytes);
    let wf = dequantize_q8_0(&wq);
    let bias = values(m, 43);
    for n in [2usize, 17] {
        let x = values(n * k, 42 + n as u64);
        let mut g = Graph::new();
        let xi = g.input("x", TensorDesc::new(DType::F32, [n, k])).unwrap();
        let w = g
            .constant(
                "w",
                TensorDesc::new(DType::Q8_0, [m, k]),
                Bytes::from_vec(wq.clone()),
            )
            .unwrap();
        let b = g
            .constant(
                "b",
                TensorDesc::new(DType::F32, [m]),
                Bytes::from_vec(bytemuck::cast_slice(&bias).to_vec()),
            )
            .unwrap();
        let ids = g.input("ids", TensorDesc::new(DType::I32, [4])).unwrap();
        let y = g.add(Op::MatMul { has_bias: true }, &[xi, w, b]).unwrap();
        let rows = g.add(Op::GetRows, &[w, ids]).unwrap();
        g.mark_output(y).unwrap();
        g.mark_output(rows).unwrap();
        let mut exe = backend.compile(&g).unwrap();
        let id_values = [202i32, 0, 61, 120];
        let out = exe
            .run(&[
                HostTensor::from_f32([n, k], &x).unwrap(),
                HostTensor::from_i32([4], &id_values).unwrap(),
            ])
            .unwrap();
        let mut want = matmul_ref(&x, &wf, n, k, m);
        for (i, v) in want.iter_mut().enumerate() {
            *v += bias[i % m];
        }
        let e = nmse(&out[0].to_f32().unwrap(), &want);
        assert!(e < 1e-10, "split matmul n={n}: nmse {e:e}");
        let want_rows: Vec<f32> = id_values
            .iter()
            .flat_map(|&r| wf[r as usize * k..(r as usize + 1) * k].to_vec())
            .collect();
        assert_eq!(out[1].to_f32().unwrap(), want_rows, "split get_rows");
    }
}
