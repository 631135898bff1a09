// Prefill matmul, y[t, m] = sum_c x[t, c] * w[m, c] (+ bias[m]) for many tokens.
// A workgroup computes a TILE x TILE block of y (TILE weight rows x TILE tokens): each
// step stages a TILE x KT slice of dequantized weights and of x in workgroup memory, then
// each invocation accumulates a 4 x 4 register block. Weights are dequantized once per
// tile, not once per token.

//#include half
//#include common
//#include quant

struct Params {
    n: u32,
    k: u32,
    m: u32,
    row_offset: u32,
    rows: u32,
    has_bias: u32,
    row_bytes: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> wq: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const TILE: u32 = 32u;
const KT: u32 = 32u;
const WG: u32 = 64u;

var<workgroup> wt: array<f32, 1024>; // [TILE rows][KT]
var<workgroup> xt: array<f32, 1024>; // [TILE tokens][KT]

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row0 = wid.x * TILE;
    let tok0 = wid.y * TILE;
    let tr = (lid % 8u) * 4u; // first of this invocation's 4 rows in the tile
    let tt = (lid / 8u) * 4u; // first of its 4 tokens
    var acc: array<f32, 16>;
    for (var k0 = 0u; k0 < p.k; k0 += KT) {
        for (var i = lid; i < TILE * KT; i += WG) {
            let a = i / KT;
            let c = k0 + i % KT;
            var wv = 0.0;
            if (row0 + a < p.rows && c < p.k) {
                wv = weight_elem((row0 + a) * p.row_bytes, c);
            }
            wt[i] = wv;
            var xv = 0.0;
            if (tok0 + a < p.n && c < p.k) {
                xv = x[(tok0 + a) * p.k + c];
            }
            xt[i] = xv;
        }
        workgroupBarrier();
        for (var c = 0u; c < KT; c++) {
            var wr: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                wr[i] = wt[(tr + i) * KT + c];
            }
            for (var j = 0u; j < 4u; j++) {
                let xv = xt[(tt + j) * KT + c];
                for (var i = 0u; i < 4u; i++) {
                    acc[j * 4u + i] += wr[i] * xv;
                }
            }
        }
        workgroupBarrier();
    }
    for (var j = 0u; j < 4u; j++) {
        let t = tok0 + tt + j;
        for (var i = 0u; i < 4u; i++) {
            let r = row0 + tr + i;
            if (t < p.n && r < p.rows) {
                let m = p.row_offset + r;
                var v = acc[j * 4u + i];
                if (p.has_bias != 0u) {
                    v += bias[m];
                }
                y[t * p.m + m] = v;
            }
        }
    }
}
