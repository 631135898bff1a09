//! Hostile GGUF input: each malformed file must give `Error::Gguf` with a reason that says
//! what is wrong and where, never a panic, and never a large allocation. Files are built
//! byte by byte (the writer refuses to make bad files).

use edgeplane::gguf::{GgufFile, GgufWriter, Value};
use edgeplane::{DType, Error, TensorDesc};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Records the largest single allocation each thread makes, so tests can show that a
/// hostile count or length is refused before the reader allocates for it.
struct PeakAllocator;

thread_local! {
    static LARGEST_ALLOCATION: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the bookkeeping touches
// only a const-initialized thread-local Cell, which never allocates.
unsafe impl GlobalAlloc for PeakAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LARGEST_ALLOCATION.try_with(|peak| peak.set(peak.get().max(layout.size())));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = LARGEST_ALLOCATION.try_with(|peak| peak.set(peak.get().max(new_size)));
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: PeakAllocator = PeakAllocator;

/// A GGUF file assembled field by field.
#[derive(Clone, Default)]
struct Raw(Vec<u8>);

const U32: u32 = 4;
const STRING: u32 = 8;
const ARRAY: u32 = 9;
const U64: u32 = 10;

impl Raw {
    /// Magic, version 3 and the two counts.
    fn header(tensors: u64, kvs: u64) -> Self {
        let mut r = Raw::default();
        r.bytes(b"GGUF").u32(3).u64(tensors).u64(kvs);
        r
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }
    fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64).bytes(s.as_bytes())
    }
    /// A uint32 metadata entry.
    fn kv_u32(&mut self, key: &str, v: u32) -> &mut Self {
        self.str(key).u32(U32).u32(v)
    }
    /// A tensor info record.
    fn tensor(&mut self, name: &str, ne: &[u64], ggml_type: u32, offset: u64) -> &mut Self {
        self.str(name).u32(ne.len() as u32);
        for &d in ne {
            self.u64(d);
        }
        self.u32(ggml_type).u64(offset)
    }
    /// Zero padding up to a multiple of `alignment`, then `n` data bytes.
    fn data(&mut self, alignment: usize, n: usize) -> &mut Self {
        let padded = self.0.len().div_ceil(alignment) * alignment;
        self.0.resize(padded + n, 0);
        self
    }
    fn parse(&self) -> edgeplane::Result<GgufFile> {
        GgufFile::from_vec(self.0.clone())
    }
}

/// Parses `raw`, expects a GGUF error whose reason contains every one of `needles`, and
/// checks that no single allocation during the parse passed 64 KiB.
#[track_caller]
fn expect_gguf_error(raw: &Raw, needles: &[&str]) -> (u64, String) {
    LARGEST_ALLOCATION.with(|p| p.set(0));
    let result = GgufFile::from_vec(raw.0.clone());
    let largest = LARGEST_ALLOCATION.with(|p| p.get());
    assert!(
        largest <= (64 << 10).max(2 * raw.0.len()),
        "largest allocation while parsing was {largest} bytes"
    );
    match result {
        Err(Error::Gguf { offset, reason }) => {
            for needle in needles {
                assert!(
                    reason.contains(needle),
                    "reason {reason:?} lacks {needle:?}"
                );
            }
            assert!(
                offset <= raw.0.len() as u64,
                "offset {offset} past the file"
            );
            (offset, reason)
        }
        Err(other) => panic!("expected Error::Gguf, got {other:?}"),
        Ok(_) => panic!("hostile file was accepted"),
    }
}

/// A small valid file: two kv pairs (one an array), two tensors.
fn valid_file() -> Vec<u8> {
    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", Value::String("llama".into()))
        .unwrap()
        .add_metadata(
            "tokens",
            Value::Array(edgeplane::gguf::Array::String(vec![
                "ab".into(),
                "c".into(),
            ])),
        )
        .unwrap()
        .add_tensor("a", TensorDesc::new(DType::F32, [2, 2]), vec![1u8; 16])
        .unwrap()
        .add_tensor("b", TensorDesc::new(DType::Q8_0, [1, 32]), vec![2u8; 34])
        .unwrap();
    w.to_bytes().unwrap()
}

#[test]
fn a_valid_hand_built_file_parses() {
    let mut raw = Raw::header(1, 1);
    raw.kv_u32("k", 7).tensor("t", &[4, 2], 0, 0).data(32, 32);
    let file = raw.parse().unwrap();
    assert_eq!(file.get_u32("k").unwrap(), 7);
    assert_eq!(file.tensor("t").unwrap().desc.shape.dims(), [2, 4]);
}

