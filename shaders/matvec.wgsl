// Decode matmul, y[t, m] = sum_c x[t, c] * w[m, c] (+ bias[m]) for n = N <= 8 tokens.
// A workgroup takes ROWS weight rows, WG / ROWS invocations per row: each strides over its
// row in PIECE-value pieces, dequantizes each weight once in registers and uses it for every
// token; the row's partial sums are then added from workgroup memory (one barrier, a
// short serial sum), so short rows do not pay a full-workgroup reduction each.
// `rows` rows of this binding start at global row `row_offset` (big weights are split).

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

const WG: u32 = 64u;
const MAX_N: u32 = 8u;
// Tokens, fixed per pipeline so the token loops unroll and accumulators stay in registers.
override N: u32 = 1u;
// Weight rows per workgroup (divides WG).
override ROWS: u32 = 4u;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let lanes = WG / ROWS;
    let r = (wid.x + wid.y * nwg.x) * ROWS + lid / lanes;
    let lane = lid % lanes;
    let live = r < p.rows;
    let row_byte = r * p.row_bytes;
    var acc: array<f32, MAX_N>;
    let units = select(0u, p.k / PIECE, live);
    for (var u = lane; u < units; u += lanes) {
        let c0 = u * PIECE;
        let b = row_byte + (c0 / QK) * BLOCK_BYTES;
        var piece: array<f32, 32>;
        dequant_piece(b, c0 % QK, &piece);
        for (var j = 0u; j < PIECE; j++) {
            let w = piece[j];
            for (var t = 0u; t < N; t++) {
                acc[t] += w * x[t * p.k + c0 + j];
            }
        }
    }
    let m = p.row_offset + r;
    for (var t = 0u; t < N; t++) {
        partial[lid] = acc[t];
        workgroupBarrier();
        if (lane == 0u && live) {
            var v = 0.0;
            for (var i = 0u; i < lanes; i++) {
                v += partial[lid + i];
            }
            if (p.has_bias != 0u) {
                v += bias[m];
            }
            y[t * p.m + m] = v;
        }
        workgroupBarrier();
    }
}
