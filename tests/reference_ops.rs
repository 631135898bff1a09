//! The reference backend's ops against hand-computed numbers, its typed errors for bad
//! run-time input, and its state handling.

use edgeplane::backend::cpu::reference::Reference;
use edgeplane::{Backend, DType, Error, Graph, HostTensor, Op, RopeMode, TensorDesc, TensorId};

fn one_op(op: Op, descs: &[TensorDesc]) -> Graph {
    let mut g = Graph::new();
    let ids: Vec<TensorId> = descs
        .iter()
        .enumerate()
        .map(|(i, d)| g.input(format!("in{i}"), d.clone()).unwrap())
        .collect();
    let y = g.add(op, &ids).unwrap();
    g.mark_output(y).unwrap();
    g
}

fn run(g: &Graph, inputs: &[HostTensor]) -> edgeplane::Result<Vec<f32>> {
    let mut exe = Reference::new().compile(g)?;
    exe.run(inputs)?[0].to_f32()
}

fn f32s(shape: &[usize]) -> TensorDesc {
    TensorDesc::new(DType::F32, shape)
}

fn close(got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((*g as f64 - w).abs() < 1e-6, "[{i}] {g} vs {w}");
    }
}

fn rope(mode: RopeMode, head_dim: usize, n_dims: usize, x: &[f32], pos: i32) -> Vec<f32> {
    let op = Op::Rope {
        mode,
        head_dim,
        n_dims,
        freq_base: 10000.0,
        freq_scale: 1.0,
    };
    let g = one_op(op, &[f32s(&[1, x.len()]), TensorDesc::new(DType::I32, [1])]);
    let inputs = [
        HostTensor::from_f32([1, x.len()], x).unwrap(),
        HostTensor::from_i32([1], &[pos]).unwrap(),
    ];
    run(&g, &inputs).unwrap()
}

/// head_dim 4, base 10000: pair 0 turns by p, pair 1 by p·10000^(-1/2) = p/100.
#[test]
fn rope_normal_and_neox_rotate_the_hand_computed_pairs() {
    let (c1, s1, c2, s2) = (1f64.cos(), 1f64.sin(), 0.01f64.cos(), 0.01f64.sin());
    // Normal pairs (0,1), (2,3).
    close(
        &rope(RopeMode::Normal, 4, 4, &[1.0, 0.0, 0.0, 1.0], 1),
        &[c1, s1, -s2, c2],
    );
    // Neox pairs (0,2), (1,3).
    close(
        &rope(RopeMode::Neox, 4, 4, &[1.0, 0.0, 0.0, 1.0], 1),
        &[c1, -s2, s1, c2],
    );
    // n_dims 2 of head_dim 4: only pair (0,1) turns, by p; dims 2 and 3 pass through; two heads.
    let x = [1.0, 0.0, 5.0, 6.0, 0.0, 1.0, 7.0, 8.0];
    let (c3, s3) = (3f64.cos(), 3f64.sin());
    close(
        &rope(RopeMode::Normal, 4, 2, &x, 3),
        &[c3, s3, 5.0, 6.0, -s3, c3, 7.0, 8.0],
    );
    // Position 0 is the identity.
    close(
        &rope(RopeMode::Neox, 4, 4, &[1.0, 2.0, 3.0, 4.0], 0),
        &[1.0, 2.0, 3.0, 4.0],
    );
}

#[test]
fn rms_norm_layer_norm_and_softmax_match_hand_values() {
    // x = [3, 4]: mean square 12.5.
    let g = one_op(Op::RmsNorm { eps: 0.0 }, &[f32s(&[1, 2]), f32s(&[2])]);
    let inputs = [
        HostTensor::from_f32([1, 2], &[3.0, 4.0]).unwrap(),
        HostTensor::from_f32([2], &[1.0, 2.0]).unwrap(),
    ];
    let r = 12.5f64.sqrt();
    close(&run(&g, &inputs).unwrap(), &[3.0 / r, 8.0 / r]);
    // x = [1, 3]: mean 2, variance 1.
    let g = one_op(
        Op::LayerNorm { eps: 0.0 },
        &[f32s(&[1, 2]), f32s(&[2]), f32s(&[2])],
    );
    let inputs = [
        HostTensor::from_f32([1, 2], &[1.0, 3.0]).unwrap(),
        HostTensor::from_f32([2], &[2.0, 3.0]).unwrap(),
        HostTensor::from_f32([2], &[0.5, -0.5]).unwrap(),
    ];
    close(&run(&g, &inputs).unwrap(), &[-1.5, 2.5]);
    // softmax of 2·[0, 1, 2] per row, the second row shifted by 100 (same answer).
    let g = one_op(Op::Softmax { scale: 2.0 }, &[f32s(&[2, 3])]);
    let inputs = [HostTensor::from_f32([2, 3], &[0.0, 1.0, 2.0, 100.0, 101.0, 102.0]).unwrap()];
    let total = 1.0 + 2f64.exp() + 4f64.exp();
    let row = [1.0 / total, 2f64.exp() / total, 4f64.exp() / total];
    close(&run(&g, &inputs).unwrap(), &[row, row].concat());
}

