// f32: one 4-byte value per "block".
const QK: u32 = 1u;
const BLOCK_BYTES: u32 = 4u;
fn dequant_block_elem(b: u32, j: u32) -> f32 {
    return bitcast<f32>(wq[b >> 2u]);
}
