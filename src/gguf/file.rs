//! [`GgufFile`]: a parsed, validated GGUF file whose tensor bytes stay in the memory map.
//!
//! Parsing checks everything up front (header, metadata, tensor infos, the data layout), so
//! that once `open` succeeds every tensor's byte range is known to lie inside the file,
//! aligned and disjoint, and `tensor_bytes` cannot fail for a listed tensor.

use super::limits::{
    DEFAULT_ALIGNMENT, MAX_DIMS, MAX_KEY_BYTES, MAX_KV_COUNT, MAX_NAME_BYTES, MAX_TENSOR_COUNT,
};
use super::reader::Cursor;
use super::value::{Value, ValueType};
use super::GGUF_MAGIC;
use crate::error::{Error, Result};
use crate::tensor::{Bytes, Shape, TensorDesc};
use crate::DType;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The bytes a file was parsed from: a memory map or, for tests and fuzzing, a buffer.
pub type Storage = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// One metadata entry, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    /// The key (`"general.architecture"`).
    pub key: String,
    /// The value.
    pub value: Value,
    /// Byte offset of the entry in the file, for error messages about it.
    pub offset: u64,
}

/// One tensor's entry in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    /// The tensor's name.
    pub name: String,
    /// dtype and row-major shape (GGUF's `ne` reversed).
    pub desc: TensorDesc,
    /// Offset of the data relative to the start of the data section, as stored.
    pub relative_offset: u64,
    /// Absolute byte range of the data in the file.
    pub range: Range<u64>,
    /// Byte offset of the tensor's info record in the file.
    pub info_offset: u64,
}

impl TensorInfo {
    /// Bytes of data.
    pub fn byte_len(&self) -> u64 {
        self.range.end - self.range.start
    }
}

/// A validated GGUF file (version 2 or 3).
pub struct GgufFile {
    storage: Storage,
    path: Option<PathBuf>,
    version: u32,
    alignment: u64,
    data_offset: u64,
    metadata: Vec<KeyValue>,
    key_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("metadata", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl GgufFile {
    /// Maps and parses the file at `path`. Errors: `Io` if it cannot be opened or mapped,
    /// `Gguf` if its contents are malformed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        // Mapping an empty file fails on some systems; an empty buffer gives the proper
        // "truncated" error instead.
        let storage: Storage = if len == 0 {
            Arc::new(Vec::<u8>::new())
        } else {
            // SAFETY: the map is read-only and private to this process. Another process
            // truncating or rewriting the file while it is mapped would change the bytes
            // under us (or fault); that is the accepted contract of every mmap-based model
            // loader (ggml's included), and we never hand out references that outlive the
            // `Arc` holding the map.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
            Arc::new(map)
        };
        let mut parsed = Self::from_bytes(storage)?;
        parsed.path = Some(path.to_path_buf());
        Ok(parsed)
    }

    /// Parses a file held in memory (tests, fuzzing, files made by the writer).
    pub fn from_bytes(storage: Storage) -> Result<Self> {
        let header = parse((*storage).as_ref())?;
        Ok(GgufFile {
            storage,
            path: None,
            version: header.version,
            alignment: header.alignment,
            data_offset: header.data_offset,
            key_index: header
                .metadata
                .iter()
                .enumerate()
                .map(|(i, kv)| (kv.key.clone(), i))
                .collect(),
            metadata: header.metadata,
            tensor_index: header
                .tensors
                .iter()
                .enumerate()
                .map(|(i, t)| (t.name.clone(), i))
                .collect(),
            tensors: header.tensors,
        })
    }

    /// Parses a buffer (a shorthand for [`GgufFile::from_bytes`]).
    pub fn from_vec(bytes: Vec<u8>) -> Result<Self> {
        Self::from_bytes(Arc::new(bytes))
    }

    /// The path the file was opened from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A name for messages: the path, or `<memory>`.
    pub fn describe(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => "<memory>".into(),
        }
    }

    /// The format version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The data alignment (`general.alignment`, default 32).
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Absolute offset of the tensor data section.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// Size of the file in bytes.
    pub fn file_len(&self) -> u64 {
        (*self.storage).as_ref().len() as u64
    }

    /// Every metadata entry, in file order.
    pub fn metadata(&self) -> &[KeyValue] {
        &self.metadata
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.key_index.get(key).map(|&i| &self.metadata[i].value)
    }

