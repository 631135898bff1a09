//! Embedding lookup: rows of a table in any weight dtype, dequantized.

use super::checked_index;
use crate::error::Result;
use crate::tensor::TensorDesc;
use edgeplane_kernels::quant::dequantize_row;

/// Row `ids[i]` of `table [vocab, d]` becomes row `i` of the `[n, d]` f32 output. An id
/// outside the vocabulary is `InvalidInput`.
pub fn get_rows(table_desc: &TensorDesc, table: &[u8], ids: &[i32]) -> Result<Vec<f32>> {
    let vocab = table_desc.shape.rows();
    let d = table_desc.shape.cols();
    let row_bytes = table_desc.row_bytes();
    let mut out = vec![0.0f32; ids.len() * d];
    for (i, &id) in ids.iter().enumerate() {
        let row = checked_index(id, vocab, "GetRows id")?;
        dequantize_row(
            table_desc.dtype,
            &table[row * row_bytes..(row + 1) * row_bytes],
            &mut out[i * d..(i + 1) * d],
        )?;
    }
    Ok(out)
}
