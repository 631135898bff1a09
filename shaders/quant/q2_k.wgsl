// Q2_K: scales[16] | qs[64] | d f16 | dmin f16. Element e: half n = e/128, within it
// shift group g = (e%128)/32, sub-half h, lane l; scale byte n*8 + g*2 + h holds a 4-bit
// scale (low) and min (high); value d*sc*q - dmin*mn with q = (qs[n*32+h*16+l] >> 2g) & 3.
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 84u;
fn dequant_block_elem(b: u32, e: u32) -> f32 {
    let n = e / 128u;
    let r = e % 128u;
    let g = r / 32u;
    let h = (r % 32u) / 16u;
    let l = r % 16u;
    let sc = wbyte(b + n * 8u + g * 2u + h);
    let q = (wbyte(b + 16u + n * 32u + h * 16u + l) >> (2u * g)) & 3u;
    return wf16(b + 80u) * f32(sc & 15u) * f32(q) - wf16(b + 82u) * f32(sc >> 4u);
}
