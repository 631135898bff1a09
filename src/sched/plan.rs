//! Planning: assign every node of a graph to a device so the estimated total time —
//! compute, plus host copies and an extra `run` at every partition boundary — is minimal.
//!
//! The nodes are already topologically ordered, and the executor runs maximal runs of
//! consecutive same-device nodes as one segment, so a plan is a labelling of that sequence.
//! A dynamic program over it (state: the device of the previous node) is exact for that
//! cost: switching devices between nodes `i-1` and `i` costs the new segment's fixed run
//! cost plus moving every tensor live across the cut (read back on one side, uploaded on
//! the other). ggml's scheduler assigns greedily by where weights live and then expands;
//! the DP instead weighs each split against what it saves, so a chain of ops stays on one
//! device unless splitting pays.
//!
//! Constraints the DP cannot express locally are handled around it: nodes touching the same
//! state tensor (a KV cache and the attention reading it) are forced onto one device by
//! trying each device for the group and keeping the cheapest; a device whose assigned
//! weights exceed its memory has its largest node forbidden there and the plan is redone.

use super::class::{node_work, OpClass};
use super::profile::{DeviceProfile, Estimate, EstimateSource};
use crate::error::{Error, Result};
use crate::graph::{Graph, TensorKind};
use std::collections::BTreeMap;

/// A device as the planner sees it.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// Backend name.
    pub name: String,
    /// Its measurements (an empty profile if none).
    pub profile: DeviceProfile,
    /// Memory it can hold, bytes.
    pub memory_bytes: Option<u64>,
    /// Per node of the graph: whether the backend supports it.
    pub supports: Vec<bool>,
}

/// Where one node runs, and why.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct NodePlan {
    /// Node index in the graph.
    pub node: usize,
    /// `"MatMul#3 → ffn_up [1, 8192]"`-style label.
    pub label: String,
    /// Its op class.
    pub class: OpClass,
    /// Index into [`Plan::devices`].
    pub device: usize,
    /// Estimated time there, µs.
    pub estimate_us: f64,
    /// Where the estimate came from.
    pub source: EstimateSource,
    /// The best other device and its estimate, µs.
    pub runner_up: Option<(usize, f64)>,
}

/// An assignment of a graph's nodes to devices, with its estimates.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Plan {
    /// Device names, indexed by `NodePlan::device`.
    pub devices: Vec<String>,
    /// One entry per node, in graph order.
    pub nodes: Vec<NodePlan>,
    /// Estimated total, µs (compute + boundaries).
    pub total_us: f64,
    /// The part of `total_us` spent at partition boundaries and on graph inputs/outputs.
    pub boundary_us: f64,
    /// Number of segments (maximal same-device runs).
    pub segments: usize,
    /// Per device, the estimated total with everything on it (`None`: it can't run it all).
    pub single_device_us: Vec<Option<f64>>,
}

impl Plan {
    /// Device index of each node.
    pub fn assignment(&self) -> Vec<usize> {
        self.nodes.iter().map(|n| n.device).collect()
    }

    /// The device name of node `i`.
    pub fn device_of(&self, node: usize) -> &str {
        &self.devices[self.nodes[node].device]
    }
}

/// Everything the DP needs, precomputed once per graph.
struct Costs {
    /// `op[i][d]`: compute plus graph input/output copies of node `i` on device `d`, µs.
    op: Vec<Vec<f64>>,
    /// `estimate[i][d]`: the compute part alone, for explaining.
    estimate: Vec<Vec<Estimate>>,
    /// Bytes of intermediate tensors live across the cut before node `i`.
    cut_bytes: Vec<f64>,
    /// Constant (and state) bytes each node needs resident, with the tensor ids.
    resident: Vec<Vec<(usize, u64)>>,
}

fn costs(graph: &Graph, cands: &[Candidate]) -> Costs {
    let n = graph.nodes().len();
    let mut last_use = vec![None::<usize>; graph.tensors().len()];
    for (i, node) in graph.nodes().iter().enumerate() {
        for t in &node.inputs {
            last_use[t.0] = Some(i);
        }
    }
    let bytes = |t: usize| graph.tensors()[t].desc.byte_len().unwrap_or(0) as f64;
    let is_output = |t: usize| graph.outputs().iter().any(|o| o.0 == t);
    let mut cut_bytes = vec![0.0; n + 1];
    for (i, node) in graph.nodes().iter().enumerate() {
        if let Some(last) = last_use[node.output.0] {
            for c in cut_bytes.iter_mut().take(last + 1).skip(i + 1) {
                *c += bytes(node.output.0);
            }
        }
    }
    let mut op = vec![vec![0.0; cands.len()]; n];
    let mut estimate = Vec::with_capacity(n);
    let mut resident = vec![Vec::new(); n];
    for (i, node) in graph.nodes().iter().enumerate() {
        let class = OpClass::of(graph, node);
        let work = node_work(graph, node);
        let mut row = Vec::with_capacity(cands.len());
        let io_bytes: f64 = node
            .inputs
            .iter()
            .filter(|t| matches!(graph.tensor(**t).kind, TensorKind::Input))
            .map(|t| bytes(t.0))
            .sum::<f64>()
            + if is_output(node.output.0) {
                bytes(node.output.0)
            } else {
                0.0
            };
        for (d, c) in cands.iter().enumerate() {
            let e = if c.supports[i] {
                c.profile.estimate(class, work)
            } else {
                Estimate {
                    us: f64::INFINITY,
                    source: EstimateSource::Unsupported,
                }
            };
            op[i][d] = e.us + c.profile.transfer_us(io_bytes);
            row.push(e);
        }
        estimate.push(row);
        for t in &node.inputs {
            if matches!(
                graph.tensor(*t).kind,
                TensorKind::Constant(_) | TensorKind::State
            ) {
                resident[i].push((t.0, bytes(t.0) as u64));
            }
        }
    }
    Costs {
        op,
        estimate,
        cut_bytes,
        resident,
    }
}

