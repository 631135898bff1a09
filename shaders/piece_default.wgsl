// Default piece unpacking, appended by the composition step when a quant file defines no
// `dequant_piece` of its own: PIECE values, one dequant_block_elem call each.
fn dequant_piece(b: u32, j0: u32, piece: ptr<function, array<f32, 32>>) {
    for (var j = 0u; j < PIECE; j++) {
        (*piece)[j] = dequant_block_elem(b, j0 + j);
    }
}
