//! `KvWrite`: new rows into a KV cache state, converted to the cache dtype, in place.

use super::checked_index;
use crate::error::Result;
use crate::tensor::HostTensor;
use edgeplane_kernels::quant::quantize_row;

/// Row `i` of `new_rows` goes to row `positions[i]` of `cache` (F32 or F16, rounded to
/// nearest). Every position is checked before anything is written, so a bad position leaves
/// the cache untouched.
pub fn kv_write(cache: &mut HostTensor, new_rows: &[f32], positions: &[i32]) -> Result<()> {
    let capacity = cache.desc.shape.rows();
    let width = cache.desc.shape.cols();
    let row_bytes = cache.desc.row_bytes();
    let rows: Vec<usize> = positions
        .iter()
        .map(|&p| checked_index(p, capacity, "KvWrite position"))
        .collect::<Result<_>>()?;
    for (i, row) in rows.into_iter().enumerate() {
        quantize_row(
            cache.desc.dtype,
            &new_rows[i * width..(i + 1) * width],
            &mut cache.data[row * row_bytes..(row + 1) * row_bytes],
        )?;
    }
    Ok(())
}
