//! The NEON kernels on a real AArch64 instruction set: built for aarch64 by
//! `kernels/tests/aarch64_neon.rs` (with Debian's packaged Rust, whose aarch64 standard
//! library installs from Debian's archive; rustup's targets cannot be fetched here) and run
//! under qemu-user. It mounts the crate's own `layout.rs`, `scalar.rs` (the spec) and
//! `neon/` unchanged, with stand-ins for the two things they import from outside: the
//! `half` crate's f16/bf16 (`half.rs`, built as a crate of that name) and the activation
//! row. It prints one summary line last; exit status 0 only if every check passed.

#![allow(dead_code)]

use std::process::ExitCode;

// The crate's `src/cpu/`, so that the file modules below are the crate's own files.
#[path = "../../src/cpu"]
pub mod cpu {
    /// The fields of the crate's `ActivationRow` that the kernels read.
    pub mod activation {
        pub struct ActivationRow<'a> {
            pub floats: &'a [f32],
            pub scales: &'a [f32],
            pub quants: &'a [i8],
            pub sums: &'a [i16],
            pub group_sums: &'a [f32],
        }
    }
    pub use activation::ActivationRow;

    pub mod layout;
    pub mod neon;
    pub mod scalar;

    /// `neon/float.rs` instantiates the attention kernel through this macro on aarch64; the
    /// harness checks the helpers it is built from, not the attention loop.
    pub mod attention {
        macro_rules! attend_group_impl {
            ($($t:tt)*) => {};
        }
        pub(crate) use attend_group_impl;
    }
}

use cpu::activation::ActivationRow;
use cpu::layout::{q2_k, q3_k, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k, q6_k, q8_0};

/// A small deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        (self.next() % 2_000_000) as f32 / 1_000_000.0 - 1.0
    }
}

/// The f16 bits of a scale in [2⁻¹⁰, 2⁻⁴): a normal, finite block scale.
fn f16_scale(rng: &mut Lcg) -> [u8; 2] {
    let exp = 5 + rng.next() % 6;
    let bits = (exp << 10 | (rng.next() & 0x3FF)) as u16;
    bits.to_le_bytes()
}

/// `k` values' worth of random blocks of a format whose blocks are `bytes` long, with
/// finite f16 scales at `scale_offsets`.
fn random_blocks(
    rng: &mut Lcg,
    k: usize,
    values: usize,
    bytes: usize,
    scales: &[usize],
) -> Vec<u8> {
    let mut w: Vec<u8> = (0..k / values * bytes).map(|_| rng.byte()).collect();
    for blk in w.chunks_exact_mut(bytes) {
        for &at in scales {
            blk[at..at + 2].copy_from_slice(&f16_scale(rng));
        }
    }
    w
}

/// An activation row: quants in [-127, 127], a scale per block, sums per group (16 values
/// of a 256-block, 32-blocks whole) and those sums times their block's scale.
struct Activations {
    floats: Vec<f32>,
    scales: Vec<f32>,
    quants: Vec<i8>,
    sums: Vec<i16>,
    group_sums: Vec<f32>,
}

impl Activations {
    fn new(rng: &mut Lcg, k: usize, block: usize) -> Activations {
        let quants: Vec<i8> = (0..k)
            .map(|_| ((rng.next() % 255) as i32 - 127) as i8)
            .collect();
        // Sums per group as the crate makes them: 16 values for 256-blocks, 32 for
        // 32-blocks; the scaled sums by their block's scale.
        let group = if block == 32 { 32 } else { 16 };
        let sums: Vec<i16> = quants
            .chunks_exact(group)
            .map(|c| c.iter().map(|&q| i16::from(q)).sum())
            .collect();
        let scales: Vec<f32> = (0..k / block)
            .map(|_| 0.01 + rng.unit().abs() / 50.0)
            .collect();
        let group_sums = sums
            .iter()
            .enumerate()
            .map(|(g, &s)| scales[g * group / block] * f32::from(s))
            .collect();
        let floats = (0..k).map(|_| rng.unit()).collect();
        Activations {
            floats,
            scales,
            quants,
            sums,
            group_sums,
        }
    }

