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
