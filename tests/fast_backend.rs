//! The fast CPU backend against plain loops written here, on every SIMD level the machine
//! has, plus bit-for-bit determinism across runs. (The table-driven conformance suite
//! against the reference backend is `fast_conformance.rs`.)

use edgeplane::backend::cpu::fast::{Fast, FastSettings};
use edgeplane::{Backend, DType, Graph, HostTensor, Op, RopeMode, TensorDesc};
use edgeplane_kernels::cpu::SimdLevel;
use edgeplane_kernels::noise::noise;

fn backends() -> Vec<Fast> {
    SimdLevel::available()
        .into_iter()
        .map(|l| {
            Fast::new(FastSettings {
                threads: 2,
                simd: Some(l),
                repack: FastSettings::default_repack(),
            })
            .expect("available level")
        })
        .collect()
}

/// Q8_0 blocks made by hand (scale amax/127, round to nearest) and their exact values.
fn q8_0(values: &[f32]) -> (Vec<u8>, Vec<f32>) {
    let mut bytes = Vec::new();
    let mut exact = Vec::new();
    for blk in values.chunks(32) {
        let amax = blk.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = half::f16::from_f32(amax / 127.0);
        bytes.extend_from_slice(&d.to_le_bytes());
        for &v in blk {
            let q = if d.to_f32() > 0.0 {
                (v / d.to_f32()).round().clamp(-127.0, 127.0) as i8
            } else {
                0
            };
            bytes.push(q as u8);
            exact.push(f32::from(q) * d.to_f32());
        }
    }
    (bytes, exact)
}

fn max_rel_err(got: &[f32], want: &[f32]) -> f32 {
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    got.iter()
        .zip(want)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

#[allow(clippy::too_many_arguments)]
fn run_matmul(
    backend: &Fast,
    dtype: DType,
    w: Vec<u8>,
    x: &[f32],
    n: usize,
    m: usize,
    k: usize,
    bias: &[f32],
) -> Vec<f32> {
    let mut g = Graph::new();
    let xi = g.input("x", TensorDesc::new(DType::F32, [n, k])).unwrap();
    let wi = g
        .constant("w", TensorDesc::new(dtype, [m, k]), w.into())
        .unwrap();
    let bi = g
        .constant(
            "b",
            TensorDesc::new(DType::F32, [m]),
            bytemuck::cast_slice(bias).to_vec().into(),
        )
        .unwrap();
    let y = g.add(Op::MatMul { has_bias: true }, &[xi, wi, bi]).unwrap();
    g.mark_output(y).unwrap();
    let mut exe = backend.compile(&g).unwrap();
    let out = exe
        .run(&[HostTensor::from_f32([n, k], x).unwrap()])
        .unwrap();
    out[0].to_f32().unwrap()
}

fn naive_matmul(w: &[f32], x: &[f32], n: usize, m: usize, k: usize, bias: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0; n * m];
    for i in 0..n {
        for r in 0..m {
            let s: f64 = (0..k)
                .map(|j| f64::from(w[r * k + j]) * f64::from(x[i * k + j]))
                .sum();
            y[i * m + r] = s as f32 + bias[r];
        }
    }
    y
}

#[test]
fn matmul_f32_and_q8_0_match_loops_on_every_simd_level() {
    let (n, m, k) = (5, 37, 96);
    let x = noise(1, n * k);
    let wf = noise(2, m * k);
    let bias = noise(3, m);
    let (wq, wq_exact) = q8_0(&wf);
    let want_f = naive_matmul(&wf, &x, n, m, k, &bias);
    let want_q = naive_matmul(&wq_exact, &x, n, m, k, &bias);
    for b in backends() {
        let got = run_matmul(
            &b,
            DType::F32,
            bytemuck::cast_slice(&wf).to_vec(),
            &x,
            n,
            m,
            k,
            &bias,
        );
        assert!(
            max_rel_err(&got, &want_f) < 1e-5,
            "{:?} f32",
            b.simd_level()
        );
        let got = run_matmul(&b, DType::Q8_0, wq.clone(), &x, n, m, k, &bias);
        // Activations are quantized to 8 bits on the fly: about 1% of the output scale.
        let e = max_rel_err(&got, &want_q);
        assert!(e < 0.02, "{:?} q8_0 err {e}", b.simd_level());
        assert!(e > 0.0, "q8_0 should show activation rounding");
    }
}

