//! Attention of one query row's heads that share a KV head (a GQA group) over a range of
//! keys, with online softmax: keys are taken in blocks, scores of the block computed for
//! every head of the group from one read of each K row, the running max and sum rescaled,
//! and V rows read once per block for every head. Ranges of keys give [`Partial`] states
//! that [`Partial::merge`] combines in a fixed order, so splitting a long cache over
//! threads stays deterministic.

#[cfg(target_arch = "x86_64")]
use super::attention_blocked as blocked;
use super::simd::{Simd, SimdLevel};
use std::ops::Range;

/// Keys per block: scores for a block stay in registers/L1.
pub(crate) const KEY_BLOCK: usize = 32;

/// Parameters of the attention op that the kernel needs.
#[derive(Clone, Copy, Debug)]
pub struct AttentionParams {
    /// Query heads.
    pub n_head: usize,
    /// KV heads (divides `n_head`).
    pub n_kv_head: usize,
    /// Dims per head.
    pub head_dim: usize,
    /// Score scale.
    pub scale: f32,
    /// `softcap * tanh(score / softcap)` when set.
    pub softcap: Option<f32>,
}

impl AttentionParams {
    /// Query heads per KV head.
    pub fn group(&self) -> usize {
        self.n_head / self.n_kv_head
    }
}

/// A K or V cache `[capacity, n_kv_head * head_dim]`, row-major.
#[derive(Clone, Copy, Debug)]
pub enum KvCache<'a> {
    /// f32 rows.
    F32(&'a [f32]),
    /// f16 rows.
    F16(&'a [half::f16]),
}

/// How many keys ahead the attention kernels ask for K rows.
pub(crate) const KEYS_AHEAD: usize = 16;

impl KvCache<'_> {
    /// Asks for the cache lines of the `len` values from element `at`: one KV head's slice
    /// of each position is a strided walk (256 bytes every 2 KiB for 8 heads × 128 f16)
    /// that the hardware prefetcher does not follow. A hint that never faults, so any
    /// element index will do (past the end included); nothing off x86-64.
    #[inline(always)]
    pub(crate) fn prefetch(self, at: usize, len: usize) {
        let (p, bytes) = match self {
            KvCache::F32(c) => (c.as_ptr().wrapping_add(at).cast::<u8>(), 4 * len),
            KvCache::F16(c) => (c.as_ptr().wrapping_add(at).cast::<u8>(), 2 * len),
        };
        prefetch_bytes(p, bytes);
    }
}

