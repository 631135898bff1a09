//! Writes seed files for the `gguf_reader` corpus with edgeplane's own writer:
//! `cargo run --bin make_seeds -- seeds/gguf_reader`.

use edgeplane::gguf::{Array, GgufWriter, Value};
use edgeplane::{DType, TensorDesc};

fn main() -> edgeplane::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "seeds/gguf_reader".into());
    std::fs::create_dir_all(&dir).map_err(|e| edgeplane::Error::io(&dir, e))?;

    let mut small = GgufWriter::new();
    small.add_metadata("general.architecture", Value::String("llama".into()))?;
    small.add_tensor("t", TensorDesc::new(DType::F32, [2, 2]), vec![0u8; 16])?;
    small.write_file(format!("{dir}/small.gguf"))?;

    let mut every = GgufWriter::new();
    every
        .add_metadata("general.alignment", Value::U32(16))?
        .add_metadata("u8", Value::U8(1))?
        .add_metadata("i8", Value::I8(-1))?
        .add_metadata("u16", Value::U16(2))?
        .add_metadata("i16", Value::I16(-2))?
        .add_metadata("u32", Value::U32(3))?
        .add_metadata("i32", Value::I32(-3))?
        .add_metadata("f32", Value::F32(0.5))?
        .add_metadata("bool", Value::Bool(true))?
        .add_metadata("str", Value::String("s".into()))?
        .add_metadata("u64", Value::U64(4))?
        .add_metadata("i64", Value::I64(-4))?
        .add_metadata("f64", Value::F64(0.25))?
        .add_metadata(
            "tokens",
            Value::Array(Array::String(vec!["a".into(), "b".into()])),
        )?
        .add_metadata(
            "nested",
            Value::Array(Array::Array(vec![
                Array::I32(vec![1, 2]),
                Array::Bool(vec![true]),
            ])),
        )?;
    for (i, dtype) in DType::WEIGHTS.into_iter().enumerate() {
        let desc = TensorDesc::new(dtype, [2, dtype.block_size()]);
        let len = desc.byte_len()?;
        let bytes: Vec<u8> = (0..len).map(|b| (b * 31 + i) as u8).collect();
        every.add_tensor(format!("w.{}", dtype.name()), desc, bytes)?;
    }
    every.write_file(format!("{dir}/every_type.gguf"))?;
    Ok(())
}