    /// A required value converted by `convert`; a `Gguf` error naming the key when it is
    /// missing or of the wrong type.
    fn typed<'a, T>(
        &'a self,
        key: &str,
        want: &str,
        convert: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<T> {
        let i = *self.key_index.get(key).ok_or_else(|| {
            Error::gguf(
                0,
                format!("{}: metadata key '{key}' is missing", self.describe()),
            )
        })?;
        let kv = &self.metadata[i];
        convert(&kv.value).ok_or_else(|| {
            Error::gguf(
                kv.offset,
                format!(
                    "{}: metadata key '{key}' should be {want}, found {}",
                    self.describe(),
                    kv.value.display_abbreviated(4)
                ),
            )
        })
    }

    /// A required integer that fits in u32.
    pub fn get_u32(&self, key: &str) -> Result<u32> {
        self.typed(key, "an integer fitting u32", Value::get_u32)
    }

    /// A required integer that fits in u64.
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        self.typed(key, "an integer fitting u64", Value::get_u64)
    }

    /// A required float.
    pub fn get_f32(&self, key: &str) -> Result<f32> {
        self.typed(key, "a float", Value::get_f32)
    }

    /// A required bool.
    pub fn get_bool(&self, key: &str) -> Result<bool> {
        self.typed(key, "a bool", Value::get_bool)
    }

    /// A required string.
    pub fn get_str(&self, key: &str) -> Result<&str> {
        self.typed(key, "a string", Value::get_str)
    }

    /// A required array of strings.
    pub fn get_str_array(&self, key: &str) -> Result<&[String]> {
        self.typed(key, "an array of strings", Value::get_str_array)
    }

    /// Every tensor, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }

    /// The tensor's bytes, sharing the map (no copy). `InvalidInput` if there is no such
    /// tensor.
    pub fn tensor_bytes(&self, name: &str) -> Result<Bytes> {
        let info = self.tensor(name).ok_or_else(|| {
            Error::InvalidInput(format!("{}: no tensor named '{name}'", self.describe()))
        })?;
        // Parsing proved the range lies inside the file, which fits in memory, so the
        // conversions cannot fail; they are checked anyway rather than cast.
        let start = usize::try_from(info.range.start);
        let end = usize::try_from(info.range.end);
        match (start, end) {
            (Ok(start), Ok(end)) => Bytes::slice_of(self.storage.clone(), start..end),
            _ => Err(Error::gguf(
                info.info_offset,
                format!("tensor '{name}' range"),
            )),
        }
    }
}

/// What parsing produces.
struct Parsed {
    version: u32,
    alignment: u64,
    data_offset: u64,
    metadata: Vec<KeyValue>,
    tensors: Vec<TensorInfo>,
}

/// Parses and validates a whole file.
fn parse(data: &[u8]) -> Result<Parsed> {
    let mut cur = Cursor::new(data);
    let magic = cur.take(4, &|| "the magic".into())?;
    if magic != GGUF_MAGIC {
        return Err(Error::gguf(
            0,
            format!("bad magic {magic:02x?}: not a GGUF file (expected \"GGUF\")"),
        ));
    }
    let version = cur.u32(&|| "the version".into())?;
    match version {
        2 | 3 => {}
        1 => return Err(Error::gguf(4, "version 1 is not supported (only 2 and 3)")),
        v if matches!(v.swap_bytes(), 2 | 3) => {
            return Err(Error::gguf(
                4,
                format!(
                    "big-endian GGUF (version {}) is not supported",
                    v.swap_bytes()
                ),
            ))
        }
        v => {
            return Err(Error::gguf(
                4,
                format!("unsupported version {v} (only 2 and 3)"),
            ))
        }
    }
    let tensor_count_offset = cur.offset();
    let tensor_count = cur.u64(&|| "the tensor count".into())?;
    let kv_count_offset = cur.offset();
    let kv_count = cur.u64(&|| "the metadata count".into())?;
    // A count is refused if it passes the limit or if the rest of the file cannot hold
    // that many minimal records (a kv pair is at least 13 bytes, a tensor info 32).
    check_count(
        tensor_count,
        MAX_TENSOR_COUNT,
        32,
        &cur,
        tensor_count_offset,
        "tensor",
    )?;
    check_count(
        kv_count,
        MAX_KV_COUNT,
        13,
        &cur,
        kv_count_offset,
        "metadata",
    )?;

    let metadata = parse_metadata(&mut cur, kv_count as usize)?;
    let alignment = alignment_of(&metadata)?;
    let infos = parse_tensor_infos(&mut cur, tensor_count as usize)?;
    let data_offset = align_up(cur.offset(), alignment)
        .ok_or_else(|| cur.error("data section offset overflows"))?;
    let tensors = place_tensors(infos, data_offset, alignment, data.len() as u64)?;
    Ok(Parsed {
        version,
        alignment,
        data_offset,
        metadata,
        tensors,
    })
}

