// Row softmax of x * scale; one workgroup per row.

//#include reduce

struct Params {
    d: u32,
    scale: f32,
    rows: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const WG: u32 = 64u;
var<workgroup> max_scratch: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.rows) {
        return;
    }
    let base = row * p.d;
    var m = -3.4e38;
    for (var c = lid; c < p.d; c += WG) {
        m = max(m, x[base + c] * p.scale);
    }
    max_scratch[lid] = m;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            max_scratch[lid] = max(max_scratch[lid], max_scratch[lid + s]);
        }
        workgroupBarrier();
    }
    let row_max = max_scratch[0];
    var sum = 0.0;
    for (var c = lid; c < p.d; c += WG) {
        sum += exp(x[base + c] * p.scale - row_max);
    }
    let inv = 1.0 / reduce_sum(sum, lid);
    for (var c = lid; c < p.d; c += WG) {
        y[base + c] = exp(x[base + c] * p.scale - row_max) * inv;
    }
}
