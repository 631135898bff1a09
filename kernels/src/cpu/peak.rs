//! The int8 dot-product peak of a SIMD level: how many multiply-adds per second the integer
//! dot instruction its quantized kernels are built on retires when it has nothing else to
//! do (independent chains, operands in registers). Benches give batched matmul rows as a
//! share of it, as they give decode rows as a share of a plain DRAM read: a kernel at 90 %
//! of the peak has little left to win, however it compares with another implementation.
//!
//! Per level: AVX-512 VNNI one 512-bit `vpdpbusd` (64 multiply-adds), AVX-VNNI one 256-bit
//! `vpdpbusd` (32), AVX2 `vpmaddubsw` + `vpmaddwd` + `vpaddd` (32, the tile kernels' int8
//! dot there). No probe on the scalar and NEON levels (NEON is only run emulated here,
//! whose speed says nothing).

use super::simd::{Simd, SimdLevel};
use std::time::{Duration, Instant};

/// Independent accumulator chains per round: more than latency × throughput of every probed
/// instruction (Zen 4 / Intel `vpdpbusd`: latency 4–5, up to two per cycle).
const CHAINS: usize = 16;

/// What one burst of dot instructions did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DotBurst {
    /// Multiply-adds performed (bytes multiplied and summed into the i32 lanes).
    pub macs: u64,
    /// Sum of every i32 lane of every chain at the end; [`expected_checksum`] gives the value
    /// a burst that did all its work must end with.
    pub checksum: i64,
}

/// Multiply-adds of one probe instruction (or instruction triple on AVX2) at `level`,
/// `None` where there is no probe.
pub fn macs_per_op(level: SimdLevel) -> Option<u64> {
    match level {
        SimdLevel::Avx512Vnni => Some(64),
        SimdLevel::AvxVnni | SimdLevel::Avx2 => Some(32),
        SimdLevel::Scalar | SimdLevel::Neon | SimdLevel::NeonDotprod => None,
    }
}

/// Runs `rounds` × [`CHAINS`] dot instructions of `simd`'s level on this thread; `None`
/// where the level has no probe. Every chain starts at its index and adds `1 · 2` four times
/// per lane and instruction, so the result is checkable ([`expected_checksum`], which holds
/// while the lanes do not wrap: `rounds` < 2²⁸).
pub fn int8_dot_burst(simd: Simd, rounds: u32) -> Option<DotBurst> {
    let per_op = macs_per_op(simd.level())?;
    let macs = per_op * CHAINS as u64 * u64::from(rounds);
    #[cfg(target_arch = "x86_64")]
    {
        let checksum = match simd.level() {
            // SAFETY: the token proves AVX-512 F/BW/VL/VNNI.
            SimdLevel::Avx512Vnni => unsafe { x86::burst_zmm(rounds) },
            // SAFETY: the token proves AVX2; `has_vex` just checked AVX-VNNI.
            SimdLevel::AvxVnni if super::interleaved::vnni256::has_vex() => unsafe {
                x86::burst_ymm_vex(rounds)
            },
            // SAFETY: the token proves AVX2 and, without AVX-VNNI, AVX-512 VNNI + VL.
            SimdLevel::AvxVnni => unsafe { x86::burst_ymm_evex(rounds) },
            // SAFETY: the token proves AVX2.
            SimdLevel::Avx2 => unsafe { x86::burst_avx2(rounds) },
            _ => return None,
        };
        Some(DotBurst { macs, checksum })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = macs;
        None
    }
}

/// The checksum a burst of `rounds` at `level` ends with: `CHAINS` chains of `lanes` i32
/// lanes, chain `c` starting at `c` and each instruction adding `4 · 1 · 2`.
pub fn expected_checksum(level: SimdLevel, rounds: u32) -> Option<i64> {
    let lanes = macs_per_op(level)? as i64 / 4;
    let per_lane_gain = 8 * i64::from(rounds);
    Some(
        (0..CHAINS as i64)
            .map(|c| lanes * (c + per_lane_gain))
            .sum(),
    )
}

