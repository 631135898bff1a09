//! ggml block formats: one `#[repr(C)]` block struct per format, each declaring its size,
//! its dequantization and (where ggml has a reference quantizer) its quantization, in one
//! place. Row functions dispatch on [`DType`] over raw bytes, which is what files and
//! devices hold; backends that want typed blocks use the structs directly.
//!
//! Every dequantizer evaluates ggml's `dequantize_row_*` float expressions in the same order
//! (no fused multiply-add), so results are bit-identical to ggml and gguf-py; the golden
//! vectors in `tests/vectors/` check that. Adding a format is one file with one struct and
//! its [`GgmlBlock`] impl, plus one arm in each dispatch below.

mod error;
mod float;
pub(crate) mod k_scales;
mod k_search;
#[cfg(test)]
mod props;
mod q2_k;
mod q3_k;
mod q4_0;
mod q4_1;
mod q4_k;
mod q5_0;
mod q5_1;
mod q5_k;
mod q6_k;
mod q8_0;
mod q8_k;
mod rounding;

pub use error::QuantError;
pub use float::{bf16_bits_to_f32, f32_to_bf16_bits};
pub use q2_k::BlockQ2K;
pub use q3_k::BlockQ3K;
pub use q4_0::BlockQ4_0;
pub use q4_1::BlockQ4_1;
pub use q4_k::BlockQ4K;
pub use q5_0::BlockQ5_0;
pub use q5_1::BlockQ5_1;
pub use q5_k::BlockQ5K;
pub use q6_k::BlockQ6K;
pub use q8_0::BlockQ8_0;
pub use q8_k::BlockQ8K;

use crate::DType;
use bytemuck::{Pod, Zeroable};
use error::check_len;

/// A ggml block: `BLOCK_SIZE` weights stored in `size_of::<Self>()` bytes, laid out exactly
/// as ggml's C struct so a file's bytes can be reinterpreted as a slice of blocks.
pub trait GgmlBlock: Pod + Zeroable {
    /// The dtype whose blocks these are.
    const DTYPE: DType;
    /// Weights per block.
    const BLOCK_SIZE: usize;

    /// Writes the block's `BLOCK_SIZE` weights to `out[..BLOCK_SIZE]`, bit-identical to
    /// ggml's `dequantize_row_*`. Panics if `out` is shorter (a caller bug; the row
    /// functions check lengths first).
    fn dequantize(&self, out: &mut [f32]);
}

/// A block format with a ggml reference quantizer (`quantize_row_*_ref`).
pub trait QuantizeBlock: GgmlBlock {
    /// Quantizes `src[..BLOCK_SIZE]` with ggml's reference rules, byte-identical to ggml
    /// (and to gguf-py where it implements the format). Panics if `src` is shorter.
    fn quantize(src: &[f32]) -> Self;
}

/// Fails to compile if a block struct's size differs from [`DType::block_bytes`] or its
/// block size from [`DType::block_size`].
macro_rules! assert_layout {
    ($($block:ty),* $(,)?) => {$(
        const _: () = assert!(
            std::mem::size_of::<$block>() == <$block as GgmlBlock>::DTYPE.block_bytes()
        );
        const _: () = assert!(
            <$block as GgmlBlock>::BLOCK_SIZE == <$block as GgmlBlock>::DTYPE.block_size()
        );
    )*};
}
assert_layout!(
    BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ5_1, BlockQ8_0, BlockQ2K, BlockQ3K, BlockQ4K, BlockQ5K,
    BlockQ6K, BlockQ8K,
);

/// Dequantizes whole blocks; lengths were checked by the caller.
fn dequantize_blocks<B: GgmlBlock>(bytes: &[u8], out: &mut [f32]) {
    let chunks = bytes.chunks_exact(std::mem::size_of::<B>());
    for (chunk, y) in chunks.zip(out.chunks_exact_mut(B::BLOCK_SIZE)) {
        // Unaligned read: file and buffer bytes carry no alignment promise.
        let block: B = bytemuck::pod_read_unaligned(chunk);
        block.dequantize(y);
    }
}

/// Quantizes whole blocks; lengths were checked by the caller.
fn quantize_blocks<B: QuantizeBlock>(src: &[f32], out: &mut [u8]) {
    let chunks = out.chunks_exact_mut(std::mem::size_of::<B>());
    for (chunk, x) in chunks.zip(src.chunks_exact(B::BLOCK_SIZE)) {
        chunk.copy_from_slice(bytemuck::bytes_of(&B::quantize(x)));
    }
}

