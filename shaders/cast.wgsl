// dtype conversion. Reads F32/F16/BF16 through the dtype's unpack function and writes one
// 32-bit word per invocation: one f32, or two f16/bf16 values (OUT_KIND 0 f32, 1 f16,
// 2 bf16; an odd last element leaves the high half zero).

//#include half
//#include common
//#include quant

struct Params {
    count: u32,
    words: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> wq: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

override OUT_KIND: u32 = 0u;
const WG: u32 = 64u;

fn value(i: u32) -> f32 {
    if (i >= p.count) {
        return 0.0;
    }
    return dequant_block_elem(i * BLOCK_BYTES, 0u);
}

// f32 to bf16 bits, rounding to nearest even; NaN stays a quiet NaN.
fn to_bf16(v: f32) -> u32 {
    let bits = bitcast<u32>(v);
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
        return (bits >> 16u) | 0x40u;
    }
    return (bits + 0x7fffu + ((bits >> 16u) & 1u)) >> 16u;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let w = (wid.x + wid.y * nwg.x) * WG + lid;
    if (w >= p.words) {
        return;
    }
    if (OUT_KIND == 0u) {
        y[w] = bitcast<u32>(value(w));
    } else if (OUT_KIND == 1u) {
        y[w] = pack2x16float(vec2<f32>(value(2u * w), value(2u * w + 1u)));
        if (2u * w + 1u >= p.count) {
            y[w] = y[w] & 0xffffu;
        }
    } else {
        y[w] = to_bf16(value(2u * w)) | (select(to_bf16(value(2u * w + 1u)), 0u, 2u * w + 1u >= p.count) << 16u);
    }
}
