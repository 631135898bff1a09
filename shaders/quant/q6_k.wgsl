// Q6_K: ql[128] | qh[64] | scales[16] i8 | d f16. Element e: half n = e/128, quarter
// c = (e%128)/32, lane l; low 4 bits from ql[n*64 + (c&1)*32 + l] (high nibble for c>=2),
// high 2 bits from qh[n*32+l] >> 2c; scale scales[n*8 + l/16 + 2c]; value d*sc*(q-32).
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 210u;
fn dequant_block_elem(b: u32, e: u32) -> f32 {
    let n = e / 128u;
    let c = (e % 128u) / 32u;
    let l = e % 32u;
    let low = (wbyte(b + n * 64u + (c & 1u) * 32u + l) >> ((c >> 1u) * 4u)) & 15u;
    let high = (wbyte(b + 128u + n * 32u + l) >> (2u * c)) & 3u;
    let sc = wsbyte(b + 192u + n * 8u + l / 16u + 2u * c);
    return wf16(b + 208u) * f32(sc) * (f32(low | (high << 4u)) - 32.0);
}
