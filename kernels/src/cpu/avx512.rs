//! AVX-512 VNNI kernels: the int8 dot is one `vpdpbusd` (on 256-bit EVEX registers, which
//! avoids the 512-bit frequency penalty and keeps the block loop the same as AVX2's).

use std::arch::x86_64::*;

/// Sums four adjacent unsigned·signed byte products per i32 lane with one `vpdpbusd`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn dot_u8_i8(u: __m256i, s: __m256i) -> __m256i {
    _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s)
}

/// `acc + madd(pairs, scales)` as one `vpdpwssd`, written out because LLVM's generic tuning
/// splits the intrinsic into `vpmaddwd` + `vpaddd`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn madd_acc(acc: __m256i, pairs: __m256i, scales: __m256i) -> __m256i {
    let mut acc = acc;
    // SAFETY: a register-only AVX-512 VNNI (VL) instruction, which this function's target
    // features (and so every caller's proof token) guarantee.
    unsafe {
        std::arch::asm!(
            "vpdpwssd {acc}, {p}, {s}",
            acc = inout(ymm_reg) acc,
            p = in(ymm_reg) pairs,
            s = in(ymm_reg) scales,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    acc
}

super::x86_kernels::x86_dot_kernels!(
    "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni",
    dot_u8_i8,
    madd_acc
);

/// Loads 64 bytes at `bytes[at..at + 64]`; panics if out of range.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn load64(bytes: &[i8], at: usize) -> __m512i {
    let s = &bytes[at..at + 64];
    // SAFETY: `s` covers exactly 64 readable bytes; loadu has no alignment need.
    unsafe { _mm512_loadu_si512(s.as_ptr().cast()) }
}

/// The per-lane block scales of a block pair: lanes 0–7 `s0`, lanes 8–15 `s1`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn pair_scales(s0: f32, s1: f32) -> __m512 {
    _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(s0), _mm512_set1_ps(s1))
}

/// The activation row from block `b` on (for the odd last block).
fn tail_row<'a>(a: &ActivationRow<'a>, b: usize) -> ActivationRow<'a> {
    ActivationRow {
        scales: &a.scales[b..],
        quants: &a.quants[b * 32..],
        ..*a
    }
}

/// Q4_0 · 32-block activations, two blocks per 512-bit step (decode: fewer instructions
/// per byte of weights, so the loop keeps up with memory). Nibbles stay unsigned and the
/// `-8` offset is a second `vpdpbusd` against the constant 8.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn dot_q4_0_wide(w: &[u8], a: &ActivationRow) -> f32 {
    use crate::cpu::layout::q4_0;
    let nb = w.len() / q4_0::BYTES;
    let m4 = _mm512_set1_epi8(0xF);
    let eight = _mm512_set1_epi8(8);
    let zero = _mm512_setzero_si512();
    let mut acc = _mm512_setzero_ps();
    let mut b = 0;
    while b + 2 <= nb {
        let at0 = b * q4_0::BYTES;
        let at1 = at0 + q4_0::BYTES;
        if b % 4 == 0 {
            prefetch_ahead(w, at0);
        }
        let q0 = load16(w, at0 + q4_0::QS);
        let q1 = load16(w, at1 + q4_0::QS);
        // 128-bit lanes [q0, q0, q1, q1]; lanes 1 and 3 take the high nibbles.
        let x = _mm512_inserti32x4::<3>(
            _mm512_inserti32x4::<2>(_mm512_inserti32x4::<1>(_mm512_castsi128_si512(q0), q0), q1),
            q1,
        );
        let xu = _mm512_and_si512(
            _mm512_mask_blend_epi64(0b1100_1100, x, _mm512_srli_epi16::<4>(x)),
            m4,
        );
        let y = load64(a.quants, b * 32);
        let p = _mm512_sub_epi32(
            _mm512_dpbusd_epi32(zero, xu, y),
            _mm512_dpbusd_epi32(zero, eight, y),
        );
        let d = pair_scales(
            f16_at(w, at0) * a.scales[b],
            f16_at(w, at1) * a.scales[b + 1],
        );
        acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc);
        b += 2;
    }
    let mut sum = _mm512_reduce_add_ps(acc);
    if b < nb {
        sum += dot_q4_0(&w[b * q4_0::BYTES..], &tail_row(a, b));
    }
    sum
}

