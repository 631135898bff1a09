//! The `edgeplane` binary on GGUF files made by our writer: `tensor --npy` must equal the
//! `gguf` Python package's dequantization bit for bit for every weight dtype (golden
//! vectors in tests/vectors/, made by tests/vectors/generate.py), `inspect --json` must
//! describe the file, and bad input must print `error: ...` and exit 1.

use edgeplane::gguf::{Array, GgufWriter, Value};
use edgeplane::{DType, TensorDesc};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// `(dtype, raw blocks, gguf-py's f32 dequantization)` for each dequantize vector.
fn dequantize_vectors() -> Vec<(DType, Vec<u8>, Vec<u8>)> {
    let dir = vectors_dir();
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    manifest
        .lines()
        .filter(|l| l.starts_with("dequantize\t"))
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let dtype = DType::from_name(f[1]).unwrap();
            let blocks = std::fs::read(dir.join(f[3])).unwrap();
            let expected = std::fs::read(dir.join(f[4])).unwrap();
            assert_eq!(expected.len(), 4 * f[2].parse::<usize>().unwrap());
            (dtype, blocks, expected)
        })
        .collect()
}

/// A row-major shape for `elements` values of `dtype`: 3-D when the blocks split six ways,
/// else 2-D, so the `ne` reversal is exercised on both.
fn shape_for(dtype: DType, elements: usize) -> Vec<usize> {
    let blocks = elements / dtype.block_size();
    if blocks.is_multiple_of(6) {
        vec![2, 3, elements / 6]
    } else if blocks.is_multiple_of(2) {
        vec![2, elements / 2]
    } else {
        vec![elements]
    }
}

fn edgeplane(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgeplane"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("the edgeplane binary runs")
}

#[test]
fn tensor_npy_equals_gguf_py_dequantization_for_every_dtype() {
    let vectors = dequantize_vectors();
    let covered: Vec<DType> = vectors.iter().map(|v| v.0).collect();
    for dtype in DType::WEIGHTS {
        assert!(covered.contains(&dtype), "no golden vector for {dtype}");
    }
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("all.gguf");
    let mut writer = GgufWriter::new();
    let mut shapes = Vec::new();
    for (dtype, blocks, expected) in &vectors {
        let shape = shape_for(*dtype, expected.len() / 4);
        writer
            .add_tensor(
                format!("w.{}", dtype.name()),
                TensorDesc::new(*dtype, shape.clone()),
                blocks.clone(),
            )
            .unwrap();
        shapes.push(shape);
    }
    writer.write_file(&gguf).unwrap();

    for ((dtype, _, expected), shape) in vectors.iter().zip(&shapes) {
        let npy = dir.path().join(format!("{}.npy", dtype.name()));
        let name = format!("w.{}", dtype.name());
        let out = edgeplane(&[
            "tensor".as_ref(),
            gguf.as_os_str(),
            name.as_ref(),
            "--npy".as_ref(),
            npy.as_os_str(),
        ]);
        assert!(
            out.status.success(),
            "{dtype}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&npy).unwrap();
        let file = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(file.dtype().descr(), "'<f4'", "{dtype}: npy dtype");
        let want_shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        assert_eq!(file.shape(), &want_shape[..], "{dtype}: npy shape");
        let values: Vec<f32> = file.into_vec().unwrap();
        let got: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
        let want: Vec<u32> = expected
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(got.len(), want.len(), "{dtype}: element count");
        if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
            panic!(
                "{dtype}: element {i} is {} (bits {:#x}), gguf-py says {} (bits {:#x})",
                f32::from_bits(got[i]),
                got[i],
                f32::from_bits(want[i]),
                want[i]
            );
        }
    }
}

