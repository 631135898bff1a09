//! The conformance suite (every op × dtype × case of the Quick tier, against the cpu
//! Reference) on the wgpu backend, with the default shader variants (f16 and subgroups where
//! the adapter has them) and with forced fallbacks. Fails under `EDGEPLANE_REQUIRE_GPU=1`
//! when there is no suitable adapter; otherwise skips with a note.

mod wgpu_support;

use edgeplane::conformance::{cases, run_suite, CaseFilter, Tier};

#[test]
fn quick_suite_passes_with_default_and_fallback_variants() {
    let filter = CaseFilter {
        tier: Tier::Quick,
        ..CaseFilter::default()
    };
    let all = cases(&filter);
    assert!(!all.is_empty(), "the Quick tier has cases");
    for settings in wgpu_support::both_variants() {
        let Some(backend) = wgpu_support::backend(&settings) else {
            return;
        };
        let report = run_suite(&backend, &all);
        report.assert_all_pass();
    }
}