    fn row(&self) -> ActivationRow<'_> {
        ActivationRow {
            floats: &self.floats,
            scales: &self.scales,
            quants: &self.quants,
            sums: &self.sums,
            group_sums: &self.group_sums,
        }
    }
}

/// Counts checks and reports the failed ones.
#[derive(Default)]
struct Tally {
    checks: usize,
    failures: usize,
}

impl Tally {
    fn record(&mut self, what: String, ok: bool) {
        self.checks += 1;
        if !ok {
            self.failures += 1;
            println!("FAILED {what}");
        }
    }

    /// `got` within 1e-5 (relative, at least absolute) of a finite, nonzero `want`.
    fn close(&mut self, what: String, got: f32, want: f32) {
        let tol = 1e-5 * want.abs().max(1.0);
        let ok = want.is_finite() && want != 0.0 && (got - want).abs() <= tol;
        self.record(format!("{what}: got {got}, spec {want}"), ok);
    }
}

/// Four rows of a random packed panel (`cpu::packed`'s shape): codes up to `max_code`,
/// K-family pair scales, `d` per 256 or per four values, offsets per group.
struct RandomPanel {
    codes: Vec<Vec<u8>>,
    scales: Vec<Vec<i16>>,
    d: Vec<Vec<f32>>,
    offsets: Vec<Vec<f32>>,
}

const PANEL_ROWS: usize = 4;

impl RandomPanel {
    fn new(rng: &mut Lcg, k: usize, k_family: bool) -> RandomPanel {
        let max_code = if k_family { 63 } else { 127 };
        let rows = |f: &mut dyn FnMut() -> Vec<f32>| (0..PANEL_ROWS).map(|_| f()).collect();
        let codes = (0..PANEL_ROWS)
            .map(|_| {
                (0..k)
                    .map(|_| (rng.next() % (max_code + 1)) as u8)
                    .collect()
            })
            .collect();
        let scales = (0..PANEL_ROWS)
            .map(|_| {
                if !k_family {
                    return Vec::new();
                }
                // One scale per 16 values, stored per pair as the panel does.
                let per16: Vec<i16> = (0..k / 16).map(|_| (rng.next() % 96) as i16 - 32).collect();
                (0..k / 2).map(|i| per16[i / 8]).collect()
            })
            .collect();
        let (d_len, group) = if k_family { (k / 256, 16) } else { (k / 4, 32) };
        let d = rows(&mut || (0..d_len).map(|_| rng.unit() / 100.0).collect());
        let offsets = rows(&mut || (0..k / group).map(|_| rng.unit()).collect());
        RandomPanel {
            codes,
            scales,
            d,
            offsets,
        }
    }

    fn rows(&self) -> cpu::neon::PanelRows<'_, PANEL_ROWS> {
        cpu::neon::PanelRows {
            codes: std::array::from_fn(|r| &self.codes[r][..]),
            scales: std::array::from_fn(|r| &self.scales[r][..]),
            d: std::array::from_fn(|r| &self.d[r][..]),
            offsets: std::array::from_fn(|r| &self.offsets[r][..]),
        }
    }

    /// Row `r` · `a` as `packed/scalar.rs` defines it: per block `d · d_a · Σ scale·u·q`,
    /// minus the offsets against the group sums.
    fn reference(&self, r: usize, a: &ActivationRow, k_family: bool) -> f32 {
        let block = if k_family { 256 } else { 32 };
        let mut sum = 0.0f32;
        for b in 0..self.codes[r].len() / block {
            let mut sumi = 0i32;
            for i in block * b..block * (b + 1) {
                let scale = if k_family {
                    i32::from(self.scales[r][i / 2])
                } else {
                    1
                };
                sumi += scale * i32::from(self.codes[r][i]) * i32::from(a.quants[i]);
            }
            let d = if k_family {
                self.d[r][b]
            } else {
                self.d[r][8 * b]
            };
            sum += d * a.scales[b] * sumi as f32;
        }
        let offsets: f32 = self.offsets[r]
            .iter()
            .zip(a.group_sums)
            .map(|(o, s)| o * s)
            .sum();
        sum - offsets
    }
}

