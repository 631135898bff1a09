// Attention of one query row over a KV cache, flash style: one workgroup per (query row,
// head) walks the valid keys in chunks of WG, keeps a running max and sum (online
// softmax) and rescales its accumulator, so no score matrix is stored. Query head h reads
// KV head h / (n_head / n_kv_head) in place (GQA without copies). K/V are f32 or f16
// (KV_F16) words, or as native f16 in the f16 variant (the `kv` include). Invocation t
// owns output dims t, t+WG, ... (head_dim <= 4*WG).
// Split-KV decoding (SPLITS > 1): workgroup z takes keys [z*split_keys, (z+1)*split_keys)
// and leaves its running max, sum and unnormalized accumulator in `partials`;
// attention_combine.wgsl merges the splits. Long caches then use n_head * SPLITS
// workgroups at n = 1 instead of n_head.

//#include half
//#include kv

struct Params {
    n: u32,
    n_head: u32,
    n_kv_head: u32,
    head_dim: u32,
    kv_rows: u32,
    scale: f32,
    causal: u32,
    softcap: f32,
    split_keys: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> positions: array<i32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
// [n, n_head, SPLITS, head_dim + 2]: max, sum, then the accumulator.
@group(0) @binding(6) var<storage, read_write> partials: array<f32>;

override KV_F16: u32 = 0u;
override SPLITS: u32 = 1u;
const WG: u32 = 64u;
const MAX_DIM_PER_INVOCATION: u32 = 4u;

var<workgroup> q_shared: array<f32, 256>;
var<workgroup> scores: array<f32, WG>;
var<workgroup> key_limit: i32;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let split = wid.z;
    let h = wid.x;
    let i = wid.y;
    let kvh = h / (p.n_head / p.n_kv_head);
    let q_base = (i * p.n_head + h) * p.head_dim;
    let kv_width = p.n_kv_head * p.head_dim;
    for (var d = lid; d < p.head_dim; d += WG) {
        q_shared[d] = q[q_base + d];
    }
    if (lid == 0u) {
        var limit = positions[i];
        if (p.causal == 0u) {
            for (var t = 0u; t < p.n; t++) {
                limit = max(limit, positions[t]);
            }
        }
        key_limit = min(limit, i32(p.kv_rows) - 1);
    }
    let keys = min(workgroupUniformLoad(&key_limit) + 1, i32((split + 1u) * p.split_keys));
    let first_key = i32(split * p.split_keys);
    var acc: array<f32, MAX_DIM_PER_INVOCATION>;
    var m = -3.4e38;
    var l = 0.0;
    for (var c0 = first_key; c0 < keys; c0 += i32(WG)) {
        let j = c0 + i32(lid);
        var s = -3.4e38;
        if (j < keys) {
            let kb = u32(j) * kv_width + kvh * p.head_dim;
            var dot = 0.0;
            for (var d = 0u; d < p.head_dim; d++) {
                dot += q_shared[d] * kv_value(false, kb + d);
            }
            s = dot * p.scale;
            if (p.softcap > 0.0) {
                s = p.softcap * tanh(clamp(s / p.softcap, -15.0, 15.0));
            }
        }
        scores[lid] = s;
        workgroupBarrier();
        var chunk_max = m;
        for (var t = 0u; t < WG; t++) {
            chunk_max = max(chunk_max, scores[t]);
        }
        let alpha = exp(m - chunk_max);
        m = chunk_max;
        l *= alpha;
        for (var k = 0u; k < MAX_DIM_PER_INVOCATION; k++) {
            acc[k] *= alpha;
        }
        for (var t = 0u; t < WG; t++) {
            let jj = c0 + i32(t);
            if (jj >= keys) {
                break;
            }
            let pr = exp(scores[t] - m);
            l += pr;
            let vb = u32(jj) * kv_width + kvh * p.head_dim;
            for (var k = 0u; k < MAX_DIM_PER_INVOCATION; k++) {
                let d = lid + k * WG;
                if (d < p.head_dim) {
                    acc[k] += pr * kv_value(true, vb + d);
                }
            }
        }
        workgroupBarrier();
    }
    if (SPLITS > 1u) {
        let base = ((i * p.n_head + h) * SPLITS + split) * (p.head_dim + 2u);
        if (lid == 0u) {
            partials[base] = m;
            partials[base + 1u] = l;
        }
        for (var k = 0u; k < MAX_DIM_PER_INVOCATION; k++) {
            let d = lid + k * WG;
            if (d < p.head_dim) {
                partials[base + 2u + d] = acc[k];
            }
        }
        return;
    }
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var k = 0u; k < MAX_DIM_PER_INVOCATION; k++) {
        let d = lid + k * WG;
        if (d < p.head_dim) {
            y[q_base + d] = acc[k] * inv;
        }
    }
}
