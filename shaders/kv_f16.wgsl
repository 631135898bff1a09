// f16 K/V caches read as native f16 (needs SHADER_F16); used only for f16 caches.
@group(0) @binding(2) var<storage, read> kc: array<f16>;
@group(0) @binding(3) var<storage, read> vc: array<f16>;

fn kv_value(is_v: bool, idx: u32) -> f32 {
    if (is_v) {
        return f32(vc[idx]);
    }
    return f32(kc[idx]);
}