#[test]
fn bad_magic() {
    let mut raw = Raw::default();
    raw.bytes(b"GGML").u32(3).u64(0).u64(0);
    let (offset, _) = expect_gguf_error(&raw, &["bad magic"]);
    assert_eq!(offset, 0);
}

#[test]
fn version_1_and_future_versions_are_refused() {
    let mut v1 = Raw::default();
    v1.bytes(b"GGUF").u32(1).u64(0).u64(0);
    let (offset, _) = expect_gguf_error(&v1, &["version 1"]);
    assert_eq!(offset, 4);
    let mut v4 = Raw::default();
    v4.bytes(b"GGUF").u32(4).u64(0).u64(0);
    expect_gguf_error(&v4, &["unsupported version 4"]);
    let mut big_endian = Raw::default();
    big_endian
        .bytes(b"GGUF")
        .bytes(&3u32.to_be_bytes())
        .u64(0)
        .u64(0);
    expect_gguf_error(&big_endian, &["big-endian"]);
}

#[test]
fn version_2_is_read() {
    let mut raw = Raw::default();
    raw.bytes(b"GGUF").u32(2).u64(0).u64(1).kv_u32("k", 1);
    assert_eq!(raw.parse().unwrap().version(), 2);
}

#[test]
fn truncation_at_every_byte_is_an_error() {
    let bytes = valid_file();
    let file = GgufFile::from_vec(bytes.clone()).unwrap();
    // The writer pads after the last tensor; cutting only that padding leaves a valid file.
    let data_end = file.tensors().iter().map(|t| t.range.end).max().unwrap() as usize;
    assert!(
        data_end < bytes.len(),
        "the test wants trailing padding to cut"
    );
    for len in 0..data_end {
        let raw = Raw(bytes[..len].to_vec());
        // Every shorter prefix must fail with a GGUF error, without panicking or
        // allocating much.
        expect_gguf_error(&raw, &[]);
    }
    for len in data_end..=bytes.len() {
        assert!(GgufFile::from_vec(bytes[..len].to_vec()).is_ok());
    }
}

#[test]
fn truncation_inside_each_section_names_what_was_cut() {
    let bytes = valid_file();
    expect_gguf_error(&Raw(bytes[..2].to_vec()), &["truncated", "magic"]);
    expect_gguf_error(&Raw(bytes[..6].to_vec()), &["truncated", "version"]);
    expect_gguf_error(&Raw(bytes[..12].to_vec()), &["truncated", "tensor count"]);
    // Cut the data section: the last tensor then lies outside the file.
    let cut = bytes.len() - 40;
    expect_gguf_error(
        &Raw(bytes[..cut].to_vec()),
        &["tensor 'b'", "outside the file"],
    );
}

#[test]
fn huge_tensor_and_kv_counts() {
    expect_gguf_error(
        &Raw::header(1 << 40, 0),
        &["tensor count", "over the limit"],
    );
    expect_gguf_error(
        &Raw::header(u64::MAX, 0),
        &["tensor count", "over the limit"],
    );
    expect_gguf_error(
        &Raw::header(0, 1 << 40),
        &["metadata count", "over the limit"],
    );
    // Within the limit but more than the file can hold.
    expect_gguf_error(&Raw::header(1000, 0), &["tensor count 1000", "cannot fit"]);
    expect_gguf_error(&Raw::header(0, 1 << 19), &["metadata count", "cannot fit"]);
}

#[test]
fn huge_string_lengths() {
    let mut key = Raw::header(0, 1);
    key.u64(u64::MAX).bytes(&[0; 16]);
    expect_gguf_error(&key, &["key of metadata entry 0", "over the limit"]);

    let mut value = Raw::header(0, 1);
    value.str("k").u32(STRING).u64(1 << 40).bytes(b"xyz");
    expect_gguf_error(&value, &["key 'k'", "over the limit"]);

    // Under the limit, past the end of the file.
    let mut short = Raw::header(0, 1);
    short.str("k").u32(STRING).u64(1000).bytes(b"xyz");
    expect_gguf_error(&short, &["truncated", "key 'k'"]);

    let mut name = Raw::header(1, 0);
    name.u64(1 << 50).bytes(&[0; 40]);
    expect_gguf_error(&name, &["name of tensor 0", "over the limit"]);
}

