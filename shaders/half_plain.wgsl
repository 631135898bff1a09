// f16 bits to f32 without the shader-f16 feature.
fn half_to_f32(bits: u32) -> f32 {
    return unpack2x16float(bits).x;
}
