//! Portable dot products: the specification. Each SIMD file computes the same integer sums
//! (and so agrees up to float summation order); the tests in `dot.rs` compare every SIMD
//! level against these.

use super::activation::ActivationRow;
use super::layout::{block32_codes, f16_at, q2_k, q3_k, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k};
use super::layout::{q6_k, q8_0, u32_at};

/// `Σ w·x` over f32 weights, eight partial sums combined in a fixed order.
pub fn dot_f32(w: &[f32], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut wc = w.chunks_exact(8);
    let mut xc = x.chunks_exact(8);
    for (a, b) in (&mut wc).zip(&mut xc) {
        for l in 0..8 {
            acc[l] = a[l].mul_add(b[l], acc[l]);
        }
    }
    let mut tail = 0.0;
    for (a, b) in wc.remainder().iter().zip(xc.remainder()) {
        tail += a * b;
    }
    acc.iter().sum::<f32>() + tail
}

/// Q4_0 weights · 32-block activations.
pub fn dot_q4_0(w: &[u8], a: &ActivationRow) -> f32 {
    let mut sum = 0.0f32;
    for (b, blk) in w.chunks_exact(q4_0::BYTES).enumerate() {
        let qs = &blk[q4_0::QS..];
        let y = &a.quants[b * 32..b * 32 + 32];
        let mut s = 0i32;
        for j in 0..16 {
            s += (i32::from(qs[j] & 0xF) - 8) * i32::from(y[j]);
            s += (i32::from(qs[j] >> 4) - 8) * i32::from(y[j + 16]);
        }
        sum += f16_at(blk) * a.scales[b] * s as f32;
    }
    sum
}

/// A 32-block format with unsigned codes `u` (Q4_1, Q5_0, Q5_1) · 32-block activations:
/// per block `d · Σ u·y` plus `m` (Q5_0: `−16 d`) times `Σ y`, both by the activation scale.
fn dot_block32_offset(
    w: &[u8],
    a: &ActivationRow,
    bytes: usize,
    block: impl Fn(&[u8]) -> ([u8; 32], f32, f32),
) -> f32 {
    let mut sum = 0.0f32;
    for (b, blk) in w.chunks_exact(bytes).enumerate() {
        let (u, d, m) = block(blk);
        let y = &a.quants[b * 32..b * 32 + 32];
        let s: i32 = u
            .iter()
            .zip(y)
            .map(|(&u, &v)| i32::from(u) * i32::from(v))
            .sum();
        sum += a.scales[b] * (d * s as f32 + m * f32::from(a.sums[b]));
    }
    sum
}

/// Q4_1 weights · 32-block activations.
pub fn dot_q4_1(w: &[u8], a: &ActivationRow) -> f32 {
    dot_block32_offset(w, a, q4_1::BYTES, |blk| {
        let u = block32_codes(&blk[q4_1::QS..], None);
        (u, f16_at(blk), f16_at(&blk[q4_1::M..]))
    })
}

/// Q5_0 weights · 32-block activations.
pub fn dot_q5_0(w: &[u8], a: &ActivationRow) -> f32 {
    dot_block32_offset(w, a, q5_0::BYTES, |blk| {
        let u = block32_codes(&blk[q5_0::QS..], Some(u32_at(blk, q5_0::QH)));
        let d = f16_at(blk);
        (u, d, -16.0 * d)
    })
}

/// Q5_1 weights · 32-block activations.
pub fn dot_q5_1(w: &[u8], a: &ActivationRow) -> f32 {
    dot_block32_offset(w, a, q5_1::BYTES, |blk| {
        let u = block32_codes(&blk[q5_1::QS..], Some(u32_at(blk, q5_1::QH)));
        (u, f16_at(blk), f16_at(&blk[q5_1::M..]))
    })
}

