//! Register-blocked attention for AVX-512 (GQA decode and prefill rows): the generic
//! kernel (`attention.rs`) calls a dot product per (key, head) — one horizontal sum each —
//! and an `axpy` per (key, head) that loads and stores the whole accumulator row from
//! memory. Here, per key, the K row is widened once and multiplied into four heads'
//! accumulators with one horizontal reduction for all four; and the weighted V sum keeps
//! four heads × 64 dims of the accumulator in sixteen registers across a block of keys,
//! so each V value is widened once per block and never round-trips the accumulator.
//!
//! Same online-softmax blocks, order of keys, and [`Partial`] contract as the generic
//! kernel; results equal it up to float summation order.

use super::attention::{AttentionParams, KvCache, Partial, KEYS_AHEAD, KEY_BLOCK};
use super::exp::exp_nonpositive;
use std::arch::x86_64::*;
use std::ops::Range;

/// Heads processed together (accumulator registers: 4 heads × 4 vectors of 16 dims).
const HEADS: usize = 4;
/// Head dims per pass of the V accumulation.
const DIMS: usize = 64;

/// Whether [`attend_group`] takes this shape: head_dim a multiple of [`DIMS`].
pub fn supports(p: &AttentionParams) -> bool {
    p.head_dim.is_multiple_of(DIMS)
}

/// A KV cache whose rows load as 16 f32 lanes.
trait Rows: Copy {
    /// 16 values from element `at`.
    ///
    /// # Safety
    /// `at + 16` must be within the cache.
    unsafe fn load(self, at: usize) -> __m512;

    /// Asks for the cache lines of the `len` values from element `at` (`KvCache::prefetch`).
    fn prefetch(self, at: usize, len: usize);
}

impl Rows for &[f32] {
    #[inline(always)]
    unsafe fn load(self, at: usize) -> __m512 {
        // SAFETY: the caller keeps `at + 16` within the slice; loadu has no alignment need.
        unsafe { _mm512_loadu_ps(self.as_ptr().add(at)) }
    }

    #[inline(always)]
    fn prefetch(self, at: usize, len: usize) {
        KvCache::F32(self).prefetch(at, len);
    }
}

impl Rows for &[half::f16] {
    #[inline(always)]
    unsafe fn load(self, at: usize) -> __m512 {
        // SAFETY: the caller keeps `at + 16` within the slice (16 f16 = 32 bytes).
        unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(self.as_ptr().add(at).cast())) }
    }

    #[inline(always)]
    fn prefetch(self, at: usize, len: usize) {
        KvCache::F16(self).prefetch(at, len);
    }
}

