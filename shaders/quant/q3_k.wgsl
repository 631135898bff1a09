// Q3_K: hmask[32] | qs[64] | scales[12] | d f16. Element e as Q2_K (n, g, h, l); the high
// bit is bit n*4+g of hmask[h*16+l] (set means no -4); 16 6-bit scales: low nibble from
// scales[s] (s<8) or scales[s-8]>>4, high 2 bits from scales[8 + s%4] >> 2*(s/4).
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 110u;
fn dequant_block_elem(b: u32, e: u32) -> f32 {
    let n = e / 128u;
    let r = e % 128u;
    let g = r / 32u;
    let h = (r % 32u) / 16u;
    let l = r % 16u;
    let s = n * 8u + g * 2u + h;
    var low = 0u;
    if (s < 8u) {
        low = wbyte(b + 96u + s) & 15u;
    } else {
        low = wbyte(b + 96u + s - 8u) >> 4u;
    }
    let high = (wbyte(b + 104u + (s % 4u)) >> (2u * (s / 4u))) & 3u;
    let scale = i32(low | (high << 4u)) - 32;
    let q2 = i32((wbyte(b + 32u + n * 32u + h * 16u + l) >> (2u * g)) & 3u);
    let hbit = (wbyte(b + h * 16u + l) >> (n * 4u + g)) & 1u;
    let q = q2 - select(4, 0, hbit == 1u);
    return wf16(b + 108u) * f32(scale * q);
}
