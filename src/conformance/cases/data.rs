//! Data movement: KvWrite scatters, GetRows from every weight dtype, and casts between
//! f32, f16 and bf16.

use super::{push, CaseBuilder};
use crate::conformance::{Case, CaseFilter};
use crate::op::{Op, OpKind};
use crate::tensor::{HostTensor, TensorDesc};
use crate::DType;

/// Appends the KvWrite, GetRows and Cast cases.
pub fn cases(filter: &CaseFilter, out: &mut Vec<Case>) {
    for cache in [DType::F32, DType::F16] {
        let name = format!("kv_write/{cache}/cap16/w96/n5");
        push(out, filter, OpKind::KvWrite, &[cache], name, |mut b| {
            let state = b.graph().state("cache", TensorDesc::new(cache, [16, 96]))?;
            let new = b.random("new", &[5, 96], 2.0)?;
            let positions = b.ints("positions", &[3, 0, 15, 7, 8])?;
            let y = b.add(Op::KvWrite, &[state, new, positions])?;
            b.finish(OpKind::KvWrite, y)
        });
    }
    for dtype in DType::WEIGHTS {
        let d = match dtype.block_size() {
            1 => 67,
            block => 2 * block,
        };
        let name = format!("get_rows/{dtype}/vocab50/d{d}/n7");
        push(out, filter, OpKind::GetRows, &[dtype], name, |mut b| {
            let table = b.weights("table", dtype, 50, d)?;
            let ids = b.ints("ids", &[0, 49, 3, 3, 17, 48, 1])?;
            let y = b.add(Op::GetRows, &[table, ids])?;
            b.finish(OpKind::GetRows, y)
        });
    }
    let casts = [
        (DType::F32, DType::F16),
        (DType::F32, DType::BF16),
        (DType::F16, DType::F32),
        (DType::BF16, DType::F32),
    ];
    for (from, to) in casts {
        let name = format!("cast/{from}_to_{to}/7x130");
        push(
            out,
            filter,
            OpKind::Cast,
            &[from, to],
            name,
            |mut b: CaseBuilder| {
                // Values spanning several binades, so rounding differences show.
                let values: Vec<f32> = (0..7 * 130)
                    .map(|_| b.rng.uniform(-1.0, 1.0) * 10f32.powf(b.rng.uniform(-3.0, 3.0)))
                    .collect();
                let bytes = edgeplane_kernels::quant::quantize(from, &values)?;
                let x = b.input(
                    "x",
                    HostTensor::new(TensorDesc::new(from, [7, 130]), bytes)?,
                )?;
                let y = b.add(Op::Cast { to }, &[x])?;
                b.finish(OpKind::Cast, y)
            },
        );
    }
}
