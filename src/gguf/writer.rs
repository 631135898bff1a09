//! [`GgufWriter`]: builds GGUF version 3 files, for tests, fuzz seeds and tools.
//!
//! The writer checks what it is given (sizes match descriptions, no duplicate names, a
//! valid alignment), so every file it writes is one the reader accepts.

use super::file::align_up;
use super::limits::DEFAULT_ALIGNMENT;
use super::value::{Array, Value};
use super::GGUF_MAGIC;
use crate::error::{Error, Result};
use crate::tensor::{Bytes, TensorDesc};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// Collects metadata and tensors, then writes them as one GGUF v3 file.
#[derive(Debug, Default)]
pub struct GgufWriter {
    metadata: Vec<(String, Value)>,
    tensors: Vec<(String, TensorDesc, Bytes)>,
    keys: HashSet<String>,
    names: HashSet<String>,
    alignment: Option<u64>,
}

impl GgufWriter {
    /// An empty file (alignment 32 unless `general.alignment` is added).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a metadata entry. `general.alignment` must be a uint32 power of two; it sets
    /// the data alignment. `InvalidInput` for a duplicate key or a bad alignment.
    pub fn add_metadata(&mut self, key: impl Into<String>, value: Value) -> Result<&mut Self> {
        let key = key.into();
        if key == "general.alignment" {
            match value {
                Value::U32(a) if a.is_power_of_two() => self.alignment = Some(a.into()),
                ref other => {
                    return Err(Error::InvalidInput(format!(
                        "general.alignment must be a uint32 power of two, got {other:?}"
                    )))
                }
            }
        }
        if !self.keys.insert(key.clone()) {
            return Err(Error::InvalidInput(format!(
                "duplicate metadata key '{key}'"
            )));
        }
        self.metadata.push((key, value));
        Ok(self)
    }

    /// Adds a tensor. `bytes` must be exactly `desc.byte_len()` long; names are unique.
    pub fn add_tensor(
        &mut self,
        name: impl Into<String>,
        desc: TensorDesc,
        bytes: impl Into<Bytes>,
    ) -> Result<&mut Self> {
        let name = name.into();
        let bytes = bytes.into();
        if desc.shape.rank() == 0 || desc.shape.rank() > 4 {
            return Err(Error::InvalidInput(format!(
                "tensor '{name}': GGUF holds 1 to 4 dimensions, not {}",
                desc.shape.rank()
            )));
        }
        let want = desc.byte_len()?;
        if bytes.len() != want || want == 0 {
            return Err(Error::InvalidInput(format!(
                "tensor '{name}': {desc} needs {want} bytes, got {}",
                bytes.len()
            )));
        }
        if !self.names.insert(name.clone()) {
            return Err(Error::InvalidInput(format!(
                "duplicate tensor name '{name}'"
            )));
        }
        self.tensors.push((name, desc, bytes));
        Ok(self)
    }

    /// The data alignment in use.
    pub fn alignment(&self) -> u64 {
        self.alignment.unwrap_or(DEFAULT_ALIGNMENT)
    }

    /// The whole file in memory.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_to(&mut out)
            .map_err(|e| Error::io("<memory>", e))?;
        Ok(out)
    }

    /// Writes the file to `path`.
    pub fn write_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        let mut w = std::io::BufWriter::new(file);
        self.write_to(&mut w)
            .and_then(|()| w.flush())
            .map_err(|e| Error::io(path, e))
    }

    /// Writes the file: header, metadata, tensor infos, padding, aligned tensor data.
    pub fn write_to(&self, w: &mut dyn Write) -> std::io::Result<()> {
        let alignment = self.alignment();
        let mut header = Vec::new();
        header.extend_from_slice(&GGUF_MAGIC);
        header.extend_from_slice(&3u32.to_le_bytes());
        header.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        header.extend_from_slice(&(self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            put_str(&mut header, key);
            header.extend_from_slice(&(value.value_type() as u32).to_le_bytes());
            put_value(&mut header, value);
        }
        let mut offset = 0u64;
        let mut offsets = Vec::with_capacity(self.tensors.len());
        for (name, desc, bytes) in &self.tensors {
            put_str(&mut header, name);
            let ne = desc.shape.to_ggml_ne();
            header.extend_from_slice(&(ne.len() as u32).to_le_bytes());
            for d in ne {
                header.extend_from_slice(&d.to_le_bytes());
            }
            header.extend_from_slice(&desc.dtype.ggml_type().to_le_bytes());
            header.extend_from_slice(&offset.to_le_bytes());
            offsets.push(offset);
            offset = align_up(offset + bytes.len() as u64, alignment).ok_or_else(overflow)?;
        }
        let data_start = align_up(header.len() as u64, alignment).ok_or_else(overflow)?;
        header.resize(data_start as usize, 0);
        w.write_all(&header)?;
        let mut written = 0u64;
        for ((_, _, bytes), &at) in self.tensors.iter().zip(&offsets) {
            w.write_all(&vec![0u8; (at - written) as usize])?;
            w.write_all(bytes.as_slice())?;
            written = at + bytes.len() as u64;
        }
        // Pad the last tensor too, as ggml's writer does, so files concatenate cleanly.
        w.write_all(&vec![0u8; (offset - written) as usize])?;
        Ok(())
    }
}

fn overflow() -> std::io::Error {
    std::io::Error::other("GGUF layout overflows u64")
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::U8(v) => out.push(*v),
        Value::I8(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I16(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::F32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Bool(v) => out.push(u8::from(*v)),
        Value::String(s) => put_str(out, s),
        Value::Array(a) => put_array(out, a),
        Value::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::F64(v) => out.extend_from_slice(&v.to_le_bytes()),
    }
}

fn put_array(out: &mut Vec<u8>, array: &Array) {
    out.extend_from_slice(&(array.element_type() as u32).to_le_bytes());
    out.extend_from_slice(&(array.len() as u64).to_le_bytes());
    for i in 0..array.len() {
        if let Some(v) = array.get(i) {
            put_value(out, &v);
        }
    }
}
