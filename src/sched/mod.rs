//! The scheduler: probe devices, measure kernels, cache the profile, plan graphs onto
//! devices, explain the plan, and recover when a device fails.
//!
//! In the flow of `docs/architecture.md` it sits between the graph a model builds and the
//! backends: [`Scheduler`] takes the backends the caller found ([`probe`]), times each op
//! class on each ([`measure`], [`workload`]), keeps the timings and fitted cost models on
//! disk ([`profile`], [`fit`]), assigns every node to a device ([`plan`], [`explain`]),
//! cuts the graph per device ([`partition`]), runs the pieces ([`exec`]) and re-plans
//! around a device that fails ([`recover`]). It is itself a [`crate::Backend`] named
//! `"auto"`.

pub mod bench;
pub mod blocks;
pub mod check;
pub mod class;
pub mod exec;
pub mod explain;
pub mod fit;
pub mod layer;
pub mod measure;
pub mod partition;
pub mod plan;
pub mod probe;
pub mod profile;
pub mod recover;
pub mod scheduler;
pub mod settings;
pub mod workload;

pub use class::{BatchClass, OpClass, Work};
pub use plan::Plan;
pub use recover::{AutoExecutable, RunOutcome};
pub use scheduler::{MeasureReport, Scheduler, REFERENCE_BACKEND};
pub use settings::{Clock, MeasureScale, Policy, SchedSettings, WallClock};