#[test]
fn huge_arrays_are_refused_before_allocating() {
    for elem_type in [0u32, U64, STRING, ARRAY] {
        let mut raw = Raw::header(0, 1);
        raw.str("arr")
            .u32(ARRAY)
            .u32(elem_type)
            .u64(1 << 60)
            .bytes(&[0; 64]);
        expect_gguf_error(&raw, &["key 'arr'", "cannot fit"]);
    }
}

#[test]
fn deeply_nested_arrays_stop_at_the_depth_limit() {
    let mut raw = Raw::header(0, 1);
    raw.str("deep").u32(ARRAY);
    for _ in 0..64 {
        raw.u32(ARRAY).u64(1);
    }
    raw.u32(U32).u64(0);
    expect_gguf_error(&raw, &["key 'deep'", "nested deeper"]);

    // Eight levels are allowed.
    let mut ok = Raw::header(0, 1);
    ok.str("deep").u32(ARRAY);
    for _ in 0..7 {
        ok.u32(ARRAY).u64(1);
    }
    ok.u32(U32).u64(1).u32(5);
    assert!(ok.parse().is_ok());
}

#[test]
fn unknown_value_types_and_bad_bools() {
    let mut raw = Raw::header(0, 1);
    raw.str("k").u32(13).u32(0);
    expect_gguf_error(&raw, &["key 'k'", "unknown value type 13"]);
    let mut arr = Raw::header(0, 1);
    arr.str("k").u32(ARRAY).u32(99).u64(0);
    expect_gguf_error(&arr, &["key 'k'", "unknown array element type 99"]);
    let mut boolean = Raw::header(0, 1);
    boolean.str("flag").u32(7).bytes(&[2]);
    expect_gguf_error(&boolean, &["key 'flag'", "bool byte is 2"]);
}

#[test]
fn duplicate_keys_and_tensor_names() {
    let mut keys = Raw::header(0, 2);
    keys.kv_u32("k", 1).kv_u32("k", 2);
    expect_gguf_error(&keys, &["duplicate metadata key 'k'"]);
    let mut names = Raw::header(2, 0);
    names
        .tensor("w", &[4], 0, 0)
        .tensor("w", &[4], 0, 32)
        .data(32, 64);
    expect_gguf_error(&names, &["duplicate tensor name 'w'"]);
}

#[test]
fn dims_whose_product_overflows() {
    let mut raw = Raw::header(1, 0);
    raw.tensor("big", &[1 << 32, 1 << 32], 0, 0).data(32, 32);
    expect_gguf_error(
        &raw,
        &["tensor 'big'", "product of its dimensions overflows"],
    );
    let mut u64_max = Raw::header(1, 0);
    u64_max.tensor("big", &[u64::MAX], 0, 0).data(32, 32);
    expect_gguf_error(&u64_max, &["tensor 'big'", "overflows"]);
    // Elements fit but bytes do not: 2^62 f32 values.
    let mut bytes = Raw::header(1, 0);
    bytes.tensor("big", &[1 << 31, 1 << 31], 0, 0).data(32, 32);
    expect_gguf_error(&bytes, &["tensor 'big'", "byte size", "overflows"]);
    // Elements and bytes fit in u64 (2^62 bytes) but not in the file.
    let mut huge = Raw::header(1, 0);
    huge.tensor("big", &[1 << 30, 1 << 30], 0, 0).data(32, 32);
    expect_gguf_error(&huge, &["tensor 'big'", "outside the file"]);
}

#[test]
fn bad_dimension_counts_and_zero_dims() {
    let mut five = Raw::header(1, 0);
    five.tensor("t", &[1, 1, 1, 1, 1], 0, 0).data(32, 32);
    expect_gguf_error(&five, &["tensor 't'", "5 dimensions"]);
    let mut zero = Raw::header(1, 0);
    zero.tensor("t", &[], 0, 0).data(32, 32);
    expect_gguf_error(&zero, &["tensor 't'", "0 dimensions"]);
    let mut huge = Raw::header(1, 0);
    huge.str("t").u32(u32::MAX).bytes(&[0; 64]);
    expect_gguf_error(&huge, &["tensor 't'", "dimensions"]);
    let mut zero_dim = Raw::header(1, 0);
    zero_dim.tensor("t", &[4, 0], 0, 0).data(32, 32);
    expect_gguf_error(&zero_dim, &["tensor 't'", "dimension 1 of size 0"]);
}

