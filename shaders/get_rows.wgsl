// Embedding lookup: y[t, c] = table[ids[t], c], dequantized. One invocation per output
// value. A split table runs one dispatch per chunk; each writes the rows it holds, and the
// chunk starting at row 0 also writes zeros for ids outside the table.

//#include half
//#include common
//#include quant

struct Params {
    n: u32,
    d: u32,
    row_bytes: u32,
    first_row: u32,
    rows: u32,
    vocab: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> wq: array<u32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let e = (wid.x + wid.y * nwg.x) * WG + lid;
    if (e >= p.n * p.d) {
        return;
    }
    let t = e / p.d;
    let c = e % p.d;
    let id = ids[t];
    if (id < 0 || u32(id) >= p.vocab) {
        if (p.first_row == 0u) {
            y[e] = 0.0;
        }
        return;
    }
    let r = u32(id);
    if (r >= p.first_row && r < p.first_row + p.rows) {
        y[e] = weight_elem((r - p.first_row) * p.row_bytes, c);
    }
}
