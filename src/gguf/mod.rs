//! GGUF files: a validating reader over mmap and a writer.
//!
//! In the flow of `docs/architecture.md` this is the first step: a model file is opened
//! with [`GgufFile::open`], its metadata configures the model and its tensors reach the
//! backends as [`crate::Bytes`] that share the memory map. Tests, tools and fuzz seeds make
//! files with [`GgufWriter`].
//!
//! The reader trusts nothing. Every count, length, dimension, offset and size is checked
//! against the bytes left in the file and against the limits in [`limits`], with checked
//! arithmetic, before anything is allocated or read; any failure is
//! [`crate::Error::Gguf`] with the byte offset and the key or tensor concerned.

mod file;
mod reader;
mod source;
mod value;
mod writer;

pub use file::{GgufFile, KeyValue, Storage, TensorInfo};
pub use value::{Array, Value, ValueType};
pub use writer::GgufWriter;

/// The four bytes every GGUF file starts with.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";

/// Sanity limits of the reader. Real files are far inside them; a file past them is
/// refused before the reader allocates for it.
pub mod limits {
    /// Most tensors a file may declare (a 400B-parameter model has about 2^12).
    pub const MAX_TENSOR_COUNT: u64 = 1 << 20;
    /// Most metadata entries a file may declare.
    pub const MAX_KV_COUNT: u64 = 1 << 20;
    /// Longest metadata key, in bytes.
    pub const MAX_KEY_BYTES: u64 = 1 << 16;
    /// Longest tensor name, in bytes (ggml itself allows 63).
    pub const MAX_NAME_BYTES: u64 = 1 << 16;
    /// Longest string value, in bytes: chat templates, the longest strings in real
    /// files, are tens of kilobytes.
    pub const MAX_STRING_BYTES: u64 = 1 << 20;
    /// Deepest nesting of arrays in arrays; bounds the reader's recursion.
    pub const MAX_ARRAY_DEPTH: u32 = 8;
    /// Most dimensions of a tensor (ggml's `GGML_MAX_DIMS`).
    pub const MAX_DIMS: u32 = 4;
    /// Data alignment when `general.alignment` is absent.
    pub const DEFAULT_ALIGNMENT: u64 = 32;
}