#[test]
fn tensor_data_outside_the_file() {
    let mut raw = Raw::header(1, 0);
    raw.tensor("t", &[8], 0, 1 << 20).data(32, 32);
    expect_gguf_error(&raw, &["tensor 't'", "outside the file"]);
    let mut wraps = Raw::header(1, 0);
    wraps.tensor("t", &[8], 0, u64::MAX - 31).data(32, 32);
    expect_gguf_error(&wraps, &["tensor 't'", "outside the file"]);
    // One byte short.
    let mut short = Raw::header(1, 0);
    short.tensor("t", &[8], 0, 0).data(32, 31);
    expect_gguf_error(&short, &["tensor 't'", "outside the file"]);
}

#[test]
fn misaligned_tensor_offsets() {
    let mut raw = Raw::header(1, 0);
    raw.tensor("t", &[4], 0, 4).data(32, 64);
    expect_gguf_error(&raw, &["tensor 't'", "not a multiple of the alignment 32"]);
    // The same offset is fine with a declared alignment of 4.
    let mut ok = Raw::header(1, 1);
    ok.kv_u32("general.alignment", 4)
        .tensor("t", &[4], 0, 4)
        .data(4, 64);
    assert_eq!(ok.parse().unwrap().alignment(), 4);
}

#[test]
fn bad_alignment_values() {
    for bad in [0u32, 3, 48] {
        let mut raw = Raw::header(0, 1);
        raw.kv_u32("general.alignment", bad);
        expect_gguf_error(&raw, &["general.alignment", "power of two"]);
    }
    let mut wrong_type = Raw::header(0, 1);
    wrong_type.str("general.alignment").u32(U64).u64(32);
    expect_gguf_error(&wrong_type, &["general.alignment must be uint32"]);
}

#[test]
fn overlapping_tensors() {
    let mut raw = Raw::header(2, 0);
    raw.tensor("first", &[16], 0, 0)
        .tensor("second", &[16], 0, 64)
        .data(32, 128);
    assert!(raw.parse().is_ok(), "adjacent tensors do not overlap");
    let mut overlap = Raw::header(2, 0);
    overlap
        .tensor("first", &[16], 0, 0)
        .tensor("second", &[16], 0, 32)
        .data(32, 128);
    // `first` is 64 bytes (16 f32) so `second` at 32 overlaps it.
    expect_gguf_error(&overlap, &["'second'", "overlaps", "'first'"]);
}

#[test]
fn unknown_dtype_names_the_number_and_the_tensor() {
    let mut raw = Raw::header(1, 0);
    raw.tensor("blk.0.weird", &[32], 99, 0).data(32, 64);
    expect_gguf_error(&raw, &["tensor 'blk.0.weird'", "unknown ggml type 99"]);
    // Q4_2 (4) was removed from ggml.
    let mut removed = Raw::header(1, 0);
    removed.tensor("old", &[32], 4, 0).data(32, 64);
    expect_gguf_error(&removed, &["tensor 'old'", "unknown ggml type 4"]);
}

#[test]
fn rows_must_be_whole_blocks() {
    let mut raw = Raw::header(1, 0);
    raw.tensor("q", &[16, 2], DType::Q4_0.ggml_type(), 0)
        .data(32, 64);
    expect_gguf_error(
        &raw,
        &["tensor 'q'", "not a whole number of 32-value q4_0 blocks"],
    );
    let mut k = Raw::header(1, 0);
    k.tensor("k", &[128], DType::Q4K.ggml_type(), 0)
        .data(32, 256);
    expect_gguf_error(&k, &["tensor 'k'", "256-value q4_K blocks"]);
}

#[test]
fn typed_getters_name_the_key() {
    let file = GgufFile::from_vec(valid_file()).unwrap();
    let Err(Error::Gguf { reason, .. }) = file.get_u32("general.architecture") else {
        panic!("a string read as u32 must fail");
    };
    assert!(reason.contains("'general.architecture'") && reason.contains("u32"));
    let Err(Error::Gguf { reason, .. }) = file.get_str("missing.key") else {
        panic!("a missing key must fail");
    };
    assert!(reason.contains("'missing.key'") && reason.contains("missing"));
}

#[test]
fn the_allocation_probe_sees_large_allocations() {
    // Proves the probe used above works: a genuine 200 KB array is one allocation of
    // at least that size.
    let mut raw = Raw::header(0, 1);
    raw.str("big")
        .u32(ARRAY)
        .u32(0)
        .u64(200_000)
        .bytes(&vec![7u8; 200_000]);
    LARGEST_ALLOCATION.with(|p| p.set(0));
    let file = raw.parse().unwrap();
    assert!(LARGEST_ALLOCATION.with(|p| p.get()) >= 200_000);
    assert_eq!(file.get("big").unwrap().get_array().unwrap().len(), 200_000);
}
