// Two-input elementwise ops, one invocation per value: OP 0 swiglu silu(a)*b, 1 geglu
// gelu_tanh(a)*b, 2 add, 3 mul. `b` repeats every `b_len` values (row broadcast).

struct Params {
    count: u32,
    b_len: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

override OP: u32 = 0u;
const WG: u32 = 64u;

fn gelu_tanh(v: f32) -> f32 {
    let inner = clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), -15.0, 15.0);
    return 0.5 * v * (1.0 + tanh(inner));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let e = (wid.x + wid.y * nwg.x) * WG + lid;
    if (e >= p.count) {
        return;
    }
    let av = a[e];
    let bv = b[e % p.b_len];
    var r = 0.0;
    switch OP {
        case 0u: { r = av / (1.0 + exp(-av)) * bv; }
        case 1u: { r = gelu_tanh(av) * bv; }
        case 2u: { r = av + bv; }
        default: { r = av * bv; }
    }
    y[e] = r;
}
