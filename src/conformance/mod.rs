//! Conformance: run each op over a table of cases on a backend under test and on the reference, and report the error.
