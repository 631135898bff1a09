//! llama.cpp as the oracle: the same GGUF file, the same tokens, compared logits and token
//! ids. Needs `--features anchor-ggml` (builds llama.cpp).
//!
//! Bounds: F32 weights must match to NMSE ≤ 1e-5. For quantized weights llama.cpp rounds
//! the activations to 8 bits before each matmul and edgeplane's reference does not, so the
//! logits differ by more than float rounding; the test measures llama.cpp's own batch-vs-step
//! difference as a noise floor, prints both, bounds edgeplane's NMSE by
//! `QUANT_NMSE_BOUND`, and requires the same argmax on at least 97 % of positions.
#![cfg(feature = "anchor-ggml")]

use edgeplane::anchor::llama::LlamaModel;
use edgeplane::backend::cpu::fast::{Fast, FastSettings};
use edgeplane::model::testing::{
    build_test_model, write_gguf, Rng, TestModelSpec, TestVocab, WeightTypes,
};
use edgeplane::model::{Architecture, Model, Session, SessionOptions};
use edgeplane::tokenizer::Tokenizer;
use edgeplane::{Backend, DType};
use std::sync::Arc;

/// Largest NMSE against llama.cpp allowed for quantized weights (measured values are
/// printed by the test and recorded in the report).
const QUANT_NMSE_BOUND: f64 = 1e-2;
const F32_NMSE_BOUND: f64 = 1e-5;
const N_TOKENS: usize = 64;

fn nmse(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len());
    let err: f64 = got
        .iter()
        .zip(want)
        .map(|(g, w)| ((g - w) as f64).powi(2))
        .sum();
    let energy: f64 = want.iter().map(|w| (*w as f64).powi(2)).sum();
    err / energy.max(1e-30)
}

fn argmax_agreement(a: &[f32], b: &[f32], vocab: usize) -> f64 {
    let argmax = |row: &[f32]| {
        row.iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                if v > best.1 {
                    (i, v)
                } else {
                    best
                }
            })
            .0
    };
    let rows = a.len() / vocab;
    let same = (0..rows)
        .filter(|&r| {
            argmax(&a[r * vocab..(r + 1) * vocab]) == argmax(&b[r * vocab..(r + 1) * vocab])
        })
        .count();
    same as f64 / rows as f64
}

fn backends() -> Vec<Arc<dyn Backend>> {
    vec![Arc::new(
        Fast::new(FastSettings {
            threads: 2,
            simd: None,
        })
        .expect("fast backend"),
    )]
}

struct Case {
    name: &'static str,
    spec: TestModelSpec,
}

fn cases() -> Vec<Case> {
    let llama = TestModelSpec::tiny_llama();
    let qwen2 = TestModelSpec::tiny_qwen2();
    vec![
        Case {
            name: "llama f32 hd64 gqa1",
            spec: llama.clone(),
        },
        Case {
            name: "llama f32 hd128 gqa4 tied",
            spec: TestModelSpec {
                embedding_length: 512,
                feed_forward_length: 1024,
                head_count: 4,
                head_count_kv: 1,
                tied_embeddings: true,
                seed: 3,
                ..llama.clone()
            },
        },
        Case {
            name: "qwen2 f32 hd64 gqa4 bias tied",
            spec: qwen2.clone(),
        },
        Case {
            name: "qwen2 f32 hd64 gqa8 bias untied",
            spec: TestModelSpec {
                head_count_kv: 1,
                tied_embeddings: false,
                seed: 4,
                ..qwen2.clone()
            },
        },
        Case {
            name: "llama q8_0 hd64 gqa1",
            spec: TestModelSpec {
                weights: WeightTypes::All(DType::Q8_0),
                seed: 5,
                ..llama.clone()
            },
        },
        Case {
            name: "llama q4_0+q6_K output hd128 gqa4",
            spec: TestModelSpec {
                embedding_length: 512,
                feed_forward_length: 1024,
                head_count: 4,
                head_count_kv: 1,
                weights: WeightTypes::Q4_0WithQ6KOutput,
                seed: 6,
                ..llama.clone()
            },
        },
        Case {
            name: "qwen2 q4_K_M mix hd64 gqa4 bias tied",
            spec: TestModelSpec {
                weights: WeightTypes::Q4KM,
                seed: 7,
                ..qwen2.clone()
            },
        },
    ]
}

fn tokens_for(vocab: usize, seed: u64) -> Vec<u32> {
    let mut rng = Rng::new(seed);
    (0..N_TOKENS).map(|_| rng.below(vocab) as u32).collect()
}

/// The 32-value-block formats whose fast-backend results differ from ggml's.
fn is_legacy_quant(case: &Case) -> bool {
    matches!(
        case.spec.weights,
        WeightTypes::All(DType::Q8_0) | WeightTypes::Q4_0WithQ6KOutput
    )
}

#[test]
fn logits_match_llama_cpp() {
    compare_logits(
        cases()
            .into_iter()
            .filter(|c| !is_legacy_quant(c))
            .collect(),
    );
}

