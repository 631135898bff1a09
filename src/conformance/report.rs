//! The results of a suite: the worst case, the failures, a table for people and a panic
//! listing every failure for tests.

use super::CaseResult;
use std::fmt;

/// Results of [`super::run_suite`], one per case and backend.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Report {
    /// Every result, in case order.
    pub results: Vec<CaseResult>,
}

/// How far a result is from failing: NMSE over bound; errors and NaN rank highest.
fn severity(r: &CaseResult) -> f64 {
    if r.error.is_some() || r.nmse.is_nan() {
        f64::INFINITY
    } else {
        r.nmse / r.bound
    }
}

impl Report {
    /// The result closest to (or furthest past) its bound, relative to that bound: the one
    /// to look at first. `None` for an empty report.
    pub fn worst(&self) -> Option<&CaseResult> {
        self.results
            .iter()
            .max_by(|a, b| severity(a).total_cmp(&severity(b)))
    }

    /// Every failed result.
    pub fn failures(&self) -> Vec<&CaseResult> {
        self.results.iter().filter(|r| !r.passed()).collect()
    }

    /// True when every case passed.
    pub fn all_passed(&self) -> bool {
        self.results.iter().all(CaseResult::passed)
    }

    /// Panics listing every failing case (case, backend, NMSE vs bound, error).
    #[track_caller]
    pub fn assert_all_pass(&self) {
        let failures = self.failures();
        if failures.is_empty() {
            return;
        }
        let mut message = format!(
            "{} of {} conformance cases failed:\n",
            failures.len(),
            self.results.len()
        );
        for f in failures {
            message.push_str(&format!("  {}\n", line(f)));
        }
        panic!("{message}");
    }
}

/// One result as a line: `case on backend: nmse 1.2e-5 (bound 5e-4) pass`.
fn line(r: &CaseResult) -> String {
    let verdict = match (&r.error, r.passed()) {
        (Some(e), _) => format!("FAIL: {e}"),
        (None, true) => "pass".into(),
        (None, false) => "FAIL: over the bound".into(),
    };
    format!(
        "{} on {}: nmse {:.3e} (bound {:.0e}) {verdict}",
        r.case, r.backend, r.nmse, r.bound
    )
}

impl fmt::Display for Report {
    /// A fixed-width table, then a summary with the worst case.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.results.iter().map(|r| r.case.len()).max().unwrap_or(4);
        let backend_width = self
            .results
            .iter()
            .map(|r| r.backend.len())
            .max()
            .unwrap_or(7);
        writeln!(
            f,
            "{:width$}  {:backend_width$}  {:>10}  {:>7}  result",
            "case", "backend", "nmse", "bound"
        )?;
        for r in &self.results {
            let verdict = match (&r.error, r.passed()) {
                (Some(e), _) => format!("FAIL: {e}"),
                (None, true) => "pass".into(),
                (None, false) => "FAIL".into(),
            };
            writeln!(
                f,
                "{:width$}  {:backend_width$}  {:>10.3e}  {:>7.0e}  {verdict}",
                r.case, r.backend, r.nmse, r.bound
            )?;
        }
        let failed = self.failures().len();
        write!(f, "{} cases, {failed} failed", self.results.len())?;
        if let Some(w) = self.worst() {
            write!(f, "; worst: {}", line(w))?;
        }
        Ok(())
    }
}
