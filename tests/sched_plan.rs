//! The planner on synthetic profiles: which device each node lands on as the cost models,
//! transfer costs, state tensors and memory limits change. No backend runs here; the
//! end-to-end tests with throttled backends are in `sched_throttled.rs`.

use edgeplane::sched::class::{BatchClass, OpClass};
use edgeplane::sched::fit::CostModel;
use edgeplane::sched::plan::{plan, Candidate};
use edgeplane::sched::profile::{ClassProfile, DeviceKey, DeviceProfile};
use edgeplane::{Bytes, DType, Graph, Op, OpKind, TensorDesc, TensorId};

const D: usize = 256;

fn weight(g: &mut Graph, name: &str) -> TensorId {
    g.constant(
        name,
        TensorDesc::new(DType::F32, [D, D]),
        Bytes::from_vec(vec![0; D * D * 4]),
    )
    .unwrap()
}

/// x → matmul → rmsnorm → matmul → rmsnorm → output: alternating op classes.
fn chain() -> Graph {
    let mut g = Graph::new();
    let mut x = g.input("x", TensorDesc::new(DType::F32, [1, D])).unwrap();
    let norm_w = g
        .constant(
            "norm",
            TensorDesc::new(DType::F32, [D]),
            Bytes::from_vec(vec![0; D * 4]),
        )
        .unwrap();
    for i in 0..2 {
        let w = weight(&mut g, &format!("w{i}"));
        x = g.add(Op::MatMul { has_bias: false }, &[x, w]).unwrap();
        x = g.add(Op::RmsNorm { eps: 1e-5 }, &[x, norm_w]).unwrap();
    }
    g.mark_output(x).unwrap();
    g
}

fn model(launch_us: f64, us_per_mb: f64) -> Option<CostModel> {
    Some(CostModel {
        launch_us,
        us_per_mb,
        us_per_gflop: 0.0,
    })
}

/// A device whose matmul costs `matmul_us`, rmsnorm `norm_us`, and every partition
/// boundary `segment_us` plus nothing per byte.
fn device(name: &str, matmul_us: f64, norm_us: f64, segment_us: f64, graph: &Graph) -> Candidate {
    let key = DeviceKey {
        backend: name.into(),
        device: name.into(),
        driver: String::new(),
        features: vec![],
    };
    let mut p = DeviceProfile::new(key);
    p.io = model(segment_us, 0.0);
    for (class, us) in [
        (
            OpClass::MatMul {
                weight: DType::F32,
                batch: BatchClass::Decode,
            },
            matmul_us,
        ),
        (OpClass::Small(OpKind::RmsNorm), norm_us),
    ] {
        p.classes.push(ClassProfile {
            class,
            samples: vec![],
            model: model(us, 0.0),
            unsupported: false,
        });
    }
    Candidate {
        name: name.into(),
        profile: p,
        memory_bytes: None,
        supports: vec![true; graph.nodes().len()],
    }
}

fn devices_of(plan: &edgeplane::sched::Plan) -> Vec<&str> {
    (0..plan.nodes.len()).map(|i| plan.device_of(i)).collect()
}

#[test]
fn each_op_class_goes_to_its_faster_device_when_boundaries_are_free() {
    let g = chain();
    let cands = [
        device("a", 10.0, 100.0, 0.0, &g),
        device("b", 100.0, 10.0, 0.0, &g),
    ];
    let p = plan(&g, &cands).unwrap();
    assert_eq!(devices_of(&p), ["a", "b", "a", "b"]);
    assert_eq!(p.segments, 4);
    assert!((p.total_us - 40.0).abs() < 1e-9, "{p}");
    // The runner-up of each node is the other device with its estimate.
    assert_eq!(p.nodes[0].runner_up, Some((1, 100.0)));
}

#[test]
fn the_plan_flips_when_the_speed_ratio_flips() {
    let g = chain();
    let cands = [
        device("a", 100.0, 10.0, 0.0, &g),
        device("b", 10.0, 100.0, 0.0, &g),
    ];
    let p = plan(&g, &cands).unwrap();
    assert_eq!(devices_of(&p), ["b", "a", "b", "a"]);
}

#[test]
fn boundary_costs_keep_a_chain_on_one_device() {
    let g = chain();
    // Splitting saves 90 µs per op but each extra segment costs 500 µs.
    let cands = [
        device("a", 10.0, 100.0, 500.0, &g),
        device("b", 100.0, 10.0, 500.0, &g),
    ];
    let p = plan(&g, &cands).unwrap();
    assert_eq!(p.segments, 1, "{p}");
    assert!((p.total_us - (220.0 + 500.0)).abs() < 1e-9, "{p}");
    // With cheap boundaries the same graph splits.
    let cands = [
        device("a", 10.0, 100.0, 20.0, &g),
        device("b", 100.0, 10.0, 20.0, &g),
    ];
    assert_eq!(plan(&g, &cands).unwrap().segments, 4);
}

#[test]
fn an_unsupported_node_goes_to_the_device_that_supports_it() {
    let g = chain();
    let mut a = device("a", 10.0, 10.0, 0.0, &g);
    a.supports[1] = false;
    let cands = [a, device("b", 100.0, 100.0, 0.0, &g)];
    let p = plan(&g, &cands).unwrap();
    assert_eq!(devices_of(&p), ["a", "b", "a", "a"]);
    let mut a = device("a", 10.0, 10.0, 0.0, &g);
    a.supports[1] = false;
    let err = plan(&g, &[a]).unwrap_err().to_string();
    assert!(err.contains("node 1"), "{err}");
}

