//! The quantized row dots, written once and instantiated per NEON level by
//! [`neon_quant_kernels!`]. Each computes the integer sums of `scalar.rs`, the spec, with
//! sixteen byte products per step; only the float accumulation order differs.

/// Generates the row dots (`dot_q4_0`, `dot_q8_0`, `dot_q2_k` … `dot_q6_k`) for one level.
/// `$features` is the aarch64 `target_feature` string; `$dot` is `(acc: int32x4_t, a: int8x16_t,
/// b: int8x16_t) -> int32x4_t` adding the sixteen byte products of `a` and `b` to `acc`
/// (how they spread over the lanes is the level's business: callers only sum lanes, or
/// scale a whole vector by one sub-block scale).
macro_rules! neon_quant_kernels {
    ($features:literal, $dot:ident) => {
        use crate::cpu::activation::ActivationRow;
        use crate::cpu::layout::{f16_at, q2_k, q3_k, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k};
        use crate::cpu::layout::{fifth_bits, q6_k, q8_0, u32_at};
        use crate::cpu::neon::{load_s8, load_u8};

        /// Q4_0 weights · 32-block activations.
        ///
        /// # Safety
        /// The CPU must have this level's features (the `Simd` token proves it).
        #[cfg_attr(target_arch = "aarch64", target_feature(enable = $features))]
        pub(crate) unsafe fn dot_q4_0(w: &[u8], a: &ActivationRow) -> f32 {
            // SAFETY: register arithmetic of this level's features (the caller's
            // contract) and `$dot`, which needs no more.
            unsafe {
                let low = vdupq_n_u8(0x0F);
                let eight = vdupq_n_s8(8);
                let mut acc = vdupq_n_f32(0.0);
                for (b, blk) in w.chunks_exact(q4_0::BYTES).enumerate() {
                    let packed = load_u8(blk, q4_0::QS);
                    let lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(packed, low)), eight);
                    let hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8::<4>(packed)), eight);
                    let y = &a.quants[32 * b..32 * b + 32];
                    let isum = $dot($dot(vdupq_n_s32(0), lo, load_s8(y, 0)), hi, load_s8(y, 16));
                    acc = vfmaq_n_f32(acc, vcvtq_f32_s32(isum), f16_at(blk) * a.scales[b]);
                }
                vaddvq_f32(acc)
            }
        }

        /// A 32-block format with unsigned codes (nibbles at `qs`, fifth bits at `qh`) ·
        /// 32-block activations: per block `d · Σ u·y` by the activation scale, plus `m`
        /// (at `m_at`; Q5_0's is `−16 d`) times the activation's scaled block sum.
        #[inline(always)]
        unsafe fn dot_block32_offset(
            w: &[u8],
            a: &ActivationRow,
            bytes: usize,
            qs: usize,
            qh: Option<usize>,
            m_at: Option<usize>,
        ) -> f32 {
            // SAFETY: as in `dot_q4_0`.
            unsafe {
                let low = vdupq_n_u8(0x0F);
                let mut acc = vdupq_n_f32(0.0);
                let mut offsets = 0.0f32;
                for (b, blk) in w.chunks_exact(bytes).enumerate() {
                    let packed = load_u8(blk, qs);
                    let (mut lo, mut hi) = (vandq_u8(packed, low), vshrq_n_u8::<4>(packed));
                    if let Some(at) = qh {
                        let fifth = fifth_bits(u32_at(blk, at));
                        lo = vorrq_u8(lo, load_u8(&fifth, 0));
                        hi = vorrq_u8(hi, load_u8(&fifth, 16));
                    }
                    let y = &a.quants[32 * b..32 * b + 32];
                    let p = $dot(vdupq_n_s32(0), vreinterpretq_s8_u8(lo), load_s8(y, 0));
                    let p = $dot(p, vreinterpretq_s8_u8(hi), load_s8(y, 16));
                    let d = f16_at(blk);
                    acc = vfmaq_n_f32(acc, vcvtq_f32_s32(p), d * a.scales[b]);
                    let m = match m_at {
                        Some(at) => f16_at(&blk[at..]),
                        None => -16.0 * d,
                    };
                    offsets += m * a.group_sums[b];
                }
                vaddvq_f32(acc) + offsets
            }
        }

        /// Q4_1 weights · 32-block activations.
        ///
        /// # Safety
        /// The CPU must have this level's features (the `Simd` token proves it).
        #[cfg_attr(target_arch = "aarch64", target_feature(enable = $features))]
        pub(crate) unsafe fn dot_q4_1(w: &[u8], a: &ActivationRow) -> f32 {
            // SAFETY: the caller's contract, forwarded.
            unsafe { dot_block32_offset(w, a, q4_1::BYTES, q4_1::QS, None, Some(q4_1::M)) }
        }

        /// Q5_0 weights · 32-block activations.
        ///
        /// # Safety
        /// The CPU must have this level's features (the `Simd` token proves it).
        #[cfg_attr(target_arch = "aarch64", target_feature(enable = $features))]
        pub(crate) unsafe fn dot_q5_0(w: &[u8], a: &ActivationRow) -> f32 {
            // SAFETY: the caller's contract, forwarded.
            unsafe { dot_block32_offset(w, a, q5_0::BYTES, q5_0::QS, Some(q5_0::QH), None) }
        }

        /// Q5_1 weights · 32-block activations.
        ///
        /// # Safety
        /// The CPU must have this level's features (the `Simd` token proves it).
        #[cfg_attr(target_arch = "aarch64", target_feature(enable = $features))]
        pub(crate) unsafe fn dot_q5_1(w: &[u8], a: &ActivationRow) -> f32 {
            // SAFETY: the caller's contract, forwarded.
            unsafe {
                dot_block32_offset(w, a, q5_1::BYTES, q5_1::QS, Some(q5_1::QH), Some(q5_1::M))
            }
        }

        /// Q8_0 weights · 32-block activations.
        ///
        /// # Safety
        /// The CPU must have this level's features (the `Simd` token proves it).
        #[cfg_attr(target_arch = "aarch64", target_feature(enable = $features))]
        pub(crate) unsafe fn dot_q8_0(w: &[u8], a: &ActivationRow) -> f32 {
            // SAFETY: as in `dot_q4_0`.
            unsafe {
                let mut acc = vdupq_n_f32(0.0);
                for (b, blk) in w.chunks_exact(q8_0::BYTES).enumerate() {
                    let x0 = vreinterpretq_s8_u8(load_u8(blk, q8_0::QS));
                    let x1 = vreinterpretq_s8_u8(load_u8(blk, q8_0::QS + 16));
                    let y = &a.quants[32 * b..32 * b + 32];
                    let isum = $dot($dot(vdupq_n_s32(0), x0, load_s8(y, 0)), x1, load_s8(y, 16));
                    acc = vfmaq_n_f32(acc, vcvtq_f32_s32(isum), f16_at(blk) * a.scales[b]);
                }
                vaddvq_f32(acc)
            }
        }

        /// Q4_K weights · 256-block activations (with per-16 sums for the mins).
        ///
        /// # Safety
        /// The CPU must have this level's features (the `Simd` token proves it).
        #[cfg_attr(target_arch = "aarch64", target_feature(enable = $features))]
        pub(crate) unsafe fn dot_q4_k(w: &[u8], a: &ActivationRow) -> f32 {
            // SAFETY: the caller's contract, forwarded.
            unsafe { dot_k4_layout(w, a, q4_k::BYTES, q4_k::QS, None) }
        }

        /// Q5_K weights · 256-block activations.
        ///
        /// # Safety
        /// The CPU must have this level's features (the `Simd` token proves it).
        #[cfg_attr(target_arch = "aarch64", target_feature(enable = $features))]
        pub(crate) unsafe fn dot_q5_k(w: &[u8], a: &ActivationRow) -> f32 {
            // SAFETY: the caller's contract, forwarded.
            unsafe { dot_k4_layout(w, a, q5_k::BYTES, q5_k::QS, Some(q5_k::QH)) }
        }

        /// Q4_K's layout (`d`, `dmin`, packed scales and mins, nibbles at `qs`), with Q5_K's
        /// fifth code bits at `qh` (bit `2j` for the low nibbles of group `j`, `2j + 1` for
        /// the high ones, consumed by shifting) · 256-block activations. Inlined with a
        /// constant `qh`, so Q4_K's copy carries no fifth-bit work.
        #[inline(always)]
        unsafe fn dot_k4_layout(
            w: &[u8],
            a: &ActivationRow,
            bytes: usize,
            qs: usize,
            qh: Option<usize>,
        ) -> f32 {
            // SAFETY: as in `dot_q4_0`.
            unsafe {
                let low = vdupq_n_u8(0x0F);
                let (bit0, bit1) = (vdupq_n_u8(1), vdupq_n_u8(2));
                let mut sum = 0.0f32;
                for (b, blk) in w.chunks_exact(bytes).enumerate() {
                    let (sc, mn) = q4_k::scales_and_mins(&blk[q4_k::SCALES..q4_k::SCALES + 12]);
                    let y = &a.quants[256 * b..256 * b + 256];
                    let mut fifth = match qh {
                        Some(at) => [load_u8(blk, at), load_u8(blk, at + 16)],
                        None => [vdupq_n_u8(0); 2],
                    };
                    let mut acc = vdupq_n_s32(0);
                    for j in 0..4 {
                        let q = [load_u8(blk, qs + 32 * j), load_u8(blk, qs + 32 * j + 16)];
                        for half in 0..2 {
                            let at = 64 * j + 32 * half;
                            let mut p = vdupq_n_s32(0);
                            for c in 0..2 {
                                let code = if half == 0 {
                                    let high = vshlq_n_u8::<4>(vandq_u8(fifth[c], bit0));
                                    vorrq_u8(vandq_u8(q[c], low), high)
                                } else {
                                    let high = vshlq_n_u8::<3>(vandq_u8(fifth[c], bit1));
                                    vorrq_u8(vshrq_n_u8::<4>(q[c]), high)
                                };
                                p = $dot(p, vreinterpretq_s8_u8(code), load_s8(y, at + 16 * c));
                            }
                            acc = vmlaq_n_s32(acc, p, i32::from(sc[2 * j + half]));
                        }
                        fifth = [vshrq_n_u8::<2>(fifth[0]), vshrq_n_u8::<2>(fifth[1])];
                    }
                    let summ = q4_k_mins_dot(&mn, &a.sums[16 * b..16 * b + 16]);
                    let d = f16_at(blk);
                    let dmin = f16_at(&blk[2..]);
                    sum += a.scales[b] * (d * vaddvq_s32(acc) as f32 - dmin * summ as f32);
                }
                sum
            }
        }

        /// `Σ mins[s] · (sums[2s] + sums[2s + 1])`: the eight Q4_K mins against the
        /// activation sums of their 32 values.
        #[inline(always)]
        unsafe fn q4_k_mins_dot(mins: &[u8; 8], sums: &[i16]) -> i32 {
            let sums = &sums[..16];
            // SAFETY: `mins` is eight readable bytes and `sums` sixteen readable i16;
            // the rest is register arithmetic of plain NEON.
            unsafe {
                let pairs = vpaddq_s16(vld1q_s16(sums.as_ptr()), vld1q_s16(sums[8..].as_ptr()));
                let m = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(mins.as_ptr())));
                let products = vaddq_s32(
                    vmull_s16(vget_low_s16(m), vget_low_s16(pairs)),
                    vmull_high_s16(m, pairs),
                );
                vaddvq_s32(products)
            }
        }

        /// Q3_K weights · 256-block activations: codes `low | third << 2` minus 4 as
        /// signed bytes, the bit planes consumed by shifting `qs` and `hmask`.
        ///
        /// # Safety
        /// The CPU must have this level's features (the `Simd` token proves it).
        #[cfg_attr(target_arch = "aarch64", target_feature(enable = $features))]
        pub(crate) unsafe fn dot_q3_k(w: &[u8], a: &ActivationRow) -> f32 {
            // SAFETY: as in `dot_q4_0`.
            unsafe {
                let (m3, one, four) = (vdupq_n_u8(3), vdupq_n_u8(1), vdupq_n_s8(4));
                let mut sum = 0.0f32;
                for (b, blk) in w.chunks_exact(q3_k::BYTES).enumerate() {
                    let scales = q3_k::scales(&blk[q3_k::SCALES..q3_k::D]);
                    let y = &a.quants[256 * b..256 * b + 256];
                    let mut third = [load_u8(blk, q3_k::HMASK), load_u8(blk, q3_k::HMASK + 16)];
                    let mut acc = vdupq_n_s32(0);
                    for h in 0..2 {
                        let mut low = [
                            load_u8(blk, q3_k::QS + 32 * h),
                            load_u8(blk, q3_k::QS + 32 * h + 16),
                        ];
                        for k in 0..4 {
                            for c in 0..2 {
                                let code = vorrq_u8(
                                    vandq_u8(low[c], m3),
                                    vshlq_n_u8::<2>(vandq_u8(third[c], one)),
                                );
                                let q = vsubq_s8(vreinterpretq_s8_u8(code), four);
                                let at = 128 * h + 32 * k + 16 * c;
                                let p = $dot(vdupq_n_s32(0), q, load_s8(y, at));
                                acc = vmlaq_n_s32(acc, p, i32::from(scales[at / 16]));
                                low[c] = vshrq_n_u8::<2>(low[c]);
                                third[c] = vshrq_n_u8::<1>(third[c]);
                            }
                        }
                    }
                    sum += f16_at(&blk[q3_k::D..]) * a.scales[b] * vaddvq_s32(acc) as f32;
                }
                sum
            }
        }

        /// Q2_K weights · 256-block activations: 2-bit codes by shifting `qs`, each 16
        /// values scaled by their nibble scale, the mins against the activation sums.
        ///
        /// # Safety
        /// The CPU must have this level's features (the `Simd` token proves it).
        #[cfg_attr(target_arch = "aarch64", target_feature(enable = $features))]
        pub(crate) unsafe fn dot_q2_k(w: &[u8], a: &ActivationRow) -> f32 {
            // SAFETY: as in `dot_q4_0`.
            unsafe {
                let m3 = vdupq_n_u8(3);
                let mut sum = 0.0f32;
                for (b, blk) in w.chunks_exact(q2_k::BYTES).enumerate() {
                    let nibbles = &blk[q2_k::SCALES..q2_k::SCALES + 16];
                    let y = &a.quants[256 * b..256 * b + 256];
                    let mut acc = vdupq_n_s32(0);
                    for h in 0..2 {
                        let mut q = [
                            load_u8(blk, q2_k::QS + 32 * h),
                            load_u8(blk, q2_k::QS + 32 * h + 16),
                        ];
                        for k in 0..4 {
                            for c in 0..2 {
                                let code = vreinterpretq_s8_u8(vandq_u8(q[c], m3));
                                let at = 128 * h + 32 * k + 16 * c;
                                let p = $dot(vdupq_n_s32(0), code, load_s8(y, at));
                                acc = vmlaq_n_s32(acc, p, i32::from(nibbles[at / 16] & 0xF));
                                q[c] = vshrq_n_u8::<2>(q[c]);
                            }
                        }
                    }
                    // Sixteen multiplies per 256 values: plain integer code is enough.
                    let summ: i32 = nibbles
                        .iter()
                        .zip(&a.sums[16 * b..16 * b + 16])
                        .map(|(&n, &s)| i32::from(n >> 4) * i32::from(s))
                        .sum();
                    let d = f16_at(&blk[q2_k::D..]);
                    let dmin = f16_at(&blk[q2_k::DMIN..]);
                    sum += a.scales[b] * (d * vaddvq_s32(acc) as f32 - dmin * summ as f32);
                }
                sum
            }
        }

        /// Q6_K weights · 256-block activations.
        ///
        /// # Safety
        /// The CPU must have this level's features (the `Simd` token proves it).
        #[cfg_attr(target_arch = "aarch64", target_feature(enable = $features))]
        pub(crate) unsafe fn dot_q6_k(w: &[u8], a: &ActivationRow) -> f32 {
            // SAFETY: as in `dot_q4_0`.
            unsafe {
                let low = vdupq_n_u8(0x0F);
                let bits01 = vdupq_n_u8(0x03);
                let bits23 = vdupq_n_u8(0x0C);
                let bits45 = vdupq_n_u8(0x30);
                let offset = vdupq_n_s8(32);
                let mut sum = 0.0f32;
                for (b, blk) in w.chunks_exact(q6_k::BYTES).enumerate() {
                    let y = &a.quants[256 * b..256 * b + 256];
                    let mut acc = vdupq_n_s32(0);
                    for h in 0..2 {
                        let sc = &blk[q6_k::SCALES + 8 * h..q6_k::SCALES + 8 * h + 8];
                        // Sixteen values per step: `l` is the first of them within the
                        // 32-value groups, and picks the sub-block scale (one per 16).
                        for (c, l) in [0, 16].into_iter().enumerate() {
                            let ql0 = load_u8(blk, 64 * h + l);
                            let ql1 = load_u8(blk, 64 * h + 32 + l);
                            let qh = load_u8(blk, q6_k::QH + 32 * h + l);
                            // Low four bits from `ql`, the top two from `qh`'s pair k.
                            let codes = [
                                vorrq_u8(vandq_u8(ql0, low), vshlq_n_u8::<4>(vandq_u8(qh, bits01))),
                                vorrq_u8(vandq_u8(ql1, low), vshlq_n_u8::<2>(vandq_u8(qh, bits23))),
                                vorrq_u8(vshrq_n_u8::<4>(ql0), vandq_u8(qh, bits45)),
                                vorrq_u8(
                                    vshrq_n_u8::<4>(ql1),
                                    vandq_u8(vshrq_n_u8::<2>(qh), bits45),
                                ),
                            ];
                            for (k, code) in codes.into_iter().enumerate() {
                                let q = vsubq_s8(vreinterpretq_s8_u8(code), offset);
                                let p = $dot(vdupq_n_s32(0), q, load_s8(y, 128 * h + 32 * k + l));
                                acc = vmlaq_n_s32(acc, p, i32::from(sc[c + 2 * k] as i8));
                            }
                        }
                    }
                    sum += f16_at(&blk[q6_k::D..]) * a.scales[b] * vaddvq_s32(acc) as f32;
                }
                sum
            }
        }
    };
}

pub(crate) use neon_quant_kernels;
