//! Writes a [`MemorySource`] as a GGUF v3 file through [`crate::gguf::GgufWriter`], so
//! llama.cpp and the CLI can load the same test model the in-memory tests use.
//!
//! llama.cpp checks metadata types strictly (a `u32` key written as `i64` is refused), so
//! values get the types its converter uses: non-negative integers as `u32` (i64 when
//! larger), integer arrays as `i32` (`tokenizer.ggml.token_type`), floats as `f32`.

use crate::error::{Error, Result};
use crate::gguf::{Array, GgufWriter, Value};
use crate::model::source::{MemorySource, MetaValue};
use std::path::Path;

/// The GGUF value for a model metadata value: integers as u32 when they fit (what
/// llama.cpp's converter writes for counts), else i64; floats as f32; integer arrays as i32.
fn gguf_value(value: &MetaValue) -> Result<Value> {
    Ok(match value {
        MetaValue::Int(i) => match u32::try_from(*i) {
            Ok(u) => Value::U32(u),
            Err(_) => Value::I64(*i),
        },
        MetaValue::Float(f) => Value::F32(*f as f32),
        MetaValue::Bool(b) => Value::Bool(*b),
        MetaValue::Str(s) => Value::String(s.clone()),
        MetaValue::Array(items) => Value::Array(gguf_array(items)?),
    })
}

fn gguf_array(items: &[MetaValue]) -> Result<Array> {
    let mixed = || {
        Error::Model(format!(
            "GGUF array elements must share one type: {items:?}"
        ))
    };
    macro_rules! collect {
        ($variant:ident, $pat:pat => $val:expr) => {
            Array::$variant(
                items
                    .iter()
                    .map(|v| match v {
                        $pat => Ok($val),
                        _ => Err(mixed()),
                    })
                    .collect::<Result<_>>()?,
            )
        };
    }
    Ok(match items.first() {
        None => Array::U32(Vec::new()),
        Some(MetaValue::Int(_)) => collect!(I32, MetaValue::Int(i) =>
            i32::try_from(*i).map_err(|_| Error::Model(format!("{i} does not fit an i32 array")))?),
        Some(MetaValue::Float(_)) => collect!(F32, MetaValue::Float(f) => *f as f32),
        Some(MetaValue::Bool(_)) => collect!(Bool, MetaValue::Bool(b) => *b),
        Some(MetaValue::Str(_)) => collect!(String, MetaValue::Str(s) => s.clone()),
        Some(MetaValue::Array(_)) => {
            return Err(Error::Model("nested arrays in test models".into()))
        }
    })
}

fn writer(source: &MemorySource) -> Result<GgufWriter> {
    let mut w = GgufWriter::new();
    for (key, value) in &source.metadata {
        w.add_metadata(key.clone(), gguf_value(value)?)?;
    }
    for (name, desc, bytes) in &source.tensors {
        w.add_tensor(name.clone(), desc.clone(), bytes.clone())?;
    }
    Ok(w)
}

/// Writes `source` to `path` as GGUF.
pub fn write_gguf(source: &MemorySource, path: &Path) -> Result<()> {
    writer(source)?.write_file(path)
}
