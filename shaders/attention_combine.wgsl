// Second pass of split-KV attention: merges the SPLITS partial results of each (query row,
// head) — rescaling each split's sum and accumulator by exp(max_s - max) — and normalizes.
// One invocation per output value.

struct Params {
    n: u32,
    n_head: u32,
    head_dim: u32,
    splits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let e = (wid.x + wid.y * nwg.x) * WG + lid;
    if (e >= p.n * p.n_head * p.head_dim) {
        return;
    }
    let row_head = e / p.head_dim;
    let d = e % p.head_dim;
    let stride = p.head_dim + 2u;
    let base = row_head * p.splits * stride;
    var m = -3.4e38;
    for (var s = 0u; s < p.splits; s++) {
        m = max(m, partials[base + s * stride]);
    }
    var l = 0.0;
    var acc = 0.0;
    for (var s = 0u; s < p.splits; s++) {
        let o = base + s * stride;
        let w = exp(partials[o] - m);
        l += w * partials[o + 1u];
        acc += w * partials[o + 2u + d];
    }
    y[e] = select(0.0, acc / l, l > 0.0);
}
