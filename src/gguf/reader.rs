//! A little-endian cursor over a GGUF file's bytes that trusts nothing: every length is
//! compared with the bytes left (and with a limit) before anything is allocated, and every
//! failure is an [`Error::Gguf`] carrying the byte offset and what was being read.

use super::limits::{MAX_ARRAY_DEPTH, MAX_STRING_BYTES};
use super::value::{Array, Value, ValueType};
use crate::error::{Error, Result};

/// Reads GGUF's primitive encodings from a byte slice.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data, pos: 0 }
    }

    /// Current byte offset.
    pub fn offset(&self) -> u64 {
        self.pos as u64
    }

    /// Bytes left after the cursor.
    pub fn remaining(&self) -> u64 {
        (self.data.len() - self.pos) as u64
    }

    /// An error at the current offset.
    pub fn error(&self, reason: impl Into<String>) -> Error {
        Error::gguf(self.offset(), reason)
    }

    /// The next `n` bytes; a truncation error naming `what` if fewer remain.
    pub fn take(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.error(format!(
                "file truncated: {} needs {n} bytes, only {} remain",
                what(),
                self.remaining()
            )));
        }
        // `n <= remaining <= usize::MAX`, so the cast and the addition cannot overflow.
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.data[start..self.pos])
    }

    /// A fixed-size little-endian field.
    fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N]> {
        let bytes = self.take(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// A u32.
    pub fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A u64.
    pub fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A GGUF string (u64 length + bytes) of at most `limit` bytes. Invalid UTF-8 is
    /// replaced rather than refused: llama.cpp stores raw bytes and some vocabularies
    /// hold token pieces that are not valid on their own.
    pub fn string(&mut self, limit: u64, what: &dyn Fn() -> String) -> Result<String> {
        let start = self.offset();
        let len = self.u64(&|| format!("length of {}", what()))?;
        if len > limit {
            return Err(Error::gguf(
                start,
                format!("{} is {len} bytes long, over the limit of {limit}", what()),
            ));
        }
        let bytes = self.take(len, what)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    /// A value of type `ty` for metadata key `key`; `depth` counts enclosing arrays.
    pub fn value(&mut self, ty: ValueType, key: &str, depth: u32) -> Result<Value> {
        let what = || format!("value of key '{key}'");
        Ok(match ty {
            ValueType::U8 => Value::U8(u8::from_le_bytes(self.array(&what)?)),
            ValueType::I8 => Value::I8(i8::from_le_bytes(self.array(&what)?)),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.array(&what)?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.array(&what)?)),
            ValueType::U32 => Value::U32(u32::from_le_bytes(self.array(&what)?)),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.array(&what)?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.array(&what)?)),
            ValueType::U64 => Value::U64(u64::from_le_bytes(self.array(&what)?)),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.array(&what)?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.array(&what)?)),
            ValueType::Bool => {
                let byte = self.array::<1>(&what)?[0];
                Value::Bool(self.bool_byte(byte, key)?)
            }
            ValueType::String => Value::String(self.string(MAX_STRING_BYTES, &what)?),
            ValueType::Array => Value::Array(self.array_value(key, depth + 1)?),
        })
    }

    /// A bool byte: 0 or 1, anything else is refused.
    fn bool_byte(&self, byte: u8, key: &str) -> Result<bool> {
        match byte {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(Error::gguf(
                self.offset() - 1,
                format!("key '{key}': bool byte is {other}, not 0 or 1"),
            )),
        }
    }

    /// An array (element type, count, elements) at nesting depth `depth` (1 = outermost).
    fn array_value(&mut self, key: &str, depth: u32) -> Result<Array> {
        if depth > MAX_ARRAY_DEPTH {
            return Err(self.error(format!(
                "key '{key}': arrays nested deeper than {MAX_ARRAY_DEPTH} levels"
            )));
        }
        let type_offset = self.offset();
        let raw_type = self.u32(&|| format!("array type of key '{key}'"))?;
        let ty = ValueType::from_u32(raw_type).ok_or_else(|| {
            Error::gguf(
                type_offset,
                format!("key '{key}': unknown array element type {raw_type}"),
            )
        })?;
        let count_offset = self.offset();
        let count = self.u64(&|| format!("array length of key '{key}'"))?;
        // Each element takes at least `min_encoded_bytes`, so a count the rest of the file
        // cannot hold is refused here, before any allocation.
        let max_count = self.remaining() / ty.min_encoded_bytes();
        if count > max_count {
            return Err(Error::gguf(
                count_offset,
                format!(
                    "key '{key}': array of {count} {ty} elements cannot fit in the {} bytes left",
                    self.remaining()
                ),
            ));
        }
        let n = count as usize;
        let what = || format!("elements of array '{key}'");
        Ok(match ty {
            ValueType::U8 => Array::U8(self.take(count, &what)?.to_vec()),
            ValueType::I8 => Array::I8(self.fixed(n, &what, i8::from_le_bytes)?),
            ValueType::U16 => Array::U16(self.fixed(n, &what, u16::from_le_bytes)?),
            ValueType::I16 => Array::I16(self.fixed(n, &what, i16::from_le_bytes)?),
            ValueType::U32 => Array::U32(self.fixed(n, &what, u32::from_le_bytes)?),
            ValueType::I32 => Array::I32(self.fixed(n, &what, i32::from_le_bytes)?),
            ValueType::F32 => Array::F32(self.fixed(n, &what, f32::from_le_bytes)?),
            ValueType::U64 => Array::U64(self.fixed(n, &what, u64::from_le_bytes)?),
            ValueType::I64 => Array::I64(self.fixed(n, &what, i64::from_le_bytes)?),
            ValueType::F64 => Array::F64(self.fixed(n, &what, f64::from_le_bytes)?),
            ValueType::Bool => {
                let bytes = self.take(count, &what)?;
                let mut out = Vec::with_capacity(n);
                for &b in bytes {
                    out.push(self.bool_byte(b, key)?);
                }
                Array::Bool(out)
            }
            ValueType::String => {
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    out.push(
                        self.string(MAX_STRING_BYTES, &|| format!("string {i} of array '{key}'"))?,
                    );
                }
                Array::String(out)
            }
            ValueType::Array => {
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    out.push(self.array_value(key, depth + 1)?);
                }
                Array::Array(out)
            }
        })
    }

    /// `n` fixed-size little-endian elements (the bytes are checked before allocating).
    fn fixed<T, const N: usize>(
        &mut self,
        n: usize,
        what: &dyn Fn() -> String,
        decode: fn([u8; N]) -> T,
    ) -> Result<Vec<T>> {
        let total = (n as u64)
            .checked_mul(N as u64)
            .ok_or_else(|| self.error(format!("{}: byte size overflows", what())))?;
        let bytes = self.take(total, what)?;
        Ok(bytes
            .chunks_exact(N)
            .map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                decode(a)
            })
            .collect())
    }
}
