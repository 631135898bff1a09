//! Register-blocked attention of a GQA group (decode and prefill rows), written once over
//! a vector type ([`Lanes`]) and instantiated for AVX-512 and AVX2. The generic kernel
//! (`attention.rs`) calls a dot product per (key, head), each with its own horizontal sum,
//! and an `axpy` per (key, head) that loads and stores the head's whole accumulator row.
//! Here, per key, the K row is loaded (and widened) once and multiplied into four heads'
//! accumulators, two chains each, with one horizontal reduction for all four; and the
//! weighted V sum keeps four heads × `VECS` vectors of the accumulator in registers across
//! a block of keys, so each V value is loaded once per block and the accumulator never
//! round-trips memory inside it.
//!
//! Same online-softmax blocks, order of keys, and [`Partial`] contract as the generic
//! kernel; results equal it up to float summation order.

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;

use super::attention::{AttentionParams, KvCache, Partial, KEYS_AHEAD, KEY_BLOCK};
use std::ops::Range;

/// Heads processed together (the accumulators of four heads stay in registers).
const HEADS: usize = 4;

/// A vector of f32 lanes of one instruction set: what the blocked kernel needs of it.
///
/// # Safety
/// Every method needs the CPU features its implementation is written for; callers hold
/// them (the entry points are `#[target_feature]` functions of exactly those features).
pub(crate) trait Lanes: Copy {
    /// f32 lanes per vector.
    const N: usize;
    /// All lanes 0.
    unsafe fn zero() -> Self;
    /// All lanes `x`.
    unsafe fn splat(x: f32) -> Self;
    /// `N` f32 from `p` (unaligned).
    unsafe fn load(p: *const f32) -> Self;
    /// `N` f16 from `p` (unaligned), widened.
    unsafe fn load_f16(p: *const half::f16) -> Self;
    /// Stores the lanes to `p..p + N` (unaligned).
    unsafe fn store(self, p: *mut f32);
    /// `a · b + c`, fused.
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self;
    /// `a + b`.
    unsafe fn add(a: Self, b: Self) -> Self;
    /// `a − b`.
    unsafe fn sub(a: Self, b: Self) -> Self;
    /// `a · b`.
    unsafe fn mul(a: Self, b: Self) -> Self;
    /// Lane-wise maximum.
    unsafe fn max(a: Self, b: Self) -> Self;
    /// `2^n` for lanes holding whole numbers in −126..=127, built in the exponent bits.
    unsafe fn pow2(n: Self) -> Self;
    /// The four vectors' horizontal sums.
    unsafe fn sum4(v: [Self; 4]) -> [f32; 4];
}

/// [`super::exp::exp_nonpositive`] on every lane, the same arithmetic.
///
/// # Safety
/// The CPU must have `L`'s features.
#[inline(always)]
unsafe fn exp<L: Lanes>(x: L) -> L {
    // SAFETY (whole body): the caller's contract.
    unsafe {
        let x = L::max(x, L::splat(-87.0));
        let round = L::splat(12_582_912.0);
        let n = L::sub(
            L::mul_add(x, L::splat(std::f32::consts::LOG2_E), round),
            round,
        );
        let r = L::mul_add(n, L::splat(-0.693_145_75), x);
        let r = L::mul_add(n, L::splat(-1.428_606_8e-6), r);
        let mut p = L::splat(1.0 / 720.0);
        for c in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
            p = L::mul_add(p, r, L::splat(c));
        }
        L::mul(p, L::pow2(n))
    }
}

/// Replaces a block's scores by `e^(s − max)` and returns their sum: whole vectors through
/// [`exp`], a range's last few keys one by one.
///
/// # Safety
/// The CPU must have `L`'s features.
#[inline(always)]
unsafe fn softmax_weights<L: Lanes>(s: &mut [f32], max: f32) -> f32 {
    let mut chunks = s.chunks_exact_mut(L::N);
    // SAFETY: the caller's contract; each chunk is `N` f32.
    let mut total = unsafe {
        let mut sum = L::zero();
        for c in &mut chunks {
            let e = exp(L::sub(L::load(c.as_ptr()), L::splat(max)));
            sum = L::add(sum, e);
            e.store(c.as_mut_ptr());
        }
        L::sum4([sum, L::zero(), L::zero(), L::zero()])[0]
    };
    for x in chunks.into_remainder() {
        *x = super::exp::exp_nonpositive(*x - max);
        total += *x;
    }
    total
}

