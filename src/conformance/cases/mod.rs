//! The case table: which shapes and dtypes each op is checked over, per tier.
//!
//! Each family's file lists its shapes; this file holds the small builder they share.
//! Building a case cannot fail on user input (the table is fixed), so a failure to build
//! is a bug in the table and panics with the case name; the tests build every case.

mod attention;
mod data;
mod matmul;
mod rows;

use super::random::Rng;
use super::{bound, Case, CaseFilter};
use crate::error::Result;
use crate::graph::{Graph, TensorId};
use crate::op::{Op, OpKind};
use crate::tensor::{Bytes, HostTensor, TensorDesc};
use crate::DType;

/// Every case `filter` selects, families in a fixed order.
pub fn all(filter: &CaseFilter) -> Vec<Case> {
    let mut out = Vec::new();
    matmul::cases(filter, &mut out);
    attention::cases(filter, &mut out);
    data::cases(filter, &mut out);
    rows::cases(filter, &mut out);
    out
}

/// Builds one case: a graph with seeded inputs and constants.
pub struct CaseBuilder {
    name: String,
    graph: Graph,
    inputs: Vec<HostTensor>,
    /// The case's random source, seeded by its name.
    pub rng: Rng,
}

impl CaseBuilder {
    /// A builder for the case `name`.
    pub fn new(name: String) -> Self {
        CaseBuilder {
            rng: Rng::for_case(&name),
            name,
            graph: Graph::new(),
            inputs: Vec::new(),
        }
    }

    /// A run-time input with the given value.
    pub fn input(&mut self, label: &str, value: HostTensor) -> Result<TensorId> {
        let id = self.graph.input(label, value.desc.clone())?;
        self.inputs.push(value);
        Ok(id)
    }

    /// A random f32 input, uniform in `[-scale, scale)`.
    pub fn random(&mut self, label: &str, shape: &[usize], scale: f32) -> Result<TensorId> {
        let values = self.rng.values(shape.iter().product(), scale);
        self.input(label, HostTensor::from_f32(shape, &values)?)
    }

    /// An i32 input (positions, ids).
    pub fn ints(&mut self, label: &str, values: &[i32]) -> Result<TensorId> {
        self.input(label, HostTensor::from_i32([values.len()], values)?)
    }

    /// Random weights `[rows, cols]` in `dtype` as a graph constant.
    pub fn weights(
        &mut self,
        label: &str,
        dtype: DType,
        rows: usize,
        cols: usize,
    ) -> Result<TensorId> {
        let bytes = super::random::weights(&mut self.rng, dtype, rows, cols);
        self.graph.constant(
            label,
            TensorDesc::new(dtype, [rows, cols]),
            Bytes::from_vec(bytes),
        )
    }

    /// The graph, for state tensors and nodes.
    pub fn graph(&mut self) -> &mut Graph {
        &mut self.graph
    }

    /// Adds `op` over `inputs`.
    pub fn add(&mut self, op: Op, inputs: &[TensorId]) -> Result<TensorId> {
        self.graph.add(op, inputs)
    }

    /// The finished case, `output` its one output, bounded by `op`'s bound.
    pub fn finish(mut self, op: OpKind, output: TensorId) -> Result<Case> {
        self.graph.mark_output(output)?;
        Ok(Case {
            name: self.name,
            graph: self.graph,
            inputs: self.inputs,
            bound: bound(op),
        })
    }
}

/// Builds the case `name` of `op` over `dtypes` with `build` when the filter selects it.
/// A build error is a bug in the fixed table (see the module doc).
pub fn push(
    out: &mut Vec<Case>,
    filter: &CaseFilter,
    op: OpKind,
    dtypes: &[DType],
    name: String,
    build: impl FnOnce(CaseBuilder) -> Result<Case>,
) {
    if !filter.accepts(op, dtypes) {
        return;
    }
    match build(CaseBuilder::new(name.clone())) {
        Ok(case) => out.push(case),
        Err(e) => panic!("conformance case {name} does not build (a bug in the case table): {e}"),
    }
}