/// Q8_0 · 32-block activations, two blocks per 512-bit step.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn dot_q8_0_wide(w: &[u8], a: &ActivationRow) -> f32 {
    use crate::cpu::layout::q8_0;
    let nb = w.len() / q8_0::BYTES;
    let zero = _mm512_setzero_si512();
    let mut acc = _mm512_setzero_ps();
    let mut b = 0;
    while b + 2 <= nb {
        let at0 = b * q8_0::BYTES;
        let at1 = at0 + q8_0::BYTES;
        prefetch_ahead(w, at0);
        let x = _mm512_inserti64x4::<1>(
            _mm512_castsi256_si512(load32(w, at0 + q8_0::QS)),
            load32(w, at1 + q8_0::QS),
        );
        let y = load64(a.quants, b * 32);
        // |x| against y negated where x < 0: the signed product as unsigned·signed.
        let sy = _mm512_mask_sub_epi8(y, _mm512_movepi8_mask(x), zero, y);
        let p = _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(x), sy);
        let d = pair_scales(
            f16_at(w, at0) * a.scales[b],
            f16_at(w, at1) * a.scales[b + 1],
        );
        acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc);
        b += 2;
    }
    let mut sum = _mm512_reduce_add_ps(acc);
    if b < nb {
        sum += dot_q8_0(&w[b * q8_0::BYTES..], &tail_row(a, b));
    }
    sum
}

crate::cpu::attention::attend_group_impl!(
    attend_group,
    dot_f32,
    axpy,
    f16_to_f32,
    "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
);

/// Q4_0 weights · `R` activation rows, two blocks per 512-bit step (prefill): the block
/// pair is unpacked once, the sign of `x - 8` moved onto each row's activations.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn rows_q4_0_wide<const R: usize>(w: &[u8], a: &[ActivationRow; R]) -> [f32; R] {
    use crate::cpu::layout::q4_0;
    let nb = w.len() / q4_0::BYTES;
    let m4 = _mm512_set1_epi8(0xF);
    let eight = _mm512_set1_epi8(8);
    let zero = _mm512_setzero_si512();
    let mut acc = [_mm512_setzero_ps(); R];
    let mut b = 0;
    while b + 2 <= nb {
        let at0 = b * q4_0::BYTES;
        let at1 = at0 + q4_0::BYTES;
        let q0 = load16(w, at0 + q4_0::QS);
        let q1 = load16(w, at1 + q4_0::QS);
        let x = _mm512_inserti32x4::<3>(
            _mm512_inserti32x4::<2>(_mm512_inserti32x4::<1>(_mm512_castsi128_si512(q0), q0), q1),
            q1,
        );
        let xs = _mm512_sub_epi8(
            _mm512_and_si512(
                _mm512_mask_blend_epi64(0b1100_1100, x, _mm512_srli_epi16::<4>(x)),
                m4,
            ),
            eight,
        );
        let negative = _mm512_movepi8_mask(xs);
        let ax = _mm512_abs_epi8(xs);
        let (dw0, dw1) = (f16_at(w, at0), f16_at(w, at1));
        for r in 0..R {
            let y = load64(a[r].quants, b * 32);
            let sy = _mm512_mask_sub_epi8(y, negative, zero, y);
            let p = _mm512_dpbusd_epi32(zero, ax, sy);
            let d = pair_scales(dw0 * a[r].scales[b], dw1 * a[r].scales[b + 1]);
            acc[r] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc[r]);
        }
        b += 2;
    }
    let mut out = [0.0f32; R];
    for r in 0..R {
        out[r] = _mm512_reduce_add_ps(acc[r]);
    }
    if b < nb {
        let tails: [ActivationRow; R] = std::array::from_fn(|r| tail_row(&a[r], b));
        let t = rows_q4_0::<R>(&w[b * q4_0::BYTES..], &tails);
        for r in 0..R {
            out[r] += t[r];
        }
    }
    out
}

/// Q8_0 weights · `R` activation rows, two blocks per 512-bit step (prefill).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub fn rows_q8_0_wide<const R: usize>(w: &[u8], a: &[ActivationRow; R]) -> [f32; R] {
    use crate::cpu::layout::q8_0;
    let nb = w.len() / q8_0::BYTES;
    let zero = _mm512_setzero_si512();
    let mut acc = [_mm512_setzero_ps(); R];
    let mut b = 0;
    while b + 2 <= nb {
        let at0 = b * q8_0::BYTES;
        let at1 = at0 + q8_0::BYTES;
        let x = _mm512_inserti64x4::<1>(
            _mm512_castsi256_si512(load32(w, at0 + q8_0::QS)),
            load32(w, at1 + q8_0::QS),
        );
        let negative = _mm512_movepi8_mask(x);
        let ax = _mm512_abs_epi8(x);
        let (dw0, dw1) = (f16_at(w, at0), f16_at(w, at1));
        for r in 0..R {
            let y = load64(a[r].quants, b * 32);
            let sy = _mm512_mask_sub_epi8(y, negative, zero, y);
            let p = _mm512_dpbusd_epi32(zero, ax, sy);
            let d = pair_scales(dw0 * a[r].scales[b], dw1 * a[r].scales[b + 1]);
            acc[r] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc[r]);
        }
        b += 2;
    }
    let mut out = [0.0f32; R];
    for r in 0..R {
        out[r] = _mm512_reduce_add_ps(acc[r]);
    }
    if b < nb {
        let tails: [ActivationRow; R] = std::array::from_fn(|r| tail_row(&a[r], b));
        let t = rows_q8_0::<R>(&w[b * q8_0::BYTES..], &tails);
        for r in 0..R {
            out[r] += t[r];
        }
    }
    out
}
