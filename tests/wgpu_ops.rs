//! Norms, rope, elementwise ops, softmax, get_rows, cast, kv_write and attention on the
//! wgpu backend against plain f64 loops written here from each op's contract, for the
//! default and the fallback shader variants. (The cross-backend conformance suite in
//! `wgpu_conformance.rs` compares against the Reference backend as well.)

#![allow(clippy::needless_range_loop)] // index loops mirror the ops' formulas

mod wgpu_support;

use edgeplane::{Backend, Bytes, DType, Graph, HostTensor, Op, RopeMode, TensorDesc};
use wgpu_support::*;

fn f32_desc(shape: &[usize]) -> TensorDesc {
    TensorDesc::new(DType::F32, shape)
}

/// Runs a one-node graph whose inputs are all run-time inputs; returns output as f32.
fn run_op(b: &dyn Backend, op: Op, ins: &[HostTensor]) -> Vec<f32> {
    let mut g = Graph::new();
    let ids: Vec<_> = ins
        .iter()
        .map(|t| g.input("in", t.desc.clone()).unwrap())
        .collect();
    let y = g.add(op, &ids).unwrap();
    g.mark_output(y).unwrap();
    let mut exe = b.compile(&g).unwrap();
    exe.run(ins).unwrap()[0].to_f32().unwrap()
}

fn close(what: &str, got: &[f32], want: &[f32], bound: f64) {
    let e = nmse(got, want);
    assert!(
        e < bound,
        "{what}: nmse {e:e} >= {bound:e}\n got {:?}\nwant {:?}",
        &got[..got.len().min(8)],
        &want[..want.len().min(8)]
    );
}

