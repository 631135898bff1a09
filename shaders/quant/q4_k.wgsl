// Q4_K: d f16 | dmin f16 | scales[12] | qs[128]. Element e: group g = e/64, half hi,
// lane l; nibble hi of qs[g*32+l]; sub-block 2g+hi; value d*sc*q - dmin*m.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 144u;
fn dequant_block_elem(b: u32, e: u32) -> f32 {
    let g = e / 64u;
    let hi = (e % 64u) / 32u;
    let l = e % 32u;
    let q = (wbyte(b + 16u + g * 32u + l) >> (hi * 4u)) & 15u;
    let sm = k_scale_min(b + 4u, 2u * g + hi);
    return wf16(b) * sm.x * f32(q) - wf16(b + 2u) * sm.y;
}

// One 32-value sub-block: scale and min decoded once, quants read a word at a time
// (super-blocks are 144 bytes, so qs is 4-byte aligned).
fn dequant_piece(b: u32, j0: u32, piece: ptr<function, array<f32, 32>>) {
    let g = j0 / 64u;
    let hi = (j0 % 64u) / 32u;
    let sm = k_scale_min(b + 4u, 2u * g + hi);
    let d = wf16(b) * sm.x;
    let mn = wf16(b + 2u) * sm.y;
    let base = (b + 16u + g * 32u) >> 2u;
    for (var w = 0u; w < 8u; w++) {
        let word = wq[base + w] >> (hi * 4u);
        for (var i = 0u; i < 4u; i++) {
            (*piece)[w * 4u + i] = d * f32((word >> (i * 8u)) & 15u) - mn;
        }
    }
}
