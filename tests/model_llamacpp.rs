//! llama.cpp as the oracle: the same GGUF file, the same tokens, compared logits and token
//! ids, on every backend (`cpu`, `cpu-ref`, `wgpu`). Needs `--features anchor-ggml`
//! (builds llama.cpp). Under `EDGEPLANE_REQUIRE_GPU=1` the wgpu test fails without a
//! Vulkan adapter instead of skipping.
//!
//! **Which llama.cpp answer each backend must match.** ggml rounds the activations to 8
//! bits (Q8_0 / Q8_K blocks) before every matmul with quantized weights. The `cpu` backend
//! does the same, with ggml's arithmetic, so it is compared with llama.cpp on the quantized
//! file. `cpu-ref` and `wgpu` dequantize the weights and multiply f32 activations, so they
//! are compared with llama.cpp on the *same weights dequantized to F32* (written by
//! [`dequantized`]): there llama.cpp has nothing to round either, and the F32 bound holds.
//! Those two differ from llama.cpp on the quantized file by the effect of 8-bit
//! activations, 2.0e-4–2.5e-4 NMSE on these models (printed by the test).
//!
//! **Bounds.** F32 arithmetic: NMSE ≤ 1e-5 (measured: ≤ 2e-12). Quantized activations:
//! NMSE ≤ [`QUANT_NMSE_BOUND`] and the same argmax on ≥ 97 % of the positions of all
//! quantized cases; see the constants for where the numbers come from. llama.cpp's own
//! batch-vs-step difference is no noise floor here: on Q8_0 and Q4_0 its two paths are
//! bit-identical (NMSE 0).
#![cfg(feature = "anchor-ggml")]

#[path = "wgpu_support/mod.rs"]
mod wgpu_support;

use edgeplane::anchor::llama::{LlamaContextOptions, LlamaModel};
use edgeplane::backend::cpu::fast::{Fast, FastSettings};
use edgeplane::backend::cpu::reference::Reference;
use edgeplane::backend::wgpu::WgpuSettings;
use edgeplane::model::testing::{
    build_test_model, dequantized, write_gguf, Rng, TestModelSpec, TestVocab, WeightTypes,
};
use edgeplane::model::{Architecture, MemorySource, Model, ModelSource, Session, SessionOptions};
use edgeplane::tokenizer::Tokenizer;
use edgeplane::{Backend, DType};
use std::sync::{Arc, OnceLock};

/// Largest NMSE against llama.cpp allowed when activations are rounded to 8 bits.
///
/// Rounding activations to 8 bits makes the logits sensitive to the last bit of every op
/// before a matmul: a one-ulp difference that moves a value across a rounding boundary
/// changes one 8-bit code, and through the KV cache every later position. So an
/// independent implementation whose ops are each within float rounding of ggml's cannot be
/// expected to come closer to llama.cpp than llama.cpp comes to itself when its input moves
/// by one ulp. Measured (2026-11-25, `tests/model_llamacpp.rs` cases Q8_0, Q4_0+Q6_K and
/// Q4_K_M, 8 token sequences × 4 random ±1-ulp perturbations of the input embeddings fed
/// through `llama_batch.embd`): llama.cpp's logits moved by NMSE 0 to 1.8e-4 (half of the
/// perturbations flipped no code: NMSE 0 or ~1e-15). Over the same 24 sequences the `cpu`
/// backend's NMSE against unperturbed llama.cpp was 8e-15 to 1.2e-4, and after the packed
/// matmul kernels landed 4e-14 to 1.3e-4 (batch) and 8e-15 to 1.1e-4 (step). For scale,
/// llama.cpp's flash-attention path differs from its default path by 1.6e-4–4.2e-4 on
/// these models, and dropping activation rounding altogether (`cpu-ref`) by 2.0e-4–2.5e-4:
/// the logits comparison cannot tell those apart, which is why the activation rounding
/// itself is checked bit-level per matmul in `tests/fast_anchor_ggml.rs`.
/// `quant_bound_derivation` (ignored; run with `--ignored`) repeats this measurement.
///
/// Bound: 3e-4, the largest self-perturbation (1.8e-4) with a factor of 1.7 for the
/// tail of a distribution sampled 96 times. The test re-measures llama.cpp's sensitivity
/// on its own cases and fails if it ever exceeds this bound (the bound would then be
/// tighter than llama.cpp's own noise and must be re-derived).
const QUANT_NMSE_BOUND: f64 = 3e-4;
/// Largest NMSE against llama.cpp when both compute in f32 (float summation order only).
const F32_NMSE_BOUND: f64 = 1e-5;
/// Smallest share of positions whose argmax must match llama.cpp's. With 8-bit activations
/// it is counted over the positions of all quantized cases together: random-weight models
/// have near-ties, and a ±1-ulp change of llama.cpp's own input moved the argmax at up to 2
/// of 64 positions (12 of 6144 over the 96 runs behind [`QUANT_NMSE_BOUND`]; the `cpu`
/// backend with the packed matmul kernels: 18 of 3072 in batch and step mode, at most 3 of
/// 64 in one sequence), so one 64-token case alone could miss 97 % by chance.
const ARGMAX_AGREEMENT: f64 = 0.97;
const N_TOKENS: usize = 64;
/// ±1-ulp perturbations of the input per case for the noise self-check.
const PERTURBATIONS: u64 = 4;

