// RMS norm (LAYER = 0): y = x / sqrt(mean(x²) + eps) * w; layer norm (LAYER = 1):
// y = (x - mean) / sqrt(var + eps) * w + b. One workgroup per row; two-pass mean and
// variance for layer norm.

//#include reduce

struct Params {
    d: u32,
    eps: f32,
    rows: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

override LAYER: u32 = 0u;
const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) {
        return;
    }
    let base = row * p.d;
    var mean = 0.0;
    if (LAYER == 1u) {
        var s = 0.0;
        for (var c = lid; c < p.d; c += WG) {
            s += x[base + c];
        }
        mean = reduce_sum(s, lid) / f32(p.d);
    }
    var sq = 0.0;
    for (var c = lid; c < p.d; c += WG) {
        let v = x[base + c] - mean;
        sq += v * v;
    }
    let inv = 1.0 / sqrt(reduce_sum(sq, lid) / f32(p.d) + p.eps);
    for (var c = lid; c < p.d; c += WG) {
        var v = (x[base + c] - mean) * inv * w[c];
        if (LAYER == 1u) {
            v += b[c];
        }
        y[base + c] = v;
    }
}
