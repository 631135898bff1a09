//! The conformance harness proven on the reference backend itself.
use edgeplane::backend::cpu::reference::Reference;
use edgeplane::conformance::{cases, run_suite, CaseFilter};

/// The whole Quick table on the reference against itself: every case builds, runs, and is
/// bit-identical (NMSE exactly 0).
#[test]
fn quick_table_on_reference_is_exact() {
    let all = cases(&CaseFilter::default());
    let report = run_suite(&Reference::new(), &all);
    report.assert_all_pass();
    assert!(report.results.iter().all(|r| r.nmse == 0.0), "{report}");
    assert!(all.len() > 100, "{} cases", all.len());
}
