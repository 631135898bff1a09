// Q5_0: d f16 | qh u32 | qs[16]; bit j of qh is the fifth bit of element j;
// value d * (q - 16).
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 22u;
fn dequant_block_elem(b: u32, j: u32) -> f32 {
    let qh = wu32_even(b + 2u);
    let byte = wbyte(b + 6u + (j & 15u));
    let q = ((byte >> ((j >> 4u) * 4u)) & 15u) | (((qh >> j) & 1u) << 4u);
    return wf16(b) * (f32(q) - 16.0);
}
