//! AVX-512 VNNI kernels: the int8 dot is one `vpdpbusd` (on 256-bit EVEX registers, which
//! avoids the 512-bit frequency penalty and keeps the block loop the same as AVX2's).

use std::arch::x86_64::*;

/// Sums four adjacent signed-byte products per i32 lane with `vpdpbusd`, `|x|` paired with
/// `y` carrying `x`'s sign as in the AVX2 version.
// `_mm256_dpbusd_epi32` and the `avx512vnni` target feature are stable since Rust 1.89,
// newer than the workspace's declared MSRV (1.85); building this file needs 1.89.
#[allow(clippy::incompatible_msrv)]
#[inline]
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
fn dot_i8(x: __m256i, y: __m256i) -> __m256i {
    let ax = _mm256_sign_epi8(x, x);
    let sy = _mm256_sign_epi8(y, x);
    _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sy)
}

super::x86_kernels::x86_dot_kernels!("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni", dot_i8);