fn nmse(got: &[f32], want: &[f32]) -> f64 {
    edgeplane::conformance::nmse(want, got)
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

/// Rows whose argmax differs.
fn mismatches(a: &[f32], b: &[f32], vocab: usize) -> usize {
    let rows = a.len() / vocab;
    rows - (argmax_agreement(a, b, vocab) * rows as f64).round() as usize
}

/// How a backend multiplies by quantized weights, which decides its oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Activations {
    /// Rounded to 8 bits with ggml's arithmetic: compared with llama.cpp on the file.
    Ggml8Bit,
    /// Kept in f32: compared with llama.cpp on the dequantized file.
    F32,
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
            name: "llama f32 hd64 linear rope x4",
            spec: TestModelSpec {
                block_count: 1,
                rope_scaling_factor: Some(4.0),
                seed: 8,
                ..llama.clone()
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
        // Widths that are not whole 256-blocks, as Qwen2.5-0.5B's 896: the mix falls back
        // to Q5_0 and Q8_0 as llama.cpp's quantizer does, and those weights tile with a
        // padded last tile column (448 → 512, FFN 1152 → 1280).
        Case {
            name: "qwen2 q4_K_M 448 wide q5_0+q8_0 gqa7",
            spec: TestModelSpec {
                embedding_length: 448,
                feed_forward_length: 1152,
                head_count: 7,
                head_count_kv: 1,
                weights: WeightTypes::Q4KM,
                seed: 9,
                ..qwen2.clone()
            },
        },
    ]
}

fn tokens_for(vocab: usize, seed: u64) -> Vec<u32> {
    let mut rng = Rng::new(seed);
    (0..N_TOKENS).map(|_| rng.below(vocab) as u32).collect()
}

/// `x` moved by one unit in the last place, up or down (zero stays zero).
fn nudge_one_ulp(x: f32, up: bool) -> f32 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let bits = x.to_bits();
    f32::from_bits(if up { bits + 1 } else { bits - 1 })
}

/// What the token embedding lookup gives for `tokens`: the rows of `token_embd`,
/// dequantized, one after another.
fn input_embeddings(source: &MemorySource, tokens: &[u32]) -> Vec<f32> {
    let (desc, bytes) = source.tensor("token_embd.weight").expect("token_embd");
    let width = desc.shape.cols();
    let table =
        edgeplane_kernels::quant::dequantize(desc.dtype, bytes.as_slice(), desc.shape.elements())
            .expect("dequantize token_embd");
    tokens
        .iter()
        .flat_map(|&t| {
            table[t as usize * width..(t as usize + 1) * width]
                .iter()
                .copied()
        })
        .collect()
}

/// `values`, each moved by one ulp up or down at random (by `seed`).
fn nudged(values: &[f32], seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    values
        .iter()
        .map(|&x| nudge_one_ulp(x, rng.next_u64() & 1 == 1))
        .collect()
}

