//! Conformance: run each op over a table of cases on a backend under test and on
//! [`Reference`], and report the normalized mean squared error against a bound per op.
//!
//! In the flow of DESIGN.md this is what makes a backend trustworthy: every backend's tests
//! and `edgeplane check` call [`cases`] and [`run_suite`]. A case is written once (a small
//! [`Graph`] plus seeded random inputs) and runs on every backend, as in ggml's
//! `test-backend-ops`. The bounds and the reason for each are in [`bounds`].
//!
//! ```no_run
//! use edgeplane::backend::cpu::reference::Reference;
//! use edgeplane::conformance::{cases, run_suite, CaseFilter};
//! let report = run_suite(&Reference::new(), &cases(&CaseFilter::default()));
//! report.assert_all_pass();
//! ```

pub mod bounds;
mod cases;
mod random;
mod report;
mod run;

pub use bounds::bound;
pub use report::Report;
pub use run::{expected, run_case, run_case_against, run_suite, run_suite_many, CaseResult};

use crate::backend::cpu::reference::Reference;
use crate::backend::Backend;
use crate::graph::Graph;
use crate::op::OpKind;
use crate::tensor::HostTensor;
use crate::DType;

/// How big the cases get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Tier {
    /// Small shapes that cover every op, dtype and code path: seconds on the reference in
    /// a debug build, cheap on a software GPU. For CI.
    #[default]
    Quick,
    /// Quick plus the big shapes (n = 512 matmuls, KV lengths up to 4096). For release
    /// builds and real devices.
    Full,
}

/// Which cases [`cases`] returns. `None` means "all".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Op kinds to include.
    pub ops: Option<Vec<OpKind>>,
    /// Dtypes to include: a case matches when one of its dtypes is listed (the weight dtype
    /// for matmul and get_rows, the cache dtype for attention and kv_write, both sides of a
    /// cast, F32 for the rest).
    pub dtypes: Option<Vec<DType>>,
    /// Size tier.
    pub tier: Tier,
}

impl CaseFilter {
    /// True when a case of `op` over `dtypes` passes the filter.
    pub fn accepts(&self, op: OpKind, dtypes: &[DType]) -> bool {
        let op_ok = self.ops.as_ref().is_none_or(|ops| ops.contains(&op));
        let dtype_ok = self
            .dtypes
            .as_ref()
            .is_none_or(|want| dtypes.iter().any(|d| want.contains(d)));
        op_ok && dtype_ok
    }
}

/// One conformance case: a graph, its inputs, and the NMSE bound every output must meet.
#[derive(Clone, Debug)]
pub struct Case {
    /// What it tests, e.g. `matmul/q4_0/n7/m37k96/bias`; stable across runs and filters.
    pub name: String,
    /// The graph to compile (usually one op, plus the `KvWrite`s that fill a cache).
    pub graph: Graph,
    /// Its run-time inputs, seeded from the case name.
    pub inputs: Vec<HostTensor>,
    /// The largest NMSE accepted for each output (see [`bounds`]).
    pub bound: f64,
}

impl Case {
    /// The reference backend's outputs for this case; compute once and pass to
    /// [`run_case_against`] to check several backends.
    pub fn expected(&self) -> crate::Result<Vec<HostTensor>> {
        expected(self)
    }
}

/// The cases `filter` selects, in a fixed order, with inputs drawn from a PRNG seeded by
/// each case's name (so a case has the same inputs whatever else is selected).
pub fn cases(filter: &CaseFilter) -> Vec<Case> {
    cases::all(filter)
}

/// Normalized mean squared error, `Σ(a-r)² / Σr²`, accumulated in f64: the error energy
/// relative to the signal's, so one bound fits outputs of any scale (ggml's
/// test-backend-ops uses the same metric). When the reference is all zeros it is 0 if the
/// actual is too and infinite otherwise; a length mismatch or a NaN anywhere is infinite or
/// NaN, which never passes.
pub fn nmse(reference: &[f32], actual: &[f32]) -> f64 {
    if reference.len() != actual.len() {
        return f64::INFINITY;
    }
    let mut error = 0.0f64;
    let mut signal = 0.0f64;
    for (&r, &a) in reference.iter().zip(actual) {
        let (r, a) = (f64::from(r), f64::from(a));
        error += (a - r) * (a - r);
        signal += r * r;
    }
    if signal == 0.0 {
        if error == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        error / signal
    }
}

/// The one-line check for the CLI and tests: the cases `filter` selects, run on `backend`.
pub fn check(backend: &dyn Backend, filter: &CaseFilter) -> Report {
    run_suite(backend, &cases(filter))
}

/// The ground truth every case is compared with.
fn reference() -> Reference {
    Reference::new()
}
