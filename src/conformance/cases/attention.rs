//! Attention over a KV cache filled in the same graph by `KvWrite`: head_dim 64 and 128,
//! GQA ratios 1, 4 and 8, KV lengths 1, 7 and 100 (up to 4096 in the Full tier), prefill
//! and decode, causal and not, F32 and F16 caches, and softcap once.
//!
//! The cache is written in reversed row order (a scatter, not a copy) and gets three rows
//! past the last valid key, so a backend that reads keys after `max(positions)` fails.

use super::{push, CaseBuilder};
use crate::conformance::{Case, CaseFilter, Tier};
use crate::error::Result;
use crate::op::{Op, OpKind};
use crate::tensor::TensorDesc;
use crate::DType;

/// Rows written past the last valid key; they must not be attended to.
const EXTRA_ROWS: usize = 3;
/// Cache rows never written (zeros) past the extra ones.
const SPARE_ROWS: usize = 2;

/// One attention case's parameters.
#[derive(Clone, Copy, Debug)]
struct Shape {
    head_dim: usize,
    n_kv_head: usize,
    group: usize,
    kv_len: usize,
    n: usize,
    causal: bool,
    cache: DType,
    softcap: Option<f32>,
}

impl Shape {
    fn name(&self) -> String {
        format!(
            "attention/{}/hd{}/gqa{}/kv{}/n{}/{}{}",
            self.cache,
            self.head_dim,
            self.group,
            self.kv_len,
            self.n,
            if self.causal { "causal" } else { "full" },
            self.softcap
                .map_or(String::new(), |c| format!("/softcap{c}"))
        )
    }
}

/// The Quick table: every (head_dim, ratio, length) once as decode and, where the length
/// allows, once as prefill, with causality and cache dtype alternating across the table.
fn quick() -> Vec<Shape> {
    let mut shapes = Vec::new();
    let mut index = 0usize;
    for head_dim in [64, 128] {
        for group in [1, 4, 8] {
            for kv_len in [1, 7, 100] {
                let n_kv_head = if group == 1 { 2 } else { 1 };
                let base = Shape {
                    head_dim,
                    n_kv_head,
                    group,
                    kv_len,
                    n: 1,
                    causal: index.is_multiple_of(2),
                    cache: if index.is_multiple_of(2) {
                        DType::F16
                    } else {
                        DType::F32
                    },
                    softcap: None,
                };
                shapes.push(base);
                if kv_len > 1 {
                    shapes.push(Shape {
                        n: kv_len.min(7),
                        causal: index % 3 != 2,
                        cache: if index.is_multiple_of(2) {
                            DType::F32
                        } else {
                            DType::F16
                        },
                        softcap: (head_dim == 64 && group == 4 && kv_len == 7).then_some(0.25),
                        ..base
                    });
                }
                index += 1;
            }
        }
    }
    shapes
}

/// The Full tier's long caches: prefill of 64 tokens and decode, at 512 and 4096 keys.
fn full() -> Vec<Shape> {
    let mut shapes = Vec::new();
    for (head_dim, group, n_kv_head) in [(128, 4, 2), (64, 8, 1)] {
        for kv_len in [512, 4096] {
            for (n, causal, cache) in [(64, true, DType::F16), (1, true, DType::F32)] {
                shapes.push(Shape {
                    head_dim,
                    n_kv_head,
                    group,
                    kv_len,
                    n,
                    causal,
                    cache,
                    softcap: None,
                });
            }
        }
    }
    shapes.push(Shape {
        n: 64,
        causal: false,
        kv_len: 512,
        ..shapes[0]
    });
    shapes
}

/// Builds one case: KvWrite of `kv_len + EXTRA_ROWS` rows into K and V caches, then
/// attention of `n` queries at the last `n` positions of the valid range.
fn build(mut b: CaseBuilder, s: Shape) -> Result<Case> {
    let n_head = s.n_kv_head * s.group;
    let kv_width = s.n_kv_head * s.head_dim;
    let written = s.kv_len + EXTRA_ROWS;
    let capacity = written + SPARE_ROWS;
    let cache_desc = TensorDesc::new(s.cache, [capacity, kv_width]);
    let k_cache = b.graph().state("k_cache", cache_desc.clone())?;
    let v_cache = b.graph().state("v_cache", cache_desc)?;
    let k_new = b.random("k_new", &[written, kv_width], 1.0)?;
    let v_new = b.random("v_new", &[written, kv_width], 1.0)?;
    let rows: Vec<i32> = (0..written as i32).rev().collect();
    let kv_positions = b.ints("kv_positions", &rows)?;
    let q = b.random("q", &[s.n, n_head * s.head_dim], 1.0)?;
    let first = (s.kv_len - s.n) as i32;
    let q_positions: Vec<i32> = (first..s.kv_len as i32).collect();
    let q_positions = b.ints("q_positions", &q_positions)?;
    let k = b.add(Op::KvWrite, &[k_cache, k_new, kv_positions])?;
    let v = b.add(Op::KvWrite, &[v_cache, v_new, kv_positions])?;
    let op = Op::Attention {
        n_head,
        n_kv_head: s.n_kv_head,
        head_dim: s.head_dim,
        scale: 1.0 / (s.head_dim as f32).sqrt(),
        causal: s.causal,
        softcap: s.softcap,
    };
    let y = b.add(op, &[q, k, v, q_positions])?;
    b.finish(OpKind::Attention, y)
}

/// Appends the attention cases.
pub fn cases(filter: &CaseFilter, out: &mut Vec<Case>) {
    let mut shapes = quick();
    if filter.tier == Tier::Full {
        shapes.extend(full());
    }
    for s in shapes {
        push(out, filter, OpKind::Attention, &[s.cache], s.name(), |b| {
            build(b, s)
        });
    }
}