/// Refuses a record count over `limit` or more than the remaining bytes can hold.
fn check_count(
    count: u64,
    limit: u64,
    min_record_bytes: u64,
    cur: &Cursor<'_>,
    offset: u64,
    what: &str,
) -> Result<()> {
    if count > limit {
        return Err(Error::gguf(
            offset,
            format!("{what} count {count} is over the limit of {limit}"),
        ));
    }
    if count > cur.remaining() / min_record_bytes {
        return Err(Error::gguf(
            offset,
            format!(
                "{what} count {count} cannot fit in the {} bytes left",
                cur.remaining()
            ),
        ));
    }
    Ok(())
}

/// The key-value section.
fn parse_metadata(cur: &mut Cursor<'_>, count: usize) -> Result<Vec<KeyValue>> {
    let mut metadata = Vec::with_capacity(count);
    let mut seen = HashMap::with_capacity(count);
    for i in 0..count {
        let offset = cur.offset();
        let key = cur.string(MAX_KEY_BYTES, &|| format!("key of metadata entry {i}"))?;
        let type_offset = cur.offset();
        let raw_type = cur.u32(&|| format!("type of key '{key}'"))?;
        let ty = ValueType::from_u32(raw_type).ok_or_else(|| {
            Error::gguf(
                type_offset,
                format!("key '{key}': unknown value type {raw_type}"),
            )
        })?;
        let value = cur.value(ty, &key, 0)?;
        if let Some(first) = seen.insert(key.clone(), offset) {
            return Err(Error::gguf(
                offset,
                format!("duplicate metadata key '{key}' (first at byte {first})"),
            ));
        }
        metadata.push(KeyValue { key, value, offset });
    }
    Ok(metadata)
}

/// `general.alignment`: a nonzero power of two stored as uint32 (the spec's type), or 32.
fn alignment_of(metadata: &[KeyValue]) -> Result<u64> {
    let Some(kv) = metadata.iter().find(|kv| kv.key == "general.alignment") else {
        return Ok(DEFAULT_ALIGNMENT);
    };
    match kv.value {
        Value::U32(a) if a.is_power_of_two() => Ok(a.into()),
        Value::U32(a) => Err(Error::gguf(
            kv.offset,
            format!("general.alignment {a} is not a nonzero power of two"),
        )),
        ref other => Err(Error::gguf(
            kv.offset,
            format!(
                "general.alignment must be uint32, found {}",
                other.value_type()
            ),
        )),
    }
}

/// A tensor info as read, before its place in the file is checked.
struct RawInfo {
    name: String,
    desc: TensorDesc,
    byte_len: u64,
    relative_offset: u64,
    info_offset: u64,
}

/// The tensor info section.
fn parse_tensor_infos(cur: &mut Cursor<'_>, count: usize) -> Result<Vec<RawInfo>> {
    let mut infos = Vec::with_capacity(count);
    let mut seen: HashMap<String, u64> = HashMap::with_capacity(count);
    for i in 0..count {
        let info_offset = cur.offset();
        let name = cur.string(MAX_NAME_BYTES, &|| format!("name of tensor {i}"))?;
        if let Some(first) = seen.get(&name) {
            return Err(Error::gguf(
                info_offset,
                format!("duplicate tensor name '{name}' (first at byte {first})"),
            ));
        }
        let info = parse_tensor_info(cur, name, info_offset)?;
        seen.insert(info.name.clone(), info_offset);
        infos.push(info);
    }
    Ok(infos)
}

