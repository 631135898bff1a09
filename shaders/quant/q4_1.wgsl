// Q4_1: d f16 | m f16 | qs[16]; value d * q + m, nibbles as Q4_0.
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 20u;
fn dequant_block_elem(b: u32, j: u32) -> f32 {
    let byte = wbyte(b + 4u + (j & 15u));
    let q = (byte >> ((j >> 4u) * 4u)) & 15u;
    return wf16(b) * f32(q) + wf16(b + 2u);
}
