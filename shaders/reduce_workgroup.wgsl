// Sum of `v` over the workgroup (size WG, a power of two); valid in invocation 0.
// Called in uniform control flow by every invocation.
var<workgroup> reduce_scratch: array<f32, WG>;

fn reduce_sum(v: f32, lid: u32) -> f32 {
    reduce_scratch[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            reduce_scratch[lid] += reduce_scratch[lid + s];
        }
        workgroupBarrier();
    }
    let r = reduce_scratch[0];
    workgroupBarrier();
    return r;
}
