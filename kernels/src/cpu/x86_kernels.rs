//! The x86-64 dot kernels, written once and instantiated per instruction set by
//! [`x86_dot_kernels!`]: `avx2.rs` with `maddubs`-based int8 dots, `avx512.rs` with VNNI's
//! `vpdpbusd`. Each kernel computes the same integer sums as `scalar.rs`, the spec.
//!
//! The kernels are safe `#[target_feature]` functions: calling them needs `unsafe` only
//! where the feature is not statically known, which is the dispatcher in `dot.rs`, guarded
//! by a [`super::simd::Simd`] token.

/// How far ahead of the current block the decode loops ask for weight bytes. Measured on
/// the bench's cold rows (weights streamed from DRAM): the hardware prefetcher alone kept
/// Q4_0 decode at 6 GB/s; a software prefetch 4 KiB ahead, one per cache line, doubled it.
pub(crate) const PREFETCH_AHEAD: usize = 4096;

/// Generates the dot kernels for one feature set. `$features` is the `target_feature`
/// string; `$dot_u8_i8` is a function `(u: __m256i, s: __m256i) -> __m256i` that sums the
/// products of four adjacent unsigned·signed byte pairs into each i32 lane (callers keep
/// the pair sums within i16, as `maddubs` needs); `$madd_acc` is `(acc, pairs, scales) ->
/// acc + madd(pairs, scales)` on i16 pairs (one `vpdpwssd` where VNNI has it).
macro_rules! x86_dot_kernels {
    ($features:literal, $dot_u8_i8:ident, $madd_acc:ident) => {
        /// Signed·signed byte dot: `|x|` paired with `y` carrying `x`'s sign.
        #[inline]
        #[target_feature(enable = $features)]
        fn dot_i8(x: __m256i, y: __m256i) -> __m256i {
            $dot_u8_i8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x))
        }

        use crate::cpu::activation::ActivationRow;
        use crate::cpu::layout::{q2_k, q3_k, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k, q6_k, q8_0};

        /// Sum of the eight lanes.
        #[inline]
        #[target_feature(enable = $features)]
        fn hsum(v: __m256) -> f32 {
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_movehdup_ps(s));
            _mm_cvtss_f32(s)
        }

        /// An f16 given as bits, widened by F16C.
        #[inline]
        #[target_feature(enable = $features)]
        fn f16_bits_to_f32(bits: u16) -> f32 {
            _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(bits))))
        }

        /// The four f16 at `w[at..at + 8]`, widened from one full-register load. In a loop
        /// that carries a scalar sum, [`f16_at`]'s `vpinsrw` may merge into that sum's
        /// register (LLVM picks any, as only lane 0 is used) and chain every iteration
        /// behind the last: Q4_1 and Q5_0 decode ran 3× slower than Q4_0's that way.
        #[inline]
        #[target_feature(enable = $features)]
        fn f16x4_at(w: &[u8], at: usize) -> __m128 {
            let s = &w[at..at + 8];
            let halves: __m128i;
            // SAFETY: `vmovq` reads the eight bytes of `s` (no alignment need) and writes
            // the whole register. Written out because from an intrinsic load LLVM narrows it
            // to a merging `vpinsrw` again when only the first value is used (Q5_0).
            unsafe {
                std::arch::asm!(
                    "vmovq {h}, qword ptr [{p}]",
                    h = out(xmm_reg) halves,
                    p = in(reg) s.as_ptr(),
                    options(pure, readonly, nostack, preserves_flags),
                );
            }
            _mm_cvtph_ps(halves)
        }

        /// Reads the f16 at `w[at..at + 2]`.
        #[inline]
        #[target_feature(enable = $features)]
        fn f16_at(w: &[u8], at: usize) -> f32 {
            f16_bits_to_f32(u16::from_le_bytes([w[at], w[at + 1]]))
        }

        /// Asks the cache for the line [`PREFETCH_AHEAD`] bytes past `w[at]`.
        #[inline]
        #[target_feature(enable = $features)]
        fn prefetch_ahead(w: &[u8], at: usize) {
            let p = w
                .as_ptr()
                .wrapping_add(at + crate::cpu::x86_kernels::PREFETCH_AHEAD);
            // A prefetch never faults and reads nothing architecturally, so any address is
            // fine (the intrinsic is safe here); `wrapping_add` keeps computing it defined
            // past the end of `w`.
            _mm_prefetch::<_MM_HINT_T0>(p.cast());
        }

        /// Loads 32 bytes at `bytes[at..at + 32]`; panics if out of range.
        #[inline]
        #[target_feature(enable = $features)]
        fn load32<T: Copy>(bytes: &[T], at: usize) -> __m256i {
            let s = &bytes[at..at + 32 / std::mem::size_of::<T>()];
            // SAFETY: `s` covers exactly 32 readable bytes; loadu has no alignment need.
            unsafe { _mm256_loadu_si256(s.as_ptr() as *const __m256i) }
        }

        /// Loads 16 bytes at `bytes[at..at + 16]`; panics if out of range.
        #[inline]
        #[target_feature(enable = $features)]
        fn load16(bytes: &[u8], at: usize) -> __m128i {
            let s = &bytes[at..at + 16];
            // SAFETY: `s` covers exactly 16 readable bytes; loadu has no alignment need.
            unsafe { _mm_loadu_si128(s.as_ptr() as *const __m128i) }
        }

        /// The eight Q4_K mins, each repeated for two i16 lanes (`[m0, m0, m1, m1, ..]`), to
        /// `madd` against the sixteen per-16 activation sums.
        #[inline]
        #[target_feature(enable = $features)]
        fn q4_k_mins_pairs(mn: &[u8; 8]) -> __m256i {
            let m = _mm_cvtsi64_si128(i64::from_le_bytes(*mn));
            _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m, m))
        }

        /// A `vpshufb` mask that repeats i16 lane `i` (of each 128-bit half) everywhere.
        #[inline]
        #[target_feature(enable = $features)]
        fn repeat_i16(i: usize) -> __m128i {
            _mm_set1_epi16((2 * i as i16) | ((2 * i as i16 + 1) << 8))
        }

        /// The eight Q4_K sub-block scales as i16 in both halves; [`q4_k_scale`] picks one.
        /// Building the per-sub-block broadcast with `vpshufb` (any of two ports) instead
        /// of `vmovd` + `vpbroadcastw` (both on the shuffle port) was the decode loop's
        /// bottleneck.
        #[inline]
        #[target_feature(enable = $features)]
        fn q4_k_scales(sc: &[u8; 8]) -> __m256i {
            let s = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(i64::from_le_bytes(*sc)));
            _mm256_set_m128i(s, s)
        }

        /// `vpshufb`, written out: with a constant mask LLVM turns the intrinsic into
        /// `vpermw`/`vpbroadcastw`, which only the shuffle port runs.
        #[inline]
        #[target_feature(enable = $features)]
        fn pshufb(v: __m256i, mask: __m256i) -> __m256i {
            let out: __m256i;
            // SAFETY: a register-only AVX2 instruction, which every feature set this macro
            // is instantiated with includes.
            unsafe {
                std::arch::asm!(
                    "vpshufb {o}, {v}, {m}",
                    o = lateout(ymm_reg) out,
                    v = in(ymm_reg) v,
                    m = in(ymm_reg) mask,
                    options(pure, nomem, nostack, preserves_flags)
                );
            }
            out
        }

        /// Sub-block `i`'s scale in every i16 lane.
        #[inline]
        #[target_feature(enable = $features)]
        fn q4_k_scale(scales: __m256i, i: usize) -> __m256i {
            let m = repeat_i16(i);
            pshufb(scales, _mm256_set_m128i(m, m))
        }

        /// Q6_K's sixteen scales as i16, half `h` (scales `8h..8h + 8`) in both 128-bit
        /// halves: `[for h = 0, for h = 1]`.
        #[inline]
        #[target_feature(enable = $features)]
        fn q6_k_scales(w: &[u8], at: usize) -> [__m256i; 2] {
            scale_halves(load16(w, at + q6_k::SCALES))
        }

        /// Sixteen signed byte scales (one per 16 values of a 256-block) as i16 halves:
        /// scales `0..8` in both 128-bit lanes of the first, `8..16` of the second, for
        /// [`q6_k_scale`] to pick from.
        #[inline]
        #[target_feature(enable = $features)]
        fn scale_halves(scales: __m128i) -> [__m256i; 2] {
            let s = _mm256_cvtepi8_epi16(scales);
            [
                _mm256_permute4x64_epi64::<0x44>(s),
                _mm256_permute4x64_epi64::<0xEE>(s),
            ]
        }

        /// The scales of Q6_K codes `k` of a half (values `32k..32k + 32`): sub-block
        /// `2k` in the low 128 bits, `2k + 1` in the high.
        #[inline]
        #[target_feature(enable = $features)]
        fn q6_k_scale(half: __m256i, k: usize) -> __m256i {
            pshufb(half, _mm256_set_m128i(repeat_i16(2 * k + 1), repeat_i16(2 * k)))
        }

        /// Q6_K half `h` (values `128h..128h + 128`) as four registers of unsigned 6-bit
        /// codes, register `k` holding values `128h + 32k ..`.
        #[inline]
        #[target_feature(enable = $features)]
        fn q6_k_codes(w: &[u8], at: usize, h: usize) -> [__m256i; 4] {
            let m4 = _mm256_set1_epi8(0xF);
            let m2 = _mm256_set1_epi8(3);
            let ql0 = load32(w, at + 64 * h);
            let ql1 = load32(w, at + 64 * h + 32);
            let qh = load32(w, at + q6_k::QH + 32 * h);
            let high = |bits: __m256i| _mm256_slli_epi16::<4>(_mm256_and_si256(bits, m2));
            [
                _mm256_or_si256(_mm256_and_si256(ql0, m4), high(qh)),
                _mm256_or_si256(_mm256_and_si256(ql1, m4), high(_mm256_srli_epi16::<2>(qh))),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16::<4>(ql0), m4),
                    high(_mm256_srli_epi16::<4>(qh)),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16::<4>(ql1), m4),
                    high(_mm256_srli_epi16::<6>(qh)),
                ),
            ]
        }

        /// Σ mins·sums of one 256-block as eight i32 lanes.
        #[inline]
        #[target_feature(enable = $features)]
        fn block_sums_dot(sums: &[i16], b: usize, weights16: __m256i) -> __m256i {
            _mm256_madd_epi16(load32(sums, b * 16), weights16)
        }

        /// Q4_0 weights · 32-block activations.
        #[target_feature(enable = $features)]
        pub fn dot_q4_0(w: &[u8], a: &ActivationRow) -> f32 {
            let m4 = _mm_set1_epi8(0xF);
            let eight = _mm256_set1_epi8(8);
            let mut acc = [_mm256_setzero_ps(); 2];
            for b in 0..w.len() / q4_0::BYTES {
                let at = b * q4_0::BYTES;
                if b % 4 == 0 {
                    prefetch_ahead(w, at);
                }
                let qs = load16(w, at + q4_0::QS);
                let lo = _mm_and_si128(qs, m4);
                let hi = _mm_and_si128(_mm_srli_epi16::<4>(qs), m4);
                let x = _mm256_sub_epi8(_mm256_set_m128i(hi, lo), eight);
                let p = dot_i8(x, load32(a.quants, b * 32));
                let d = _mm256_set1_ps(f16_at(w, at) * a.scales[b]);
                acc[b & 1] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[b & 1]);
            }
            hsum(_mm256_add_ps(acc[0], acc[1]))
        }

        /// Q8_0 weights · 32-block activations.
        #[target_feature(enable = $features)]
        pub fn dot_q8_0(w: &[u8], a: &ActivationRow) -> f32 {
            let mut acc = [_mm256_setzero_ps(); 2];
            for b in 0..w.len() / q8_0::BYTES {
                let at = b * q8_0::BYTES;
                if b % 2 == 0 {
                    prefetch_ahead(w, at);
                }
                let p = dot_i8(load32(w, at + q8_0::QS), load32(a.quants, b * 32));
                let d = _mm256_set1_ps(f16_at(w, at) * a.scales[b]);
                acc[b & 1] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[b & 1]);
            }
            hsum(_mm256_add_ps(acc[0], acc[1]))
        }

        /// Q4_K weights · 256-block activations.
        #[target_feature(enable = $features)]
        pub fn dot_q4_k(w: &[u8], a: &ActivationRow) -> f32 {
            let m4 = _mm256_set1_epi8(0xF);
            let mut acc = _mm256_setzero_ps();
            let mut offset = _mm256_setzero_ps();
            for b in 0..w.len() / q4_k::BYTES {
                let at = b * q4_k::BYTES;
                for line in (0..q4_k::BYTES).step_by(64) {
                    prefetch_ahead(w, at + line);
                }
                // One bounds check per block: the loads below index fixed-size slices.
                let wb = &w[at..at + q4_k::BYTES];
                let y = &a.quants[b * 256..b * 256 + 256];
                let (sc, mn) = q4_k::scales_and_mins(&wb[q4_k::SCALES..q4_k::QS]);
                let summ = block_sums_dot(a.sums, b, q4_k_mins_pairs(&mn));
                let dm = _mm256_set1_ps(f16_at(wb, 2) * a.scales[b]);
                offset = _mm256_fmadd_ps(dm, _mm256_cvtepi32_ps(summ), offset);
                let scales = q4_k_scales(&sc);
                let mut sumi = [_mm256_setzero_si256(); 2];
                for j in 0..4 {
                    let q = load32(wb, q4_k::QS + 32 * j);
                    let lo = _mm256_and_si256(q, m4);
                    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(q), m4);
                    let ylo = load32(y, 64 * j);
                    let yhi = load32(y, 64 * j + 32);
                    let plo = _mm256_maddubs_epi16(lo, ylo);
                    let phi = _mm256_maddubs_epi16(hi, yhi);
                    sumi[0] = $madd_acc(sumi[0], plo, q4_k_scale(scales, 2 * j));
                    sumi[1] = $madd_acc(sumi[1], phi, q4_k_scale(scales, 2 * j + 1));
                }
                let sumi = _mm256_add_epi32(sumi[0], sumi[1]);
                let d = _mm256_set1_ps(f16_at(wb, 0) * a.scales[b]);
                acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc);
            }
            hsum(_mm256_sub_ps(acc, offset))
        }

        /// Q6_K weights · 256-block activations. Quants are used unsigned (0..63) and the
        /// `-32` offset is applied once per block through the activation sums.
        #[target_feature(enable = $features)]
        pub fn dot_q6_k(w: &[u8], a: &ActivationRow) -> f32 {
            let mut acc = _mm256_setzero_ps();
            let mut offset = _mm256_setzero_ps();
            for b in 0..w.len() / q6_k::BYTES {
                let at = b * q6_k::BYTES;
                for line in (0..q6_k::BYTES).step_by(64) {
                    prefetch_ahead(w, at + line);
                }
                // One bounds check per block: the loads below index fixed-size slices.
                let wb = &w[at..at + q6_k::BYTES];
                let y = &a.quants[b * 256..b * 256 + 256];
                let scales16 = _mm256_cvtepi8_epi16(load16(wb, q6_k::SCALES));
                let summ = block_sums_dot(a.sums, b, scales16);
                let d = f16_at(wb, q6_k::D) * a.scales[b];
                offset =
                    _mm256_fmadd_ps(_mm256_set1_ps(d * 32.0), _mm256_cvtepi32_ps(summ), offset);
                let halves = q6_k_scales(wb, 0);
                let mut sumi = [_mm256_setzero_si256(); 2];
                for (h, half) in halves.into_iter().enumerate() {
                    for (k, qk) in q6_k_codes(wb, 0, h).into_iter().enumerate() {
                        let y = load32(y, 128 * h + 32 * k);
                        let p = _mm256_maddubs_epi16(qk, y);
                        sumi[k % 2] = $madd_acc(sumi[k % 2], p, q6_k_scale(half, k));
                    }
                }
                let sumi = _mm256_add_epi32(sumi[0], sumi[1]);
                acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
            }
            hsum(_mm256_sub_ps(acc, offset))
        }

        /// Byte `i` all ones where bit `i` of `bits` is set: each byte gets the source byte
        /// holding its bit (`vpshufb`), every other bit set by an OR, then compared with −1.
        #[inline]
        #[target_feature(enable = $features)]
        fn bits_to_bytes(bits: u32) -> __m256i {
            let spread = _mm256_set_epi64x(
                0x0303_0303_0303_0303,
                0x0202_0202_0202_0202,
                0x0101_0101_0101_0101,
                0,
            );
            let v = _mm256_shuffle_epi8(_mm256_set1_epi32(bits as i32), spread);
            let v = _mm256_or_si256(v, _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe));
            _mm256_cmpeq_epi8(v, _mm256_set1_epi8(-1))
        }

        /// Which unsigned-code 32-block format [`rows_block32`] reads.
        const FORMAT_Q4_1: u8 = 0;
        /// See [`FORMAT_Q4_1`].
        const FORMAT_Q5_0: u8 = 1;
        /// See [`FORMAT_Q4_1`].
        const FORMAT_Q5_1: u8 = 2;

        /// Q4_1, Q5_0 or Q5_1 weights (`F`) · `R` activation rows: per block
        /// `d · Σ u·y + m · Σ y` by the activation scale, with `u` the unsigned codes
        /// (nibbles, plus the fifth bit from `qh`) and Q5_0's `m = −16 d`.
        #[target_feature(enable = $features)]
        fn rows_block32<const R: usize, const F: u8>(
            w: &[u8],
            a: &[ActivationRow; R],
        ) -> [f32; R] {
            // `m` (Q4_1, Q5_1) is the f16 right after `d`: both widen in one load below.
            const _: () = assert!(q4_1::M == 2 && q5_1::M == 2);
            let (bytes, qs, qh, has_m) = match F {
                FORMAT_Q4_1 => (q4_1::BYTES, q4_1::QS, None, true),
                FORMAT_Q5_0 => (q5_0::BYTES, q5_0::QS, Some(q5_0::QH), false),
                _ => (q5_1::BYTES, q5_1::QS, Some(q5_1::QH), true),
            };
            let m4 = _mm_set1_epi8(0xF);
            let fifth = _mm256_set1_epi8(0x10);
            // One accumulator per row: alternating two by `b & 1` left them in memory.
            let mut acc = [_mm256_setzero_ps(); R];
            let mut offsets = [0.0f32; R];
            for b in 0..w.len() / bytes {
                let at = b * bytes;
                if b % 2 == 0 {
                    prefetch_ahead(w, at);
                }
                let blk = &w[at..at + bytes];
                let q = load16(blk, qs);
                let lo = _mm_and_si128(q, m4);
                let hi = _mm_and_si128(_mm_srli_epi16::<4>(q), m4);
                let mut u = _mm256_set_m128i(hi, lo);
                if let Some(qh) = qh {
                    let bits = crate::cpu::layout::u32_at(blk, qh);
                    u = _mm256_or_si256(u, _mm256_and_si256(bits_to_bytes(bits), fifth));
                }
                let scales = f16x4_at(blk, 0);
                let d = _mm_cvtss_f32(scales);
                let m = if has_m {
                    _mm_cvtss_f32(_mm_movehdup_ps(scales))
                } else {
                    -16.0 * d
                };
                for r in 0..R {
                    let p = $dot_u8_i8(u, load32(a[r].quants, 32 * b));
                    let ds = a[r].scales[b];
                    let dv = _mm256_set1_ps(d * ds);
                    acc[r] = _mm256_fmadd_ps(dv, _mm256_cvtepi32_ps(p), acc[r]);
                    offsets[r] += m * a[r].group_sums[b];
                }
            }
            std::array::from_fn(|r| hsum(acc[r]) + offsets[r])
        }

        /// Q4_1 weights · `R` activation rows.
        #[target_feature(enable = $features)]
        pub fn rows_q4_1<const R: usize>(w: &[u8], a: &[ActivationRow; R]) -> [f32; R] {
            rows_block32::<R, FORMAT_Q4_1>(w, a)
        }

        /// Q5_0 weights · `R` activation rows.
        #[target_feature(enable = $features)]
        pub fn rows_q5_0<const R: usize>(w: &[u8], a: &[ActivationRow; R]) -> [f32; R] {
            rows_block32::<R, FORMAT_Q5_0>(w, a)
        }

        /// Q5_1 weights · `R` activation rows.
        #[target_feature(enable = $features)]
        pub fn rows_q5_1<const R: usize>(w: &[u8], a: &[ActivationRow; R]) -> [f32; R] {
            rows_block32::<R, FORMAT_Q5_1>(w, a)
        }

        /// Q4_1 weights · 32-block activations.
        #[target_feature(enable = $features)]
        pub fn dot_q4_1(w: &[u8], a: &ActivationRow) -> f32 {
            rows_q4_1::<1>(w, std::array::from_ref(a))[0]
        }

        /// Q5_0 weights · 32-block activations.
        #[target_feature(enable = $features)]
        pub fn dot_q5_0(w: &[u8], a: &ActivationRow) -> f32 {
            rows_q5_0::<1>(w, std::array::from_ref(a))[0]
        }

        /// Q5_1 weights · 32-block activations.
        #[target_feature(enable = $features)]
        pub fn dot_q5_1(w: &[u8], a: &ActivationRow) -> f32 {
            rows_q5_1::<1>(w, std::array::from_ref(a))[0]
        }

        /// Q5_K weights · 256-block activations ([`rows_q5_k`] for one row).
        #[target_feature(enable = $features)]
        pub fn dot_q5_k(w: &[u8], a: &ActivationRow) -> f32 {
            rows_q5_k::<1>(w, std::array::from_ref(a))[0]
        }

        /// Q3_K weights · 256-block activations ([`rows_q3_k`] for one row).
        #[target_feature(enable = $features)]
        pub fn dot_q3_k(w: &[u8], a: &ActivationRow) -> f32 {
            rows_q3_k::<1>(w, std::array::from_ref(a))[0]
        }

        /// Q2_K weights · 256-block activations ([`rows_q2_k`] for one row).
        #[target_feature(enable = $features)]
        pub fn dot_q2_k(w: &[u8], a: &ActivationRow) -> f32 {
            rows_q2_k::<1>(w, std::array::from_ref(a))[0]
        }

        /// `acc[r] − offset[r]`, each summed over its lanes.
        #[inline]
        #[target_feature(enable = $features)]
        fn rows_out<const R: usize>(acc: [__m256; R], offset: [__m256; R]) -> [f32; R] {
            std::array::from_fn(|r| hsum(_mm256_sub_ps(acc[r], offset[r])))
        }

        /// Q5_K weights · `R` activation rows: Q4_K's loop with each code's fifth bit
        /// taken from `qh` (two bit planes per 64 values, consumed by shifting `qh`); each
        /// block is unpacked once for all rows.
        #[target_feature(enable = $features)]
        pub fn rows_q5_k<const R: usize>(w: &[u8], a: &[ActivationRow; R]) -> [f32; R] {
            let m4 = _mm256_set1_epi8(0xF);
            let (bit0, bit1) = (_mm256_set1_epi8(1), _mm256_set1_epi8(2));
            let mut acc = [_mm256_setzero_ps(); R];
            let mut offset = [_mm256_setzero_ps(); R];
            for b in 0..w.len() / q5_k::BYTES {
                let at = b * q5_k::BYTES;
                for line in (0..q5_k::BYTES).step_by(64) {
                    prefetch_ahead(w, at + line);
                }
                // One bounds check per block: the loads below index fixed-size slices.
                let wb = &w[at..at + q5_k::BYTES];
                let (sc, mn) = q4_k::scales_and_mins(&wb[q5_k::SCALES..q5_k::QH]);
                let scales = q4_k_scales(&sc);
                let mut qh = load32(wb, q5_k::QH);
                // Two chains per row: one accumulator would serialize the eight `madd`s.
                let mut sumi = [[_mm256_setzero_si256(); 2]; R];
                for j in 0..4 {
                    let q = load32(wb, q5_k::QS + 32 * j);
                    // Bit 0 of each `qh` byte is the low nibbles' fifth bit, bit 1 the high
                    // nibbles'; 16-bit shifts are fine as only in-byte bits are kept.
                    let lo = _mm256_or_si256(
                        _mm256_and_si256(q, m4),
                        _mm256_slli_epi16::<4>(_mm256_and_si256(qh, bit0)),
                    );
                    let hi = _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16::<4>(q), m4),
                        _mm256_slli_epi16::<3>(_mm256_and_si256(qh, bit1)),
                    );
                    qh = _mm256_srli_epi16::<2>(qh);
                    let (slo, shi) = (q4_k_scale(scales, 2 * j), q4_k_scale(scales, 2 * j + 1));
                    for r in 0..R {
                        let y = &a[r].quants[b * 256..b * 256 + 256];
                        let plo = _mm256_maddubs_epi16(lo, load32(y, 64 * j));
                        let phi = _mm256_maddubs_epi16(hi, load32(y, 64 * j + 32));
                        sumi[r][0] = $madd_acc(sumi[r][0], plo, slo);
                        sumi[r][1] = $madd_acc(sumi[r][1], phi, shi);
                    }
                }
                let mins = q4_k_mins_pairs(&mn);
                let (d, dmin) = (f16_at(wb, 0), f16_at(wb, 2));
                for r in 0..R {
                    let summ = block_sums_dot(a[r].sums, b, mins);
                    let dm = _mm256_set1_ps(dmin * a[r].scales[b]);
                    offset[r] = _mm256_fmadd_ps(dm, _mm256_cvtepi32_ps(summ), offset[r]);
                    let dv = _mm256_set1_ps(d * a[r].scales[b]);
                    let sum = _mm256_cvtepi32_ps(_mm256_add_epi32(sumi[r][0], sumi[r][1]));
                    acc[r] = _mm256_fmadd_ps(dv, sum, acc[r]);
                }
            }
            rows_out(acc, offset)
        }

        /// Q3_K weights · `R` activation rows. Codes are used unsigned (`low | third << 2`,
        /// 0..7) and the `−4` applied once per block through the activation sums, as Q6_K's
        /// `−32`; the bit planes are consumed by shifting `qs` and `hmask`.
        #[target_feature(enable = $features)]
        pub fn rows_q3_k<const R: usize>(w: &[u8], a: &[ActivationRow; R]) -> [f32; R] {
            let (m3, one) = (_mm256_set1_epi8(3), _mm256_set1_epi8(1));
            let mut acc = [_mm256_setzero_ps(); R];
            let mut offset = [_mm256_setzero_ps(); R];
            for b in 0..w.len() / q3_k::BYTES {
                let at = b * q3_k::BYTES;
                for line in (0..q3_k::BYTES).step_by(64) {
                    prefetch_ahead(w, at + line);
                }
                // One bounds check per block: the loads below index fixed-size slices.
                let wb = &w[at..at + q3_k::BYTES];
                let [w0, w1, w2, w3] = q3_k::biased_scale_words(&wb[q3_k::SCALES..q3_k::D]);
                let sc = _mm_sub_epi8(
                    _mm_set_epi32(w3 as i32, w2 as i32, w1 as i32, w0 as i32),
                    _mm_set1_epi8(32),
                );
                let halves = scale_halves(sc);
                let mut third = load32(wb, q3_k::HMASK);
                // Two chains per row: one accumulator would serialize the eight `madd`s.
                let mut sumi = [[_mm256_setzero_si256(); 2]; R];
                for (h, half) in halves.into_iter().enumerate() {
                    let mut low = load32(wb, q3_k::QS + 32 * h);
                    for k in 0..4 {
                        let code = _mm256_or_si256(
                            _mm256_and_si256(low, m3),
                            _mm256_slli_epi16::<2>(_mm256_and_si256(third, one)),
                        );
                        low = _mm256_srli_epi16::<2>(low);
                        third = _mm256_srli_epi16::<1>(third);
                        let scale = q6_k_scale(half, k);
                        for r in 0..R {
                            let y = load32(a[r].quants, b * 256 + 128 * h + 32 * k);
                            let p = _mm256_maddubs_epi16(code, y);
                            sumi[r][k % 2] = $madd_acc(sumi[r][k % 2], p, scale);
                        }
                    }
                }
                let scales16 = _mm256_cvtepi8_epi16(sc);
                let dw = f16_at(wb, q3_k::D);
                for r in 0..R {
                    let summ = block_sums_dot(a[r].sums, b, scales16);
                    let d = dw * a[r].scales[b];
                    let four_d = _mm256_set1_ps(4.0 * d);
                    offset[r] = _mm256_fmadd_ps(four_d, _mm256_cvtepi32_ps(summ), offset[r]);
                    let sum = _mm256_cvtepi32_ps(_mm256_add_epi32(sumi[r][0], sumi[r][1]));
                    acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d), sum, acc[r]);
                }
            }
            rows_out(acc, offset)
        }

        /// Q2_K weights · `R` activation rows: 2-bit codes by shifting `qs`, the 4-bit
        /// scales per 16 values as Q6_K's, the mins through the activation sums.
        #[target_feature(enable = $features)]
        pub fn rows_q2_k<const R: usize>(w: &[u8], a: &[ActivationRow; R]) -> [f32; R] {
            let m3 = _mm256_set1_epi8(3);
            let m4 = _mm_set1_epi8(0xF);
            let mut acc = [_mm256_setzero_ps(); R];
            let mut offset = [_mm256_setzero_ps(); R];
            for b in 0..w.len() / q2_k::BYTES {
                let at = b * q2_k::BYTES;
                for line in (0..q2_k::BYTES).step_by(64) {
                    prefetch_ahead(w, at + line);
                }
                // One bounds check per block: the loads below index fixed-size slices.
                let wb = &w[at..at + q2_k::BYTES];
                let nibbles = load16(wb, q2_k::SCALES);
                let halves = scale_halves(_mm_and_si128(nibbles, m4));
                // Two chains per row: one accumulator would serialize the eight `madd`s.
                let mut sumi = [[_mm256_setzero_si256(); 2]; R];
                for (h, half) in halves.into_iter().enumerate() {
                    let mut q = load32(wb, q2_k::QS + 32 * h);
                    for k in 0..4 {
                        let code = _mm256_and_si256(q, m3);
                        q = _mm256_srli_epi16::<2>(q);
                        let scale = q6_k_scale(half, k);
                        for r in 0..R {
                            let y = load32(a[r].quants, b * 256 + 128 * h + 32 * k);
                            let p = _mm256_maddubs_epi16(code, y);
                            sumi[r][k % 2] = $madd_acc(sumi[r][k % 2], p, scale);
                        }
                    }
                }
                let mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16::<4>(nibbles), m4));
                let (dw, dminw) = (f16_at(wb, q2_k::D), f16_at(wb, q2_k::DMIN));
                for r in 0..R {
                    let summ = block_sums_dot(a[r].sums, b, mins);
                    let dmin = _mm256_set1_ps(dminw * a[r].scales[b]);
                    offset[r] = _mm256_fmadd_ps(dmin, _mm256_cvtepi32_ps(summ), offset[r]);
                    let d = _mm256_set1_ps(dw * a[r].scales[b]);
                    let sum = _mm256_cvtepi32_ps(_mm256_add_epi32(sumi[r][0], sumi[r][1]));
                    acc[r] = _mm256_fmadd_ps(d, sum, acc[r]);
                }
            }
            rows_out(acc, offset)
        }

        /// Q4_0 weights · `R` activation rows: each block is unpacked once for all rows.
        #[target_feature(enable = $features)]
        pub fn rows_q4_0<const R: usize>(w: &[u8], a: &[ActivationRow; R]) -> [f32; R] {
            let m4 = _mm_set1_epi8(0xF);
            let eight = _mm256_set1_epi8(8);
            let mut acc = [_mm256_setzero_ps(); R];
            for b in 0..w.len() / q4_0::BYTES {
                let at = b * q4_0::BYTES;
                let qs = load16(w, at + q4_0::QS);
                let lo = _mm_and_si128(qs, m4);
                let hi = _mm_and_si128(_mm_srli_epi16::<4>(qs), m4);
                let x = _mm256_sub_epi8(_mm256_set_m128i(hi, lo), eight);
                let ax = _mm256_sign_epi8(x, x);
                let dw = f16_at(w, at);
                for r in 0..R {
                    let sy = _mm256_sign_epi8(load32(a[r].quants, b * 32), x);
                    let p = $dot_u8_i8(ax, sy);
                    let d = _mm256_set1_ps(dw * a[r].scales[b]);
                    acc[r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[r]);
                }
            }
            acc.map(|v| hsum(v))
        }

        /// Q8_0 weights · `R` activation rows.
        #[target_feature(enable = $features)]
        pub fn rows_q8_0<const R: usize>(w: &[u8], a: &[ActivationRow; R]) -> [f32; R] {
            let mut acc = [_mm256_setzero_ps(); R];
            for b in 0..w.len() / q8_0::BYTES {
                let at = b * q8_0::BYTES;
                let x = load32(w, at + q8_0::QS);
                let ax = _mm256_sign_epi8(x, x);
                let dw = f16_at(w, at);
                for r in 0..R {
                    let sy = _mm256_sign_epi8(load32(a[r].quants, b * 32), x);
                    let p = $dot_u8_i8(ax, sy);
                    let d = _mm256_set1_ps(dw * a[r].scales[b]);
                    acc[r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[r]);
                }
            }
            acc.map(|v| hsum(v))
        }

        /// Q4_K weights · `R` activation rows.
        #[target_feature(enable = $features)]
        pub fn rows_q4_k<const R: usize>(w: &[u8], a: &[ActivationRow; R]) -> [f32; R] {
            let m4 = _mm256_set1_epi8(0xF);
            let mut acc = [_mm256_setzero_ps(); R];
            let mut offset = [_mm256_setzero_ps(); R];
            for b in 0..w.len() / q4_k::BYTES {
                let at = b * q4_k::BYTES;
                let (sc, mn) = q4_k::scales_and_mins(&w[at + q4_k::SCALES..at + q4_k::QS]);
                let d = f16_at(w, at);
                let dmin = f16_at(w, at + 2);
                let scales = q4_k_scales(&sc);
                let mut sumi = [_mm256_setzero_si256(); R];
                for j in 0..4 {
                    let q = load32(w, at + q4_k::QS + 32 * j);
                    let lo = _mm256_and_si256(q, m4);
                    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(q), m4);
                    let slo = q4_k_scale(scales, 2 * j);
                    let shi = q4_k_scale(scales, 2 * j + 1);
                    for r in 0..R {
                        let ylo = load32(a[r].quants, b * 256 + 64 * j);
                        let yhi = load32(a[r].quants, b * 256 + 64 * j + 32);
                        sumi[r] = $madd_acc(sumi[r], _mm256_maddubs_epi16(lo, ylo), slo);
                        sumi[r] = $madd_acc(sumi[r], _mm256_maddubs_epi16(hi, yhi), shi);
                    }
                }
                let mins = q4_k_mins_pairs(&mn);
                for r in 0..R {
                    let summ = block_sums_dot(a[r].sums, b, mins);
                    let dm = _mm256_set1_ps(dmin * a[r].scales[b]);
                    offset[r] = _mm256_fmadd_ps(dm, _mm256_cvtepi32_ps(summ), offset[r]);
                    let dv = _mm256_set1_ps(d * a[r].scales[b]);
                    acc[r] = _mm256_fmadd_ps(dv, _mm256_cvtepi32_ps(sumi[r]), acc[r]);
                }
            }
            rows_out(acc, offset)
        }

        /// Q6_K weights · `R` activation rows.
        #[target_feature(enable = $features)]
        pub fn rows_q6_k<const R: usize>(w: &[u8], a: &[ActivationRow; R]) -> [f32; R] {
            let mut acc = [_mm256_setzero_ps(); R];
            let mut offset = [_mm256_setzero_ps(); R];
            for b in 0..w.len() / q6_k::BYTES {
                let at = b * q6_k::BYTES;
                let dw = f16_at(w, at + q6_k::D);
                let mut sumi = [_mm256_setzero_si256(); R];
                for (h, half) in q6_k_scales(w, at).into_iter().enumerate() {
                    for (k, qk) in q6_k_codes(w, at, h).into_iter().enumerate() {
                        let scale = q6_k_scale(half, k);
                        for r in 0..R {
                            let y = load32(a[r].quants, b * 256 + 128 * h + 32 * k);
                            let p = _mm256_maddubs_epi16(qk, y);
                            sumi[r] = $madd_acc(sumi[r], p, scale);
                        }
                    }
                }
                let scales16 = _mm256_cvtepi8_epi16(load16(w, at + q6_k::SCALES));
                for r in 0..R {
                    let summ = block_sums_dot(a[r].sums, b, scales16);
                    let d = dw * a[r].scales[b];
                    offset[r] = _mm256_fmadd_ps(
                        _mm256_set1_ps(d * 32.0),
                        _mm256_cvtepi32_ps(summ),
                        offset[r],
                    );
                    acc[r] =
                        _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
                }
            }
            rows_out(acc, offset)
        }

        /// f32 weights (raw little-endian bytes) · f32.
        #[target_feature(enable = $features)]
        pub fn dot_f32_bytes(w: &[u8], x: &[f32]) -> f32 {
            let n = x.len().min(w.len() / 4);
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut i = 0;
            while i + 32 <= n {
                for (u, a) in acc.iter_mut().enumerate() {
                    let o = i + 8 * u;
                    let wv = _mm256_castsi256_ps(load32(w, 4 * o));
                    let xv = _mm256_castsi256_ps(load32(x, o));
                    *a = _mm256_fmadd_ps(wv, xv, *a);
                }
                i += 32;
            }
            let mut s = hsum(_mm256_add_ps(
                _mm256_add_ps(acc[0], acc[1]),
                _mm256_add_ps(acc[2], acc[3]),
            ));
            for j in i..n {
                s +=
                    f32::from_le_bytes([w[4 * j], w[4 * j + 1], w[4 * j + 2], w[4 * j + 3]]) * x[j];
            }
            s
        }

        /// f16 weights (raw bytes) · f32.
        #[target_feature(enable = $features)]
        pub fn dot_f16_bytes(w: &[u8], x: &[f32]) -> f32 {
            let n = x.len().min(w.len() / 2);
            let mut acc = [_mm256_setzero_ps(); 2];
            let mut i = 0;
            while i + 16 <= n {
                for (u, a) in acc.iter_mut().enumerate() {
                    let o = i + 8 * u;
                    let wv = _mm256_cvtph_ps(load16(w, 2 * o));
                    let xv = _mm256_castsi256_ps(load32(x, o));
                    *a = _mm256_fmadd_ps(wv, xv, *a);
                }
                i += 16;
            }
            let mut s = hsum(_mm256_add_ps(acc[0], acc[1]));
            for j in i..n {
                s += f16_at(w, 2 * j) * x[j];
            }
            s
        }

        /// bf16 weights (raw bytes) · f32.
        #[target_feature(enable = $features)]
        pub fn dot_bf16_bytes(w: &[u8], x: &[f32]) -> f32 {
            let n = x.len().min(w.len() / 2);
            let mut acc = _mm256_setzero_ps();
            let mut i = 0;
            while i + 8 <= n {
                let wide = _mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(load16(w, 2 * i)));
                let xv = _mm256_castsi256_ps(load32(x, i));
                acc = _mm256_fmadd_ps(_mm256_castsi256_ps(wide), xv, acc);
                i += 8;
            }
            let mut s = hsum(acc);
            for j in i..n {
                s += f32::from_bits(u32::from(u16::from_le_bytes([w[2 * j], w[2 * j + 1]])) << 16)
                    * x[j];
            }
            s
        }

        /// f32 · f32.
        #[target_feature(enable = $features)]
        pub fn dot_f32(w: &[f32], x: &[f32]) -> f32 {
            dot_f32_bytes(bytemuck::cast_slice(w), x)
        }

        /// `acc += p · v`.
        #[target_feature(enable = $features)]
        pub fn axpy(acc: &mut [f32], p: f32, v: &[f32]) {
            let n = acc.len().min(v.len());
            let pv = _mm256_set1_ps(p);
            let mut i = 0;
            while i + 8 <= n {
                let a = &mut acc[i..i + 8];
                let vv = _mm256_castsi256_ps(load32(v, i));
                // SAFETY: `a` is 8 writable f32; loadu/storeu need no alignment.
                unsafe {
                    let av = _mm256_loadu_ps(a.as_ptr());
                    _mm256_storeu_ps(a.as_mut_ptr(), _mm256_fmadd_ps(pv, vv, av));
                }
                i += 8;
            }
            for j in i..n {
                acc[j] = p.mul_add(v[j], acc[j]);
            }
        }

        /// Widens f16 to f32 with F16C.
        #[target_feature(enable = $features)]
        pub fn f16_to_f32(src: &[half::f16], dst: &mut [f32]) {
            let n = src.len().min(dst.len());
            let bytes: &[u8] = bytemuck::cast_slice(&src[..n]);
            let mut i = 0;
            while i + 8 <= n {
                let v = _mm256_cvtph_ps(load16(bytes, 2 * i));
                let d = &mut dst[i..i + 8];
                // SAFETY: `d` is 8 writable f32; storeu needs no alignment.
                unsafe { _mm256_storeu_ps(d.as_mut_ptr(), v) };
                i += 8;
            }
            for j in i..n {
                dst[j] = src[j].to_f32();
            }
        }
    };
}

pub(crate) use x86_dot_kernels;