/// The query heads of KV head `g` (`q`: `group × head_dim`) over `keys`; see the module doc.
///
/// # Panics
/// If the shape is not [`supports`]ed or the caches are shorter than `keys` needs.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn attend_group(
    p: &AttentionParams,
    q: &[f32],
    k: KvCache,
    v: KvCache,
    g: usize,
    keys: Range<usize>,
) -> Partial {
    assert!(
        supports(p),
        "head_dim {} is a multiple of {DIMS}",
        p.head_dim
    );
    let stride = p.n_kv_head * p.head_dim;
    let needed = keys.end.saturating_sub(1) * stride + (g + 1) * p.head_dim;
    let len = |c: KvCache| match c {
        KvCache::F32(s) => s.len(),
        KvCache::F16(s) => s.len(),
    };
    assert!(
        keys.is_empty() || (len(k) >= needed && len(v) >= needed),
        "caches hold the keys"
    );
    assert_eq!(
        q.len(),
        p.group() * p.head_dim,
        "one query row of the group"
    );
    match (k, v) {
        (KvCache::F16(k), KvCache::F16(v)) => run(p, q, k, v, g, keys),
        (KvCache::F32(k), KvCache::F32(v)) => run(p, q, k, v, g, keys),
        (KvCache::F16(k), KvCache::F32(v)) => run(p, q, k, v, g, keys),
        (KvCache::F32(k), KvCache::F16(v)) => run(p, q, k, v, g, keys),
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn run<K: Rows, V: Rows>(
    p: &AttentionParams,
    q: &[f32],
    k: K,
    v: V,
    g: usize,
    keys: Range<usize>,
) -> Partial {
    let group = p.group();
    let d = p.head_dim;
    let row_at = |j: usize| j * p.n_kv_head * d + g * d;
    let mut state = Partial::empty(group, d);
    let mut scores = vec![0.0f32; group * KEY_BLOCK];
    let mut start = keys.start;
    while start < keys.end {
        let end = (start + KEY_BLOCK).min(keys.end);
        let len = end - start;
        for j in start..end {
            // The K row some keys on and this key's V row, which the block's accumulation
            // reads next: see `KvCache::prefetch`.
            k.prefetch(row_at(j + KEYS_AHEAD), d);
            v.prefetch(row_at(j), d);
            for h0 in (0..group).step_by(HEADS) {
                let hs = (group - h0).min(HEADS);
                let row = row_at(j);
                // SAFETY: row `j < keys.end` of KV head `g` is inside the cache (asserted
                // by the caller); `q` holds `group × d` values.
                let s = unsafe {
                    match hs {
                        4 => key_scores::<4, K>(q, h0, d, k, row),
                        3 => key_scores::<3, K>(q, h0, d, k, row),
                        2 => key_scores::<2, K>(q, h0, d, k, row),
                        _ => key_scores::<1, K>(q, h0, d, k, row),
                    }
                };
                for (h, &sc) in s[..hs].iter().enumerate() {
                    let mut sc = sc * p.scale;
                    if let Some(cap) = p.softcap {
                        sc = cap * (sc / cap).tanh();
                    }
                    scores[(h0 + h) * KEY_BLOCK + (j - start)] = sc;
                }
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
            state.sum[h] += softmax_weights(s, new_max);
            state.max[h] = new_max;
        }
        for h0 in (0..group).step_by(HEADS) {
            let hs = (group - h0).min(HEADS);
            for c in (0..d).step_by(DIMS) {
                let (acc, keys) = (&mut state.acc, start..end);
                // SAFETY: rows `start..end` of KV head `g` are inside the cache, `c + DIMS ≤
                // d`; `scores` and `state.acc` hold `group` heads.
                unsafe {
                    match hs {
                        4 => accumulate::<4, V>(acc, &scores, h0, d, c, v, keys, &row_at),
                        3 => accumulate::<3, V>(acc, &scores, h0, d, c, v, keys, &row_at),
                        2 => accumulate::<2, V>(acc, &scores, h0, d, c, v, keys, &row_at),
                        _ => accumulate::<1, V>(acc, &scores, h0, d, c, v, keys, &row_at),
                    }
                };
            }
        }
        start = end;
    }
    state
}

/// `q_h · K_row` for heads `h0..h0 + HS` (`HS ≤ 4`; the rest of the result is 0). `HS`
/// is a constant so the accumulators stay in registers.
///
/// # Safety
/// `row + d` must be within `k`, and `q` must hold heads `h0..h0 + HS` of `d` values.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn key_scores<const HS: usize, K: Rows>(
    q: &[f32],
    h0: usize,
    d: usize,
    k: K,
    row: usize,
) -> [f32; 4] {
    let mut acc = [_mm512_setzero_ps(); HEADS];
    let qp = q.as_ptr();
    for c in (0..d).step_by(16) {
        // SAFETY: `row + c + 16 ≤ row + d` is within `k`; `(h0 + h)·d + c + 16 ≤ q.len()`.
        unsafe {
            let kc = k.load(row + c);
            for (h, a) in acc.iter_mut().enumerate().take(HS) {
                *a = _mm512_fmadd_ps(_mm512_loadu_ps(qp.add((h0 + h) * d + c)), kc, *a);
            }
        }
    }
    // Four horizontal sums at once: halve each register, then pairwise adds across heads.
    let half = |a: __m512| {
        let high = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)));
        _mm256_add_ps(_mm512_castps512_ps256(a), high)
    };
    let t = _mm256_hadd_ps(
        _mm256_hadd_ps(half(acc[0]), half(acc[1])),
        _mm256_hadd_ps(half(acc[2]), half(acc[3])),
    );
    let s = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps::<1>(t));
    let mut out = [0.0f32; 4];
    // SAFETY: `out` has room for four f32.
    unsafe { _mm_storeu_ps(out.as_mut_ptr(), s) };
    out
}