/// Whether the kernel with `VECS` vectors of `L` per head takes this shape: head_dim a
/// multiple of `VECS · N` (which also makes it a multiple of the `2N` of the scores).
pub(crate) fn supports<L: Lanes, const VECS: usize>(p: &AttentionParams) -> bool {
    let dims = VECS * L::N;
    dims.is_multiple_of(2 * L::N) && p.head_dim.is_multiple_of(dims)
}

/// A KV cache whose rows load as `L` vectors.
trait Rows: Copy {
    /// `L::N` values from element `at`, as f32.
    ///
    /// # Safety
    /// `at + L::N` must be within the cache, and the CPU must have `L`'s features.
    unsafe fn load<L: Lanes>(self, at: usize) -> L;

    /// Asks for the cache lines of the `len` values from element `at` (`KvCache::prefetch`).
    fn prefetch(self, at: usize, len: usize);
}

impl Rows for &[f32] {
    #[inline(always)]
    unsafe fn load<L: Lanes>(self, at: usize) -> L {
        // SAFETY: the caller's contract.
        unsafe { L::load(self.as_ptr().add(at)) }
    }

    #[inline(always)]
    fn prefetch(self, at: usize, len: usize) {
        KvCache::F32(self).prefetch(at, len);
    }
}

impl Rows for &[half::f16] {
    #[inline(always)]
    unsafe fn load<L: Lanes>(self, at: usize) -> L {
        // SAFETY: the caller's contract.
        unsafe { L::load_f16(self.as_ptr().add(at)) }
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
///
/// # Safety
/// The CPU must have `L`'s features; the caller is compiled with them so that `L`'s
/// methods inline.
#[inline(always)]
pub(crate) unsafe fn attend_group<L: Lanes, const VECS: usize>(
    p: &AttentionParams,
    q: &[f32],
    k: KvCache,
    v: KvCache,
    g: usize,
    keys: Range<usize>,
) -> Partial {
    assert!(
        supports::<L, VECS>(p),
        "head_dim {} is a multiple of {}",
        p.head_dim,
        VECS * L::N
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
    // SAFETY (all four): the caller's contract; shapes checked above.
    unsafe {
        match (k, v) {
            (KvCache::F16(k), KvCache::F16(v)) => run::<L, VECS, _, _>(p, q, k, v, g, keys),
            (KvCache::F32(k), KvCache::F32(v)) => run::<L, VECS, _, _>(p, q, k, v, g, keys),
            (KvCache::F16(k), KvCache::F32(v)) => run::<L, VECS, _, _>(p, q, k, v, g, keys),
            (KvCache::F32(k), KvCache::F16(v)) => run::<L, VECS, _, _>(p, q, k, v, g, keys),
        }
    }
}

/// # Safety
/// As [`attend_group`], with the shape already checked.
#[inline(always)]
unsafe fn run<L: Lanes, const VECS: usize, K: Rows, V: Rows>(
    p: &AttentionParams,
    q: &[f32],
    k: K,
    v: V,
    g: usize,
    keys: Range<usize>,
) -> Partial {
    let group = p.group();
    let d = p.head_dim;
    let dims = VECS * L::N;
    let row_at = |j: usize| j * p.n_kv_head * d + g * d;
    let mut state = Partial::empty(group, d);
    let mut scores = vec![0.0f32; group * KEY_BLOCK];
    // The block's V rows, widened, side by side (see `widen_rows`).
    let mut vblock = vec![0.0f32; KEY_BLOCK * d];
    let mut start = keys.start;
    while start < keys.end {
        let end = (start + KEY_BLOCK).min(keys.end);
        let len = end - start;
        for j in start..end {
            // The K row some keys on and this key's V row, which the block's V pass
            // reads next: see `KvCache::prefetch`.
            k.prefetch(row_at(j + KEYS_AHEAD), d);
            v.prefetch(row_at(j), d);
            for h0 in (0..group).step_by(HEADS) {
                let hs = (group - h0).min(HEADS);
                let row = row_at(j);
                // SAFETY: row `j < keys.end` of KV head `g` is inside the cache (checked
                // by `attend_group`); `q` holds `group × d` values; `L`'s features.
                let s = unsafe {
                    match hs {
                        4 => key_scores::<L, 4, K>(q, h0, d, k, row),
                        3 => key_scores::<L, 3, K>(q, h0, d, k, row),
                        2 => key_scores::<L, 2, K>(q, h0, d, k, row),
                        _ => key_scores::<L, 1, K>(q, h0, d, k, row),
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
            let correction = super::exp::exp_nonpositive(state.max[h] - new_max);
            state.sum[h] *= correction;
            state.acc[h * d..(h + 1) * d]
                .iter_mut()
                .for_each(|a| *a *= correction);
            // SAFETY: `L`'s features (the caller's contract).
            state.sum[h] += unsafe { softmax_weights::<L>(s, new_max) };
            state.max[h] = new_max;
        }
        // SAFETY: rows `start..end` of KV head `g` are inside the cache; `L`'s features.
        unsafe { widen_rows::<L, V>(v, &row_at, start..end, d, &mut vblock) };
        for h0 in (0..group).step_by(HEADS) {
            let hs = (group - h0).min(HEADS);
            for c in (0..d).step_by(dims) {
                let (acc, vb) = (&mut state.acc, &vblock[..]);
                // SAFETY: `vblock` holds the block's `len` rows of `d`, `c + dims ≤ d`;
                // `scores` and `state.acc` hold `group` heads; `L`'s features.
                unsafe {
                    match hs {
                        4 => accumulate::<L, VECS, 4>(acc, &scores, vb, h0, d, c, len),
                        3 => accumulate::<L, VECS, 3>(acc, &scores, vb, h0, d, c, len),
                        2 => accumulate::<L, VECS, 2>(acc, &scores, vb, h0, d, c, len),
                        _ => accumulate::<L, VECS, 1>(acc, &scores, vb, h0, d, c, len),
                    }
                };
            }
        }
        start = end;
    }
    state
}

/// Copies rows `keys` of one KV head (`row_at(j)`: where row `j` starts) into `out` side
/// by side, widened to f32: the V rows of a block before its accumulation. In place the
/// rows are 2 KiB apart for 8 KV heads × 128 f16, so a block's rows fall into a handful
/// of L1 sets and evict each other (and the K rows prefetched ahead) while the
/// accumulation reads them in `d / dims` passes; the copy reads each row once, every load
/// independent of the others. Decode on two Zen 3 vCPUs (32 heads, 8 KV heads, 128 dims,
/// f16): KV 4096 2.78 → 1.2–1.4 ms, KV 512 0.19 → 0.155 ms. Copying the K rows too (read
/// once, by the scores) measured slower: 2.6–5.2 ms at KV 4096.
///
/// # Safety
/// Rows `keys` at `row_at(j) + d` must be within `rows`; `out` must hold `keys.len() · d`;
/// the CPU must have `L`'s features; `d` a multiple of `L::N`.
#[inline(always)]
unsafe fn widen_rows<L: Lanes, R: Rows>(
    rows: R,
    row_at: &impl Fn(usize) -> usize,
    keys: Range<usize>,
    d: usize,
    out: &mut [f32],
) {
    assert!(out.len() >= keys.len() * d, "room for the block");
    let start = keys.start;
    for j in keys {
        for c in (0..d).step_by(L::N) {
            // SAFETY: the caller's contract and the assert above.
            unsafe {
                let x: L = rows.load(row_at(j) + c);
                x.store(out.as_mut_ptr().add((j - start) * d + c));
            }
        }
    }
}

/// `q_h · K_row` for heads `h0..h0 + HS` (`HS ≤ 4`; the rest of the result is 0), two
/// accumulator chains per head (even and odd vectors of the row) so the fused multiply-adds
/// of four heads keep both FMA pipes busy past their latency. `HS` is a constant so the
/// accumulators stay in registers.
///
/// # Safety
/// `row + d` must be within `k`, `q` must hold heads `h0..h0 + HS` of `d` values, `d` a
/// multiple of `2 · L::N`, and the CPU must have `L`'s features.
#[inline(always)]
unsafe fn key_scores<L: Lanes, const HS: usize, K: Rows>(
    q: &[f32],
    h0: usize,
    d: usize,
    k: K,
    row: usize,
) -> [f32; 4] {
    // SAFETY (whole body): the caller's contract; `row + c + 2N ≤ row + d` is within `k`
    // and `(h0 + h)·d + c + 2N ≤ q.len()`.
    unsafe {
        let mut acc = [[L::zero(); HEADS]; 2];
        let qp = q.as_ptr();
        for c in (0..d).step_by(2 * L::N) {
            for (half, chain) in acc.iter_mut().enumerate() {
                let at = c + half * L::N;
                let kc: L = k.load(row + at);
                for (h, a) in chain.iter_mut().enumerate().take(HS) {
                    *a = L::mul_add(L::load(qp.add((h0 + h) * d + at)), kc, *a);
                }
            }
        }
        L::sum4(std::array::from_fn(|h| L::add(acc[0][h], acc[1][h])))
    }
}

/// `acc[h][c..c + VECS·N] += Σ_j scores[h][j] · V_j[c..c + VECS·N]` for heads
/// `h0..h0 + HS` over a block's `len` keys, whose V rows `vblock` holds side by side
/// ([`widen_rows`]); those dims of up to four heads stay in registers for the whole block.
///
/// # Safety
/// `vblock` must hold `len` rows of `d` with `c + VECS·N ≤ d`; `acc` and `scores` must
/// hold heads `h0..h0 + HS`; the CPU must have `L`'s features.
#[inline(always)]
unsafe fn accumulate<L: Lanes, const VECS: usize, const HS: usize>(
    acc: &mut [f32],
    scores: &[f32],
    vblock: &[f32],
    h0: usize,
    d: usize,
    c: usize,
    len: usize,
) {
    let ap = acc.as_mut_ptr();
    let at_acc = |h: usize, i: usize| (h0 + h) * d + c + i * L::N;
    // SAFETY (whole body): heads `h0..h0 + HS` of `acc` (`group × d`) cover
    // `at_acc(h, VECS)`; `vblock` covers `j·d + c + VECS·N` for `j < len` and `scores`
    // holds `(h0 + h)·KEY_BLOCK + j` for every head of the group (the caller's contract).
    unsafe {
        let mut r = [[L::zero(); VECS]; HEADS];
        for (h, rh) in r.iter_mut().enumerate().take(HS) {
            for (i, x) in rh.iter_mut().enumerate() {
                *x = L::load(ap.add(at_acc(h, i)));
            }
        }
        let vp = vblock.as_ptr();
        for j in 0..len {
            let vc: [L; VECS] = std::array::from_fn(|i| L::load(vp.add(j * d + c + i * L::N)));
            for (h, rh) in r.iter_mut().enumerate().take(HS) {
                let w = L::splat(*scores.get_unchecked((h0 + h) * KEY_BLOCK + j));
                for (x, &vv) in rh.iter_mut().zip(&vc) {
                    *x = L::mul_add(w, vv, *x);
                }
            }
        }
        for (h, rh) in r.iter().enumerate().take(HS) {
            for (i, &x) in rh.iter().enumerate() {
                x.store(ap.add(at_acc(h, i)));
            }
        }
    }
}
