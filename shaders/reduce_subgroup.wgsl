// Sum of `v` over the workgroup (size WG) with subgroup adds; valid in every invocation.
// Every lane of a subgroup holds the subgroup's sum, so each leaves sum / lanes (exact for
// power-of-two subgroup sizes) and the workgroup adds those. Needs no subgroup builtins,
// so it holds for any subgroup size and any lane-to-invocation mapping.
var<workgroup> reduce_scratch: array<f32, WG>;

fn reduce_sum(v: f32, lid: u32) -> f32 {
    let s = subgroupAdd(v);
    let lanes = subgroupAdd(1u);
    reduce_scratch[lid] = s / f32(lanes);
    workgroupBarrier();
    var total = 0.0;
    for (var i = 0u; i < WG; i++) {
        total += reduce_scratch[i];
    }
    workgroupBarrier();
    return total;
}
