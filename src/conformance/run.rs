//! Running cases: on the backend under test and on the reference, compared output by
//! output. Every failure (a compile or run error, a panic, a shape mismatch, an NMSE over
//! the bound) becomes a failed [`CaseResult`], so one broken kernel does not hide the rest.

use super::{nmse, reference, Case, Report};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::HostTensor;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The outcome of one case on one backend.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CaseResult {
    /// The case's name.
    pub case: String,
    /// The backend's name ([`crate::DeviceInfo::backend`]).
    pub backend: String,
    /// The worst NMSE over the case's outputs (infinite when the run failed).
    pub nmse: f64,
    /// The case's bound.
    pub bound: f64,
    /// Why the case could not be compared, if it could not.
    pub error: Option<String>,
}

impl CaseResult {
    /// No error and the NMSE within the bound (a NaN never passes).
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.nmse <= self.bound
    }
}

/// Compiles and runs `case` on `backend` once; a panic inside the backend is reported as a
/// `Device` error rather than unwinding through the harness.
fn run_on(backend: &dyn Backend, case: &Case) -> Result<Vec<HostTensor>> {
    let attempt = catch_unwind(AssertUnwindSafe(|| {
        let mut exe = backend.compile(&case.graph)?;
        exe.run(&case.inputs)
    }));
    attempt.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into());
        Err(Error::Device {
            backend: backend.info().backend,
            message: format!("panicked: {message}"),
        })
    })
}

/// The reference outputs of `case`: compute them once and pass them to
/// [`run_case_against`] to check many backends without recomputing.
pub fn expected(case: &Case) -> Result<Vec<HostTensor>> {
    run_on(&reference(), case)
}

/// Runs `case` on `backend` and on the reference and compares every output.
pub fn run_case(backend: &dyn Backend, case: &Case) -> CaseResult {
    let expected = expected(case);
    compare(backend, case, expected.as_deref())
}

/// Runs `case` on `backend` and compares with `expected` (from [`expected`]).
pub fn run_case_against(backend: &dyn Backend, case: &Case, expected: &[HostTensor]) -> CaseResult {
    compare(backend, case, Ok(expected))
}

fn compare(
    backend: &dyn Backend,
    case: &Case,
    expected: Result<&[HostTensor], &Error>,
) -> CaseResult {
    let mut result = CaseResult {
        case: case.name.clone(),
        backend: backend.info().backend,
        nmse: f64::INFINITY,
        bound: case.bound,
        error: None,
    };
    let outcome = expected
        .map_err(|e| format!("reference failed: {e}"))
        .and_then(|expected| {
            let actual = run_on(backend, case).map_err(|e| e.to_string())?;
            worst_nmse(expected, &actual)
        });
    match outcome {
        Ok(value) => result.nmse = value,
        Err(message) => result.error = Some(message),
    }
    result
}

/// The worst NMSE over paired outputs, or why they cannot be compared.
fn worst_nmse(expected: &[HostTensor], actual: &[HostTensor]) -> Result<f64, String> {
    if expected.len() != actual.len() {
        return Err(format!(
            "{} outputs, the reference gives {}",
            actual.len(),
            expected.len()
        ));
    }
    let mut worst = 0.0f64;
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        if e.desc != a.desc {
            return Err(format!(
                "output {i} is {}, the reference gives {}",
                a.desc, e.desc
            ));
        }
        let e = e.to_f32().map_err(|err| format!("output {i}: {err}"))?;
        let a = a.to_f32().map_err(|err| format!("output {i}: {err}"))?;
        let value = nmse(&e, &a);
        // NaN must win over any number, so it is never hidden behind a smaller error.
        if value.is_nan() || value > worst {
            worst = value;
        }
        if worst.is_nan() {
            break;
        }
    }
    Ok(worst)
}

/// Runs every case on `backend`.
pub fn run_suite(backend: &dyn Backend, cases: &[Case]) -> Report {
    run_suite_many(&[backend], cases)
}

/// Runs every case on every backend, computing each reference output once.
pub fn run_suite_many(backends: &[&dyn Backend], cases: &[Case]) -> Report {
    let mut results = Vec::with_capacity(cases.len() * backends.len());
    for case in cases {
        log::debug!("conformance case {}", case.name);
        let expected = expected(case);
        for backend in backends {
            results.push(compare(*backend, case, expected.as_deref()));
        }
    }
    Report { results }
}
