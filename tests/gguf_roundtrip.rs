//! GGUF write → read round trips: fixed cases and a property test over random metadata and
//! tensors.

use edgeplane::gguf::{Array, GgufFile, GgufWriter, Value};
use edgeplane::{DType, TensorDesc};
use proptest::prelude::*;

#[test]
fn small_file_round_trips_with_metadata_tensors_and_alignment() {
    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", Value::String("llama".into()))
        .unwrap()
        .add_metadata("general.alignment", Value::U32(64))
        .unwrap()
        .add_metadata(
            "tokenizer.ggml.tokens",
            Value::Array(Array::String(vec!["a".into(), "bc".into()])),
        )
        .unwrap()
        .add_metadata(
            "nested",
            Value::Array(Array::Array(vec![
                Array::U8(vec![1, 2]),
                Array::F64(vec![0.5]),
            ])),
        )
        .unwrap();
    let a: Vec<u8> = (0..4 * 3 * 4).map(|i| i as u8).collect();
    let b: Vec<u8> = (0..18 * 2).map(|i| (i * 7) as u8).collect();
    w.add_tensor("a", TensorDesc::new(DType::F32, [3, 4]), a.clone())
        .unwrap()
        .add_tensor("b", TensorDesc::new(DType::Q4_0, [2, 32]), b.clone())
        .unwrap();
    let file = GgufFile::from_vec(w.to_bytes().unwrap()).unwrap();
    assert_eq!(file.version(), 3);
    assert_eq!(file.alignment(), 64);
    assert_eq!(file.data_offset() % 64, 0);
    assert_eq!(file.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(file.get_u32("general.alignment").unwrap(), 64);
    assert_eq!(
        file.get_str_array("tokenizer.ggml.tokens").unwrap(),
        ["a".to_string(), "bc".to_string()]
    );
    let keys: Vec<&str> = file.metadata().iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "general.architecture",
            "general.alignment",
            "tokenizer.ggml.tokens",
            "nested"
        ]
    );
    assert_eq!(file.tensors().len(), 2);
    let ta = file.tensor("a").unwrap();
    assert_eq!(ta.desc, TensorDesc::new(DType::F32, [3, 4]));
    assert_eq!(file.tensor_bytes("a").unwrap().as_slice(), &a[..]);
    let tb = file.tensor("b").unwrap();
    assert_eq!(tb.relative_offset % 64, 0);
    assert_eq!(tb.desc.shape.dims(), [2, 32]);
    assert_eq!(file.tensor_bytes("b").unwrap().as_slice(), &b[..]);
    assert!(file.tensor_bytes("missing").is_err());
    assert!(file.get_u32("general.architecture").is_err());
}

#[test]
fn open_maps_a_file_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    let mut w = GgufWriter::new();
    let data: Vec<u8> = half::f16::from_f32(1.5).to_le_bytes().repeat(8);
    w.add_tensor("t", TensorDesc::new(DType::F16, [2, 4]), data.clone())
        .unwrap();
    w.write_file(&path).unwrap();
    let file = GgufFile::open(&path).unwrap();
    assert_eq!(file.path(), Some(path.as_path()));
    assert_eq!(file.tensor_bytes("t").unwrap().as_slice(), &data[..]);
}

/// A metadata value of any type, arrays nested up to two levels; floats are finite so
/// equality is meaningful.
fn value_strategy() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        any::<u8>().prop_map(Value::U8),
        any::<i8>().prop_map(Value::I8),
        any::<u16>().prop_map(Value::U16),
        any::<i16>().prop_map(Value::I16),
        any::<u32>().prop_map(Value::U32),
        any::<i32>().prop_map(Value::I32),
        (-1e30f32..1e30).prop_map(Value::F32),
        any::<bool>().prop_map(Value::Bool),
        "\\PC{0,12}".prop_map(Value::String),
        any::<u64>().prop_map(Value::U64),
        any::<i64>().prop_map(Value::I64),
        (-1e300f64..1e300).prop_map(Value::F64),
    ];
    let leaf_array = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..6).prop_map(Array::U8),
        prop::collection::vec(any::<i16>(), 0..6).prop_map(Array::I16),
        prop::collection::vec(-1e6f32..1e6, 0..6).prop_map(Array::F32),
        prop::collection::vec(any::<bool>(), 0..6).prop_map(Array::Bool),
        prop::collection::vec("\\PC{0,6}", 0..6).prop_map(Array::String),
        prop::collection::vec(any::<i64>(), 0..6).prop_map(Array::I64),
        prop::collection::vec(-1e6f64..1e6, 0..6).prop_map(Array::F64),
    ];
    let nested = prop::collection::vec(leaf_array.clone(), 0..3).prop_map(Array::Array);
    prop_oneof![
        4 => scalar,
        2 => leaf_array.prop_map(Value::Array),
        1 => nested.prop_map(Value::Array),
    ]
}

/// A tensor of a random dtype and small shape with random bytes.
fn tensor_strategy() -> impl Strategy<Value = (TensorDesc, Vec<u8>)> {
    (
        prop::sample::select(DType::WEIGHTS.to_vec()),
        prop::collection::vec(1usize..4, 1..4),
    )
        .prop_flat_map(|(dtype, mut dims)| {
            let last = dims.len() - 1;
            dims[last] *= dtype.block_size();
            let desc = TensorDesc::new(dtype, dims);
            let len = desc.byte_len().unwrap();
            (Just(desc), prop::collection::vec(any::<u8>(), len))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_files_round_trip(
        values in prop::collection::vec(value_strategy(), 0..8),
        tensors in prop::collection::vec(tensor_strategy(), 0..5),
        align_log2 in 0u32..8,
    ) {
        let mut w = GgufWriter::new();
        w.add_metadata("general.alignment", Value::U32(1 << align_log2)).unwrap();
        for (i, v) in values.iter().enumerate() {
            w.add_metadata(format!("k{i}"), v.clone()).unwrap();
        }
        for (i, (desc, bytes)) in tensors.iter().enumerate() {
            w.add_tensor(format!("t{i}"), desc.clone(), bytes.clone()).unwrap();
        }
        let file = GgufFile::from_vec(w.to_bytes().unwrap()).unwrap();
        prop_assert_eq!(file.metadata().len(), values.len() + 1);
        for (i, v) in values.iter().enumerate() {
            prop_assert_eq!(file.get(&format!("k{i}")), Some(v));
        }
        prop_assert_eq!(file.tensors().len(), tensors.len());
        for (i, (desc, bytes)) in tensors.iter().enumerate() {
            let name = format!("t{i}");
            prop_assert_eq!(&file.tensor(&name).unwrap().desc, desc);
            let read = file.tensor_bytes(&name).unwrap();
            prop_assert_eq!(read.as_slice(), &bytes[..]);
        }
    }
}
