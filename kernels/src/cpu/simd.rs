//! Which SIMD instruction set the CPU kernels use, detected once and carried as a token.
//!
//! Every SIMD kernel is an `unsafe` `#[target_feature]` function; calling one on a CPU
//! without the feature is undefined behaviour. [`Simd`] can only be made for a level the
//! running CPU has, so holding one is the proof the dispatch in [`super::dot`] relies on.

use std::fmt;

/// An instruction-set level the kernels have code for, from plainest to widest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SimdLevel {
    /// Portable Rust; the specification every other level is tested against.
    Scalar,
    /// x86-64 AVX2 + FMA + F16C (256-bit integer and float lanes).
    Avx2,
    /// AVX2 plus `vpdpbusd` on 256-bit lanes: AVX-VNNI (Intel since Alder Lake, AMD since
    /// Zen 5, where laptops have it without AVX-512), or the same instruction in AVX-512
    /// VNNI + VL's encoding. The interleaved tiles use it; everything else runs AVX2 code.
    AvxVnni,
    /// x86-64 AVX-512 (F, BW, VL) with VNNI: 512-bit lanes and `vpdpbusd` int8 dots.
    Avx512Vnni,
    /// AArch64 NEON (Advanced SIMD, on every AArch64 CPU): 128-bit lanes, byte products
    /// through widening multiplies.
    Neon,
    /// NEON with the Armv8.2 dot product (`sdot`: FEAT_DotProd, on phone cores since
    /// Cortex-A55/A75 and every Apple core).
    NeonDotprod,
}

impl SimdLevel {
    /// Every level, plainest first within each architecture.
    pub const ALL: [SimdLevel; 6] = [
        SimdLevel::Scalar,
        SimdLevel::Avx2,
        SimdLevel::AvxVnni,
        SimdLevel::Avx512Vnni,
        SimdLevel::Neon,
        SimdLevel::NeonDotprod,
    ];

    /// Whether the running CPU can execute this level's code.
    pub fn is_available(self) -> bool {
        match self {
            SimdLevel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::AvxVnni => {
                SimdLevel::Avx2.is_available()
                    && (std::arch::is_x86_feature_detected!("avxvnni")
                        || (std::arch::is_x86_feature_detected!("avx512vnni")
                            && std::arch::is_x86_feature_detected!("avx512vl")))
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512Vnni => {
                SimdLevel::Avx2.is_available()
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(target_arch = "aarch64")]
            SimdLevel::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[cfg(target_arch = "aarch64")]
            SimdLevel::NeonDotprod => {
                SimdLevel::Neon.is_available() && std::arch::is_aarch64_feature_detected!("dotprod")
            }
            // Test builds with `--cfg edgeplane_neon_emulated` run the NEON levels on the
            // emulated intrinsics (`cpu/neon/emulated.rs`), through the same dispatch.
            #[cfg(all(edgeplane_neon_emulated, not(target_arch = "aarch64")))]
            SimdLevel::Neon | SimdLevel::NeonDotprod => true,
            // The other architecture's levels.
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The levels this CPU can run, plainest first (only one architecture's are).
    pub fn available() -> Vec<SimdLevel> {
        SimdLevel::ALL
            .into_iter()
            .filter(|l| l.is_available())
            .collect()
    }

    /// The widest level this CPU can run.
    pub fn best() -> SimdLevel {
        SimdLevel::available()
            .into_iter()
            .last()
            .unwrap_or(SimdLevel::Scalar)
    }

    /// A short lower-case name (`"avx2"`), as `edgeplane devices` shows it.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::AvxVnni => "avx-vnni",
            SimdLevel::Avx512Vnni => "avx512-vnni",
            SimdLevel::Neon => "neon",
            SimdLevel::NeonDotprod => "neon-dotprod",
        }
    }

    /// Parses [`SimdLevel::name`], case-insensitively.
    pub fn from_name(name: &str) -> Option<SimdLevel> {
        SimdLevel::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Proof that the running CPU supports a [`SimdLevel`]; the only way into SIMD kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Simd {
    level: SimdLevel,
}

impl Simd {
    /// The token for `level`, or `None` when this CPU lacks it.
    pub fn new(level: SimdLevel) -> Option<Simd> {
        level.is_available().then_some(Simd { level })
    }

    /// The widest level this CPU has.
    pub fn best() -> Simd {
        Simd {
            level: SimdLevel::best(),
        }
    }

    /// Portable code only.
    pub fn scalar() -> Simd {
        Simd {
            level: SimdLevel::Scalar,
        }
    }

    /// The level.
    pub fn level(self) -> SimdLevel {
        self.level
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_scalar_always_exists() {
        for l in SimdLevel::ALL {
            assert_eq!(SimdLevel::from_name(l.name()), Some(l));
        }
        assert!(SimdLevel::available().contains(&SimdLevel::Scalar));
        assert_eq!(Simd::scalar().level(), SimdLevel::Scalar);
        assert!(Simd::new(SimdLevel::best()).is_some());
    }
}