/// One tensor info after its name: dims, type, offset; sizes checked with no overflow.
fn parse_tensor_info(cur: &mut Cursor<'_>, name: String, info_offset: u64) -> Result<RawInfo> {
    let dims_offset = cur.offset();
    let n_dims = cur.u32(&|| format!("dimension count of tensor '{name}'"))?;
    if n_dims == 0 || n_dims > MAX_DIMS {
        return Err(Error::gguf(
            dims_offset,
            format!("tensor '{name}' has {n_dims} dimensions (1 to {MAX_DIMS} allowed)"),
        ));
    }
    let mut ne = Vec::with_capacity(n_dims as usize);
    let mut elements: u64 = 1;
    for d in 0..n_dims {
        let dim_offset = cur.offset();
        let dim = cur.u64(&|| format!("dimension {d} of tensor '{name}'"))?;
        if dim == 0 {
            return Err(Error::gguf(
                dim_offset,
                format!("tensor '{name}' has dimension {d} of size 0"),
            ));
        }
        // ggml counts elements in int64_t, so the product must fit in i64.
        elements = elements
            .checked_mul(dim)
            .filter(|&e| e <= i64::MAX as u64 && usize::try_from(e).is_ok())
            .ok_or_else(|| {
                Error::gguf(
                    dim_offset,
                    format!("tensor '{name}': the product of its dimensions overflows"),
                )
            })?;
        ne.push(dim);
    }
    let type_offset = cur.offset();
    let raw_type = cur.u32(&|| format!("type of tensor '{name}'"))?;
    let dtype = DType::from_ggml_type(raw_type).ok_or_else(|| {
        Error::gguf(
            type_offset,
            format!("tensor '{name}' has unknown ggml type {raw_type}"),
        )
    })?;
    if ne[0] % dtype.block_size() as u64 != 0 {
        return Err(Error::gguf(
            type_offset,
            format!(
                "tensor '{name}': rows of {} values are not a whole number of {}-value {dtype} blocks",
                ne[0],
                dtype.block_size()
            ),
        ));
    }
    let byte_len = dtype.bytes_for(elements).ok_or_else(|| {
        Error::gguf(
            type_offset,
            format!("tensor '{name}': byte size of {elements} {dtype} values overflows"),
        )
    })?;
    let relative_offset = cur.u64(&|| format!("data offset of tensor '{name}'"))?;
    Ok(RawInfo {
        desc: TensorDesc {
            dtype,
            shape: Shape::from_ggml_ne(&ne),
        },
        name,
        byte_len,
        relative_offset,
        info_offset,
    })
}

/// Checks each tensor's data: aligned, inside the file, not overlapping another.
fn place_tensors(
    infos: Vec<RawInfo>,
    data_offset: u64,
    alignment: u64,
    file_len: u64,
) -> Result<Vec<TensorInfo>> {
    let mut tensors = Vec::with_capacity(infos.len());
    for raw in infos {
        let name = &raw.name;
        if raw.relative_offset % alignment != 0 {
            return Err(Error::gguf(
                raw.info_offset,
                format!(
                    "tensor '{name}': data offset {} is not a multiple of the alignment {alignment}",
                    raw.relative_offset
                ),
            ));
        }
        let range = data_offset
            .checked_add(raw.relative_offset)
            .and_then(|start| Some(start..start.checked_add(raw.byte_len)?))
            .filter(|r| r.end <= file_len)
            .ok_or_else(|| {
                Error::gguf(
                    raw.info_offset,
                    format!(
                        "tensor '{name}': {} bytes at data offset {} lie outside the file ({file_len} bytes, data section at {data_offset})",
                        raw.byte_len, raw.relative_offset
                    ),
                )
            })?;
        tensors.push(TensorInfo {
            name: raw.name,
            desc: raw.desc,
            relative_offset: raw.relative_offset,
            range,
            info_offset: raw.info_offset,
        });
    }
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by_key(|&i| (tensors[i].range.start, tensors[i].range.end));
    for pair in order.windows(2) {
        let (a, b) = (&tensors[pair[0]], &tensors[pair[1]]);
        if b.range.start < a.range.end {
            return Err(Error::gguf(
                b.info_offset,
                format!(
                    "tensor '{}' (bytes {:?}) overlaps tensor '{}' (bytes {:?})",
                    b.name, b.range, a.name, a.range
                ),
            ));
        }
    }
    Ok(tensors)
}

/// `offset` rounded up to a multiple of `alignment` (a power of two), or `None` on overflow.
pub(crate) fn align_up(offset: u64, alignment: u64) -> Option<u64> {
    Some(offset.checked_add(alignment - 1)? & !(alignment - 1))
}
