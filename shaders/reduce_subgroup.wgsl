// Sum of `v` over the workgroup (size WG) with subgroup adds; valid in every invocation.
// Each subgroup's first active lane (exclusive prefix count 0) claims a slot with a
// workgroup atomic and leaves its subgroup's sum there; everyone then adds the few slots.
// Needs no subgroup builtins (naga 30 rejects `enable subgroups;` and has no
// subgroupElect), so it holds for any subgroup size and lane-to-invocation mapping.
var<workgroup> reduce_scratch: array<f32, WG>;
var<workgroup> reduce_slots: atomic<u32>;

fn reduce_sum(v: f32, lid: u32) -> f32 {
    let s = subgroupAdd(v);
    let rank = subgroupExclusiveAdd(1u);
    if (lid == 0u) {
        atomicStore(&reduce_slots, 0u);
    }
    workgroupBarrier();
    if (rank == 0u) {
        reduce_scratch[atomicAdd(&reduce_slots, 1u)] = s;
    }
    let slots = workgroupUniformLoad(&reduce_slots);
    var total = 0.0;
    for (var i = 0u; i < slots; i++) {
        total += reduce_scratch[i];
    }
    workgroupBarrier();
    return total;
}