/// Result of one DP: the assignment and its cost split.
struct Labelling {
    device: Vec<usize>,
    total_us: f64,
    boundary_us: f64,
}

/// The DP over the node sequence. `allowed[i][d]` false forbids node `i` on device `d`.
fn label(c: &Costs, cands: &[Candidate], allowed: &[Vec<bool>]) -> Option<Labelling> {
    let n = c.op.len();
    let dn = cands.len();
    if n == 0 {
        return Some(Labelling {
            device: Vec::new(),
            total_us: 0.0,
            boundary_us: 0.0,
        });
    }
    let cost = |i: usize, d: usize| {
        if allowed[i][d] {
            c.op[i][d]
        } else {
            f64::INFINITY
        }
    };
    let switch = |i: usize, a: usize, b: usize| {
        let p = |d: usize| &cands[d].profile;
        p(b).segment_us() + p(a).transfer_us(c.cut_bytes[i]) + p(b).transfer_us(c.cut_bytes[i])
    };
    let mut best: Vec<Vec<f64>> = vec![vec![f64::INFINITY; dn]; n];
    let mut back = vec![vec![0usize; dn]; n];
    for d in 0..dn {
        best[0][d] = cost(0, d) + cands[d].profile.segment_us();
    }
    for i in 1..n {
        for d in 0..dn {
            let here = cost(i, d);
            if !here.is_finite() {
                continue;
            }
            for a in 0..dn {
                let via = best[i - 1][a] + if a == d { 0.0 } else { switch(i, a, d) };
                if via < best[i][d] {
                    best[i][d] = via;
                    back[i][d] = a;
                }
            }
            best[i][d] += here;
        }
    }
    let (mut d, total) = best[n - 1]
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(d, t)| (d, *t))?;
    if !total.is_finite() {
        return None;
    }
    let mut device = vec![0; n];
    for i in (0..n).rev() {
        device[i] = d;
        d = back[i][d];
    }
    let compute: f64 = (0..n).map(|i| c.estimate[i][device[i]].us).sum();
    Some(Labelling {
        device,
        total_us: total,
        boundary_us: total - compute,
    })
}

