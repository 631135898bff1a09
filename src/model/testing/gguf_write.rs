//! Writes a [`MemorySource`] as a GGUF v3 file, so llama.cpp and the CLI can load the same
//! test model the in-memory tests use.
//!
//! llama.cpp checks metadata types strictly (a `u32` key written as `i64` is refused), so
//! values are written with the types its converter uses: non-negative integers as `u32`
//! (i64 when larger), integer arrays as `i32` (`tokenizer.ggml.token_type`), floats as
//! `f32`.

use crate::error::{Error, Result};
use crate::model::source::{MemorySource, MetaValue};
use std::io::Write;
use std::path::Path;

/// GGUF's default and llama.cpp's: tensor data offsets are multiples of this.
const ALIGNMENT: usize = 32;

const TYPE_U32: u32 = 4;
const TYPE_I32: u32 = 5;
const TYPE_F32: u32 = 6;
const TYPE_BOOL: u32 = 7;
const TYPE_STRING: u32 = 8;
const TYPE_ARRAY: u32 = 9;
const TYPE_I64: u32 = 11;

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn scalar_type(v: &MetaValue) -> Result<u32> {
    Ok(match v {
        MetaValue::Int(i) if (0..=u32::MAX as i64).contains(i) => TYPE_U32,
        MetaValue::Int(_) => TYPE_I64,
        MetaValue::Float(_) => TYPE_F32,
        MetaValue::Bool(_) => TYPE_BOOL,
        MetaValue::Str(_) => TYPE_STRING,
        MetaValue::Array(_) => {
            return Err(Error::Model("GGUF arrays cannot nest here".into()));
        }
    })
}

fn put_scalar(out: &mut Vec<u8>, v: &MetaValue, ty: u32) -> Result<()> {
    match (v, ty) {
        (MetaValue::Int(i), TYPE_U32) => out.extend_from_slice(&(*i as u32).to_le_bytes()),
        (MetaValue::Int(i), TYPE_I32) => {
            let i = i32::try_from(*i)
                .map_err(|_| Error::Model(format!("{i} does not fit an i32 array")))?;
            out.extend_from_slice(&i.to_le_bytes())
        }
        (MetaValue::Int(i), TYPE_I64) => out.extend_from_slice(&i.to_le_bytes()),
        (MetaValue::Float(f), TYPE_F32) => out.extend_from_slice(&(*f as f32).to_le_bytes()),
        (MetaValue::Bool(b), TYPE_BOOL) => out.push(u8::from(*b)),
        (MetaValue::Str(s), TYPE_STRING) => put_string(out, s),
        (v, _) => {
            return Err(Error::Model(format!(
                "GGUF array elements must share one type, found {v:?}"
            )))
        }
    }
    Ok(())
}

fn put_value(out: &mut Vec<u8>, v: &MetaValue) -> Result<()> {
    match v {
        MetaValue::Array(items) => {
            let ty = match items.first() {
                Some(MetaValue::Int(_)) => TYPE_I32,
                Some(first) => scalar_type(first)?,
                None => TYPE_U32,
            };
            out.extend_from_slice(&TYPE_ARRAY.to_le_bytes());
            out.extend_from_slice(&ty.to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for item in items {
                put_scalar(out, item, ty)?;
            }
        }
        v => {
            let ty = scalar_type(v)?;
            out.extend_from_slice(&ty.to_le_bytes());
            put_scalar(out, v, ty)?;
        }
    }
    Ok(())
}

/// Serializes `source` (metadata, then tensor infos, then aligned tensor data).
pub fn gguf_bytes(source: &MemorySource) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.extend_from_slice(b"GGUF");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(source.tensors.len() as u64).to_le_bytes());
    out.extend_from_slice(&(source.metadata.len() as u64).to_le_bytes());
    for (key, value) in &source.metadata {
        put_string(&mut out, key);
        put_value(&mut out, value)?;
    }
    let mut offset = 0usize;
    let mut offsets = Vec::with_capacity(source.tensors.len());
    for (name, desc, bytes) in &source.tensors {
        put_string(&mut out, name);
        let ne = desc.shape.to_ggml_ne();
        out.extend_from_slice(&(ne.len() as u32).to_le_bytes());
        for d in ne {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(&desc.dtype.ggml_type().to_le_bytes());
        out.extend_from_slice(&(offset as u64).to_le_bytes());
        offsets.push(offset);
        offset = (offset + bytes.len()).next_multiple_of(ALIGNMENT);
    }
    out.resize(out.len().next_multiple_of(ALIGNMENT), 0);
    let data_start = out.len();
    for ((_, _, bytes), at) in source.tensors.iter().zip(offsets) {
        out.resize(data_start + at, 0);
        out.extend_from_slice(bytes.as_slice());
    }
    Ok(out)
}

/// Writes `source` to `path` as GGUF.
pub fn write_gguf(source: &MemorySource, path: &Path) -> Result<()> {
    let bytes = gguf_bytes(source)?;
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(&bytes))
        .map_err(|e| Error::io(path, e))
}