#[test]
fn inspect_json_describes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("m.gguf");
    let mut writer = GgufWriter::new();
    writer
        .add_metadata("general.architecture", Value::String("llama".into()))
        .unwrap()
        .add_metadata("llama.block_count", Value::U32(2))
        .unwrap()
        .add_metadata(
            "tokenizer.ggml.scores",
            Value::Array(Array::F32((0..100).map(|i| i as f32).collect())),
        )
        .unwrap()
        .add_tensor(
            "token_embd.weight",
            TensorDesc::new(DType::Q8_0, [3, 64]),
            vec![0u8; 3 * 2 * 34],
        )
        .unwrap()
        .add_tensor(
            "output_norm.weight",
            TensorDesc::new(DType::F32, [64]),
            vec![0u8; 256],
        )
        .unwrap();
    writer.write_file(&gguf).unwrap();

    let out = edgeplane(&[
        "inspect".as_ref(),
        gguf.as_os_str(),
        "--json".as_ref(),
        "--max-items".as_ref(),
        "3".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["version"], 3);
    assert_eq!(json["alignment"], 32);
    let keys: Vec<&str> = json["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "general.architecture",
            "llama.block_count",
            "tokenizer.ggml.scores"
        ]
    );
    assert_eq!(json["metadata"][0]["value"], "llama");
    assert_eq!(json["metadata"][1]["type"], "uint32");
    assert_eq!(json["metadata"][1]["value"], 2);
    let scores = &json["metadata"][2];
    assert_eq!(scores["type"], "array[float32]");
    assert_eq!(scores["len"], 100);
    assert_eq!(scores["value"], serde_json::json!([0.0, 1.0, 2.0]));
    let tensors = json["tensors"].as_array().unwrap();
    assert_eq!(tensors.len(), 2);
    assert_eq!(tensors[0]["name"], "token_embd.weight");
    assert_eq!(tensors[0]["dtype"], "q8_0");
    assert_eq!(tensors[0]["shape"], serde_json::json!([3, 64]));
    assert_eq!(tensors[0]["bytes"], 3 * 2 * 34);
    assert_eq!(tensors[1]["shape"], serde_json::json!([64]));
    assert_eq!(json["totals"]["tensors"], 2);
    assert_eq!(json["totals"]["elements"], 3 * 64 + 64);
    assert_eq!(json["totals"]["bytes"], 3 * 2 * 34 + 256);

    let table = edgeplane(&["inspect".as_ref(), gguf.as_os_str()]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("token_embd.weight") && text.contains("[3, 64]"));
    assert!(text.contains("total: 2 tensors") && text.contains("460"));
    assert!(text.contains("… (100 float32 items)"));
}

/// Runs `args`, expects exit code 1 and `error: ` + every needle on stderr.
#[track_caller]
fn expect_error(args: &[&std::ffi::OsStr], needles: &[&str]) {
    let out = edgeplane(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "stderr: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "stderr {stderr:?} lacks {needle:?}"
        );
    }
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

#[test]
fn bad_input_prints_error_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.gguf");
    std::fs::write(&corrupt, b"GGML\x03\0\0\0 this is not gguf").unwrap();
    expect_error(&["inspect".as_ref(), corrupt.as_os_str()], &["bad magic"]);
    let npy = dir.path().join("out.npy");
    expect_error(
        &[
            "tensor".as_ref(),
            corrupt.as_os_str(),
            "x".as_ref(),
            "--npy".as_ref(),
            npy.as_os_str(),
        ],
        &["bad magic"],
    );

    let mut writer = GgufWriter::new();
    writer
        .add_tensor("t", TensorDesc::new(DType::F32, [4]), vec![0u8; 16])
        .unwrap();
    let mut bytes = writer.to_bytes().unwrap();
    let good = dir.path().join("good.gguf");
    std::fs::write(&good, &bytes).unwrap();
    expect_error(
        &[
            "tensor".as_ref(),
            good.as_os_str(),
            "missing".as_ref(),
            "--npy".as_ref(),
            npy.as_os_str(),
        ],
        &["no tensor named 'missing'"],
    );
    bytes.truncate(bytes.len() - 20);
    let truncated = dir.path().join("truncated.gguf");
    std::fs::write(&truncated, &bytes).unwrap();
    expect_error(
        &["inspect".as_ref(), truncated.as_os_str()],
        &["tensor 't'", "outside the file"],
    );
    let empty = dir.path().join("empty.gguf");
    std::fs::write(&empty, b"").unwrap();
    expect_error(&["inspect".as_ref(), empty.as_os_str()], &["truncated"]);
    let missing = dir.path().join("does-not-exist.gguf");
    expect_error(
        &["inspect".as_ref(), missing.as_os_str()],
        &["does-not-exist.gguf"],
    );
    // Writing to a directory that does not exist is an I/O error with the path.
    let bad_out = dir.path().join("no/such/dir/out.npy");
    expect_error(
        &[
            "tensor".as_ref(),
            good.as_os_str(),
            "t".as_ref(),
            "--npy".as_ref(),
            bad_out.as_os_str(),
        ],
        &["out.npy"],
    );
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    expect_error(&["inspect".as_ref()], &["FILE"]);
    expect_error(&["no-such-command".as_ref()], &["no-such-command"]);
    let help = edgeplane(&["--help".as_ref()]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("inspect") && text.contains("tensor") && text.contains("devices"));
}
