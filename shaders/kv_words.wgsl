// K/V caches read as 32-bit words: f32 values, or f16 pairs (KV_F16 = 1) decoded by
// half_to_f32. Needs no f16 support.
@group(0) @binding(2) var<storage, read> kc: array<u32>;
@group(0) @binding(3) var<storage, read> vc: array<u32>;

fn kv_value(is_v: bool, idx: u32) -> f32 {
    var word = 0u;
    if (KV_F16 == 1u) {
        if (is_v) { word = vc[idx >> 1u]; } else { word = kc[idx >> 1u]; }
        return half_to_f32(word >> ((idx & 1u) * 16u));
    }
    if (is_v) { word = vc[idx]; } else { word = kc[idx]; }
    return bitcast<f32>(word);
}
