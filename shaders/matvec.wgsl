// Decode matmul, y[t, m] = sum_c x[t, c] * w[m, c] (+ bias[m]) for n <= 8 tokens.
// One workgroup per weight row: invocations stride over the row in SUB-value pieces, dequantize each
// weight once in registers and use it for every token, then reduce across the workgroup.
// `rows` rows of this binding start at global row `row_offset` (big weights are split).

//#include half
//#include reduce
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
const SUB: u32 = min(QK, 32u);

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let r = wid.x + wid.y * nwg.x;
    if (r >= p.rows) {
        return;
    }
    let row_byte = r * p.row_bytes;
    var acc: array<f32, MAX_N>;
    // Invocations take SUB consecutive values at a time (a Q4_0 block, an eighth of a
    // K-quant super-block), so short rows of big blocks still keep every invocation busy.
    let units = p.k / SUB;
    for (var u = lid; u < units; u += WG) {
        let c0 = u * SUB;
        let b = row_byte + (c0 / QK) * BLOCK_BYTES;
        let j0 = c0 % QK;
        for (var j = 0u; j < SUB; j++) {
            let w = dequant_block_elem(b, j0 + j);
            for (var t = 0u; t < N; t++) {
                acc[t] += w * x[t * p.k + c0 + j];
            }
        }
    }
    let m = p.row_offset + r;
    for (var t = 0u; t < N; t++) {
        // Every invocation takes part in every reduction (uniform control flow).
        let s = reduce_sum(acc[t], lid);
        if (lid == 0u) {
            var v = s;
            if (p.has_bias != 0u) {
                v += bias[m];
            }
            y[t * p.m + m] = v;
        }
    }
}