#[test]
fn matmul_is_bit_identical_across_runs() {
    let (n, m, k) = (7, 300, 256);
    let x = noise(4, n * k);
    let (wq, _) = q8_0(&noise(5, m * k));
    let b = Fast::new(FastSettings {
        threads: 2,
        simd: None,
        repack: FastSettings::default_repack(),
    })
    .unwrap();
    let first = run_matmul(&b, DType::Q8_0, wq.clone(), &x, n, m, k, &vec![0.0; m]);
    for _ in 0..5 {
        let again = run_matmul(&b, DType::Q8_0, wq.clone(), &x, n, m, k, &vec![0.0; m]);
        assert_eq!(
            bytemuck::cast_slice::<f32, u32>(&first),
            bytemuck::cast_slice::<f32, u32>(&again)
        );
    }
}

#[test]
fn decode_steps_write_the_cache_and_attend_like_a_direct_softmax() {
    let (n_head, n_kv_head, head_dim, cap) = (4, 2, 16, 600);
    let width = n_kv_head * head_dim;
    let qw = n_head * head_dim;
    for b in backends() {
        for cache_dtype in [DType::F32, DType::F16] {
            let mut g = Graph::new();
            let q = g.input("q", TensorDesc::new(DType::F32, [1, qw])).unwrap();
            let kn = g
                .input("k", TensorDesc::new(DType::F32, [1, width]))
                .unwrap();
            let vn = g
                .input("v", TensorDesc::new(DType::F32, [1, width]))
                .unwrap();
            let pos = g.input("pos", TensorDesc::new(DType::I32, [1])).unwrap();
            let kc = g
                .state("kc", TensorDesc::new(cache_dtype, [cap, width]))
                .unwrap();
            let vc = g
                .state("vc", TensorDesc::new(cache_dtype, [cap, width]))
                .unwrap();
            let k2 = g.add(Op::KvWrite, &[kc, kn, pos]).unwrap();
            let v2 = g.add(Op::KvWrite, &[vc, vn, pos]).unwrap();
            let scale = 0.25;
            let o = g
                .add(
                    Op::Attention {
                        n_head,
                        n_kv_head,
                        head_dim,
                        scale,
                        causal: true,
                        softcap: None,
                    },
                    &[q, k2, v2, pos],
                )
                .unwrap();
            g.mark_output(o).unwrap();
            let mut exe = b.compile(&g).unwrap();
            let steps = 300; // more than one 256-key chunk
            let ks = noise(7, steps * width);
            let vs = noise(8, steps * width);
            let round = |v: f32| {
                if cache_dtype == DType::F16 {
                    half::f16::from_f32(v).to_f32()
                } else {
                    v
                }
            };
            for t in 0..steps {
                let qv = noise(100 + t as u64, qw);
                let out = exe
                    .run(&[
                        HostTensor::from_f32([1, qw], &qv).unwrap(),
                        HostTensor::from_f32([1, width], &ks[t * width..(t + 1) * width]).unwrap(),
                        HostTensor::from_f32([1, width], &vs[t * width..(t + 1) * width]).unwrap(),
                        HostTensor::from_i32([1], &[t as i32]).unwrap(),
                    ])
                    .unwrap()[0]
                    .to_f32()
                    .unwrap();
                if t % 97 != 0 && t != steps - 1 {
                    continue;
                }
                for h in 0..n_head {
                    let kvh = h / (n_head / n_kv_head);
                    let s: Vec<f64> = (0..=t)
                        .map(|j| {
                            (0..head_dim)
                                .map(|d| {
                                    f64::from(qv[h * head_dim + d])
                                        * f64::from(round(ks[j * width + kvh * head_dim + d]))
                                })
                                .sum::<f64>()
                                * scale as f64
                        })
                        .collect();
                    let mx = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = s.iter().map(|v| (v - mx).exp()).collect();
                    let z: f64 = e.iter().sum();
                    for d in 0..head_dim {
                        let want: f64 = (0..=t)
                            .map(|j| e[j] * f64::from(round(vs[j * width + kvh * head_dim + d])))
                            .sum::<f64>()
                            / z;
                        let got = out[h * head_dim + d];
                        assert!(
                            (f64::from(got) - want).abs() < 1e-4,
                            "{:?} {cache_dtype} t={t} h={h} d={d}: {got} vs {want}",
                            b.simd_level()
                        );
                    }
                }
            }
            let state = exe.read_state(kc).unwrap();
            assert_eq!(
                state.to_f32().unwrap()[5 * width + 3],
                round(ks[5 * width + 3])
            );
            // The cache moves to a fresh executable and reads back the same.
            let mut other = b.compile(&g).unwrap();
            other.write_state(kc, &state).unwrap();
            assert_eq!(other.read_state(kc).unwrap(), state);
            exe.reset_state().unwrap();
            assert!(exe
                .read_state(kc)
                .unwrap()
                .to_f32()
                .unwrap()
                .iter()
                .all(|&v| v == 0.0));
        }
    }
}

