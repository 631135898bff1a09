//! The packed kernel in plain Rust: the specification the SIMD version is tested against,
//! and the path for CPUs without AVX-512 VNNI (formats with no direct dot kernel).

use super::{Family, Panel};
use crate::cpu::activation::ActivationRow;

/// Panel row `row` · activation row `a`: the integer part scaled per block, minus the
/// offsets against the group sums.
pub fn dot(panel: &Panel, row: usize, a: &ActivationRow) -> f32 {
    let offsets: f32 = panel
        .offsets(row)
        .iter()
        .zip(a.group_sums)
        .map(|(c, s)| c * s)
        .sum();
    main(panel, row, a) - offsets
}

/// The integer part of [`dot`], scaled per block.
fn main(panel: &Panel, row: usize, a: &ActivationRow) -> f32 {
    let codes = panel.codes(row);
    let d = panel.d(row);
    let block = panel.family().block();
    let mut sum = 0.0f32;
    for (b, (u, q)) in codes
        .chunks_exact(block)
        .zip(a.quants.chunks_exact(block))
        .enumerate()
    {
        let sumi: i32 = match panel.family() {
            Family::K => {
                let scales = &panel.pair_scales(row)[b * 128..(b + 1) * 128];
                u.iter()
                    .zip(q)
                    .enumerate()
                    .map(|(i, (&u, &q))| i32::from(scales[i / 2]) * i32::from(u) * i32::from(q))
                    .sum()
            }
            Family::Block32 => u
                .iter()
                .zip(q)
                .map(|(&u, &q)| i32::from(u) * i32::from(q))
                .sum(),
        };
        let dw = match panel.family() {
            Family::K => d[b],
            Family::Block32 => d[b * 8],
        };
        sum += dw * a.scales[b] * sumi as f32;
    }
    sum
}
