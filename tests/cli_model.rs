//! `edgeplane logits` and `edgeplane run` on a test model written to disk: every backend
//! agrees with `cpu-ref`, batch agrees with step, and `run` streams text and reports speed.

use edgeplane::conformance::nmse;
use edgeplane::model::testing::{build_test_model, write_gguf, TestModelSpec};
use std::path::Path;
use std::process::Command;

fn edgeplane(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_edgeplane"))
        .args(args)
        .output()
        .expect("the edgeplane binary runs")
}

fn read_npy(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let bytes = std::fs::read(path).expect("npy written");
    let npy = npyz::NpyFile::new(&bytes[..]).expect("valid npy");
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec::<f32>().expect("f32 data"))
}

fn logits(model: &Path, backend: &str, mode: &str, out: &Path) -> (Vec<u64>, Vec<f32>) {
    let tokens = "1,5,9,2,7,3";
    let o = edgeplane(&[
        "logits",
        "--model",
        model.to_str().unwrap(),
        "--tokens",
        tokens,
        "--backend",
        backend,
        "--mode",
        mode,
        "--npy",
        out.to_str().unwrap(),
    ]);
    assert!(
        o.status.success(),
        "logits --backend {backend} --mode {mode} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    read_npy(out)
}

#[test]
fn logits_agree_across_backends_and_modes() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.gguf");
    let spec = TestModelSpec::tiny_llama();
    write_gguf(&build_test_model(&spec).unwrap(), &model).unwrap();

    let (shape, reference) = logits(&model, "cpu-ref", "batch", &dir.path().join("ref.npy"));
    assert_eq!(shape[0], 6, "one row per token");
    assert!(shape[1] > 1 && reference.len() as u64 == shape[0] * shape[1]);
    assert!(reference.iter().all(|v| v.is_finite()));

    let (_, ref_step) = logits(&model, "cpu-ref", "step", &dir.path().join("ref_step.npy"));
    let e = nmse(&reference, &ref_step);
    assert!(e < 1e-10, "cpu-ref batch vs step NMSE {e}");

    let has_gpu = edgeplane::backend::available_backends()
        .iter()
        .any(|b| b.info().backend.starts_with("wgpu:"));
    if !has_gpu {
        assert!(
            std::env::var("EDGEPLANE_REQUIRE_GPU").as_deref() != Ok("1"),
            "EDGEPLANE_REQUIRE_GPU=1 but no wgpu adapter was found"
        );
        eprintln!("no wgpu adapter: checking the model on the CPU backends only");
    }
    let backends: &[&str] = if has_gpu { &["cpu", "wgpu"] } else { &["cpu"] };
    for backend in backends {
        for mode in ["batch", "step"] {
            let out = dir.path().join(format!("{backend}_{mode}.npy"));
            let (s, got) = logits(&model, backend, mode, &out);
            assert_eq!(s, shape);
            let e = nmse(&reference, &got);
            assert!(e < 5e-4, "{backend} {mode} vs cpu-ref NMSE {e}");
        }
    }
}

#[test]
fn run_streams_text_and_reports_tokens_per_second() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.gguf");
    write_gguf(
        &build_test_model(&TestModelSpec::tiny_llama()).unwrap(),
        &model,
    )
    .unwrap();
    let o = edgeplane(&[
        "run",
        "--model",
        model.to_str().unwrap(),
        "--prompt",
        "the cat",
        "-n",
        "5",
        "--backend",
        "cpu",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "run failed: {stderr}");
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("the cat"));
    assert!(stderr.contains("tokens/s"), "no speed summary: {stderr}");
}

#[test]
fn unknown_backend_and_bad_tokens_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.gguf");
    write_gguf(
        &build_test_model(&TestModelSpec::tiny_llama()).unwrap(),
        &model,
    )
    .unwrap();
    let out = dir.path().join("x.npy");
    for (backend, tokens, want) in [
        ("nope", "1,2", "backend nope"),
        ("cpu", "1,x", "not a number"),
    ] {
        let o = edgeplane(&[
            "logits",
            "--model",
            model.to_str().unwrap(),
            "--tokens",
            tokens,
            "--backend",
            backend,
            "--npy",
            out.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1));
        // Drivers may log on stderr too; ours is the line starting with `error: `.
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("error: ") && l.contains(want)),
            "{stderr}"
        );
    }
}