#[test]
fn row_ops_match_their_definitions() {
    let (n, d) = (3, 64);
    let x = noise(9, n * d);
    let w = noise(10, d);
    let gate = noise(11, n * d);
    let b = Fast::new(FastSettings::default()).unwrap();
    let mut g = Graph::new();
    let xi = g.input("x", TensorDesc::new(DType::F32, [n, d])).unwrap();
    let gi = g.input("g", TensorDesc::new(DType::F32, [n, d])).unwrap();
    let pi = g.input("p", TensorDesc::new(DType::I32, [n])).unwrap();
    let wi = g
        .constant(
            "w",
            TensorDesc::new(DType::F32, [d]),
            bytemuck::cast_slice(&w).to_vec().into(),
        )
        .unwrap();
    let rms = g.add(Op::RmsNorm { eps: 1e-5 }, &[xi, wi]).unwrap();
    let glu = g.add(Op::SwiGlu, &[gi, xi]).unwrap();
    let add = g.add(Op::Add, &[xi, wi]).unwrap();
    let sm = g.add(Op::Softmax { scale: 0.5 }, &[xi]).unwrap();
    let rope = g
        .add(
            Op::Rope {
                mode: RopeMode::Normal,
                head_dim: 32,
                n_dims: 32,
                freq_base: 10000.0,
                freq_scale: 1.0,
            },
            &[xi, pi],
        )
        .unwrap();
    for t in [rms, glu, add, sm, rope] {
        g.mark_output(t).unwrap();
    }
    let mut exe = b.compile(&g).unwrap();
    let pos = [0, 3, 11];
    let out = exe
        .run(&[
            HostTensor::from_f32([n, d], &x).unwrap(),
            HostTensor::from_f32([n, d], &gate).unwrap(),
            HostTensor::from_i32([n], &pos).unwrap(),
        ])
        .unwrap();
    let o: Vec<Vec<f32>> = out.iter().map(|t| t.to_f32().unwrap()).collect();
    for i in 0..n {
        let r = &x[i * d..(i + 1) * d];
        let ms: f32 = r.iter().map(|v| v * v).sum::<f32>() / d as f32;
        let z: f32 = r.iter().map(|v| (v * 0.5).exp()).sum();
        for j in 0..d {
            let at = i * d + j;
            assert!((o[0][at] - r[j] / (ms + 1e-5).sqrt() * w[j]).abs() < 1e-4);
            let gv = gate[at];
            assert!((o[1][at] - gv / (1.0 + (-gv).exp()) * r[j]).abs() < 1e-5);
            assert_eq!(o[2][at], r[j] + w[j]);
            assert!((o[3][at] - (r[j] * 0.5).exp() / z).abs() < 1e-5);
        }
        // RoPE normal mode: pair (0, 1) rotates by pos * base^0.
        let th = pos[i] as f32;
        let want0 = r[0] * th.cos() - r[1] * th.sin();
        assert!((o[4][i * d] - want0).abs() < 1e-4);
    }
}