/// One case with llama.cpp's answers, computed once and shared by the backend tests.
struct Oracle {
    name: &'static str,
    model: Arc<Model>,
    tokens: Vec<u32>,
    quantized: bool,
    /// llama.cpp on the file: all tokens as one batch, and one at a time.
    batch: Vec<f32>,
    step: Vec<f32>,
    /// llama.cpp on the file with every weight dequantized to F32 (one batch).
    dequantized: Vec<f32>,
    /// Largest NMSE of llama.cpp's logits when its input embeddings move by ±1 ulp.
    ulp_noise: f64,
}

fn oracles() -> &'static [Oracle] {
    static ORACLES: OnceLock<Vec<Oracle>> = OnceLock::new();
    ORACLES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        cases()
            .into_iter()
            .map(|case| oracle(&case, dir.path()))
            .collect()
    })
}

fn oracle(case: &Case, dir: &std::path::Path) -> Oracle {
    let file = |suffix: &str| dir.join(format!("{}{suffix}.gguf", case.name.replace(' ', "_")));
    let source = build_test_model(&case.spec).expect("test model");
    write_gguf(&source, &file("")).expect("write gguf");
    write_gguf(
        &dequantized(&source).expect("dequantize"),
        &file("_dequantized"),
    )
    .expect("write gguf");
    let model = Arc::new(Model::from_source(&source).expect("model"));
    let llama = LlamaModel::load(&file("")).expect("llama.cpp loads the test model");
    assert_eq!(llama.n_vocab(), model.vocab_size(), "{}", case.name);
    let tokens = tokens_for(model.vocab_size(), case.spec.seed);

    let mut ctx = llama.context(128, 2).expect("llama context");
    let batch = ctx.decode(&tokens, 0).expect("llama batch");
    ctx.clear();
    let last = ctx.decode_last(&tokens, 0).expect("llama last row");
    // Not bit-equal: one row takes another matmul path than the batch.
    let e = nmse(&last, &batch[batch.len() - llama.n_vocab()..]);
    assert!(
        e < 1e-10,
        "{}: llama.cpp's last-row logits vs its batch's last row NMSE {e:e}",
        case.name
    );
    ctx.clear();
    let step = ctx.decode_steps(&tokens, 0).expect("llama steps");

    let embeddings = input_embeddings(&source, &tokens);
    ctx.clear();
    let exact = ctx
        .decode_embeddings(&embeddings, 0)
        .expect("llama embeddings");
    assert_eq!(
        nmse(&exact, &batch),
        0.0,
        "{}: llama.cpp gives other logits for its own embeddings than for the tokens",
        case.name
    );
    let ulp_noise = (0..PERTURBATIONS)
        .map(|seed| {
            ctx.clear();
            let logits = ctx
                .decode_embeddings(&nudged(&embeddings, 100 + seed), 0)
                .expect("llama embeddings");
            nmse(&logits, &batch)
        })
        .fold(0.0, f64::max);
    drop(ctx);

    let llama_f32 = LlamaModel::load(&file("_dequantized")).expect("llama.cpp loads");
    let dequantized = llama_f32
        .context(128, 2)
        .expect("llama context")
        .decode(&tokens, 0)
        .expect("llama batch");
    Oracle {
        name: case.name,
        model,
        tokens,
        quantized: case.spec.weights != WeightTypes::All(DType::F32),
        batch,
        step,
        dequantized,
        ulp_noise,
    }
}

