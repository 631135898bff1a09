//! What a model is built from: typed metadata and named tensors. A GGUF file is the usual
//! source ([`crate::gguf`]); tests can also build one in memory. Keeping this a small trait
//! keeps the model and tokenizer code independent of the file format's details.

use crate::error::{Error, Result};
use crate::tensor::{Bytes, TensorDesc};
use std::collections::BTreeMap;

/// A metadata value, with GGUF's integer and float widths folded together.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    /// Any integer type.
    Int(i64),
    /// f32 or f64.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
    /// An array of values.
    Array(Vec<MetaValue>),
}

/// Metadata by key and tensors by name.
pub trait ModelSource {
    /// The value under `key`, if present.
    fn metadata(&self, key: &str) -> Option<MetaValue>;

    /// The tensor named `name` (its description in edgeplane's row-major order and its
    /// bytes), or `None` when the source has no such tensor.
    fn tensor(&self, name: &str) -> Option<(TensorDesc, Bytes)>;

    /// A name for messages (the file path).
    fn describe(&self) -> String;
}

/// Typed reads of metadata, with errors that name the key.
pub(crate) struct Meta<'a> {
    pub source: &'a dyn ModelSource,
}

impl Meta<'_> {
    fn wrong_type(&self, key: &str, want: &str, got: &MetaValue) -> Error {
        Error::Model(format!(
            "{}: metadata {key} should be {want}, found {got:?}",
            self.source.describe()
        ))
    }

    fn missing(&self, key: &str) -> Error {
        Error::Model(format!(
            "{}: required metadata key {key} is missing",
            self.source.describe()
        ))
    }

    /// An unsigned integer, if present.
    pub fn opt_usize(&self, key: &str) -> Result<Option<usize>> {
        match self.source.metadata(key) {
            None => Ok(None),
            Some(MetaValue::Int(v)) => usize::try_from(v)
                .map(Some)
                .map_err(|_| self.wrong_type(key, "a non-negative integer", &MetaValue::Int(v))),
            Some(other) => Err(self.wrong_type(key, "an integer", &other)),
        }
    }

    /// A required unsigned integer.
    pub fn usize(&self, key: &str) -> Result<usize> {
        self.opt_usize(key)?.ok_or_else(|| self.missing(key))
    }

    /// A float (integers are accepted), if present.
    pub fn opt_f32(&self, key: &str) -> Result<Option<f32>> {
        match self.source.metadata(key) {
            None => Ok(None),
            Some(MetaValue::Float(v)) => Ok(Some(v as f32)),
            Some(MetaValue::Int(v)) => Ok(Some(v as f32)),
            Some(other) => Err(self.wrong_type(key, "a number", &other)),
        }
    }

    /// A boolean, if present.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        match self.source.metadata(key) {
            None => Ok(None),
            Some(MetaValue::Bool(v)) => Ok(Some(v)),
            Some(other) => Err(self.wrong_type(key, "a boolean", &other)),
        }
    }

    /// A string, if present.
    pub fn opt_str(&self, key: &str) -> Result<Option<String>> {
        match self.source.metadata(key) {
            None => Ok(None),
            Some(MetaValue::Str(v)) => Ok(Some(v)),
            Some(other) => Err(self.wrong_type(key, "a string", &other)),
        }
    }

    /// A required string.
    pub fn str(&self, key: &str) -> Result<String> {
        self.opt_str(key)?.ok_or_else(|| self.missing(key))
    }

    fn opt_array(&self, key: &str) -> Result<Option<Vec<MetaValue>>> {
        match self.source.metadata(key) {
            None => Ok(None),
            Some(MetaValue::Array(v)) => Ok(Some(v)),
            Some(other) => Err(self.wrong_type(key, "an array", &other)),
        }
    }

    /// An array of strings, if present.
    pub fn opt_str_array(&self, key: &str) -> Result<Option<Vec<String>>> {
        let Some(values) = self.opt_array(key)? else {
            return Ok(None);
        };
        values
            .into_iter()
            .map(|v| match v {
                MetaValue::Str(s) => Ok(s),
                other => Err(self.wrong_type(key, "an array of strings", &other)),
            })
            .collect::<Result<_>>()
            .map(Some)
    }

    /// An array of numbers as f32, if present.
    pub fn opt_f32_array(&self, key: &str) -> Result<Option<Vec<f32>>> {
        let Some(values) = self.opt_array(key)? else {
            return Ok(None);
        };
        values
            .into_iter()
            .map(|v| match v {
                MetaValue::Float(f) => Ok(f as f32),
                MetaValue::Int(i) => Ok(i as f32),
                other => Err(self.wrong_type(key, "an array of numbers", &other)),
            })
            .collect::<Result<_>>()
            .map(Some)
    }

    /// An array of integers as i32, if present.
    pub fn opt_i32_array(&self, key: &str) -> Result<Option<Vec<i32>>> {
        let Some(values) = self.opt_array(key)? else {
            return Ok(None);
        };
        values
            .into_iter()
            .map(|v| match v {
                MetaValue::Int(i) => i32::try_from(i)
                    .map_err(|_| self.wrong_type(key, "an array of 32-bit integers", &v)),
                other => Err(self.wrong_type(key, "an array of integers", &other)),
            })
            .collect::<Result<_>>()
            .map(Some)
    }
}

/// A model held in memory: for tests, and for building a model before writing it out.
#[derive(Clone, Debug, Default)]
pub struct MemorySource {
    /// Metadata by key.
    pub metadata: BTreeMap<String, MetaValue>,
    /// Tensors by name, in insertion order.
    pub tensors: Vec<(String, TensorDesc, Bytes)>,
}

impl MemorySource {
    /// Sets a metadata value.
    pub fn set(&mut self, key: impl Into<String>, value: MetaValue) {
        self.metadata.insert(key.into(), value);
    }

    /// Adds a tensor (replacing one of the same name).
    pub fn add_tensor(&mut self, name: impl Into<String>, desc: TensorDesc, bytes: Bytes) {
        let name = name.into();
        self.tensors.retain(|(n, _, _)| *n != name);
        self.tensors.push((name, desc, bytes));
    }

    /// Removes a tensor; returns whether it was there.
    pub fn remove_tensor(&mut self, name: &str) -> bool {
        let before = self.tensors.len();
        self.tensors.retain(|(n, _, _)| n != name);
        before != self.tensors.len()
    }
}

impl ModelSource for MemorySource {
    fn metadata(&self, key: &str) -> Option<MetaValue> {
        self.metadata.get(key).cloned()
    }

    fn tensor(&self, name: &str) -> Option<(TensorDesc, Bytes)> {
        self.tensors
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, d, b)| (d.clone(), b.clone()))
    }

    fn describe(&self) -> String {
        "in-memory model".into()
    }
}