#[test]
fn bad_positions_are_errors_not_panics() {
    let b = Fast::new(FastSettings::default()).unwrap();
    let mut g = Graph::new();
    let kc = g.state("kc", TensorDesc::new(DType::F32, [4, 8])).unwrap();
    let kn = g.input("k", TensorDesc::new(DType::F32, [1, 8])).unwrap();
    let pos = g.input("pos", TensorDesc::new(DType::I32, [1])).unwrap();
    let k2 = g.add(Op::KvWrite, &[kc, kn, pos]).unwrap();
    g.mark_output(k2).unwrap();
    let mut exe = b.compile(&g).unwrap();
    let r = exe.run(&[
        HostTensor::from_f32([1, 8], &[0.0; 8]).unwrap(),
        HostTensor::from_i32([1], &[4]).unwrap(),
    ]);
    assert!(matches!(r, Err(edgeplane::Error::InvalidInput(_))), "{r:?}");
    assert!(Fast::new(FastSettings {
        threads: 1,
        simd: Some(SimdLevel::Scalar),
        repack: FastSettings::default_repack(),
    })
    .is_ok());
}

/// `values` quantized to `dtype`; formats without a quantizer get random blocks (from
/// `seed`) with small f16 scales (at ggml's offsets).
fn weights(dtype: DType, values: &[f32], seed: u64) -> Vec<u8> {
    edgeplane_kernels::quant::quantize(dtype, values).unwrap_or_else(|_| {
        let scale_offsets: &[usize] = match dtype {
            DType::Q2K => &[80, 82],
            DType::Q3K => &[108],
            DType::Q5K | DType::Q4_1 | DType::Q5_1 | DType::Q4K => &[0, 2],
            _ => &[0],
        };
        let blocks = values.len() / dtype.block_size();
        let mut bytes: Vec<u8> = noise(seed, blocks * dtype.block_bytes())
            .iter()
            .map(|v| ((v + 1.0) * 127.9) as u8)
            .collect();
        for blk in bytes.chunks_exact_mut(dtype.block_bytes()) {
            for &o in scale_offsets {
                blk[o..o + 2].copy_from_slice(&half::f16::from_f32(0.01).to_le_bytes());
            }
        }
        bytes
    })
}

