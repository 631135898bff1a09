//! The conformance harness proven on the reference backend itself: matmul and attention
//! against values computed here with independent loops (not through the code under test),
//! the whole Quick table against itself, and backends that are wrong or panic, which the
//! harness must report as failing with their NMSE.

use edgeplane::backend::cpu::reference::Reference;
use edgeplane::conformance::{
    cases, nmse, run_case, run_case_against, run_suite, Case, CaseFilter, Tier,
};
use edgeplane::{
    Backend, DType, DeviceInfo, Executable, Graph, HostTensor, Op, OpKind, Result, TensorDesc,
};
use half::f16;

/// Tiny deterministic values for the hand-checked graphs.
fn values(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32)
        .map(|i| ((i * 37 + seed * 11) % 17) as f32 / 8.0 - 1.0)
        .collect()
}

fn run(graph: &Graph, inputs: &[HostTensor]) -> Vec<f32> {
    let mut exe = Reference::new().compile(graph).unwrap();
    exe.run(inputs).unwrap()[0].to_f32().unwrap()
}

#[test]
fn matmul_f32_with_bias_matches_hand_loops() {
    let (n, k, m) = (3, 5, 4);
    let x = values(n * k, 1);
    let w = values(m * k, 2);
    let b = values(m, 3);
    let mut g = Graph::new();
    let xi = g.input("x", TensorDesc::new(DType::F32, [n, k])).unwrap();
    let bytes: Vec<u8> = w.iter().flat_map(|v| v.to_le_bytes()).collect();
    let wi = g
        .constant("w", TensorDesc::new(DType::F32, [m, k]), bytes.into())
        .unwrap();
    let bi = g.input("b", TensorDesc::new(DType::F32, [m])).unwrap();
    let y = g.add(Op::MatMul { has_bias: true }, &[xi, wi, bi]).unwrap();
    g.mark_output(y).unwrap();
    let got = run(
        &g,
        &[
            HostTensor::from_f32([n, k], &x).unwrap(),
            HostTensor::from_f32([m], &b).unwrap(),
        ],
    );
    for i in 0..n {
        for j in 0..m {
            let mut want = b[j] as f64;
            for t in 0..k {
                want += x[i * k + t] as f64 * w[j * k + t] as f64;
            }
            assert!((got[i * m + j] as f64 - want).abs() < 1e-6, "y[{i},{j}]");
        }
    }
}

/// Q8_0 blocks built by hand (f16 scale, 32 signed bytes); the expected product uses
/// `d * q` directly, not the dequantizer.
#[test]
fn matmul_q8_0_matches_hand_dequantized_loops() {
    let (n, k, m) = (2, 64, 3);
    let x = values(n * k, 4);
    let mut bytes = Vec::new();
    let mut w = vec![0.0f64; m * k];
    for row in 0..m {
        for block in 0..k / 32 {
            let d = f16::from_f32(0.01 * (row + block + 1) as f32);
            bytes.extend_from_slice(&d.to_le_bytes());
            for i in 0..32 {
                let q = ((row * 31 + block * 7 + i * 13) % 255) as i32 - 127;
                bytes.push(q as i8 as u8);
                w[row * k + block * 32 + i] = d.to_f64() * q as f64;
            }
        }
    }
    let mut g = Graph::new();
    let xi = g.input("x", TensorDesc::new(DType::F32, [n, k])).unwrap();
    let wi = g
        .constant("w", TensorDesc::new(DType::Q8_0, [m, k]), bytes.into())
        .unwrap();
    let y = g.add(Op::MatMul { has_bias: false }, &[xi, wi]).unwrap();
    g.mark_output(y).unwrap();
    let got = run(&g, &[HostTensor::from_f32([n, k], &x).unwrap()]);
    for i in 0..n {
        for j in 0..m {
            let want: f64 = (0..k).map(|t| x[i * k + t] as f64 * w[j * k + t]).sum();
            assert!((got[i * m + j] as f64 - want).abs() < 1e-5 * want.abs().max(1.0));
        }
    }
}