/// Groups of node indices that must share a device: every node reading a state tensor or
/// the cache a `KvWrite` returns, merged transitively (K and V caches read by one attention
/// form one group).
fn state_groups(graph: &Graph) -> Vec<Vec<usize>> {
    let n = graph.nodes().len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], x: usize) -> usize {
        let mut r = x;
        while p[r] != r {
            r = p[r];
        }
        p[x] = r;
        r
    }
    // Which node "owns" each state-derived tensor (the first node touching the state).
    let mut owner: BTreeMap<usize, usize> = BTreeMap::new();
    let mut in_group = vec![false; n];
    for (i, node) in graph.nodes().iter().enumerate() {
        for t in &node.inputs {
            let stateful =
                matches!(graph.tensor(*t).kind, TensorKind::State) || owner.contains_key(&t.0);
            if stateful {
                in_group[i] = true;
                match owner.get(&t.0) {
                    Some(&o) => {
                        let (a, b) = (find(&mut parent, o), find(&mut parent, i));
                        parent[a] = b;
                    }
                    None => {
                        owner.insert(t.0, i);
                    }
                }
                if matches!(node.op, crate::op::Op::KvWrite) {
                    owner.insert(node.output.0, i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in (0..n).filter(|&i| in_group[i]) {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().filter(|g| g.len() > 1).collect()
}

/// The DP with state groups kept on one device each (coordinate descent over groups).
fn label_grouped(
    c: &Costs,
    cands: &[Candidate],
    allowed: &[Vec<bool>],
    groups: &[Vec<usize>],
) -> Option<Labelling> {
    let mut allowed = allowed.to_vec();
    let mut current = label(c, cands, &allowed)?;
    for _pass in 0..3 {
        let mut changed = false;
        for g in groups {
            let saved: Vec<Vec<bool>> = g.iter().map(|&i| allowed[i].clone()).collect();
            let mut best: Option<(usize, Labelling)> = None;
            for d in 0..cands.len() {
                if g.iter().zip(&saved).any(|(_, s)| !s[d]) {
                    continue;
                }
                for &i in g {
                    allowed[i] = (0..cands.len()).map(|x| x == d).collect();
                }
                if let Some(l) = label(c, cands, &allowed) {
                    if best.as_ref().is_none_or(|(_, b)| l.total_us < b.total_us) {
                        best = Some((d, l));
                    }
                }
            }
            let (d, l) = best?;
            for (k, &i) in g.iter().enumerate() {
                allowed[i] = saved[k]
                    .iter()
                    .enumerate()
                    .map(|(x, &ok)| ok && x == d)
                    .collect();
            }
            if l.device != current.device {
                changed = true;
            }
            current = l;
        }
        if !changed {
            break;
        }
    }
    Some(current)
}

/// Plans `graph` over `cands`.
pub fn plan(graph: &Graph, cands: &[Candidate]) -> Result<Plan> {
    if cands.is_empty() {
        return Err(Error::Schedule("no device to plan onto".into()));
    }
    let c = costs(graph, cands);
    let groups = state_groups(graph);
    let n = graph.nodes().len();
    let mut allowed = vec![vec![true; cands.len()]; n];
    let labelling = loop {
        let Some(l) = label_grouped(&c, cands, &allowed, &groups) else {
            return Err(unplaceable(graph, cands, &c, &allowed));
        };
        match over_memory(&c, cands, &l.device) {
            None => break l,
            Some((node, d)) => {
                log::info!(
                    "{}: weights exceed its memory; moving node {node} elsewhere",
                    cands[d].name
                );
                allowed[node][d] = false;
            }
        }
    };
    let single_device_us = (0..cands.len())
        .map(|d| {
            let only: Vec<Vec<bool>> = (0..n)
                .map(|_| (0..cands.len()).map(|x| x == d).collect())
                .collect();
            label(&c, cands, &only).map(|l| l.total_us)
        })
        .collect();
    let nodes = graph
        .nodes()
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let d = labelling.device[i];
            let runner_up = (0..cands.len())
                .filter(|&x| x != d && c.estimate[i][x].us.is_finite())
                .min_by(|&a, &b| c.estimate[i][a].us.total_cmp(&c.estimate[i][b].us))
                .map(|x| (x, c.estimate[i][x].us));
            let out = graph.tensor(node.output);
            NodePlan {
                node: i,
                label: format!("{} {}", out.name, out.desc),
                class: OpClass::of(graph, node),
                device: d,
                estimate_us: c.estimate[i][d].us,
                source: c.estimate[i][d].source,
                runner_up,
            }
        })
        .collect();
    let segments = if n == 0 {
        0
    } else {
        1 + labelling.device.windows(2).filter(|w| w[0] != w[1]).count()
    };
    Ok(Plan {
        devices: cands.iter().map(|c| c.name.clone()).collect(),
        nodes,
        total_us: labelling.total_us,
        boundary_us: labelling.boundary_us,
        segments,
        single_device_us,
    })
}

/// The first device over its memory and the node to move off it (the one with the most
/// resident bytes still allowed elsewhere).
fn over_memory(c: &Costs, cands: &[Candidate], device: &[usize]) -> Option<(usize, usize)> {
    for (d, cand) in cands.iter().enumerate() {
        let Some(limit) = cand.memory_bytes else {
            continue;
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut used = 0u64;
        for (i, _) in device.iter().enumerate().filter(|(_, &x)| x == d) {
            for &(t, b) in &c.resident[i] {
                if seen.insert(t) {
                    used += b;
                }
            }
        }
        if used > limit {
            let node = device
                .iter()
                .enumerate()
                .filter(|(_, &x)| x == d)
                .map(|(i, _)| i)
                .max_by_key(|&i| c.resident[i].iter().map(|r| r.1).sum::<u64>())?;
            return Some((node, d));
        }
    }
    None
}

fn unplaceable(graph: &Graph, cands: &[Candidate], c: &Costs, allowed: &[Vec<bool>]) -> Error {
    for (i, node) in graph.nodes().iter().enumerate() {
        if !(0..cands.len()).any(|d| allowed[i][d] && c.op[i][d].is_finite()) {
            let names: Vec<&str> = cands.iter().map(|c| c.name.as_str()).collect();
            return Error::Schedule(format!(
                "no device among {names:?} can run node {i} ({:?} → {}) within its memory",
                node.op.kind(),
                graph.tensor(node.output).desc
            ));
        }
    }
    Error::Schedule("the state-sharing nodes have no device in common".into())
}
