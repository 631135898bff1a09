// f16 bits (low 16 bits of `bits`) to f32 by bit manipulation: needs no shader capability
// (unpack2x16float needs SHADER_FLOAT16_IN_FLOAT32, which GL ES adapters may lack).
fn half_to_f32(bits: u32) -> f32 {
    let sign = (bits & 0x8000u) << 16u;
    let exponent = (bits >> 10u) & 0x1fu;
    let mantissa = bits & 0x3ffu;
    if (exponent == 0u) {
        // Zero or subnormal: mantissa * 2^-24.
        let v = f32(mantissa) * 5.9604644775390625e-8;
        return select(v, -v, sign != 0u);
    }
    if (exponent == 31u) {
        return bitcast<f32>(sign | 0x7f800000u | (mantissa << 13u));
    }
    return bitcast<f32>(sign | ((exponent + 112u) << 23u) | (mantissa << 13u));
}
