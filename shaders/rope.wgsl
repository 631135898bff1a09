// Rotary position embedding, one invocation per output value. Pairs are adjacent
// (NEOX = 0) or half-split (NEOX = 1); pair i turns by p * freq_scale * base^(-2i/n_dims);
// dims past n_dims pass through.

struct Params {
    n: u32,
    width: u32,
    head_dim: u32,
    n_dims: u32,
    freq_base: f32,
    freq_scale: f32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

override NEOX: u32 = 0u;
const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let e = (wid.x + wid.y * nwg.x) * WG + lid;
    if (e >= p.n * p.width) {
        return;
    }
    let t = e / p.width;
    let c = (e % p.width) % p.head_dim;
    if (c >= p.n_dims) {
        y[e] = x[e];
        return;
    }
    let head0 = e - c;
    var i = 0u;
    var first = 0u;
    var second = 0u;
    if (NEOX == 0u) {
        i = c / 2u;
        first = 2u * i;
        second = first + 1u;
    } else {
        let half = p.n_dims / 2u;
        i = c % half;
        first = i;
        second = i + half;
    }
    let theta = f32(positions[t]) * p.freq_scale
        * exp2(-2.0 * f32(i) / f32(p.n_dims) * log2(p.freq_base));
    let cs = cos(theta);
    let sn = sin(theta);
    let x0 = x[head0 + first];
    let x1 = x[head0 + second];
    if (c == first) {
        y[e] = x0 * cs - x1 * sn;
    } else {
        y[e] = x0 * sn + x1 * cs;
    }
}