/// The packed micro-kernels of both levels, 4 rows × 3 and × 1 activation rows, both
/// families, against [`RandomPanel::reference`].
fn check_packed(rng: &mut Lcg, tally: &mut Tally, has_dotprod: bool) {
    use cpu::neon::{dotprod, plain};
    let k = 512;
    for k_family in [true, false] {
        let panel = RandomPanel::new(rng, k, k_family);
        let rows = panel.rows();
        let acts: Vec<Activations> = (0..3)
            .map(|_| Activations::new(rng, k, if k_family { 256 } else { 32 }))
            .collect();
        let three: [ActivationRow; 3] = std::array::from_fn(|a| acts[a].row());
        let one = [acts[0].row()];
        // SAFETY: plain NEON is part of every AArch64 CPU; dotprod runs only if present.
        let (got3, got1) = unsafe {
            match (k_family, has_dotprod) {
                (true, false) => (
                    vec![plain::tile_k(&rows, &three)],
                    vec![plain::tile_k(&rows, &one)],
                ),
                (true, true) => (
                    vec![plain::tile_k(&rows, &three), dotprod::tile_k(&rows, &three)],
                    vec![plain::tile_k(&rows, &one), dotprod::tile_k(&rows, &one)],
                ),
                (false, false) => (
                    vec![plain::tile_32(&rows, &three)],
                    vec![plain::tile_32(&rows, &one)],
                ),
                (false, true) => (
                    vec![
                        plain::tile_32(&rows, &three),
                        dotprod::tile_32(&rows, &three),
                    ],
                    vec![plain::tile_32(&rows, &one), dotprod::tile_32(&rows, &one)],
                ),
            }
        };
        let family = if k_family { "k" } else { "32" };
        for (level, (t3, t1)) in got3.iter().zip(&got1).enumerate() {
            for r in 0..PANEL_ROWS {
                for a in 0..3 {
                    let want = panel.reference(r, &three[a], k_family);
                    tally.close(
                        format!("packed {family} level {level} 4x3 [{r}][{a}]"),
                        t3[r][a],
                        want,
                    );
                }
                let want = panel.reference(r, &one[0], k_family);
                tally.close(
                    format!("packed {family} level {level} 4x1 [{r}]"),
                    t1[r][0],
                    want,
                );
            }
        }
    }
}

/// The two instructions the interleaved tile kernels (`cpu::interleaved::neon`, which this
/// harness cannot mount: it needs the crate's tile types) add to the row kernels': `fcvtl`
/// (`neon::load_f16x4`) against the exact widening, and `sdot` by element
/// (`neon::dotprod::dot_lane`) for each lane against the four products per row it stands for.
fn check_tile_steps(rng: &mut Lcg, tally: &mut Tally, has_dotprod: bool) {
    use core::arch::aarch64::{int32x4_t, vld1q_s32, vld1q_s8, vst1q_f32, vst1q_s32};
    // Normals of both signs and every exponent, zeros, subnormals, infinities, the largest.
    let specials = [0x0000, 0x8000, 0x0001, 0x83FF, 0x3C00, 0x7C00, 0xFC00, 0x7BFF];
    for call in 0..4 {
        let bits: [u16; 4] = if call == 0 {
            [specials[0], specials[1], specials[2], specials[3]]
        } else if call == 1 {
            [specials[4], specials[5], specials[6], specials[7]]
        } else {
            // Random non-NaN patterns (exponent below 31).
            std::array::from_fn(|_| {
                let b = rng.next() as u16;
                if (b >> 10) & 0x1F == 0x1F {
                    b & !0x4000
                } else {
                    b
                }
            })
        };
        let mut got = [0.0f32; 4];
        // SAFETY: `got` is four writable f32.
        unsafe { vst1q_f32(got.as_mut_ptr(), cpu::neon::load_f16x4(&bits, 0)) };
        let exact = bits
            .iter()
            .zip(&got)
            .all(|(&b, g)| half::f16(b).to_f32().to_bits() == g.to_bits());
        tally.record(format!("fcvtl of {bits:04x?}: {got:?}"), exact);
    }
    if !has_dotprod {
        return;
    }
    let w: [i8; 16] = std::array::from_fn(|_| rng.byte() as i8);
    let y: [i8; 16] = std::array::from_fn(|_| rng.byte() as i8);
    let start = [7, -9, 1 << 20, -(1 << 20)];
    // SAFETY: sixteen readable bytes each, and `start` four readable i32.
    let (wv, yv, acc) = unsafe {
        (
            vld1q_s8(w.as_ptr()),
            vld1q_s8(y.as_ptr()),
            vld1q_s32(start.as_ptr()),
        )
    };
    for lane in 0..4 {
        // SAFETY: the CPU reports FEAT_DotProd.
        let got: int32x4_t = unsafe {
            match lane {
                0 => cpu::neon::dotprod::dot_lane::<0>(acc, wv, yv),
                1 => cpu::neon::dotprod::dot_lane::<1>(acc, wv, yv),
                2 => cpu::neon::dotprod::dot_lane::<2>(acc, wv, yv),
                _ => cpu::neon::dotprod::dot_lane::<3>(acc, wv, yv),
            }
        };
        let mut out = [0i32; 4];
        // SAFETY: `out` is four writable i32.
        unsafe { vst1q_s32(out.as_mut_ptr(), got) };
        let want: [i32; 4] = std::array::from_fn(|r| {
            start[r]
                + (0..4)
                    .map(|j| i32::from(w[4 * r + j]) * i32::from(y[4 * lane + j]))
                    .sum::<i32>()
        });
        tally.record(format!("sdot by element, lane {lane}: {out:?} vs {want:?}"), out == want);
    }
}

