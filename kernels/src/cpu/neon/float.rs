//! The f32 helpers of the NEON levels (attention's scores and value updates, f32 weight
//! rows). They need nothing past plain NEON, which every AArch64 target enables, so they
//! are safe functions and both levels share them.

use super::arch::*;
use super::{load_f32, load_u8};

/// f16 weights given as little-endian bytes · f32: eight weights per step widened with
/// `fcvtl`, into the scalar spec's eight lanes (two registers), so the result equals the
/// spec's bit for bit.
pub(crate) fn dot_f16_bytes(w: &[u8], x: &[f32]) -> f32 {
    dot_16bit(
        w,
        x,
        // SAFETY: `ld1` of eight readable bytes (the caller's slice), no alignment needed.
        |b| super::widen_f16x4(unsafe { vreinterpret_u16_u8(vld1_u8(b.as_ptr())) }),
        |c| half::f16::from_le_bytes([c[0], c[1]]).to_f32(),
    )
}

/// bf16 weights given as little-endian bytes · f32: as [`dot_f16_bytes`], each weight
/// widened by moving its bits to the top of an f32 (`shll #16`).
pub(crate) fn dot_bf16_bytes(w: &[u8], x: &[f32]) -> f32 {
    dot_16bit(
        w,
        x,
        // SAFETY: `ld1` of eight readable bytes (the caller's slice); the rest is register
        // arithmetic of plain NEON.
        |b| unsafe {
            let bits = vreinterpret_u16_u8(vld1_u8(b.as_ptr()));
            vreinterpretq_f32_u32(vshll_n_u16::<16>(bits))
        },
        |c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32(),
    )
}

/// `Σ w·x` over 16-bit float weights as bytes: `widen4` turns the eight bytes of four
/// weights into f32 lanes, `one` a weight's two bytes into an f32. Lane `i mod 8` takes
/// value `i`, as in the scalar spec, and the lanes are summed in its order.
#[inline(always)]
fn dot_16bit(
    w: &[u8],
    x: &[f32],
    widen4: impl Fn(&[u8]) -> float32x4_t,
    one: impl Fn(&[u8]) -> f32,
) -> f32 {
    let n = (w.len() / 2).min(x.len());
    let body = n - n % 8;
    let mut lanes = [0.0f32; 8];
    // SAFETY: register arithmetic of plain NEON; `lanes` is eight writable f32.
    unsafe {
        let mut acc = [vdupq_n_f32(0.0); 2];
        for i in (0..body).step_by(8) {
            for (h, a) in acc.iter_mut().enumerate() {
                let at = i + 4 * h;
                *a = vfmaq_f32(*a, widen4(&w[2 * at..2 * at + 8]), load_f32(x, at));
            }
        }
        vst1q_f32(lanes.as_mut_ptr(), acc[0]);
        vst1q_f32(lanes[4..].as_mut_ptr(), acc[1]);
    }
    for i in body..n {
        lanes[i % 8] = one(&w[2 * i..2 * i + 2]).mul_add(x[i], lanes[i % 8]);
    }
    lanes.iter().sum()
}

/// `Σ w·x` with four four-lane accumulators, then the tail in order.
pub(crate) fn dot_f32(w: &[f32], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    let body = n - n % 16;
    // SAFETY: register arithmetic of plain NEON.
    unsafe {
        let mut acc = [vdupq_n_f32(0.0); 4];
        for i in (0..body).step_by(16) {
            for (r, a) in acc.iter_mut().enumerate() {
                *a = vfmaq_f32(*a, load_f32(w, i + 4 * r), load_f32(x, i + 4 * r));
            }
        }
        let tail: f32 = w[body..n].iter().zip(&x[body..n]).map(|(a, b)| a * b).sum();
        vaddvq_f32(vaddq_f32(
            vaddq_f32(acc[0], acc[1]),
            vaddq_f32(acc[2], acc[3]),
        )) + tail
    }
}

/// f32 weights given as little-endian bytes · f32.
pub(crate) fn dot_f32_bytes(w: &[u8], x: &[f32]) -> f32 {
    let n = (w.len() / 4).min(x.len());
    let body = n - n % 8;
    // SAFETY: register arithmetic of plain NEON.
    unsafe {
        let mut acc = [vdupq_n_f32(0.0); 2];
        for i in (0..body).step_by(8) {
            for (r, a) in acc.iter_mut().enumerate() {
                let wv = vreinterpretq_f32_u8(load_u8(w, 4 * (i + 4 * r)));
                *a = vfmaq_f32(*a, wv, load_f32(x, i + 4 * r));
            }
        }
        let tail: f32 = w[4 * body..4 * n]
            .chunks_exact(4)
            .zip(&x[body..n])
            .map(|(c, v)| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) * v)
            .sum();
        vaddvq_f32(vaddq_f32(acc[0], acc[1])) + tail
    }
}

/// `acc += p · v`, fused as the scalar spec is, so the results are equal bit for bit.
pub(crate) fn axpy(acc: &mut [f32], p: f32, v: &[f32]) {
    let n = acc.len().min(v.len());
    let body = n - n % 4;
    for i in (0..body).step_by(4) {
        let out = &mut acc[i..i + 4];
        // SAFETY: `out` is four readable and writable f32; plain NEON arithmetic.
        unsafe {
            let r = vfmaq_n_f32(vld1q_f32(out.as_ptr()), load_f32(v, i), p);
            vst1q_f32(out.as_mut_ptr(), r);
        }
    }
    for (a, &b) in acc[body..n].iter_mut().zip(&v[body..n]) {
        *a = p.mul_add(b, *a);
    }
}

/// Widens f16 values to f32 (the KV cache's rows) with `half`'s slice conversion, which
/// takes the FP16 `fcvtl` where the CPU has it (Armv8.2 cores) and a portable path
/// elsewhere; `vcvt_f32_f16` is not stable Rust yet.
pub(crate) fn f16_to_f32(src: &[half::f16], dst: &mut [f32]) {
    use half::slice::HalfFloatSliceExt;
    let n = src.len().min(dst.len());
    src[..n].convert_to_f32_slice(&mut dst[..n]);
}

#[cfg(any(target_arch = "aarch64", edgeplane_neon_emulated))]
crate::cpu::attention::attend_group_impl!(attend_group, dot_f32, axpy, f16_to_f32);
