// f16: one 2-byte value per "block".
const QK: u32 = 1u;
const BLOCK_BYTES: u32 = 2u;
fn dequant_block_elem(b: u32, j: u32) -> f32 {
    return wf16(b);
}
