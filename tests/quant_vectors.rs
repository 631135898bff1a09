//! Golden vectors from gguf-py (the reference published with ggml; see
//! tests/vectors/generate.py): every dequantizer must reproduce its f32 output bit for bit,
//! and every quantizer gguf-py implements must reproduce its bytes exactly.

use edgeplane::DType;
use edgeplane_kernels::quant::{dequantize, quantize};
use std::path::{Path, PathBuf};

/// One manifest line: `kind dtype elements input output`.
struct Vector {
    kind: String,
    dtype: DType,
    elements: usize,
    input: Vec<u8>,
    output: Vec<u8>,
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn load_manifest() -> Vec<Vector> {
    let dir = vectors_dir();
    let text = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest.tsv readable");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 5, "manifest line {line:?}");
            let read = |name: &str| std::fs::read(dir.join(name)).expect("vector file readable");
            Vector {
                kind: f[0].to_string(),
                dtype: DType::from_name(f[1]).expect("known dtype name"),
                elements: f[2].parse().expect("element count"),
                input: read(f[3]),
                output: read(f[4]),
            }
        })
        .collect()
}

fn f32_bits(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn every_weight_dtype_has_vectors() {
    let vectors = load_manifest();
    for dtype in DType::WEIGHTS {
        assert!(
            vectors
                .iter()
                .any(|v| v.kind == "dequantize" && v.dtype == dtype),
            "no dequantize vector for {dtype}"
        );
    }
}

#[test]
fn dequantize_matches_gguf_py_bit_for_bit() {
    for v in load_manifest().iter().filter(|v| v.kind == "dequantize") {
        let ours = dequantize(v.dtype, &v.input, v.elements).expect("vector lengths are valid");
        let want = f32_bits(&v.output);
        assert_eq!(want.len(), v.elements, "{}: reference length", v.dtype);
        let mismatches: Vec<usize> = (0..v.elements)
            .filter(|&i| ours[i].to_bits() != want[i])
            .collect();
        if let Some(&i) = mismatches.first() {
            panic!(
                "{}: {} of {} values differ; first at {i} (block {}): ours {:e} ({:#010x}), gguf-py {:e} ({:#010x})",
                v.dtype,
                mismatches.len(),
                v.elements,
                i / v.dtype.block_size(),
                ours[i],
                ours[i].to_bits(),
                f32::from_bits(want[i]),
                want[i]
            );
        }
    }
}

#[test]
fn quantize_matches_gguf_py_bytes() {
    let vectors = load_manifest();
    let quantized: Vec<&Vector> = vectors.iter().filter(|v| v.kind == "quantize").collect();
    assert!(quantized.len() >= 7, "quantize vectors missing");
    for v in quantized {
        let input: Vec<f32> = f32_bits(&v.input).into_iter().map(f32::from_bits).collect();
        assert_eq!(input.len(), v.elements);
        let ours = quantize(v.dtype, &input).expect("vector lengths are valid");
        assert_eq!(ours.len(), v.output.len(), "{}: byte count", v.dtype);
        let block_bytes = v.dtype.block_bytes();
        if let Some(i) = (0..ours.len()).find(|&i| ours[i] != v.output[i]) {
            let block = i / block_bytes;
            let range = block * block_bytes..(block + 1) * block_bytes;
            panic!(
                "{}: byte {i} (block {block}) differs\n ours:    {:02x?}\n gguf-py: {:02x?}",
                v.dtype,
                &ours[range.clone()],
                &v.output[range]
            );
        }
    }
}