/// Q8_0 weights · 32-block activations.
pub fn dot_q8_0(w: &[u8], a: &ActivationRow) -> f32 {
    let mut sum = 0.0f32;
    for (b, blk) in w.chunks_exact(q8_0::BYTES).enumerate() {
        let qs = &blk[q8_0::QS..];
        let y = &a.quants[b * 32..b * 32 + 32];
        let s: i32 = qs
            .iter()
            .zip(y)
            .map(|(&q, &v)| i32::from(q as i8) * i32::from(v))
            .sum();
        sum += f16_at(blk) * a.scales[b] * s as f32;
    }
    sum
}

/// Q4_K weights · 256-block activations.
pub fn dot_q4_k(w: &[u8], a: &ActivationRow) -> f32 {
    dot_k4_layout(w, a, q4_k::BYTES, q4_k::QS, None)
}

/// Q5_K weights · 256-block activations: Q4_K with a fifth code bit.
pub fn dot_q5_k(w: &[u8], a: &ActivationRow) -> f32 {
    dot_k4_layout(w, a, q5_k::BYTES, q5_k::QS, Some(q5_k::QH))
}

/// Q4_K's layout (`d`, `dmin`, packed 6-bit scales and mins, nibbles at `qs`), with the
/// codes' fifth bits at `qh` for Q5_K (bit `2j` of byte `l` for value `64j + l`, `2j + 1`
/// for `64j + 32 + l`) · 256-block activations.
fn dot_k4_layout(w: &[u8], a: &ActivationRow, bytes: usize, qs: usize, qh: Option<usize>) -> f32 {
    let mut sum = 0.0f32;
    for (b, blk) in w.chunks_exact(bytes).enumerate() {
        let (sc, mn) = q4_k::scales_and_mins(&blk[q4_k::SCALES..q4_k::SCALES + 12]);
        let q = &blk[qs..qs + 128];
        let fifth = |l: usize, bit: usize| qh.map_or(0, |at| ((blk[at + l] >> bit) & 1) << 4);
        let y = &a.quants[b * 256..b * 256 + 256];
        let bs = &a.sums[b * 16..b * 16 + 16];
        let mut sumi = 0i32;
        for j in 0..4 {
            let (mut lo, mut hi) = (0i32, 0i32);
            for l in 0..32 {
                let byte = q[32 * j + l];
                lo += i32::from((byte & 0xF) | fifth(l, 2 * j)) * i32::from(y[64 * j + l]);
                hi += i32::from((byte >> 4) | fifth(l, 2 * j + 1)) * i32::from(y[64 * j + 32 + l]);
            }
            sumi += i32::from(sc[2 * j]) * lo + i32::from(sc[2 * j + 1]) * hi;
        }
        let mut summ = 0i32;
        for s in 0..8 {
            summ += i32::from(mn[s]) * (i32::from(bs[2 * s]) + i32::from(bs[2 * s + 1]));
        }
        let d = f16_at(blk);
        let dmin = f16_at(&blk[2..]);
        sum += a.scales[b] * (d * sumi as f32 - dmin * summ as f32);
    }
    sum
}

/// Q3_K weights · 256-block activations.
pub fn dot_q3_k(w: &[u8], a: &ActivationRow) -> f32 {
    let mut sum = 0.0f32;
    for (b, blk) in w.chunks_exact(q3_k::BYTES).enumerate() {
        let scales = q3_k::scales(&blk[q3_k::SCALES..q3_k::D]);
        let y = &a.quants[b * 256..b * 256 + 256];
        let mut sumi = 0i32;
        for (v, &yv) in y.iter().enumerate() {
            let (h, k, l) = (v / 128, (v % 128) / 32, v % 32);
            let low = (blk[q3_k::QS + 32 * h + l] >> (2 * k)) & 3;
            let third = (blk[q3_k::HMASK + l] >> (4 * h + k)) & 1;
            let code = i32::from(low | (third << 2)) - 4;
            sumi += i32::from(scales[v / 16]) * code * i32::from(yv);
        }
        sum += f16_at(&blk[q3_k::D..]) * a.scales[b] * sumi as f32;
    }
    sum
}