#[test]
fn every_weight_dtype_matmul_and_get_rows_match_dequantized_loops() {
    use edgeplane_kernels::quant::dequantize;
    let (n, m, k) = (5, 9, 512);
    let x = noise(20, n * k);
    let wf = noise(21, m * k);
    let bias = vec![0.0; m];
    for dtype in DType::WEIGHTS {
        let w = weights(dtype, &wf, 22);
        let exact = dequantize(dtype, &w, m * k).unwrap();
        let want = naive_matmul(&exact, &x, n, m, k, &bias);
        for b in backends() {
            let got = run_matmul(&b, dtype, w.clone(), &x, n, m, k, &bias);
            let num: f64 = got
                .iter()
                .zip(&want)
                .map(|(a, c)| f64::from(a - c).powi(2))
                .sum();
            let den: f64 = want.iter().map(|c| f64::from(*c).powi(2)).sum();
            assert!(
                num / den < 1e-4,
                "{dtype} {:?}: nmse {}",
                b.simd_level(),
                num / den
            );
        }
        let b = &backends()[0];
        let mut g = Graph::new();
        let t = g
            .constant("t", TensorDesc::new(dtype, [m, k]), w.clone().into())
            .unwrap();
        let ids = g.input("ids", TensorDesc::new(DType::I32, [3])).unwrap();
        let rows = g.add(Op::GetRows, &[t, ids]).unwrap();
        g.mark_output(rows).unwrap();
        let out = b
            .compile(&g)
            .unwrap()
            .run(&[HostTensor::from_i32([3], &[8, 0, 3]).unwrap()])
            .unwrap()[0]
            .to_f32()
            .unwrap();
        for (i, r) in [8usize, 0, 3].into_iter().enumerate() {
            assert_eq!(
                out[i * k..(i + 1) * k],
                exact[r * k..(r + 1) * k],
                "{dtype} row {r}"
            );
        }
    }
}

#[test]
fn repacked_weights_give_the_unpacked_results() {
    use edgeplane_kernels::quant::dequantize;
    // 48 rows = three 16-row tiles; n covers decode, a few rows (one partial group of four)
    // and prefill sizes. Every quantized format has tiles (at some level); the 32-block
    // formats also at 896 and 576 values per row, whose last tile column is padded (and
    // whose decode takes the raw rows).
    let m = 48;
    let cases = DType::WEIGHTS
        .into_iter()
        .filter(|d| d.is_quantized())
        .flat_map(|d| {
            let padded: &[usize] = if d.block_size() == 32 {
                &[896, 576]
            } else {
                &[]
            };
            std::iter::once((d, 512)).chain(padded.iter().map(move |&k| (d, k)))
        });
    for (dtype, k) in cases {
        let w = weights(dtype, &noise(31, m * k), 34);
        let exact = dequantize(dtype, &w, m * k).unwrap();
        let bias = noise(32, m);
        for level in SimdLevel::available() {
            let make = |repack| {
                Fast::new(FastSettings {
                    threads: 2,
                    simd: Some(level),
                    repack,
                })
                .expect("available level")
            };
            let (packed, plain) = (make(true), make(false));
            assert!(packed.info().features.contains(&"repack=on".to_string()));
            assert!(plain.info().features.contains(&"repack=off".to_string()));
            for n in [1, 5, 40] {
                let x = noise(33 + n as u64, n * k);
                let got = run_matmul(&packed, dtype, w.clone(), &x, n, m, k, &bias);
                let base = run_matmul(&plain, dtype, w.clone(), &x, n, m, k, &bias);
                // Same integer dots, scales folded in another order: float rounding only.
                assert!(
                    max_rel_err(&got, &base) < 1e-5,
                    "{dtype} k={k} {level} n={n}: {}",
                    max_rel_err(&got, &base)
                );
                let want = naive_matmul(&exact, &x, n, m, k, &bias);
                assert!(
                    max_rel_err(&got, &want) < 2e-2,
                    "{dtype} k={k} {level} n={n} vs f32 loops"
                );
                assert_eq!(
                    got,
                    run_matmul(&packed, dtype, w.clone(), &x, n, m, k, &bias),
                    "bit-identical run to run"
                );
            }
        }
    }
}

