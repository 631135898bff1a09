// Q8_0: d f16 | qs[32] i8; value d * q.
const QK: u32 = 32u;
const BLOCK_BYTES: u32 = 34u;
fn dequant_block_elem(b: u32, j: u32) -> f32 {
    return wf16(b) * f32(wsbyte(b + 2u + j));
}

// The whole block: two quants per 16-bit read, scale decoded once.
fn dequant_piece(b: u32, j0: u32, piece: ptr<function, array<f32, 32>>) {
    let d = wf16(b);
    for (var j = 0u; j < 32u; j += 2u) {
        let pair = wu16(b + 2u + j);
        (*piece)[j] = d * f32((i32(pair) << 24u) >> 24u);
        (*piece)[j + 1u] = d * f32((i32(pair) << 16u) >> 24u);
    }
}
