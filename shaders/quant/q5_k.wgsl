// Q5_K: d f16 | dmin f16 | scales[12] | qh[32] | qs[128]. As Q4_K, plus the fifth bit
// (2g+hi) of qh[l].
const QK: u32 = 256u;
const BLOCK_BYTES: u32 = 176u;
fn dequant_block_elem(b: u32, e: u32) -> f32 {
    let g = e / 64u;
    let hi = (e % 64u) / 32u;
    let l = e % 32u;
    let low = (wbyte(b + 48u + g * 32u + l) >> (hi * 4u)) & 15u;
    let high = (wbyte(b + 16u + l) >> (2u * g + hi)) & 1u;
    let sm = k_scale_min(b + 4u, 2u * g + hi);
    return wf16(b) * sm.x * f32(low | (high << 4u)) - wf16(b + 2u) * sm.y;
}
