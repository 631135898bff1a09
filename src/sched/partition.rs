//! Partitioning: cut a planned graph into per-device sub-graphs a backend can compile on
//! its own.
//!
//! A segment is a maximal run of consecutive nodes on one device. Its sub-graph takes as
//! inputs the graph inputs it reads and every tensor an earlier segment produced; it owns
//! the constants (weights stay resident on the device they are assigned to) and state
//! tensors its nodes touch; its outputs are what later segments or the caller need.

use crate::error::{Error, Result};
use crate::graph::{Graph, TensorId, TensorKind};
use std::collections::HashMap;

/// One per-device piece of a graph.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Index of the device in the plan.
    pub device: usize,
    /// Node indices of the original graph it runs.
    pub nodes: Vec<usize>,
    /// The sub-graph.
    pub graph: Graph,
    /// Original tensor of each sub-graph input, in input order.
    pub inputs: Vec<TensorId>,
    /// Original tensor of each sub-graph output, in output order.
    pub outputs: Vec<TensorId>,
    /// Original state tensors held by this segment, with their sub-graph ids.
    pub states: Vec<(TensorId, TensorId)>,
}

/// Splits `graph` by `assignment` (device per node).
pub fn partition(graph: &Graph, assignment: &[usize]) -> Result<Vec<Segment>> {
    let nodes = graph.nodes();
    if assignment.len() != nodes.len() {
        return Err(Error::Schedule(format!(
            "plan covers {} nodes, the graph has {}",
            assignment.len(),
            nodes.len()
        )));
    }
    let mut runs: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, &d) in assignment.iter().enumerate() {
        match runs.last_mut() {
            Some((dev, list)) if *dev == d => list.push(i),
            _ => runs.push((d, vec![i])),
        }
    }
    // Which segment consumes each tensor, to decide segment outputs.
    let mut consumers: HashMap<usize, Vec<usize>> = HashMap::new();
    for (s, (_, list)) in runs.iter().enumerate() {
        for &i in list {
            for t in &nodes[i].inputs {
                consumers.entry(t.0).or_default().push(s);
            }
        }
    }
    let mut state_owner: HashMap<usize, usize> = HashMap::new();
    let mut segments = Vec::with_capacity(runs.len());
    for (s, (device, list)) in runs.into_iter().enumerate() {
        let mut sub = Graph::new();
        let mut map: HashMap<usize, TensorId> = HashMap::new();
        let mut inputs = Vec::new();
        let mut states = Vec::new();
        for &i in &list {
            let node = &nodes[i];
            let mut args = Vec::with_capacity(node.inputs.len());
            for &t in &node.inputs {
                if let Some(&id) = map.get(&t.0) {
                    args.push(id);
                    continue;
                }
                let info = graph.tensor(t);
                let id = match &info.kind {
                    TensorKind::Constant(bytes) => {
                        sub.constant(info.name.clone(), info.desc.clone(), bytes.clone())?
                    }
                    TensorKind::State => {
                        if let Some(other) = state_owner.insert(t.0, s) {
                            if other != s {
                                return Err(Error::Schedule(format!(
                                    "state tensor {} is used by two segments ({other} and {s}); \
                                     nodes sharing a KV cache must run together",
                                    info.name
                                )));
                            }
                        }
                        let id = sub.state(info.name.clone(), info.desc.clone())?;
                        states.push((t, id));
                        id
                    }
                    TensorKind::Input | TensorKind::Computed(_) => {
                        inputs.push(t);
                        sub.input(info.name.clone(), info.desc.clone())?
                    }
                };
                map.insert(t.0, id);
                args.push(id);
            }
            let out = sub.add(node.op.clone(), &args)?;
            sub.set_name(out, graph.tensor(node.output).name.clone());
            map.insert(node.output.0, out);
        }
        let mut outputs = Vec::new();
        for &i in &list {
            let t = nodes[i].output;
            let later = consumers
                .get(&t.0)
                .is_some_and(|c| c.iter().any(|&x| x > s));
            if later || graph.outputs().contains(&t) {
                sub.mark_output(map[&t.0])?;
                outputs.push(t);
            }
        }
        segments.push(Segment {
            device,
            nodes: list,
            graph: sub,
            inputs,
            outputs,
            states,
        });
    }
    Ok(segments)
}
