//! The model runner on the CPU backends (and wgpu for the last-token logits): batch and
//! step modes agree, the KV cache carries a sequence across calls, and bad models and
//! requests fail with errors that name the problem.

use edgeplane::backend::cpu::fast::{Fast, FastSettings};
use edgeplane::model::testing::{build_test_model, TestModelSpec};
use edgeplane::model::{MemorySource, MetaValue, Model, Session, SessionOptions};
use edgeplane::{Backend, Error};
use std::sync::Arc;

#[path = "wgpu_support/mod.rs"]
mod wgpu_support;

fn fast() -> Arc<dyn Backend> {
    Arc::new(
        Fast::new(FastSettings {
            threads: 2,
            simd: None,
            repack: FastSettings::default_repack(),
        })
        .expect("fast backend"),
    )
}

fn model(spec: &TestModelSpec) -> Arc<Model> {
    let source = build_test_model(spec).expect("test model");
    Arc::new(Model::from_source(&source).expect("model loads"))
}

/// Normalized mean squared error of `got` against `want`.
fn nmse(got: &[f32], want: &[f32]) -> f64 {
    edgeplane::conformance::nmse(want, got)
}

const TOKENS: [u32; 7] = [1, 300, 17, 42, 399, 5, 260];

#[test]
fn batch_and_step_agree_and_state_carries_over() {
    for spec in [TestModelSpec::tiny_llama(), TestModelSpec::tiny_qwen2()] {
        let m = model(&spec);
        let backend = fast();
        let mut batch =
            Session::new(m.clone(), backend.clone(), SessionOptions::default()).unwrap();
        let all = batch.eval(&TOKENS).unwrap();
        assert_eq!(all.len(), TOKENS.len() * m.vocab_size());
        assert!(all.iter().all(|v| v.is_finite()));

        let mut step = Session::new(m.clone(), backend.clone(), SessionOptions::default()).unwrap();
        let stepped = step.eval_steps(&TOKENS).unwrap();
        let e = nmse(&stepped, &all);
        assert!(e < 1e-6, "{:?}: batch vs step NMSE {e:e}", spec.arch);

        // Prefill 4, then decode the rest one by one: the cache moves (or is replayed).
        let mut mixed = Session::new(m.clone(), backend, SessionOptions::default()).unwrap();
        let mut got = mixed.eval(&TOKENS[..4]).unwrap();
        for &t in &TOKENS[4..] {
            got.extend(mixed.eval(&[t]).unwrap());
        }
        assert_eq!(mixed.position(), TOKENS.len());
        let e = nmse(&got, &all);
        assert!(
            e < 1e-6,
            "{:?}: prefill+decode vs batch NMSE {e:e}",
            spec.arch
        );

        // A different prefix gives different logits for the same last token (attention
        // really reads the cache).
        let mut other = Session::new(m.clone(), fast(), SessionOptions::default()).unwrap();
        let mut tokens = TOKENS;
        tokens[0] = 2;
        let changed = other.eval(&tokens).unwrap();
        let v = m.vocab_size();
        let tail = (TOKENS.len() - 1) * v;
        assert!(nmse(&changed[tail..], &all[tail..]) > 1e-4);
    }
}

#[test]
fn context_overflow_is_reported_with_the_limit() {
    let m = model(&TestModelSpec::tiny_llama());
    let options = SessionOptions {
        context: Some(8),
        ..SessionOptions::default()
    };
    let mut s = Session::new(m, fast(), options).unwrap();
    s.eval(&TOKENS).unwrap();
    match s.eval(&[1, 2]) {
        Err(Error::ContextOverflow { needed, limit }) => assert_eq!((needed, limit), (9, 8)),
        other => panic!("expected a context overflow, got {other:?}"),
    }
    // The sequence is intact and the last position still fits.
    s.eval(&[3]).unwrap();
    s.reset().unwrap();
    assert_eq!(s.position(), 0);
}

#[test]
fn token_ids_outside_the_vocabulary_are_refused() {
    let m = model(&TestModelSpec::tiny_llama());
    let vocab = m.vocab_size() as u32;
    let mut s = Session::new(m, fast(), SessionOptions::default()).unwrap();
    let err = s.eval(&[1, vocab]).unwrap_err().to_string();
    assert!(err.contains(&format!("token id {vocab}")), "{err}");
}

fn load_error(source: &MemorySource) -> String {
    Model::from_source(source).unwrap_err().to_string()
}