/// Q2_K weights · 256-block activations.
pub fn dot_q2_k(w: &[u8], a: &ActivationRow) -> f32 {
    let mut sum = 0.0f32;
    for (b, blk) in w.chunks_exact(q2_k::BYTES).enumerate() {
        let y = &a.quants[b * 256..b * 256 + 256];
        let bs = &a.sums[b * 16..b * 16 + 16];
        let (mut sumi, mut summ) = (0i32, 0i32);
        for (v, &yv) in y.iter().enumerate() {
            let (h, k, l) = (v / 128, (v % 128) / 32, v % 32);
            let code = (blk[q2_k::QS + 32 * h + l] >> (2 * k)) & 3;
            let scale = blk[q2_k::SCALES + v / 16] & 0xF;
            sumi += i32::from(scale) * i32::from(code) * i32::from(yv);
        }
        for (g, &s) in bs.iter().enumerate() {
            summ += i32::from(blk[q2_k::SCALES + g] >> 4) * i32::from(s);
        }
        let d = f16_at(&blk[q2_k::D..]);
        let dmin = f16_at(&blk[q2_k::DMIN..]);
        sum += a.scales[b] * (d * sumi as f32 - dmin * summ as f32);
    }
    sum
}

/// Q6_K weights · 256-block activations.
pub fn dot_q6_k(w: &[u8], a: &ActivationRow) -> f32 {
    let mut sum = 0.0f32;
    for (b, blk) in w.chunks_exact(q6_k::BYTES).enumerate() {
        let y = &a.quants[b * 256..b * 256 + 256];
        let mut sumi = 0i32;
        for h in 0..2 {
            let ql = &blk[64 * h..64 * h + 64];
            let qh = &blk[q6_k::QH + 32 * h..q6_k::QH + 32 * h + 32];
            let sc = &blk[q6_k::SCALES + 8 * h..q6_k::SCALES + 8 * h + 8];
            let yh = &y[128 * h..128 * h + 128];
            for l in 0..32 {
                let is = l / 16;
                let q1 = i32::from((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                let q2 = i32::from((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                let q3 = i32::from((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                let q4 = i32::from((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                sumi += i32::from(sc[is] as i8) * q1 * i32::from(yh[l]);
                sumi += i32::from(sc[is + 2] as i8) * q2 * i32::from(yh[l + 32]);
                sumi += i32::from(sc[is + 4] as i8) * q3 * i32::from(yh[l + 64]);
                sumi += i32::from(sc[is + 6] as i8) * q4 * i32::from(yh[l + 96]);
            }
        }
        sum += f16_at(&blk[q6_k::D..]) * a.scales[b] * sumi as f32;
    }
    sum
}

/// `acc += p · v` (the attention value update).
pub fn axpy(acc: &mut [f32], p: f32, v: &[f32]) {
    for (a, &b) in acc.iter_mut().zip(v) {
        *a = p.mul_add(b, *a);
    }
}

/// Widens f16 values to f32.
pub fn f16_to_f32(src: &[half::f16], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = s.to_f32();
    }
}

/// f32 weights given as little-endian bytes · f32.
pub fn dot_f32_bytes(w: &[u8], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (i, (c, &v)) in w.chunks_exact(4).zip(x).enumerate() {
        acc[i % 8] = f32::from_le_bytes([c[0], c[1], c[2], c[3]]).mul_add(v, acc[i % 8]);
    }
    acc.iter().sum()
}

/// f16 weights given as little-endian bytes · f32.
pub fn dot_f16_bytes(w: &[u8], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (i, (c, &v)) in w.chunks_exact(2).zip(x).enumerate() {
        acc[i % 8] = f16_at(c).mul_add(v, acc[i % 8]);
    }
    acc.iter().sum()
}

/// bf16 weights given as little-endian bytes · f32.
pub fn dot_bf16_bytes(w: &[u8], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (i, (c, &v)) in w.chunks_exact(2).zip(x).enumerate() {
        let wv = half::bf16::from_le_bytes([c[0], c[1]]).to_f32();
        acc[i % 8] = wv.mul_add(v, acc[i % 8]);
    }
    acc.iter().sum()
}