#[test]
fn gated_activations_and_broadcasts_match_hand_values() {
    let pair = [f32s(&[1, 2]), f32s(&[1, 2])];
    let inputs = [
        HostTensor::from_f32([1, 2], &[1.0, -2.0]).unwrap(),
        HostTensor::from_f32([1, 2], &[3.0, 0.5]).unwrap(),
    ];
    let silu = |g: f64| g / (1.0 + (-g).exp());
    close(
        &run(&one_op(Op::SwiGlu, &pair), &inputs).unwrap(),
        &[3.0 * silu(1.0), 0.5 * silu(-2.0)],
    );
    let gelu = |g: f64| 0.5 * g * (1.0 + (0.7978845608028654 * (g + 0.044715 * g * g * g)).tanh());
    close(
        &run(&one_op(Op::GeGlu, &pair), &inputs).unwrap(),
        &[3.0 * gelu(1.0), 0.5 * gelu(-2.0)],
    );
    let g = one_op(Op::Mul, &[f32s(&[2, 2]), f32s(&[2])]);
    let inputs = [
        HostTensor::from_f32([2, 2], &[1.0, 2.0, 3.0, 4.0]).unwrap(),
        HostTensor::from_f32([2], &[10.0, -1.0]).unwrap(),
    ];
    close(&run(&g, &inputs).unwrap(), &[10.0, -2.0, 30.0, -4.0]);
}

/// A graph: KvWrite into a cache of 4 rows, then attention of one query.
fn cache_graph() -> (Graph, TensorId) {
    let mut g = Graph::new();
    let cache = g.state("k", TensorDesc::new(DType::F32, [4, 2])).unwrap();
    let q = g.input("q", f32s(&[1, 2])).unwrap();
    let new = g.input("new", f32s(&[1, 2])).unwrap();
    let pos = g.input("pos", TensorDesc::new(DType::I32, [1])).unwrap();
    let kv = g.add(Op::KvWrite, &[cache, new, pos]).unwrap();
    let op = Op::Attention {
        n_head: 1,
        n_kv_head: 1,
        head_dim: 2,
        scale: 1.0,
        causal: true,
        softcap: None,
    };
    let y = g.add(op, &[q, kv, kv, pos]).unwrap();
    g.mark_output(y).unwrap();
    (g, cache)
}

fn cache_inputs(pos: i32) -> Vec<HostTensor> {
    vec![
        HostTensor::from_f32([1, 2], &[1.0, 0.0]).unwrap(),
        HostTensor::from_f32([1, 2], &[pos as f32, 1.0]).unwrap(),
        HostTensor::from_i32([1], &[pos]).unwrap(),
    ]
}

#[test]
fn bad_positions_ids_and_inputs_are_typed_errors() {
    let (g, cache) = cache_graph();
    let mut exe = Reference::new().compile(&g).unwrap();
    for pos in [4, -1, i32::MAX, i32::MIN] {
        let err = exe.run(&cache_inputs(pos)).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{pos}: {err}");
        assert!(err.to_string().contains(&pos.to_string()), "{err}");
    }
    // A refused write leaves the cache untouched.
    let state = exe.read_state(cache).unwrap().to_f32().unwrap();
    assert!(state.iter().all(|&x| x == 0.0));
    let err = exe.run(&cache_inputs(0)[..2]).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let mut wrong = cache_inputs(0);
    wrong[0] = HostTensor::from_f32([2, 1], &[1.0, 0.0]).unwrap();
    assert!(matches!(exe.run(&wrong), Err(Error::InvalidInput(_))));
    // GetRows with an id past the table.
    let mut g = Graph::new();
    let table = g
        .constant("t", f32s(&[3, 2]), vec![0u8; 24].into())
        .unwrap();
    let ids = g.input("ids", TensorDesc::new(DType::I32, [1])).unwrap();
    let y = g.add(Op::GetRows, &[table, ids]).unwrap();
    g.mark_output(y).unwrap();
    let err = run(&g, &[HostTensor::from_i32([1], &[3]).unwrap()]).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
}

#[test]
fn state_persists_between_runs_and_resets_to_zero() {
    let (g, cache) = cache_graph();
    let mut exe = Reference::new().compile(&g).unwrap();
    exe.run(&cache_inputs(0)).unwrap();
    exe.run(&cache_inputs(2)).unwrap();
    let state = exe.read_state(cache).unwrap().to_f32().unwrap();
    assert_eq!(state, [0.0, 1.0, 0.0, 0.0, 2.0, 1.0, 0.0, 0.0]);
    // Query [1, 0] at position 2 over keys [0,1], [0,0], [2,1]: scores 0, 0, 2.
    let out = exe.run(&cache_inputs(2)).unwrap()[0].to_f32().unwrap();
    let e2 = 2f64.exp();
    let total = 2.0 + e2;
    close(&out, &[2.0 * e2 / total, (1.0 + e2) / total]);
    exe.reset_state().unwrap();
    let state = exe.read_state(cache).unwrap().to_f32().unwrap();
    assert!(state.iter().all(|&x| x == 0.0));
    // write_state then read_state round-trips; a wrong description is refused.
    let value = HostTensor::from_f32([4, 2], &[1.0; 8]).unwrap();
    exe.write_state(cache, &value).unwrap();
    assert_eq!(exe.read_state(cache).unwrap(), value);
    let wrong = HostTensor::from_f32([2, 4], &[1.0; 8]).unwrap();
    assert!(matches!(
        exe.write_state(cache, &wrong),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        exe.read_state(TensorId(1)),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn casts_round_to_nearest_even_and_back() {
    let g = one_op(Op::Cast { to: DType::F16 }, &[f32s(&[1, 3])]);
    let mut exe = Reference::new().compile(&g).unwrap();
    // 1 + 2^-11 is halfway between f16 neighbours 1 and 1 + 2^-10: ties go to even (1).
    let x = [1.0 + 2f32.powi(-11), 1.0 + 3.0 * 2f32.powi(-11), 65504.0];
    let out = exe
        .run(&[HostTensor::from_f32([1, 3], &x).unwrap()])
        .unwrap();
    assert_eq!(out[0].desc.dtype, DType::F16);
    assert_eq!(
        out[0].to_f32().unwrap(),
        [1.0, 1.0 + 2.0 * 2f32.powi(-10), 65504.0]
    );
}