fn norms_and_elementwise(b: &dyn Backend) {
    let (n, d) = (3, 70);
    let x = values(n * d, 1);
    let w = values(d, 2);
    let bias = values(d, 3);
    let xt = HostTensor::from_f32([n, d], &x).unwrap();
    let wt = HostTensor::from_f32([d], &w).unwrap();
    let bt = HostTensor::from_f32([d], &bias).unwrap();
    let mut rms = vec![0f32; n * d];
    let mut ln = vec![0f32; n * d];
    for r in 0..n {
        let row = &x[r * d..(r + 1) * d];
        let ms: f64 = row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / d as f64;
        let mean: f64 = row.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
        let var: f64 = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / d as f64;
        for c in 0..d {
            rms[r * d + c] = (row[c] as f64 / (ms + 1e-5).sqrt() * w[c] as f64) as f32;
            ln[r * d + c] = ((row[c] as f64 - mean) / (var + 1e-5).sqrt() * w[c] as f64
                + bias[c] as f64) as f32;
        }
    }
    close(
        "rmsnorm",
        &run_op(b, Op::RmsNorm { eps: 1e-5 }, &[xt.clone(), wt.clone()]),
        &rms,
        1e-10,
    );
    close(
        "layernorm",
        &run_op(
            b,
            Op::LayerNorm { eps: 1e-5 },
            &[xt.clone(), wt.clone(), bt],
        ),
        &ln,
        1e-10,
    );

    let up = values(n * d, 4);
    let upt = HostTensor::from_f32([n, d], &up).unwrap();
    let silu: Vec<f32> = x
        .iter()
        .zip(&up)
        .map(|(&g, &u)| (g as f64 / (1.0 + (-g as f64).exp()) * u as f64) as f32)
        .collect();
    let gelu: Vec<f32> = x
        .iter()
        .zip(&up)
        .map(|(&g, &u)| {
            let g = g as f64;
            (0.5 * g * (1.0 + (0.7978845608028654 * (g + 0.044715 * g * g * g)).tanh()) * u as f64)
                as f32
        })
        .collect();
    close(
        "swiglu",
        &run_op(b, Op::SwiGlu, &[xt.clone(), upt.clone()]),
        &silu,
        1e-10,
    );
    close(
        "geglu",
        &run_op(b, Op::GeGlu, &[xt.clone(), upt.clone()]),
        &gelu,
        1e-10,
    );
    let add: Vec<f32> = (0..n * d).map(|i| x[i] + w[i % d]).collect();
    let mul: Vec<f32> = (0..n * d).map(|i| x[i] * up[i]).collect();
    close(
        "add broadcast",
        &run_op(b, Op::Add, &[xt.clone(), wt]),
        &add,
        1e-12,
    );
    close("mul", &run_op(b, Op::Mul, &[xt.clone(), upt]), &mul, 1e-12);

    let mut sm = vec![0f32; n * d];
    for r in 0..n {
        let row: Vec<f64> = x[r * d..(r + 1) * d]
            .iter()
            .map(|&v| v as f64 * 2.5)
            .collect();
        let m = row.iter().cloned().fold(f64::MIN, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        for c in 0..d {
            sm[r * d + c] = ((row[c] - m).exp() / s) as f32;
        }
    }
    close(
        "softmax",
        &run_op(b, Op::Softmax { scale: 2.5 }, &[xt]),
        &sm,
        1e-10,
    );
}

fn rope(b: &dyn Backend) {
    let (n, heads, head_dim, n_dims) = (3, 2, 16, 12);
    let x = values(n * heads * head_dim, 5);
    let pos = [0i32, 7, 300];
    for mode in [RopeMode::Normal, RopeMode::Neox] {
        let mut want = x.clone();
        for t in 0..n {
            for h in 0..heads {
                let base = (t * heads + h) * head_dim;
                for i in 0..n_dims / 2 {
                    let theta =
                        pos[t] as f64 * 0.5 * 10000f64.powf(-2.0 * i as f64 / n_dims as f64);
                    let (a, c) = match mode {
                        RopeMode::Normal => (base + 2 * i, base + 2 * i + 1),
                        RopeMode::Neox => (base + i, base + i + n_dims / 2),
                    };
                    let (x0, x1) = (x[a] as f64, x[c] as f64);
                    want[a] = (x0 * theta.cos() - x1 * theta.sin()) as f32;
                    want[c] = (x0 * theta.sin() + x1 * theta.cos()) as f32;
                }
            }
        }
        let op = Op::Rope {
            mode,
            head_dim,
            n_dims,
            freq_base: 10000.0,
            freq_scale: 0.5,
        };
        let ins = [
            HostTensor::from_f32([n, heads * head_dim], &x).unwrap(),
            HostTensor::from_i32([n], &pos).unwrap(),
        ];
        close(&format!("rope {mode:?}"), &run_op(b, op, &ins), &want, 1e-9);
    }
}

fn get_rows_and_cast(b: &dyn Backend) {
    let (vocab, d) = (5, 64);
    let table = values(vocab * d, 6);
    let q = quantize_q8_0(&table);
    let deq = dequantize_q8_0(&q);
    let ids = [3i32, 0, 4, 3];
    let mut g = Graph::new();
    let t = g
        .constant(
            "emb",
            TensorDesc::new(DType::Q8_0, [vocab, d]),
            Bytes::from_vec(q),
        )
        .unwrap();
    let i = g
        .input("ids", TensorDesc::new(DType::I32, [ids.len()]))
        .unwrap();
    let y = g.add(Op::GetRows, &[t, i]).unwrap();
    let h = g.add(Op::Cast { to: DType::F16 }, &[y]).unwrap();
    let back = g.add(Op::Cast { to: DType::F32 }, &[h]).unwrap();
    let bf = g.add(Op::Cast { to: DType::BF16 }, &[y]).unwrap();
    for o in [y, h, back, bf] {
        g.mark_output(o).unwrap();
    }
    let out = b
        .compile(&g)
        .unwrap()
        .run(&[HostTensor::from_i32([ids.len()], &ids).unwrap()])
        .unwrap();
    let want: Vec<f32> = ids
        .iter()
        .flat_map(|&r| deq[r as usize * d..(r as usize + 1) * d].to_vec())
        .collect();
    assert_eq!(out[0].to_f32().unwrap(), want, "get_rows q8_0");
    let want_h: Vec<u8> = want
        .iter()
        .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
        .collect();
    assert_eq!(out[1].data, want_h, "cast f32 -> f16 bits");
    let back_want: Vec<f32> = want
        .iter()
        .map(|v| half::f16::from_f32(*v).to_f32())
        .collect();
    assert_eq!(out[2].to_f32().unwrap(), back_want, "cast f16 -> f32");
    let want_bf: Vec<u8> = want
        .iter()
        .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
        .collect();
    assert_eq!(out[3].data, want_bf, "cast f32 -> bf16 bits");
}

/// kv_write then attention over the cache, two runs (prefill 3 rows, then decode 1),
/// GQA 4 query heads over 2 KV heads, causal and not, f32 and f16 caches.
fn attention(b: &dyn Backend) {
    let (n_head, n_kv, hd, cap) = (4, 2, 8, 16);
    for kv_dtype in [DType::F32, DType::F16] {
        for causal in [true, false] {
            let op = Op::Attention {
                n_head,
                n_kv_head: n_kv,
                head_dim: hd,
                scale: 0.35,
                causal,
                softcap: None,
            };
            let mut g = Graph::new();
            let kc2 = g
                .state("k", TensorDesc::new(kv_dtype, [cap, n_kv * hd]))
                .unwrap();
            let vc2 = g
                .state("v", TensorDesc::new(kv_dtype, [cap, n_kv * hd]))
                .unwrap();
            let rows = 3;
            let q = g.input("q", f32_desc(&[rows, n_head * hd])).unwrap();
            let kn = g.input("k_new", f32_desc(&[rows, n_kv * hd])).unwrap();
            let vn = g.input("v_new", f32_desc(&[rows, n_kv * hd])).unwrap();
            let pos = g.input("pos", TensorDesc::new(DType::I32, [rows])).unwrap();
            let k = g.add(Op::KvWrite, &[kc2, kn, pos]).unwrap();
            let v = g.add(Op::KvWrite, &[vc2, vn, pos]).unwrap();
            let y = g.add(op.clone(), &[q, k, v, pos]).unwrap();
            g.mark_output(y).unwrap();
            let mut exe = b.compile(&g).unwrap();
            let mut kcache = vec![0f32; cap * n_kv * hd];
            let mut vcache = kcache.clone();
            for (step, positions) in [[0i32, 1, 2], [3, 4, 5]].iter().enumerate() {
                let qv = values(rows * n_head * hd, 10 + step as u64);
                let kv_new = values(rows * n_kv * hd, 20 + step as u64);
                let vv_new = values(rows * n_kv * hd, 30 + step as u64);
                let round = |v: f32| {
                    if kv_dtype == DType::F16 {
                        half::f16::from_f32(v).to_f32()
                    } else {
                        v
                    }
                };
                for (r, &p) in positions.iter().enumerate() {
                    for c in 0..n_kv * hd {
                        kcache[p as usize * n_kv * hd + c] = round(kv_new[r * n_kv * hd + c]);
                        vcache[p as usize * n_kv * hd + c] = round(vv_new[r * n_kv * hd + c]);
                    }
                }
                let ins = [
                    HostTensor::from_f32([rows, n_head * hd], &qv).unwrap(),
                    HostTensor::from_f32([rows, n_kv * hd], &kv_new).unwrap(),
                    HostTensor::from_f32([rows, n_kv * hd], &vv_new).unwrap(),
                    HostTensor::from_i32([rows], positions).unwrap(),
                ];
                let got = exe.run(&ins).unwrap()[0].to_f32().unwrap();
                let max_pos = *positions.iter().max().unwrap() as usize;
                let mut want = vec![0f32; rows * n_head * hd];
                for i in 0..rows {
                    let last = if causal {
                        positions[i] as usize
                    } else {
                        max_pos
                    };
                    for h in 0..n_head {
                        let kvh = h / (n_head / n_kv);
                        let scores: Vec<f64> = (0..=last)
                            .map(|j| {
                                (0..hd)
                                    .map(|d| {
                                        qv[(i * n_head + h) * hd + d] as f64
                                            * kcache[j * n_kv * hd + kvh * hd + d] as f64
                                    })
                                    .sum::<f64>()
                                    * 0.35
                            })
                            .collect();
                        let m = scores.iter().cloned().fold(f64::MIN, f64::max);
                        let s: f64 = scores.iter().map(|x| (x - m).exp()).sum();
                        for d in 0..hd {
                            let o: f64 = (0..=last)
                                .map(|j| {
                                    (scores[j] - m).exp() / s
                                        * vcache[j * n_kv * hd + kvh * hd + d] as f64
                                })
                                .sum();
                            want[(i * n_head + h) * hd + d] = o as f32;
                        }
                    }
                }
                close(
                    &format!("attention {kv_dtype} causal={causal} step {step}"),
                    &got,
                    &want,
                    1e-10,
                );
            }
            let kstate = exe.read_state(kc2).unwrap();
            assert_eq!(
                kstate.to_f32().unwrap(),
                kcache,
                "k cache after two runs ({kv_dtype})"
            );
            // write_state then read_state round-trips; reset_state zeroes.
            let mut moved = kstate.clone();
            moved.data.reverse();
            exe.write_state(vc2, &moved).unwrap();
            assert_eq!(
                exe.read_state(vc2).unwrap().data,
                moved.data,
                "write_state ({kv_dtype})"
            );
            exe.reset_state().unwrap();
            assert!(
                exe.read_state(kc2).unwrap().data.iter().all(|&b| b == 0),
                "reset_state"
            );
        }
    }
}

/// Decode (n = 1) over a long cache takes the split-KV path (several splits plus the
/// combine pass); caches filled through write_state.
fn attention_split_kv(b: &dyn Backend) {
    let (n_head, n_kv, hd, cap, pos) = (4, 2, 8, 700, 650usize);
    for kv_dtype in [DType::F32, DType::F16] {
        let op = Op::Attention {
            n_head,
            n_kv_head: n_kv,
            head_dim: hd,
            scale: 0.3,
            causal: true,
            softcap: Some(2.0),
        };
        let mut g = Graph::new();
        let kc = g
            .state("k", TensorDesc::new(kv_dtype, [cap, n_kv * hd]))
            .unwrap();
        let vc = g
            .state("v", TensorDesc::new(kv_dtype, [cap, n_kv * hd]))
            .unwrap();
        let q = g.input("q", f32_desc(&[1, n_head * hd])).unwrap();
        let p = g.input("pos", TensorDesc::new(DType::I32, [1])).unwrap();
        let y = g.add(op, &[q, kc, vc, p]).unwrap();
        g.mark_output(y).unwrap();
        let mut exe = b.compile(&g).unwrap();
        let kvals = values(cap * n_kv * hd, 61);
        let vvals = values(cap * n_kv * hd, 62);
        let as_state = |v: &[f32]| {
            let t = HostTensor::from_f32([cap, n_kv * hd], v).unwrap();
            let data = edgeplane_kernels::quant::quantize(kv_dtype, &t.to_f32().unwrap()).unwrap();
            HostTensor::new(TensorDesc::new(kv_dtype, [cap, n_kv * hd]), data).unwrap()
        };
        let (ks, vs) = (as_state(&kvals), as_state(&vvals));
        exe.write_state(kc, &ks).unwrap();
        exe.write_state(vc, &vs).unwrap();
        let (kf, vf) = (ks.to_f32().unwrap(), vs.to_f32().unwrap());
        let qv = values(n_head * hd, 63);
        let ins = [
            HostTensor::from_f32([1, n_head * hd], &qv).unwrap(),
            HostTensor::from_i32([1], &[pos as i32]).unwrap(),
        ];
        let got = exe.run(&ins).unwrap()[0].to_f32().unwrap();
        let mut want = vec![0f32; n_head * hd];
        for h in 0..n_head {
            let kvh = h / (n_head / n_kv);
            let scores: Vec<f64> = (0..=pos)
                .map(|j| {
                    let s = (0..hd)
                        .map(|d| qv[h * hd + d] as f64 * kf[j * n_kv * hd + kvh * hd + d] as f64)
                        .sum::<f64>()
                        * 0.3;
                    2.0 * (s / 2.0).tanh()
                })
                .collect();
            let m = scores.iter().cloned().fold(f64::MIN, f64::max);
            let sum: f64 = scores.iter().map(|x| (x - m).exp()).sum();
            for d in 0..hd {
                let o: f64 = (0..=pos)
                    .map(|j| (scores[j] - m).exp() / sum * vf[j * n_kv * hd + kvh * hd + d] as f64)
                    .sum();
                want[h * hd + d] = o as f32;
            }
        }
        close(
            &format!("split-KV attention {kv_dtype}"),
            &got,
            &want,
            1e-10,
        );
    }
}

#[test]
fn ops_match_plain_loops() {
    for settings in both_variants() {
        let Some(backend) = backend(&settings) else {
            return;
        };
        norms_and_elementwise(&backend);
        rope(&backend);
        get_rows_and_cast(&backend);
        attention(&backend);
        attention_split_kv(&backend);
    }
}