/// Turns a block's scores (at most [`KEY_BLOCK`] = 32) into `e^(s − max)` in place and
/// returns their sum: [`exp_nonpositive`]'s arithmetic, sixteen lanes at a time.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn softmax_weights(s: &mut [f32], max: f32) -> f32 {
    debug_assert!(s.len() <= KEY_BLOCK);
    let mut sum = _mm512_setzero_ps();
    for c in s.chunks_mut(16) {
        let mask: __mmask16 = (1u32 << c.len()).wrapping_sub(1) as u16;
        // SAFETY: the mask covers only the `c.len()` elements of `c`.
        let x = unsafe { _mm512_maskz_loadu_ps(mask, c.as_ptr()) };
        let e = exp16(_mm512_sub_ps(x, _mm512_set1_ps(max)));
        sum = _mm512_mask_add_ps(sum, mask, sum, e);
        // SAFETY: as for the load.
        unsafe { _mm512_mask_storeu_ps(c.as_mut_ptr(), mask, e) };
    }
    _mm512_reduce_add_ps(sum)
}

/// [`exp_nonpositive`] on sixteen lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn exp16(x: __m512) -> __m512 {
    let x = _mm512_max_ps(x, _mm512_set1_ps(-87.0));
    let round = _mm512_set1_ps(12_582_912.0);
    let n = _mm512_sub_ps(
        _mm512_fmadd_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E), round),
        round,
    );
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_145_75), x);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428_606_8e-6), r);
    let mut p = _mm512_set1_ps(1.0 / 720.0);
    for c in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    }
    let bits = _mm512_slli_epi32::<23>(_mm512_add_epi32(
        _mm512_cvtps_epi32(n),
        _mm512_set1_epi32(127),
    ));
    _mm512_mul_ps(p, _mm512_castsi512_ps(bits))
}

/// `acc[h][c..c + 64] += Σ_j scores[h][j] · V[j][c..c + 64]` for heads `h0..h0 + HS` over
/// `keys`, the 64 dims of up to four heads held in registers for the whole block.
///
/// # Safety
/// Rows `keys` at `row_at(j) + c + 64` must be within `v`; `acc` and `scores` must hold
/// heads `h0..h0 + HS`.
#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn accumulate<const HS: usize, V: Rows>(
    acc: &mut [f32],
    scores: &[f32],
    h0: usize,
    d: usize,
    c: usize,
    v: V,
    keys: Range<usize>,
    row_at: &impl Fn(usize) -> usize,
) {
    let ap = acc.as_mut_ptr();
    let mut r = [[_mm512_setzero_ps(); 4]; HEADS];
    // SAFETY: heads `h0..h0 + HS` of `acc` (`group × d`) cover `(h0 + h)·d + c + 64`.
    unsafe {
        for (h, rh) in r.iter_mut().enumerate().take(HS) {
            for (i, x) in rh.iter_mut().enumerate() {
                *x = _mm512_loadu_ps(ap.add((h0 + h) * d + c + 16 * i));
            }
        }
    }
    let start = keys.start;
    for j in keys {
        let at = row_at(j) + c;
        // SAFETY: `at + 64` is within `v` (caller); `scores` holds `(h0 + h)·KEY_BLOCK + j -
        // start` for every head of the group.
        unsafe {
            let vc = [
                v.load(at),
                v.load(at + 16),
                v.load(at + 32),
                v.load(at + 48),
            ];
            for (h, rh) in r.iter_mut().enumerate().take(HS) {
                let w = _mm512_set1_ps(*scores.get_unchecked((h0 + h) * KEY_BLOCK + j - start));
                for (x, &vv) in rh.iter_mut().zip(&vc) {
                    *x = _mm512_fmadd_ps(w, vv, *x);
                }
            }
        }
    }
    // SAFETY: as for the loads above.
    unsafe {
        for (h, rh) in r.iter().enumerate().take(HS) {
            for (i, &x) in rh.iter().enumerate() {
                _mm512_storeu_ps(ap.add((h0 + h) * d + c + 16 * i), x);
            }
        }
    }
}