/// Multiply-adds per second this thread gets from `simd`'s dot instruction, from bursts
/// repeated for at least `min_time` (the best burst: on a shared machine the quiet moments
/// are the peak). `None` where the level has no probe.
pub fn int8_dot_rate(simd: Simd, min_time: Duration) -> Option<f64> {
    const ROUNDS: u32 = 1 << 16;
    let start = Instant::now();
    let mut best = 0.0f64;
    while start.elapsed() < min_time || best == 0.0 {
        let t = Instant::now();
        let burst = int8_dot_burst(simd, ROUNDS)?;
        let seconds = t.elapsed().as_secs_f64();
        std::hint::black_box(burst.checksum);
        if seconds > 0.0 {
            best = best.max(burst.macs as f64 / seconds);
        }
    }
    Some(best)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::CHAINS;
    use crate::cpu::interleaved::vnni256::{Dpbusd, Evex, Vex};
    use std::arch::x86_64::*;

    /// Sum of the i32 lanes of `chains`.
    fn lane_sum<const N: usize>(chains: &[[i32; N]]) -> i64 {
        chains.iter().flatten().map(|&v| i64::from(v)).sum()
    }

    /// The i32 lanes of `a`.
    #[target_feature(enable = "avx2")]
    fn ymm_lanes(a: __m256i) -> [i32; 8] {
        let mut lanes = [0i32; 8];
        // SAFETY: `lanes` is 32 writable bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), a) };
        lanes
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
    pub(super) fn burst_zmm(rounds: u32) -> i64 {
        let mut acc: [__m512i; CHAINS] = std::array::from_fn(|c| _mm512_set1_epi32(c as i32));
        // Opaque inputs: the chains cannot be folded at compile time (each step depends on
        // the last, so nothing can be hoisted either).
        let (u, s) = std::hint::black_box((_mm512_set1_epi8(1), _mm512_set1_epi8(2)));
        for _ in 0..rounds {
            for a in &mut acc {
                *a = _mm512_dpbusd_epi32(*a, u, s);
            }
        }
        lane_sum(&acc.map(|a| {
            let mut lanes = [0i32; 16];
            // SAFETY: `lanes` is 64 writable bytes.
            unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), a) };
            lanes
        }))
    }

    /// The 256-bit `vpdpbusd` burst in encoding `E`, inlined into each encoding's entry
    /// below (the instruction only inlines where its feature is enabled).
    ///
    /// # Safety
    /// The CPU must have AVX2 and `E`'s encoding.
    #[inline(always)]
    unsafe fn burst_ymm<E: Dpbusd>(rounds: u32) -> i64 {
        // SAFETY (both): the caller's contract includes AVX2.
        let mut acc: [__m256i; CHAINS] =
            std::array::from_fn(|c| unsafe { _mm256_set1_epi32(c as i32) });
        let (u, s) = std::hint::black_box(unsafe { (_mm256_set1_epi8(1), _mm256_set1_epi8(2)) });
        for _ in 0..rounds {
            for a in &mut acc {
                // SAFETY: the caller's contract.
                *a = unsafe { E::dpbusd(*a, u, s) };
            }
        }
        // SAFETY: the caller's contract includes AVX2.
        lane_sum(&acc.map(|a| unsafe { ymm_lanes(a) }))
    }

    /// [`burst_ymm`] in AVX-VNNI's VEX encoding.
    #[target_feature(enable = "avx2,avxvnni")]
    pub(super) fn burst_ymm_vex(rounds: u32) -> i64 {
        // SAFETY: this function's features are the VEX encoding's.
        unsafe { burst_ymm::<Vex>(rounds) }
    }

    /// [`burst_ymm`] in AVX-512 VNNI + VL's EVEX encoding.
    #[target_feature(enable = "avx2,avx512f,avx512vl,avx512vnni")]
    pub(super) fn burst_ymm_evex(rounds: u32) -> i64 {
        // SAFETY: this function's features are the EVEX encoding's.
        unsafe { burst_ymm::<Evex>(rounds) }
    }

    /// AVX2's triple, `vpmaddubsw` + `vpmaddwd` + `vpaddd`. Unlike `vpdpbusd` its multiplies
    /// do not read the accumulator, so their signed operands are read from memory every
    /// round behind `black_box`: from registers the compiler hoisted both multiplies out of
    /// the loop and the probe timed the additions alone (it reported 150–172 GMAC/s here).
    /// Eight accumulators, two triples each per round, leave room in the sixteen registers
    /// for the operands (sixteen spilled two of them).
    #[target_feature(enable = "avx2")]
    pub(super) fn burst_avx2(rounds: u32) -> i64 {
        // Accumulator `j` does chains `2j` and `2j + 1`, so it starts at their sum.
        let mut acc: [__m256i; CHAINS / 2] =
            std::array::from_fn(|j| _mm256_set1_epi32(4 * j as i32 + 1));
        let signed = [_mm256_set1_epi8(2); CHAINS];
        let (u, ones) = std::hint::black_box((_mm256_set1_epi8(1), _mm256_set1_epi16(1)));
        for _ in 0..rounds {
            let signed = std::hint::black_box(&signed);
            for (a, pair) in acc.iter_mut().zip(signed.chunks_exact(2)) {
                for s in pair {
                    let pairs = _mm256_maddubs_epi16(u, *s);
                    *a = _mm256_add_epi32(*a, _mm256_madd_epi16(pairs, ones));
                }
            }
        }
        lane_sum(&acc.map(|a| ymm_lanes(a)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_probed_level_does_all_its_work() {
        for level in SimdLevel::available() {
            let Some(simd) = Simd::new(level) else {
                continue;
            };
            let burst = int8_dot_burst(simd, 1000);
            assert_eq!(
                burst.map(|b| b.checksum),
                expected_checksum(level, 1000),
                "{level}"
            );
            if let Some(b) = burst {
                assert_eq!(b.macs, macs_per_op(level).unwrap() * CHAINS as u64 * 1000);
            }
        }
    }

    #[test]
    fn rate_is_positive_where_probed() {
        let simd = Simd::best();
        let rate = int8_dot_rate(simd, Duration::from_millis(5));
        assert_eq!(rate.is_some(), macs_per_op(simd.level()).is_some());
        if let Some(r) = rate {
            assert!(r > 1e8, "{r} multiply-adds per second");
        }
    }
}
