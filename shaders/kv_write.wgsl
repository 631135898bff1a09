// Writes rows of `new` into the KV cache at their positions, one invocation per cache
// word: one f32, or two f16 values (KV_F16; width is even). Rows whose position is
// outside the cache are skipped (the host checks positions before running).

struct Params {
    n: u32,
    width: u32,
    capacity: u32,
    pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> cache: array<u32>;
@group(0) @binding(2) var<storage, read> new_rows: array<f32>;
@group(0) @binding(3) var<storage, read> positions: array<i32>;

override KV_F16: u32 = 0u;
const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let w = (wid.x + wid.y * nwg.x) * WG + lid;
    let per_word = 1u + KV_F16;
    let words_per_row = p.width / per_word;
    if (w >= p.n * words_per_row) {
        return;
    }
    let t = w / words_per_row;
    let c = (w % words_per_row) * per_word;
    let pos = positions[t];
    if (pos < 0 || u32(pos) >= p.capacity) {
        return;
    }
    let src = t * p.width + c;
    let dst = (u32(pos) * p.width + c) / per_word;
    if (KV_F16 == 1u) {
        cache[dst] = pack2x16float(vec2<f32>(new_rows[src], new_rows[src + 1u]));
    } else {
        cache[dst] = bitcast<u32>(new_rows[src]);
    }
}