/// Converts `bytes` of `dtype` to `out.len()` f32 values, exactly as ggml's `to_float` does.
pub fn dequantize_row(dtype: DType, bytes: &[u8], out: &mut [f32]) -> Result<(), QuantError> {
    check_len(dtype, out.len(), bytes.len())?;
    match dtype {
        DType::F32 => float::dequantize_f32(bytes, out),
        DType::F16 => float::dequantize_f16(bytes, out),
        DType::BF16 => float::dequantize_bf16(bytes, out),
        DType::I32 => float::dequantize_i32(bytes, out),
        DType::Q4_0 => dequantize_blocks::<BlockQ4_0>(bytes, out),
        DType::Q4_1 => dequantize_blocks::<BlockQ4_1>(bytes, out),
        DType::Q5_0 => dequantize_blocks::<BlockQ5_0>(bytes, out),
        DType::Q5_1 => dequantize_blocks::<BlockQ5_1>(bytes, out),
        DType::Q8_0 => dequantize_blocks::<BlockQ8_0>(bytes, out),
        DType::Q2K => dequantize_blocks::<BlockQ2K>(bytes, out),
        DType::Q3K => dequantize_blocks::<BlockQ3K>(bytes, out),
        DType::Q4K => dequantize_blocks::<BlockQ4K>(bytes, out),
        DType::Q5K => dequantize_blocks::<BlockQ5K>(bytes, out),
        DType::Q6K => dequantize_blocks::<BlockQ6K>(bytes, out),
        DType::Q8K => dequantize_blocks::<BlockQ8K>(bytes, out),
    }
    Ok(())
}

/// True if [`quantize_row`] can produce `dtype`.
pub fn can_quantize(dtype: DType) -> bool {
    matches!(
        dtype,
        DType::F32
            | DType::F16
            | DType::BF16
            | DType::Q4_0
            | DType::Q4_1
            | DType::Q5_0
            | DType::Q5_1
            | DType::Q8_0
            | DType::Q4K
            | DType::Q6K
            | DType::Q8K
    )
}

/// Converts `src` to `dtype` blocks in `out` with ggml's reference (round-to-nearest)
/// quantizer.
pub fn quantize_row(dtype: DType, src: &[f32], out: &mut [u8]) -> Result<(), QuantError> {
    if !can_quantize(dtype) {
        return Err(QuantError::Unsupported {
            dtype,
            direction: "quantize",
        });
    }
    check_len(dtype, src.len(), out.len())?;
    match dtype {
        DType::F32 => float::quantize_f32(src, out),
        DType::F16 => float::quantize_f16(src, out),
        DType::BF16 => float::quantize_bf16(src, out),
        DType::Q4_0 => quantize_blocks::<BlockQ4_0>(src, out),
        DType::Q4_1 => quantize_blocks::<BlockQ4_1>(src, out),
        DType::Q5_0 => quantize_blocks::<BlockQ5_0>(src, out),
        DType::Q5_1 => quantize_blocks::<BlockQ5_1>(src, out),
        DType::Q8_0 => quantize_blocks::<BlockQ8_0>(src, out),
        DType::Q4K => quantize_blocks::<BlockQ4K>(src, out),
        DType::Q6K => quantize_blocks::<BlockQ6K>(src, out),
        DType::Q8K => quantize_blocks::<BlockQ8K>(src, out),
        DType::I32 | DType::Q2K | DType::Q3K | DType::Q5K => {
            unreachable!("can_quantize({dtype}) is false, checked above")
        }
    }
    Ok(())
}

/// Allocating convenience over [`dequantize_row`].
pub fn dequantize(dtype: DType, bytes: &[u8], elements: usize) -> Result<Vec<f32>, QuantError> {
    let mut out = vec![0.0; elements];
    dequantize_row(dtype, bytes, &mut out)?;
    Ok(out)
}

/// Allocating convenience over [`quantize_row`].
pub fn quantize(dtype: DType, src: &[f32]) -> Result<Vec<u8>, QuantError> {
    let bytes = dtype
        .bytes_for(src.len() as u64)
        .ok_or(QuantError::Length {
            dtype,
            elements: src.len(),
            bytes: 0,
        })?;
    let mut out = vec![0u8; bytes as usize];
    quantize_row(dtype, src, &mut out)?;
    Ok(out)
}