/// Causal GQA attention over an F16 cache filled by KvWrite across two runs (a prefill of 3
/// tokens, then one decode step), against a plain softmax written here.
#[test]
fn causal_gqa_attention_over_kv_write_matches_hand_loops() {
    let (n_head, n_kv, hd, cap) = (4, 2, 4, 6);
    let (q_w, kv_w) = (n_head * hd, n_kv * hd);
    let scale = 0.5f32;
    let mut g = Graph::new();
    let cache = TensorDesc::new(DType::F16, [cap, kv_w]);
    let kc = g.state("k", cache.clone()).unwrap();
    let vc = g.state("v", cache).unwrap();
    let q = g.input("q", TensorDesc::new(DType::F32, [1, q_w])).unwrap();
    let kn = g
        .input("k_new", TensorDesc::new(DType::F32, [1, kv_w]))
        .unwrap();
    let vn = g
        .input("v_new", TensorDesc::new(DType::F32, [1, kv_w]))
        .unwrap();
    let pos = g.input("pos", TensorDesc::new(DType::I32, [1])).unwrap();
    let k = g.add(Op::KvWrite, &[kc, kn, pos]).unwrap();
    let v = g.add(Op::KvWrite, &[vc, vn, pos]).unwrap();
    let op = Op::Attention {
        n_head,
        n_kv_head: n_kv,
        head_dim: hd,
        scale,
        causal: true,
        softcap: None,
    };
    let y = g.add(op, &[q, k, v, pos]).unwrap();
    g.mark_output(y).unwrap();
    let mut exe = Reference::new().compile(&g).unwrap();
    // Keys and values as the f16 cache holds them.
    let round =
        |v: Vec<f32>| -> Vec<f32> { v.iter().map(|&x| f16::from_f32(x).to_f32()).collect() };
    let (mut keys, mut vals) = (Vec::new(), Vec::new());
    for step in 0..4usize {
        let qv = values(q_w, 10 + step as u32);
        let kv = values(kv_w, 20 + step as u32);
        let vv = values(kv_w, 30 + step as u32);
        keys.push(round(kv.clone()));
        vals.push(round(vv.clone()));
        let out = exe
            .run(&[
                HostTensor::from_f32([1, q_w], &qv).unwrap(),
                HostTensor::from_f32([1, kv_w], &kv).unwrap(),
                HostTensor::from_f32([1, kv_w], &vv).unwrap(),
                HostTensor::from_i32([1], &[step as i32]).unwrap(),
            ])
            .unwrap()[0]
            .to_f32()
            .unwrap();
        for h in 0..n_head {
            let kvh = h / (n_head / n_kv);
            let qh = &qv[h * hd..(h + 1) * hd];
            let scores: Vec<f64> = keys
                .iter()
                .map(|kr| {
                    let dot: f64 = (0..hd)
                        .map(|d| qh[d] as f64 * kr[kvh * hd + d] as f64)
                        .sum();
                    dot * scale as f64
                })
                .collect();
            let max = scores.iter().cloned().fold(f64::MIN, f64::max);
            let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let total: f64 = e.iter().sum();
            for d in 0..hd {
                let want: f64 = (0..keys.len())
                    .map(|j| e[j] / total * vals[j][kvh * hd + d] as f64)
                    .sum();
                let got = out[h * hd + d] as f64;
                assert!(
                    (got - want).abs() < 1e-6,
                    "step {step} head {h} dim {d}: {got} vs {want}"
                );
            }
        }
    }
    // The cache keeps what was written, rounded to f16, and nothing past position 3.
    let state = exe.read_state(kc).unwrap().to_f32().unwrap();
    assert_eq!(&state[3 * kv_w..4 * kv_w], keys[3].as_slice());
    assert!(state[4 * kv_w..].iter().all(|&x| x == 0.0));
}

#[test]
fn nmse_is_error_energy_over_signal_energy() {
    assert_eq!(nmse(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
    assert!((nmse(&[3.0, 4.0], &[3.0, 5.0]) - 1.0 / 25.0).abs() < 1e-12);
    assert_eq!(nmse(&[0.0], &[0.0]), 0.0);
    assert_eq!(nmse(&[0.0], &[1.0]), f64::INFINITY);
    assert_eq!(nmse(&[1.0], &[1.0, 2.0]), f64::INFINITY);
    assert!(nmse(&[1.0], &[f32::NAN]).is_nan());
}

/// The whole Quick table on the reference against itself: every case builds, runs, and is
/// bit-identical, and the table covers every op and weight dtype.
#[test]
fn quick_table_on_reference_is_exact() {
    let all = cases(&CaseFilter::default());
    let report = run_suite(&Reference::new(), &all);
    report.assert_all_pass();
    assert!(report.results.iter().all(|r| r.nmse == 0.0), "{report}");
    for kind in OpKind::ALL {
        let filter = CaseFilter {
            ops: Some(vec![kind]),
            ..CaseFilter::default()
        };
        assert!(!cases(&filter).is_empty(), "no case for {kind}");
    }
    for dtype in DType::WEIGHTS {
        let filter = CaseFilter {
            ops: Some(vec![OpKind::MatMul]),
            dtypes: Some(vec![dtype]),
            tier: Tier::Quick,
        };
        assert_eq!(
            cases(&filter).len(),
            5,
            "matmul n = 1, 2, 7, 64 and the whole-tile shape for {dtype}"
        );
    }
    let full = cases(&CaseFilter {
        tier: Tier::Full,
        ..CaseFilter::default()
    });
    assert!(full.len() > all.len());
    assert!(full.iter().any(|c| c.name.contains("/kv4096/")));
}

/// A backend that is the reference with every f32 output scaled by `1 + error`: the NMSE of
/// such an output is exactly `error²`.
struct Scaled {
    error: f32,
    panic: bool,
}

struct ScaledExecutable {
    inner: Box<dyn Executable>,
    error: f32,
}

impl Backend for Scaled {
    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            backend: "scaled".into(),
            ..Reference::new().info()
        }
    }
    fn supports(&self, op: &Op, inputs: &[TensorDesc]) -> bool {
        Reference::new().supports(op, inputs)
    }
    fn compile(&self, graph: &Graph) -> Result<Box<dyn Executable>> {
        assert!(!self.panic, "deliberate panic in compile");
        let inner = Reference::new().compile(graph)?;
        Ok(Box::new(ScaledExecutable {
            inner,
            error: self.error,
        }))
    }
}

