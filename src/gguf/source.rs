//! A [`GgufFile`] as a [`ModelSource`], so the model code reads GGUF files without knowing
//! the format's value widths.

use super::file::GgufFile;
use super::value::{Array, Value};
use crate::model::{MetaValue, ModelSource};
use crate::tensor::{Bytes, TensorDesc};

impl ModelSource for GgufFile {
    fn metadata(&self, key: &str) -> Option<MetaValue> {
        self.get(key).map(meta_value)
    }

    fn tensor(&self, name: &str) -> Option<(TensorDesc, Bytes)> {
        let info = self.tensor(name)?;
        let bytes = self.tensor_bytes(name).ok()?;
        Some((info.desc.clone(), bytes))
    }

    fn describe(&self) -> String {
        GgufFile::describe(self)
    }
}

/// Folds GGUF's value widths into the model's value kinds. u64 values above i64::MAX
/// become floats rather than wrapping.
fn meta_value(value: &Value) -> MetaValue {
    match value {
        Value::F32(v) => MetaValue::Float((*v).into()),
        Value::F64(v) => MetaValue::Float(*v),
        Value::Bool(v) => MetaValue::Bool(*v),
        Value::String(s) => MetaValue::Str(s.clone()),
        Value::Array(a) => MetaValue::Array(meta_array(a)),
        Value::U64(v) if *v > i64::MAX as u64 => MetaValue::Float(*v as f64),
        other => MetaValue::Int(other.get_i64().unwrap_or_default()),
    }
}

fn meta_array(array: &Array) -> Vec<MetaValue> {
    (0..array.len())
        .filter_map(|i| array.get(i))
        .map(|v| meta_value(&v))
        .collect()
}
