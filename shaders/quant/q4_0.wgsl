// Q4_0: d f16 | qs[16]; element j < 16 is the low nibble of qs[j], j >= 16 the high
// nibble of qs[j-16]; value d * (q - 8).
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 18u;
fn dequant_block_elem(b: u32, j: u32) -> f32 {
    let byte = wbyte(b + 2u + (j & 15u));
    let q = (byte >> ((j >> 4u) * 4u)) & 15u;
    return wf16(b) * (f32(q) - 8.0);
}

// The whole block: each byte read once, scale decoded once.
fn dequant_piece(b: u32, j0: u32, piece: ptr<function, array<f32, 32>>) {
    let d = wf16(b);
    for (var j = 0u; j < 16u; j++) {
        let byte = wbyte(b + 2u + j);
        (*piece)[j] = d * (f32(byte & 15u) - 8.0);
        (*piece)[j + 16u] = d * (f32(byte >> 4u) - 8.0);
    }
}
