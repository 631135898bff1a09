// bf16: the high half of an f32.
const QK: u32 = 1u;
const BLOCK_BYTES: u32 = 2u;
fn dequant_block_elem(b: u32, j: u32) -> f32 {
    return bitcast<f32>(wu16(b) << 16u);
}
