//! AVX-512 VNNI kernels: the int8 dot is one `vpdpbusd` (on 256-bit EVEX registers, which
//! avoids the 512-bit frequency penalty and keeps the block loop the same as AVX2's).

use std::arch::x86_64::*;

/// Sums four adjacent unsigned·signed byte products per i32 lane with one `vpdpbusd`.
// `_mm256_dpbusd_epi32` and the `avx512vnni` target feature are stable since Rust 1.89,
// newer than the workspace's declared MSRV (1.85); building this file needs 1.89.
#[allow(clippy::incompatible_msrv)]
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn dot_u8_i8(u: __m256i, s: __m256i) -> __m256i {
    _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s)
}

super::x86_kernels::x86_dot_kernels!(
    "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni",
    dot_u8_i8
);
