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

// One 32-value quarter: two scales and d decoded once, ql/qh read 16 bits at a time.
fn dequant_piece(b: u32, j0: u32, piece: ptr<function, array<f32, 32>>) {
    let n = j0 / 128u;
    let c = (j0 % 128u) / 32u;
    let d = wf16(b + 208u);
    let d0 = d * f32(wsbyte(b + 192u + n * 8u + 2u * c));
    let d1 = d * f32(wsbyte(b + 192u + n * 8u + 1u + 2u * c));
    let ql = b + n * 64u + (c & 1u) * 32u;
    let qh = b + 128u + n * 32u;
    for (var l = 0u; l < 32u; l += 2u) {
        let lows = wu16(ql + l) >> ((c >> 1u) * 4u);
        let highs = wu16(qh + l) >> (2u * c);
        let scale = select(d0, d1, l >= 16u);
        (*piece)[l] = scale * (f32((lows & 15u) | ((highs & 3u) << 4u)) - 32.0);
        (*piece)[l + 1u] = scale * (f32(((lows >> 8u) & 15u) | (((highs >> 8u) & 3u) << 4u)) - 32.0);
    }
}
