// Q8_0: d f16 | qs[32] i8; value d * q.
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 34u;
fn dequant_block_elem(b: u32, j: u32) -> f32 {
    return wf16(b) * f32(wsbyte(b + 2u + j));
}