impl Executable for ScaledExecutable {
    fn run(&mut self, inputs: &[HostTensor]) -> Result<Vec<HostTensor>> {
        let mut outputs = self.inner.run(inputs)?;
        for out in &mut outputs {
            if out.desc.dtype == DType::F32 {
                let scaled: Vec<f32> = out
                    .to_f32()?
                    .iter()
                    .map(|v| v * (1.0 + self.error))
                    .collect();
                out.data = bytemuck::cast_slice(&scaled).to_vec();
            }
        }
        Ok(outputs)
    }
    fn reset_state(&mut self) -> Result<()> {
        self.inner.reset_state()
    }
}

#[test]
fn a_wrong_backend_fails_with_its_nmse() {
    let all = cases(&CaseFilter::default());
    let report = run_suite(
        &Scaled {
            error: 0.1,
            panic: false,
        },
        &all,
    );
    let f32_cases: Vec<&Case> = all
        .iter()
        .filter(|c| c.graph.tensor(c.graph.outputs()[0]).desc.dtype == DType::F32)
        .collect();
    assert_eq!(report.failures().len(), f32_cases.len(), "{report}");
    for f in report.failures() {
        assert_eq!(f.backend, "scaled");
        assert!(f.error.is_none());
        assert!((f.nmse - 0.01).abs() < 1e-4, "{}: nmse {}", f.case, f.nmse);
    }
    let worst = report.worst().unwrap();
    assert!(!worst.passed());
    let message = std::panic::catch_unwind(|| report.assert_all_pass())
        .expect_err("assert_all_pass must panic on failures");
    let text = message.downcast_ref::<String>().unwrap();
    assert!(
        text.contains("matmul/q4_K/n7/m37k256 on scaled: nmse 1.000e-2 (bound 5e-4)"),
        "{text}"
    );
    assert!(report.to_string().contains("failed; worst:"));
}

#[test]
fn a_small_error_passes_loose_bounds_and_fails_tight_ones() {
    // 1% error: NMSE 1e-4, under the matmul bound 5e-4, over the rmsnorm bound 1e-6.
    let backend = Scaled {
        error: 0.01,
        panic: false,
    };
    let matmul = cases(&CaseFilter {
        ops: Some(vec![OpKind::MatMul]),
        ..Default::default()
    });
    let result = run_case(&backend, &matmul[0]);
    assert!(
        result.passed() && (result.nmse - 1e-4).abs() < 1e-6,
        "{result:?}"
    );
    let norm = cases(&CaseFilter {
        ops: Some(vec![OpKind::RmsNorm]),
        ..Default::default()
    });
    assert!(!run_case(&backend, &norm[0]).passed());
}

#[test]
fn a_panicking_backend_is_a_failed_result_not_a_panic() {
    let some = cases(&CaseFilter {
        ops: Some(vec![OpKind::Add]),
        ..Default::default()
    });
    let result = run_case(
        &Scaled {
            error: 0.0,
            panic: true,
        },
        &some[0],
    );
    assert!(!result.passed());
    assert!(
        result
            .error
            .as_deref()
            .unwrap()
            .contains("deliberate panic"),
        "{result:?}"
    );
}

#[test]
fn cases_are_deterministic_and_filters_do_not_change_inputs() {
    let a = cases(&CaseFilter::default());
    let b = cases(&CaseFilter {
        dtypes: Some(vec![DType::Q4_0]),
        ..Default::default()
    });
    assert!(!b.is_empty() && b.iter().all(|c| c.name.contains("q4_0")));
    for case in &b {
        let same = a.iter().find(|c| c.name == case.name).unwrap();
        assert_eq!(same.inputs, case.inputs);
    }
}

#[test]
fn one_reference_output_checks_many_backends() {
    let some = cases(&CaseFilter {
        ops: Some(vec![OpKind::Attention]),
        ..Default::default()
    });
    let expected = some[0].expected().unwrap();
    let good = run_case_against(&Reference::new(), &some[0], &expected);
    assert!(good.passed() && good.nmse == 0.0, "{good:?}");
    let bad = run_case_against(
        &Scaled {
            error: 0.5,
            panic: false,
        },
        &some[0],
        &expected,
    );
    assert!(!bad.passed() && (bad.nmse - 0.25).abs() < 1e-6, "{bad:?}");
}
