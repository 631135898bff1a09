// Q5_1: d f16 | m f16 | qh u32 | qs[16]; value d * q + m, bits as Q5_0.
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 24u;
fn dequant_block_elem(b: u32, j: u32) -> f32 {
    let qh = wq[(b + 4u) >> 2u];
    let byte = wbyte(b + 8u + (j & 15u));
    let q = ((byte >> ((j >> 4u) * 4u)) & 15u) | (((qh >> j) & 1u) << 4u);
    return wf16(b) * f32(q) + wf16(b + 2u);
}