type RowDot = unsafe fn(&[u8], &ActivationRow) -> f32;

struct Format {
    name: &'static str,
    values: usize,
    bytes: usize,
    scales: &'static [usize],
    spec: fn(&[u8], &ActivationRow) -> f32,
    plain: RowDot,
    dotprod: RowDot,
}

fn main() -> ExitCode {
    use cpu::neon::{dotprod, float, plain};
    use cpu::scalar;

    let has_dotprod = std::arch::is_aarch64_feature_detected!("dotprod");
    let formats = [
        Format {
            name: "q4_0",
            values: 32,
            bytes: q4_0::BYTES,
            scales: &[0],
            spec: scalar::dot_q4_0,
            plain: plain::dot_q4_0,
            dotprod: dotprod::dot_q4_0,
        },
        Format {
            name: "q4_1",
            values: 32,
            bytes: q4_1::BYTES,
            scales: &[0, q4_1::M],
            spec: scalar::dot_q4_1,
            plain: plain::dot_q4_1,
            dotprod: dotprod::dot_q4_1,
        },
        Format {
            name: "q5_0",
            values: 32,
            bytes: q5_0::BYTES,
            scales: &[0],
            spec: scalar::dot_q5_0,
            plain: plain::dot_q5_0,
            dotprod: dotprod::dot_q5_0,
        },
        Format {
            name: "q5_1",
            values: 32,
            bytes: q5_1::BYTES,
            scales: &[0, q5_1::M],
            spec: scalar::dot_q5_1,
            plain: plain::dot_q5_1,
            dotprod: dotprod::dot_q5_1,
        },
        Format {
            name: "q8_0",
            values: 32,
            bytes: q8_0::BYTES,
            scales: &[0],
            spec: scalar::dot_q8_0,
            plain: plain::dot_q8_0,
            dotprod: dotprod::dot_q8_0,
        },
        Format {
            name: "q4_k",
            values: 256,
            bytes: q4_k::BYTES,
            scales: &[0, 2],
            spec: scalar::dot_q4_k,
            plain: plain::dot_q4_k,
            dotprod: dotprod::dot_q4_k,
        },
        Format {
            name: "q2_k",
            values: 256,
            bytes: q2_k::BYTES,
            scales: &[q2_k::D, q2_k::DMIN],
            spec: scalar::dot_q2_k,
            plain: plain::dot_q2_k,
            dotprod: dotprod::dot_q2_k,
        },
        Format {
            name: "q3_k",
            values: 256,
            bytes: q3_k::BYTES,
            scales: &[q3_k::D],
            spec: scalar::dot_q3_k,
            plain: plain::dot_q3_k,
            dotprod: dotprod::dot_q3_k,
        },
        Format {
            name: "q5_k",
            values: 256,
            bytes: q5_k::BYTES,
            scales: &[0, 2],
            spec: scalar::dot_q5_k,
            plain: plain::dot_q5_k,
            dotprod: dotprod::dot_q5_k,
        },
        Format {
            name: "q6_k",
            values: 256,
            bytes: q6_k::BYTES,
            scales: &[q6_k::D],
            spec: scalar::dot_q6_k,
            plain: plain::dot_q6_k,
            dotprod: dotprod::dot_q6_k,
        },
    ];
    let mut rng = Lcg(0x5eed);
    let mut tally = Tally::default();
    for f in &formats {
        // One block and a long row; the 32-block row has an odd number of blocks.
        let lengths = if f.values == 32 {
            [32, 4128]
        } else {
            [256, 4096]
        };
        for k in lengths {
            let w = random_blocks(&mut rng, k, f.values, f.bytes, f.scales);
            let acts = Activations::new(&mut rng, k, f.values);
            let row = acts.row();
            let want = (f.spec)(&w, &row);
            // SAFETY: plain NEON is part of every AArch64 CPU.
            tally.close(
                format!("{} neon k={k}", f.name),
                unsafe { (f.plain)(&w, &row) },
                want,
            );
            if has_dotprod {
                // SAFETY: the CPU reports FEAT_DotProd.
                tally.close(
                    format!("{} dotprod k={k}", f.name),
                    unsafe { (f.dotprod)(&w, &row) },
                    want,
                );
            }
        }
    }
    check_packed(&mut rng, &mut tally, has_dotprod);
    check_tile_steps(&mut rng, &mut tally, has_dotprod);
    for len in [3usize, 16, 131, 4096] {
        let a: Vec<f32> = (0..len).map(|_| rng.unit()).collect();
        let b: Vec<f32> = (0..len).map(|_| rng.unit()).collect();
        let want = scalar::dot_f32(&a, &b);
        tally.close(format!("dot_f32 len={len}"), float::dot_f32(&a, &b), want);
        let bytes: Vec<u8> = a.iter().flat_map(|v| v.to_le_bytes()).collect();
        tally.close(
            format!("dot_f32_bytes len={len}"),
            float::dot_f32_bytes(&bytes, &b),
            want,
        );
        let mut acc = a.clone();
        let mut spec = a.clone();
        float::axpy(&mut acc, 0.37, &b);
        scalar::axpy(&mut spec, 0.37, &b);
        let equal = acc
            .iter()
            .zip(&spec)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        tally.record(format!("axpy len={len} bit-equal to the spec"), equal);
        // 16-bit float weights: random non-NaN bit patterns (f16 exponent below 31, bf16
        // below 255), compared with the spec bit for bit (same lanes, same order).
        let f16: Vec<u8> = (0..len)
            .flat_map(|_| ((rng.next() as u16) & 0x7BFF | (rng.next() as u16) & 0x8000).to_le_bytes())
            .collect();
        let bf16: Vec<u8> = (0..len)
            .flat_map(|_| ((rng.next() as u16) & 0x7F7F | (rng.next() as u16) & 0x8000).to_le_bytes())
            .collect();
        for (name, got, spec) in [
            ("dot_f16_bytes", float::dot_f16_bytes(&f16, &b), scalar::dot_f16_bytes(&f16, &b)),
            ("dot_bf16_bytes", float::dot_bf16_bytes(&bf16, &b), scalar::dot_bf16_bytes(&bf16, &b)),
        ] {
            tally.record(
                format!("{name} len={len}: {got} vs spec {spec}"),
                got.to_bits() == spec.to_bits(),
            );
        }
    }
    println!(
        "aarch64 NEON: dotprod {has_dotprod}, {} checks, {} failures",
        tally.checks, tally.failures
    );
    if tally.failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
