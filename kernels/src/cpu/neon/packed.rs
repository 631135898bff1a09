//! The packed GEMM's micro-kernels (`cpu::packed`) on NEON, written once and instantiated
//! per level by [`neon_packed_kernels!`]: a register tile of `RW` panel rows × `RA`
//! activation rows, each weight and activation vector loaded once per tile. They compute
//! `packed/scalar.rs`'s integer sums; only the float accumulation order differs. On
//! aarch64 every quantized format but Q8_0 runs them from `packed::PACKED_MIN_ROWS`
//! activation rows on.

/// Generates `tile_k` and `tile_32` for one level; `$features` and `$dot` as in
/// `neon_quant_kernels!`.
macro_rules! neon_packed_kernels {
    ($features:literal, $dot:ident) => {
        /// K-family panel rows · `RA` activation rows (256-blocks): `[r][a]`. Codes are ≤ 63,
        /// so they are signed bytes as they are; each 16-value product vector is scaled by
        /// its sub-block's integer scale.
        ///
        /// # Safety
        /// The CPU must have this level's features (the `Simd` token proves it).
        #[cfg_attr(target_arch = "aarch64", target_feature(enable = $features))]
        pub(crate) unsafe fn tile_k<const RW: usize, const RA: usize>(
            p: &crate::cpu::neon::PanelRows<'_, RW>,
            acts: &[ActivationRow; RA],
        ) -> [[f32; RA]; RW] {
            // SAFETY: as in `dot_q4_0`.
            unsafe {
                let k = p.codes[0].len();
                let mut acc = [[0.0f32; RA]; RW];
                for b in 0..k / 256 {
                    let mut sumi = [[vdupq_n_s32(0); RA]; RW];
                    for at in (256 * b..256 * b + 256).step_by(16) {
                        let y: [int8x16_t; RA] =
                            std::array::from_fn(|a| load_s8(acts[a].quants, at));
                        for r in 0..RW {
                            let w = vreinterpretq_s8_u8(load_u8(p.codes[r], at));
                            let scale = i32::from(p.scales[r][at / 2]);
                            for a in 0..RA {
                                let dot = $dot(vdupq_n_s32(0), w, y[a]);
                                sumi[r][a] = vmlaq_n_s32(sumi[r][a], dot, scale);
                            }
                        }
                    }
                    for r in 0..RW {
                        for a in 0..RA {
                            let scale = p.d[r][b] * acts[a].scales[b];
                            acc[r][a] += scale * vaddvq_s32(sumi[r][a]) as f32;
                        }
                    }
                }
                minus_offsets(acc, p, acts)
            }
        }

        /// 32-block panel rows · `RA` activation rows: `[r][a]`. Codes must be ≤ 127
        /// (every 32-block format but Q8_0, whose codes reach 255).
        ///
        /// # Safety
        /// The CPU must have this level's features (the `Simd` token proves it).
        #[cfg_attr(target_arch = "aarch64", target_feature(enable = $features))]
        pub(crate) unsafe fn tile_32<const RW: usize, const RA: usize>(
            p: &crate::cpu::neon::PanelRows<'_, RW>,
            acts: &[ActivationRow; RA],
        ) -> [[f32; RA]; RW] {
            // SAFETY: as in `dot_q4_0`.
            unsafe {
                let k = p.codes[0].len();
                let mut acc = [[vdupq_n_f32(0.0); RA]; RW];
                for blk in 0..k / 32 {
                    let at = 32 * blk;
                    let y: [[int8x16_t; 2]; RA] = std::array::from_fn(|a| {
                        [
                            load_s8(acts[a].quants, at),
                            load_s8(acts[a].quants, at + 16),
                        ]
                    });
                    for r in 0..RW {
                        let w0 = vreinterpretq_s8_u8(load_u8(p.codes[r], at));
                        let w1 = vreinterpretq_s8_u8(load_u8(p.codes[r], at + 16));
                        // `d` is stored once per four values; any of the block's will do.
                        let d = p.d[r][at / 4];
                        for a in 0..RA {
                            let sumi = $dot($dot(vdupq_n_s32(0), w0, y[a][0]), w1, y[a][1]);
                            let scale = d * acts[a].scales[blk];
                            acc[r][a] = vfmaq_n_f32(acc[r][a], vcvtq_f32_s32(sumi), scale);
                        }
                    }
                }
                let sums = acc.map(|row| row.map(|v| vaddvq_f32(v)));
                minus_offsets(sums, p, acts)
            }
        }

        /// `main[r][a] − offsets_r · group_sums_a`: the zero points, against the activations'
        /// scaled group sums.
        fn minus_offsets<const RW: usize, const RA: usize>(
            main: [[f32; RA]; RW],
            p: &crate::cpu::neon::PanelRows<'_, RW>,
            acts: &[ActivationRow; RA],
        ) -> [[f32; RA]; RW] {
            let mut out = main;
            for (r, row) in out.iter_mut().enumerate() {
                for (a, o) in row.iter_mut().enumerate() {
                    *o -= crate::cpu::neon::float::dot_f32(p.offsets[r], acts[a].group_sums);
                }
            }
            out
        }
    };
}

pub(crate) use neon_packed_kernels;