#[test]
fn weights_move_off_a_device_without_the_memory_for_them() {
    let g = chain();
    let mut a = device("a", 10.0, 10.0, 0.0, &g);
    // Room for one 256 KiB weight (plus the norm), not two.
    a.memory_bytes = Some((D * D * 4 + D * 4 + 100) as u64);
    let cands = [a, device("b", 20.0, 20.0, 0.0, &g)];
    let p = plan(&g, &cands).unwrap();
    let on_a = p
        .nodes
        .iter()
        .filter(|n| n.class.kind() == OpKind::MatMul && n.device == 0)
        .count();
    assert_eq!(on_a, 1, "{p}");
}

#[test]
fn nodes_sharing_a_kv_cache_stay_together() {
    // q, k, v inputs; k and v written to caches; attention reads both caches.
    let (h, hd, cap) = (2, 16, 8);
    let mut g = Graph::new();
    let f = |n| TensorDesc::new(DType::F32, [1, n]);
    let q = g.input("q", f(h * hd)).unwrap();
    let k = g.input("k", f(h * hd)).unwrap();
    let v = g.input("v", f(h * hd)).unwrap();
    let pos = g.input("pos", TensorDesc::new(DType::I32, [1])).unwrap();
    let kc = g
        .state("kc", TensorDesc::new(DType::F32, [cap, h * hd]))
        .unwrap();
    let vc = g
        .state("vc", TensorDesc::new(DType::F32, [cap, h * hd]))
        .unwrap();
    let kw = g.add(Op::KvWrite, &[kc, k, pos]).unwrap();
    let vw = g.add(Op::KvWrite, &[vc, v, pos]).unwrap();
    let op = Op::Attention {
        n_head: h,
        n_kv_head: h,
        head_dim: hd,
        scale: 0.25,
        causal: true,
        softcap: None,
    };
    let out = g.add(op, &[q, kw, vw, pos]).unwrap();
    g.mark_output(out).unwrap();
    let mk = |name: &str, kv_us: f64, att_us: f64| {
        let mut c = device(name, 0.0, 0.0, 0.0, &g);
        c.profile.classes.push(ClassProfile {
            class: OpClass::Small(OpKind::KvWrite),
            samples: vec![],
            model: model(kv_us, 0.0),
            unsupported: false,
        });
        c.profile.classes.push(ClassProfile {
            class: OpClass::Attention {
                batch: BatchClass::Decode,
            },
            samples: vec![],
            model: model(att_us, 0.0),
            unsupported: false,
        });
        c
    };
    // a writes faster, b attends faster by more: all three go to b, though the writes alone
    // would prefer a.
    let cands = [mk("a", 1.0, 100.0), mk("b", 30.0, 10.0)];
    let p = plan(&g, &cands).unwrap();
    assert_eq!(devices_of(&p), ["b", "b", "b"], "{p}");
    // ...and when a's attention is the better deal, all three go to a.
    let cands = [mk("a", 1.0, 40.0), mk("b", 30.0, 10.0)];
    let p = plan(&g, &cands).unwrap();
    assert_eq!(devices_of(&p), ["a", "a", "a"], "{p}");
}

#[test]
fn partition_turns_boundary_tensors_into_inputs_and_outputs() {
    use edgeplane::sched::partition::partition;
    let g = chain();
    let nodes = g.nodes();
    let segs = partition(&g, &[0, 1, 1, 0]).unwrap();
    assert_eq!(segs.len(), 3);
    assert_eq!(segs.iter().map(|s| s.device).collect::<Vec<_>>(), [0, 1, 0]);
    assert_eq!(segs[0].inputs, [g.inputs()[0]]);
    assert_eq!(segs[0].outputs, [nodes[0].output]);
    assert_eq!(segs[1].nodes, [1, 2]);
    assert_eq!(segs[1].inputs, [nodes[0].output]);
    assert_eq!(segs[1].outputs, [nodes[2].output]);
    assert_eq!(segs[2].outputs, g.outputs());
    // Each segment holds only the weights its nodes use: the norm twice (shared), w0 and w1 once.
    let constants = |s: &edgeplane::sched::partition::Segment| {
        s.graph
            .tensors()
            .iter()
            .filter(|t| matches!(t.kind, edgeplane::TensorKind::Constant(_)))
            .map(|t| t.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(constants(&segs[0]), ["w0"]);
    assert_eq!(constants(&segs[1]), ["norm", "w1"]);
    assert_eq!(constants(&segs[2]), ["norm"]);
    assert!(partition(&g, &[0, 1]).is_err());
}

#[test]
fn the_explanation_names_device_estimate_and_runner_up_per_node() {
    let g = chain();
    let cands = [
        device("a", 10.0, 100.0, 500.0, &g),
        device("b", 100.0, 10.0, 500.0, &g),
    ];
    let p = plan(&g, &cands).unwrap();
    let text = p.to_string();
    let lines: Vec<&str> = text.lines().collect();
    // One line per node, then the total and one line per device.
    assert_eq!(lines.len(), 4 + 1 + 2, "{text}");
    assert!(
        lines[0].contains(" a ") && lines[0].contains("10.0 µs"),
        "{text}"
    );
    assert!(lines[0].contains("runner-up b 100.0 µs"), "{text}");
    assert!(lines[4].starts_with("total 720.0 µs"), "{text}");
    assert!(lines[5].contains("all on a: 720.0 µs"), "{text}");
    assert!(lines[6].contains("all on b: 720.0 µs"), "{text}");
    assert!(
        p.why().contains("4 nodes on a in 1 segment(s)"),
        "{}",
        p.why()
    );
}