/// Asks for the cache lines of `bytes` bytes from `p` (a hint; nothing off x86-64).
#[inline(always)]
fn prefetch_bytes(p: *const u8, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    for off in (0..bytes).step_by(64) {
        // SAFETY: SSE is in every x86-64 CPU, and a prefetch reads nothing architecturally
        // and never faults, whatever the address.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, bytes);
}

/// Unnormalised softmax state of a group of heads over some keys.
#[derive(Clone, Debug)]
pub struct Partial {
    /// Running max score per head (`-inf` before any key).
    pub max: Vec<f32>,
    /// Σ exp(score - max) per head.
    pub sum: Vec<f32>,
    /// Σ exp(score - max) · v per head, `group × head_dim`.
    pub acc: Vec<f32>,
}

impl Partial {
    pub(crate) fn empty(group: usize, head_dim: usize) -> Partial {
        Partial {
            max: vec![f32::NEG_INFINITY; group],
            sum: vec![0.0; group],
            acc: vec![0.0; group * head_dim],
        }
    }

    /// Combines partial states over disjoint key ranges, in the order given, and writes
    /// the normalised output (`group × head_dim`). Heads that saw no key get zeros.
    pub fn merge(parts: &[Partial], head_dim: usize, out: &mut [f32]) {
        let group = out.len() / head_dim;
        for h in 0..group {
            let m = parts.iter().fold(f32::NEG_INFINITY, |m, p| m.max(p.max[h]));
            let o = &mut out[h * head_dim..(h + 1) * head_dim];
            o.fill(0.0);
            if m == f32::NEG_INFINITY {
                continue;
            }
            let mut total = 0.0f32;
            for p in parts {
                if p.max[h] == f32::NEG_INFINITY {
                    continue;
                }
                let c = (p.max[h] - m).exp();
                total += p.sum[h] * c;
                for (a, &v) in o.iter_mut().zip(&p.acc[h * head_dim..(h + 1) * head_dim]) {
                    *a += c * v;
                }
            }
            let inv = 1.0 / total;
            o.iter_mut().for_each(|a| *a *= inv);
        }
    }
}

/// Generates one attention-group kernel from the dot / axpy / f16-widening primitives of
/// an instruction set (and its `target_feature` string), so the algorithm is written once
/// and its inner calls inline into SIMD code.
macro_rules! attend_group_impl {
    ($name:ident, $dot:path, $axpy:path, $widen:path $(, $features:literal)?) => {
        /// Attention of one GQA group over `keys` (see [`crate::cpu::attention::attend_group`]).
        $(#[target_feature(enable = $features)])?
        pub(crate) fn $name(
            p: &$crate::cpu::attention::AttentionParams,
            q: &[f32],
            k: $crate::cpu::attention::KvCache,
            v: $crate::cpu::attention::KvCache,
            g: usize,
            keys: std::ops::Range<usize>,
        ) -> $crate::cpu::attention::Partial {
            use $crate::cpu::attention::{KvCache, Partial, KEY_BLOCK};
            use $crate::cpu::exp::exp_nonpositive;
            let group = p.group();
            let d = p.head_dim;
            let row_at = |j: usize| j * p.n_kv_head * d + g * d;
            let mut state = Partial::empty(group, d);
            let mut kbuf = vec![0.0f32; d];
            let mut vbuf = vec![0.0f32; d];
            let mut scores = vec![0.0f32; group * KEY_BLOCK];
            let mut start = keys.start;
            while start < keys.end {
                let end = (start + KEY_BLOCK).min(keys.end);
                let len = end - start;
                for j in start..end {
                    let at = row_at(j);
                    // The K row some keys on and this key's V row (read right after the
                    // block's softmax): see `KvCache::prefetch`.
                    k.prefetch(row_at(j + $crate::cpu::attention::KEYS_AHEAD), d);
                    v.prefetch(at, d);
                    let krow: &[f32] = match k {
                        KvCache::F32(c) => &c[at..at + d],
                        KvCache::F16(c) => {
                            $widen(&c[at..at + d], &mut kbuf);
                            &kbuf
                        }
                    };
                    for h in 0..group {
                        let mut sc = $dot(&q[h * d..(h + 1) * d], krow) * p.scale;
                        if let Some(c) = p.softcap {
                            sc = c * (sc / c).tanh();
                        }
                        scores[h * KEY_BLOCK + (j - start)] = sc;
                    }
                }
                for h in 0..group {
                    let s = &mut scores[h * KEY_BLOCK..h * KEY_BLOCK + len];
                    let block_max = s.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
                    let new_max = state.max[h].max(block_max);
                    let correction = exp_nonpositive(state.max[h] - new_max);
                    state.sum[h] *= correction;
                    state.acc[h * d..(h + 1) * d]
                        .iter_mut()
                        .for_each(|a| *a *= correction);
                    let mut block_sum = 0.0f32;
                    for x in s.iter_mut() {
                        *x = exp_nonpositive(*x - new_max);
                        block_sum += *x;
                    }
                    state.sum[h] += block_sum;
                    state.max[h] = new_max;
                }
                for j in start..end {
                    let at = row_at(j);
                    let vrow: &[f32] = match v {
                        KvCache::F32(c) => &c[at..at + d],
                        KvCache::F16(c) => {
                            $widen(&c[at..at + d], &mut vbuf);
                            &vbuf
                        }
                    };
                    for h in 0..group {
                        let w = scores[h * KEY_BLOCK + (j - start)];
                        $axpy(&mut state.acc[h * d..(h + 1) * d], w, vrow);
                    }
                }
                start = end;
            }
            state
        }
    };
}

pub(crate) use attend_group_impl;

attend_group_impl!(
    attend_group_scalar,
    super::scalar::dot_f32,
    super::scalar::axpy,
    super::scalar::f16_to_f32
);

/// Attention of the group of query heads sharing KV head `g` (`q`: `group × head_dim`,
/// already the right heads of one query row) over `keys`.
pub fn attend_group(
    simd: Simd,
    p: &AttentionParams,
    q: &[f32],
    k: KvCache,
    v: KvCache,
    g: usize,
    keys: Range<usize>,
) -> Partial {
    match simd.level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX2+FMA+F16C.
        SimdLevel::Avx2 | SimdLevel::AvxVnni => unsafe {
            if blocked::avx2::supports(p) {
                blocked::avx2::attend_group(p, q, k, v, g, keys)
            } else {
                super::avx2::attend_group(p, q, k, v, g, keys)
            }
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the token proves AVX-512 F/BW/VL/VNNI with AVX2+FMA+F16C.
        SimdLevel::Avx512Vnni => unsafe {
            if blocked::avx512::supports(p) {
                blocked::avx512::attend_group(p, q, k, v, g, keys)
            } else {
                super::avx512::attend_group(p, q, k, v, g, keys)
            }
        },
        #[cfg(any(target_arch = "aarch64", edgeplane_neon_emulated))]
        SimdLevel::Neon | SimdLevel::NeonDotprod => {
            super::neon::float::attend_group(p, q, k, v, g, keys)
        }
        _ => attend_group_scalar(p, q, k, v, g, keys),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_simd_level_matches_the_scalar_kernel_on_real_head_shapes() {
        // (n_head, n_kv_head, head_dim): llama-style GQA 4, a group of 6 (a partial block of
        // four heads), plain multi-head, and head_dim 80 (no 64-dim register kernel).
        for (n_head, n_kv_head, head_dim) in [(32, 8, 128), (12, 2, 64), (3, 3, 64), (4, 2, 80)] {
            for softcap in [None, Some(30.0)] {
                let p = AttentionParams {
                    n_head,
                    n_kv_head,
                    head_dim,
                    scale: 1.0 / (head_dim as f32).sqrt(),
                    softcap,
                };
                let keys = 75;
                let width = n_kv_head * head_dim;
                let kf = crate::noise::noise(1, keys * width);
                let vf = crate::noise::noise(2, keys * width);
                let kh: Vec<half::f16> = kf.iter().map(|&x| half::f16::from_f32(x * 3.0)).collect();
                let vh: Vec<half::f16> = vf.iter().map(|&x| half::f16::from_f32(x)).collect();
                let q = crate::noise::noise(3, p.group() * head_dim);
                for (k, v) in [
                    (KvCache::F16(&kh), KvCache::F16(&vh)),
                    (KvCache::F32(&kf), KvCache::F32(&vf)),
                ] {
                    for range in [0..keys, 7..40, 3..3] {
                        let g = n_kv_head - 1;
                        let want = attend_group_scalar(&p, &q, k, v, g, range.clone());
                        for level in SimdLevel::available() {
                            let simd = Simd::new(level).expect("available");
                            let got = attend_group(simd, &p, &q, k, v, g, range.clone());
                            let close = |a: &[f32], b: &[f32]| {
                                a.iter().zip(b).all(|(x, y)| {
                                    (x - y).abs() <= 1e-4 * y.abs().max(1.0)
                                        || (x.is_infinite() && x == y)
                                })
                            };
                            let what = format!("{level} {n_head}/{n_kv_head}x{head_dim} {range:?}");
                            assert!(close(&got.max, &want.max), "max {what}");
                            assert!(close(&got.sum, &want.sum), "sum {what}");
                            assert!(close(&got.acc, &want.acc), "acc {what}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn matches_a_direct_softmax_and_splits_merge_to_the_same_answer() {
        let p = AttentionParams {
            n_head: 4,
            n_kv_head: 2,
            head_dim: 8,
            scale: 0.35,
            softcap: None,
        };
        let keys = 70;
        let width = p.n_kv_head * p.head_dim;
        let kf: Vec<f32> = (0..keys * width)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) / 5.0)
            .collect();
        let vf: Vec<f32> = (0..keys * width)
            .map(|i| ((i * 5 % 11) as f32 - 5.0) / 3.0)
            .collect();
        let q: Vec<f32> = (0..2 * 8)
            .map(|i| ((i * 3 % 7) as f32 - 3.0) / 2.0)
            .collect();
        let g = 1;
        // Direct softmax for head h of group g.
        let mut want = vec![0.0f32; 16];
        for h in 0..2 {
            let s: Vec<f32> = (0..keys)
                .map(|j| {
                    (0..8)
                        .map(|t| q[h * 8 + t] * kf[j * width + g * 8 + t])
                        .sum::<f32>()
                        * p.scale
                })
                .collect();
            let m = s.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = s.iter().map(|x| (x - m).exp()).collect();
            let z: f32 = e.iter().sum();
            for t in 0..8 {
                want[h * 8 + t] = (0..keys)
                    .map(|j| e[j] * vf[j * width + g * 8 + t])
                    .sum::<f32>()
                    / z;
            }
        }
        let kh: Vec<half::f16> = kf.iter().map(|&x| half::f16::from_f32(x)).collect();
        for level in SimdLevel::available() {
            let simd = Simd::new(level).expect("available");
            let whole = attend_group(
                simd,
                &p,
                &q,
                KvCache::F32(&kf),
                KvCache::F32(&vf),
                g,
                0..keys,
            );
            let mut out = vec![0.0; 16];
            Partial::merge(&[whole], 8, &mut out);
            for (a, b) in out.iter().zip(&want) {
                assert!((a - b).abs() < 1e-5, "{level}: {a} vs {b}");
            }
            let parts = [
                attend_group(simd, &p, &q, KvCache::F32(&kf), KvCache::F32(&vf), g, 0..33),
                attend_group(
                    simd,
                    &p,
                    &q,
                    KvCache::F32(&kf),
                    KvCache::F32(&vf),
                    g,
                    33..keys,
                ),
            ];
            Partial::merge(&parts, 8, &mut out);
            for (a, b) in out.iter().zip(&want) {
                assert!((a - b).abs() < 1e-5, "{level} split: {a} vs {b}");
            }
            let half_k = attend_group(
                simd,
                &p,
                &q,
                KvCache::F16(&kh),
                KvCache::F32(&vf),
                g,
                0..keys,
            );
            Partial::merge(&[half_k], 8, &mut out);
            for (a, b) in out.iter().zip(&want) {
                assert!((a - b).abs() < 1e-2, "{level} f16: {a} vs {b}");
            }
        }
    }
}
