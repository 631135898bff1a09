//! The conformance table (Quick tier: every op, dtype and code path) on the fast CPU
//! backend, once per SIMD level this machine has (scalar included), against the reference;
//! and determinism: the same bits from repeated runs with two threads.

use edgeplane::backend::cpu::fast::{Fast, FastSettings};
use edgeplane::conformance::{cases, run_suite_many, CaseFilter};
use edgeplane::Backend;
use edgeplane_kernels::cpu::SimdLevel;

fn fast(level: SimdLevel, threads: usize) -> Fast {
    Fast::new(FastSettings {
        threads,
        simd: Some(level),
        repack: FastSettings::default_repack(),
    })
    .expect("level listed as available")
}

#[test]
fn quick_table_passes_on_every_simd_level() {
    let all = cases(&CaseFilter::default());
    assert!(!all.is_empty());
    let backends: Vec<Fast> = SimdLevel::available()
        .into_iter()
        .map(|l| fast(l, 2))
        .collect();
    let refs: Vec<&dyn Backend> = backends.iter().map(|b| b as &dyn Backend).collect();
    let report = run_suite_many(&refs, &all);
    report.assert_all_pass();
    assert_eq!(report.results.len(), all.len() * backends.len());
}

#[test]
fn outputs_are_bit_identical_across_runs_with_two_threads() {
    let backend = fast(SimdLevel::best(), 2);
    for case in cases(&CaseFilter::default()) {
        let mut first_exe = backend.compile(&case.graph).expect("compiles");
        let first = first_exe.run(&case.inputs).expect("runs");
        for _ in 0..2 {
            // A fresh executable each time: state (KV caches) starts from zero as in `first`.
            let again = backend
                .compile(&case.graph)
                .expect("compiles")
                .run(&case.inputs)
                .expect("runs");
            assert_eq!(first, again, "{}: outputs differ between runs", case.name);
        }
    }
}
