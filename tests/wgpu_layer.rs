//! A feed-forward block as one graph (rmsnorm → gate/up matmuls → swiglu → down matmul →
//! residual add), so intermediates go through the buffer pool and are reused within one
//! command buffer; checked against the same formulas in f64 loops, decode and prefill.

mod wgpu_support;

use edgeplane::{Backend, Bytes, DType, Graph, HostTensor, Op, TensorDesc};
use wgpu_support::*;

#[test]
fn feed_forward_block_matches_loops() {
    let Some(backend) = backend(&Default::default()) else {
        return;
    };
    let (d, ff) = (64, 96);
    let norm_w = values(d, 1);
    let wg = values(ff * d, 2);
    let wu = values(ff * d, 3);
    let wd = values(d * ff, 4);
    let q = |v: &[f32]| {
        let b = quantize_q8_0(v);
        (dequantize_q8_0(&b), b)
    };
    let ((wgf, wgb), (wuf, wub), (wdf, wdb)) = (q(&wg), q(&wu), q(&wd));
    for n in [1usize, 12] {
        let x = values(n * d, 10 + n as u64);
        let mut g = Graph::new();
        let xi = g.input("x", TensorDesc::new(DType::F32, [n, d])).unwrap();
        let nw = g
            .constant(
                "norm",
                TensorDesc::new(DType::F32, [d]),
                Bytes::from_vec(bytemuck::cast_slice(&norm_w).to_vec()),
            )
            .unwrap();
        let gate_w = g
            .constant(
                "gate",
                TensorDesc::new(DType::Q8_0, [ff, d]),
                Bytes::from_vec(wgb.clone()),
            )
            .unwrap();
        let up_w = g
            .constant(
                "up",
                TensorDesc::new(DType::Q8_0, [ff, d]),
                Bytes::from_vec(wub.clone()),
            )
            .unwrap();
        let down_w = g
            .constant(
                "down",
                TensorDesc::new(DType::Q8_0, [d, ff]),
                Bytes::from_vec(wdb.clone()),
            )
            .unwrap();
        let h = g.add(Op::RmsNorm { eps: 1e-6 }, &[xi, nw]).unwrap();
        let gate = g.add(Op::MatMul { has_bias: false }, &[h, gate_w]).unwrap();
        let up = g.add(Op::MatMul { has_bias: false }, &[h, up_w]).unwrap();
        let act = g.add(Op::SwiGlu, &[gate, up]).unwrap();
        let down = g
            .add(Op::MatMul { has_bias: false }, &[act, down_w])
            .unwrap();
        let y = g.add(Op::Add, &[down, xi]).unwrap();
        g.mark_output(y).unwrap();
        let mut exe = backend.compile(&g).unwrap();
        let input = [HostTensor::from_f32([n, d], &x).unwrap()];
        let got = exe.run(&input).unwrap()[0].to_f32().unwrap();
        let again = exe.run(&input).unwrap()[0].to_f32().unwrap();
        assert_eq!(got, again, "a second run gives the same result");

        let mut hv = vec![0f32; n * d];
        for t in 0..n {
            let row = &x[t * d..(t + 1) * d];
            let ms: f64 = row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / d as f64;
            for c in 0..d {
                hv[t * d + c] = (row[c] as f64 / (ms + 1e-6).sqrt() * norm_w[c] as f64) as f32;
            }
        }
        let gv = matmul_ref(&hv, &wgf, n, d, ff);
        let uv = matmul_ref(&hv, &wuf, n, d, ff);
        let av: Vec<f32> = gv
            .iter()
            .zip(&uv)
            .map(|(&a, &b)| (a as f64 / (1.0 + (-a as f64).exp()) * b as f64) as f32)
            .collect();
        let dv = matmul_ref(&av, &wdf, n, ff, d);
        let want: Vec<f32> = dv.iter().zip(&x).map(|(a, b)| a + b).collect();
        let e = nmse(&got, &want);
        assert!(e < 1e-9, "feed-forward n={n}: nmse {e:e}");
    }
}