/// Runs every case on `backend` in batch and step mode and checks it against its oracle.
fn check_backend(backend: Arc<dyn Backend>, activations: Activations) {
    let name = backend.info().backend;
    let mut failures = Vec::new();
    // Positions of the 8-bit-activation cases, and how many have llama.cpp's argmax.
    let (mut pooled_rows, mut pooled_same) = (0usize, 0.0f64);
    for o in oracles() {
        let vocab = o.model.vocab_size();
        let run = |steps: bool| {
            let mut session =
                Session::new(o.model.clone(), backend.clone(), SessionOptions::default())
                    .expect("session");
            if steps {
                session.eval_steps(&o.tokens).expect("our steps")
            } else {
                session.eval(&o.tokens).expect("our batch")
            }
        };
        let (ours_batch, ours_step) = (run(false), run(true));
        let (oracle, want_batch, want_step, bound) = match (o.quantized, activations) {
            (false, _) => ("llama.cpp", &o.batch, &o.step, F32_NMSE_BOUND),
            (true, Activations::Ggml8Bit) => ("llama.cpp", &o.batch, &o.step, QUANT_NMSE_BOUND),
            (true, Activations::F32) => (
                "llama.cpp on the dequantized file",
                &o.dequantized,
                &o.dequantized,
                F32_NMSE_BOUND,
            ),
        };
        let e_batch = nmse(&ours_batch, want_batch);
        let e_step = nmse(&ours_step, want_step);
        let agree = argmax_agreement(&ours_batch, want_batch, vocab)
            .min(argmax_agreement(&ours_step, want_step, vocab));
        println!(
            "{:<36} {name:<10} vs {oracle}: nmse batch {e_batch:.2e} step {e_step:.2e} (bound {bound:.0e}), argmax {:.1}% | vs llama.cpp on the file {:.2e}; llama.cpp 1-ulp noise {:.2e}, batch-vs-step {:.2e}",
            o.name,
            agree * 100.0,
            nmse(&ours_batch, &o.batch),
            o.ulp_noise,
            nmse(&o.step, &o.batch),
        );
        let pooled = o.quantized && activations == Activations::Ggml8Bit;
        if pooled {
            pooled_rows += o.tokens.len();
            pooled_same += agree * o.tokens.len() as f64;
        }
        if e_batch > bound || e_step > bound || (!pooled && agree < ARGMAX_AGREEMENT) {
            failures.push(format!(
                "{} on {name} vs {oracle}: nmse batch {e_batch:e} step {e_step:e} (bound {bound:e}), argmax {agree}",
                o.name
            ));
        }
    }
    if pooled_rows > 0 {
        let agree = pooled_same / pooled_rows as f64;
        println!(
            "{name}: argmax agrees with llama.cpp at {:.1}% of {pooled_rows} positions of the quantized cases",
            agree * 100.0
        );
        if agree < ARGMAX_AGREEMENT {
            failures.push(format!(
                "{name}: argmax agrees at {agree} of {pooled_rows} quantized positions"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn cpu_matches_llama_cpp() {
    let fast = Fast::new(FastSettings {
        threads: 2,
        simd: None,
        repack: FastSettings::default_repack(),
    })
    .expect("fast backend");
    check_backend(Arc::new(fast), Activations::Ggml8Bit);
}

#[test]
fn cpu_ref_matches_llama_cpp() {
    check_backend(Arc::new(Reference::new()), Activations::F32);
}

#[test]
fn wgpu_matches_llama_cpp() {
    if let Some(gpu) = wgpu_support::backend(&WgpuSettings::default()) {
        check_backend(Arc::new(gpu), Activations::F32);
    }
}

/// The quantized bound must not be tighter than llama.cpp's own sensitivity to a one-ulp
/// change of its input on these models (see [`QUANT_NMSE_BOUND`]).
#[test]
fn quant_bound_covers_llama_cpp_own_noise() {
    for o in oracles().iter().filter(|o| o.quantized) {
        println!(
            "{:<36} llama.cpp: 1-ulp input noise {:.2e}, batch-vs-step {:.2e}, quantized vs dequantized file {:.2e}",
            o.name,
            o.ulp_noise,
            nmse(&o.step, &o.batch),
            nmse(&o.batch, &o.dequantized)
        );
        assert!(
            o.ulp_noise <= QUANT_NMSE_BOUND && nmse(&o.step, &o.batch) <= QUANT_NMSE_BOUND,
            "{}: llama.cpp's own noise exceeds QUANT_NMSE_BOUND {QUANT_NMSE_BOUND:e}; re-derive it",
            o.name
        );
    }
}

/// The measurement behind [`QUANT_NMSE_BOUND`] and [`ARGMAX_AGREEMENT`], slow (about a
/// minute) and so not run by default: for each quantized case, 8 token sequences, each
/// through llama.cpp exactly and with 4 ±1-ulp perturbations of its input, through
/// llama.cpp's flash-attention path, and through the `cpu` backend in batch and step
/// mode. Prints the sorted NMSE lists and argmax misses and checks both sides against the
/// bounds. `cargo test --release --features anchor-ggml --test model_llamacpp --
/// --ignored --nocapture`.
#[test]
#[ignore = "slow: the measurement behind the quantized bound"]
fn quant_bound_derivation() {
    let backend: Arc<dyn Backend> = Arc::new(
        Fast::new(FastSettings {
            threads: 2,
            simd: None,
            repack: FastSettings::default_repack(),
        })
        .expect("fast backend"),
    );
    let sorted = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.iter()
            .map(|x| format!("{x:.1e}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut llama_max, mut ours_max) = (0.0f64, 0.0f64);
    let (mut llama_misses, mut llama_rows, mut ours_misses, mut ours_rows) = (0, 0, 0, 0);
    for case in cases() {
        if case.spec.weights == WeightTypes::All(DType::F32) {
            continue;
        }
        let source = build_test_model(&case.spec).expect("test model");
        let path = dir.path().join("model.gguf");
        write_gguf(&source, &path).expect("write gguf");
        let model = Arc::new(Model::from_source(&source).expect("model"));
        let vocab = model.vocab_size();
        let llama = LlamaModel::load(&path).expect("llama.cpp loads the test model");
        let mut ctx = llama.context(128, 2).expect("llama context");
        let mut flash = llama
            .context_with(&LlamaContextOptions {
                flash_attention: true,
                ..LlamaContextOptions::new(128, 2)
            })
            .expect("llama flash-attention context");
        let (mut self_noise, mut flash_noise, mut ours_batch, mut ours_step) =
            (vec![], vec![], vec![], vec![]);
        for sequence in 0..8u64 {
            let tokens = tokens_for(vocab, 1000 + sequence);
            ctx.clear();
            let batch = ctx.decode(&tokens, 0).expect("llama batch");
            ctx.clear();
            let step = ctx.decode_steps(&tokens, 0).expect("llama steps");
            let embeddings = input_embeddings(&source, &tokens);
            for p in 0..4 {
                ctx.clear();
                let logits = ctx
                    .decode_embeddings(&nudged(&embeddings, 100 + p + 10 * sequence), 0)
                    .expect("llama embeddings");
                self_noise.push(nmse(&logits, &batch));
                llama_misses += mismatches(&logits, &batch, vocab);
                llama_rows += tokens.len();
            }
            flash.clear();
            flash_noise.push(nmse(&flash.decode(&tokens, 0).expect("flash"), &batch));
            for (steps, want, out) in [
                (false, &batch, &mut ours_batch),
                (true, &step, &mut ours_step),
            ] {
                let mut session =
                    Session::new(model.clone(), backend.clone(), SessionOptions::default())
                        .expect("session");
                let got = if steps {
                    session.eval_steps(&tokens).expect("our steps")
                } else {
                    session.eval(&tokens).expect("our batch")
                };
                out.push(nmse(&got, want));
                ours_misses += mismatches(&got, want, vocab);
                ours_rows += tokens.len();
            }
        }
        llama_max = self_noise.iter().copied().fold(llama_max, f64::max);
        ours_max = ours_batch
            .iter()
            .chain(&ours_step)
            .copied()
            .fold(ours_max, f64::max);
        println!(
            "{}\n  llama.cpp ±1 ulp: {}\n  llama.cpp flash attention: {}\n  cpu batch: {}\n  cpu step:  {}",
            case.name,
            sorted(self_noise),
            sorted(flash_noise),
            sorted(ours_batch),
            sorted(ours_step)
        );
    }
    println!(
        "largest: llama.cpp ±1 ulp {llama_max:.2e}, cpu {ours_max:.2e} (bound {QUANT_NMSE_BOUND:e}); \
         argmax misses: llama.cpp {llama_misses} of {llama_rows}, cpu {ours_misses} of {ours_rows}"
    );
    assert!(
        llama_max <= QUANT_NMSE_BOUND,
        "llama.cpp's own noise exceeds the bound"
    );
    assert!(ours_max <= QUANT_NMSE_BOUND, "cpu exceeds the bound");
    let agree = 1.0 - ours_misses as f64 / ours_rows as f64;
    assert!(agree >= ARGMAX_AGREEMENT, "cpu argmax agreement {agree}");
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
