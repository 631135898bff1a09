// Byte access to packed weights. Weights stay as raw GGUF block bytes in `wq`
// (an array<u32>); blocks of some types (Q4_0: 18 bytes) are not 4-byte aligned, so every
// field is read through these helpers, which pick bytes out of 32-bit words.
// The including kernel declares `wq`.

fn wbyte(o: u32) -> u32 {
    return (wq[o >> 2u] >> ((o & 3u) * 8u)) & 0xffu;
}

fn wsbyte(o: u32) -> i32 {
    return (i32(wbyte(o)) << 24u) >> 24u;
}

// Two bytes at an even offset.
fn wu16(o: u32) -> u32 {
    return (wq[o >> 2u] >> ((o & 2u) * 8u)) & 0xffffu;
}

// Four bytes at an even offset (may straddle two words).
fn wu32_even(o: u32) -> u32 {
    if ((o & 3u) == 0u) {
        return wq[o >> 2u];
    }
    return wu16(o) | (wu16(o + 2u) << 16u);
}

fn wf16(o: u32) -> f32 {
    return half_to_f32(wu16(o));
}

// Values a decode invocation unpacks at once: a whole legacy block, or an aligned
// 32-value piece of a K-quant super-block. `dequant_piece(b, j0, &piece)` fills the first
// PIECE entries with values j0 .. j0 + PIECE of the block at byte b (j0 a multiple of PIECE).
const PIECE: u32 = min(QK, 32u);

// Element `col` of the weight row that starts at byte `row_byte`.
fn weight_elem(row_byte: u32, col: u32) -> f32 {
    return dequant_block_elem(row_byte + (col / QK) * BLOCK_BYTES, col % QK);
}
// The 6-bit scale (x) and min (y) of sub-block j of a Q4_K/Q5_K super-block whose 12
// packed scale bytes start at byte `o` (ggml's get_scale_min_k4).
fn k_scale_min(o: u32, j: u32) -> vec2<f32> {
    if (j < 4u) {
        return vec2<f32>(f32(wbyte(o + j) & 63u), f32(wbyte(o + j + 4u) & 63u));
    }
    let d = (wbyte(o + j + 4u) & 15u) | ((wbyte(o + j - 4u) >> 6u) << 4u);
    let m = (wbyte(o + j + 4u) >> 4u) | ((wbyte(o + j) >> 6u) << 4u);
    return vec2<f32>(f32(d), f32(m));
}