/// An executable keeps each tensor's f32 buffer for its next run: a run after others
/// (with other inputs) gives exactly what a freshly compiled executable gives.
#[test]
fn runs_after_other_runs_match_a_fresh_executable() {
    let (n, d) = (5, 256);
    let (wq, _) = q8_0(&noise(21, d * d));
    let norm_w = noise(22, d);
    let graph = || {
        let mut g = Graph::new();
        let xi = g.input("x", TensorDesc::new(DType::F32, [n, d])).unwrap();
        let wi = g
            .constant("w", TensorDesc::new(DType::Q8_0, [d, d]), wq.clone().into())
            .unwrap();
        let nw = g
            .constant(
                "nw",
                TensorDesc::new(DType::F32, [d]),
                bytemuck::cast_slice(&norm_w).to_vec().into(),
            )
            .unwrap();
        let rms = g.add(Op::RmsNorm { eps: 1e-5 }, &[xi, nw]).unwrap();
        let mm = g.add(Op::MatMul { has_bias: false }, &[rms, wi]).unwrap();
        let glu = g.add(Op::SwiGlu, &[mm, xi]).unwrap();
        let sum = g.add(Op::Add, &[glu, xi]).unwrap();
        let sm = g.add(Op::Softmax { scale: 0.5 }, &[sum]).unwrap();
        g.mark_output(mm).unwrap();
        g.mark_output(sm).unwrap();
        g
    };
    let input = |seed| vec![HostTensor::from_f32([n, d], &noise(seed, n * d)).unwrap()];
    let bits = |out: Vec<HostTensor>| -> Vec<Vec<u8>> { out.into_iter().map(|t| t.data).collect() };
    for b in backends() {
        let mut kept = b.compile(&graph()).unwrap();
        let first = bits(kept.run(&input(1)).unwrap());
        let other = bits(kept.run(&input(2)).unwrap());
        let again = bits(kept.run(&input(1)).unwrap());
        assert_eq!(
            first, again,
            "same inputs, same outputs after a run with others"
        );
        let fresh = bits(b.compile(&graph()).unwrap().run(&input(2)).unwrap());
        assert_eq!(other, fresh, "a reused executable matches a fresh one");
        assert_ne!(first, other, "the inputs differ, so must the outputs");
    }
}

/// Matmuls convert their activations into one buffer the executable keeps: a matmul that
/// follows one of another format, width and padding (Q4_K at 512, then Q8_0 at 224, whose
/// tiles pad it to 256) gives exactly what the same matmul gives alone, run after run.
#[test]
fn a_matmul_after_others_matches_it_alone() {
    let (n, k1, m1, m2) = (3, 512, 224, 48);
    let w1 = weights(DType::Q4K, &noise(31, m1 * k1), 31);
    let w2 = weights(DType::Q8_0, &noise(32, m2 * m1), 32);
    let matmul = |g: &mut Graph, x, dtype, w: &Vec<u8>, m, k| {
        let wi = g
            .constant("w", TensorDesc::new(dtype, [m, k]), w.clone().into())
            .unwrap();
        g.add(Op::MatMul { has_bias: false }, &[x, wi]).unwrap()
    };
    let mut chain = Graph::new();
    let x = chain
        .input("x", TensorDesc::new(DType::F32, [n, k1]))
        .unwrap();
    let y1 = matmul(&mut chain, x, DType::Q4K, &w1, m1, k1);
    let y2 = matmul(&mut chain, y1, DType::Q8_0, &w2, m2, m1);
    chain.mark_output(y1).unwrap();
    chain.mark_output(y2).unwrap();
    let mut alone = Graph::new();
    let x2 = alone
        .input("y1", TensorDesc::new(DType::F32, [n, m1]))
        .unwrap();
    let y = matmul(&mut alone, x2, DType::Q8_0, &w2, m2, m1);
    alone.mark_output(y).unwrap();
    for b in backends() {
        let mut chained = b.compile(&chain).unwrap();
        let mut single = b.compile(&alone).unwrap();
        for seed in [1, 2, 1] {
            let out = chained
                .run(&[HostTensor::from_f32([n, k1], &noise(seed, n * k1)).unwrap()])
                .unwrap();
            let first = HostTensor::new(out[0].desc.clone(), out[0].data.clone()).unwrap();
            let direct = single.run(&[first]).unwrap();
            assert_eq!(
                out[1].data,
                direct[0].data,
                "{}: the second matmul equals it alone (seed {seed})",
                b.info().driver
            );
        }
    }
}