/// Q4_0 and Q8_0, where ggml quantizes activations to Q8_0 with f16 block scales. With the
/// fast backend rounding its activation scales to f16 the same way (2026-11-25): NMSE 3.2e-5
/// (Q8_0) and 9.5e-5 (Q4_0) against llama.cpp, argmax 100 % and 98.4 % of 64 positions
/// (before: 2.0e-4 / 2.3e-4, 98.4 % / 93.8 %).
#[test]
fn logits_match_llama_cpp_q4_0_q8_0() {
    compare_logits(cases().into_iter().filter(is_legacy_quant).collect());
}

fn compare_logits(cases: Vec<Case>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut failures = Vec::new();
    for case in cases {
        let source = build_test_model(&case.spec).expect("test model");
        let path = dir
            .path()
            .join(format!("{}.gguf", case.name.replace(' ', "_")));
        write_gguf(&source, &path).expect("write gguf");
        let model = Arc::new(Model::from_source(&source).expect("model"));
        let llama = LlamaModel::load(&path).expect("llama.cpp loads the test model");
        assert_eq!(llama.n_vocab(), model.vocab_size(), "{}", case.name);
        let vocab = model.vocab_size();
        let tokens = tokens_for(vocab, case.spec.seed);

        let mut ctx = llama.context(128, 2).expect("llama context");
        let llama_batch = ctx.decode(&tokens, 0).expect("llama batch");
        ctx.clear();
        let llama_step = ctx.decode_steps(&tokens, 0).expect("llama steps");
        let noise = nmse(&llama_step, &llama_batch);
        let quantized = case.spec.weights != WeightTypes::All(DType::F32);

        for backend in backends() {
            let name = backend.info().backend;
            let mut batch = Session::new(model.clone(), backend.clone(), SessionOptions::default())
                .expect("session");
            let ours_batch = batch.eval(&tokens).expect("our batch");
            let mut step = Session::new(model.clone(), backend.clone(), SessionOptions::default())
                .expect("session");
            let ours_step = step.eval_steps(&tokens).expect("our steps");
            let e_batch = nmse(&ours_batch, &llama_batch);
            let e_step = nmse(&ours_step, &llama_step);
            let agree = argmax_agreement(&ours_batch, &llama_batch, vocab).min(argmax_agreement(
                &ours_step,
                &llama_step,
                vocab,
            ));
            println!(
                "{:<40} {name:<8} nmse batch {e_batch:.2e} step {e_step:.2e}  llama batch-vs-step {noise:.2e}  argmax {:.1}%",
                case.name,
                agree * 100.0
            );
            let bound = if quantized {
                QUANT_NMSE_BOUND
            } else {
                F32_NMSE_BOUND
            };
            if e_batch > bound || e_step > bound || agree < 0.97 {
                failures.push(format!(
                    "{} on {name}: nmse batch {e_batch:e} step {e_step:e} (bound {bound:e}), argmax {agree}",
                    case.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

const TEXTS: &[&str] = &[
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "  leading and  double  spaces ",
    "numbers 1234567 and 3.14159, 2026",
    "Ünïcödé façade — 日本語 🦀 emoji",
    "tabs\tand\nnew lines\n\n end",
    "It's they've we'll I'd you're DON'T",
    "q4_0, q8_0, q4_K: quantized weights",
    "",
];

#[test]
fn tokenization_matches_llama_cpp() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vocabs = [
        (Architecture::Llama, TestVocab::SentencePiece),
        (Architecture::Qwen2, TestVocab::BytePairEncoding("qwen2")),
        (
            Architecture::Llama,
            TestVocab::BytePairEncoding("llama-bpe"),
        ),
        (Architecture::Llama, TestVocab::BytePairEncoding("gpt-2")),
        (Architecture::Llama, TestVocab::BytePairEncoding("default")),
    ];
    let mut mismatches = Vec::new();
    for (i, (arch, vocab)) in vocabs.into_iter().enumerate() {
        let spec = TestModelSpec {
            arch,
            vocab,
            block_count: 1,
            ..TestModelSpec::tiny_llama()
        };
        let source = build_test_model(&spec).expect("test model");
        let path = dir.path().join(format!("vocab{i}.gguf"));
        write_gguf(&source, &path).expect("write gguf");
        let llama = LlamaModel::load(&path).expect("llama.cpp loads the test model");
        let model = Model::from_source(&source).expect("model");
        let ours: &Tokenizer = model.tokenizer().expect("tokenizer");
        for text in TEXTS {
            for add_special in [false, true] {
                let want = llama
                    .tokenize(text, add_special, false)
                    .expect("llama tokenize");
                let got = ours.encode(text, add_special, false).expect("encode");
                if got != want {
                    mismatches.push(format!(
                        "{vocab:?} {text:?} (bos {add_special}): ours {got:?}, llama.cpp {want:?}"
                    ));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