#[test]
fn bad_models_name_the_problem() {
    let good = build_test_model(&TestModelSpec::tiny_llama()).unwrap();

    let mut m = good.clone();
    m.set("general.architecture", MetaValue::Str("gptj".into()));
    let err = load_error(&m);
    assert!(err.contains("unsupported architecture \"gptj\""), "{err}");

    let mut m = good.clone();
    assert!(m.remove_tensor("blk.1.ffn_up.weight"));
    let err = load_error(&m);
    assert!(err.contains("missing tensor blk.1.ffn_up.weight"), "{err}");

    let mut m = good.clone();
    m.set("llama.attention.head_count_kv", MetaValue::Int(2));
    let err = load_error(&m);
    assert!(
        err.contains("tensor blk.0.attn_k.weight has shape [256, 256]"),
        "{err}"
    );
    assert!(err.contains("llama.attention.head_count_kv = 2"), "{err}");

    let mut m = good.clone();
    m.metadata.remove("llama.block_count");
    let err = load_error(&m);
    assert!(err.contains("llama.block_count is missing"), "{err}");

    let mut m = good.clone();
    m.set("llama.feed_forward_length", MetaValue::Int(384));
    let err = load_error(&m);
    assert!(err.contains("blk.0.ffn_gate.weight"), "{err}");

    let mut m = good.clone();
    m.set("llama.rope.scaling.type", MetaValue::Str("yarn".into()));
    let err = load_error(&m);
    assert!(
        err.contains("llama.rope.scaling.type = \"yarn\": only linear RoPE scaling"),
        "{err}"
    );

    let mut m = good.clone();
    m.set("llama.expert_count", MetaValue::Int(8));
    let err = load_error(&m);
    assert!(
        err.contains("llama.expert_count = 8: mixture-of-experts"),
        "{err}"
    );

    let mut m = good.clone();
    m.set("llama.rope.scaling.factor", MetaValue::Float(-2.0));
    let err = load_error(&m);
    assert!(err.contains("llama.rope.scaling.factor = -2"), "{err}");

    let mut m = good;
    m.add_tensor(
        "rope_freqs.weight",
        edgeplane::TensorDesc::new(edgeplane::DType::F32, [32]),
        edgeplane::Bytes::from_vec(1f32.to_le_bytes().repeat(32)),
    );
    let err = load_error(&m);
    assert!(err.contains("rope_freqs.weight"), "{err}");
}

#[test]
fn linear_rope_scaling_sets_the_position_scale() {
    let spec = TestModelSpec {
        rope_scaling_factor: Some(4.0),
        ..TestModelSpec::tiny_llama()
    };
    assert_eq!(model(&spec).config.rope_freq_scale, 0.25);
    // The older key and an explicit "none" (which ignores the factor), as llama.cpp reads them.
    let mut m = build_test_model(&TestModelSpec::tiny_llama()).unwrap();
    m.set("llama.rope.scale_linear", MetaValue::Float(2.0));
    assert_eq!(Model::from_source(&m).unwrap().config.rope_freq_scale, 0.5);
    m.set("llama.rope.scaling.type", MetaValue::Str("none".into()));
    assert_eq!(Model::from_source(&m).unwrap().config.rope_freq_scale, 1.0);
}

/// A prompt that asks for its last token's logits only runs a graph that projects just
/// that row: the same logits as the full batch's last row, and decoding goes on from it
/// (the KV caches move from that graph to the one-token one) as after a full batch. On
/// both CPU backends and, where there is an adapter, wgpu.
#[test]
fn last_token_logits_match_the_full_batch_and_decode_on() {
    let mut backends: Vec<Arc<dyn Backend>> = vec![
        fast(),
        Arc::new(edgeplane::backend::cpu::reference::Reference::new()),
    ];
    if let Some(gpu) = wgpu_support::backend(&Default::default()) {
        backends.push(Arc::new(gpu));
    }
    for spec in [TestModelSpec::tiny_llama(), TestModelSpec::tiny_qwen2()] {
        let m = model(&spec);
        let vocab = m.vocab_size();
        for backend in &backends {
            let name = backend.info().backend;
            let session = || Session::new(m.clone(), backend.clone(), SessionOptions::default());
            let mut full = session().unwrap();
            let all = full.eval(&TOKENS[..5]).unwrap();
            let mut last = session().unwrap();
            let only = last.eval_last(&TOKENS[..5]).unwrap();
            assert_eq!(only.len(), vocab);
            let e = nmse(&only, &all[4 * vocab..]);
            assert!(e < 1e-9, "{name} {:?}: last row NMSE {e:e}", spec.arch);
            assert_eq!(last.position(), 5);
            for &t in &TOKENS[5..] {
                let want = full.eval(&[t]).unwrap();
                let got = last.eval(&[t]).unwrap();
                let e = nmse(&got, &want);
                assert!(e < 1e-9, "{name} {:?}: decode after NMSE {e:e}", spec.arch);
            }
        }
    }
}

/// A session keeps at most `MAX_BATCH_GRAPHS` batch graphs (each holds its backend's
/// buffers): prompts of six lengths in a row leave the newest four, and the sequence
/// carries on through the evictions as one batch of all its tokens does.
#[test]
fn old_batch_graphs_are_dropped_and_the_sequence_carries_on() {
    let m = model(&TestModelSpec::tiny_qwen2());
    let vocab = m.vocab_size();
    let tokens: Vec<u32> = (0..21).map(|i| (i * 37 % 250 + 3) as u32).collect();
    let backend = fast();
    let mut chunked = Session::new(m.clone(), backend.clone(), SessionOptions::default()).unwrap();
    let mut at = 0;
    let mut last = Vec::new();
    for len in 1..=6 {
        last = chunked.eval_last(&tokens[at..at + len]).unwrap();
        at += len;
        assert!(
            chunked.compiled_graphs() <= 1 + edgeplane::model::MAX_BATCH_GRAPHS,
            "{} graphs after a prompt of {len}",
            chunked.compiled_graphs()
        );
    }
    assert_eq!(at, tokens.len());
    assert_eq!(
        chunked.compiled_graphs(),
        1 + edgeplane::model::MAX_BATCH_GRAPHS
    );
    let mut whole = Session::new(m, backend, SessionOptions::default()).unwrap();
    let all = whole.eval(&tokens).unwrap();
    let e = nmse(&last, &all[all.len() - vocab..]);
    assert!(e < 1e-6, "chunked prompts vs one batch NMSE {e:e}");
}
